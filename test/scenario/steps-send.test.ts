/**
 * `send:` steps run by the scenario engine, each passing and failing: requests out of a dialog
 * (INVITE, OPTIONS, REGISTER) and in it (INFO, BYE, ACK), responses (180, 200 with an SDP
 * answer, 486), and raw bytes. One sipwright plays both sides on loopback (parties a → b), and
 * real SIPp peers answer where a real peer is the better proof.
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

/** The callee answers the caller's INVITE with 200 and an SDP answer; both sides see the ACK. */
const ESTABLISH = `
  - send: INVITE
    sdp: offer
  - expect: INVITE
    party: b
  - send: 200
    party: b
    sdp: answer
  - expect: 200
  - expect: ACK
    party: b
`;

describe('send: METHOD out of a dialog', () => {
  it('sends an INVITE with an SDP offer to the party target, Request-URI sip:service@target', async () => {
    const r = await duet(`
  - send: INVITE
    sdp: offer
    headers:
      Alert-Info: "<http://x/0312345678>"
      Route: ["<sip:p1.invalid;lr>", "<sip:p2.invalid;lr>"]
  - expect: INVITE
    party: b
    sdp: { present: true, codecs: [PCMU, telephone-event], direction: sendrecv }
    headers:
      Alert-Info: "<http://x/0312345678>"
  - send: 486
    party: b
  - expect: 486
`);
    expect(r.verdict, explain(r)).toBe('passed');
    const invite = wire(r).find((w) => w.party === 'a' && w.direction === 'out' && w.msg.method === 'INVITE')!.msg;
    expect(invite.requestUri).toMatch(/^sip:service@127\.0\.0\.1:\d+$/);
    expect(invite.get('content-type')).toBe('application/sdp');
    // A list repeats the header, in the order written.
    expect(invite.headers.filter((h) => h.key === 'route').map((h) => h.value)).toEqual(['<sip:p1.invalid;lr>', '<sip:p2.invalid;lr>']);
  });

  it("a party's own target: wins over --target", async () => {
    const r = await duet(
      `
  - send: OPTIONS
  - expect: OPTIONS
    party: b
  - send: 200
    party: b
  - expect: 200
`,
      { target: { host: '127.0.0.1', port: 9 } },
    );
    expect(r.verdict, explain(r)).toBe('passed');
    expect(r.ladder[0].remote).not.toBe('127.0.0.1:9');
  });

  it('fails with a scenario error when there is no uri and no target', async () => {
    const r = await runYaml(`
name: nowhere
steps:
  - send: INVITE
`);
    expect(r.verdict).toBe('error');
    expect(r.error?.message).toBe('x.yaml:4:5: send INVITE: no uri and no --target to send to');
  });

  it('sends an OPTIONS that SIPp answers with 200 (RFC 3261 §11)', async () => {
    const peer = await sipp({ scenarioFile: join(fixtures, 'uas-options.xml') });
    const r = await runYaml(
      `
name: options
steps:
  - send: OPTIONS
    uri: "sip:\${target}"
  - expect: 200
    headers: { Allow: { contains: OPTIONS } }
`,
      { target: { host: '127.0.0.1', port: peer.port } },
    );
    expect(r.verdict, explain(r)).toBe('passed');
    expect((await peer.exited).code).toBe(0);
  });

  it('an OPTIONS the peer refuses fails the next expect naming the status', async () => {
    const r = await duet(`
  - send: OPTIONS
  - expect: OPTIONS
    party: b
  - send: 404
    party: b
  - expect: 200
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'expected 200, received 404 Not Found', step: 'expect: 200', pos: { line: 12 } });
  });

  it('sends a REGISTER with the uri, From, To and headers written', async () => {
    const r = await duet(`
  - send: REGISTER
    uri: "sip:registrar.invalid"
    from: "<sip:0312345678@registrar.invalid>"
    to: "<sip:0312345678@registrar.invalid>"
    headers: { Expires: "60" }
  - expect: REGISTER
    party: b
    headers:
      Expires: { equals: 60 }
      From: { contains: "sip:0312345678@registrar.invalid" }
      Contact: present
  - send: 200
    party: b
  - expect: 200
`);
    expect(r.verdict, explain(r)).toBe('passed');
    const reg = wire(r).find((w) => w.party === 'b' && w.msg.method === 'REGISTER')!.msg;
    expect(reg.requestUri).toBe('sip:registrar.invalid');
    expect(reg.cseq.method).toBe('REGISTER');
  });

  it('a REGISTER whose header differs from the assertion fails naming the header', async () => {
    const r = await duet(`
  - send: REGISTER
    headers: { Expires: "60" }
  - expect: REGISTER
    party: b
    timeout: 500ms
    headers:
      Expires: "3600"
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'header Expires: expected "3600", received "60"', header: 'Expires', pos: { line: 9 } });
  });
});

describe('send: METHOD in the dialog', () => {
  it('INFO and BYE go in the dialog: remote target, both tags, CSeq counting up', async () => {
    const r = await duet(`${ESTABLISH}
  - send: INFO
    body: "Signal=5\\nDuration=160\\n"
    content-type: application/dtmf-relay
  - expect: INFO
    party: b
    headers: { Content-Type: application/dtmf-relay }
  - expect: 200
  - send: BYE
  - expect: BYE
    party: b
  - expect: 200
`);
    expect(r.verdict, explain(r)).toBe('passed');
    expect(firstLines(r, 'a', 'out')).toEqual(['INVITE', 'ACK', 'INFO', 'BYE']);
    expect(firstLines(r, 'a', 'in')).toEqual(['100 INVITE', '200 INVITE', '200 INFO', '200 BYE']);
    const sent = wire(r).filter((w) => w.party === 'a' && w.direction === 'out').map((w) => w.msg);
    const [invite, , info, bye] = sent;
    const ok = wire(r).find((w) => w.party === 'a' && w.direction === 'in' && w.msg.status === 200)!.msg;
    for (const m of [info, bye]) {
      // RFC 3261 §12.2.1.1: Request-URI = remote target (the Contact of the 200), same Call-ID and tags.
      expect(`<${m.requestUri}>`).toBe(ok.get('contact'));
      expect(m.callId).toBe(invite.callId);
      expect(m.fromTag).toBe(invite.fromTag);
      expect(m.toTag).toBe(ok.toTag);
    }
    expect([info.cseq.seq, bye.cseq.seq]).toEqual([2, 3]);
    // The LF-only body text from YAML goes out with CRLF line ends.
    expect(info.body.toString()).toBe('Signal=5\r\nDuration=160\r\n');
  });

  it('INFO after a rejected INVITE fails: the call has no dialog', async () => {
    const r = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 486
    party: b
  - expect: 486
  - send: INFO
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'cannot send INFO: call call has no dialog', step: 'send: INFO', pos: { line: 13 } });
    expect(firstLines(r, 'a', 'out')).toEqual(['INVITE', 'ACK']);
  });

  it('with auto: { ack: false } the scripted ACK carries the INVITE CSeq number (RFC 3261 §13.2.2.4)', async () => {
    const r = await duet(
      `
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 200
    party: b
  - expect: 200
  - send: ACK
  - expect: ACK
    party: b
`,
      { a: 'auto: { ack: false }' },
    );
    expect(r.verdict, explain(r)).toBe('passed');
    const ack = wire(r).find((w) => w.party === 'b' && w.msg.method === 'ACK')!.msg;
    expect(ack.cseq).toMatchObject({ seq: 1, method: 'ACK' });
  });
});

describe('send: STATUS', () => {
  it('180 then 200 with an SDP answer to the offer', async () => {
    const r = await duet(`
  - send: INVITE
    sdp: offer
  - expect: INVITE
    party: b
  - send: 180
    party: b
  - send: 200
    party: b
    sdp: answer
  - expect: 180
  - expect: 200
    headers: { Content-Type: application/sdp, Contact: present }
    sdp: { present: true, codecs: [PCMU], port: nonzero }
`);
    expect(r.verdict, explain(r)).toBe('passed');
    // Responses to the INVITE (the BYEs of the cleanup at the end may cross: 200 or 481).
    const sent = wire(r).filter((w) => w.party === 'b' && w.direction === 'out' && w.msg.isResponse && w.msg.cseq.method === 'INVITE').map((w) => w.msg);
    expect(sent.map((m) => m.status)).toEqual([100, 180, 200]);
    // 180 and 200 carry the same To tag (RFC 3261 §12.1.1).
    expect(sent[1].toTag).toBeTruthy();
    expect(sent[2].toTag).toBe(sent[1].toTag);
  });

  it('sdp: answer without an offer in the INVITE fails naming the missing offer', async () => {
    const r = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 200
    party: b
    sdp: answer
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'cannot answer: the peer sent no SDP offer', step: 'send: 200', pos: { line: 10 } });
  });

  it('486 with a reason and headers of our choosing', async () => {
    const r = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 486
    party: b
    reason: Busy Everywhere Today
    headers: { Retry-After: "60" }
  - expect: 486
    headers: { Retry-After: { gte: 60 } }
    capture: { why: { from: reason } }
  - set: { seen: "\${why}" }
`);
    expect(r.verdict, explain(r)).toBe('passed');
    const res = wire(r).find((w) => w.party === 'a' && w.msg.status === 486)!.msg;
    expect(res.reason).toBe('Busy Everywhere Today');
    // The core ACKs the non-2xx final (RFC 3261 §17.1.1.3).
    expect(firstLines(r, 'a', 'out')).toEqual(['INVITE', 'ACK']);
  });

  it('a response with no request to answer is a scenario error naming the step', async () => {
    const r = await duet(`
  - send: 486
    party: b
`);
    expect(r.verdict).toBe('error');
    expect(r.error).toMatchObject({ code: 'ERR_SCENARIO', message: 'x.yaml:7:5: send 486: no request received on call "call" yet' });
    expect(r.ladder).toHaveLength(0);
  });

  it('answering an INVITE twice is refused', async () => {
    const r = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 486
    party: b
  - send: 200
    party: b
`);
    expect(r.verdict).toBe('error');
    expect(r.error?.message).toBe('INVITE already answered; cannot send 200');
  });

  it('an in-dialog request was answered by the UA core: scripting its response is an error saying so', async () => {
    const r = await duet(`${ESTABLISH}
  - send: INFO
  - expect: INFO
    party: b
  - send: 200
    party: b
`);
    expect(r.verdict).toBe('error');
    expect(r.error?.message).toMatch(/^cannot send 200 to INFO: the UA core already answered it \(Call-ID \S+\)$/);
    expect(firstLines(r, 'b', 'out').filter((l) => l === '200 INFO')).toHaveLength(1);
  });

  it('to: METHOD names the request answered; one never received is a scenario error', async () => {
    const passing = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 603
    party: b
    to: INVITE
  - expect: 603
`);
    expect(passing.verdict, explain(passing)).toBe('passed');
    const failing = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 200
    party: b
    to: PRACK
`);
    expect(failing.verdict).toBe('error');
    expect(failing.error?.message).toBe('x.yaml:10:5: send 200: no PRACK received on call "call" to answer');
  });
});

describe('send: raw', () => {
  // `|+` keeps the blank line that ends the header section (`|` would drop it).
  const RAW = `
  - send: raw
    raw: |+
      OPTIONS sip:b@127.0.0.1:\${bport} SIP/2.0
      Via: SIP/2.0/UDP \${local};branch=z9hG4bK-raw-1
      Max-Forwards: 70
      From: <sip:a@\${local}>;tag=raw1
      To: <sip:b@127.0.0.1:\${bport}>
      Call-ID: raw-1@127.0.0.1
      CSeq: 7 OPTIONS
      Content-Length: 0

  - expect: OPTIONS
    party: b
    headers: { CSeq: "7 OPTIONS", Call-ID: raw-1@127.0.0.1 }
  - send: 200
    party: b
`;

  it('puts the bytes on the wire exactly as written, LF turned into CRLF, and its response is expected', async () => {
    const r = await duet(`${RAW}
  - expect: 200
    headers: { Call-ID: raw-1@127.0.0.1 }
`);
    expect(r.verdict, explain(r)).toBe('passed');
    const out = r.ladder.find((e) => e.party === 'a' && e.direction === 'out')!;
    const local = wire(r).find((w) => w.party === 'b' && w.direction === 'in')!.entry.remote;
    const bport = /sip:b@127\.0\.0\.1:(\d+)/.exec(out.bytes.toString())![1];
    const written = [
      `OPTIONS sip:b@127.0.0.1:${bport} SIP/2.0`,
      `Via: SIP/2.0/UDP ${local};branch=z9hG4bK-raw-1`,
      'Max-Forwards: 70',
      `From: <sip:a@${local}>;tag=raw1`,
      `To: <sip:b@127.0.0.1:${bport}>`,
      'Call-ID: raw-1@127.0.0.1',
      'CSeq: 7 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    expect(out.bytes.toString('utf8')).toBe(written);
    expect(out.remote).toBe(`127.0.0.1:${bport}`);
  });

  it('its expected response failing names what came', async () => {
    const r = await duet(`${RAW.replace('send: 200', 'send: 403')}
  - expect: 200
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'expected 200, received 403 Forbidden', step: 'expect: 200', pos: { line: 24 } });
  });

  it('raw bytes to a real SIPp get its 200', async () => {
    const peer = await sipp({ scenarioFile: join(fixtures, 'uas-options.xml') });
    const r = await runYaml(
      `
name: raw to sipp
steps:
  - send: raw
    raw: |
      OPTIONS sip:\${target} SIP/2.0
      Via: SIP/2.0/UDP \${local};branch=z9hG4bK-raw-2;rport
      Max-Forwards: 70
      From: <sip:probe@\${local}>;tag=r2
      To: <sip:\${target}>
      Call-ID: raw-2@127.0.0.1
      CSeq: 1 OPTIONS
      Content-Length: 0

  - expect: 200
    timeout: 2s
`,
      { target: { host: '127.0.0.1', port: peer.port } },
    );
    expect(r.verdict, explain(r)).toBe('passed');
    expect((await peer.exited).code).toBe(0);
  });

  it('without dest or target it is a scenario error', async () => {
    const r = await runYaml(`
name: raw nowhere
steps:
  - send: raw
    raw: "OPTIONS sip:x SIP/2.0\\n\\n"
`);
    expect(r.verdict).toBe('error');
    expect(r.error?.message).toBe('x.yaml:4:5: send raw: no dest and no --target');
  });
});
