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
import { createResponse } from '../sip/builders.js';
import type { SipMessage } from '../sip/message.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import type { TimerConfig } from '../transaction/timers.js';
import { formatAddress, type Address, type TransportProtocol, type WireTap } from '../transport/transport.js';
import { Call } from './call.js';
import type { AutoBehaviour } from './model.js';
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
}

/** Parts of a response the caller may set. */
export interface ReplyOptions {
  reason?: string;
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  contentType?: string;
}

export class Party implements WireTap {
  readonly name: string;
  readonly ua: UserAgent;
  readonly target: Address | undefined;
  readonly ladder: LadderEntry[];
  readonly auto: AutoBehaviour;
  /** New out-of-dialog requests (INVITE, OPTIONS, REGISTER …) not yet claimed by a step. */
  private readonly incoming: Inbox;
  private readonly txOf = new WeakMap<SipMessage, ServerTransaction>();
  private readonly uasOf = new WeakMap<SipMessage, UasCall>();
  readonly calls = new Map<string, Call>();
  /** Calls that sent raw bytes, by Call-ID: their responses match no transaction. */
  private readonly rawCalls = new Map<string, Call>();

  private constructor(ua: UserAgent, opts: PartyOptions) {
    this.ua = ua;
    this.name = opts.name;
    this.target = opts.target;
    this.ladder = opts.ladder ?? [];
    this.auto = { trying: true, ack: true, bye: true, cancel: true, ...opts.auto };
    this.incoming = new Inbox(ua.layer.queue);
    ua.transport.tap = this;
    ua.onInvite = (call) => {
      this.uasOf.set(call.invite, call);
      this.incoming.push(call.invite);
    };
    ua.onUnmatchedResponse = (res) => this.rawCalls.get(res.callId)?.inbox.push(res);
    ua.onNewRequest = (req, tx) => {
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
    return new Party(ua, opts);
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
    const uac = this.ua.invite(uri, { ...opts, dest, autoAck: opts.autoAck ?? this.auto.ack });
    const call = new Call(name, this, { uac });
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
    const msg = await this.incoming.next((m) => m.method === method, timeoutMs);
    if (!msg) return undefined;
    const uas = this.uasOf.get(msg);
    if (uas) {
      const call = new Call(name, this, { uas });
      this.calls.set(name, call);
      return { msg, call };
    }
    return { msg };
  }

  /** Deliver responses with this Call-ID to `call` (used after sending raw bytes). */
  routeStray(callId: string, call: Call): void {
    this.rawCalls.set(callId, call);
  }

  /** Answer a non-INVITE incoming request claimed with {@link nextIncoming}. */
  reply(req: SipMessage, status: number, opts: ReplyOptions = {}): SipMessage {
    const tx = this.txOf.get(req);
    if (!tx) throw new Error(`no pending transaction for ${req.method} ${req.callId}`);
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
    const endings: Array<Promise<unknown>> = [];
    for (const call of this.calls.values()) endings.push(call.end());
    if (endings.length) {
      await Promise.race([Promise.allSettled(endings), new Promise((r) => setTimeout(r, graceMs).unref())]);
    }
    await this.ua.close();
  }
}
