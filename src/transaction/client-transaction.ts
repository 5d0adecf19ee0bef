/**
 * Client transactions (RFC 3261 §17.1, as updated by RFC 6026 §7.2).
 *
 * INVITE:     calling → proceeding → completed (non-2xx, ACK sent here) → terminated
 *                                 ↘ accepted (2xx, RFC 6026) → terminated (Timer M)
 * non-INVITE: trying → proceeding → completed → terminated (Timer K)
 *
 * The state logic is `step(input)` per kind; the lifecycle (timers, sending, removal) lives in
 * the shared base and the layer.
 */
import { StateError } from '../errors.js';
import type { SipMessage } from '../sip/message.js';
import { serializeMessage } from '../sip/serialize.js';
import type { TimerHandle, TimerTarget } from './timer-queue.js';
import { TimerKind, type TimerValues } from './timers.js';
import type { ClientTransactionUser } from './transaction-user.js';
import type { Hop, TransactionHost } from './transaction-host.js';

export type ClientState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

/** Shared by INVITE and non-INVITE client transactions. */
export abstract class ClientTransaction implements TimerTarget {
  state: ClientState;
  readonly key: string;
  readonly request: SipMessage;
  readonly bytes: Buffer;
  readonly hop: Hop;
  /** When the request was first sent (layer clock, ms). */
  readonly startedAt: number;
  /** Retransmissions of the request sent by this transaction. */
  retransmissions = 0;
  /** Final response received, when there is one. */
  finalResponse: SipMessage | undefined = undefined;
  protected retransmitTimer: TimerHandle | undefined = undefined;
  protected timeoutTimer: TimerHandle | undefined = undefined;
  private started = false;
  protected interval: number;
  /** Timer values for this transaction's transport (reliable or not). */
  protected readonly tv: TimerValues;

  constructor(
    protected readonly host: TransactionHost,
    request: SipMessage,
    hop: Hop,
    readonly user: ClientTransactionUser,
    key: string,
    initial: ClientState,
  ) {
    this.request = request;
    this.hop = hop;
    this.key = key;
    this.state = initial;
    this.bytes = serializeMessage(request);
    this.startedAt = host.clock.now();
    this.interval = host.config.t1;
    this.tv = host.timerValues(hop.transport.reliable);
  }

  get method(): string {
    return this.request.method;
  }

  /** Send the request and arm the first timers (called once by the layer; a second call throws StateError). */
  abstract start(): void;
  /** A response matched this transaction. */
  abstract receive(res: SipMessage): void;
  abstract onTimer(kind: number): void;

  /** The transport failed: the TU hears of it once and the transaction ends (§8.1.3.1). */
  transportError(err: Error): void {
    if (this.state === 'terminated' || this.state === 'completed' || this.state === 'accepted') return;
    this.terminate();
    this.user.onTransportError(this, err);
  }

  protected send(bytes: Buffer): void {
    this.host.send(bytes, this.hop);
  }

  protected retransmit(): void {
    this.retransmissions++;
    this.host.stats.retransmissionsSent++;
    this.send(this.bytes);
  }

  protected schedule(kind: number, ms: number): TimerHandle {
    return this.host.queue.schedule(this, kind, ms);
  }

  protected stopTimers(): void {
    this.host.queue.cancel(this.retransmitTimer);
    this.host.queue.cancel(this.timeoutTimer);
    this.retransmitTimer = undefined;
    this.timeoutTimer = undefined;
  }

  /** Move to Terminated and leave the layer's table. */
  terminate(): void {
    if (this.state === 'terminated') return;
    this.stopTimers();
    this.state = 'terminated';
    this.host.removeClient(this);
  }

  /**
   * Guard of `start()`: the first call passes; any later one throws. The state cannot tell (it
   * is still Calling/Trying after the start), and a second start would arm a second set of
   * timers whose handles the transaction no longer holds.
   */
  protected beginOnce(initial: ClientState): void {
    if (this.started || this.state !== initial) this.illegal('start');
    this.started = true;
  }

  protected illegal(input: string): never {
    throw new StateError('ERR_TRANSACTION_STATE', `${this.method} client transaction in state ${this.state} cannot ${input}`);
  }
}

/** RFC 3261 §17.1.1 INVITE client transaction with the RFC 6026 Accepted state. */
export class InviteClientTransaction extends ClientTransaction {
  /** The ACK sent for a non-2xx final response (kept for retransmitted finals, §17.1.1.2). */
  private ackBytes: Buffer | undefined = undefined;

  constructor(host: TransactionHost, request: SipMessage, hop: Hop, user: ClientTransactionUser, key: string) {
    super(host, request, hop, user, key, 'calling');
  }

  start(): void {
    this.beginOnce('calling');
    this.send(this.bytes);
    // Timer A only over unreliable transports (§17.1.1.2); Timer B always.
    if (this.tv.A !== null) this.retransmitTimer = this.schedule(TimerKind.A, this.tv.A);
    this.timeoutTimer = this.schedule(TimerKind.B, this.tv.B);
  }

  receive(res: SipMessage): void {
    const s = res.status;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        if (s < 200) {
          if (this.state === 'calling') {
            this.host.queue.cancel(this.retransmitTimer); // §17.1.1.2: stop retransmitting on 1xx
            this.retransmitTimer = undefined;
            this.state = 'proceeding';
          }
          this.user.onResponse(res, this);
        } else if (s < 300) {
          // RFC 6026 §7.2: Accepted; 2xx retransmissions go to the TU, which sends the ACK.
          this.stopTimers();
          this.state = 'accepted';
          this.finalResponse = res;
          this.timeoutTimer = this.schedule(TimerKind.M, this.tv.M);
          this.user.onResponse(res, this);
        } else {
          this.stopTimers();
          this.state = 'completed';
          this.finalResponse = res;
          this.ackBytes = serializeMessage(this.host.ackForNonSuccess(this.request, res));
          this.send(this.ackBytes);
          if (this.tv.D > 0) this.timeoutTimer = this.schedule(TimerKind.D, this.tv.D);
          this.user.onResponse(res, this);
          if (this.tv.D === 0) this.terminate(); // reliable transport: Timer D is zero
        }
        return;
      case 'completed':
        // §17.1.1.2: a retransmitted final response gets the ACK again; the TU is not told.
        if (s >= 300 && this.ackBytes) {
          this.host.stats.retransmissionsReceived++;
          this.send(this.ackBytes);
        }
        return;
      case 'accepted':
        if (s >= 200 && s < 300) {
          this.host.stats.retransmissionsReceived++;
          this.user.onResponse(res, this);
        }
        return;
      default:
        return;
    }
  }

  onTimer(kind: number): void {
    switch (kind) {
      case TimerKind.A:
        if (this.state !== 'calling') return;
        this.retransmit();
        this.interval *= 2; // §17.1.1.2: Timer A doubles with no cap
        this.retransmitTimer = this.schedule(TimerKind.A, this.interval);
        return;
      case TimerKind.B:
        if (this.state !== 'calling') return; // §17.1.1.2: Timer B bounds the Calling state only
        this.terminate();
        this.host.stats.timeouts++;
        this.user.onTimeout(this);
        return;
      case TimerKind.D:
      case TimerKind.M:
        this.terminate();
        return;
    }
  }
}

/** RFC 3261 §17.1.2 non-INVITE client transaction. */
export class NonInviteClientTransaction extends ClientTransaction {
  constructor(host: TransactionHost, request: SipMessage, hop: Hop, user: ClientTransactionUser, key: string) {
    super(host, request, hop, user, key, 'trying');
  }

  start(): void {
    this.beginOnce('trying');
    this.send(this.bytes);
    if (this.tv.E !== null) this.retransmitTimer = this.schedule(TimerKind.E, this.tv.E);
    this.timeoutTimer = this.schedule(TimerKind.F, this.tv.F);
  }

  receive(res: SipMessage): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') {
      if (this.state === 'completed') this.host.stats.retransmissionsReceived++;
      return; // §17.1.2.2: retransmitted finals are absorbed in Completed
    }
    if (res.status < 200) {
      this.state = 'proceeding';
      this.user.onResponse(res, this);
      return;
    }
    this.stopTimers();
    this.state = 'completed';
    this.finalResponse = res;
    const k = this.tv.K;
    if (k > 0) this.timeoutTimer = this.schedule(TimerKind.K, k);
    this.user.onResponse(res, this);
    if (k === 0) this.terminate();
  }

  onTimer(kind: number): void {
    switch (kind) {
      case TimerKind.E:
        if (this.state !== 'trying' && this.state !== 'proceeding') return;
        this.retransmit();
        // §17.1.2.2: E doubles up to T2 in Trying; in Proceeding it is T2.
        this.interval = this.state === 'proceeding' ? this.host.config.t2 : Math.min(this.interval * 2, this.host.config.t2);
        this.retransmitTimer = this.schedule(TimerKind.E, this.interval);
        return;
      case TimerKind.F:
        if (this.state !== 'trying' && this.state !== 'proceeding') return;
        this.terminate();
        this.host.stats.timeouts++;
        this.user.onTimeout(this);
        return;
      case TimerKind.K:
        this.terminate();
        return;
    }
  }
}
