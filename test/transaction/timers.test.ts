import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { FakeClock } from '../../src/transaction/clock.js';
import { TimerQueue, type TimerHandle, type TimerTarget } from '../../src/transaction/timer-queue.js';
import {
  DEFAULT_TIMER_CONFIG,
  TimerKind,
  nextRetransmit,
  retransmitSchedule,
  timerConfig,
  timerName,
  timerValues,
  type RetransmitTimer,
  type TimerConfig,
} from '../../src/transaction/timers.js';

const s = (seconds: number[]): number[] => seconds.map((x) => x * 1000);

describe('RFC 3261 Table 4 values', () => {
  it('T1 = 500 ms, T2 = 4 s, T4 = 5 s by default (§17.1.1.1)', () => {
    expect(DEFAULT_TIMER_CONFIG).toEqual({ t1: 500, t2: 4000, t4: 5000 });
    expect(timerConfig()).toEqual({ t1: 500, t2: 4000, t4: 5000 });
  });

  it('over an unreliable transport (UDP) every timer runs with its Table 4 value', () => {
    expect(timerValues(DEFAULT_TIMER_CONFIG, false)).toEqual({
      A: 500, // T1
      B: 32_000, // 64*T1
      C: 181_000, // > 3 min (§16.6)
      D: 32_000, // ≥ 32 s
      E: 500, // T1
      F: 32_000, // 64*T1
      G: 500, // T1
      H: 32_000, // 64*T1
      I: 5_000, // T4
      J: 32_000, // 64*T1
      K: 5_000, // T4
      L: 32_000, // 64*T1 (RFC 6026)
      M: 32_000, // 64*T1 (RFC 6026)
    });
  });

  it('over a reliable transport D, I, J and K are 0 and the retransmission timers A, E, G are not started', () => {
    const v = timerValues(DEFAULT_TIMER_CONFIG, true);
    expect([v.D, v.I, v.J, v.K]).toEqual([0, 0, 0, 0]);
    expect([v.A, v.E, v.G]).toEqual([null, null, null]);
    // Timeouts still run over reliable transports.
    expect([v.B, v.F, v.H, v.L, v.M]).toEqual([32_000, 32_000, 32_000, 32_000, 32_000]);
    expect(v.C).toBe(181_000);
  });

  it('Timer C MUST be larger than 3 minutes and does not depend on T1 (§16.6 step 11)', () => {
    for (const t1 of [100, 500, 2000]) {
      expect(timerValues({ t1, t2: Math.max(t1, 4000) }, false).C).toBeGreaterThan(180_000);
    }
  });

  it('Timer D is at least 32 s over UDP even when T1 is small, and at least the peer\'s 64*T1 when T1 is large (§17.1.1.2)', () => {
    expect(timerValues({ t1: 100 }, false).D).toBe(32_000);
    expect(timerValues({ t1: 1000, t2: 4000 }, false).D).toBe(64_000);
  });

  it('a custom T1 = 100 ms scales every T1-derived value', () => {
    expect(timerValues({ t1: 100 }, false)).toEqual({
      A: 100, B: 6_400, C: 181_000, D: 32_000, E: 100, F: 6_400, G: 100, H: 6_400,
      I: 5_000, J: 6_400, K: 5_000, L: 6_400, M: 6_400,
    });
    expect(retransmitSchedule('A', { t1: 100 })).toEqual([100, 300, 700, 1500, 3100, 6300]);
    // E doubles up to 3.2 s, then the next interval would exceed Timer F (6.4 s).
    expect(retransmitSchedule('E', { t1: 100 })).toEqual([100, 300, 700, 1500, 3100, 6300]);
    expect(retransmitSchedule('E', { t1: 100, t2: 400 })).toEqual([
      100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900, 4300, 4700, 5100, 5500, 5900, 6300,
    ]);
  });

  it('a person who configures T1 ≤ 0, a non-number, or T2 < T1 gets a UsageError', () => {
    expect(() => timerConfig({ t1: 0 })).toThrow(UsageError);
    expect(() => timerConfig({ t1: -5 })).toThrow(UsageError);
    expect(() => timerConfig({ t4: Number.NaN })).toThrow(UsageError);
    expect(() => timerConfig({ t2: Infinity })).toThrow(UsageError);
    expect(() => timerConfig({ t1: 5000, t2: 4000 })).toThrow(/T2 \(4000 ms\) must not be less than T1 \(5000 ms\)/);
    expect(() => timerValues({ t1: 0 }, false)).toThrow(UsageError);
  });

  it('names timers for reports', () => {
    expect(timerName(TimerKind.B)).toBe('Timer B');
    expect(timerName(TimerKind.M)).toBe('Timer M');
    expect(timerName(107)).toBe('timer kind 107');
    expect(timerName(0)).toBe('timer kind 0');
  });
});

describe('retransmission intervals', () => {
  it('INVITE client Timer A doubles without a cap (§17.1.1.2)', () => {
    let a = 500;
    const intervals = [a];
    for (let i = 0; i < 6; i++) intervals.push((a = nextRetransmit('A', a, DEFAULT_TIMER_CONFIG)));
    expect(intervals).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 32_000]);
  });

  it('non-INVITE client Timer E doubles capped at T2 (§17.1.2.2)', () => {
    let e = 500;
    const intervals = [e];
    for (let i = 0; i < 5; i++) intervals.push((e = nextRetransmit('E', e, DEFAULT_TIMER_CONFIG)));
    expect(intervals).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
  });

  it('in Proceeding, Timer E MUST be reset with a value of T2 (§17.1.2.2)', () => {
    expect(nextRetransmit('E', 500, DEFAULT_TIMER_CONFIG, true)).toBe(4000);
    expect(nextRetransmit('E', 1000, { t1: 100, t2: 2500 }, true)).toBe(2500);
  });

  it('INVITE server Timer G doubles capped at T2 (§17.2.1)', () => {
    let g = 500;
    const intervals = [g];
    for (let i = 0; i < 5; i++) intervals.push((g = nextRetransmit('G', g, DEFAULT_TIMER_CONFIG)));
    expect(intervals).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
  });
});

describe('RFC retransmission schedules over UDP', () => {
  it('an INVITE client retransmits at 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s, and Timer B fires at 32 s', () => {
    expect(retransmitSchedule('A', DEFAULT_TIMER_CONFIG)).toEqual(s([0.5, 1.5, 3.5, 7.5, 15.5, 31.5]));
    expect(timerValues(DEFAULT_TIMER_CONFIG, false).B).toBe(32_000);
  });

  it('a non-INVITE client retransmits at 0.5, 1.5, 3.5, 7.5, then every T2 (4 s) until Timer F at 32 s', () => {
    expect(retransmitSchedule('E', DEFAULT_TIMER_CONFIG)).toEqual(
      s([0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]),
    );
    expect(timerValues(DEFAULT_TIMER_CONFIG, false).F).toBe(32_000);
  });

  it('after a provisional response a non-INVITE client retransmits every T2', () => {
    // 1xx at 0.6 s: Timer E still fires at 1.5 s (armed for 1 s at 0.5 s) and from then on every T2.
    expect(retransmitSchedule('E', DEFAULT_TIMER_CONFIG, undefined, { provisionalAt: 600 })).toEqual(
      s([0.5, 1.5, 5.5, 9.5, 13.5, 17.5, 21.5, 25.5, 29.5]),
    );
  });

  it('an INVITE client in Proceeding SHOULD NOT retransmit the request any longer (§17.1.1.2)', () => {
    expect(retransmitSchedule('A', DEFAULT_TIMER_CONFIG, undefined, { provisionalAt: 2000 })).toEqual(s([0.5, 1.5]));
    expect(retransmitSchedule('A', DEFAULT_TIMER_CONFIG, undefined, { provisionalAt: 0 })).toEqual([]);
  });

  it('an INVITE server retransmits its final response at 0.5, 1.5, 3.5, 7.5, then every T2 until Timer H at 32 s', () => {
    expect(retransmitSchedule('G', DEFAULT_TIMER_CONFIG)).toEqual(
      s([0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]),
    );
  });

  it('untilMs bounds the schedule (retransmissions strictly before it)', () => {
    expect(retransmitSchedule('A', DEFAULT_TIMER_CONFIG, 7500)).toEqual(s([0.5, 1.5, 3.5]));
    expect(retransmitSchedule('A', DEFAULT_TIMER_CONFIG, 7501)).toEqual(s([0.5, 1.5, 3.5, 7.5]));
    expect(() => retransmitSchedule('A', DEFAULT_TIMER_CONFIG, Infinity)).toThrow(RangeError);
  });
});

/**
 * A minimal client transaction over UDP, driven by the TimerQueue on a FakeClock: it retransmits
 * when its retransmission timer fires and stops when its timeout fires. Checks that the timer
 * queue, nextRetransmit and retransmitSchedule agree.
 */
class ClientTransactionSketch implements TimerTarget {
  readonly sent: number[] = [];
  timedOutAt = -1;
  #interval: number;
  #retransmit: TimerHandle | null;

  constructor(
    private readonly queue: TimerQueue,
    private readonly kind: RetransmitTimer,
    private readonly cfg: TimerConfig,
  ) {
    const v = timerValues(cfg, false);
    this.#interval = cfg.t1;
    // The timeout is armed before the first retransmission timer, as at transaction start.
    queue.schedule(this, kind === 'A' ? TimerKind.B : TimerKind.F, kind === 'A' ? v.B : v.F);
    this.#retransmit = queue.schedule(this, kind === 'A' ? TimerKind.A : TimerKind.E, this.#interval);
  }

  onTimer(kind: number): void {
    const now = this.queue.clock.now();
    if (kind === TimerKind.B || kind === TimerKind.F) {
      this.timedOutAt = now;
      this.queue.cancel(this.#retransmit);
      return;
    }
    this.sent.push(now);
    this.#interval = nextRetransmit(this.kind, this.#interval, this.cfg);
    this.#retransmit = this.queue.schedule(this, kind, this.#interval);
  }
}

describe('timers driven through the TimerQueue', () => {
  for (const cfg of [DEFAULT_TIMER_CONFIG, { t1: 100, t2: 4000, t4: 5000 }, { t1: 500, t2: 500, t4: 5000 }]) {
    for (const kind of ['A', 'E'] as const) {
      it(`Timer ${kind} retransmissions match retransmitSchedule and the timeout fires at 64*T1 (T1=${cfg.t1}, T2=${cfg.t2})`, () => {
        const clock = new FakeClock();
        const queue = new TimerQueue({ clock, onError: (err) => { throw err; } });
        const tx = new ClientTransactionSketch(queue, kind, cfg);
        queue.advance(120_000);
        expect(tx.sent).toEqual(retransmitSchedule(kind, cfg));
        expect(tx.timedOutAt).toBe(64 * cfg.t1);
        expect(queue.size).toBe(0);
      });
    }
  }

  it('with T2 = T1, Timer F and a Timer E retransmission fall due together and the timeout wins', () => {
    const cfg = { t1: 500, t2: 500, t4: 5000 };
    const clock = new FakeClock();
    const queue = new TimerQueue({ clock });
    const tx = new ClientTransactionSketch(queue, 'E', cfg);
    queue.advance(40_000);
    expect(tx.sent.at(-1)).toBe(31_500);
    expect(tx.sent).not.toContain(32_000);
    expect(tx.timedOutAt).toBe(32_000);
  });
});
