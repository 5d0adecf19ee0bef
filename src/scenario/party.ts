/**
 * A party: one UA with its own socket, playing a role in a scenario or in the TypeScript API.
 * It records every message on its wire into the test's ladder, queues new incoming requests
 * until a step (or API call) claims them, and owns the calls it places or answers.
 * YAML steps and the API both go through this class: one implementation.
 */
import type { ClientOutcome } from '../dialog/client-outcome.js';
import { Inbox } from '../dialog/inbox.js';
import type { UasCall } from '../dialog/uas-call.js';
import { UserAgent, type OutgoingOptions } from '../dialog/user-agent.js';
import { SipwrightError } from '../errors.js';
import { createResponse } from '../sip/builders.js';
import type { SipMessage } from '../sip/message.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import type { TimerHandle, TimerQueue, TimerTarget } from '../transaction/timer-queue.js';
import type { TimerConfig } from '../transaction/timers.js';
import { formatAddress, type Address, type TransportProtocol, type WireTap } from '../transport/transport.js';
import { Call } from './call.js';
import type { AutoBehaviour } from './model.js';
import type { ObservationSink, Persona } from '../roles/persona.js';
import type { LadderEntry } from './result.js';

/** How to start a party. */
export interface PartyOptions {
  name: string;
  transport?: 'udp' | 'tcp';
  /** Bind address (default 127.0.0.1, any free port). */
  listen?: Address;
  /** Default destination of out-of-dialog requests. */
  target?: Address;
  /** User part of our Contact and default From. */
  user?: string;
  auto?: Partial<AutoBehaviour>;
  timers?: Partial<TimerConfig>;
  /** Where to record wire messages (default: the party's own list). */
  ladder?: LadderEntry[];
  /** Automatic behaviour (carrier, pbx, phone); started once the socket is bound. */
  persona?: Persona;
  /** Calls placed by a pbx or phone persona answer 401/407 with its account by themselves. */
  answerChallenges?: boolean;
}

/** Parts of a response the caller may set. */
export interface ReplyOptions {
  reason?: string;
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  contentType?: string;
}

export class Party implements WireTap, ObservationSink {
  readonly name: string;
  readonly ua: UserAgent;
  readonly target: Address | undefined;
  readonly ladder: LadderEntry[];
  readonly auto: AutoBehaviour;
  /** New out-of-dialog requests (INVITE, OPTIONS, REGISTER …) not yet claimed by a step. */
  private readonly incoming: IncomingRequests;
  private readonly txOf = new WeakMap<SipMessage, ServerTransaction>();
  private readonly uasOf = new WeakMap<SipMessage, UasCall>();
  readonly calls = new Map<string, Call>();
  readonly persona: Persona | undefined;
  private readonly answerChallenges: boolean;
  /** Requests the persona answered itself (REGISTERs at a carrier …), for steps to wait on. */
  private readonly observed: Inbox;
  /** Calls that sent raw bytes, by Call-ID: their responses match no transaction. */
  private readonly rawCalls = new Map<string, Call>();

  private constructor(ua: UserAgent, opts: PartyOptions) {
    this.ua = ua;
    this.name = opts.name;
    this.target = opts.target;
    this.ladder = opts.ladder ?? [];
    this.auto = { trying: true, ack: true, bye: true, cancel: true, ...opts.auto };
    this.incoming = new IncomingRequests(ua.layer.queue);
    this.observed = new Inbox(ua.layer.queue);
    this.persona = opts.persona;
    this.answerChallenges = opts.answerChallenges ?? false;
    ua.transport.tap = this;
    ua.onInvite = (call) => {
      if (this.persona?.handleInvite(call)) return;
      this.uasOf.set(call.invite, call);
      this.incoming.push(call.invite);
    };
    ua.onUnmatchedResponse = (res) => this.rawCalls.get(res.callId)?.inbox.push(res);
    ua.onNewRequest = (req, tx) => {
      if (this.persona?.handleRequest(req, tx)) return true;
      this.txOf.set(req, tx);
      this.incoming.push(req);
      return true;
    };
  }

  /** Bind the party's socket. A port in use is one clear error naming it. */
  static async start(opts: PartyOptions): Promise<Party> {
    const ua = await UserAgent.create({
      transport: opts.transport ?? 'udp',
      host: opts.listen?.host ?? '127.0.0.1',
      port: opts.listen?.port ?? 0,
      user: opts.user,
      timers: opts.timers,
      autoTrying: opts.auto?.trying ?? true,
    });
    const party = new Party(ua, opts);
    if (opts.persona) {
      try {
        await opts.persona.start(ua, party);
      } catch (err) {
        await ua.close();
        throw err;
      }
    }
    return party;
  }

  /** ObservationSink: a request the persona answered itself. */
  observe(req: SipMessage): void {
    this.observed.push(req);
  }

  /**
   * The next request of `method` that the persona answered itself (a REGISTER at a carrier,
   * a challenged INVITE …), or undefined after `timeoutMs`.
   */
  nextObserved(method: string, timeoutMs: number): Promise<SipMessage | undefined> {
    return this.observed.next((m) => m.method === method, timeoutMs);
  }

  get local(): Address {
    return this.ua.local;
  }

  get protocol(): TransportProtocol {
    return this.ua.protocol;
  }

  /** The call named `name` (default `call`), if it exists. */
  call(name = 'call'): Call | undefined {
    return this.calls.get(name);
  }

  /** Place a call: INVITE to `uri` (sent to `dest`, default the party's target). */
  invite(uri: string, opts: OutgoingOptions = {}, name = 'call'): Call {
    const dest = opts.dest ?? this.target;
    // A bare number (`0312345678`) is dialled at the destination: sip:0312345678@host:port.
    if (!uri.includes(':') && dest) uri = `sip:${uri}@${formatAddress(dest)}`;
    const uac = this.ua.invite(uri, { ...opts, dest, autoAck: opts.autoAck ?? this.auto.ack });
    const call = new Call(name, this, { uac });
    // With answerChallenges, a pbx or phone persona answers the 401/407 on its calls with its account.
    const creds = (this.persona as { credentials?: { username: string; password: string } } | undefined)?.credentials;
    if (creds && this.answerChallenges) call.autoAuth = creds;
    this.calls.set(name, call);
    return call;
  }

  /** An out-of-dialog request other than INVITE; resolves with its outcome. */
  request(method: string, uri: string, opts: OutgoingOptions = {}): Promise<ClientOutcome> {
    return this.ua.request(method, uri, { ...opts, dest: opts.dest ?? this.target });
  }

  /**
   * Claim the next new incoming request of `method` (other methods stay queued). An INVITE
   * becomes the call `name`. Undefined after `timeoutMs`.
   */
  async nextIncoming(method: string, timeoutMs: number, name = 'call'): Promise<{ msg: SipMessage; call?: Call } | undefined> {
    const msg = await this.incoming.claim(method, timeoutMs);
    if (!msg) return undefined;
    const uas = this.uasOf.get(msg);
    if (uas) {
      const call = new Call(name, this, { uas });
      this.calls.set(name, call);
      return { msg, call };
    }
    return { msg };
  }

  /** New incoming requests no step has claimed yet, oldest first (for failure messages). */
  unclaimed(): readonly SipMessage[] {
    return this.incoming.unclaimed;
  }

  /** Deliver responses with this Call-ID to `call` (used after sending raw bytes). */
  routeStray(callId: string, call: Call): void {
    this.rawCalls.set(callId, call);
  }

  /** Answer a non-INVITE incoming request claimed with {@link nextIncoming}. */
  reply(req: SipMessage, status: number, opts: ReplyOptions = {}): SipMessage {
    const tx = this.txOf.get(req);
    if (!tx) {
      // In-dialog requests (BYE, INFO, re-INVITE …) and CANCEL are answered by the UA core itself.
      throw new SipwrightError('ERR_SCENARIO', `cannot send ${status} to ${req.method}: the UA core already answered it (Call-ID ${req.callId})`);
    }
    const res = createResponse(req, status, opts);
    tx.respond(res);
    return res;
  }

  /** WireTap: every message both ways goes into the ladder. */
  onWire(direction: 'in' | 'out', bytes: Buffer, local: Address, remote: Address, protocol: TransportProtocol, at: number): void {
    this.ladder.push({ at, direction, party: this.name, protocol, local: formatAddress(local), remote: formatAddress(remote), bytes });
  }

  /**
   * End what is still open (BYE for established calls, CANCEL for ringing ones, best effort,
   * waiting at most `graceMs`) and close the socket.
   */
  async close(graceMs = 2000): Promise<void> {
    // Requests no step claimed still get an answer, so the peer is not left retransmitting.
    for (const req of this.unclaimed()) {
      try {
        const uas = this.uasOf.get(req);
        if (uas && !uas.tx.answered) uas.respond(480);
        const tx = this.txOf.get(req);
        if (tx && !tx.answered) tx.respond(createResponse(req, 480));
      } catch {
        // best effort
      }
    }
    const endings: Array<Promise<unknown>> = [];
    for (const call of this.calls.values()) endings.push(call.end());
    if (endings.length) {
      await Promise.race([Promise.allSettled(endings), new Promise((r) => setTimeout(r, graceMs).unref())]);
    }
    await this.persona?.stop();
    this.incoming.close();
    await this.ua.close();
  }
}

/** One step waiting for a new request of `method`; its timeout runs in the layer's timer queue. */
class Claim implements TimerTarget {
  timer: TimerHandle | undefined = undefined;
  constructor(
    readonly method: string,
    readonly resolve: (msg: SipMessage | undefined) => void,
    private readonly owner: IncomingRequests,
  ) {}

  onTimer(): void {
    this.owner.withdraw(this);
    this.resolve(undefined);
  }
}

/**
 * New incoming requests, claimed by method. Unlike an {@link Inbox}, several steps may wait at
 * once (the branches of a `parallel` step each expecting an INVITE): each request goes to the
 * longest-waiting claim for its method, else stays unclaimed, in order, for a later one.
 */
class IncomingRequests {
  readonly unclaimed: SipMessage[] = [];
  private readonly claims: Claim[] = [];
  private closed = false;

  constructor(private readonly queue: TimerQueue) {}

  push(msg: SipMessage): void {
    const i = this.claims.findIndex((c) => c.method === msg.method);
    if (i < 0) {
      this.unclaimed.push(msg);
      return;
    }
    const [claim] = this.claims.splice(i, 1);
    this.queue.cancel(claim.timer);
    claim.resolve(msg);
  }

  /** The oldest unclaimed request of `method`, or the next to come; undefined after `timeoutMs`. */
  claim(method: string, timeoutMs: number): Promise<SipMessage | undefined> {
    const i = this.unclaimed.findIndex((m) => m.method === method);
    if (i >= 0) return Promise.resolve(this.unclaimed.splice(i, 1)[0]);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const claim = new Claim(method, resolve, this);
      claim.timer = this.queue.schedule(claim, 0, timeoutMs);
      this.claims.push(claim);
    });
  }

  withdraw(claim: Claim): void {
    const i = this.claims.indexOf(claim);
    if (i >= 0) this.claims.splice(i, 1);
  }

  /** Every wait ends with undefined. */
  close(): void {
    this.closed = true;
    for (const claim of this.claims.splice(0)) {
      this.queue.cancel(claim.timer);
      claim.resolve(undefined);
    }
  }
}
