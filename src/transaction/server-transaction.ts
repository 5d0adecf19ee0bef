/**
 * Server transactions (RFC 3261 §17.2, as updated by RFC 6026 §7.1).
 *
 * INVITE:     proceeding → completed (3xx-6xx) → confirmed (ACK) → terminated (Timer I)
 *                        ↘ accepted (2xx, RFC 6026) → terminated (Timer L)
 * non-INVITE: trying → proceeding → completed → terminated (Timer J)
 */
import { StateError } from '../errors.js';
import type { SipMessage } from '../sip/message.js';
import { serializeMessage } from '../sip/serialize.js';
import type { TimerHandle, TimerTarget } from './timer-queue.js';
import { TimerKind, type TimerValues } from './timers.js';
import type { Hop, TransactionHost } from './transaction-host.js';

export type ServerState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/** Shared by INVITE and non-INVITE server transactions. */
export abstract class ServerTransaction implements TimerTarget {
  state: ServerState;
  readonly key: string;
  readonly request: SipMessage;
  /** Where responses go: back to the request's source (RFC 3261 §18.2.2, RFC 3581 §4). */
  readonly hop: Hop;
  /** Last response sent, re-sent on a retransmitted request. */
  lastResponse: SipMessage | undefined = undefined;
  protected lastBytes: Buffer | undefined = undefined;
  /** Retransmitted requests absorbed by this transaction. */
  requestRetransmissions = 0;
  /** Responses this transaction retransmitted (Timer G). */
  responseRetransmissions = 0;
  protected retransmitTimer: TimerHandle | undefined = undefined;
  protected timeoutTimer: TimerHandle | undefined = undefined;
  protected readonly tv: TimerValues;

  constructor(
    protected readonly host: TransactionHost,
    request: SipMessage,
    hop: Hop,
    key: string,
    initial: ServerState,
  ) {
    this.request = request;
    this.hop = hop;
    this.key = key;
    this.state = initial;
    this.tv = host.timerValues(hop.transport.reliable);
  }

  get method(): string {
    return this.request.method;
  }

  /** True once a final response has been sent. */
  get answered(): boolean {
    return this.state !== 'trying' && this.state !== 'proceeding';
  }

  /** Send a response built by the TU (see `createResponse`). Throws on an illegal transition. */
  abstract respond(res: SipMessage): void;
  /**
   * The same request arrived again (a retransmission), or an ACK for an INVITE. Returns true
   * when the transaction does not absorb it and the layer must pass it to the TU (an ACK in
   * Accepted, RFC 6026 §7.1); false when it was absorbed.
   */
  abstract receive(req: SipMessage): boolean;
  abstract onTimer(kind: number): void;

  protected transmit(res: SipMessage): void {
    this.lastResponse = res;
    this.lastBytes = serializeMessage(res);
    this.host.send(this.lastBytes, this.hop);
  }

  /** Bytes of the last response sent (the UAS core re-sends a 2xx itself, RFC 3261 §13.3.1.4). */
  get lastSentBytes(): Buffer | undefined {
    return this.lastBytes;
  }

  protected resendLast(): void {
    if (this.lastBytes) this.host.send(this.lastBytes, this.hop);
  }

  protected schedule(kind: number, ms: number): TimerHandle {
    return this.host.queue.schedule(this, kind, ms);
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.host.queue.cancel(this.retransmitTimer);
    this.host.queue.cancel(this.timeoutTimer);
    this.state = 'terminated';
    this.host.removeServer(this);
  }

  protected illegal(what: string): never {
    throw new StateError('ERR_TRANSACTION_STATE', `${this.method} server transaction in state ${this.state} cannot ${what}`);
  }
}

/** RFC 3261 §17.2.1 INVITE server transaction with the RFC 6026 Accepted state. */
export class InviteServerTransaction extends ServerTransaction {
  private interval: number;

  constructor(host: TransactionHost, request: SipMessage, hop: Hop, key: string) {
    super(host, request, hop, key, 'proceeding');
    this.interval = host.config.t1;
  }

  respond(res: SipMessage): void {
    const s = res.status;
    if (this.state === 'accepted' && s >= 200 && s < 300) {
      // RFC 6026 §8.7: "Any retransmission of the 2xx response passed from the TU to the
      // transaction while in the 'Accepted' state MUST be passed to the transport layer".
      this.transmit(res);
      return;
    }
    if (this.state !== 'proceeding') this.illegal(`send ${s}`);
    this.transmit(res);
    if (s < 200) return;
    if (s < 300) {
      // RFC 6026 §7.1: Accepted; the TU retransmits the 2xx until its ACK (§13.3.1.4).
      this.state = 'accepted';
      this.timeoutTimer = this.schedule(TimerKind.L, this.tv.L);
      return;
    }
    this.state = 'completed';
    if (this.tv.G !== null) this.retransmitTimer = this.schedule(TimerKind.G, this.tv.G);
    this.timeoutTimer = this.schedule(TimerKind.H, this.tv.H);
  }

  receive(req: SipMessage): boolean {
    if (req.method === 'ACK') {
      // RFC 6026 §7.1: "Any ACKs received from the network while in the 'Accepted' state MUST
      // be passed directly to the TU and not absorbed" (an RFC 2543 peer's ACK for our 2xx, or
      // one that reused the INVITE's branch, matches this transaction).
      if (this.state === 'accepted') return true;
      if (this.state === 'completed') {
        // §17.2.1: ACK for a non-2xx moves to Confirmed; Timer G stops.
        this.host.queue.cancel(this.retransmitTimer);
        this.host.queue.cancel(this.timeoutTimer);
        this.state = 'confirmed';
        if (this.tv.I > 0) this.timeoutTimer = this.schedule(TimerKind.I, this.tv.I);
        else this.terminate();
      } else if (this.state === 'confirmed') {
        this.host.stats.retransmissionsReceived++;
      }
      return false;
    }
    // A retransmitted INVITE: re-send the last provisional or final; absorbed in Accepted.
    this.requestRetransmissions++;
    this.host.stats.retransmissionsReceived++;
    if (this.state === 'proceeding' || this.state === 'completed') this.resendLast();
    return false;
  }

  onTimer(kind: number): void {
    switch (kind) {
      case TimerKind.G:
        if (this.state !== 'completed') return;
        this.responseRetransmissions++;
        this.host.stats.retransmissionsSent++;
        this.resendLast();
        this.interval = Math.min(this.interval * 2, this.host.config.t2); // §17.2.1: capped at T2
        this.retransmitTimer = this.schedule(TimerKind.G, this.interval);
        return;
      case TimerKind.H:
        if (this.state !== 'completed') return;
        this.terminate();
        this.host.stats.timeouts++;
        this.host.ackTimeout(this);
        return;
      case TimerKind.I:
      case TimerKind.L:
        this.terminate();
        return;
    }
  }
}

/** RFC 3261 §17.2.2 non-INVITE server transaction. */
export class NonInviteServerTransaction extends ServerTransaction {
  constructor(host: TransactionHost, request: SipMessage, hop: Hop, key: string) {
    super(host, request, hop, key, 'trying');
  }

  respond(res: SipMessage): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') this.illegal(`send ${res.status}`);
    this.transmit(res);
    if (res.status < 200) {
      this.state = 'proceeding';
      return;
    }
    this.state = 'completed';
    if (this.tv.J > 0) this.timeoutTimer = this.schedule(TimerKind.J, this.tv.J);
    else this.terminate();
  }

  receive(_req: SipMessage): boolean {
    // §17.2.2: retransmissions are absorbed in Trying, answered with the last response after.
    this.requestRetransmissions++;
    this.host.stats.retransmissionsReceived++;
    if (this.state === 'proceeding' || this.state === 'completed') this.resendLast();
    return false;
  }

  onTimer(kind: number): void {
    if (kind === TimerKind.J) this.terminate();
  }
}
