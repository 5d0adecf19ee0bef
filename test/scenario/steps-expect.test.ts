/**
 * `expect:` steps run by the scenario engine, each passing and failing: responses (a code, a
 * class, a list, optional ones present and absent, provisionals skipped, another final, nothing,
 * Timer B) and requests (a new INVITE at a uas, ACK, BYE, CANCEL, another method, nothing);
 * header and SDP assertions in a real flow against SIPp; captures used by later steps.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSipp, type SippRun } from '../support/sipp.js';
import { duet, explain, firstLines, runYaml, wire } from './steps-harness.js';

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

/** A one-party call to a SIPp peer: INVITE with an offer, then `expects`. */
async function callSipp(peer: SippRun, expects: string): Promise<Awaited<ReturnType<typeof runYaml>>> {
  const yaml = `name: call sipp
timeout: 2s
steps:
  - send: INVITE
    sdp: offer
${expects.replace(/^\n/, '').replace(/\s+$/, '')}
`;
  return runYaml(yaml, { target: { host: '127.0.0.1', port: peer.port } });
}

/** b answers a's INVITE with these responses, one `send:` step each. */
function answers(...codes: number[]): string {
  return [
    '  - send: INVITE',
    '  - expect: INVITE',
    '    party: b',
    ...codes.flatMap((c) => [`  - send: ${c}`, '    party: b']),
    '',
  ].join('\n');
}

describe('expect: STATUS', () => {
  it('an exact code: 200 from `sipp -sn uas`, then hangup', async () => {
    const peer = await sipp({ scenario: 'uas' });
    const r = await callSipp(
      peer,
      `
  - expect: 200
  - hangup
`,
    );
    expect(r.verdict, explain(r)).toBe('passed');
    expect(firstLines(r, 'uac', 'out')).toEqual(['INVITE', 'ACK', 'BYE']);
    expect((await peer.exited).code).toBe(0);
  });

  it('a different final fails naming both: expected 200, received 486 Busy Here (SIPp busy fixture)', async () => {
    const peer = await sipp({ scenarioFile: join(fixtures, 'uas-busy.xml') });
    const r = await callSipp(
      peer,
      `
  - expect: 100
    optional: true
  - expect: 200
`,
    );
    expect(r.verdict).toBe('failed');
    expect(r.failure).toEqual({
      message: 'expected 200, received 486 Busy Here',
      step: 'expect: 200',
      pos: { file: 'x.yaml', line: 8, column: 5 },
      expected: '200',
      received: '486 Busy Here',
    });
    // The 486 is in the ladder, and the core ACKed it so SIPp completes its call.
    expect(firstLines(r, 'uac', 'in')).toContain('486 INVITE');
    expect(firstLines(r, 'uac', 'out')).toEqual(['INVITE', 'ACK']);
    expect((await peer.exited).code).toBe(0);
  });

  it('a class: 2xx matches 200, and fails on 486', async () => {
    const ok = await duet(`${answers(200)}  - expect: 2xx\n`);
    expect(ok.verdict, explain(ok)).toBe('passed');
    const busy = await duet(`${answers(486)}  - expect: 2xx\n`);
    expect(busy.failure).toMatchObject({ message: 'expected 2xx, received 486 Busy Here', pos: { line: 12 } });
  });

  it('a list: [180, 183] matches 183, and fails on a final it does not name', async () => {
    const ok = await duet(`${answers(183, 200)}  - expect: [180, 183]\n  - expect: 200\n`);
    expect(ok.verdict, explain(ok)).toBe('passed');
    const bad = await duet(`${answers(200)}  - expect: [180, 183]\n`);
    expect(bad.failure).toMatchObject({ message: 'expected 180 or 183, received 200 OK', step: 'expect: 180, 183' });
  });

  it('optional and present: the 180 is consumed, the next expect sees the 200', async () => {
    const r = await duet(`${answers(180, 200)}  - expect: 180
    optional: true
    capture: { ringing: status }
  - expect: 200
  - set: { seen: "\${ringing}" }
`);
    expect(r.verdict, explain(r)).toBe('passed');
  });

  it('optional and absent: a 200 instead of the 183 is left for the next expect', async () => {
    const r = await duet(`${answers(200)}  - expect: 183
    optional: true
  - expect: 200
`);
    expect(r.verdict, explain(r)).toBe('passed');
  });

  it('optional and absent: nothing at all within the timeout passes', async () => {
    const r = await duet(`
  - send: INVITE
  - expect: 183
    optional: true
    timeout: 200ms
`);
    expect(r.verdict, explain(r)).toBe('passed');
    expect(r.durationMs).toBeGreaterThanOrEqual(200);
  });

  it('provisionals not asked for are skipped: 100, 180, 183 before the 200', async () => {
    const r = await duet(`${answers(180, 183, 200)}  - expect: 200\n`);
    expect(r.verdict, explain(r)).toBe('passed');
    expect(firstLines(r, 'a', 'in').filter((l) => l.endsWith(' INVITE'))).toEqual(['100 INVITE', '180 INVITE', '183 INVITE', '200 INVITE']);
  });

  it('nothing within the timeout: expected 200, received nothing within 0.5 s', async () => {
    const r = await duet(`
  - send: INVITE
  - expect: 200
    timeout: 500ms
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({
      message: 'expected 200, received nothing within 0.5 s',
      step: 'expect: 200',
      pos: { line: 8, column: 5 },
      received: 'nothing within 0.5 s',
    });
    expect(r.durationMs).toBeGreaterThanOrEqual(500);
    expect(r.durationMs).toBeLessThan(1500);
  });

  it('no final response before Timer B names Timer B (T1 = 10 ms: B = 0.64 s)', async () => {
    const r = await duet(
      `
  - send: INVITE
  - expect: 200
    timeout: 5s
`,
      { b: 'auto: { trying: false }', timers: { t1: 10 } },
    );
    expect(r.verdict).toBe('failed');
    expect(r.failure?.message).toBe('expected 200, received no final response to INVITE within Timer B (0.64 s)');
    expect(r.durationMs).toBeLessThan(3000);
    // The INVITE was retransmitted (Timer A) until Timer B fired.
    expect(firstLines(r, 'a', 'out').filter((l) => l === 'INVITE').length).toBeGreaterThan(3);
  });

  it('nothing sent on the call yet is a scenario error', async () => {
    const r = await duet('  - expect: 200\n');
    expect(r.verdict).toBe('error');
    expect(r.error?.message).toBe('x.yaml:7:5: expect 200: nothing was sent on call "call"');
  });
});

describe('expect: METHOD', () => {
  it('a new INVITE at a uas, with its SDP checked; then ACK and BYE in the dialog', async () => {
    const r = await duet(`
  - send: INVITE
    sdp: offer
  - expect: INVITE
    party: b
    sdp: { present: true, codecs: [PCMU, PCMA], direction: sendrecv, port: nonzero }
    headers: { Max-Forwards: { lte: 70 }, Contact: present }
  - send: 200
    party: b
    sdp: answer
  - expect: 200
  - expect: ACK
    party: b
  - send: BYE
  - expect: BYE
    party: b
  - expect: 200
`);
    expect(r.verdict, explain(r)).toBe('passed');
  });

  it('nothing within the timeout: expected INVITE, received nothing within 0.3 s', async () => {
    const r = await duet(`
  - expect: INVITE
    party: b
    timeout: 300ms
`);
    expect(r.failure).toMatchObject({ message: 'expected INVITE, received nothing within 0.3 s', step: 'expect: INVITE', pos: { line: 7 } });
  });

  it('another new request than the one expected is named in the failure', async () => {
    const r = await duet(`
  - send: OPTIONS
  - expect: INVITE
    party: b
    timeout: 300ms
`);
    expect(r.failure?.message).toBe('expected INVITE, received nothing within 0.3 s (unclaimed meanwhile: OPTIONS)');
  });

  it('another request than the one expected in the dialog fails naming it', async () => {
    const r = await duet(`${answers(200)}  - expect: 200
  - send: INFO
  - expect: BYE
    party: b
    timeout: 500ms
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure?.message).toMatch(/^expected BYE, received INFO sip:sipwright@127\.0\.0\.1:\d+$/);
    expect(r.failure).toMatchObject({ step: 'expect: BYE', pos: { line: 14 } });
  });

  it('an ACK not asked for does not stand in the way of the next in-dialog request', async () => {
    const r = await duet(`${answers(200)}  - expect: 200
  - send: INFO
  - expect: INFO
    party: b
  - expect: ACK
    party: b
`);
    expect(r.verdict, explain(r)).toBe('passed');
  });

  it('no ACK (auto ACK off, none scripted) fails: expected ACK, received nothing', async () => {
    const r = await duet(`${answers(200)}  - expect: 200
  - expect: ACK
    party: b
    timeout: 300ms
`,
      { a: 'auto: { ack: false }' },
    );
    expect(r.failure).toMatchObject({ message: 'expected ACK, received nothing within 0.3 s', step: 'expect: ACK' });
  });

  it('a CANCEL before any dialog exists (only 100 Trying sent) reaches the callee', async () => {
    const r = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - expect: 100
  - cancel
  - expect: CANCEL
    party: b
  - expect: 487
`);
    expect(r.verdict, explain(r)).toBe('passed');
    expect(firstLines(r, 'b', 'out')).toEqual(['100 INVITE', '200 CANCEL', '487 INVITE']);
  });
});

describe('header assertions in a real flow (sipp -sn uas)', () => {
  it('pass: present, absent, equals, contains, matches, numeric', async () => {
    const peer = await sipp({ scenario: 'uas' });
    const r = await callSipp(
      peer,
      `
  - expect: 200
    headers:
      Contact: present
      X-Not-There: absent
      Content-Type: application/sdp
      CSeq: { contains: INVITE, matches: '^1 ' }
      c: application/sdp
      Content-Length: { gt: 0, lt: 10000 }
  - hangup
`,
    );
    expect(r.verdict, explain(r)).toBe('passed');
  });

  it('fail: the message names the header, what was expected and what came; the position is the step', async () => {
    const peer = await sipp({ scenario: 'uas' });
    const r = await callSipp(
      peer,
      `
  - expect: 200
    headers:
      Contact: present
      Content-Type: text/plain
`,
    );
    expect(r.verdict).toBe('failed');
    expect(r.failure).toEqual({
      message: 'header Content-Type: expected "text/plain", received "application/sdp"',
      step: 'expect: 200',
      pos: { file: 'x.yaml', line: 6, column: 5 },
      expected: '"text/plain"',
      received: '"application/sdp"',
      header: 'Content-Type',
    });
  });
});

describe('SDP assertions in a real flow (sipp -sn uas)', () => {
  it('pass: the answer is SDP with PCMU on a non-zero port', async () => {
    const peer = await sipp({ scenario: 'uas' });
    const r = await callSipp(
      peer,
      `
  - expect: 200
    sdp: { present: true, codecs: [PCMU], port: nonzero }
  - hangup
`,
    );
    expect(r.verdict, explain(r)).toBe('passed');
  });

  it('fail: a codec the answer does not carry', async () => {
    const peer = await sipp({ scenario: 'uas' });
    const r = await callSipp(
      peer,
      `
  - expect: 200
    sdp: { codecs: [G729] }
`,
    );
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'SDP: expected codec G729, received PCMU (missing G729)', header: 'SDP', pos: { line: 6 } });
  });

  it('fail: sdp: { present: false } on a response with SDP', async () => {
    const r = await duet(`
  - send: INVITE
    sdp: offer
  - expect: INVITE
    party: b
    sdp: { present: false }
`);
    expect(r.failure?.message).toMatch(/^SDP: expected no SDP body, received application\/sdp \(\d+ bytes\)$/);
  });
});

describe('capture', () => {
  it('a captured value is used by later steps: in a header sent, and in an assertion', async () => {
    const r = await duet(`${answers(200)}  - expect: 200
    capture:
      remote_tag: { from: To, param: tag }
      code: status
      contact_user: { from: Contact, regex: 'sip:([^@]+)@' }
  - expect: ACK
    party: b
    capture: { my_tag: { from: To, param: tag } }
  - send: INFO
    headers: { X-Remote-Tag: "\${remote_tag}", X-Seen: "\${code} \${contact_user}" }
  - expect: INFO
    party: b
    headers: { X-Remote-Tag: "\${my_tag}", X-Seen: "200 sipwright" }
  - expect: 200
`);
    expect(r.verdict, explain(r)).toBe('passed');
    const ok = wire(r).find((w) => w.party === 'a' && w.msg.status === 200)!.msg;
    const info = wire(r).find((w) => w.party === 'b' && w.msg.method === 'INFO')!.msg;
    expect(info.get('x-remote-tag')).toBe(ok.toTag);
  });

  it('an assertion against a captured value fails with the resolved value in the message', async () => {
    const r = await duet(`${answers(200)}  - expect: 200
    capture: { code: status }
  - send: INFO
    headers: { X-Code: "201" }
  - expect: INFO
    party: b
    headers: { X-Code: "\${code}" }
`);
    expect(r.failure).toMatchObject({ message: 'header X-Code: expected "200", received "201"', header: 'X-Code', pos: { line: 16 } });
  });

  it('a capture whose source is missing fails the expect', async () => {
    const r = await duet(`${answers(200)}  - expect: 200
    capture: { srv: { from: X-Server-Id } }
`);
    expect(r.failure).toMatchObject({ message: 'capture srv: header X-Server-Id is absent', step: 'expect: 200', pos: { line: 12 } });
  });
});
