/**
 * One timer queue for every transaction of a transaction layer (RFC 3261 §17 Timers A…M).
 *
 * A load test holds 20,000+ transactions and starts thousands of calls a second, each arming
 * several timers that are nearly always cancelled (a response stops Timer A/B/E/F). So:
 *
 * - one binary min-heap ordered by deadline, ties in the order the timers were scheduled;
 * - the transaction itself is the {@link TimerTarget} and `kind` says which timer fired, so
 *   scheduling allocates one small entry and no closure;
 * - cancelling is O(1) lazy deletion (the entry is flagged and skipped when it reaches the top);
 *   when cancelled entries outnumber live ones the heap is compacted in place, so it never fills
 *   with dead entries;
 * - with a real clock exactly one Node timer is armed, for the earliest deadline, and re-armed only
 *   when that deadline changes; with a {@link FakeClock} nothing is armed and moving the clock
 *   fires due timers in deadline order.
 */

import { StateError } from '../errors.js';
import { FakeClock, realClock, type Clock, type FakeClockDriver } from './clock.js';

/**
 * What a timer calls when it fires. Transactions implement this and switch on `kind`
 * (see `TimerKind` in `timers.ts`), so no closure is allocated per timer.
 */
export interface TimerTarget {
  onTimer(kind: number): void;
}

/** A scheduled timer, returned by {@link TimerQueue.schedule} and accepted by {@link TimerQueue.cancel}. */
export interface TimerHandle {
  /** Deadline on the queue's clock (ms). */
  readonly at: number;
  /** The `kind` passed to `schedule`, handed back to `onTimer`. */
  readonly kind: number;
  /** True until the timer fires or is cancelled. */
  readonly pending: boolean;
}

/** Where a timer target threw: passed to {@link TimerQueueOptions.onError}. */
export interface TimerFault {
  target: TimerTarget;
  kind: number;
  /** The deadline the timer fired for (ms on the queue's clock). */
  at: number;
}

/** Options of {@link TimerQueue}. */
export interface TimerQueueOptions {
  /** Time source; default {@link realClock}. A {@link FakeClock} switches to the fake-time driver. */
  clock?: Clock;
  /**
   * Real clock only: `unref()` the Node timer so pending SIP timers (a 32 s Timer D, say) do not
   * keep the process alive on their own. Default `false`.
   */
  unref?: boolean;
  /**
   * Called for each exception a timer target threw; the other due timers fire regardless. Errors
   * are collected while firing and reported once the batch is done and the queue is consistent.
   * Default: `console.error`.
   */
  onError?: (err: unknown, fault: TimerFault) => void;
}

const PENDING = 0;
const FIRED = 1;
const CANCELLED = 2;

/** Node clamps larger delays to 1 ms; a longer timer re-arms when it wakes up early. */
const MAX_NODE_DELAY = 0x7fffffff;
/** Below this many entries a heap of cancelled entries is cheaper to keep than to compact. */
const COMPACT_MIN = 32;

class TimerEntry implements TimerHandle {
  at: number;
  target: TimerTarget | null;
  kind: number;
  seq: number;
  state: number;
  readonly queue: TimerQueue;

  constructor(queue: TimerQueue, at: number, target: TimerTarget, kind: number, seq: number) {
    this.queue = queue;
    this.at = at;
    this.target = target;
    this.kind = kind;
    this.seq = seq;
    this.state = PENDING;
  }

  get pending(): boolean {
    return this.state === PENDING;
  }
}

/**
 * Heap order: earlier deadline first; equal deadlines in scheduling order. The tie rule is
 * visible in SIP terms: a Timer F armed when the request was sent fires before a Timer E re-armed
 * later for the same instant, so the transaction times out rather than retransmitting once more.
 */
function before(a: TimerEntry, b: TimerEntry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function defaultOnError(err: unknown, fault: TimerFault): void {
  console.error(`sipwright: a timer target threw (timer kind ${fault.kind}, due at ${fault.at} ms):`, err);
}

/**
 * The transaction layer's timer queue. See the module comment for the design; in short:
 * `schedule(target, kind, delayMs)` → handle, `cancel(handle)`, and either one Node timer (real
 * clock) or `advance(ms)` (fake clock).
 */
export class TimerQueue {
  readonly #clock: Clock;
  readonly #fake: FakeClock | null;
  readonly #unref: boolean;
  readonly #onError: (err: unknown, fault: TimerFault) => void;
  readonly #driver: FakeClockDriver;

  readonly #heap: TimerEntry[] = [];
  /** Cancelled entries still stored in the heap. */
  #cancelled = 0;
  #seq = 0;
  #closed = false;
  /** True while a real-clock batch is firing: arming waits until the batch is done. */
  #firing = false;
  #faults: Array<{ err: unknown; fault: TimerFault }> = [];

  #timer: NodeJS.Timeout | null = null;
  /** Deadline the Node timer is armed for; `Infinity` when none is armed. */
  #armedAt = Infinity;

  constructor(opts: TimerQueueOptions = {}) {
    this.#clock = opts.clock ?? realClock;
    this.#fake = this.#clock instanceof FakeClock ? this.#clock : null;
    this.#unref = opts.unref ?? false;
    this.#onError = opts.onError ?? defaultOnError;
    this.#driver = {
      nextDeadline: () => this.nextDeadline(),
      fireNext: () => this.#fire(this.#popTop()),
      settle: () => this.#settle(),
    };
    this.#fake?.attach(this.#driver);
  }

  /** The clock deadlines are measured on. */
  get clock(): Clock {
    return this.#clock;
  }

  /** Timers scheduled and neither fired nor cancelled. */
  get size(): number {
    return this.#heap.length - this.#cancelled;
  }

  /** Entries stored in the heap, live and cancelled-but-not-yet-reclaimed (≤ about 2 × `size`). */
  get heapSize(): number {
    return this.#heap.length;
  }

  /** Real clock: whether the (single) Node timer is currently armed. Always false on a fake clock. */
  get armed(): boolean {
    return this.#timer !== null;
  }

  /**
   * Arm timer `kind` on `target` to fire `delayMs` from now (negative delays count as 0). When it
   * fires the queue calls `target.onTimer(kind)`.
   */
  schedule(target: TimerTarget, kind: number, delayMs: number): TimerHandle {
    if (this.#closed) {
      throw new StateError('ERR_TRANSACTION_STATE', `cannot schedule timer kind ${kind}: the timer queue is closed`);
    }
    if (!Number.isFinite(delayMs)) {
      throw new RangeError(`TimerQueue.schedule: delay must be a finite number of ms, got ${delayMs}`);
    }
    const at = this.#clock.now() + (delayMs > 0 ? delayMs : 0);
    const entry = new TimerEntry(this, at, target, kind, this.#seq++);
    const heap = this.#heap;
    heap.push(entry);
    this.#siftUp(heap.length - 1);
    if (at < this.#armedAt && this.#fake === null && !this.#firing) this.#arm(at);
    return entry;
  }

  /**
   * Cancel a timer: it will not fire. Returns true if it was pending, false if it had already
   * fired or been cancelled (or `handle` is null/undefined, for `cancel(this.timerA)` convenience).
   * O(1); the Node timer is not re-armed (if it was armed for this deadline it wakes up, finds
   * nothing due and re-arms for the next one).
   */
  cancel(handle: TimerHandle | null | undefined): boolean {
    if (handle == null) return false;
    const entry = handle as TimerEntry;
    if (entry.queue !== this) {
      throw new StateError('ERR_TRANSACTION_STATE', 'TimerQueue.cancel: the handle belongs to another timer queue');
    }
    if (entry.state !== PENDING) return false;
    entry.state = CANCELLED;
    entry.target = null;
    this.#cancelled++;
    const n = this.#heap.length;
    if (n >= COMPACT_MIN && this.#cancelled > n >>> 1) this.#compact();
    return true;
  }

  /** Deadline of the earliest pending timer (ms on the queue's clock), `Infinity` if none. */
  nextDeadline(): number {
    this.#dropCancelledTop();
    const heap = this.#heap;
    return heap.length > 0 ? heap[0].at : Infinity;
  }

  /** Fake clock only: move the clock by `ms`, firing due timers in deadline order. */
  advance(ms: number): void {
    this.#requireFake('advance').advance(ms);
  }

  /** Fake clock only: move the clock to `t` ms, firing due timers in deadline order. */
  advanceTo(t: number): void {
    this.#requireFake('advanceTo').advanceTo(t);
  }

  /**
   * Stop the Node timer, drop every pending timer (none will fire) and detach from a fake clock.
   * Scheduling afterwards throws. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarm();
    const heap = this.#heap;
    for (const e of heap) {
      e.state = CANCELLED;
      e.target = null;
    }
    // In place: a batch that is firing right now holds a reference to this array.
    heap.length = 0;
    this.#cancelled = 0;
    this.#fake?.detach(this.#driver);
  }

  // ---- firing -------------------------------------------------------------------------------

  /** The Node timer callback: one bound function per queue, not one closure per timer. */
  readonly #onNodeTimer = (): void => {
    this.#timer = null;
    this.#armedAt = Infinity;
    const now = this.#clock.now();
    const heap = this.#heap;
    this.#firing = true;
    try {
      for (;;) {
        this.#dropCancelledTop();
        if (heap.length === 0 || heap[0].at > now) break;
        this.#fire(this.#popTop());
      }
    } finally {
      this.#firing = false;
      if (!this.#closed && heap.length > 0) {
        const next = this.nextDeadline();
        if (next !== Infinity) this.#arm(next);
      }
      this.#settle();
    }
  };

  #fire(entry: TimerEntry): void {
    const target = entry.target as TimerTarget;
    entry.target = null;
    entry.state = FIRED;
    try {
      target.onTimer(entry.kind);
    } catch (err) {
      this.#faults.push({ err, fault: { target, kind: entry.kind, at: entry.at } });
    }
  }

  #settle(): void {
    if (this.#faults.length === 0) return;
    const faults = this.#faults;
    this.#faults = [];
    for (const f of faults) this.#onError(f.err, f.fault);
  }

  #requireFake(what: string): FakeClock {
    if (this.#fake === null) {
      throw new StateError('ERR_TRANSACTION_STATE', `TimerQueue.${what} needs a FakeClock; this queue runs on a real clock`);
    }
    if (this.#closed) {
      throw new StateError('ERR_TRANSACTION_STATE', `TimerQueue.${what}: the timer queue is closed`);
    }
    return this.#fake;
  }

  // ---- the Node timer -----------------------------------------------------------------------

  #arm(at: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    const delay = Math.min(Math.max(0, Math.ceil(at - this.#clock.now())), MAX_NODE_DELAY);
    const timer = setTimeout(this.#onNodeTimer, delay);
    if (this.#unref) timer.unref();
    this.#timer = timer;
    this.#armedAt = at;
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedAt = Infinity;
  }

  // ---- the heap -----------------------------------------------------------------------------

  #dropCancelledTop(): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0].state === CANCELLED) {
      this.#popTop();
      this.#cancelled--;
    }
  }

  #popTop(): TimerEntry {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop() as TimerEntry;
    if (heap.length > 0) {
      heap[0] = last;
      this.#siftDown(0);
    }
    return top;
  }

  #siftUp(i: number): void {
    const heap = this.#heap;
    const e = heap[i];
    while (i > 0) {
      const p = (i - 1) >>> 1;
      const pe = heap[p];
      if (!before(e, pe)) break;
      heap[i] = pe;
      i = p;
    }
    heap[i] = e;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const e = heap[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && before(heap[c + 1], heap[c])) c++;
      if (!before(heap[c], e)) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = e;
  }

  /** Drop cancelled entries in place and restore heap order bottom-up (O(n)). */
  #compact(): void {
    const heap = this.#heap;
    let j = 0;
    for (let i = 0; i < heap.length; i++) {
      const e = heap[i];
      if (e.state === PENDING) heap[j++] = e;
    }
    heap.length = j;
    this.#cancelled = 0;
    for (let i = (j >>> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }
}
