/**
 * parallel, repeat and set steps, each passing and failing, and a run interrupted mid-pause:
 * two calls at once (between two sipwright parties, and against SIPp), three OPTIONS with
 * `${iteration}`, variables set at run time; an abort that returns `skipped` at once, ends the
 * open call and frees the sockets.
 */
import dgram from 'node:dgram';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { startSipp, type SippRun } from '../support/sipp.js';
import { duet, duetYaml, explain, firstLines, runYaml, wire } from './steps-harness.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'sipp');
const peers: SippRun[] = [];
afterEach(() => {
  for (const p of peers.splice(0)) p.stop();
});

async function sipp(opts: Parameters<typeof startSipp>[0]): Promise<SippRun> {
  const run = await startSipp(opts);
  peers.push(run);
  return run;
}

/** True when 127.0.0.1:port can be bound for UDP (nobody holds it). */
function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const CALLER = `
        - send: INVITE
          sdp: offer
        - expect: 200
        - hangup`;
const CALLEE = `
        - expect: INVITE
          party: b
        - send: 200
          party: b
          sdp: answer
        - expect: ACK
          party: b
        - expect: BYE
          party: b`;

describe('parallel', () => {
  it('two calls at once: the same steps in two branches run two separate calls', async () => {
    const r = await duet(`
  - parallel:
      - ${CALLER.trim()}
      - ${CALLER.trim()}
      - ${CALLEE.trim()}
      - ${CALLEE.trim()}
`);
    expect(r.verdict, explain(r)).toBe('passed');
    const invites = wire(r).filter((w) => w.party === 'a' && w.direction === 'out' && w.msg.method === 'INVITE');
    expect(new Set(invites.map((w) => w.msg.callId)).size).toBe(2);
    expect(firstLines(r, 'a', 'out').filter((l) => l === 'BYE')).toHaveLength(2);
    expect(firstLines(r, 'a', 'in').filter((l) => l === '200 BYE')).toHaveLength(2);
  });

  it('parallel: { count: 2 } places two calls at once to SIPp, which sees both', async () => {
    const peer = await sipp({ scenarioFile: join(fixtures, 'uas-busy.xml'), calls: 2 });
    const r = await runYaml(
      `
name: two at once
steps:
  - parallel:
      count: 2
      steps:
        - send: INVITE
          headers: { X-Branch: "\${branch}" }
        - expect: 486
`,
      { target: { host: '127.0.0.1', port: peer.port } },
    );
    expect(r.verdict, explain(r)).toBe('passed');
    expect((await peer.exited).code).toBe(0);
    const invites = wire(r).filter((w) => w.direction === 'out' && w.msg.method === 'INVITE').map((w) => w.msg);
    expect(invites.map((m) => m.get('x-branch')).sort()).toEqual(['1', '2']);
    expect(new Set(invites.map((m) => m.callId)).size).toBe(2);
  });

  it('a failing branch fails the step with its own message and position; the other branches finish', async () => {
    const r = await duet(`
  - parallel:
      - - send: OPTIONS
          call: ok
        - expect: 200
          call: ok
      - - send: INVITE
          call: busy
        - expect: 200
          call: busy
      - - expect: OPTIONS
          party: b
        - send: 200
          party: b
      - - expect: INVITE
          party: b
        - send: 486
          party: b
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'expected 200, received 486 Busy Here', step: 'expect: 200', pos: { line: 14, column: 11 } });
    expect(firstLines(r, 'a', 'in')).toContain('200 OPTIONS');
  });
});

describe('repeat', () => {
  const REPEAT = (check: string) => `
  - repeat:
      count: 3
      steps:
        - send: OPTIONS
          headers: { X-Iteration: "\${iteration}" }
        - expect: OPTIONS
          party: b
          headers: { X-Iteration: "${check}" }
        - send: 200
          party: b
        - expect: 200
`;

  it('runs its steps 3 times with ${iteration} = 1, 2, 3', async () => {
    const r = await duet(REPEAT('${iteration}'));
    expect(r.verdict, explain(r)).toBe('passed');
    const sent = wire(r).filter((w) => w.party === 'a' && w.direction === 'out').map((w) => w.msg);
    expect(sent.map((m) => m.get('x-iteration'))).toEqual(['1', '2', '3']);
    expect(new Set(sent.map((m) => m.callId)).size).toBe(3);
  });

  it('stops at the first iteration that fails', async () => {
    const r = await duet(REPEAT('1'));
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'header X-Iteration: expected "1", received "2"', step: 'expect: OPTIONS', pos: { line: 12, column: 11 } });
    expect(firstLines(r, 'a', 'out')).toEqual(['OPTIONS', 'OPTIONS']);
  });

  it('three OPTIONS to SIPp, one call each', async () => {
    const peer = await sipp({ scenarioFile: join(fixtures, 'uas-options.xml'), calls: 3 });
    const r = await runYaml(
      `
name: three pings
steps:
  - repeat: { count: 3, steps: [ { send: OPTIONS, uri: "sip:\${target}" }, { expect: 200 } ] }
`,
      { target: { host: '127.0.0.1', port: peer.port } },
    );
    expect(r.verdict, explain(r)).toBe('passed');
    expect((await peer.exited).code).toBe(0);
  });
});

describe('set', () => {
  it('sets variables in order; later steps and later entries use them', async () => {
    const r = await duet(`
  - set: { n: "0312345678", uri: "sip:\${n}@127.0.0.1:\${bport}" }
  - send: OPTIONS
    uri: "\${uri}"
  - expect: OPTIONS
    party: b
    headers: { To: { contains: "sip:0312345678@" } }
`);
    expect(r.verdict, explain(r)).toBe('passed');
    const req = wire(r).find((w) => w.party === 'b')!.msg;
    expect(req.requestUri).toMatch(/^sip:0312345678@127\.0\.0\.1:\d+$/);
  });

  it('a value from an environment variable that is not set is an error naming the field', async () => {
    const r = await duet('  - set: { pw: "${env.SIPWRIGHT_TEST_UNSET}" }\n', { env: {} });
    expect(r.verdict).toBe('error');
    expect(r.error?.message).toBe('x.yaml:7:5: set.pw: environment variable SIPWRIGHT_TEST_UNSET is not set (${env.SIPWRIGHT_TEST_UNSET})');
  });
});

describe('an interrupted run', () => {
  it('aborted mid-pause: skipped at once, the open call ended with BYE, the sockets closed', async () => {
    const [aport, bport] = [await freePort(), await freePort()];
    const yaml = duetYaml(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 200
    party: b
  - expect: 200
  - pause: 30s
`).replace('a: { role: uac,', `a: { role: uac, listen: "127.0.0.1:${aport}",`);
    const abort = new AbortController();
    const started = Date.now();
    const pending = runYaml(yaml, { vars: { bport: String(bport) }, signal: abort.signal });
    setTimeout(() => abort.abort(), 200);
    const r = await pending;
    expect(r.verdict, explain(r)).toBe('skipped');
    expect(r.skipReason).toBe('interrupted (pause: 30000 ms)');
    expect(Date.now() - started).toBeLessThan(2500);
    expect(firstLines(r, 'a', 'out')).toContain('BYE');
    expect(await udpFree(aport)).toBe(true);
    expect(await udpFree(bport)).toBe(true);
  });

  it('aborted before it starts: skipped, nothing sent', async () => {
    const abort = new AbortController();
    abort.abort();
    const r = await runYaml('name: never\nsteps:\n  - pause: 10s\n', { signal: abort.signal });
    expect(r.verdict).toBe('skipped');
    expect(r.skipReason).toBe('interrupted (start)');
    expect(r.ladder).toHaveLength(0);
  });
});
