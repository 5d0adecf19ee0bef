/**
 * The carrier persona — the "guest server" of seed 000, a SIP trunk provider:
 * - a registrar that challenges REGISTER with 401 (RFC 3261 §22.2), grants a fixed expiry
 *   (120 s even when 3600 is asked), records every registration and refresh with its time and
 *   flags a registration that was allowed to lapse;
 * - takes outbound INVITEs from the PBX with a 407 challenge, enforces a trunk channel limit,
 *   and answers as configured (or leaves the call to scenario steps);
 * - places inbound calls to a DID with the DID in the Request-URI, To and Alert-Info;
 * - quirk switches to behave like a particular carrier.
 */
import { DigestServer } from '../auth/digest-server.js';
import type { UasCall } from '../dialog/uas-call.js';
import type { OutgoingOptions, UserAgent } from '../dialog/user-agent.js';
import { createResponse } from '../sip/builders.js';
import { COMPACT_FORMS } from '../sip/headers.js';
import type { SipMessage } from '../sip/message.js';
import { createOffer, serializeSdp } from '../sip/sdp.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import { uriHost, type Address } from '../transport/transport.js';
import { answerWith } from './answer-policy.js';
import type { ObservationSink, Persona } from './persona.js';
import { Registrar, type RegistrationEvent } from './registrar.js';

/** How the carrier answers an authenticated outbound INVITE it does not leave to steps. */
export type CarrierAnswer = 'steps' | 'answer' | 'busy' | 'unavailable' | 'no-answer';

/** Switches that make the carrier behave like a particular real one. */
export interface CarrierQuirks {
  /** Quote the realm with a stray space on each side, as seed 000's carrier does. */
  realmSpaces?: boolean;
  /** Leave Contact out of the REGISTER 200. */
  noContactIn200?: boolean;
  /** Write responses with compact header names (v, f, t, i, m, l …). */
  compactHeaders?: boolean;
  /** Extra headers on every response (X-… headers some carriers add). */
  extraHeaders?: Array<[string, string]>;
  /** Where the granted expiry goes in the REGISTER 200 (default both). */
  expiresIn?: 'header' | 'contact' | 'both';
  /** Challenge every REGISTER, refreshes included (each nonce is good for one REGISTER). */
  rechallengeEveryRefresh?: boolean;
  /** Alert-Info as the bare DID (seed 000) or as `<sip:DID@host>`. Default bare. */
  alertInfo?: 'bare' | 'uri';
}

export interface CarrierOptions {
  realm: string;
  /** Trunk accounts: username → password. */
  accounts: Record<string, string>;
  /** Seconds granted to every registration (default: what the PBX asked). */
  grantExpires?: number;
  /** Challenge outbound INVITEs with 407 (default true). */
  challengeInvite?: boolean;
  /** Concurrent calls allowed on the trunk; call limit+1 is refused with `refuseCode`. */
  channelLimit?: { limit: number; refuseCode: number };
  /** What to do with an authenticated outbound INVITE (default `steps`). */
  answer?: CarrierAnswer;
  /** Ring this long before answering (answer mode), ms. Default 100. */
  ringMs?: number;
  /** Send 183 Session Progress with SDP before the 200 (seed 000 §3.2.7). */
  earlyMedia?: boolean;
  quirks?: CarrierQuirks;
  now?: () => number;
}

export class Carrier implements Persona {
  readonly kind = 'carrier' as const;
  readonly registrar: Registrar;
  readonly digest: DigestServer;
  /** Authenticated outbound INVITEs, in order (what the PBX sent after answering the 407). */
  readonly invites: SipMessage[] = [];
  /** INVITEs refused because the trunk was full. */
  readonly refusedForLimit: SipMessage[] = [];
  private ua: UserAgent | undefined = undefined;
  private readonly calls: UasCall[] = [];
  private readonly usedNonces = new Set<string>();
  private readonly opts: CarrierOptions;

  private sink: ObservationSink | undefined = undefined;

  constructor(opts: CarrierOptions) {
    this.opts = opts;
    const realm = opts.quirks?.realmSpaces ? ` ${opts.realm.trim()} ` : opts.realm;
    // Seed 000's carrier challenges with MD5 and no qop.
    this.digest = new DigestServer({ realm, algorithm: 'MD5', qop: [], now: opts.now });
    this.registrar = new Registrar({ grantExpires: opts.grantExpires, now: opts.now });
  }

  async start(ua: UserAgent, sink?: ObservationSink): Promise<void> {
    this.ua = ua;
    this.sink = sink;
  }

  async stop(): Promise<void> {
    this.ua = undefined;
  }

  /** Registration events of one user (or all), for refresh and lapse checks. */
  registrations(user?: string): RegistrationEvent[] {
    return user === undefined ? this.registrar.history : this.registrar.history.filter((e) => e.aor.includes(`:${user}@`));
  }

  /** Calls on the trunk now (ringing or answered). */
  get activeCalls(): number {
    let n = 0;
    for (const c of this.calls) if (c.state === 'ringing' || c.state === 'answered' || c.state === 'established') n++;
    return n;
  }

  handleRequest(req: SipMessage, tx: ServerTransaction): boolean {
    if (req.method === 'REGISTER') {
      // Steps see the REGISTERs the carrier accepted (after authentication), not the challenged ones.
      if (this.register(req, tx)) this.sink?.observe(req);
      return true;
    }
    if (req.method === 'OPTIONS') {
      tx.respond(this.response(req, 200, [['Allow', 'INVITE, ACK, CANCEL, OPTIONS, BYE']]));
      return true;
    }
    return false;
  }

  handleInvite(call: UasCall): boolean {
    const req = call.invite;
    if ((this.opts.challengeInvite ?? true) && !this.authorized(req, 'proxy-authorization')) {
      call.respond(407, { headers: [['Proxy-Authenticate', this.digest.challenge()], ...this.extra()] });
      this.sink?.observe(req);
      return true;
    }
    this.invites.push(req);
    this.prune();
    const limit = this.opts.channelLimit;
    if (limit && this.activeCalls >= limit.limit) {
      this.refusedForLimit.push(req);
      call.respond(limit.refuseCode, { headers: this.extra() });
      this.sink?.observe(req);
      return true;
    }
    this.calls.push(call);
    const mode = this.opts.answer ?? 'steps';
    if (mode === 'steps') return false;
    this.sink?.observe(req);
    return answerWith(
      call,
      { mode, ringMs: this.opts.ringMs, earlyMedia: this.opts.earlyMedia, headers: this.extra() },
      this.ua?.local.host ?? '127.0.0.1',
    );
  }

  /**
   * How to send an inbound call to the PBX for `did`: Request-URI and To carry the DID, and
   * Alert-Info too (seed 000 §3.4.1: `Alert-info: 0312345678`).
   */
  inboundCall(did: string, pbx: Address, caller = '0312340000'): { uri: string; opts: OutgoingOptions } {
    const host = uriHost(pbx.host);
    const local = this.ua ? `${uriHost(this.ua.local.host)}:${this.ua.local.port}` : host;
    const alert = this.opts.quirks?.alertInfo === 'uri' ? `<sip:${did}@${host}>` : did;
    return {
      uri: `sip:${did}@${host}:${pbx.port}`,
      opts: {
        dest: pbx,
        from: `"${caller}" <sip:${caller}@${local}>`,
        to: `<sip:${did}@${host}:${pbx.port}>`,
        headers: [['Alert-Info', alert]],
        body: serializeSdp(createOffer({ address: this.ua?.local.host ?? '127.0.0.1', port: 41000 })),
        contentType: 'application/sdp',
      },
    };
  }

  // ---- internals ----

  /** RFC 3261 §10.3: authenticate, then update bindings; 200 lists the bindings. True when accepted. */
  private register(req: SipMessage, tx: ServerTransaction): boolean {
    if (!this.authorized(req, 'authorization')) {
      tx.respond(this.response(req, 401, [['WWW-Authenticate', this.digest.challenge()]]));
      return false;
    }
    const outcome = this.registrar.apply(req);
    if (outcome.status !== 200) {
      const headers: Array<[string, string]> = outcome.minExpires ? [['Min-Expires', String(outcome.minExpires)]] : [];
      tx.respond(this.response(req, outcome.status, headers, outcome.reason));
      return false;
    }
    const where = this.opts.quirks?.expiresIn ?? 'both';
    const headers: Array<[string, string]> = [];
    if (!this.opts.quirks?.noContactIn200) {
      const now = (this.opts.now ?? Date.now)();
      for (const b of outcome.bindings) {
        const left = Math.max(0, Math.round((b.expiresAt - now) / 1000));
        headers.push(['Contact', where === 'header' ? `<${b.contact}>` : `<${b.contact}>;expires=${left}`]);
      }
    }
    if (where !== 'contact') headers.push(['Expires', String(outcome.granted)]);
    headers.push(['Date', new Date().toUTCString()]);
    tx.respond(this.response(req, 200, headers));
    return true;
  }

  /** Verify credentials in `header`; with rechallengeEveryRefresh a nonce is good once. */
  private authorized(req: SipMessage, header: 'authorization' | 'proxy-authorization'): boolean {
    const value = req.get(header);
    if (!value) return false;
    const result = this.digest.verify(value, {
      method: req.method,
      uri: req.requestUri,
      body: req.body,
      lookupPassword: (user) => this.opts.accounts[user],
    });
    if (!result.ok) return false;
    if (this.opts.quirks?.rechallengeEveryRefresh && req.method === 'REGISTER') {
      const nonce = /nonce="([^"]*)"/.exec(value)?.[1] ?? '';
      if (this.usedNonces.has(nonce)) return false;
      this.usedNonces.add(nonce);
    }
    return true;
  }

  private response(req: SipMessage, status: number, headers: Array<[string, string]>, reason?: string): SipMessage {
    const res = createResponse(req, status, { reason, headers: [...headers, ...this.extra()] });
    if (this.opts.quirks?.compactHeaders) compact(res);
    return res;
  }

  private extra(): Array<[string, string]> {
    return this.opts.quirks?.extraHeaders ?? [];
  }

  private prune(): void {
    for (let i = this.calls.length - 1; i >= 0; i--) {
      const s = this.calls[i].state;
      if (s === 'terminated' || s === 'rejected' || s === 'cancelled') this.calls.splice(i, 1);
    }
  }
}

const COMPACT_BY_NAME = new Map([...COMPACT_FORMS].map(([letter, name]) => [name.toLowerCase(), letter]));

/** Rename headers to their compact forms (RFC 3261 §7.3.3), a quirk some carriers have. */
function compact(msg: SipMessage): void {
  // The serializer would add a missing Content-Length in its long form: add it here to be renamed.
  if (!msg.has('content-length')) msg.append('Content-Length', String(msg.body.length));
  for (const h of msg.headers) {
    const letter = COMPACT_BY_NAME.get(h.key);
    if (letter) h.name = letter;
  }
}
