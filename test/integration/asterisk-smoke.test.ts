/**
 * Asterisk 16 (chan_sip) with sut/asterisk/ — seed 000's trunk configuration — as the PBX under
 * test. sipwright plays the carrier ("guest server") the PBX registers to and whose calls it
 * receives, and the phones registered at the PBX. One Asterisk per test on free loopback ports.
 *
 * The fake carrier is a Party on its own port: REGISTER gets 401 (DigestServer, realm
 * voip0000.cloudpbx.com, no qop as in the seed's trace), then 200 granting `expires` seconds
 * with `Expires:` and `Contact: …;expires=`; OPTIONS gets 200; INVITEs are left to the test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { requestWithAuth } from '../../src/auth/authenticating-client.js';
import { DigestServer, type DigestVerifyResult } from '../../src/auth/digest-server.js';
import type { Call } from '../../src/scenario/call.js';
import { Party } from '../../src/scenario/party.js';
import { loadProfile, type PbxProfile } from '../../src/scenario/profile.js';
import { createResponse } from '../../src/sip/builders.js';
import type { SipMessage } from '../../src/sip/message.js';
import type { ServerTransaction } from '../../src/transaction/server-transaction.js';
import { ASTERISK_PROFILE, SEED, startAsterisk, type AsteriskRun } from '../support/asterisk.js';

/** sut/asterisk/profile.yaml: what the suites expect of this PBX (limits, codes, numbers). */
const profile = loadProfile(ASTERISK_PROFILE, { TRUNK_PASSWORD: SEED.trunkPassword }).profile as PbxProfile;

const sdp = (port: number, user = '-'): string =>
  [
    'v=0',
    `o=${user} 4414 4414 IN IP4 127.0.0.1`,
    's=session',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
const SDP_CT = 'application/sdp';

/** A REGISTER the carrier received, what it answered, and how the credentials fared. */
interface RegisterSeen {
  at: number;
  req: SipMessage;
  status: number;
  verified?: DigestVerifyResult;
}

/** The carrier side of seed 000: registrar with digest auth, OPTIONS answered, INVITEs to the test. */
class FakeCarrier {
  readonly digest = new DigestServer({ realm: SEED.realm, qop: [] });
  readonly registers: RegisterSeen[] = [];
  options = 0;

  private constructor(
    readonly party: Party,
    /** What the carrier grants, whatever the PBX asks (Expires and Contact;expires). */
    public grantSeconds: number,
  ) {
    const next = party.ua.onNewRequest;
    party.ua.onNewRequest = (req, tx) => {
      if (req.method === 'REGISTER') return this.onRegister(req, tx);
      if (req.method === 'OPTIONS') {
        this.options++;
        tx.respond(createResponse(req, 200, { headers: [['Allow', 'INVITE, ACK, CANCEL, OPTIONS, BYE']] }));
        return true;
      }
      return next ? next(req, tx) : false;
    };
  }

  static async start(grantSeconds = 120): Promise<FakeCarrier> {
    return new FakeCarrier(await Party.start({ name: 'carrier' }), grantSeconds);
  }

  get port(): number {
    return this.party.local.port;
  }

  lookup = (user: string): string | undefined => (user === SEED.trunkUser ? SEED.trunkPassword : undefined);

  private onRegister(req: SipMessage, tx: ServerTransaction): true {
    const seen: RegisterSeen = { at: Date.now(), req, status: 401 };
    const credentials = req.get('authorization');
    if (credentials) seen.verified = this.digest.verify(credentials, { method: 'REGISTER', uri: req.requestUri, lookupPassword: this.lookup });
    if (seen.verified?.ok) {
      seen.status = 200;
      const contact = (req.get('contact') ?? '').replace(/;\s*expires=\d+/i, '');
      tx.respond(
        createResponse(req, 200, {
          headers: [
            ['Expires', String(this.grantSeconds)],
            ['Contact', `${contact};expires=${this.grantSeconds}`],
            ['Date', new Date().toUTCString()],
          ],
        }),
      );
    } else {
      const stale = seen.verified?.ok === false && seen.verified.reason === 'stale-nonce';
      tx.respond(createResponse(req, 401, { headers: [['WWW-Authenticate', this.digest.challenge({ stale })]] }));
    }
    this.registers.push(seen);
    return true;
  }

  /** The first REGISTER answered 200, from `from` on (inclusive) if given. */
  async registered(timeoutMs: number, pbx: AsteriskRun, from?: RegisterSeen): Promise<RegisterSeen> {
    return this.waitRegister((r) => r.status === 200, from ? this.registers.indexOf(from) : 0, timeoutMs, pbx, 'a REGISTER answered 200');
  }

  /** The first REGISTER after `since`. */
  async nextRegister(since: RegisterSeen, timeoutMs: number, pbx: AsteriskRun): Promise<RegisterSeen> {
    return this.waitRegister(() => true, this.registers.indexOf(since) + 1, timeoutMs, pbx, 'another REGISTER');
  }

  private async waitRegister(pred: (r: RegisterSeen) => boolean, from: number, timeoutMs: number, pbx: AsteriskRun, what: string): Promise<RegisterSeen> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.registers.slice(from).find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`carrier: no ${what} within ${timeoutMs} ms\n--- asterisk log ---\n${pbx.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The next INVITE from the PBX, as a call to answer. */
  async incoming(pbx: AsteriskRun, name: string, timeoutMs = 5000): Promise<{ msg: SipMessage; call: Call }> {
    return claimInvite(this.party, pbx, name, timeoutMs);
  }

  /** An inbound call for `did` as the seed's trace 3.4.1 has it: DID in the Request-URI, To and Alert-Info. */
  call(pbx: AsteriskRun, did: string, name: string): Call {
    const from = `"080AAAAXXXX" <sip:080AAAAXXXX@127.0.0.1:${this.port}>`;
    return this.party.invite(
      `sip:${did}@127.0.0.1:${pbx.sipPort}`,
      {
        dest: { host: '127.0.0.1', port: pbx.sipPort },
        from,
        to: `<sip:${did}@127.0.0.1:${pbx.sipPort}>`,
        contact: `<sip:080AAAAXXXX@127.0.0.1:${this.port}>`,
        headers: [['Alert-Info', did]],
        body: sdp(15224, 'root'),
        contentType: SDP_CT,
      },
      name,
    );
  }
}

async function claimInvite(party: Party, pbx: AsteriskRun, name: string, timeoutMs: number): Promise<{ msg: SipMessage; call: Call }> {
  const got = await party.nextIncoming('INVITE', timeoutMs, name);
  if (!got?.call) throw new Error(`${party.name} received no INVITE within ${timeoutMs} ms\n--- asterisk log ---\n${pbx.log()}`);
  return { msg: got.msg, call: got.call };
}

/** The first match of `re` in Asterisk's log, waiting up to `timeoutMs` for it. */
async function logLine(pbx: AsteriskRun, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(pbx.log());
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no log line matching ${re} within ${timeoutMs} ms\n--- asterisk log ---\n${pbx.log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `call.expect(status)`, failing with Asterisk's log attached. */
async function expectStatus(pbx: AsteriskRun, call: Call, status: number, timeoutMs = 5000): Promise<SipMessage> {
  try {
    return (await call.expect(status, { timeoutMs }))!;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- asterisk log ---\n${pbx.log()}`);
  }
}

const pbxs: AsteriskRun[] = [];
const parties: Party[] = [];
afterEach(async () => {
  await Promise.all(parties.splice(0).map((p) => p.close(500)));
  await Promise.all(pbxs.splice(0).map((a) => a.stop()));
});

/** A carrier on a free port, then Asterisk with its trunk pointing there. */
async function setup(grantSeconds = 120): Promise<{ carrier: FakeCarrier; pbx: AsteriskRun }> {
  const carrier = await FakeCarrier.start(grantSeconds);
  parties.push(carrier.party);
  const pbx = await startAsterisk({ carrierPort: carrier.port, noAnswerSeconds: profile.no_answer_seconds });
  pbxs.push(pbx);
  return { carrier, pbx };
}

/** Extension `ext` registers at Asterisk: REGISTER, 401 (realm "asterisk"), REGISTER with Authorization, 200. */
async function phone(pbx: AsteriskRun, ext: '200' | '201'): Promise<Party> {
  const party = await Party.start({ name: `phone ${ext}`, user: ext, target: { host: '127.0.0.1', port: pbx.sipPort } });
  parties.push(party);
  const aor = `<sip:${ext}@127.0.0.1:${pbx.sipPort}>`;
  const reg = await requestWithAuth(
    party.ua,
    'REGISTER',
    `sip:127.0.0.1:${pbx.sipPort}`,
    { to: aor, from: aor, headers: [['Expires', '300']], dest: party.target },
    { username: ext, password: profile.extensions[ext].password },
  );
  expect(reg.status, `REGISTER ${ext}: ${reg.final?.reason ?? reg.failureMessage}\n${pbx.log()}`).toBe(200);
  expect(reg.challenges.map((c) => c.status)).toEqual([401]);
  return party;
}

/** The phone answers the next INVITE Asterisk sends it: 180, then 200 with SDP. */
async function answer(pbx: AsteriskRun, party: Party, name: string): Promise<{ msg: SipMessage; call: Call }> {
  const got = await claimInvite(party, pbx, name, 5000);
  got.call.respond(180);
  got.call.respond(200, { body: sdp(18182, party.ua.user), contentType: SDP_CT });
  return got;
}

describe('Asterisk 16 as the PBX under test (sut/asterisk, seed 000)', () => {
  it('registers the trunk as 0000123456 with a digest that verifies and refreshes before the granted expiry', async () => {
    const GRANT = 20; // chan_sip re-registers 20 % early below 30 s, else 15 s early
    const { carrier, pbx } = await setup(GRANT);
    const ok = await carrier.registered(5000, pbx);
    const [first, ...retries] = carrier.registers.slice(0, carrier.registers.indexOf(ok) + 1);

    // Seed trace 3.1.1: REGISTER sip:<carrier> for 0000123456, asking 120 s, no credentials yet.
    expect(first.req.uri.host).toBe('127.0.0.1');
    expect(first.req.uri.port).toBe(carrier.port);
    expect(first.req.from.uri.user).toBe(SEED.trunkUser);
    expect(first.req.to.uri.user).toBe(SEED.trunkUser);
    expect(first.req.contacts[0]?.uri.user).toBe(SEED.trunkUser);
    expect(first.req.get('expires')).toBe(String(SEED.requestedExpiry));
    expect(first.req.has('authorization')).toBe(false);
    expect(first.status).toBe(401);

    // 3.1.4: the same registration again (Call-ID kept, CSeq + 1) with credentials for 0000123456
    // whose response is right for the password. chan_sip 16 quirk, with a registrar port other
    // than 5060: the retry's Request-URI loses the port while the digest uri keeps the first
    // Request-URI, so a carrier holding the digest uri to the Request-URI (RFC 2617 §3.2.2.5, as
    // DigestServer does) challenges once more; the REGISTER after that is consistent.
    expect(retries.length, 'REGISTERs with credentials until the 200').toBeLessThanOrEqual(2);
    retries.forEach((r, i) => {
      expect(r.req.callId).toBe(first.req.callId);
      expect(r.req.cseq.seq).toBe(first.req.cseq.seq + 1 + i);
      expect(r.verified?.username).toBe(SEED.trunkUser);
    });
    const [answer] = retries;
    const uriQuirk = answer.verified?.ok === false;
    if (uriQuirk) {
      expect(answer.verified, JSON.stringify(answer.verified)).toMatchObject({ reason: 'wrong-uri' });
      expect(answer.verified!.ok === false && answer.verified!.message).toMatch(/though the response is right for it/);
    }
    expect(ok.verified, JSON.stringify(ok.verified)).toMatchObject({ ok: true, username: SEED.trunkUser });

    // Refresh before the granted expiry (RFC 3261 §10.2.4), with the same Call-ID.
    const refresh = await carrier.nextRegister(ok, (GRANT + 2) * 1000, pbx);
    const early = GRANT * 1000 - (refresh.at - ok.at);
    expect(early, `refresh ${refresh.at - ok.at} ms after the 200`).toBeGreaterThan(0);
    expect(refresh.at - ok.at, 'not a retry: the refresh is timed from the granted expiry').toBeGreaterThan(GRANT * 500);
    expect(refresh.req.callId).toBe(first.req.callId);
    expect(refresh.req.cseq.seq).toBeGreaterThan(ok.req.cseq.seq);
    // chan_sip re-sends its last credentials (no qop: the nonce may be reused), else answers a new 401.
    const refreshed = await carrier.registered(3000, pbx, refresh);
    console.info(
      `asterisk: started in ${pbx.startupMs} ms; trunk REGISTER → ${carrier.registers
        .slice(0, carrier.registers.indexOf(ok) + 1)
        .map((r) => r.status + (r.verified && !r.verified.ok ? ` (${r.verified.reason})` : ''))
        .join(' → ')}; ` +
        `refresh ${refresh.at - ok.at} ms after a ${GRANT} s grant (${early} ms early), ` +
        `${refresh.req.has('authorization') ? 'with the previous credentials' : 'without credentials'}, ${refreshed === refresh ? 'accepted at once' : 'accepted after a new 401'}`,
    );
  }, 45_000);

  it('extension 200 registers with digest auth; its call leaves on the trunk as 0312345678 and answers the carrier\'s 407', async () => {
    const { carrier, pbx } = await setup();
    await carrier.registered(5000, pbx);
    // The seed's 120 s: chan_sip schedules the refresh EXPIRY_GUARD_SECS (15 s) before expiry.
    const scheduled = await logLine(pbx, /Expiry for \S+ is (\d+) sec \(Scheduling reregistration in (\d+) s\)/, 3000);
    expect(Number(scheduled[1])).toBe(profile.carrier.expires);
    expect(Number(scheduled[1]) - Number(scheduled[2])).toBeGreaterThanOrEqual(profile.carrier.refresh_margin);

    const ph = await phone(pbx, '200');
    const out = ph.invite(`sip:${profile.outbound_number}@127.0.0.1:${pbx.sipPort}`, { body: sdp(18572, '200'), contentType: SDP_CT });
    out.autoAuth = { username: '200', password: profile.extensions['200'].password };
    const phoneAnswered = expectStatus(pbx, out, 200, 10_000);

    // 3.2.1: INVITE to the carrier, From user = the caller ID of extension 200.
    const first = await carrier.incoming(pbx, 'out-1');
    expect(first.msg.uri.user).toBe(profile.outbound_number);
    expect(first.msg.from.uri.user).toBe(profile.extensions['200'].caller_id);
    expect(first.msg.from.uri.host).toBe(SEED.realm);
    // chan_sip appends its own SIP port to the fromdomain when that port is not 5060.
    expect([undefined, pbx.sipPort]).toContain(first.msg.from.uri.port);
    expect(first.msg.from.displayName).toBe('aiueo PBX');
    expect(first.msg.has('proxy-authorization')).toBe(false);
    // 3.2.2: 407 with Proxy-Authenticate; 3.2.4: INVITE again, CSeq + 1, with Proxy-Authorization.
    first.call.respond(407, { headers: [['Proxy-Authenticate', carrier.digest.challenge()]] });
    const second = await carrier.incoming(pbx, 'out-2');
    expect(second.msg.callId).toBe(first.msg.callId);
    expect(second.msg.cseq.seq).toBe(first.msg.cseq.seq + 1);
    const credentials = second.msg.get('proxy-authorization');
    expect(credentials, 'Proxy-Authorization').toBeDefined();
    const verified = carrier.digest.verify(credentials!, { method: 'INVITE', uri: second.msg.requestUri, lookupPassword: carrier.lookup });
    expect(verified, JSON.stringify(verified)).toMatchObject({ ok: true, username: SEED.trunkUser });
    expect(second.msg.from.uri.user).toBe(profile.extensions['200'].caller_id);

    // 3.2.6–3.2.9: 180, 200 with SDP, ACK; the phone is answered.
    second.call.respond(180);
    second.call.respond(200, { body: sdp(18922, 'root'), contentType: SDP_CT });
    await phoneAnswered;
    expect(await second.call.uas!.waitAck(5000), 'ACK at the carrier').toBeDefined();
    console.info(
      `asterisk: phone INVITE challenged with ${out.challenges.map((c) => c.status).join(', ')}; ` +
        `trunk INVITE From ${first.msg.get('from')}, 407 answered with CSeq ${second.msg.cseq.seq}; ` +
        `120 s grant → refresh scheduled ${scheduled[2]} s after the 200`,
    );

    // The phone hangs up: Asterisk answers its BYE and sends BYE to the carrier.
    expect((await out.hangup(5000)) as SipMessage).toMatchObject({ status: 200 });
    expect(await second.call.expectRequest('BYE', { timeoutMs: 5000 })).toBeDefined();
  }, 30_000);

  it('an inbound call for DID 0312345678 (Request-URI, To, Alert-Info) rings extension 200', async () => {
    const { carrier, pbx } = await setup();
    const ph = await phone(pbx, '200');
    const did = '0312345678';
    expect(profile.dids[did]).toBe('200');

    const call = carrier.call(pbx, did, 'in');
    const ringing = await answer(pbx, ph, 'in');
    expect(ringing.msg.uri.user).toBe('200');
    expect(ringing.msg.from.uri.user).toBe('080AAAAXXXX');
    const ok = await expectStatus(pbx, call, 200, 5000);
    expect(ok.to.uri.user).toBe(did);
    expect(await ringing.call.uas!.waitAck(5000), 'ACK at the phone').toBeDefined();

    // The carrier hangs up (3.4.5 the other way round); Asterisk passes the BYE to the phone.
    expect((await call.hangup(5000)) as SipMessage).toMatchObject({ status: 200 });
    expect(await ringing.call.expectRequest('BYE', { timeoutMs: 5000 })).toBeDefined();
  }, 30_000);

  it.each(profile.channel_limits.map((l) => [l.name, l.did, l.limit, l] as const))(
    '%s: DID %s takes %i calls at once; the next is refused with the profile\'s code',
    async (_name, did, limit, { refuse_code }) => {
      const ext = profile.dids[did] as '200' | '201';
      const { carrier, pbx } = await setup();
      const ph = await phone(pbx, ext);

      const held: Array<{ call: Call; at: Call }> = [];
      for (let i = 1; i <= limit; i++) {
        const call = carrier.call(pbx, did, `in-${i}`);
        const rang = await answer(pbx, ph, `in-${i}`);
        await expectStatus(pbx, call, 200);
        held.push({ call, at: rang.call });
      }
      // One more while those are held: refused by the dialplan before Dial, so the phone never rings.
      const over = carrier.call(pbx, did, 'over');
      const refused = await expectStatus(pbx, over, refuse_code);
      expect(await ph.nextIncoming('INVITE', 500, 'over'), 'no INVITE at the phone for the refused call').toBeUndefined();
      console.info(`asterisk: call ${limit + 1} to ${did} (extension ${ext}) refused with ${refused.status} ${refused.reason}`);

      // Hanging one up frees a channel: the next call goes through again.
      expect((await held[0].call.hangup(5000)) as SipMessage).toMatchObject({ status: 200 });
      expect(await held[0].at.expectRequest('BYE', { timeoutMs: 5000 })).toBeDefined();
      const again = carrier.call(pbx, did, 'again');
      await answer(pbx, ph, 'again');
      await expectStatus(pbx, again, 200);
    },
    30_000,
  );
});
