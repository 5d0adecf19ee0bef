/**
 * The reference PBX (src/roles/reference-pbx.ts) on loopback, driven by sipwright's own
 * personas: a Carrier persona as the trunk provider ("guest server" of seed 000) and Phone
 * personas as extensions 200 and 201. The seed's flows — trunk REGISTER with 401 and refresh,
 * outbound INVITE with 407 and the extension's caller-ID in From, inbound DID routing, busy,
 * no answer, per-group channel limits — and, for every fault, the broken behaviour.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Carrier, type CarrierOptions } from '../../src/roles/carrier.js';
import type { AnswerPolicy } from '../../src/roles/answer-policy.js';
import { sdpAnswer } from '../../src/roles/answer-policy.js';
import { Phone } from '../../src/roles/phone.js';
import { ReferencePbx, type Fault, type ReferencePbxOptions } from '../../src/roles/reference-pbx.js';
import { referencePbxOptions } from '../../src/roles/reference-pbx-profile.js';
import { Party } from '../../src/scenario/party.js';
import type { Call } from '../../src/scenario/call.js';
import { loadProfile } from '../../src/scenario/profile.js';
import type { SipMessage } from '../../src/sip/message.js';
import { FAST_TIMERS, Parties, sentText, waitFor, wire } from './persona-harness.js';

const REALM = 'voip0000.cloudpbx.com';
const TRUNK = { username: '0000123456', password: 'password', domain: REALM };
const EXTENSIONS = {
  200: { password: '200pass', callerId: '0312345678' },
  201: { password: '201pass', callerId: '0312123434' },
};
const DIDS = { '0312345678': '200', '0312123434': '201' };
const LIMITS = [
  { name: 'group1', did: '0312345678', limit: 2, refuseCode: 486 },
  { name: 'group2', did: '0312123434', limit: 3, refuseCode: 486 },
];
const OUTBOUND = '0312349876';
const STEPS: AnswerPolicy = { mode: 'steps' };
const ANSWER: AnswerPolicy = { mode: 'answer', ringMs: 20 };
const NO_ANSWER: AnswerPolicy = { mode: 'no-answer' };

const parties = new Parties();
const pbxs: ReferencePbx[] = [];
const extraParties: Party[] = [];
afterEach(async () => {
  await Promise.allSettled(pbxs.splice(0).map((p) => p.stop()));
  await Promise.allSettled(extraParties.splice(0).map((p) => p.close(200)));
  await parties.closeAll();
});

interface World {
  carrier: Carrier;
  carrierParty: Party;
  pbx: ReferencePbx;
  phones: Record<string, { phone: Phone; party: Party }>;
}

/** A carrier, the reference PBX registered to it, and phones registered at the PBX. */
async function world(
  o: { carrier?: Partial<CarrierOptions>; pbx?: Partial<ReferencePbxOptions>; faults?: Fault[]; phones?: Record<string, AnswerPolicy> } = {},
): Promise<World> {
  const carrier = new Carrier({ realm: REALM, accounts: { [TRUNK.username]: TRUNK.password }, grantExpires: 120, answer: 'answer', ringMs: 20, ...o.carrier });
  const carrierParty = await parties.start('carrier', carrier);
  const pbx = await ReferencePbx.start({
    carrier: carrierParty.local,
    trunk: TRUNK,
    extensions: EXTENSIONS,
    dids: DIDS,
    channelLimits: LIMITS,
    noAnswerSeconds: 1,
    timers: FAST_TIMERS,
    faults: o.faults,
    ...o.pbx,
  });
  pbxs.push(pbx);
  // With no-auth-retry the trunk never registers: wait for its first, unanswered REGISTER instead.
  if (o.faults?.includes('no-auth-retry')) await carrierParty.nextObserved('REGISTER', 3000);
  else expect(await pbx.waitForTrunk(3000)).toBe(true);
  const phones: World['phones'] = {};
  for (const [ext, answer] of Object.entries(o.phones ?? { 200: STEPS, 201: STEPS })) {
    const phone = new Phone({ pbx: pbx.address, extension: ext, password: EXTENSIONS[ext as unknown as 200].password, answer });
    phones[ext] = { phone, party: await parties.start(`phone-${ext}`, phone) };
  }
  return { carrier, carrierParty, pbx, phones };
}

/** Extension `ext` dials `number` and answers the PBX's 407 with its own credentials. */
function dial(w: World, ext: string, number: string): Call {
  const { phone, party } = w.phones[ext];
  const { uri, opts } = phone.dial(number);
  const call = party.invite(uri, opts);
  call.autoAuth = phone.credentials;
  return call;
}

/** The carrier calls `did` at the PBX (DID in Request-URI, To and Alert-Info, seed 000 §3.4.1). */
function ring(w: World, did: string, name = 'call'): Call {
  const { uri, opts } = w.carrier.inboundCall(did, w.pbx.address);
  return w.carrierParty.invite(uri, opts, name);
}

const received = (party: Party, method: string): SipMessage[] => wire(party, 'in').filter((m) => m.isRequest && m.method === method);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('trunk registration at the carrier (seed 000 §3.1)', () => {
  it('answers the 401, asks Expires 3600 and refreshes 15 s before the granted expiry (grant 16 s: after ~1 s)', async () => {
    const w = await world({ carrier: { grantExpires: 16 }, phones: {} });
    const events = w.carrier.registrations(TRUNK.username);
    expect(events[0]).toMatchObject({ kind: 'register', requested: 3600, granted: 16, aor: `sip:${TRUNK.username}@${REALM}` });
    const finals = sentText(w.carrierParty, /^SIP\/2\.0 [2-6]/).map((t) => t.slice(8, 11));
    expect(finals.slice(0, 2)).toEqual(['401', '200']);
    const refresh = await waitFor('the refresh', () => w.carrier.registrations(TRUNK.username)[1], 3000);
    expect(refresh).toMatchObject({ kind: 'refresh', lapsed: false, callId: events[0].callId });
    expect(refresh.at - events[0].at).toBeGreaterThanOrEqual(900);
    expect(refresh.at - events[0].at).toBeLessThan(1800);
  });

  it('a refused REGISTER is tried again every retryS (Asterisk registertimeout)', async () => {
    const accounts: Record<string, string> = {};
    const carrier = new Carrier({ realm: REALM, accounts, grantExpires: 120 });
    const carrierParty = await parties.start('carrier', carrier);
    const pbx = await ReferencePbx.start({ carrier: carrierParty.local, trunk: { ...TRUNK, retryS: 0.5 }, extensions: EXTENSIONS, dids: DIDS, timers: FAST_TIMERS });
    pbxs.push(pbx);
    await waitFor('a refused REGISTER', () => pbx.trunk.attempts[0], 2000);
    expect(pbx.trunk.attempts[0]).toMatchObject({ status: 401 });
    accounts[TRUNK.username] = TRUNK.password; // the carrier provisions the account
    expect(await pbx.waitForTrunk(2000)).toBe(true);
    expect(carrier.registrations(TRUNK.username)).toHaveLength(1);
  });

  it('answers the carrier\'s OPTIONS with 200', async () => {
    const w = await world({ phones: {} });
    const outcome = await w.carrierParty.request('OPTIONS', `sip:${TRUNK.username}@127.0.0.1:${w.pbx.address.port}`, { dest: w.pbx.address });
    expect(outcome.status).toBe(200);
  });

  it('stop() unregisters the trunk with Expires: 0 (RFC 3261 §10.2.2)', async () => {
    const w = await world({ phones: {} });
    await w.pbx.stop();
    expect(w.carrier.registrations(TRUNK.username).at(-1)).toMatchObject({ kind: 'unregister', granted: 0 });
    expect(w.carrier.registrar.registered()).toEqual([]);
  });

  it('stop() hangs up the calls still up on both legs, then unregisters', async () => {
    const w = await world({ phones: { 200: ANSWER } });
    const call = ring(w, '0312345678');
    await call.expect(200, { timeoutMs: 3000 });
    await w.pbx.stop();
    await call.expectRequest('BYE', { timeoutMs: 2000 });
    await waitFor('the BYE at the phone', () => received(w.phones['200'].party, 'BYE').length === 1, 2000);
    expect(w.carrier.registrations(TRUNK.username).at(-1)).toMatchObject({ kind: 'unregister' });
  });

  it('fault no-refresh: never refreshes, the binding lapses at the carrier (grant 2 s)', async () => {
    const w = await world({ carrier: { grantExpires: 2 }, faults: ['no-refresh'], phones: {} });
    await sleep(2300);
    expect(w.carrier.registrations(TRUNK.username)).toHaveLength(1);
    expect(w.carrier.registrar.registered()).toEqual([]);
  });

  it('fault no-unregister: stop() leaves the binding at the carrier', async () => {
    const w = await world({ faults: ['no-unregister'], phones: {} });
    await w.pbx.stop();
    expect(w.carrier.registrations(TRUNK.username).map((e) => e.kind)).toEqual(['register']);
    expect(w.carrier.registrar.registered()).toEqual([`sip:${TRUNK.username}@${REALM}`]);
  });
});

describe('extensions register at the PBX', () => {
  it('challenges REGISTER with 401 (realm reference-pbx) and binds the contact', async () => {
    const w = await world({ phones: { 200: STEPS } });
    const answers = wire(w.phones['200'].party, 'in').filter((m) => m.isResponse && m.cseq.method === 'REGISTER');
    expect(answers.map((m) => m.status).filter((s) => s !== 100)).toEqual([401, 200]);
    expect(answers.find((m) => m.status === 401)!.get('www-authenticate')).toMatch(/realm="reference-pbx"/);
    expect(w.pbx.registrar.registered()).toEqual(['sip:200@127.0.0.1']);
  });

  it('refuses a wrong password with 403', async () => {
    const w = await world({ phones: {} });
    const phone = new Phone({ pbx: w.pbx.address, extension: '200', password: 'wrong' });
    await expect(parties.start('phone-bad', phone)).rejects.toThrow(/403/);
    expect(w.pbx.registrar.registered()).toEqual([]);
  });
});

describe('outbound calls through the trunk (seed 000 §3.2, §3.3)', () => {
  it.each([
    ['200', '0312345678'],
    ['201', '0312123434'],
  ])('extension %s: 407 to the phone, INVITE to the carrier From its caller-ID %s, 407 answered, 180/200 relayed, BYE relayed', async (ext, callerId) => {
    const w = await world();
    const call = dial(w, ext, OUTBOUND);
    await call.expect(180, { timeoutMs: 3000 });
    const ok = await call.expect(200, { timeoutMs: 3000 });
    expect(call.challenges.map((c) => c.status)).toEqual([407]);
    expect(call.challenges[0].get('proxy-authenticate')).toMatch(/realm="reference-pbx"/);
    const inv = w.carrier.invites[0];
    expect(inv.from.uri.user).toBe(callerId);
    expect(inv.from.uri.host).toBe(REALM);
    expect(inv.uri.user).toBe(OUTBOUND);
    expect(inv.to.uri.user).toBe(OUTBOUND);
    expect(inv.get('proxy-authorization')).toMatch(/username="0000123456"/);
    expect(inv.body.toString()).toBe(call.uac!.invite.body.toString()); // SDP passed through
    const carrierOk = sentText(w.carrierParty, /^SIP\/2\.0 200/).find((t) => /CSeq: \d+ INVITE/.test(t))!;
    expect(carrierOk.endsWith(ok!.body.toString())).toBe(true);
    const carrierInvites = received(w.carrierParty, 'INVITE');
    expect(carrierInvites.map((m) => m.has('proxy-authorization'))).toEqual([false, true]);
    await waitFor('the ACK at the carrier', () => received(w.carrierParty, 'ACK').some((a) => a.cseq.seq === inv.cseq.seq), 2000);
    expect((await call.hangup(2000)) as SipMessage).toMatchObject({ status: 200 });
    await waitFor('the BYE at the carrier', () => received(w.carrierParty, 'BYE').length === 1, 2000);
  });

  it('a BYE from the carrier is relayed to the phone', async () => {
    const w = await world({ carrier: { answer: 'steps' } });
    const call = dial(w, '200', OUTBOUND);
    const answered = call.expect(200, { timeoutMs: 3000 }); // answers the PBX's 407 meanwhile
    const far = (await w.carrierParty.nextIncoming('INVITE', 3000))!.call!;
    far.respond(200, { body: sdpAnswer(far.uas!.invite, '127.0.0.1'), contentType: 'application/sdp' });
    await answered;
    await far.expectRequest('ACK', { timeoutMs: 2000 });
    far.send('BYE');
    await call.expectRequest('BYE', { timeoutMs: 2000 });
  });

  it('486 from the carrier reaches the phone as 486', async () => {
    const w = await world({ carrier: { answer: 'busy' } });
    await dial(w, '200', OUTBOUND).expect(486, { timeoutMs: 3000 });
  });

  it('CANCEL from the phone is carried to the carrier, which answers 487', async () => {
    const w = await world({ carrier: { answer: 'no-answer' } });
    const call = dial(w, '200', OUTBOUND);
    await call.expect(180, { timeoutMs: 3000 });
    call.cancel();
    await call.expect(487, { timeoutMs: 2000 });
    await waitFor('the CANCEL at the carrier', () => received(w.carrierParty, 'CANCEL').length === 1, 2000);
    await waitFor('the carrier\'s 487', () => sentText(w.carrierParty, /^SIP\/2\.0 487/).length > 0, 2000);
    await waitFor('the call to end', () => w.pbx.activeCalls === 0, 2000);
  });

  it('a three-digit number rings that extension (_XXX)', async () => {
    const w = await world({ phones: { 200: STEPS, 201: ANSWER } });
    await dial(w, '200', '201').expect(200, { timeoutMs: 3000 });
    expect(w.phones['201'].phone.invites[0].from.uri.user).toBe('200');
    expect(w.carrier.invites).toHaveLength(0);
  });

  it('fault wrong-caller-id: the From user is the extension number', async () => {
    const w = await world({ faults: ['wrong-caller-id'] });
    await dial(w, '200', OUTBOUND).expect(200, { timeoutMs: 3000 });
    expect(w.carrier.invites[0].from.uri.user).toBe('200');
  });

  it('fault no-auth-retry: neither the 401 to the trunk REGISTER nor the 407 to the INVITE is answered; the phone gets 503', async () => {
    const w = await world({ faults: ['no-auth-retry'] });
    await dial(w, '200', OUTBOUND).expect(503, { timeoutMs: 3000 });
    expect(received(w.carrierParty, 'INVITE')).toHaveLength(1);
    expect(w.carrier.invites).toHaveLength(0);
    expect(received(w.carrierParty, 'REGISTER').map((m) => m.has('authorization'))).toEqual([false]);
    expect(w.carrier.registrations(TRUNK.username)).toEqual([]);
    expect(w.pbx.trunkRegistered).toBe(false);
  });

  it('fault drop-bye: BYE answered 200 but not relayed, either way', async () => {
    const w = await world({ carrier: { answer: 'steps' }, faults: ['drop-bye'] });
    // the carrier hangs up: the phone never hears of it
    const first = dial(w, '200', OUTBOUND);
    const firstAnswered = first.expect(200, { timeoutMs: 3000 });
    const far1 = (await w.carrierParty.nextIncoming('INVITE', 3000, 'far1'))!.call!;
    far1.respond(200, { body: sdpAnswer(far1.uas!.invite, '127.0.0.1'), contentType: 'application/sdp' });
    await firstAnswered;
    expect((await far1.hangup(2000)) as SipMessage).toMatchObject({ status: 200 });
    expect(await first.expectRequest('BYE', { timeoutMs: 600, optional: true })).toBeUndefined();
    // the phone hangs up: the carrier never hears of it
    const second = dial(w, '201', OUTBOUND);
    const secondAnswered = second.expect(200, { timeoutMs: 3000 });
    const far2 = (await w.carrierParty.nextIncoming('INVITE', 3000, 'far2'))!.call!;
    far2.respond(200, { body: sdpAnswer(far2.uas!.invite, '127.0.0.1'), contentType: 'application/sdp' });
    await secondAnswered;
    expect((await second.hangup(2000)) as SipMessage).toMatchObject({ status: 200 });
    expect(await far2.expectRequest('BYE', { timeoutMs: 600, optional: true })).toBeUndefined();
  });
});

describe('inbound calls to a DID (seed 000 §3.4, §3.5)', () => {
  it('the DID in the Request-URI rings its extension; 180/200 relayed; the carrier\'s BYE reaches the phone', async () => {
    const w = await world({ phones: { 200: ANSWER, 201: ANSWER } });
    const call = ring(w, '0312345678');
    await call.expect(180, { timeoutMs: 3000 });
    const ok = await call.expect(200, { timeoutMs: 3000 });
    expect(ok!.body.length).toBeGreaterThan(0);
    const [inv] = w.phones['200'].phone.invites;
    expect(w.phones['201'].phone.invites).toHaveLength(0);
    expect(inv.from.uri.user).toBe('0312340000'); // the caller's number, as Asterisk presents it
    expect(inv.body.toString()).toBe(call.uac!.invite.body.toString());
    expect(w.pbx.channelsInUse('group1')).toBe(1);
    expect((await call.hangup(2000)) as SipMessage).toMatchObject({ status: 200 });
    await waitFor('the BYE at the phone', () => received(w.phones['200'].party, 'BYE').length === 1, 2000);
    expect(w.pbx.channelsInUse('group1')).toBe(0);
  });

  it('the DID in To when the Request-URI names the trunk account', async () => {
    const w = await world({ phones: { 200: ANSWER, 201: ANSWER } });
    const { opts } = w.carrier.inboundCall('0312123434', w.pbx.address);
    const call = w.carrierParty.invite(`sip:${TRUNK.username}@127.0.0.1:${w.pbx.address.port}`, opts);
    await call.expect(200, { timeoutMs: 3000 });
    expect(w.phones['201'].phone.invites).toHaveLength(1);
    expect(w.phones['200'].phone.invites).toHaveLength(0);
  });

  it('a BYE from the phone reaches the carrier', async () => {
    const w = await world();
    const call = ring(w, '0312345678');
    const near = (await w.phones['200'].party.nextIncoming('INVITE', 3000))!.call!;
    near.respond(200, { body: sdpAnswer(near.uas!.invite, '127.0.0.1'), contentType: 'application/sdp' });
    await call.expect(200, { timeoutMs: 3000 });
    await near.expectRequest('ACK', { timeoutMs: 2000 }); // the PBX ACKs the phone's 2xx
    expect((await near.hangup(2000)) as SipMessage).toMatchObject({ status: 200 });
    await call.expectRequest('BYE', { timeoutMs: 2000 });
  });

  it('an unknown DID gets 404; a DID whose extension is not registered gets 480 and frees its channel', async () => {
    const w = await world({ phones: { 200: ANSWER } });
    await ring(w, '0399999999', 'unknown').expect(404, { timeoutMs: 3000 });
    await ring(w, '0312123434', 'unregistered').expect(480, { timeoutMs: 3000 });
    expect(w.pbx.channelsInUse('group2')).toBe(0);
  });

  it('486 from the phone reaches the carrier as 486 (seed 000 §3.5)', async () => {
    const w = await world({ phones: { 200: { mode: 'busy' } } });
    await ring(w, '0312345678').expect(486, { timeoutMs: 3000 });
    await waitFor('the channel to be free', () => w.pbx.channelsInUse('group1') === 0, 1000);
  });

  it('no answer within noAnswerSeconds (1 s): CANCEL to the phone, 480 to the carrier', async () => {
    const w = await world({ phones: { 200: NO_ANSWER } });
    const t0 = Date.now();
    const call = ring(w, '0312345678');
    await call.expect(180, { timeoutMs: 3000 });
    await call.expect(480, { timeoutMs: 3000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    await waitFor('the CANCEL at the phone', () => received(w.phones['200'].party, 'CANCEL').length === 1, 2000);
    expect(w.pbx.channelsInUse('group1')).toBe(0);
  });

  it('the carrier\'s CANCEL is carried to the phone', async () => {
    const w = await world({ phones: { 200: NO_ANSWER }, pbx: { noAnswerSeconds: 10 } });
    const call = ring(w, '0312345678');
    await call.expect(180, { timeoutMs: 3000 });
    call.cancel();
    await call.expect(487, { timeoutMs: 2000 });
    await waitFor('the CANCEL at the phone', () => received(w.phones['200'].party, 'CANCEL').length === 1, 2000);
    expect(w.pbx.channelsInUse('group1')).toBe(0);
  });

  it('fault wrong-did-routing: the second DID rings the first extension', async () => {
    const w = await world({ phones: { 200: ANSWER, 201: ANSWER }, faults: ['wrong-did-routing'] });
    await ring(w, '0312123434').expect(200, { timeoutMs: 3000 });
    expect(w.phones['200'].phone.invites).toHaveLength(1);
    expect(w.phones['201'].phone.invites).toHaveLength(0);
  });
});

describe('channel limits per group (seed 000 §2.2, GROUP_COUNT)', () => {
  it('group1 (limit 2): the third call is refused with 486; a hang-up frees a channel', async () => {
    const w = await world({ phones: { 200: ANSWER } });
    const c1 = ring(w, '0312345678', 'c1');
    await c1.expect(200, { timeoutMs: 3000 });
    const c2 = ring(w, '0312345678', 'c2');
    await c2.expect(200, { timeoutMs: 3000 });
    await ring(w, '0312345678', 'c3').expect(486, { timeoutMs: 3000 });
    expect(w.pbx.channelsInUse('group1')).toBe(2);
    expect(w.phones['200'].phone.invites).toHaveLength(2);
    await c1.hangup(2000);
    await waitFor('a free channel', () => w.pbx.channelsInUse('group1') === 1, 2000);
    await ring(w, '0312345678', 'c4').expect(200, { timeoutMs: 3000 });
    // another group's count is its own
    expect(w.pbx.channelsInUse('group2')).toBe(0);
  });

  /** Six INVITEs to one DID sent in one synchronous loop: they arrive within a millisecond or so. */
  async function burst(w: World, did: string, n: number): Promise<number[]> {
    const calls = Array.from({ length: n }, (_, i) => ring(w, did, `burst-${i}`));
    const answers = await Promise.all(calls.map((c) => c.expect([180, 486], { timeoutMs: 3000 })));
    return answers.map((m) => m!.status);
  }

  it('group2 (limit 3): a burst of 6 INVITEs in the same millisecond lets exactly 3 ring, 3 get 486', async () => {
    const w = await world({ phones: { 201: NO_ANSWER }, pbx: { noAnswerSeconds: 10 } });
    const statuses = await burst(w, '0312123434', 6);
    expect(statuses.filter((s) => s === 180)).toHaveLength(3);
    expect(statuses.filter((s) => s === 486)).toHaveLength(3);
    expect(w.pbx.channelsInUse('group2')).toBe(3);
    await waitFor('3 INVITEs at the phone', () => w.phones['201'].phone.invites.length === 3, 1000);
  });

  it('fault ignore-channel-limit: every call of the burst rings', async () => {
    const w = await world({ phones: { 200: NO_ANSWER }, pbx: { noAnswerSeconds: 10 }, faults: ['ignore-channel-limit'] });
    const statuses = await burst(w, '0312345678', 4);
    expect(statuses).toEqual([180, 180, 180, 180]);
  });

  it('fault off-by-one-channel-limit: limit 2 lets 3 calls through, the 4th is refused', async () => {
    const w = await world({ phones: { 200: NO_ANSWER }, pbx: { noAnswerSeconds: 10 }, faults: ['off-by-one-channel-limit'] });
    const statuses = await burst(w, '0312345678', 4);
    expect(statuses.filter((s) => s === 180)).toHaveLength(3);
    expect(statuses.filter((s) => s === 486)).toHaveLength(1);
  });
});

describe('over TCP', () => {
  it('registers the trunk and a phone, places an outbound call and takes an inbound one', async () => {
    const carrier = new Carrier({ realm: REALM, accounts: { [TRUNK.username]: TRUNK.password }, grantExpires: 120, answer: 'answer', ringMs: 20 });
    const carrierParty = await Party.start({ name: 'carrier', transport: 'tcp', persona: carrier, timers: FAST_TIMERS });
    extraParties.push(carrierParty);
    const pbx = await ReferencePbx.start({ transport: 'tcp', carrier: carrierParty.local, trunk: TRUNK, extensions: EXTENSIONS, dids: DIDS, timers: FAST_TIMERS });
    pbxs.push(pbx);
    expect(await pbx.waitForTrunk(3000)).toBe(true);
    const phone = new Phone({ pbx: pbx.address, extension: '200', password: '200pass', answer: ANSWER });
    const phoneParty = await Party.start({ name: 'phone', transport: 'tcp', persona: phone, timers: FAST_TIMERS });
    extraParties.push(phoneParty);
    const { uri, opts } = phone.dial(OUTBOUND);
    const call = phoneParty.invite(uri, opts);
    call.autoAuth = phone.credentials;
    await call.expect(200, { timeoutMs: 3000 });
    expect(carrier.invites[0].from.uri.user).toBe('0312345678');
    await call.hangup(2000);
    // inbound: the carrier opens its own connection (another source port); its Via names its port
    const { uri: didUri, opts: didOpts } = carrier.inboundCall('0312345678', pbx.address);
    const inbound = carrierParty.invite(didUri, didOpts, 'inbound');
    await inbound.expect(200, { timeoutMs: 3000 });
    expect(phone.invites).toHaveLength(1);
    await inbound.hangup(2000);
  });
});

describe('options', () => {
  it('refuses an unknown fault, a DID to an unconfigured extension, a group on an unknown DID, each in one line', async () => {
    const base: ReferencePbxOptions = { carrier: { host: '127.0.0.1', port: 5070 }, trunk: TRUNK, extensions: EXTENSIONS, dids: DIDS };
    await expect(ReferencePbx.start({ ...base, faults: ['drop-ack' as Fault] })).rejects.toThrow(/unknown fault "drop-ack"; known: no-refresh, /);
    await expect(ReferencePbx.start({ ...base, dids: { '0312000000': '299' } })).rejects.toThrow(/DID 0312000000 routes to extension 299/);
    await expect(ReferencePbx.start({ ...base, channelLimits: [{ name: 'g', did: '0399', limit: 1, refuseCode: 486 }] })).rejects.toThrow(/group g names DID 0399/);
  });
});

describe('sut/reference/pbx-profile.yaml', () => {
  it('is a valid role: pbx profile with the seed-000 defaults, and maps onto the reference PBX options', () => {
    const { profile } = loadProfile(new URL('../../sut/reference/pbx-profile.yaml', import.meta.url).pathname, {});
    expect(profile.role).toBe('pbx');
    if (profile.role !== 'pbx') return;
    expect(profile).toMatchObject({ address: '127.0.0.1:15080', outbound_number: '0312349876', no_answer_seconds: 5 });
    const opts = referencePbxOptions(profile, ['drop-bye']);
    expect(opts).toMatchObject({
      listen: { host: '127.0.0.1', port: 15080 },
      transport: 'udp',
      carrier: { host: '127.0.0.1', port: 15070 },
      trunk: { username: '0000123456', password: 'password', domain: REALM },
      extensions: EXTENSIONS,
      dids: DIDS,
      channelLimits: LIMITS,
      noAnswerSeconds: 5,
      faults: ['drop-bye'],
    });
  });
});
