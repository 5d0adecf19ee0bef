/**
 * Calls over the trunk between the pbx and carrier personas on loopback UDP (seed 000 §3.2-3.5):
 * outbound INVITE → 407 → INVITE with Proxy-Authorization (RFC 3261 §22.3), the caller-ID in
 * the From user part, the carrier's answer modes, the trunk channel limit, and inbound calls
 * to a DID carried in the Request-URI, To and Alert-Info.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { inviteWithAuth } from '../../src/auth/authenticating-client.js';
import { Carrier, type CarrierOptions } from '../../src/roles/carrier.js';
import { Pbx, type PbxOptions } from '../../src/roles/pbx.js';
import type { Call } from '../../src/scenario/call.js';
import type { Party } from '../../src/scenario/party.js';
import { parseSdp } from '../../src/sip/sdp.js';
import { Parties, sentText, waitFor } from './persona-harness.js';

const USER = '0312345678';
const PASSWORD = 'trunk-secret';
const CALLER_ID = '0312345678';
const DIALLED = '0901234567';
const parties = new Parties();
afterEach(() => parties.closeAll());

interface Trunk {
  carrier: Carrier;
  carrierParty: Party;
  pbx: Pbx;
  pbxParty: Party;
}

async function trunk(carrierOpts: Partial<CarrierOptions> = {}, pbxOpts: Partial<PbxOptions> = {}): Promise<Trunk> {
  const carrier = new Carrier({
    realm: 'trunk.example',
    accounts: { [USER]: PASSWORD },
    grantExpires: 120,
    answer: 'answer',
    ringMs: 20,
    ...carrierOpts,
  });
  const carrierParty = await parties.start('carrier', carrier);
  const pbx = new Pbx({ carrier: carrierParty.local, username: USER, password: PASSWORD, ...pbxOpts });
  const pbxParty = await parties.start('pbx', pbx);
  return { carrier, carrierParty, pbx, pbxParty };
}

/** Place an outbound call from the pbx and answer the carrier's 407; resolves with the final response. */
async function dialOut(t: Trunk, name = 'call', number = DIALLED, callerId = CALLER_ID): Promise<{ call: Call; status: number | undefined; challenges: number }> {
  const { uri, opts } = t.pbx.outboundCall(number, callerId);
  const call = t.pbxParty.invite(uri, opts, name);
  const { final, challenges } = await inviteWithAuth(call.uac!, t.pbx.credentials, 3000);
  return { call, status: final?.status, challenges: challenges.length };
}

describe('outbound call from the pbx through the carrier (seed 000 §3.2)', () => {
  it('the carrier challenges the INVITE with 407; the pbx answers with Proxy-Authorization and the call is answered with 200 + SDP', async () => {
    const t = await trunk();
    const { call, status, challenges } = await dialOut(t);
    expect(challenges).toBe(1);
    expect(status).toBe(200);
    const ok = call.uac!.final!;
    expect(ok.get('content-type')).toBe('application/sdp');
    expect(parseSdp(ok.body).media[0].port).toBeGreaterThan(0);
    // The 407 carries Proxy-Authenticate (RFC 3261 §22.3), the retry Proxy-Authorization.
    expect(sentText(t.carrierParty, /^SIP\/2\.0 407/)[0]).toMatch(/\r\nProxy-Authenticate: Digest /);
    expect(t.carrier.invites).toHaveLength(1);
    expect(t.carrier.invites[0].get('proxy-authorization')).toMatch(/^Digest /);
    // Same Call-ID, CSeq + 1 for the retry (seed 000: INVITE 102 → 103).
    const challenged = await t.carrierParty.nextObserved('INVITE', 500);
    expect(t.carrier.invites[0].callId).toBe(challenged!.callId);
    expect(t.carrier.invites[0].cseq.seq).toBe(challenged!.cseq.seq + 1);
    await call.hangup(2000);
  });

  it('the From user part is the caller-ID number; the display name is free (seed 000 §3.2.1)', async () => {
    const t = await trunk();
    const { uri, opts } = t.pbx.outboundCall(DIALLED, '0501112222', 'Reception desk');
    const call = t.pbxParty.invite(uri, opts);
    await inviteWithAuth(call.uac!, t.pbx.credentials, 3000);
    const invite = t.carrier.invites[0];
    expect(invite.from.uri.user).toBe('0501112222');
    expect(invite.from.displayName).toBe('Reception desk');
    expect(invite.to.uri.user).toBe(DIALLED);
    expect(invite.uri.user).toBe(DIALLED);
  });

  it('answer mode: 180 Ringing, then 200 with SDP after ringMs; the pbx BYE gets 200', async () => {
    const t = await trunk({ ringMs: 150 });
    const { call, status } = await dialOut(t);
    expect(status).toBe(200);
    expect(call.received.some((m) => m.status === 180)).toBe(true);
    const bye = await call.hangup(2000);
    expect((bye as { status: number }).status).toBe(200);
  });

  it('earlyMedia: 183 Session Progress with SDP before the 200 (seed 000 §3.2.7)', async () => {
    const t = await trunk({ earlyMedia: true });
    const { call, status } = await dialOut(t);
    expect(status).toBe(200);
    const progress = call.received.find((m) => m.status === 183);
    expect(progress?.get('content-type')).toBe('application/sdp');
    await call.hangup(2000);
  });

  it('busy mode: 486 Busy Here (seed 000 §3.3)', async () => {
    const t = await trunk({ answer: 'busy' });
    expect((await dialOut(t)).status).toBe(486);
  });

  it('unavailable mode: 503 Service Unavailable', async () => {
    const t = await trunk({ answer: 'unavailable' });
    expect((await dialOut(t)).status).toBe(503);
  });

  it('no-answer mode: 180 and no final response; the CANCEL gets 200 and the INVITE 487 (RFC 3261 §9.2)', async () => {
    const t = await trunk({ answer: 'no-answer' });
    const { uri, opts } = t.pbx.outboundCall(DIALLED, CALLER_ID);
    const call = t.pbxParty.invite(uri, opts);
    call.autoAuth = t.pbx.credentials;
    await call.expect(180, { timeoutMs: 2000 });
    expect(await call.expect('2xx', { timeoutMs: 300, optional: true })).toBeUndefined();
    call.cancel();
    await call.expect(487, { timeoutMs: 2000 });
    expect(sentText(t.carrierParty, /^SIP\/2\.0 200 OK/).some((m) => /\r\nCSeq: \d+ CANCEL\r\n/.test(m))).toBe(true);
  });

  it('steps mode: the authenticated INVITE is left to scenario steps on the carrier party', async () => {
    const t = await trunk({ answer: 'steps' });
    const { uri, opts } = t.pbx.outboundCall(DIALLED, CALLER_ID);
    const call = t.pbxParty.invite(uri, opts);
    const pending = inviteWithAuth(call.uac!, t.pbx.credentials, 3000);
    const incoming = await t.carrierParty.nextIncoming('INVITE', 2000);
    expect(incoming?.msg.get('proxy-authorization')).toMatch(/^Digest /);
    incoming!.call!.respond(486);
    expect((await pending).final?.status).toBe(486);
  });

  it('challengeInvite false: the INVITE is taken without a 407', async () => {
    const t = await trunk({ challengeInvite: false });
    const { status, challenges } = await dialOut(t);
    expect([status, challenges]).toEqual([200, 0]);
  });

  it('a wrong trunk password: the second 407 ends the attempt and the call is not placed', async () => {
    const t = await trunk({}, { password: 'wrong' });
    const { status, challenges } = await dialOut(t);
    expect([status, challenges]).toEqual([407, 1]);
    expect(t.carrier.invites).toHaveLength(0);
  });

  it('extraHeaders: the carrier adds its X- headers to the INVITE responses too', async () => {
    const t = await trunk({ quirks: { extraHeaders: [['X-Carrier-Node', 'tokyo-1']] } });
    const { call } = await dialOut(t);
    expect(call.uac!.final!.get('x-carrier-node')).toBe('tokyo-1');
    expect(sentText(t.carrierParty, /^SIP\/2\.0 407/)[0]).toMatch(/\r\nX-Carrier-Node: tokyo-1\r\n/);
  });
});

describe('trunk channel limit (seed 000: per-group channel limits, GROUP_COUNT)', () => {
  it('limit 2: the 3rd concurrent call is refused with the configured code; after one BYE a new call is accepted', async () => {
    const t = await trunk({ channelLimit: { limit: 2, refuseCode: 503 } });
    const first = await dialOut(t, 'a');
    const second = await dialOut(t, 'b');
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(t.carrier.activeCalls).toBe(2);
    const third = await dialOut(t, 'c');
    expect(third.status).toBe(503);
    expect(t.carrier.refusedForLimit).toHaveLength(1);
    await first.call.hangup(2000);
    await waitFor('the carrier to see the BYE', () => t.carrier.activeCalls === 1, 2000);
    const fourth = await dialOut(t, 'd');
    expect(fourth.status).toBe(200);
    expect(t.carrier.refusedForLimit).toHaveLength(1);
    await Promise.all([second.call.hangup(2000), fourth.call.hangup(2000)]);
  });

  it('ringing calls hold a channel too: with limit 1 a second call while the first rings is refused with 486', async () => {
    const t = await trunk({ answer: 'no-answer', channelLimit: { limit: 1, refuseCode: 486 } });
    const { uri, opts } = t.pbx.outboundCall(DIALLED, CALLER_ID);
    const ringing = t.pbxParty.invite(uri, opts, 'ringing');
    ringing.autoAuth = t.pbx.credentials;
    await ringing.expect(180, { timeoutMs: 2000 });
    expect((await dialOut(t, 'second')).status).toBe(486);
    ringing.cancel();
    await ringing.expect(487, { timeoutMs: 2000 });
    expect(t.carrier.activeCalls).toBe(0);
  });
});

describe('inbound call from the carrier to a DID (seed 000 §3.4)', () => {
  const DID = '0312345678';

  it('the pbx receives the DID in the Request-URI, in To and in Alert-Info', async () => {
    const t = await trunk({}, { answer: { mode: 'steps' } });
    const { uri, opts } = t.carrier.inboundCall(DID, t.pbxParty.local);
    const call = t.carrierParty.invite(uri, opts);
    const incoming = await t.pbxParty.nextIncoming('INVITE', 2000);
    const invite = incoming!.msg;
    expect(invite.uri.user).toBe(DID);
    expect(invite.to.uri.user).toBe(DID);
    expect(invite.get('alert-info')).toBe(DID);
    expect(invite.get('content-type')).toBe('application/sdp');
    incoming!.call!.respond(200);
    await call.expect(200, { timeoutMs: 2000 });
    await call.hangup(2000);
  });

  it('alertInfo uri quirk: Alert-Info as <sip:DID@host>', async () => {
    const t = await trunk({ quirks: { alertInfo: 'uri' } }, { answer: { mode: 'steps' } });
    const { uri, opts } = t.carrier.inboundCall(DID, t.pbxParty.local);
    t.carrierParty.invite(uri, opts);
    const incoming = await t.pbxParty.nextIncoming('INVITE', 2000);
    expect(incoming!.msg.get('alert-info')).toBe(`<sip:${DID}@127.0.0.1>`);
    incoming!.call!.respond(486);
  });

  it('the pbx answer policy answers by itself: 180 then 200 with an SDP answer, observed on the pbx party', async () => {
    const t = await trunk({}, { answer: { mode: 'answer', ringMs: 20 } });
    const { uri, opts } = t.carrier.inboundCall(DID, t.pbxParty.local);
    const call = t.carrierParty.invite(uri, opts);
    const ok = await call.expect(200, { timeoutMs: 2000 });
    expect(ok?.get('content-type')).toBe('application/sdp');
    expect((await t.pbxParty.nextObserved('INVITE', 500))?.uri.user).toBe(DID);
    await call.hangup(2000);
  });

  it('the pbx answers busy with 486 Busy Here (seed 000 §3.3, the inbound direction)', async () => {
    const t = await trunk({}, { answer: { mode: 'busy' } });
    const { uri, opts } = t.carrier.inboundCall(DID, t.pbxParty.local);
    const call = t.carrierParty.invite(uri, opts);
    await call.expect(486, { timeoutMs: 2000 });
  });
});
