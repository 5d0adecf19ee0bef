/**
 * The phone persona on loopback UDP: an extension registering (with digest auth) at a registrar
 * — here the carrier persona acting as one — and answering the calls it gets by its policy:
 * answer, busy (486), no answer (180 until CANCEL), forward (302 with the target in Contact,
 * RFC 3261 §21.3.3), or left to steps; and dialling out through its PBX.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { inviteWithAuth } from '../../src/auth/authenticating-client.js';
import type { AnswerPolicy } from '../../src/roles/answer-policy.js';
import { Carrier } from '../../src/roles/carrier.js';
import { Phone } from '../../src/roles/phone.js';
import type { OutgoingOptions } from '../../src/dialog/user-agent.js';
import type { Party } from '../../src/scenario/party.js';
import { createOffer, mediaCodecs, parseSdp, serializeSdp } from '../../src/sip/sdp.js';
import { Parties } from './persona-harness.js';

const EXT = '201';
const PASSWORD = 'phone-secret';
const parties = new Parties();
afterEach(() => parties.closeAll());

async function office(answer: AnswerPolicy = { mode: 'steps' }): Promise<{ registrar: Carrier; registrarParty: Party; phone: Phone; phoneParty: Party; caller: Party }> {
  const registrar = new Carrier({ realm: 'office.example', accounts: { [EXT]: PASSWORD }, answer: 'answer', ringMs: 20 });
  const registrarParty = await parties.start('registrar', registrar);
  const phone = new Phone({ pbx: registrarParty.local, extension: EXT, password: PASSWORD, answer });
  const phoneParty = await parties.start('phone', phone);
  const caller = await parties.start('caller');
  return { registrar, registrarParty, phone, phoneParty, caller };
}

/** Call the phone at the contact its registration bound (RFC 3261 §10.3: what a proxy would look up). */
function callPhone(o: { registrar: Carrier; caller: Party }, extra: OutgoingOptions = {}) {
  const [binding] = o.registrar.registrar.contacts(`sip:${EXT}@127.0.0.1`);
  const m = /@([\d.]+):(\d+)/.exec(binding.contact)!;
  return o.caller.invite(`sip:${EXT}@${m[1]}:${m[2]}`, { ...extra, dest: { host: m[1], port: Number(m[2]) } });
}

describe('phone registers at a registrar (RFC 3261 §10.2)', () => {
  it('answers the 401 and binds its contact; asks 300 s and gets 300 s when the registrar grants what is asked', async () => {
    const o = await office();
    expect(o.phone.registration!.attempts[0]).toMatchObject({ status: 200, challenges: 1, expires: 300, granted: 300 });
    const [binding] = o.registrar.registrar.contacts(`sip:${EXT}@127.0.0.1`);
    expect(binding.contact).toBe(`sip:sipwright@127.0.0.1:${o.phoneParty.local.port}`);
  });

  it('a phone that cannot register fails to start, naming the status it got', async () => {
    const registrar = new Carrier({ realm: 'office.example', accounts: { [EXT]: PASSWORD } });
    const registrarParty = await parties.start('registrar', registrar);
    const phone = new Phone({ pbx: registrarParty.local, extension: EXT, password: 'wrong' });
    await expect(parties.start('phone', phone)).rejects.toThrow(/phone 201 could not register at 127\.0\.0\.1:\d+: 401 Unauthorized/);
  });

  it('unregister is not needed to stop: closing the party stops the refresh timer', async () => {
    const o = await office();
    await o.phoneParty.close(100);
    const before = o.registrar.registrations(EXT).length;
    await new Promise((r) => setTimeout(r, 100));
    expect(o.registrar.registrations(EXT)).toHaveLength(before);
  });
});

describe('phone answer modes', () => {
  it('answer: 180 then 200 with an SDP answer to the offer; the caller BYE gets 200', async () => {
    const o = await office({ mode: 'answer', ringMs: 20 });
    const offer = serializeSdp(createOffer({ address: '127.0.0.1', port: 40000, codecs: ['PCMA'] }));
    const call = callPhone(o, { body: offer, contentType: 'application/sdp' });
    await call.expect(180, { timeoutMs: 2000 });
    const ok = await call.expect(200, { timeoutMs: 2000 });
    const answer = parseSdp(ok!.body);
    expect(mediaCodecs(answer.media[0]).map((c) => c.encodingName.toUpperCase())).toContain('PCMA');
    expect(o.phone.invites).toHaveLength(1);
    const bye = await call.hangup(2000);
    expect((bye as { status: number }).status).toBe(200);
  });

  it('answer: an INVITE without an offer gets an offer in the 200 (RFC 3261 §13.3.1.4)', async () => {
    const o = await office({ mode: 'answer', ringMs: 20 });
    const call = callPhone(o);
    const ok = await call.expect(200, { timeoutMs: 2000 });
    expect(ok?.get('content-type')).toBe('application/sdp');
    expect(parseSdp(ok!.body).media[0].port).toBeGreaterThan(0);
    await call.hangup(2000);
  });

  it('busy: 486 Busy Here', async () => {
    const o = await office({ mode: 'busy' });
    await callPhone(o).expect(486, { timeoutMs: 2000 });
  });

  it('busy with another code: 600 Busy Everywhere', async () => {
    const o = await office({ mode: 'busy', code: 600 });
    await callPhone(o).expect(600, { timeoutMs: 2000 });
  });

  it('no-answer: rings (180) until the caller CANCELs, then 487 Request Terminated', async () => {
    const o = await office({ mode: 'no-answer' });
    const call = callPhone(o);
    await call.expect(180, { timeoutMs: 2000 });
    expect(await call.expect('2xx', { timeoutMs: 300, optional: true })).toBeUndefined();
    call.cancel();
    await call.expect(487, { timeoutMs: 2000 });
  });

  it('forward: 302 Moved Temporarily with the target in Contact (RFC 3261 §21.3.3)', async () => {
    const o = await office({ mode: 'forward', forwardTo: 'sip:1004@127.0.0.1' });
    const moved = await callPhone(o).expect(302, { timeoutMs: 2000 });
    expect(moved?.contacts.map((c) => `${c.uri.user}@${c.uri.host}`)).toEqual(['1004@127.0.0.1']);
  });

  it('steps: the INVITE is left to the scenario on the phone party', async () => {
    const o = await office({ mode: 'steps' });
    const call = callPhone(o);
    const incoming = await o.phoneParty.nextIncoming('INVITE', 2000);
    incoming!.call!.respond(480);
    await call.expect(480, { timeoutMs: 2000 });
  });
});

describe('phone dials out through its PBX', () => {
  it('dial(number): From is the extension, the 407 is answered with the phone credentials', async () => {
    const o = await office();
    const { uri, opts } = o.phone.dial('0901234567');
    const call = o.phoneParty.invite(uri, opts);
    const { final, challenges } = await inviteWithAuth(call.uac!, o.phone.credentials, 3000);
    expect([final?.status, challenges.length]).toEqual([200, 1]);
    expect(o.registrar.invites[0].from.uri.user).toBe(EXT);
    expect(o.registrar.invites[0].uri.user).toBe('0901234567');
    await call.hangup(2000);
  });
});
