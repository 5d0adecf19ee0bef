/**
 * The Kamailio carrier (sut/kamailio/kamailio.cfg) as a real system under test for the
 * carrier/ suite: routing to registered users and 404, busy and no answer relayed to the
 * caller, call forwarding on busy / no answer with a Diversion header (RFC 5806, seed 003), a
 * number answered 302, and a per-account channel limit kept with dialog profiles.
 *
 * One Kamailio per test on a free loopback port; phones are Parties that register with digest
 * auth (401) and place calls through the proxy, answering its 407. Every case runs over UDP
 * and over TCP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { requestWithAuth } from '../../src/auth/authenticating-client.js';
import type { Call } from '../../src/scenario/call.js';
import { Party } from '../../src/scenario/party.js';
import type { SipMessage } from '../../src/sip/message.js';
import { CARRIER_ACCOUNTS, startKamailio, type CarrierServices, type KamailioRun } from '../support/kamailio.js';

const REALM = 'voip0000.cloudpbx.com';
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';
/** Short enough to keep the file fast, long enough to tell "gave up on time" from "at once". */
const NO_ANSWER_S = 2;

type Transport = 'udp' | 'tcp';

/** The Request-URI the proxy sends to `party`: its registered Contact (RFC 3261 §16.5, location lookup). */
const contactOf = (party: Party, user: string): string =>
  `sip:${user}@127.0.0.1:${party.local.port}${party.protocol === 'tcp' ? ';transport=tcp' : ''}`;

const kamailios: KamailioRun[] = [];
const parties: Party[] = [];
afterEach(async () => {
  await Promise.all(parties.splice(0).map((p) => p.close(500)));
  for (const k of kamailios.splice(0)) {
    await k.stop();
    if (process.env.SIPWRIGHT_DEBUG_STOP) console.log(`kamailio ${k.pid} stopped in ${k.stopped?.ms} ms${k.stopped?.killed ? ' (SIGKILL)' : ''}`);
  }
});

/** The carrier with seed 003's forwarding (1004 → 1005), a short no-answer time and `services` on top. */
async function carrier(services: CarrierServices = {}): Promise<KamailioRun> {
  const k = await startKamailio({
    realm: REALM,
    accounts: { ...CARRIER_ACCOUNTS },
    carrier: { noAnswerSeconds: NO_ANSWER_S, forward: { from: '1004', to: '1005' }, ...services },
  });
  kamailios.push(k);
  return k;
}

/** A phone for `user`, registered at the carrier (REGISTER, 401, REGISTER with Authorization, 200). */
async function phone(k: KamailioRun, user: string, transport: Transport): Promise<Party> {
  const party = await Party.start({ name: user, user, transport, target: { host: '127.0.0.1', port: k.port } });
  parties.push(party);
  const aor = `<sip:${user}@${REALM}>`;
  const reg = await requestWithAuth(
    party.ua,
    'REGISTER',
    `sip:${REALM}`,
    { to: aor, from: aor, headers: [['Expires', '120']], dest: party.target },
    { username: user, password: CARRIER_ACCOUNTS[user] },
  );
  expect(reg.status, `REGISTER ${user}: ${reg.final?.reason ?? reg.failureMessage}\n${k.logs()}`).toBe(200);
  return party;
}

/**
 * `from` calls `to` through the carrier: INVITE, 407, INVITE with Proxy-Authorization (RFC 3261
 * §22.3). Resolves once the authenticated INVITE is sent.
 */
async function dial(k: KamailioRun, from: Party, to: string, name = 'call'): Promise<Call> {
  const user = from.ua.user;
  const call = from.invite(`sip:${to}@${REALM}`, { from: `<sip:${user}@${REALM}>`, body: SDP }, name);
  const challenge = await expectStatus(k, call, 407);
  expect(call.retryWithAuth(challenge, { username: user, password: CARRIER_ACCOUNTS[user] })).toBe(true);
  return call;
}

/** `call.expect(status)`, failing with Kamailio's log attached. */
async function expectStatus(k: KamailioRun, call: Call, status: number, timeoutMs = 5000): Promise<SipMessage> {
  try {
    return (await call.expect(status, { timeoutMs }))!;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- kamailio log ---\n${k.logs()}`);
  }
}

/** The next INVITE the proxy sends to `party`, as a call to answer. */
async function incoming(k: KamailioRun, party: Party, name = 'call', timeoutMs = 5000): Promise<{ msg: SipMessage; call: Call }> {
  const got = await party.nextIncoming('INVITE', timeoutMs, name);
  if (!got?.call) throw new Error(`${party.name} received no INVITE within ${timeoutMs} ms\n--- kamailio log ---\n${k.logs()}`);
  return { msg: got.msg, call: got.call };
}

/** Answer with 180 then 200 and SDP; resolves once the ACK for the 200 came. */
async function answer(call: Call): Promise<void> {
  call.respond(180);
  call.respond(200, { body: SDP, contentType: 'application/sdp' });
  await call.expectRequest('ACK', { timeoutMs: 5000 });
}

for (const transport of ['udp', 'tcp'] as const) {
  const tag = transport.toUpperCase();

  describe(`Kamailio carrier over ${tag}: routing, busy, no answer`, () => {
    it('answers an INVITE to a number nobody registered with 404 Not Found', async () => {
      const k = await carrier();
      const caller = await phone(k, '1003', transport);
      const call = await dial(k, caller, '1999');
      await expectStatus(k, call, 404);
      expect(call.challenges.map((c) => c.status)).toEqual([407]);
    });

    it("relays the callee's 486 Busy Here to the caller (RFC 3261 §16.7 step 6)", async () => {
      const k = await carrier();
      const callee = await phone(k, '1002', transport);
      const caller = await phone(k, '1003', transport);
      const call = await dial(k, caller, '1002');

      const ringing = await incoming(k, callee);
      expect(ringing.msg.requestUri).toBe(contactOf(callee, '1002'));
      ringing.call.respond(486);
      await expectStatus(k, call, 486);
      expect(ringing.msg.has('diversion')).toBe(false);
    });

    for (const code of [480, 408] as const) {
      it(`gives up on a callee that rings for NOANSWER_SECONDS: CANCEL to the callee, ${code} to the caller (NOANSWER_CODE ${code})`, async () => {
        const k = await carrier({ noAnswerCode: code });
        const callee = await phone(k, '1002', transport);
        const caller = await phone(k, '1003', transport);
        const call = await dial(k, caller, '1002');

        const ringing = await incoming(k, callee);
        ringing.call.respond(180);
        const rang = Date.now();
        const final = await expectStatus(k, call, code, NO_ANSWER_S * 1000 + 3000);
        const waited = Date.now() - rang;
        expect(waited).toBeGreaterThanOrEqual(NO_ANSWER_S * 1000 - 250);
        expect(waited).toBeLessThan(NO_ANSWER_S * 1000 + 1500);
        expect(final.reason).toBe(code === 480 ? 'Temporarily Unavailable' : 'Request Timeout');
        // The proxy ends the ringing branch (RFC 3261 §16.7 step 10, §9.1).
        await ringing.call.expectRequest('CANCEL', { timeoutMs: 2000 });
      });
    }
  });

  describe(`Kamailio carrier over ${tag}: call forwarding with Diversion (RFC 5806, seed 003)`, () => {
    it('on busy: forwards to the target with Diversion reason=user-busy; the caller gets its 200; BYE from the caller', async () => {
      const k = await carrier();
      const forwarded = await phone(k, '1004', transport);
      const target = await phone(k, '1005', transport);
      const caller = await phone(k, '1003', transport);
      const call = await dial(k, caller, '1004');

      const first = await incoming(k, forwarded);
      expect(first.msg.has('diversion')).toBe(false);
      first.call.respond(486);

      const second = await incoming(k, target);
      expect(second.msg.requestUri).toBe(contactOf(target, '1005'));
      expect(second.msg.get('diversion')).toBe(`<sip:1004@${REALM}>;reason=user-busy`);
      // One call, serially forked: the same Call-ID and caller (RFC 3261 §16.6).
      expect(second.msg.callId).toBe(first.msg.callId);
      expect(second.msg.fromTag).toBe(first.msg.fromTag);
      await Promise.all([answer(second.call), expectStatus(k, call, 200)]);
      expect(call.uac!.dialog!.remoteTarget).toContain(`127.0.0.1:${target.local.port}`);

      // BYE from the caller reaches the target through the proxy (Record-Route).
      expect((await call.hangup(5000))?.status).toBe(200);
      await second.call.expectRequest('BYE', { timeoutMs: 5000 });
    });

    it('on no answer: CANCELs the ringing user after NOANSWER_SECONDS, forwards with reason=no-answer; BYE from the target', async () => {
      const k = await carrier();
      const forwarded = await phone(k, '1004', transport);
      const target = await phone(k, '1005', transport);
      const caller = await phone(k, '1003', transport);
      const call = await dial(k, caller, '1004');

      const first = await incoming(k, forwarded);
      first.call.respond(180);
      const rang = Date.now();

      const second = await incoming(k, target, 'call', NO_ANSWER_S * 1000 + 3000);
      expect(Date.now() - rang).toBeGreaterThanOrEqual(NO_ANSWER_S * 1000 - 250);
      expect(second.msg.get('diversion')).toBe(`<sip:1004@${REALM}>;reason=no-answer`);
      await first.call.expectRequest('CANCEL', { timeoutMs: 2000 });

      await Promise.all([answer(second.call), expectStatus(k, call, 200)]);
      expect(call.uac!.dialog!.remoteTarget).toContain(`127.0.0.1:${target.local.port}`);

      // BYE from the target (as in seed 003) reaches the caller.
      second.call.send('BYE');
      await expectStatus(k, second.call, 200);
      await call.expectRequest('BYE', { timeoutMs: 5000 });
    });

    it("on the callee's own 408 (its UA gave up, as in seed 003): forwards with reason=no-answer at once", async () => {
      const k = await carrier();
      const forwarded = await phone(k, '1004', transport);
      const target = await phone(k, '1005', transport);
      const caller = await phone(k, '1003', transport);
      const call = await dial(k, caller, '1004');

      const first = await incoming(k, forwarded);
      first.call.respond(180);
      first.call.respond(408);
      const second = await incoming(k, target, 'call', 1000);
      expect(second.msg.get('diversion')).toBe(`<sip:1004@${REALM}>;reason=no-answer`);
      await Promise.all([answer(second.call), expectStatus(k, call, 200)]);
    });

    it('with the forward target not registered, the caller gets the 486 of the busy user', async () => {
      const k = await carrier();
      const forwarded = await phone(k, '1004', transport);
      const caller = await phone(k, '1003', transport);
      const call = await dial(k, caller, '1004');
      (await incoming(k, forwarded)).call.respond(486);
      await expectStatus(k, call, 486);
    });

    it('with forwarding off (FWD_USER ""), a busy 1004 is not forwarded: the caller gets the 486', async () => {
      const k = await carrier({ forward: null });
      const forwarded = await phone(k, '1004', transport);
      const target = await phone(k, '1005', transport);
      const caller = await phone(k, '1003', transport);
      const call = await dial(k, caller, '1004');
      (await incoming(k, forwarded)).call.respond(486);
      await expectStatus(k, call, 486);
      expect(await target.nextIncoming('INVITE', 300)).toBeUndefined();
    });
  });

  describe(`Kamailio carrier over ${tag}: redirect and channel limit`, () => {
    it('answers an INVITE to REDIRECT_NUMBER with 302 Moved Temporarily and Contact <sip:REDIRECT_TARGET@realm> (RFC 3261 §21.3.3)', async () => {
      const k = await carrier({ redirect: { number: '1300', target: '1002' } });
      const caller = await phone(k, '1003', transport);
      const call = await dial(k, caller, '1300');
      const res = await expectStatus(k, call, 302);
      expect(res.reason).toBe('Moved Temporarily');
      expect(res.get('contact')).toBe(`<sip:1002@${REALM}>`);
      expect(res.contacts.map((c) => `${c.uri.user}@${c.uri.host}`)).toEqual([`1002@${REALM}`]);
    });

    it('holds LIMIT_CALLS calls of the account, refuses the next with LIMIT_CODE 486, and accepts again after a BYE', async () => {
      const k = await carrier({ channelLimit: { account: '0000123456', calls: 2, code: 486 } });
      const callee = await phone(k, '1002', transport);
      const trunk = await phone(k, '0000123456', transport);
      const other = await phone(k, '1001', transport);

      const held: Call[] = [];
      for (const name of ['c1', 'c2']) {
        const call = await dial(k, trunk, '1002', name);
        const ringing = await incoming(k, callee, name);
        await Promise.all([answer(ringing.call), expectStatus(k, call, 200)]);
        held.push(call);
      }

      // Call 3 of the account: refused by the proxy, the callee never sees it.
      const res = await expectStatus(k, await dial(k, trunk, '1002', 'c3'), 486);
      expect(res.reason).toBe('Busy Here');
      expect(await callee.nextIncoming('INVITE', 300)).toBeUndefined();

      // The limit is per account: another account still gets through.
      const otherCall = await dial(k, other, '1002');
      const otherRinging = await incoming(k, callee, 'other');
      await Promise.all([answer(otherRinging.call), expectStatus(k, otherCall, 200)]);

      // One BYE ends one dialog and frees one channel.
      expect((await held[0].hangup(5000))?.status).toBe(200);
      const again = await dial(k, trunk, '1002', 'c4');
      const ringing = await incoming(k, callee, 'c4');
      await Promise.all([answer(ringing.call), expectStatus(k, again, 200)]);
    });

    it('with LIMIT_CODE 503 and a limit of 1: the second call gets 503; after the callee hangs up, a call goes through', async () => {
      const k = await carrier({ channelLimit: { account: '1001', calls: 1, code: 503 } });
      const callee = await phone(k, '1002', transport);
      const caller = await phone(k, '1001', transport);

      const first = await dial(k, caller, '1002', 'c1');
      const ringing = await incoming(k, callee, 'c1');
      await Promise.all([answer(ringing.call), expectStatus(k, first, 200)]);

      const refused = await expectStatus(k, await dial(k, caller, '1002', 'c2'), 503);
      expect(refused.reason).toBe('Service Unavailable');

      // A BYE from the callee's side ends the dialog too.
      ringing.call.send('BYE');
      await expectStatus(k, ringing.call, 200);
      await first.expectRequest('BYE', { timeoutMs: 5000 });

      const again = await dial(k, caller, '1002', 'c3');
      const next = await incoming(k, callee, 'c3');
      await Promise.all([answer(next.call), expectStatus(k, again, 200)]);
    });
  });
}
