/**
 * The pbx persona registering its trunk at the carrier persona (seed 000 §3.1, seed 001), over
 * real UDP on loopback: REGISTER → 401 → REGISTER with Authorization → 200 with the carrier's
 * fixed expiry; refresh policies (RFC 3261 §10.2.4), lapses, removal with Expires: 0 (§10.2.2),
 * and the carrier quirks a PBX must tolerate.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Carrier, type CarrierOptions } from '../../src/roles/carrier.js';
import { Pbx, type PbxOptions } from '../../src/roles/pbx.js';
import type { Party } from '../../src/scenario/party.js';
import { Parties, sentText, waitFor } from './persona-harness.js';

const USER = '0312345678';
const PASSWORD = 'trunk-secret';
const parties = new Parties();
afterEach(() => parties.closeAll());

async function trunk(
  carrierOpts: Partial<CarrierOptions> = {},
  pbxOpts: Partial<PbxOptions> = {},
): Promise<{ carrier: Carrier; carrierParty: Party; pbx: Pbx; pbxParty: Party }> {
  const carrier = new Carrier({ realm: 'trunk.example', accounts: { [USER]: PASSWORD }, grantExpires: 120, ...carrierOpts });
  const carrierParty = await parties.start('carrier', carrier);
  const pbx = new Pbx({ carrier: carrierParty.local, username: USER, password: PASSWORD, expires: 3600, ...pbxOpts });
  const pbxParty = await parties.start('pbx', pbx);
  return { carrier, carrierParty, pbx, pbxParty };
}

describe('pbx registers its trunk at the carrier (seed 000 §3.1)', () => {
  it('answers the 401 with Authorization and gets 200; the carrier grants 120 s although 3600 was asked', async () => {
    const { carrier, carrierParty, pbx } = await trunk();
    const reg = pbx.registration!;
    expect(reg.granted).toBe(120);
    expect(reg.attempts).toEqual([expect.objectContaining({ expires: 3600, status: 200, granted: 120, challenges: 1 })]);
    const statuses = sentText(carrierParty, /^SIP\/2\.0 /).map((t) => t.slice(8, 11));
    expect(statuses.filter((s) => s !== '100')).toEqual(['401', '200']);
    const events = carrier.registrations(USER);
    expect(events).toEqual([expect.objectContaining({ kind: 'register', requested: 3600, granted: 120, lapsed: false })]);
    expect(carrier.registrar.registered()).toEqual([`sip:${USER}@127.0.0.1`]);
  });

  it('a REGISTER is observed by the carrier party (steps can wait for it)', async () => {
    const { carrierParty } = await trunk();
    // Steps see the REGISTERs the carrier accepted: the challenged first one is not among them.
    const first = await carrierParty.nextObserved('REGISTER', 1000);
    expect(first?.get('authorization')).toMatch(/^Digest /);
  });

  it('refreshes before the granted expiry with a margin policy (grant 3 s, margin 1 s): a refresh, not a lapse', async () => {
    const { carrier, pbx } = await trunk({ grantExpires: 3 }, { refresh: { marginS: 1 } });
    const t0 = carrier.registrations(USER)[0].at;
    const refresh = await waitFor('a refresh', () => carrier.registrations(USER)[1], 4000);
    expect(refresh).toMatchObject({ kind: 'refresh', granted: 3, lapsed: false });
    expect(refresh.at - t0).toBeGreaterThanOrEqual(1800);
    expect(refresh.at - t0).toBeLessThan(3000);
    // RFC 3261 §10.2.4: a refresh reuses the Call-ID with a higher CSeq.
    expect(refresh.callId).toBe(carrier.registrations(USER)[0].callId);
    expect(refresh.cseq).toBeGreaterThan(carrier.registrations(USER)[0].cseq);
    expect(pbx.registration!.attempts.length).toBeGreaterThanOrEqual(2);
  });

  it('refreshes on a fixed period like seed 001 (fixed 1 s while 120 s is granted)', async () => {
    const { carrier } = await trunk({ grantExpires: 120 }, { refresh: { fixedS: 1 } });
    const t0 = carrier.registrations(USER)[0].at;
    const refresh = await waitFor('a refresh', () => carrier.registrations(USER)[1], 3000);
    expect(refresh).toMatchObject({ kind: 'refresh', granted: 120, lapsed: false });
    expect(refresh.at - t0).toBeGreaterThanOrEqual(900);
    expect(refresh.at - t0).toBeLessThan(2000);
  });

  it('noRefresh: the binding expires and the next REGISTER is recorded as lapsed', async () => {
    const { carrier, pbx } = await trunk({ grantExpires: 1 }, { noRefresh: true });
    await new Promise((r) => setTimeout(r, 1300));
    expect(carrier.registrations(USER)).toHaveLength(1);
    expect(carrier.registrar.registered()).toEqual([]);
    const outcome = await pbx.registration!.register();
    expect(outcome.final?.status).toBe(200);
    expect(carrier.registrations(USER)[1]).toMatchObject({ kind: 'register', lapsed: true });
  });

  it('unregister sends Expires: 0 and the carrier removes the binding (RFC 3261 §10.2.2)', async () => {
    const { carrier, pbx } = await trunk();
    expect(carrier.registrar.registered()).toHaveLength(1);
    expect(await pbx.unregister()).toBe(200);
    expect(carrier.registrations(USER).at(-1)).toMatchObject({ kind: 'unregister', granted: 0 });
    expect(carrier.registrar.registered()).toEqual([]);
    expect(carrier.registrar.contacts(`sip:${USER}@127.0.0.1`)).toEqual([]);
  });

  it('reads its grant from its own Contact among all bindings listed in the 200 (RFC 3261 §10.2.4)', async () => {
    // Two PBXs on one trunk account; the carrier grants what is asked, so the bindings differ.
    const { carrierParty } = await trunk({ grantExpires: undefined }, { expires: 3600 });
    const second = new Pbx({ carrier: carrierParty.local, username: USER, password: PASSWORD, expires: 600 });
    await parties.start('pbx-2', second);
    const ok = sentText(carrierParty, /^SIP\/2\.0 200/).at(-1)!;
    expect(ok.match(/\r\nContact: /g)).toHaveLength(2);
    expect(second.registration!.granted).toBe(600);
  });

  it('a wrong password is refused: the second 401 ends the attempt and nothing is bound', async () => {
    const { carrier, pbx } = await trunk({}, { password: 'wrong' });
    expect(pbx.registration!.attempts[0]).toMatchObject({ status: 401, challenges: 1 });
    expect(carrier.registrar.registered()).toEqual([]);
  });
});

describe('carrier quirks the pbx tolerates', () => {
  it('realmSpaces: the challenge quotes the realm as " realm " and the pbx still registers', async () => {
    const { carrierParty, pbx } = await trunk({ quirks: { realmSpaces: true } });
    const challenge = sentText(carrierParty, /^SIP\/2\.0 401/)[0];
    expect(challenge).toMatch(/WWW-Authenticate: Digest .*realm=" trunk\.example "/);
    expect(pbx.registration!.attempts[0]).toMatchObject({ status: 200, granted: 120 });
  });

  it('compactHeaders: the 200 is written with v: f: t: i: m: l: and the pbx reads it', async () => {
    const { carrierParty, pbx } = await trunk({ quirks: { compactHeaders: true } });
    const ok = sentText(carrierParty, /^SIP\/2\.0 200/)[0];
    for (const letter of ['v', 'f', 't', 'i', 'm', 'l']) expect(ok).toMatch(new RegExp(`\\r\\n${letter}: `));
    expect(ok).not.toMatch(/\r\n(Via|From|To|Call-ID|Contact|Content-Length):/i);
    expect(pbx.registration!.granted).toBe(120);
  });

  it('expiresIn contact: only Contact ;expires=120 carries the grant, and the pbx takes it', async () => {
    const { carrierParty, pbx } = await trunk({ quirks: { expiresIn: 'contact' } });
    const ok = sentText(carrierParty, /^SIP\/2\.0 200/)[0];
    expect(ok).toMatch(/\r\nContact: <[^>]+>;expires=120\r\n/);
    expect(ok).not.toMatch(/\r\nExpires:/);
    expect(pbx.registration!.granted).toBe(120);
  });

  it('expiresIn header: only the Expires header carries the grant, and the pbx takes it', async () => {
    const { carrierParty, pbx } = await trunk({ quirks: { expiresIn: 'header' } });
    const ok = sentText(carrierParty, /^SIP\/2\.0 200/)[0];
    expect(ok).toMatch(/\r\nExpires: 120\r\n/);
    expect(ok).not.toMatch(/expires=/);
    expect(pbx.registration!.granted).toBe(120);
  });

  it('noContactIn200: a 200 without Contact still counts, the grant comes from Expires', async () => {
    const { carrierParty, pbx } = await trunk({ quirks: { noContactIn200: true } });
    expect(sentText(carrierParty, /^SIP\/2\.0 200/)[0]).not.toMatch(/\r\nContact:/);
    expect(pbx.registration!.granted).toBe(120);
  });

  it('rechallengeEveryRefresh: each refresh is challenged again with a new nonce and still succeeds', async () => {
    const { carrier, carrierParty, pbx } = await trunk({ grantExpires: 2, quirks: { rechallengeEveryRefresh: true } }, { refresh: { marginS: 1 } });
    // The carrier records a refresh before its 200 reaches the pbx: wait for both sides.
    await waitFor('two refreshes', () => carrier.registrations(USER).length >= 3 && pbx.registration!.attempts.length >= 3, 5000);
    const attempts = pbx.registration!.attempts.slice(0, 3);
    expect(attempts.map((a) => [a.status, a.challenges])).toEqual([[200, 1], [200, 1], [200, 1]]);
    const nonces = sentText(carrierParty, /^SIP\/2\.0 401/).map((t) => /nonce="([^"]+)"/.exec(t)?.[1]);
    expect(nonces.length).toBeGreaterThanOrEqual(3);
    expect(new Set(nonces).size).toBe(nonces.length);
    expect(carrier.registrations(USER).slice(1, 3).every((e) => e.kind === 'refresh' && !e.lapsed)).toBe(true);
  });

  it('rechallengeEveryRefresh: credentials replayed with a used nonce are challenged again', async () => {
    const { carrierParty, pbxParty } = await trunk({ quirks: { rechallengeEveryRefresh: true } });
    const registers = pbxParty.ladder.filter((e) => e.direction === 'out' && e.bytes.toString('latin1').startsWith('REGISTER'));
    const withAuth = registers.map((e) => e.bytes.toString('latin1')).find((t) => /\r\nAuthorization:/.test(t))!;
    const authorization = /\r\nAuthorization: ([^\r\n]+)/.exec(withAuth)![1];
    const replay = await pbxParty.request('REGISTER', `sip:${carrierParty.local.host}:${carrierParty.local.port}`, {
      dest: carrierParty.local,
      from: `<sip:${USER}@127.0.0.1>`,
      to: `<sip:${USER}@127.0.0.1>`,
      headers: [['Authorization', authorization], ['Expires', '120']],
    });
    expect(replay.final?.status).toBe(401);
  });

  it('extraHeaders: every response carries the carrier\'s X- headers', async () => {
    const { carrierParty } = await trunk({ quirks: { extraHeaders: [['X-Carrier-Node', 'tokyo-1']] } });
    const finals = sentText(carrierParty, /^SIP\/2\.0 [2-6]/);
    expect(finals.length).toBeGreaterThanOrEqual(2);
    for (const t of finals) expect(t).toMatch(/\r\nX-Carrier-Node: tokyo-1\r\n/);
  });
});
