/**
 * auth, pause, cancel and hangup steps, each passing and failing: digest answers to SIPp's
 * registrar fixture (which verifies the digest itself) with an explicit `auth` after
 * `expect: 401` and with `auth: true`; CANCEL against SIPp's ringing fixture; BYE in both
 * directions between two sipwright parties.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDigestCredentials } from '../../src/auth/challenge.js';
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

const PASSWORD = 's3cret-pw';

/** SIPp's registrar: 401, then 200 when the digest verifies with `password`, else 403. */
function registrar(password = PASSWORD): Promise<SippRun> {
  return sipp({ scenarioFile: join(fixtures, 'uas-register-auth.xml'), args: ['-set', 'password', password] });
}

const REGISTER_HEAD = `name: register with auth
vars: { username: "0000123456" }
credentials: { username: "\${username}", password: "\${env.SIPWRIGHT_PASSWORD}" }
steps:
  - send: REGISTER
    uri: "sip:\${target}"
    from: "<sip:\${username}@\${target_host}>"
    to: "<sip:\${username}@\${target_host}>"
    headers: { Expires: "120" }`;

const EXPLICIT_AUTH = `${REGISTER_HEAD}
  - expect: 401
    headers:
      WWW-Authenticate: { matches: "^Digest " }
  - auth
  - expect: 200
    headers: { Expires: "120", Contact: present }
`;

const AUTO_AUTH = `${REGISTER_HEAD}
    auth: true
  - expect: 200
    headers: { Expires: "120" }
`;

describe('auth', () => {
  it('an explicit auth after expect: 401 answers with CSeq + 1, the same Call-ID and a digest SIPp verifies (RFC 3261 §22.2)', async () => {
    const peer = await registrar();
    const r = await runYaml(EXPLICIT_AUTH, { target: { host: '127.0.0.1', port: peer.port }, env: { SIPWRIGHT_PASSWORD: PASSWORD } });
    expect(r.verdict, explain(r)).toBe('passed');
    expect((await peer.exited).code).toBe(0);
    const sent = wire(r).filter((w) => w.direction === 'out').map((w) => w.msg);
    expect(sent.map((m) => m.method)).toEqual(['REGISTER', 'REGISTER']);
    expect(sent[1].callId).toBe(sent[0].callId);
    expect(sent[1].cseq.seq).toBe(sent[0].cseq.seq + 1);
    const creds = parseDigestCredentials(sent[1].get('authorization')!);
    expect(creds.username).toBe('0000123456');
    // The password is a secret of the run: reports redact it.
    expect(r.secrets).toContain(PASSWORD);
  });

  it('an explicit auth with the wrong password: expected 200, received 403 Forbidden', async () => {
    const peer = await registrar();
    const r = await runYaml(EXPLICIT_AUTH, { target: { host: '127.0.0.1', port: peer.port }, env: { SIPWRIGHT_PASSWORD: 'wrong' } });
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'expected 200, received 403 Forbidden', step: 'expect: 200', pos: { line: 14 } });
  });

  it('auth with no challenge on the call fails', async () => {
    const r = await duet(
      `
  - send: OPTIONS
  - expect: OPTIONS
    party: b
  - send: 200
    party: b
  - expect: 200
  - auth
`,
      { a: 'credentials: { username: alice, password: "${env.PW}" }', env: { PW: 'pw' } },
    );
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'auth: no 401 or 407 to answer on this call', step: 'auth', pos: { line: 13 } });
  });

  it('auth: true answers the 401 while expecting 200', async () => {
    const peer = await registrar();
    const r = await runYaml(AUTO_AUTH, { target: { host: '127.0.0.1', port: peer.port }, env: { SIPWRIGHT_PASSWORD: PASSWORD } });
    expect(r.verdict, explain(r)).toBe('passed');
    expect((await peer.exited).code).toBe(0);
    expect(firstLines(r, 'uac', 'in')).toEqual(['401 REGISTER', '200 REGISTER']);
  });

  it('auth: true with the wrong password: expected 200, received 403 Forbidden', async () => {
    const peer = await registrar();
    const r = await runYaml(AUTO_AUTH, { target: { host: '127.0.0.1', port: peer.port }, env: { SIPWRIGHT_PASSWORD: 'wrong' } });
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'expected 200, received 403 Forbidden', step: 'expect: 200', pos: { line: 11 } });
  });

  it('auth: true on an INVITE answers a 407 with Proxy-Authorization and CSeq + 1 (RFC 3261 §22.3)', async () => {
    // The challenge is answered while the caller waits in `expect: 200`, so the callee's
    // steps run beside it in a parallel branch.
    const r = await duet(
      `
  - parallel:
      - - send: INVITE
          auth: true
        - expect: 200
      - - expect: INVITE
          party: b
        - send: 407
          party: b
          headers: { Proxy-Authenticate: 'Digest realm="sipwright.test", nonce="n0nce", algorithm=MD5' }
        - expect: INVITE
          party: b
          headers:
            Proxy-Authorization: { contains: 'username="alice"' }
            CSeq: 2 INVITE
        - send: 200
          party: b
`,
      { a: 'credentials: { username: alice, password: "${env.PW}" }', env: { PW: 'alice-pw' } },
    );
    expect(r.verdict, explain(r)).toBe('passed');
    expect(firstLines(r, 'a', 'out').slice(0, 4)).toEqual(['INVITE', 'ACK', 'INVITE', 'ACK']);
  });
});

describe('pause', () => {
  it('waits as long as written', async () => {
    const r = await runYaml('name: pause\nsteps:\n  - pause: 300ms\n');
    expect(r.verdict).toBe('passed');
    expect(r.durationMs).toBeGreaterThanOrEqual(295);
    expect(r.durationMs).toBeLessThan(1000);
  });
});

describe('cancel', () => {
  it('CANCELs the ringing call of SIPp, whose INVITE then gets 487 (RFC 3261 §9.1)', async () => {
    const peer = await sipp({ scenarioFile: join(fixtures, 'uas-ring-cancel.xml') });
    const r = await runYaml(
      `
name: cancel
steps:
  - send: INVITE
    sdp: offer
  - expect: 180
  - cancel
  - expect: 487
`,
      { target: { host: '127.0.0.1', port: peer.port } },
    );
    expect(r.verdict, explain(r)).toBe('passed');
    expect((await peer.exited).code).toBe(0);
    expect(firstLines(r, 'uac', 'out')).toEqual(['INVITE', 'CANCEL', 'ACK']);
    const [invite, cancel] = wire(r).filter((w) => w.direction === 'out').map((w) => w.msg);
    // RFC 3261 §9.1: the CANCEL has the INVITE's Request-URI, Call-ID, CSeq number and branch.
    expect(cancel.requestUri).toBe(invite.requestUri);
    expect(cancel.cseq.seq).toBe(invite.cseq.seq);
    expect(cancel.topVia.params.get('branch')).toBe(invite.topVia.params.get('branch'));
  });

  it('a CANCEL that loses the race with the 200 fails: expected 487, received 200 OK', async () => {
    const r = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 180
    party: b
  - expect: 180
  - cancel
  - expect: CANCEL
    party: b
  - expect: 487
    timeout: 500ms
`);
    // The callee's core answered the CANCEL and the INVITE (487) itself: this one passes ...
    expect(r.verdict, explain(r)).toBe('passed');
    // ... while a callee that answered 200 first makes the expect of 487 fail.
    const late = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 180
    party: b
  - expect: 180
  - cancel
  - send: 200
    party: b
  - expect: 487
    timeout: 500ms
`);
    // Either the 200 is already in when the CANCEL goes (it is refused: a call that is established)
    // or the CANCEL gets 200 and the INVITE 200 too (RFC 3261 §9.2: too late to cancel).
    expect(late.verdict).toBe('failed');
    expect(late.failure).toMatchObject({ message: 'expected 487, received 200 OK', step: 'expect: 487', pos: { line: 16 } });
  });

  it('a call that is already answered cannot be CANCELled', async () => {
    const r = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 200
    party: b
  - expect: 200
  - cancel
`);
    expect(r.verdict).toBe('error');
    expect(r.error?.message).toBe('cannot CANCEL a call that is established');
  });

  it('without an INVITE on the call it is a scenario error', async () => {
    const r = await duet('  - cancel\n');
    expect(r.verdict).toBe('error');
    expect(r.error?.message).toBe('x.yaml:7:5: cancel: no outgoing INVITE on call "call"');
  });
});

describe('hangup', () => {
  const ESTABLISH = `
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 200
    party: b
  - expect: 200
  - expect: ACK
    party: b
`;

  it('BYEs the call and expects its 200 (RFC 3261 §15.1.1)', async () => {
    const r = await duet(`${ESTABLISH}
  - hangup
  - expect: BYE
    party: b
`);
    expect(r.verdict, explain(r)).toBe('passed');
    expect(firstLines(r, 'a', 'out')).toEqual(['INVITE', 'ACK', 'BYE']);
    expect(firstLines(r, 'a', 'in')).toEqual(['100 INVITE', '200 INVITE', '200 BYE']);
  });

  it('the callee hangs up with hangup too', async () => {
    const r = await duet(`${ESTABLISH}
  - hangup:
      timeout: 1s
    party: b
  - expect: BYE
`);
    expect(r.verdict, explain(r)).toBe('passed');
    expect(firstLines(r, 'b', 'out')).toEqual(['100 INVITE', '200 INVITE', 'BYE']);
  });

  it('a call the peer already hung up cannot be hung up again', async () => {
    const r = await duet(`${ESTABLISH}
  - hangup:
    party: b
  - expect: BYE
  - hangup
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'cannot send BYE: call call has ended (the peer hung up)', step: 'hangup', pos: { line: 19 } });
  });

  it('a call that was never answered has no dialog to hang up', async () => {
    const r = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 486
    party: b
  - expect: 486
  - hangup
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'cannot send BYE: call call has no dialog', step: 'hangup' });
  });
});

describe('hangup after responses nobody read', () => {
  it('expects the BYE’s own 2xx, not the unread 200 to the INVITE', async () => {
    const r = await duet(`
  - send: INVITE
  - expect: INVITE
    party: b
  - send: 180
    party: b
  - send: 200
    party: b
  - expect: 180
  - expect: ACK
    party: b
  - hangup:
      timeout: 1s
  - expect: BYE
    party: b
  - expect: 2xx
    timeout: 300ms
`);
    // The hangup took the 200 to its BYE: nothing is left for a later expect.
    expect(r.failure, explain(r)).toMatchObject({ message: 'expected 2xx, received nothing within 0.3 s', pos: { line: 21 } });
    expect(firstLines(r, 'a', 'in')).toEqual(['100 INVITE', '180 INVITE', '200 INVITE', '200 BYE']);
  });
});
