/**
 * `sipwright run` through the built command (`node dist/cli/main.js`): a passing run against real
 * SIPp writes its JUnit file where --junit says, and Ctrl-C (SIGINT) ends a run within seconds
 * with exit 130, still writing a JUnit file that marks what did not finish as skipped.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSipp, type SippRun } from '../support/sipp.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
});

const stops: Array<() => void> = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

interface CliRun {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stdout contains `text`. */
  waitFor(text: string, ms: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(args: string[]): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout.on('data', (d) => {
    out += d.toString();
    for (const w of waiters.filter((x) => out.includes(x.text))) w.resolve();
  });
  child.stderr.on('data', (d) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  stops.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    pid: child.pid ?? 0,
    stdout: () => out,
    stderr: () => err,
    waitFor: (text, ms) =>
      new Promise((resolve, reject) => {
        if (out.includes(text)) return resolve();
        const timer = setTimeout(() => reject(new Error(`no "${text}" within ${ms} ms; stdout:\n${out}\nstderr:\n${err}`)), ms);
        waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
      }),
    exited,
  };
}

function reportPaths(): { dir: string; junit: string; json: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sipwright-cli-run-'));
  // In a folder that does not exist yet: the reporters create it.
  return { dir, junit: join(dir, 'reports', 'junit.xml'), json: join(dir, 'reports', 'results.json') };
}

function testcases(junitXml: string): any[] {
  const xml = new XMLParser({ ignoreAttributes: false, allowBooleanAttributes: true }).parse(junitXml);
  return [xml.testsuites.testsuite].flat().flatMap((s: any) => [s.testcase].flat());
}

describe('sipwright run (built command)', () => {
  it('scenarios/basic/uac-call.yaml against `sipp -sn uas` exits 0 and writes the JUnit file to --junit', async () => {
    const sipp: SippRun = await startSipp({ scenario: 'uas' });
    stops.push(() => sipp.stop());
    const paths = reportPaths();
    const run = startCli(['run', 'scenarios/basic/uac-call.yaml', '--target', `127.0.0.1:${sipp.port}`, '--junit', paths.junit, '--json', paths.json]);
    const { code } = await run.exited;
    expect(code, run.stdout() + run.stderr()).toBe(0);
    expect(run.stderr()).toBe('');
    const cases = testcases(readFileSync(paths.junit, 'utf8'));
    expect(cases).toHaveLength(1);
    expect(cases[0]['@_name']).toBe('Basic call from our UAC');
    expect(cases[0].failure).toBeUndefined();
    expect(cases[0].error).toBeUndefined();
    expect(JSON.parse(readFileSync(paths.json, 'utf8')).summary.passed).toBe(1);
    expect((await sipp.exited).code).toBe(0);
  });

  it('SIGINT during a 30 s pause: exit 130 within a few seconds, JUnit written and parseable, tests skipped, no stack trace', async () => {
    const paths = reportPaths();
    const run = startCli([
      'run',
      'test/fixtures/cli/pause-30s.yaml',
      'test/fixtures/cli/pause-30s-second.yaml',
      '--concurrency', '1',
      '--junit', paths.junit,
      '--json', paths.json,
    ]);
    // Printed once the first scenario's party is bound: the run is under way.
    await run.waitFor('Waits thirty seconds: uas listening on udp 127.0.0.1:', 10_000);
    const sentAt = Date.now();
    process.kill(run.pid, 'SIGINT');
    const { code, signal } = await run.exited;
    const tookMs = Date.now() - sentAt;
    expect({ code, signal }, run.stdout() + run.stderr()).toEqual({ code: 130, signal: null });
    expect(tookMs).toBeLessThan(5_000);
    expect(run.stderr()).toBe('');
    expect(run.stdout()).not.toMatch(/^\s+at /m);
    expect(run.stdout()).toContain('sipwright: interrupted');

    expect(existsSync(paths.junit)).toBe(true);
    const cases = testcases(readFileSync(paths.junit, 'utf8'));
    expect(cases.map((c) => c['@_name']).sort()).toEqual(['Waits thirty seconds', 'Waits thirty seconds too']);
    for (const c of cases) {
      expect(c.skipped, JSON.stringify(c)).toBeDefined();
      expect(c.failure).toBeUndefined();
      expect(c.error).toBeUndefined();
    }
    const byName = Object.fromEntries(cases.map((c) => [c['@_name'], c.skipped['@_message']]));
    expect(byName['Waits thirty seconds']).toMatch(/^interrupted/);
    expect(byName['Waits thirty seconds too']).toBe('interrupted before it started');
    const json = JSON.parse(readFileSync(paths.json, 'utf8'));
    expect(json.summary.skipped).toBe(2);
  }, 20_000);
});
