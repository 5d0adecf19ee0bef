/**
 * The messages a call has received, in order, and an awaitable "next message matching X within
 * T ms". Scenario `expect` steps and the TypeScript API's `call.expect(486)` sit on this.
 * The wait timer lives in the layer's one timer queue (no setTimeout per wait).
 */
import type { SipMessage } from '../sip/message.js';
import type { TimerHandle, TimerQueue, TimerTarget } from '../transaction/timer-queue.js';

/** Decides whether a received message is the one awaited. */
export type MessageFilter = (msg: SipMessage) => boolean;

const WAIT_TIMEOUT = 100;

export class Inbox implements TimerTarget {
  /** Every message received, in order (for reports). */
  readonly received: SipMessage[] = [];
  private readonly unread: SipMessage[] = [];
  private waiter:
    | { filter: MessageFilter | undefined; resolve: (m: SipMessage | undefined) => void; timer: TimerHandle }
    | undefined = undefined;
  private closed = false;

  /**
   * Sees each message first; returning true consumes it (it stays in `received` for reports but
   * is never returned by `next`). Used to answer a 401/407 the moment it arrives.
   */
  intercept: ((msg: SipMessage) => boolean) | undefined = undefined;

  constructor(private readonly queue: TimerQueue) {}

  /** Deliver a message (called by the UA core). */
  push(msg: SipMessage): void {
    this.received.push(msg);
    if (this.intercept !== undefined && this.intercept(msg)) return;
    const w = this.waiter;
    if (w && (w.filter === undefined || w.filter(msg))) {
      this.waiter = undefined;
      this.queue.cancel(w.timer);
      w.resolve(msg);
      return;
    }
    this.unread.push(msg);
  }

  /**
   * The first unread message matching `filter` (earlier non-matching messages stay unread),
   * or undefined after `timeoutMs`. One wait at a time.
   */
  next(filter: MessageFilter | undefined, timeoutMs: number): Promise<SipMessage | undefined> {
    for (let i = 0; i < this.unread.length; i++) {
      const m = this.unread[i];
      if (filter === undefined || filter(m)) {
        this.unread.splice(i, 1);
        return Promise.resolve(m);
      }
    }
    if (this.closed) return Promise.resolve(undefined);
    if (this.waiter) this.cancelWait();
    return new Promise((resolve) => {
      this.waiter = { filter, resolve, timer: this.queue.schedule(this, WAIT_TIMEOUT, timeoutMs) };
    });
  }

  /** Return a message taken by `next` to the front of the unread ones (an optional expect that did not match). */
  putBack(msg: SipMessage): void {
    this.unread.unshift(msg);
  }

  /** Messages not consumed by any `next` (unexpected ones, for reports). */
  get pending(): readonly SipMessage[] {
    return this.unread;
  }

  /** Drop the unread ones (e.g. provisional responses nobody asked about). */
  discard(filter: MessageFilter): void {
    for (let i = this.unread.length - 1; i >= 0; i--) if (filter(this.unread[i])) this.unread.splice(i, 1);
  }

  /** Resolve any wait with undefined; later waits resolve at once with what is already there. */
  close(): void {
    this.closed = true;
    this.cancelWait();
  }

  onTimer(kind: number): void {
    if (kind === WAIT_TIMEOUT) this.cancelWait();
  }

  private cancelWait(): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    this.queue.cancel(w.timer);
    w.resolve(undefined);
  }
}
