/**
 * Registration with digest authentication (RFC 3261 §10.2, §22.2) against real peers on
 * loopback: Kamailio with sut/kamailio/kamailio.cfg (the carrier), over UDP and TCP, and a SIPp
 * UAS that verifies the digest itself (test/fixtures/sipp/uas-register-auth.xml).
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { inviteWithAuth, requestWithAuth, type AuthOutcome } from '../../src/auth/authenticating-client.js';
import { parseDigestChallenge, parseDigestCredentials } from '../../src/auth/challenge.js';
import { UserAgent } from '../../src/dialog/user-agent.js';
import type { SipMessage } from '../../src/sip/message.js';
import { startKamailio, type KamailioOptions, type KamailioRun } from '../support/kamailio.js';
import { startSipp } from '../support/sipp.js';

const REALM = 'voip0000.cloudpbx.com';
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';
const REGISTER_AUTH_XML = fileURLToPath(new URL('../fixtures/sipp/uas-register-auth.xml', import.meta.url));

const peers: Array<{ stop(): unknown }> = [];
const agents: UserAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.close();
  for (const p of peers.splice(0)) await p.stop();
});

async function kamailio(opts: KamailioOptions = {}): Promise<KamailioRun> {
  const k = await startKamailio({ realm: REALM, ...opts });
  peers.push(k);
  return k;
}

async function agent(transport: 'udp' | 'tcp', user: string): Promise<UserAgent> {
  const ua = await UserAgent.create({ transport, user });
  agents.push(ua);
  return ua;
}

interface RegisterInit {
  user: string;
  password: string;
  port: number;
  expires?: number;
  /** false: no Contact, which asks the registrar for the current bindings (RFC 3261 §10.2.3). */
  contact?: boolean;
  callId?: string;
  cseq?: number;
}

/** REGISTER sip:<realm> for `user@realm`, sent to 127.0.0.1:port, answering challenges. */
function register(ua: UserAgent, r: RegisterInit): Promise<AuthOutcome> {
  const aor = `<sip:${r.user}@${REALM}>`;
  return requestWithAuth(
    ua,
    'REGISTER',
    `sip:${REALM}`,
    {
      to: aor,
      from: aor,
      dest: { host: '127.0.0.1', port: r.port },
      headers: r.expires === undefined ? [] : [['Expires', String(r.expires)]],
      // An empty Contact value makes the UA leave the header out.
      ...(r.contact === false ? { contact: '' } : {}),
      callId: r.callId,
      cseq: r.cseq,
    },
    { username: r.user, password: r.password },
  );
}

/** The Contact bindings of a REGISTER response that point at this UA. */
function ourBindings(res: SipMessage | undefined, ua: UserAgent): Array<{ uri: string; expires: number }> {
  if (!res) return [];
  return res.contacts
    .filter((c) => c.uri.user === ua.user && c.uri.host === '127.0.0.1' && c.uri.port === ua.local.port)
    .map((c) => ({ uri: `${c.uri.user}@${c.uri.host}:${c.uri.port}`, expires: Number(c.params.get('expires')) }));
}

const explain = (k: KamailioRun, o: AuthOutcome): string =>
  `final ${o.status} ${o.final?.reason ?? o.failureMessage}\n--- kamailio log ---\n${k.logs()}`;

for (const transport of ['udp', 'tcp'] as const) {
  describe(`REGISTER with digest auth to Kamailio over ${transport.toUpperCase()}`, () => {
    it('challenges the first REGISTER with 401 and registers the retry (RFC 3261 §22.2, §10.3)', async () => {
      const k = await kamailio();
      const ua = await agent(transport, '1001');
      const out = await register(ua, { user: '1001', password: '1001pass', port: k.port, expires: 120 });

      expect(out.status, explain(k, out)).toBe(200);
      expect(out.attempts).toBe(2);
      expect(out.challenges).toHaveLength(1);
      const challenge = out.challenges[0];
      expect(challenge.status).toBe(401);
      const www = challenge.get('www-authenticate');
      expect(www).toBeDefined();
      expect(parseDigestChallenge(www!).realm).toBe(REALM);

      // The 200 lists our binding with the interval we asked for (the registrar may shorten it).
      const bindings = ourBindings(out.final, ua);
      expect(bindings, out.final?.get('contact')).toHaveLength(1);
      expect(bindings[0].expires).toBeGreaterThan(0);
      expect(bindings[0].expires).toBeLessThanOrEqual(120);
    });

    it('retries with CSeq + 1, the same Call-ID and From tag, and an Authorization for the challenge (RFC 3261 §22.2)', async () => {
      const k = await kamailio();
      const ua = await agent(transport, '1002');
      const out = await register(ua, { user: '1002', password: '1002pass', port: k.port, expires: 120 });
      expect(out.status, explain(k, out)).toBe(200);

      // The 401 echoes the first REGISTER's Call-ID, From and CSeq (RFC 3261 §8.2.6.2).
      const first = out.challenges[0];
      const retry = out.request;
      expect(retry.cseq.seq).toBe(first.cseq.seq + 1);
      expect(retry.cseq.method).toBe('REGISTER');
      expect(retry.callId).toBe(first.callId);
      expect(retry.fromTag).toBe(first.fromTag);
      expect(retry.fromTag).toBeTruthy();
      // A new transaction: a new branch (RFC 3261 §8.1.3.5).
      expect(retry.topVia.params.get('branch')).not.toBe(first.topVia.params.get('branch'));

      const creds = parseDigestCredentials(retry.get('authorization')!);
      const challenge = parseDigestChallenge(first.get('www-authenticate')!);
      expect(creds.username).toBe('1002');
      expect(creds.realm).toBe(challenge.realm);
      expect(creds.nonce).toBe(challenge.nonce);
      expect(creds.uri).toBe(`sip:${REALM}`);
      // The 200 answers the retry.
      expect(out.final!.cseq.seq).toBe(retry.cseq.seq);
    });

    it('refuses a wrong password: 401 or 403 after exactly one challenge', async () => {
      const k = await kamailio();
      const ua = await agent(transport, '0000123456');
      const out = await register(ua, { user: '0000123456', password: 'not-the-password', port: k.port, expires: 120 });

      expect([401, 403], explain(k, out)).toContain(out.status);
      expect(out.challenges).toHaveLength(1);
      expect(out.attempts).toBe(2);
      expect(ourBindings(out.final, ua)).toHaveLength(0);
    });

    it('Expires: 0 removes the binding; a REGISTER without Contact then lists none (RFC 3261 §10.2.2, §10.2.3)', async () => {
      const k = await kamailio();
      const ua = await agent(transport, '1001');
      const account = { user: '1001', password: '1001pass', port: k.port };

      const added = await register(ua, { ...account, expires: 120 });
      expect(added.status, explain(k, added)).toBe(200);
      expect(ourBindings(added.final, ua)).toHaveLength(1);

      // The query lists the binding while it exists ...
      const before = await register(ua, { ...account, contact: false });
      expect(before.status, explain(k, before)).toBe(200);
      expect(before.request.has('contact')).toBe(false);
      expect(ourBindings(before.final, ua)).toHaveLength(1);

      // ... Expires: 0 removes it (same Call-ID, higher CSeq: RFC 3261 §10.2.4) ...
      const removed = await register(ua, {
        ...account,
        expires: 0,
        callId: added.request.callId,
        cseq: added.request.cseq.seq + 1,
      });
      expect(removed.status, explain(k, removed)).toBe(200);
      expect(ourBindings(removed.final, ua)).toHaveLength(0);

      // ... and the query no longer finds it.
      const after = await register(ua, { ...account, contact: false });
      expect(after.status, explain(k, after)).toBe(200);
      expect(after.final!.contacts).toHaveLength(0);
    });
  });
}

describe('the Kamailio carrier config: variants and INVITE routing (UDP)', () => {
  it('answers 403 to credentials for an unknown user', async () => {
    const k = await kamailio();
    const ua = await agent('udp', '1003');
    const out = await register(ua, { user: '1003', password: 'whatever', port: k.port, expires: 120 });
    expect(out.status, explain(k, out)).toBe(403);
    expect(out.challenges).toHaveLength(1);
  });

  it('with WITH_RECHALLENGE a wrong password meets a second 401, where the client stops', async () => {
    const k = await kamailio({ defines: { WITH_RECHALLENGE: true } });
    const ua = await agent('udp', '1001');
    const out = await register(ua, { user: '1001', password: 'wrong', port: k.port, expires: 120 });
    expect(out.status, explain(k, out)).toBe(401);
    expect(out.challenges).toHaveLength(1);
    expect(out.attempts).toBe(2);
  });

  it('with WITH_QOP and the seed realm (stray spaces) the client answers qop=auth with nc and cnonce (RFC 2617 §3.2.2)', async () => {
    const k = await kamailio({ realm: ` ${REALM} `, defines: { WITH_QOP: true } });
    const ua = await agent('udp', '0000123456');
    const out = await register(ua, { user: '0000123456', password: 'password', port: k.port, expires: 120 });
    expect(out.status, explain(k, out)).toBe(200);
    const challenge = parseDigestChallenge(out.challenges[0].get('www-authenticate')!);
    expect(challenge.realm).toBe(` ${REALM} `);
    expect(challenge.qop).toEqual(['auth']);
    const creds = parseDigestCredentials(out.request.get('authorization')!);
    expect(creds.realm).toBe(` ${REALM} `);
    expect(creds.qop).toBe('auth');
    expect(creds.nc).toBe('00000001');
    expect(creds.cnonce).toBeTruthy();
  });

  it('answers an interval below MIN_EXPIRES with 423 and Min-Expires (RFC 3261 §10.3 step 7)', async () => {
    const k = await kamailio({ defines: { MIN_EXPIRES: 60 } });
    const ua = await agent('udp', '1001');
    const out = await register(ua, { user: '1001', password: '1001pass', port: k.port, expires: 30 });
    expect(out.status, explain(k, out)).toBe(423);
    expect(out.final!.get('min-expires')).toBe('60');
    expect(out.challenges).toHaveLength(1);
  });

  it('challenges an INVITE with 407; authenticated, a user with no binding gets 404 (RFC 3261 §22.3)', async () => {
    const k = await kamailio();
    const caller = await agent('udp', '1001');
    const call = caller.invite(`sip:1002@${REALM}`, {
      from: `<sip:1001@${REALM}>`,
      dest: { host: '127.0.0.1', port: k.port },
      body: SDP,
    });
    const { final, challenges } = await inviteWithAuth(call, { username: '1001', password: '1001pass' }, 5000);
    expect(challenges.map((c) => c.status)).toEqual([407]);
    expect(parseDigestChallenge(challenges[0].get('proxy-authenticate')!).realm).toBe(REALM);
    expect(call.invite.has('proxy-authorization')).toBe(true);
    expect(final?.status, k.logs()).toBe(404);
  });

  it("relays an authenticated INVITE to the callee's registered contact with Record-Route; the 486 comes back (RFC 3261 §16.6)", async () => {
    const k = await kamailio();
    const callee = await agent('udp', '1002');
    const reg = await register(callee, { user: '1002', password: '1002pass', port: k.port, expires: 120 });
    expect(reg.status, explain(k, reg)).toBe(200);
    let received: SipMessage | undefined;
    callee.onInvite = (c) => {
      received = c.invite;
      c.respond(486);
    };

    const caller = await agent('udp', '1001');
    const call = caller.invite(`sip:1002@${REALM}`, {
      from: `<sip:1001@${REALM}>`,
      dest: { host: '127.0.0.1', port: k.port },
      body: SDP,
    });
    const { final, challenges } = await inviteWithAuth(call, { username: '1001', password: '1001pass' }, 5000);
    expect(challenges.map((c) => c.status)).toEqual([407]);
    expect(final?.status, k.logs()).toBe(486);

    expect(received).toBeDefined();
    // The Request-URI is the registered contact (RFC 3261 §16.5 via location lookup) ...
    expect(received!.requestUri).toBe(`sip:1002@127.0.0.1:${callee.local.port}`);
    // ... the proxy stays on the path and added its Via (§16.6 steps 4 and 8) ...
    expect(received!.getAll('record-route').some((rr) => rr.includes(`127.0.0.1:${k.port}`) && rr.includes(';lr'))).toBe(true);
    expect(received!.getAll('via')).toHaveLength(2);
    // ... and kept our credentials to itself (consume_credentials).
    expect(received!.has('proxy-authorization')).toBe(false);
  });

  it('completes a call between two registered users through the proxy: ACK and BYE follow the Record-Route (RFC 3261 §12.2.1.1)', async () => {
    const k = await kamailio();
    const callee = await agent('udp', '1002');
    const reg = await register(callee, { user: '1002', password: '1002pass', port: k.port, expires: 120 });
    expect(reg.status, explain(k, reg)).toBe(200);
    const calleeSaw: string[] = [];
    const answered = new Promise<void>((resolve) => {
      callee.onInvite = async (c) => {
        calleeSaw.push('INVITE');
        c.respond(180);
        c.respond(200, { body: SDP, contentType: 'application/sdp' });
        if (await c.waitAck(5000)) calleeSaw.push('ACK');
        if (await c.nextRequest(5000, 'BYE')) calleeSaw.push('BYE');
        resolve();
      };
    });

    const caller = await agent('udp', '1001');
    const call = caller.invite(`sip:1002@${REALM}`, {
      from: `<sip:1001@${REALM}>`,
      dest: { host: '127.0.0.1', port: k.port },
      body: SDP,
    });
    const { final } = await inviteWithAuth(call, { username: '1001', password: '1001pass' }, 5000);
    expect(final?.status, k.logs()).toBe(200);
    // The route set is the proxy's Record-Route, echoed by the callee in its 2xx (§12.1.2).
    expect(final!.getAll('record-route').some((rr) => rr.includes(`127.0.0.1:${k.port}`))).toBe(true);
    const bye = await call.bye();
    expect(bye.status, k.logs()).toBe(200);
    await answered;
    expect(calleeSaw).toEqual(['INVITE', 'ACK', 'BYE']);
  });
});

for (const transport of ['udp', 'tcp'] as const) {
  describe(`REGISTER with digest auth to a SIPp UAS (verifyauth) over ${transport.toUpperCase()}`, () => {
    it('the seed realm with stray spaces: the digest verifies, SIPp answers 200 and exits 0', async () => {
      const sipp = await startSipp({ scenarioFile: REGISTER_AUTH_XML, transport, timeoutS: 15 });
      peers.push(sipp);
      const ua = await agent(transport, '0000123456');
      const out = await register(ua, { user: '0000123456', password: 'password', port: sipp.port, expires: 120 });

      expect(out.challenges).toHaveLength(1);
      // The realm is echoed verbatim, spaces included (RFC 2617 §3.2.2: realm is a quoted-string).
      const www = out.challenges[0].get('www-authenticate')!;
      expect(parseDigestChallenge(www).realm).toBe(` ${REALM} `);
      expect(parseDigestCredentials(out.request.get('authorization')!).realm).toBe(` ${REALM} `);
      expect(out.status).toBe(200);
      expect(ourBindings(out.final, ua)).toEqual([{ uri: `0000123456@127.0.0.1:${ua.local.port}`, expires: 120 }]);

      const { code, output } = await sipp.exited;
      expect(code, output).toBe(0);
    });

    it('a wrong password does not verify: SIPp answers 403 and counts the call failed (exit 1)', async () => {
      const sipp = await startSipp({ scenarioFile: REGISTER_AUTH_XML, transport, timeoutS: 15 });
      peers.push(sipp);
      const ua = await agent(transport, '0000123456');
      const out = await register(ua, { user: '0000123456', password: 'wrong', port: sipp.port, expires: 120 });

      expect(out.challenges).toHaveLength(1);
      expect(out.status).toBe(403);
      const { code, output } = await sipp.exited;
      expect(code, output).toBe(1);
    });
  });
}
