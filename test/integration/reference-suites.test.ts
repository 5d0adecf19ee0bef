/**
 * `npm start`: the pbx/ and carrier/ conformance suites against the embedded reference PBX and
 * carrier. Against the good systems every test passes; each fault the reference systems can be
 * started with is caught by the tests tagged `catches:<fault>`, and every test is tagged with
 * at least one fault — a suite that cannot tell a broken system from a good one is not done.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { planRun } from '../../src/cli/run.js';
import { ALL_FAULTS, startCommand } from '../../src/cli/start.js';

const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
let n = 0;

async function start(opts: { fault?: string[]; suite?: 'pbx' | 'carrier'; tag?: string }): Promise<{ code: number; tests: Array<{ name: string; verdict: string; file: string }>; out: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d.toString()));
  const json = join(dir, `r${++n}.json`);
  const code = await startCommand({ fault: opts.fault ?? [], suite: opts.suite, tag: opts.tag, junit: join(dir, `j${n}.xml`), json }, out);
  return { code, tests: JSON.parse(readFileSync(json, 'utf8')).tests, out: text };
}

/** Each suite's scenarios with the faults they claim to catch. */
async function catchesBySuite(): Promise<Map<string, Array<{ file: string; faults: string[] }>>> {
  const out = new Map<string, Array<{ file: string; faults: string[] }>>();
  for (const suite of ['pbx', 'carrier'] as const) {
    const plan = await planRun({ paths: [`scenarios/${suite}`], profile: `sut/reference/${suite}-profile.yaml`, var: [], junit: '', json: '', concurrency: 1 });
    out.set(
      suite,
      plan.map((t) => ({ file: t.scenario.file, faults: t.scenario.tags.filter((g) => g.startsWith('catches:')).map((g) => `${suite}:${g.slice(8)}`) })),
    );
  }
  return out;
}

describe('npm start: conformance suites against the embedded reference systems', () => {
  it('every test of both suites passes against the good reference PBX and carrier', async () => {
    const r = await start({});
    expect(r.tests.filter((t) => t.verdict !== 'passed').map((t) => t.name), r.out).toEqual([]);
    expect(r.tests.length).toBeGreaterThanOrEqual(15);
    expect(r.code).toBe(0);
  }, 240_000);

  it('every test is tagged with a fault it catches, and every fault is claimed by a test', async () => {
    const bySuite = await catchesBySuite();
    const untagged = [...bySuite.values()].flat().filter((s) => s.faults.length === 0).map((s) => s.file);
    expect(untagged).toEqual([]);
    const claimed = new Set([...bySuite.values()].flat().flatMap((s) => s.faults));
    expect([...ALL_FAULTS].filter((f) => !claimed.has(f))).toEqual([]);
    expect([...claimed].filter((f) => !ALL_FAULTS.includes(f))).toEqual([]);
  });

  for (const fault of ALL_FAULTS) {
    const [suite, name] = fault.split(':') as ['pbx' | 'carrier', string];
    it(`the tests tagged catches:${name} fail against the ${suite} with fault ${name}`, async () => {
      const r = await start({ fault: [fault], suite, tag: `catches:${name}` });
      expect(r.tests.length).toBeGreaterThan(0);
      expect(r.tests.filter((t) => t.verdict !== 'failed').map((t) => `${t.name}: ${t.verdict}`), r.out).toEqual([]);
      expect(r.code).toBe(1);
    }, 180_000);
  }
});
