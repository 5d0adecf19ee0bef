/**
 * register, unregister and refresh steps, each passing and failing: against real Kamailio (the
 * carrier registrar of sut/kamailio, digest auth), and against a registrar played by a second
 * sipwright party where the answers must be scripted (a refresh refused, a granted expiry).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startKamailio, type KamailioOptions, type KamailioRun } from '../support/kamailio.js';
import { duet, explain, runYaml, wire } from './steps-harness.js';

const peers: KamailioRun[] = [];
afterEach(async () => {
  for (const k of peers.splice(0)) await k.stop();
});

async function kamailio(opts: KamailioOptions = {}): Promise<KamailioRun> {
  const k = await startKamailio(opts);
  peers.push(k);
  return k;
}

/** A uac party with Kamailio's account 1001 (its password from the environment). */
function account(steps: string): string {
  return `name: registration
credentials: { username: "1001", password: "\${env.PW}" }
steps:
${steps.replace(/^\n/, '').replace(/\s+$/, '')}
`;
}

/** REGISTER exchanges of the ladder: the requests sent and the responses received, in order. */
function registers(r: Awaited<ReturnType<typeof runYaml>>) {
  const all = wire(r).filter((w) => w.msg.cseq.method === 'REGISTER');
  return {
    sent: all.filter((w) => w.direction === 'out').map((w) => w.msg),
    ok: all.filter((w) => w.direction === 'in' && w.msg.status === 200).map((w) => w.msg),
  };
}

describe('register, refresh and unregister against Kamailio', () => {
  it('registers (401 answered), refreshes before the granted expiry with the same Call-ID and rising CSeq, and unregisters (RFC 3261 §10.2)', async () => {
    const k = await kamailio({ defines: { MIN_EXPIRES: 1 } });
    const r = await runYaml(
      account(`
  - register: { expires: 4 }
  - refresh: { margin: 2s }
  - pause: 5s
  - unregister
`),
      { target: { host: '127.0.0.1', port: k.port }, env: { PW: '1001pass' } },
    );
    expect(r.verdict, `${explain(r)}\n${k.logs()}`).toBe('passed');
    const { sent, ok } = registers(r);
    // The first REGISTER, at least two refreshes, and the unregister each end in 200.
    expect(ok.length).toBeGreaterThanOrEqual(4);
    expect(new Set(sent.map((m) => m.callId)).size).toBe(1);
    const cseqs = sent.map((m) => m.cseq.seq);
    expect(cseqs).toEqual([...cseqs].sort((x, y) => x - y));
    expect(new Set(cseqs).size).toBe(cseqs.length);
    // The registrar granted what we asked; the last REGISTER removes the binding.
    expect(sent[0].get('expires')).toBe('4');
    expect(sent.at(-1)!.get('expires')).toBe('0');
    expect(ok.at(-1)!.contacts).toHaveLength(0);
  });

  it('register fails naming the status and the challenge answered: 423 Interval Too Brief', async () => {
    const k = await kamailio();
    const r = await runYaml(account('  - register: { expires: 4 }\n'), { target: { host: '127.0.0.1', port: k.port }, env: { PW: '1001pass' } });
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'REGISTER: expected 200, received 423 Interval Too Brief after answering 401', step: 'register', pos: { line: 4 } });
  });

  it('register with the wrong password fails after one challenge', async () => {
    const k = await kamailio();
    const r = await runYaml(account('  - register: { expires: 60 }\n'), { target: { host: '127.0.0.1', port: k.port }, env: { PW: 'wrong' } });
    expect(r.verdict).toBe('failed');
    expect(r.failure?.message).toMatch(/^REGISTER: expected 200, received (401 Unauthorized|403 Forbidden) after answering 401$/);
  });

  it('register: expect: names another outcome as the one wanted', async () => {
    const k = await kamailio();
    const r = await runYaml(account('  - register: { expires: 4, expect: 423 }\n'), { target: { host: '127.0.0.1', port: k.port }, env: { PW: '1001pass' } });
    expect(r.verdict, explain(r)).toBe('passed');
  });

  it('unregister with refused credentials fails: REGISTER Expires: 0', async () => {
    const k = await kamailio();
    const r = await runYaml(
      account(`
  - register: { expires: 60 }
  - unregister:
      credentials: { username: "1001", password: not-it }
`),
      { target: { host: '127.0.0.1', port: k.port }, env: { PW: '1001pass' } },
    );
    expect(r.verdict).toBe('failed');
    expect(r.failure?.message).toMatch(/^REGISTER Expires: 0: expected 200, received (401 Unauthorized|403 Forbidden) after answering 401$/);
    expect(r.failure).toMatchObject({ step: 'unregister', pos: { line: 5 } });
  });
});

describe('register, refresh and unregister against a scripted registrar', () => {
  it('register sets ${expires} to the expiry granted (the Expires of the 200)', async () => {
    const r = await duet(`
  - parallel:
      - - register: { expires: 3600 }
      - - expect: REGISTER
          party: b
          headers: { Expires: "3600" }
        - send: 200
          party: b
          headers: { Expires: "30" }
  - send: OPTIONS
    headers: { X-Granted: "\${expires}" }
  - expect: OPTIONS
    party: b
    headers: { X-Granted: "30" }
`);
    expect(r.verdict, explain(r)).toBe('passed');
  });

  it('a refresh the registrar refuses fails the test at its end, naming the refresh step', async () => {
    const r = await duet(`
  - parallel:
      - - register: { expires: 60 }
        - refresh: { every: 300ms }
        - pause: 1s
      - - expect: REGISTER
          party: b
        - send: 200
          party: b
        - expect: REGISTER
          party: b
          headers: { CSeq: 2 REGISTER }
        - send: 500
          party: b
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure).toEqual({ message: 'refresh REGISTER failed: 500 Server Internal Error', step: 'refresh', pos: { file: 'x.yaml', line: 9, column: 11 } });
  });

  it('register that gets no answer within its timeout fails', async () => {
    const r = await duet(`
  - register: { expires: 60, timeout: 300ms }
`);
    expect(r.verdict).toBe('failed');
    expect(r.failure).toMatchObject({ message: 'REGISTER: expected 200, received nothing within 0.3 s', step: 'register', pos: { line: 7 } });
    expect(r.durationMs).toBeLessThan(2000);
  });

  it('unregister or refresh without a register before them is a scenario error', async () => {
    const un = await duet('  - unregister\n');
    expect(un.verdict).toBe('error');
    expect(un.error?.message).toBe('x.yaml:7:5: unregister: no register step ran for this party');
    const re = await duet('  - refresh: { every: 10s }\n');
    expect(re.error?.message).toBe('x.yaml:7:5: refresh: no register step ran for this party');
  });
});
