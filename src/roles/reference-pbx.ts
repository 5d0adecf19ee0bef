/**
 * An embedded reference PBX: a small, correct back-to-back user agent that behaves like the
 * Asterisk of seed 000 (sip.conf / extensions.conf of §2.1–§2.2, traces of §3), so the pbx/
 * conformance suite can be shown to pass against a good PBX — and, with {@link Fault}s
 * switched on, to catch a broken one.
 *
 * - Trunk: registers the trunk account at the carrier with digest auth (answers its 401), asks
 *   Expires 3600, refreshes 15 s before the granted expiry, unregisters (Expires: 0) on stop.
 *   The carrier's OPTIONS get 200 (the UA core answers them, RFC 3261 §11.2).
 * - Extensions register here: REGISTER challenged with 401 (realm `reference-pbx`, MD5, no
 *   qop, as Asterisk 1.6 does), bindings kept by {@link Registrar} (RFC 3261 §10.3).
 * - Outbound (`[outbound-N]`, `_0.` / `_1.`): a phone's INVITE is challenged with 407
 *   Proxy-Authenticate, as chan_sip does for INVITEs; a number with an outbound prefix is
 *   dialled at the carrier with the extension's caller-ID in the From user part (seed §3.2).
 *   Three-digit extension numbers ring that extension (`_XXX`).
 * - Inbound (`[inbound]`, `insecure=port,invite`): INVITEs from the carrier are trusted without
 *   a challenge; the DID is the Request-URI user, else the To user; the DID's extension rings
 *   for `noAnswerSeconds`, then the carrier gets 480 (Asterisk's NOANSWER).
 * - Channel limits (`GROUP` / `GROUP_COUNT`): inbound DID calls count per group while ringing
 *   or answered; the call over the limit is refused with the group's code. The count is taken
 *   and the slot claimed in one synchronous step, so a burst of INVITEs cannot overshoot.
 */
import { DigestServer, type DigestVerifyResult } from '../auth/digest-server.js';
import type { UasCall } from '../dialog/uas-call.js';
import { UserAgent } from '../dialog/user-agent.js';
import { createResponse } from '../sip/builders.js';
import type { SipMessage } from '../sip/message.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import { formatAddress, uriHost, type Address } from '../transport/transport.js';
import { Bridge } from './reference-pbx-bridge.js';
import { checkOptions, type ChannelLimit, type ExtensionOptions, type Fault, type ReferencePbxOptions } from './reference-pbx-options.js';
import { Registrar } from './registrar.js';
import { RegistrationClient } from './registration-client.js';

export { FAULTS, type ChannelLimit, type ExtensionOptions, type Fault, type ReferencePbxOptions, type TrunkOptions } from './reference-pbx-options.js';

export class ReferencePbx {
  /** Where the PBX listens for SIP. */
  readonly address: Address;
  readonly ua: UserAgent;
  /** Phones' bindings. */
  readonly registrar: Registrar;
  /** The challenges to phones (REGISTER 401, INVITE 407). */
  readonly digest: DigestServer;
  /** The trunk registration at the carrier. */
  readonly trunk: RegistrationClient;
  readonly faults: ReadonlySet<Fault>;
  private readonly opts: ReferencePbxOptions;
  private readonly extensions: Map<string, ExtensionOptions>;
  private readonly dids: Map<string, string>;
  private readonly limits: Map<string, ChannelLimit>;
  private readonly inUse = new Map<string, number>();
  /** Extension → the AOR it registered (its To URI). */
  private readonly aors = new Map<string, string>();
  private readonly bridges = new Set<Bridge>();
  private readonly domain: string;
  /** Re-registers the trunk when a REGISTER (first or refresh) failed or the binding ran out. */
  private readonly watchdog: NodeJS.Timeout;
  private registering = false;
  private stopped = false;

  private constructor(ua: UserAgent, opts: ReferencePbxOptions) {
    this.ua = ua;
    this.opts = opts;
    this.address = ua.local;
    this.faults = new Set(opts.faults ?? []);
    this.extensions = new Map(Object.entries(opts.extensions));
    this.dids = new Map(Object.entries(opts.dids).map(([did, ext]) => [did, String(ext)]));
    this.limits = new Map((opts.channelLimits ?? []).map((l) => [l.did, l]));
    this.domain = opts.trunk.domain ?? `${uriHost(opts.carrier.host)}:${opts.carrier.port}`;
    this.registrar = new Registrar({ defaultExpires: 3600, maxExpires: 3600 });
    // Asterisk 1.6 challenges with MD5 and no qop (RFC 2069 form).
    this.digest = new DigestServer({ realm: opts.realm ?? 'reference-pbx', algorithm: 'MD5', qop: [] });
    this.trunk = new RegistrationClient(ua, {
      registrar: opts.carrier,
      domain: opts.trunk.domain,
      username: opts.trunk.username,
      password: opts.trunk.password,
      expires: opts.trunk.expires ?? 3600,
      refresh: { marginS: opts.trunk.refreshMarginS ?? 15 },
      noRefresh: this.faults.has('no-refresh'),
    });
    ua.onInvite = (call) => this.onInvite(call);
    ua.onNewRequest = (req, tx) => this.onNewRequest(req, tx);
    this.watchdog = setInterval(() => this.checkTrunk(), (opts.trunk.retryS ?? 20) * 1000);
    this.watchdog.unref();
  }

  /** Bind, then register the trunk in the background (see {@link waitForTrunk}). */
  static async start(opts: ReferencePbxOptions): Promise<ReferencePbx> {
    checkOptions(opts);
    const ua = await UserAgent.create({
      transport: opts.transport ?? 'udp',
      host: opts.listen?.host ?? '127.0.0.1',
      port: opts.listen?.port ?? 0,
      user: opts.trunk.username,
      timers: opts.timers,
    });
    const pbx = new ReferencePbx(ua, opts);
    void pbx.registerTrunk();
    return pbx;
  }

  /** Resolves true once the trunk is registered, false after `timeoutMs`. */
  async waitForTrunk(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.trunkRegistered) return true;
      if (Date.now() >= deadline || this.stopped) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** True when the last trunk REGISTER succeeded and its grant has not run out. */
  get trunkRegistered(): boolean {
    const last = this.trunk.attempts.at(-1);
    return !!last && last.status < 300 && last.expires > 0 && Date.now() < last.at + last.granted * 1000;
  }

  /** Calls of a channel group now (ringing or answered). */
  channelsInUse(group: string): number {
    return this.inUse.get(group) ?? 0;
  }

  /** Calls going through the PBX now. */
  get activeCalls(): number {
    return this.bridges.size;
  }

  /**
   * Hang up what is still up, unregister the trunk (Expires: 0, RFC 3261 §10.2.2; not with the
   * `no-unregister` fault), close the socket.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.watchdog);
    for (const b of [...this.bridges]) b.close();
    const everRegistered = this.trunk.attempts.some((a) => a.status < 300 && a.expires > 0);
    if (everRegistered && !this.faults.has('no-unregister')) {
      const grace = new Promise<void>((r) => setTimeout(r, this.opts.stopGraceMs ?? 2000).unref());
      await Promise.race([this.trunk.unregister().catch(() => undefined), grace]);
    } else {
      this.trunk.stop();
      await new Promise((r) => setTimeout(r, 20)); // let the BYEs and CANCELs leave
    }
    await this.ua.close();
  }

  // ---- trunk ----

  /** One REGISTER exchange (the refreshes are the RegistrationClient's own timer). */
  private async registerTrunk(): Promise<void> {
    if (this.stopped || this.registering) return;
    this.registering = true;
    try {
      if (this.faults.has('no-auth-retry')) await this.registerWithoutCredentials();
      else await this.trunk.register();
    } catch {
      // an unreadable challenge: counted as a failed attempt, the watchdog tries again
    } finally {
      this.registering = false;
    }
  }

  /** Fault `no-auth-retry`: one REGISTER, its 401 left unanswered (the trunk never registers). */
  private async registerWithoutCredentials(): Promise<void> {
    const { carrier, trunk } = this.opts;
    const aor = `<sip:${trunk.username}@${trunk.domain ?? uriHost(carrier.host)}>`;
    const uri = trunk.domain ? `sip:${trunk.domain}` : `sip:${uriHost(carrier.host)}:${carrier.port}`;
    await this.ua.request('REGISTER', uri, { dest: carrier, from: aor, to: aor, headers: [['Expires', String(trunk.expires ?? 3600)]] });
  }

  /**
   * Asterisk's `registertimeout`: every `retryS`, register again when the trunk is not
   * registered — the first REGISTER failed, or a refresh did (the RegistrationClient does not
   * retry those). With `no-refresh` a lapsed binding stays lapsed.
   */
  private checkTrunk(): void {
    if (this.stopped || this.registering || this.trunkRegistered) return;
    if (this.faults.has('no-refresh') && this.trunk.attempts.some((a) => a.status < 300)) return;
    void this.registerTrunk();
  }

  // ---- requests ----

  private onNewRequest(req: SipMessage, tx: ServerTransaction): boolean {
    if (req.method !== 'REGISTER') return false; // OPTIONS: 200 from the core; others 405
    try {
      this.onRegister(req, tx);
    } catch {
      tx.respond(createResponse(req, 400)); // a header that does not parse (To, Contact …)
    }
    return true;
  }

  /** RFC 3261 §10.3: authenticate (step 3), the AOR must be the user's own (step 4), apply. */
  private onRegister(req: SipMessage, tx: ServerTransaction): void {
    const checked = this.authenticate(req, 'authorization');
    if (!checked.ok) {
      tx.respond(createResponse(req, checked.status, { reason: checked.reason, headers: checked.headers }));
      return;
    }
    const user = checked.username;
    if (req.to.uri.user !== user) {
      tx.respond(createResponse(req, 403, { reason: `Forbidden (${user} may not register ${req.to.uri.user ?? 'that AOR'})` }));
      return;
    }
    const outcome = this.registrar.apply(req);
    if (outcome.status !== 200) {
      const headers: Array<[string, string]> = outcome.minExpires ? [['Min-Expires', String(outcome.minExpires)]] : [];
      tx.respond(createResponse(req, outcome.status, { reason: outcome.reason, headers }));
      return;
    }
    this.aors.set(user, Registrar.aorOf(req));
    const now = Date.now();
    const headers: Array<[string, string]> = outcome.bindings.map((b) => [
      'Contact',
      `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`,
    ]);
    headers.push(['Expires', String(outcome.granted)], ['Date', new Date(now).toUTCString()]);
    tx.respond(createResponse(req, 200, { headers }));
  }

  private onInvite(call: UasCall): void {
    if (this.stopped) {
      call.respond(503);
      return;
    }
    try {
      if (this.fromCarrier(call.invite)) this.inbound(call);
      else this.outbound(call);
    } catch {
      if (!call.tx.answered) call.respond(400); // a header that does not parse (From, To, Request-URI …)
    }
  }

  /**
   * `insecure=port,invite`: an INVITE from the carrier's host is the carrier's, whatever its
   * source port. On one host (loopback) phones share that host, so a request that carries
   * Proxy-Authorization or whose From user is one of our extensions is a phone's, unless it
   * came from the carrier's own port or names it in its Via.
   */
  private fromCarrier(req: SipMessage): boolean {
    const origin = req.origin;
    const carrier = this.opts.carrier;
    if (!origin || !sameHost(origin.remoteHost, carrier.host)) return false;
    if (origin.remotePort === carrier.port) return true;
    const via = req.topVia;
    if (sameHost(via.host, carrier.host) && (via.port ?? 5060) === carrier.port) return true;
    if (req.has('proxy-authorization')) return false;
    return !this.extensions.has(req.from.uri.user ?? '');
  }

  /** A phone's call: 407 until it authenticates, then to the trunk or another extension. */
  private outbound(call: UasCall): void {
    const req = call.invite;
    const checked = this.authenticate(req, 'proxy-authorization');
    if (!checked.ok) {
      call.respond(checked.status, { reason: checked.reason, headers: checked.headers });
      return;
    }
    const ext = checked.username;
    const account = this.extensions.get(ext)!;
    const number = req.uri.user ?? '';
    const prefixes = this.opts.outboundPrefixes ?? ['0', '1'];
    if (number !== '' && prefixes.some((p) => number.startsWith(p))) {
      // Seed 000 §3.2: From "name" <sip:caller-ID@login domain>, the number in To and Request-URI.
      const callerId = this.faults.has('wrong-caller-id') ? ext : account.callerId;
      const display = account.displayName ?? req.from.displayName ?? ext;
      this.bridge(call, undefined, {
        uri: `sip:${number}@${this.domain}`,
        dest: this.opts.carrier,
        from: `${quoted(display)} <sip:${callerId}@${this.domain}>`,
        to: `<sip:${number}@${this.domain}>`,
        credentials: { username: this.opts.trunk.username, password: this.opts.trunk.password },
        ringSeconds: this.opts.trunkRingSeconds ?? 120,
      });
      return;
    }
    if (this.extensions.has(number)) {
      this.ringExtension(call, number, `${quoted(req.from.displayName ?? ext)} <sip:${ext}@${this.here}>`, undefined);
      return;
    }
    call.respond(404, { reason: `Not Found (no route for ${number || 'an empty number'})` });
  }

  /** A carrier's call to a DID: channel limit, then ring the DID's extension. */
  private inbound(call: UasCall): void {
    const req = call.invite;
    const did = [req.uri.user, req.to.uri.user].find((u) => u !== undefined && this.dids.has(u));
    if (did === undefined) {
      call.respond(404, { reason: `Not Found (no DID ${req.uri.user ?? req.to.uri.user ?? ''})` });
      return;
    }
    const group = this.limits.get(did);
    // Count and claim in one synchronous step: no await between GROUP_COUNT and GROUP.
    if (group && !this.takeChannel(group)) {
      call.respond(group.refuseCode, { reason: group.refuseCode === 486 ? 'Busy Here (channel limit)' : undefined });
      return;
    }
    const ext = this.faults.has('wrong-did-routing') ? [...this.extensions.keys()][0] : this.dids.get(did)!;
    const caller = req.from.uri.user ?? 'anonymous';
    const from = `${quoted(req.from.displayName ?? caller)} <sip:${caller}@${this.here}>`;
    this.ringExtension(call, ext, from, group);
  }

  private ringExtension(call: UasCall, ext: string, from: string, group: ChannelLimit | undefined): void {
    const contact = this.contactOf(ext);
    if (!contact) {
      if (group) this.releaseChannel(group);
      call.respond(480, { reason: `Temporarily Unavailable (extension ${ext} is not registered)` });
      return;
    }
    this.bridge(call, group, {
      uri: contact,
      from,
      to: `<sip:${ext}@${this.here}>`,
      ringSeconds: this.opts.noAnswerSeconds ?? 20,
    });
  }

  private bridge(call: UasCall, group: ChannelLimit | undefined, target: Parameters<Bridge['dial']>[0]): void {
    const bridge = new Bridge(this.ua, call, {
      dropBye: this.faults.has('drop-bye'),
      noAuthRetry: this.faults.has('no-auth-retry'),
      noCancelRelay: this.faults.has('no-cancel-relay'),
      wrongBusyCode: this.faults.has('wrong-busy-code'),
      onEnd: (b) => {
        this.bridges.delete(b);
        if (group) this.releaseChannel(group);
      },
    });
    this.bridges.add(bridge);
    bridge.dial(target);
  }

  // ---- channel groups ----

  /** GROUP_COUNT then GROUP in one step; false when the group is full. */
  private takeChannel(group: ChannelLimit): boolean {
    const inUse = this.inUse.get(group.name) ?? 0;
    if (!this.faults.has('ignore-channel-limit')) {
      // Correct: the new call would be call inUse + 1, refused when that exceeds the limit.
      // off-by-one: inUse (without the new call) compared with `>`, so limit + 1 get through.
      const full = this.faults.has('off-by-one-channel-limit') ? inUse > group.limit : inUse >= group.limit;
      if (full) return false;
    }
    this.inUse.set(group.name, inUse + 1);
    return true;
  }

  private releaseChannel(group: ChannelLimit): void {
    this.inUse.set(group.name, Math.max(0, (this.inUse.get(group.name) ?? 0) - 1));
  }

  // ---- helpers ----

  /** `host:port` of the PBX, for the From/To of the legs it places to phones. */
  private get here(): string {
    return formatAddress(this.address);
  }

  /** The newest live binding of an extension, if it is registered. */
  private contactOf(ext: string): string | undefined {
    const aor = this.aors.get(ext);
    return aor === undefined ? undefined : this.registrar.contacts(aor).at(-1)?.contact;
  }

  /**
   * RFC 3261 §22.3: verify credentials in `header` against our challenge; answer 401/407 with a
   * fresh challenge when there are none or their nonce is unknown or stale, 403 otherwise.
   */
  private authenticate(
    req: SipMessage,
    header: 'authorization' | 'proxy-authorization',
  ): { ok: true; username: string } | { ok: false; status: number; reason?: string; headers: Array<[string, string]> } {
    const status = header === 'authorization' ? 401 : 407;
    const challengeName = header === 'authorization' ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const value = req.get(header);
    const result: DigestVerifyResult | undefined = value
      ? this.digest.verify(value, {
          method: req.method,
          uri: req.requestUri,
          body: req.body,
          lookupPassword: (user) => this.extensions.get(user)?.password,
        })
      : undefined;
    if (result?.ok) return { ok: true, username: result.username };
    if (!result || result.reason === 'unknown-nonce' || result.reason === 'stale-nonce') {
      const stale = result?.reason === 'stale-nonce';
      return { ok: false, status, headers: [[challengeName, this.digest.challenge({ stale })]] };
    }
    return { ok: false, status: 403, reason: `Forbidden (${result.message})`, headers: [] };
  }
}

/** A display name as a quoted-string (RFC 3261 §25.1). */
function quoted(name: string): string {
  return `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** The same IP, ignoring IPv6 brackets and the IPv4-mapped prefix. */
function sameHost(a: string, b: string): boolean {
  const norm = (h: string): string => h.replace(/^\[|\]$/g, '').replace(/^::ffff:/i, '').toLowerCase();
  return norm(a) === norm(b);
}
