/**
 * The reference carrier: a small, correct carrier ("guest server") embedded in sipwright, so the
 * carrier/ conformance suite can be shown to pass against a good carrier and to catch a broken
 * one (each {@link Fault} breaks one rule). It behaves like sut/kamailio/kamailio.cfg:
 *
 * - a registrar (RFC 3261 §10.3) behind a Digest challenge (401, MD5, no qop, like seed 000):
 *   200 lists every binding with `;expires=` and carries `Expires`; a wrong password or an auth
 *   user other than the To user gets 403; `Expires: 0` removes the binding; a REGISTER without
 *   Contact lists the bindings; too short an interval gets 423 with Min-Expires. The AOR is the
 *   user part alone (Kamailio's usrloc with use_domain 0);
 * - OPTIONS answered 200 without authentication (keepalive and readiness probe);
 * - calls (see {@link BridgedCall}): INVITE challenged with 407, the auth user must be the From
 *   user (403 otherwise), then a number that moved gets 302, a user with no binding 404, the
 *   caller's account its channel limit, and the rest goes to the callee's registered contact,
 *   with busy, no answer and forwarding with Diversion (RFC 5806) as in seed 003.
 *
 * Everything runs on one {@link UserAgent}; the carrier is a B2BUA, not a proxy, but keeps the
 * caller's From, To, Call-ID and SDP on the callee's leg.
 */
import { parseDigestCredentials } from '../auth/challenge.js';
import { DigestServer } from '../auth/digest-server.js';
import type { UasCall } from '../dialog/uas-call.js';
import { UserAgent } from '../dialog/user-agent.js';
import { createResponse } from '../sip/builders.js';
import { isWildcard } from '../sip/name-addr.js';
import type { SipMessage } from '../sip/message.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import { parseHostPort } from '../transport/address.js';
import type { Address } from '../transport/transport.js';
import { BridgedCall, type BridgeHost } from './reference-carrier-call.js';
import { checkOptions, type Fault, type ReferenceCarrierOptions } from './reference-carrier-options.js';
import { Registrar } from './registrar.js';

export { FAULT_DESCRIPTIONS, FAULTS, parseFaults, referenceCarrierOptions, type CarrierProfileFields, type Fault, type ReferenceCarrierOptions } from './reference-carrier-options.js';

const DEFAULT_REALM = 'voip0000.cloudpbx.com';
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER';
/** Kamailio's auth nonce_expire (300 s). */
const NONCE_TTL_MS = 300_000;

type AuthResult = { ok: true; user: string } | { ok: false; status: 401 | 403 | 407; headers: Array<[string, string]>; reason?: string };

/** A running reference carrier: `ReferenceCarrier.start(opts)`, then `address`, then `stop()`. */
export class ReferenceCarrier implements BridgeHost {
  /** Where the carrier listens. */
  readonly address: Address;
  readonly transport: 'udp' | 'tcp';
  readonly realm: string;
  /** The realm without stray spaces: the domain of Diversion and redirect Contacts. */
  readonly domain: string;
  readonly faults: ReadonlySet<Fault>;
  /** The bindings (AOR `sip:USER@domain`) and their history. */
  readonly registrar: Registrar;
  readonly ua: UserAgent;
  readonly noAnswerMs: number;
  readonly noAnswerCode: number;
  /** Fault wrong-busy-code: relay a callee's 486 as 480. */
  readonly wrongBusyCode: boolean;
  readonly forward: NonNullable<ReferenceCarrierOptions['forward']>;
  readonly omitDiversion: boolean;
  readonly dropBye: boolean;
  stopping = false;
  /** Calls refused for the channel limit, in order (their INVITEs). */
  readonly refusedForLimit: SipMessage[] = [];
  private readonly digest: DigestServer;
  private readonly opts: ReferenceCarrierOptions;
  private readonly calls = new Set<BridgedCall>();
  private readonly channels = new Map<string, number>();

  private constructor(ua: UserAgent, opts: ReferenceCarrierOptions, faults: ReadonlySet<Fault>) {
    this.ua = ua;
    this.opts = opts;
    this.faults = faults;
    this.address = ua.local;
    this.transport = ua.protocol === 'tcp' ? 'tcp' : 'udp';
    this.realm = opts.realm ?? DEFAULT_REALM;
    this.domain = this.realm.trim();
    this.noAnswerMs = (opts.noAnswerSeconds ?? 5) * 1000;
    this.noAnswerCode = faults.has('wrong-no-answer-code') ? 503 : (opts.noAnswerCode ?? 480);
    this.wrongBusyCode = faults.has('wrong-busy-code');
    this.forward = opts.forward ?? {};
    this.omitDiversion = faults.has('no-diversion');
    this.dropBye = faults.has('drop-bye');
    // Seed 000's carrier: MD5, no qop (RFC 2069 form); a nonce may be reused until it expires.
    this.digest = new DigestServer({ realm: this.realm, algorithm: 'MD5', qop: [], nonceTtlMs: NONCE_TTL_MS });
    this.registrar = new Registrar({
      defaultExpires: opts.expires?.default ?? 3600,
      minExpires: opts.expires?.min ?? 10,
      maxExpires: opts.expires?.max ?? 7200,
    });
    ua.onInvite = (call) => {
      try {
        this.onInvite(call);
      } catch (err) {
        // A bug here must not leave the caller without an answer.
        if (!call.tx.answered) call.respond(500, { reason: `Server Internal Error (${(err as Error).message.replace(/[\r\n]+/g, ' ')})` });
      }
    };
    ua.onNewRequest = (req, tx) => this.onRequest(req, tx);
    if (opts.tap) ua.transport.tap = opts.tap;
  }

  /** Check the options, bind the socket and start answering. */
  static async start(opts: ReferenceCarrierOptions): Promise<ReferenceCarrier> {
    const faults = checkOptions(opts);
    const listen = typeof opts.listen === 'string' ? parseHostPort(opts.listen, 'reference carrier listen', 0) : opts.listen;
    const ua = await UserAgent.create({
      transport: opts.transport ?? 'udp',
      host: listen?.host ?? '127.0.0.1',
      port: listen?.port ?? 0,
      user: 'carrier',
      timers: opts.timers,
    });
    return new ReferenceCarrier(ua, opts, faults);
  }

  /** Stop: pending calls are dropped (no BYE), the socket closes. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const call of [...this.calls]) call.abandon();
    await this.ua.close();
  }

  /** Open calls placed by `account` (what the channel limit counts). */
  channelsInUse(account: string): number {
    return this.channels.get(account) ?? 0;
  }

  /** Calls being set up or talking. */
  get activeCalls(): number {
    return this.calls.size;
  }

  // ---- BridgeHost ----

  lookup(user: string): string | undefined {
    const bindings = this.registrar.contacts(this.aor(user));
    // The newest binding (Kamailio forks to all; one contact per user is what the suites use).
    return bindings.length ? bindings[bindings.length - 1].contact : undefined;
  }

  ended(call: BridgedCall): void {
    if (!this.calls.delete(call)) return;
    const n = this.channels.get(call.account) ?? 0;
    if (n <= 1) this.channels.delete(call.account);
    else this.channels.set(call.account, n - 1);
  }

  // ---- requests ----

  private onRequest(req: SipMessage, tx: ServerTransaction): boolean {
    if (req.method === 'REGISTER') {
      this.register(req, tx);
      return true;
    }
    if (req.method === 'OPTIONS') {
      tx.respond(createResponse(req, 200, { headers: [['Allow', ALLOW], ['Accept', 'application/sdp']] }));
      return true;
    }
    // Other initial requests (MESSAGE, SUBSCRIBE …): authenticated like INVITE, then not offered.
    const auth = this.authenticate(req, 'proxy', req.from.uri.user ?? '');
    if (!auth.ok) tx.respond(createResponse(req, auth.status, { reason: auth.reason, headers: auth.headers }));
    else tx.respond(createResponse(req, 405, { headers: [['Allow', ALLOW]] }));
    return true;
  }

  /** RFC 3261 §10.3: authenticate (step 3), the AOR must be the auth user's (step 4), then bind. */
  private register(req: SipMessage, tx: ServerTransaction): void {
    const user = req.to.uri.user ?? '';
    if (!this.faults.has('no-401')) {
      const auth = this.authenticate(req, 'www', user);
      if (!auth.ok) {
        tx.respond(createResponse(req, auth.status, { reason: auth.reason, headers: auth.headers }));
        return;
      }
    }
    // The AOR is the user part alone: rewrite To to the realm's AOR before applying.
    const normal = req.clone();
    normal.set('To', `<${this.aor(user)}>`);
    const removal = isRemoval(req);
    const outcome = removal && this.faults.has('ignore-expires-0') ? this.registrar.apply(withoutContacts(normal)) : this.registrar.apply(normal);
    if (outcome.status !== 200) {
      const headers: Array<[string, string]> = outcome.minExpires ? [['Min-Expires', String(outcome.minExpires)]] : [];
      tx.respond(createResponse(req, outcome.status, { reason: outcome.reason, headers }));
      return;
    }
    const now = Date.now();
    const headers: Array<[string, string]> = outcome.bindings.map((b) => [
      'Contact',
      `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`,
    ]);
    if (outcome.granted > 0) headers.push(['Expires', String(outcome.granted)]);
    headers.push(['Date', new Date(now).toUTCString()]);
    tx.respond(createResponse(req, 200, { headers }));
  }

  /** An initial INVITE: auth, redirect, location, channel limit, then bridge to the callee. */
  private onInvite(call: UasCall): void {
    const req = call.invite;
    const mf = req.get('max-forwards');
    if (mf !== undefined && mf.trim() === '0') {
      call.respond(483); // RFC 3261 §16.3 step 3
      return;
    }
    const fromUser = req.from.uri.user ?? '';
    let account = fromUser;
    if (!this.faults.has('no-407')) {
      const auth = this.authenticate(req, 'proxy', fromUser);
      if (!auth.ok) {
        call.respond(auth.status, { reason: auth.reason, headers: auth.headers });
        return;
      }
      account = auth.user;
    }
    const dialled = req.uri.user ?? '';
    const redirect = this.opts.redirect;
    if (redirect && dialled === redirect.number && !this.faults.has('no-302')) {
      // RFC 3261 §21.3.3: the new address in Contact.
      call.respond(302, { headers: [['Contact', `<sip:${redirect.target}@${this.domain}>`]] });
      return;
    }
    const contact = dialled ? this.lookup(dialled) : undefined;
    if (contact === undefined) {
      if (this.faults.has('no-404')) call.respond(480);
      else call.respond(404);
      return;
    }
    // Check and take the channel in one synchronous step: a burst cannot slip past the limit.
    const limit = this.opts.channelLimit;
    const open = this.channels.get(account) ?? 0;
    if (limit && account === limit.account && open >= limit.limit && !this.faults.has('ignore-channel-limit')) {
      this.refusedForLimit.push(req);
      call.respond(limit.refuseCode);
      return;
    }
    this.channels.set(account, open + 1);
    const bridged = new BridgedCall(this, call, account, dialled);
    this.calls.add(bridged);
    bridged.start(contact);
  }

  /**
   * Digest authentication (RFC 3261 §22): `www` for REGISTER (401, Authorization), `proxy` for
   * other requests (407, Proxy-Authorization). The authenticated user must be `identity` (the
   * To user of a REGISTER, the From user otherwise), as pv_auth_check does in kamailio.cfg.
   */
  private authenticate(req: SipMessage, kind: 'www' | 'proxy', identity: string): AuthResult {
    const status = kind === 'www' ? 401 : 407;
    const challengeHeader = kind === 'www' ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const challenge = (stale = false): AuthResult => ({
      ok: false,
      status,
      headers: [[challengeHeader, this.digest.challenge({ stale })]],
    });
    const forbidden: AuthResult = { ok: false, status: 403, headers: [] };
    const value = credentialsFor(req, kind === 'www' ? 'authorization' : 'proxy-authorization', this.realm);
    if (value === undefined) return challenge();
    const result = this.digest.verify(value, {
      method: req.method,
      uri: req.requestUri,
      body: req.body,
      lookupPassword: (user) => (Object.hasOwn(this.opts.accounts, user) ? this.opts.accounts[user] : undefined),
    });
    if (result.ok) return result.username === identity ? { ok: true, user: result.username } : forbidden;
    switch (result.reason) {
      case 'stale-nonce':
        return challenge(true); // RFC 7616 §3.3
      case 'unknown-user':
        return forbidden;
      case 'bad-response':
        if (this.faults.has('accept-wrong-password') && result.username === identity) return { ok: true, user: identity };
        return forbidden;
      default:
        return challenge();
    }
  }

  private aor(user: string): string {
    return `sip:${user}@${this.domain}`;
  }
}

/** The first credentials of `header` for our realm, or undefined (Kamailio's has_credentials). */
function credentialsFor(req: SipMessage, header: string, realm: string): string | undefined {
  for (const value of req.getAll(header)) {
    try {
      if (parseDigestCredentials(value).realm === realm) return value;
    } catch {
      // not Digest, or unreadable: not credentials for us
    }
  }
  return undefined;
}

/** A REGISTER that removes bindings: `Expires: 0` or every Contact with `;expires=0` (RFC 3261 §10.2.2). */
function isRemoval(req: SipMessage): boolean {
  const contacts = req.contacts;
  if (contacts.length === 0) return false;
  const header = req.get('expires')?.trim();
  if (contacts.some((c) => isWildcard(c))) return header === '0';
  return contacts.every((c) => (c.params.get('expires') ?? header)?.trim() === '0');
}

/** The same REGISTER as a query (no Contact): what the ignore-expires-0 fault turns a removal into. */
function withoutContacts(req: SipMessage): SipMessage {
  const q = req.clone();
  q.remove('Contact');
  return q;
}
