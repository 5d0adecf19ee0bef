import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isReporterName, ReporterError, reporters, runReporters, type Reporter } from '../../src/report/reporter.js';
import { passedTest, sampleRun } from './fixtures.js';

describe('runReporters', () => {
  it('calls the hook of every reporter in order, skipping reporters without it', async () => {
    const calls: string[] = [];
    const list: Reporter[] = [
      { onTestEnd: (t) => void calls.push(`a:${t.name}`) },
      {},
      { onRunEnd: () => void calls.push('b:end') },
      {
        async onTestEnd(t) {
          await new Promise((r) => setTimeout(r, 5));
          calls.push(`c:${t.name}`);
        },
      },
      { onTestEnd: (t) => void calls.push(`d:${t.name}`) },
    ];
    await runReporters(list, 'onTestEnd', passedTest());
    expect(calls).toEqual(['a:Basic call', 'c:Basic call', 'd:Basic call']);
  });

  it('calls hooks as methods (this is the reporter)', async () => {
    class Counting implements Reporter {
      started = 0;
      onRunStart(info: { total: number }): void {
        this.started += info.total;
      }
    }
    const r = new Counting();
    await runReporters([r], 'onRunStart', { total: 3, startedAt: 0 });
    expect(r.started).toBe(3);
  });

  it('does not let a reporter that throws or rejects stop the others; throws an aggregate at the end', async () => {
    const calls: string[] = [];
    const boom = new Error('disk full');
    const list: Reporter[] = [
      {
        name: 'junit',
        onRunEnd: () => {
          throw boom;
        },
      },
      { name: 'console', onRunEnd: () => void calls.push('console') },
      { onRunEnd: () => Promise.reject(new Error('EACCES')) },
      { name: 'json', onRunEnd: async () => void calls.push('json') },
    ];
    const err = await runReporters(list, 'onRunEnd', sampleRun()).catch((e: unknown) => e);
    expect(calls).toEqual(['console', 'json']);
    expect(err).toBeInstanceOf(ReporterError);
    expect(err).toBeInstanceOf(AggregateError);
    const agg = err as ReporterError;
    expect(agg.code).toBe('ERR_REPORTER');
    expect(agg.errors).toEqual([boom, new Error('EACCES')]);
    expect(agg.failures.map((f) => [f.reporter, f.hook])).toEqual([
      ['junit', 'onRunEnd'],
      ['reporter #3', 'onRunEnd'],
    ]);
    expect(agg.message).toBe('2 reporters failed in onRunEnd: junit: disk full; reporter #3: EACCES');
  });

  it('resolves when there is nothing to call', async () => {
    await expect(runReporters([], 'onRunEnd', sampleRun())).resolves.toBeUndefined();
  });
});

describe('reporters (registry)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sipwright-reporters-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has junit, json and console', () => {
    expect(Object.keys(reporters).sort()).toEqual(['console', 'json', 'junit']);
    expect(isReporterName('junit')).toBe(true);
    expect(isReporterName('html')).toBe(false);
    expect(isReporterName('toString')).toBe(false);
  });

  it('builds reporters from per-reporter options and runs them all together', async () => {
    const chunks: string[] = [];
    const list = [
      reporters.junit({ outputFile: join(dir, 'junit.xml') }),
      reporters.json({ outputFile: join(dir, 'results.json') }),
      reporters.console({ stream: { write: (c: string) => chunks.push(c) }, env: {} }),
    ];
    const run = sampleRun();
    await runReporters(list, 'onRunStart', { total: run.tests.length, startedAt: run.startedAt });
    for (const t of run.tests) await runReporters(list, 'onTestEnd', t);
    await runReporters(list, 'onRunEnd', run);
    expect(await readFile(join(dir, 'junit.xml'), 'utf8')).toContain('<testsuites name="sipwright" tests="4"');
    expect(JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')).summary.total).toBe(4);
    expect(chunks.join('')).toContain('4 tests: 1 passed, 1 failed, 1 error, 1 skipped');
  });

  it('a failing file reporter does not keep the console from printing the summary', async () => {
    const chunks: string[] = [];
    const blocked = join(dir, 'blocked');
    await reporters.json({ outputFile: join(blocked, 'x') }).onRunEnd!(sampleRun()); // `blocked` is now a directory
    const list = [
      reporters.junit({ outputFile: blocked }),
      reporters.console({ stream: { write: (c: string) => chunks.push(c) }, env: {} }),
    ];
    await expect(runReporters(list, 'onRunEnd', sampleRun())).rejects.toThrow(/1 reporter failed in onRunEnd: junit: /);
    expect(chunks.join('')).toContain('4 tests:');
  });
});
