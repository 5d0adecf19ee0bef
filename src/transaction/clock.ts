/**
 * The time source of the transaction layer. RFC 3261 §17 timers (A…M) are measured on a
 * {@link Clock}; production code uses {@link realClock}, tests inject a {@link FakeClock} so that
 * a 32-second Timer B runs in microseconds and in a deterministic order.
 *
 * A clock only tells the time. Timers live in the `TimerQueue` (`timer-queue.ts`), which, when
 * built on a `FakeClock`, registers itself as a driver: moving the fake clock forward fires the
 * queue's due timers in deadline order.
 */

import { StateError } from '../errors.js';

/** A monotonic millisecond time source. */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never decreases. */
  now(): number;
}

/**
 * The process's monotonic clock (`performance.now()`): immune to wall-clock steps (NTP, DST), so
 * a retransmission interval is never stretched or shortened by a clock change.
 */
export const realClock: Clock = {
  now: () => performance.now(),
};

/**
 * Something that owns timers measured on a {@link FakeClock} and fires them when the clock is
 * moved. The `TimerQueue` implements this; tests rarely need to.
 */
export interface FakeClockDriver {
  /** Deadline (ms, on the fake clock) of the earliest pending timer, `Infinity` if none. */
  nextDeadline(): number;
  /** Fire the earliest pending timer; the clock already reads its deadline. */
  fireNext(): void;
  /** Called once when an advance ends (normally or not): report what went wrong while firing. */
  settle(): void;
}

/**
 * A clock that moves only when told to. It starts at 0. {@link FakeClock.advance} and
 * {@link FakeClock.advanceTo} fire every timer of every attached driver that falls due, in
 * deadline order across drivers, and `now()` reads each timer's own deadline while it fires, so a
 * timer scheduled from inside a firing timer is measured from the right instant.
 */
export class FakeClock implements Clock {
  #now = 0;
  #drivers: FakeClockDriver[] = [];
  #advancing = false;

  now(): number {
    return this.#now;
  }

  /** Register a driver (done by `TimerQueue`'s constructor). */
  attach(driver: FakeClockDriver): void {
    if (!this.#drivers.includes(driver)) this.#drivers.push(driver);
  }

  /** Unregister a driver (done by `TimerQueue.close()`). */
  detach(driver: FakeClockDriver): void {
    const i = this.#drivers.indexOf(driver);
    if (i >= 0) this.#drivers.splice(i, 1);
  }

  /** Move the clock forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`FakeClock.advance: expected a finite number of ms >= 0, got ${ms}`);
    }
    this.advanceTo(this.#now + ms);
  }

  /**
   * Move the clock to `t` (ms), firing every timer with a deadline ≤ `t` in deadline order (ties:
   * the order the timers were scheduled; across drivers, the order they were attached). Timers
   * scheduled while firing that are also due by `t` fire in this same call.
   */
  advanceTo(t: number): void {
    if (!Number.isFinite(t) || t < this.#now) {
      throw new RangeError(`FakeClock.advanceTo: ${t} is not a finite time at or after now (${this.#now})`);
    }
    if (this.#advancing) {
      throw new StateError('ERR_TRANSACTION_STATE', 'FakeClock.advance was called from inside a firing timer; advance the clock from the test, not from a timer target');
    }
    this.#advancing = true;
    const drivers = this.#drivers;
    try {
      for (;;) {
        let best: FakeClockDriver | undefined;
        let bestAt = Infinity;
        for (let i = 0; i < drivers.length; i++) {
          const at = drivers[i].nextDeadline();
          if (at <= t && at < bestAt) {
            best = drivers[i];
            bestAt = at;
          }
        }
        if (best === undefined) break;
        if (bestAt > this.#now) this.#now = bestAt;
        best.fireNext();
      }
      this.#now = t;
    } finally {
      this.#advancing = false;
      for (const d of drivers.slice()) d.settle();
    }
  }
}
