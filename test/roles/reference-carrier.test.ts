/**
 * The reference carrier (src/roles/reference-carrier.ts) on loopback, driven by parties hosting
 * Phone personas (which register with digest auth and dial through it) or by plain parties:
 * the registrar (RFC 3261 §10.3), 401/407 challenges (§22), routing to registered contacts,
 * busy / no answer, forwarding with Diversion (RFC 5806, seed 003), 302, the channel limit, BYE
 * and CANCEL across the legs — and, for each fault, the broken behaviour a suite must catch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { authorizationFor, requestWithAuth } from '../../src/auth/authenticating-client.js';
import { FAULTS, ReferenceCarrier, parseFaults, referenceCarrierOptions, type Fault, type ReferenceCarrierOptions } from '../../src/roles/reference-carrier.js';
import type { AnswerPolicy } from '../../src/roles/answer-policy.js';
import { Phone } from '../../src/roles/phone.js';
import type { Call } from '../../src/scenario/call.js';
import { Party } from '../../src/scenario/party.js';
import { loadProfile } from '../../src/scenario/profile.js';
import type { SipMessage } from '../../src/sip/message.js';
import { FAST_TIMERS, Parties } from './persona-harness.js';

const REALM = 'voip0000.cloudpbx.com';
const ACCOUNTS: Record<string, string> = { '0000123456': 'password', '1001': '1001pass', '1002': '1002pass', '1003': '1003pass' };
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';
/** Ring time in these tests: long enough to tell "on time" from "at once", short enough to stay fast. */
const NO_ANSWER_S = 0.8;
const FORWARD = { busy: { from: '1001', to: '1002' }, noAnswer: { from: '1001', to: '1002', afterSeconds: 0.6 } };
const PROFILE = fileURLToPath(new URL('../../sut/reference/carrier-profile.yaml', import.meta.url));

const parties = new Parties();
const carriers: ReferenceCarrier[] = [];
const extraParties: Party[] = [];
afterEach(async () => {
  await parties.closeAll();
  await Promise.allSettled(extraParties.splice(0).map((p) => p.close(200)));
  await Promise.allSettled(carriers.splice(0).map((c) => c.stop()));
});

async function carrier(opts: Partial<ReferenceCarrierOptions> = {}): Promise<ReferenceCarrier> {
  const c = await ReferenceCarrier.start({ realm: REALM, accounts: ACCOUNTS, noAnswerSeconds: NO_ANSWER_S, timers: FAST_TIMERS, ...opts });
  carriers.push(c);
  return c;
}

interface Line {
  party: Party;
  phone: Phone;
}

/** A phone of `user`, registered at the carrier (REGISTER, 401, REGISTER with Authorization, 200). */
async function phone(c: ReferenceCarrier, user: string, answer?: AnswerPolicy): Promise<Line> {
  const p = new Phone({ pbx: c.address, extension: user, password: ACCOUNTS[user], answer });
  const party = await parties.start(user, p);
  return { party, phone: p };
}

/**
 * `from` dials `number` through the carrier: INVITE, 407, INVITE with Proxy-Authorization
 * (RFC 3261 §22.3). Resolves once the authenticated INVITE is sent (at once when `auth` is off).
 */
async function dial(from: Line, number: string, name = 'call', auth = true): Promise<Call> {
  const { uri, opts } = from.phone.dial(number);
  const call = from.party.invite(uri, { ...opts, body: SDP }, name);
  if (!auth) return call;
  const challenge = await call.expect(407, { timeoutMs: 3000 });
  expect(call.retryWithAuth(challenge!, from.phone.credentials)).toBe(true);
  return call;
}

/** The next INVITE the carrier sends to `line`, as a call to answer. */
async function incoming(line: Line, name = 'call', timeoutMs = 3000): Promise<{ msg: SipMessage; call: Call }> {
  const got = await line.party.nextIncoming('INVITE', timeoutMs, name);
  if (!got?.call) throw new Error(`${line.party.name} received no INVITE within ${timeoutMs} ms`);
  return { msg: got.msg, call: got.call };
}

/** Ring, answer with SDP, wait for the ACK of the 200. */
async function answer(call: Call): Promise<void> {
  call.respond(180);
  call.respond(200, { body: SDP, contentType: 'application/sdp' });
  await call.expectRequest('ACK', { timeoutMs: 3000 });
}

/** REGISTER (or a query without Contact when `contact` is '') with digest auth from a plain party. */
async function register(c: ReferenceCarrier, party: Party, user: string, opts: { expires?: number; password?: string; contact?: string } = {}) {
  const aor = `<sip:${user}@${REALM}>`;
  const headers: Array<[string, string]> = opts.expires === undefined ? [] : [['Expires', String(opts.expires)]];
  return requestWithAuth(
    party.ua,
    'REGISTER',
    `sip:${REALM}`,
    { dest: c.address, to: aor, from: aor, headers, contact: opts.contact },
    { username: user, password: opts.password ?? ACCOUNTS[user] },
  );
}

const statuses = (call: Call): number[] => call.received.filter((m) => m.isResponse).map((m) => m.status);

describe('reference carrier: registrar (RFC 3261 §10.3) behind a 401 challenge', () => {
  it('challenges REGISTER with 401 (MD5, no qop, like seed 000), then 200 lists the binding with ;expires and Expires', async () => {
    const c = await carrier();
    const party = await parties.start('pbx');
    const reg = await register(c, party, '0000123456', { expires: 120 });
    expect(reg.challenges.map((r) => r.status)).toEqual([401]);
    const challenge = reg.challenges[0].get('www-authenticate')!;
    expect(challenge).toMatch(/^Digest realm="voip0000\.cloudpbx\.com", nonce="[0-9a-f]+", algorithm=MD5$/);
    expect(reg.status).toBe(200);
    expect(reg.final!.getAll('contact')).toEqual([`<sip:sipwright@127.0.0.1:${party.local.port}>;expires=120`]);
    expect(reg.final!.get('expires')).toBe('120');
    expect(c.lookup('0000123456')).toBe(`sip:sipwright@127.0.0.1:${party.local.port}`);
  });

  it('answers 403 to a wrong password, an unknown user, and an auth user that is not the To user', async () => {
    const c = await carrier();
    const party = await parties.start('pbx');
    expect((await register(c, party, '1001', { password: 'wrong' })).status).toBe(403);
    const unknown = await requestWithAuth(party.ua, 'REGISTER', `sip:${REALM}`, { dest: c.address, to: `<sip:9999@${REALM}>`, from: `<sip:9999@${REALM}>` }, { username: '9999', password: 'x' });
    expect(unknown.status).toBe(403);
    const other = await requestWithAuth(party.ua, 'REGISTER', `sip:${REALM}`, { dest: c.address, to: `<sip:1002@${REALM}>`, from: `<sip:1002@${REALM}>` }, { username: '1001', password: '1001pass' });
    expect(other.status).toBe(403);
    expect(c.registrar.registered()).toEqual([]);
  });

  it('lists the bindings for a REGISTER without Contact; Expires: 0 removes the binding (RFC 3261 §10.2.2)', async () => {
    const c = await carrier();
    const party = await parties.start('1002');
    expect((await register(c, party, '1002', { expires: 300 })).status).toBe(200);
    const listed = await register(c, party, '1002', { contact: '' });
    expect(listed.status).toBe(200);
    expect(listed.final!.getAll('contact')).toEqual([expect.stringMatching(new RegExp(`^<sip:sipwright@127\\.0\\.0\\.1:${party.local.port}>;expires=(300|299)$`))]);

    const removed = await register(c, party, '1002', { expires: 0 });
    expect(removed.status).toBe(200);
    expect(removed.final!.getAll('contact')).toEqual([]);
    expect((await register(c, party, '1002', { contact: '' })).final!.getAll('contact')).toEqual([]);
    expect(c.lookup('1002')).toBeUndefined();
  });

  it('Contact: * with Expires: 0 removes every binding of the AOR (RFC 3261 §10.3 step 6)', async () => {
    const c = await carrier();
    const party = await parties.start('1002');
    expect((await register(c, party, '1002', { expires: 300 })).status).toBe(200);
    const all = await register(c, party, '1002', { expires: 0, contact: '*' });
    expect(all.status).toBe(200);
    expect(c.lookup('1002')).toBeUndefined();
  });

  it('the AOR is the user part alone: 1002@127.0.0.1 (a Phone persona) is 1002@realm', async () => {
    const c = await carrier();
    const line = await phone(c, '1002');
    expect(c.lookup('1002')).toBe(`sip:sipwright@127.0.0.1:${line.party.local.port}`);
  });

  it('answers 423 Interval Too Brief with Min-Expires to an interval under 10 s', async () => {
    const c = await carrier();
    const reg = await register(c, await parties.start('p'), '1001', { expires: 5 });
    expect(reg.status).toBe(423);
    expect(reg.final!.get('min-expires')).toBe('10');
  });

  it('answers OPTIONS with 200 and no challenge (keepalive, readiness probe)', async () => {
    const c = await carrier();
    const party = await parties.start('probe');
    const res = await party.request('OPTIONS', `sip:127.0.0.1:${c.address.port}`, { dest: c.address });
    expect(res.status).toBe(200);
  });
});

describe('reference carrier: calls through it', () => {
  it('challenges the INVITE with 407, routes it to the callee contact keeping From, To and Call-ID, relays 180/200 and the BYE of the caller', async () => {
    const c = await carrier();
    const callee = await phone(c, '1002');
    const caller = await phone(c, '1003');
    const call = await dial(caller, '1002');

    const ringing = await incoming(callee);
    expect(ringing.msg.requestUri).toBe(`sip:sipwright@127.0.0.1:${callee.party.local.port}`);
    expect(ringing.msg.get('from')).toBe(call.uac!.invite.get('from'));
    expect(ringing.msg.get('to')).toBe(call.uac!.invite.get('to'));
    expect(ringing.msg.callId).toBe(call.callId);
    expect(ringing.msg.has('proxy-authorization')).toBe(false);
    expect(ringing.msg.body.toString()).toBe(SDP);
    await Promise.all([answer(ringing.call), call.expect(200, { timeoutMs: 3000 })]);
    expect(call.challenges.map((r) => r.status)).toEqual([407]);
    expect(call.challenges[0].get('proxy-authenticate')).toMatch(/^Digest realm="voip0000\.cloudpbx\.com", nonce="[0-9a-f]+", algorithm=MD5$/);
    expect(statuses(call)).toContain(180);
    expect(call.uac!.final!.body.toString()).toBe(SDP);
    expect(c.channelsInUse('1003')).toBe(1);

    expect(((await call.hangup(3000)) as SipMessage).status).toBe(200);
    await ringing.call.expectRequest('BYE', { timeoutMs: 3000 });
    expect(c.channelsInUse('1003')).toBe(0);
    expect(c.activeCalls).toBe(0);
  });

  it("relays the callee's BYE to the caller (seed 003 ends with the callee's BYE)", async () => {
    const c = await carrier();
    const callee = await phone(c, '1002');
    const caller = await phone(c, '1003');
    const call = await dial(caller, '1002');
    const ringing = await incoming(callee);
    await Promise.all([answer(ringing.call), call.expect(200, { timeoutMs: 3000 })]);
    ringing.call.send('BYE');
    await ringing.call.expect(200, { timeoutMs: 3000 });
    await call.expectRequest('BYE', { timeoutMs: 3000 });
    expect(c.activeCalls).toBe(0);
  });

  it('answers 404 Not Found for a number nobody registered (after the 407)', async () => {
    const c = await carrier();
    const caller = await phone(c, '1003');
    const call = await dial(caller, '1999');
    await call.expect(404, { timeoutMs: 3000 });
    expect(call.challenges.map((r) => r.status)).toEqual([407]);
  });

  it('answers 403 when the authenticated user is not the From user', async () => {
    const c = await carrier();
    const caller = await phone(c, '1003');
    const { uri, opts } = caller.phone.dial('1002');
    const call = caller.party.invite(uri, { ...opts, from: `<sip:1001@${REALM}>` });
    call.autoAuth = caller.phone.credentials;
    await call.expect(403, { timeoutMs: 3000 });
  });

  it("relays the callee's 486 Busy Here and does not forward another user's call", async () => {
    const c = await carrier({ forward: FORWARD });
    const callee = await phone(c, '1002', { mode: 'busy' });
    const other = await phone(c, '1001');
    const caller = await phone(c, '1003');
    const call = await dial(caller, '1002');
    const res = await call.expect(486, { timeoutMs: 3000 });
    expect(res!.reason).toBe('Busy Here');
    expect(callee.phone.invites).toHaveLength(1);
    expect(await other.party.nextIncoming('INVITE', 200)).toBeUndefined();
    expect(c.channelsInUse('1003')).toBe(0);
  });

  for (const code of [480, 408]) {
    it(`gives up on a callee that rings for noAnswerSeconds: CANCEL to the callee, ${code} to the caller`, async () => {
      const c = await carrier({ noAnswerCode: code });
      const callee = await phone(c, '1002');
      const caller = await phone(c, '1003');
      const call = await dial(caller, '1002');
      const ringing = await incoming(callee);
      ringing.call.respond(180);
      const rang = Date.now();
      const res = await call.expect(code, { timeoutMs: 3000 });
      const waited = Date.now() - rang;
      expect(waited).toBeGreaterThanOrEqual(NO_ANSWER_S * 1000 - 150);
      expect(waited).toBeLessThan(NO_ANSWER_S * 1000 + 700);
      expect(res!.reason).toBe(code === 480 ? 'Temporarily Unavailable' : 'Request Timeout');
      await ringing.call.expectRequest('CANCEL', { timeoutMs: 2000 });
      expect(c.channelsInUse('1003')).toBe(0);
    });
  }

  it("relays the caller's CANCEL to the ringing callee and frees the channel", async () => {
    const c = await carrier();
    const callee = await phone(c, '1002');
    const caller = await phone(c, '1003');
    const call = await dial(caller, '1002');
    const ringing = await incoming(callee);
    ringing.call.respond(180);
    await call.expect(180, { timeoutMs: 3000 });
    call.cancel();
    await call.expect(487, { timeoutMs: 3000 });
    await ringing.call.expectRequest('CANCEL', { timeoutMs: 2000 });
    expect(c.channelsInUse('1003')).toBe(0);
  });

  it('answers an INVITE to the redirect number with 302 Moved Temporarily and Contact <sip:TARGET@realm> (RFC 3261 §21.3.3)', async () => {
    const c = await carrier({ redirect: { number: '1300', target: '1002' } });
    const caller = await phone(c, '1003');
    const res = await (await dial(caller, '1300')).expect(302, { timeoutMs: 3000 });
    expect(res!.reason).toBe('Moved Temporarily');
    expect(res!.get('contact')).toBe(`<sip:1002@${REALM}>`);
  });

  it('works over TCP: registration, call, BYE', async () => {
    const c = await carrier({ transport: 'tcp' });
    const start = async (user: string): Promise<Line> => {
      const p = new Phone({ pbx: c.address, extension: user, password: ACCOUNTS[user] });
      const party = await Party.start({ name: user, transport: 'tcp', persona: p, timers: FAST_TIMERS });
      extraParties.push(party);
      return { party, phone: p };
    };
    const callee = await start('1002');
    const caller = await start('1003');
    expect(c.lookup('1002')).toBe(`sip:sipwright@127.0.0.1:${callee.party.local.port};transport=tcp`);
    const call = await dial(caller, '1002');
    const ringing = await incoming(callee);
    await Promise.all([answer(ringing.call), call.expect(200, { timeoutMs: 3000 })]);
    await call.hangup(3000);
    await ringing.call.expectRequest('BYE', { timeoutMs: 3000 });
  });
});

describe('reference carrier: call forwarding with Diversion (RFC 5806, seed 003)', () => {
  it('on busy: INVITEs the target with Diversion <sip:FROM@realm>;reason=user-busy, same From and Call-ID; the caller gets its 200', async () => {
    const c = await carrier({ forward: FORWARD });
    const forwarded = await phone(c, '1001', { mode: 'busy' });
    const target = await phone(c, '1002');
    const caller = await phone(c, '1003');
    const call = await dial(caller, '1001');

    const second = await incoming(target);
    expect(forwarded.phone.invites).toHaveLength(1);
    expect(forwarded.phone.invites[0].has('diversion')).toBe(false);
    expect(second.msg.get('diversion')).toBe(`<sip:1001@${REALM}>;reason=user-busy`);
    expect(second.msg.requestUri).toBe(`sip:sipwright@127.0.0.1:${target.party.local.port}`);
    expect(second.msg.get('from')).toBe(call.uac!.invite.get('from'));
    expect(second.msg.callId).toBe(forwarded.phone.invites[0].callId);
    await Promise.all([answer(second.call), call.expect(200, { timeoutMs: 3000 })]);
    expect(statuses(call)).not.toContain(486);

    await call.hangup(3000);
    await second.call.expectRequest('BYE', { timeoutMs: 3000 });
  });

  it('on no answer: CANCELs the ringing user after afterSeconds, INVITEs the target with reason=no-answer; the target hangs up', async () => {
    const c = await carrier({ forward: FORWARD });
    const forwarded = await phone(c, '1001');
    const target = await phone(c, '1002');
    const caller = await phone(c, '1003');
    const call = await dial(caller, '1001');

    const first = await incoming(forwarded);
    first.call.respond(180);
    const rang = Date.now();
    const second = await incoming(target, 'call', 3000);
    const waited = Date.now() - rang;
    expect(waited).toBeGreaterThanOrEqual(FORWARD.noAnswer.afterSeconds * 1000 - 150);
    expect(waited).toBeLessThan(FORWARD.noAnswer.afterSeconds * 1000 + 700);
    expect(second.msg.get('diversion')).toBe(`<sip:1001@${REALM}>;reason=no-answer`);
    await first.call.expectRequest('CANCEL', { timeoutMs: 2000 });

    await Promise.all([answer(second.call), call.expect(200, { timeoutMs: 3000 })]);
    second.call.send('BYE');
    await second.call.expect(200, { timeoutMs: 3000 });
    await call.expectRequest('BYE', { timeoutMs: 3000 });
    expect(c.activeCalls).toBe(0);
  });

  it('a callee that gives up with 408 (seed 003) is forwarded with reason=no-answer too', async () => {
    const c = await carrier({ forward: FORWARD });
    const forwarded = await phone(c, '1001');
    const target = await phone(c, '1002', { mode: 'answer', ringMs: 20 });
    const caller = await phone(c, '1003');
    const call = await dial(caller, '1001');
    const first = await incoming(forwarded);
    first.call.respond(180);
    first.call.respond(408);
    await call.expect(200, { timeoutMs: 3000 });
    expect(target.phone.invites[0].get('diversion')).toBe(`<sip:1001@${REALM}>;reason=no-answer`);
  });

  it('when the target is not registered the caller gets the original outcome (486)', async () => {
    const c = await carrier({ forward: FORWARD });
    await phone(c, '1001', { mode: 'busy' });
    const caller = await phone(c, '1003');
    await (await dial(caller, '1001')).expect(486, { timeoutMs: 3000 });
  });
});

describe('reference carrier: per-account channel limit', () => {
  it('holds `limit` calls of the account, refuses the next with refuseCode (the callee never sees it), frees a channel on BYE and on failure', async () => {
    const c = await carrier({ channelLimit: { account: '1003', limit: 2, refuseCode: 486 } });
    const callee = await phone(c, '1002', { mode: 'answer', ringMs: 10 });
    const busy = await phone(c, '1001', { mode: 'busy' });
    const caller = await phone(c, '1003');
    const other = await phone(c, '0000123456');

    const held = [await dial(caller, '1002', 'c1'), await dial(caller, '1002', 'c2')];
    for (const call of held) await call.expect(200, { timeoutMs: 3000 });
    expect(c.channelsInUse('1003')).toBe(2);

    const refused = await (await dial(caller, '1002', 'c3')).expect(486, { timeoutMs: 3000 });
    expect(refused!.reason).toBe('Busy Here');
    expect(callee.phone.invites).toHaveLength(2);
    expect(c.refusedForLimit).toHaveLength(1);

    // Per account: another account still gets through.
    await (await dial(other, '1002')).expect(200, { timeoutMs: 3000 });

    await held[0].hangup(3000);
    expect(c.channelsInUse('1003')).toBe(1);
    // A call that fails (the callee is busy) holds no channel once it ended.
    await (await dial(caller, '1001', 'c4')).expect(486, { timeoutMs: 3000 });
    expect(busy.phone.invites).toHaveLength(1);
    expect(c.channelsInUse('1003')).toBe(1);
    await (await dial(caller, '1002', 'c5')).expect(200, { timeoutMs: 3000 });
    expect(c.channelsInUse('1003')).toBe(2);
  });

  it('counts a same-tick burst atomically: of three INVITEs sent at once, exactly the limit reach the callee', async () => {
    const c = await carrier({ channelLimit: { account: '1003', limit: 2, refuseCode: 503 } });
    const callee = await phone(c, '1002', { mode: 'no-answer' });
    const caller = await phone(c, '1003');
    // One challenge gives the nonce; without qop it is good for every INVITE to the same URI.
    const probe = await dial(caller, '1002', 'probe', false);
    const challenge = (await probe.expect(407, { timeoutMs: 3000 }))!;
    const auth = authorizationFor(challenge, probe.uac!.invite, caller.phone.credentials)!;
    const { uri, opts } = caller.phone.dial('1002');
    const burst = [0, 1, 2].map((i) => caller.party.invite(uri, { ...opts, body: SDP, headers: [auth] }, `b${i}`));
    const finals = await Promise.all(burst.map((call) => call.expect([180, '5xx'], { timeoutMs: 3000 })));
    expect(finals.map((m) => m!.status).sort()).toEqual([180, 180, 503]);
    expect(callee.phone.invites).toHaveLength(2);
    expect(c.channelsInUse('1003')).toBe(2);
  });
});

describe('reference carrier: options from the target profile', () => {
  it('sut/reference/carrier-profile.yaml loads as a carrier profile and maps to the reference options', async () => {
    const { profile } = loadProfile(PROFILE);
    if (profile.role !== 'carrier') throw new Error('expected role: carrier');
    const opts = referenceCarrierOptions(profile);
    expect(opts).toMatchObject({
      listen: '127.0.0.1:15060',
      transport: 'udp',
      realm: REALM,
      accounts: ACCOUNTS,
      noAnswerCode: 480,
      noAnswerSeconds: 5,
      forward: { busy: { from: '1001', to: '1002' }, noAnswer: { from: '1001', to: '1002', afterSeconds: 3 } },
      redirect: { number: '1300', target: '1002' },
      channelLimit: { account: '1003', limit: 2, refuseCode: 486 },
    });
    const c = await carrier({ ...opts, listen: '127.0.0.1:0' });
    const caller = await phone(c, '1003');
    await (await dial(caller, '1300')).expect(302, { timeoutMs: 3000 });
    await (await dial(caller, profile.numbers.unknown, 'unknown')).expect(404, { timeoutMs: 3000 });
  });

  it('refuses an unknown fault name with the list of known ones', async () => {
    expect(() => parseFaults(['no-407,nope'])).toThrow(/unknown reference-carrier fault "nope"; known: no-401/);
    expect([...parseFaults(['no-407, drop-bye'])]).toEqual(['no-407', 'drop-bye']);
    await expect(ReferenceCarrier.start({ accounts: ACCOUNTS, faults: ['bogus' as Fault] })).rejects.toThrow(/unknown fault "bogus"/);
  });
});

/** For each fault: what the broken carrier does, shown against the rule it breaks. */
const FAULT_CASES: { [F in Fault]: { shows: string; run: () => Promise<void> } } = {
  'no-401': {
    shows: 'a REGISTER without credentials gets 200 and a binding',
    async run() {
      const c = await carrier({ faults: ['no-401'] });
      const party = await parties.start('intruder');
      const aor = `<sip:1002@${REALM}>`;
      const res = await party.request('REGISTER', `sip:${REALM}`, { dest: c.address, to: aor, from: aor, headers: [['Expires', '60']] });
      expect(res.status).toBe(200);
      expect(c.lookup('1002')).toBe(`sip:sipwright@127.0.0.1:${party.local.port}`);
    },
  },
  'accept-wrong-password': {
    shows: 'a REGISTER with a wrong password gets 200, and so does an INVITE',
    async run() {
      const c = await carrier({ faults: ['accept-wrong-password'] });
      const party = await parties.start('1003');
      expect((await register(c, party, '1003', { password: 'wrong', expires: 60 })).status).toBe(200);
      await phone(c, '1002', { mode: 'busy' });
      const call = party.invite(`sip:1002@${REALM}`, { dest: c.address, from: `<sip:1003@${REALM}>`, body: SDP });
      call.autoAuth = { username: '1003', password: 'wrong' };
      await call.expect(486, { timeoutMs: 3000 });
    },
  },
  'no-407': {
    shows: 'an INVITE without credentials reaches the callee, no 407 first',
    async run() {
      const c = await carrier({ faults: ['no-407'] });
      const callee = await phone(c, '1002');
      const caller = await phone(c, '1003');
      const call = await dial(caller, '1002', 'call', false);
      await incoming(callee);
      expect(statuses(call)).not.toContain(407);
    },
  },
  'no-diversion': {
    shows: 'the call forwarded on busy reaches the target without a Diversion header',
    async run() {
      const c = await carrier({ forward: FORWARD, faults: ['no-diversion'] });
      await phone(c, '1001', { mode: 'busy' });
      const target = await phone(c, '1002');
      const caller = await phone(c, '1003');
      await dial(caller, '1001');
      const second = await incoming(target);
      expect(second.msg.has('diversion')).toBe(false);
    },
  },
  'ignore-channel-limit': {
    shows: 'call limit+1 of the account reaches the callee',
    async run() {
      const c = await carrier({ channelLimit: { account: '1003', limit: 1, refuseCode: 486 }, faults: ['ignore-channel-limit'] });
      const callee = await phone(c, '1002', { mode: 'answer', ringMs: 10 });
      const caller = await phone(c, '1003');
      await (await dial(caller, '1002', 'c1')).expect(200, { timeoutMs: 3000 });
      await (await dial(caller, '1002', 'c2')).expect(200, { timeoutMs: 3000 });
      expect(callee.phone.invites).toHaveLength(2);
      expect(c.channelsInUse('1003')).toBe(2);
    },
  },
  'ignore-expires-0': {
    shows: 'Expires: 0 gets 200 but the binding is still listed and still called',
    async run() {
      const c = await carrier({ faults: ['ignore-expires-0'] });
      const callee = await phone(c, '1002', { mode: 'busy' });
      expect((await callee.phone.registration!.unregister()).status).toBe(200);
      const listed = await register(c, callee.party, '1002', { contact: '' });
      expect(listed.final!.getAll('contact')).toHaveLength(1);
      const caller = await phone(c, '1003');
      await (await dial(caller, '1002')).expect(486, { timeoutMs: 3000 });
    },
  },
  'wrong-busy-code': {
    shows: "the callee's 486 reaches the caller as 480",
    async run() {
      const c = await carrier({ faults: ['wrong-busy-code'] });
      await phone(c, '1002', { mode: 'busy' });
      const caller = await phone(c, '1003');
      await (await dial(caller, '1002')).expect(480, { timeoutMs: 3000 });
    },
  },
  'wrong-no-answer-code': {
    shows: 'a call nobody answers ends with 503',
    async run() {
      const c = await carrier({ noAnswerSeconds: 0.5, faults: ['wrong-no-answer-code'] });
      await phone(c, '1002', { mode: 'no-answer' });
      const caller = await phone(c, '1003');
      await (await dial(caller, '1002')).expect(503, { timeoutMs: 3000 });
    },
  },
  'no-302': {
    shows: 'the redirect number is routed (404 when nobody has it) instead of answered 302',
    async run() {
      const c = await carrier({ redirect: { number: '1300', target: '1002' }, faults: ['no-302'] });
      const caller = await phone(c, '1003');
      await (await dial(caller, '1300')).expect(404, { timeoutMs: 3000 });
    },
  },
  'no-404': {
    shows: 'an unknown number gets 480 instead of 404',
    async run() {
      const c = await carrier({ faults: ['no-404'] });
      const caller = await phone(c, '1003');
      await (await dial(caller, '1999')).expect(480, { timeoutMs: 3000 });
    },
  },
  'drop-bye': {
    shows: "the caller's BYE gets 200 but never reaches the callee",
    async run() {
      const c = await carrier({ faults: ['drop-bye'] });
      const callee = await phone(c, '1002');
      const caller = await phone(c, '1003');
      const call = await dial(caller, '1002');
      const ringing = await incoming(callee);
      await Promise.all([answer(ringing.call), call.expect(200, { timeoutMs: 3000 })]);
      expect(((await call.hangup(3000)) as SipMessage).status).toBe(200);
      expect(await ringing.call.expectRequest('BYE', { timeoutMs: 400, optional: true })).toBeUndefined();
      expect(c.channelsInUse('1003')).toBe(0);
    },
  },
};

describe('reference carrier: faults (each breaks one rule the carrier/ suite checks)', () => {
  for (const fault of FAULTS) {
    it(`${fault}: ${FAULT_CASES[fault].shows}`, () => FAULT_CASES[fault].run());
  }
});


