/**
 * Every RFC 3261 §17 timer value, derived from T1, T2 and T4 in this one place (RFC 3261 Table 4,
 * §17.1.1.1; Timers L and M from RFC 6026). Transactions never compute an interval themselves:
 * they read {@link timerValues} once per transport kind and call {@link nextRetransmit} when a
 * retransmission timer fires.
 *
 * All values are milliseconds.
 */

import { UsageError } from '../errors.js';

/** The three base timers of RFC 3261 §17.1.1.1 / Table 4, in ms. */
export interface TimerConfig {
  /** RTT estimate; default 500 ms (§17.1.1.1). Every retransmission and timeout scales with it. */
  t1: number;
  /** Maximum retransmission interval for non-INVITE requests and INVITE responses; default 4 s (§17.1.2.2). */
  t2: number;
  /** Maximum duration a message remains in the network; default 5 s (§17.1.2.2). */
  t4: number;
}

/** RFC 3261 Table 4 defaults: T1 = 500 ms, T2 = 4 s, T4 = 5 s. */
export const DEFAULT_TIMER_CONFIG: Readonly<TimerConfig> = Object.freeze({ t1: 500, t2: 4000, t4: 5000 });

/**
 * Numeric `kind`s for `TimerQueue.schedule`, one per RFC timer, so a transaction's `onTimer(kind)`
 * can switch on them. Other layers that need their own kinds use numbers ≥ 100.
 */
export const TimerKind = Object.freeze({
  A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, I: 9, J: 10, K: 11, L: 12, M: 13,
} as const);

/** The letter of an RFC 3261 / RFC 6026 timer. */
export type TimerLetter = keyof typeof TimerKind;

const LETTERS: readonly TimerLetter[] = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M'];

/** `"Timer B"` for `TimerKind.B`, for logs and reports; `"timer kind 107"` for other kinds. */
export function timerName(kind: number): string {
  const letter = LETTERS[kind - 1];
  return letter !== undefined && Number.isInteger(kind) ? `Timer ${letter}` : `timer kind ${kind}`;
}

/**
 * Timer values for one transport kind, in ms. `null` means the timer is not started on this
 * transport (the retransmission timers A, E and G run only over unreliable transports); `0` means
 * it is started with zero duration, i.e. the transaction leaves its state at once.
 */
export interface TimerValues {
  /** INVITE client: first request retransmission interval, T1; doubles each firing (§17.1.1.2). Unreliable only. */
  A: number | null;
  /** INVITE client: transaction timeout, 64*T1 (§17.1.1.2). */
  B: number;
  /** Proxy INVITE transaction timeout, > 3 min (§16.6 step 11, §16.8). */
  C: number;
  /** INVITE client: wait for response retransmissions in Completed; ≥ 32 s unreliable, 0 reliable (§17.1.1.2). */
  D: number;
  /** Non-INVITE client: first request retransmission interval, T1; doubles capped at T2 (§17.1.2.2). Unreliable only. */
  E: number | null;
  /** Non-INVITE client: transaction timeout, 64*T1 (§17.1.2.2). */
  F: number;
  /** INVITE server: first final-response retransmission interval, T1; doubles capped at T2 (§17.2.1). Unreliable only. */
  G: number | null;
  /** INVITE server: wait for ACK, 64*T1 (§17.2.1). */
  H: number;
  /** INVITE server: wait for ACK retransmissions in Confirmed; T4 unreliable, 0 reliable (§17.2.1). */
  I: number;
  /** Non-INVITE server: wait for request retransmissions in Completed; 64*T1 unreliable, 0 reliable (§17.2.2). */
  J: number;
  /** Non-INVITE client: wait for response retransmissions in Completed; T4 unreliable, 0 reliable (§17.1.2.2). */
  K: number;
  /** INVITE server: wait in Accepted for INVITE retransmissions after a 2xx, 64*T1 (RFC 6026 §8.7). */
  L: number;
  /** INVITE client: wait in Accepted for 2xx retransmissions and forked 2xx, 64*T1 (RFC 6026 §8.4). */
  M: number;
}

/**
 * Timer C. RFC 3261 §16.6 step 11: "The timer MUST be larger than 3 minutes", so one second over
 * rather than exactly 180 s. Not derived from T1: it bounds how long a callee may ring.
 */
const TIMER_C = 181_000;

/**
 * Timer D floor. RFC 3261 §17.1.1.2 (made a MUST by RFC 6026 §8.4): "at least 32 seconds for
 * unreliable transports". It mirrors the server's Timer H (64*T1 of the *server's* T1), so it
 * never drops below 32 s even when our own T1 is smaller.
 */
const TIMER_D_MIN = 32_000;

/**
 * Fill in defaults and check a (possibly partial) timer configuration. Throws {@link UsageError}
 * for values a person configured wrongly (non-positive, not finite, T2 < T1).
 */
export function timerConfig(cfg: Partial<TimerConfig> = {}): TimerConfig {
  const t1 = cfg.t1 ?? DEFAULT_TIMER_CONFIG.t1;
  const t2 = cfg.t2 ?? DEFAULT_TIMER_CONFIG.t2;
  const t4 = cfg.t4 ?? DEFAULT_TIMER_CONFIG.t4;
  for (const [name, v] of [['T1', t1], ['T2', t2], ['T4', t4]] as const) {
    if (!Number.isFinite(v) || v <= 0) {
      throw new UsageError(`SIP timer ${name} must be a positive number of milliseconds, got ${v}`);
    }
  }
  if (t2 < t1) {
    // §17.1.2.2: T2 caps an interval that starts at T1; a cap below the start is meaningless.
    throw new UsageError(`SIP timer T2 (${t2} ms) must not be less than T1 (${t1} ms): T2 caps the retransmission interval that starts at T1`);
  }
  return { t1, t2, t4 };
}

/**
 * All timer values for one transport kind. `reliable` is true for TCP, TLS, SCTP and WebSocket
 * (RFC 3261 §18: transports that retransmit on their own), false for UDP.
 *
 * Cheap (a handful of multiplications), but a transaction layer should compute it once per
 * (config, transport kind) and share the result between transactions.
 */
export function timerValues(cfg: Partial<TimerConfig> = DEFAULT_TIMER_CONFIG, reliable: boolean): TimerValues {
  const { t1, t4 } = timerConfig(cfg);
  const t1x64 = 64 * t1;
  return {
    // §17.1.1.2: "If an unreliable transport is being used, the client transaction MUST start
    // timer A with a value of T1." Over a reliable transport it is not started.
    A: reliable ? null : t1,
    // §17.1.1.2: "the client transaction MUST start timer B with a value of 64*T1 seconds"
    // (any transport).
    B: t1x64,
    C: TIMER_C,
    // §17.1.1.2, RFC 6026 §8.4: ≥ 32 s unreliable (and ≥ the server's Timer H), 0 reliable.
    D: reliable ? 0 : Math.max(TIMER_D_MIN, t1x64),
    // §17.1.2.2: "If an unreliable transport is in use, the client transaction MUST set timer E
    // to fire in T1 seconds."
    E: reliable ? null : t1,
    // §17.1.2.2: "the client transaction MUST set timer F to fire in 64*T1 seconds".
    F: t1x64,
    // §17.2.1: "If an unreliable transport is being used, the server transaction MUST start
    // timer G to fire in T1 seconds".
    G: reliable ? null : t1,
    // §17.2.1: "timer H MUST be set to fire in 64*T1 seconds for all transports".
    H: t1x64,
    // §17.2.1: "timer I is set to fire in T4 seconds for unreliable transports, and zero
    // seconds for reliable transports".
    I: reliable ? 0 : t4,
    // §17.2.2: "timer J ... set to fire in 64*T1 seconds for unreliable transports, and zero
    // seconds for reliable transports".
    J: reliable ? 0 : t1x64,
    // §17.1.2.2: "timer K ... set to fire in T4 seconds for unreliable transports, and zero
    // seconds for reliable transports".
    K: reliable ? 0 : t4,
    // RFC 6026 §8.7: the INVITE server transaction "MUST start Timer L" (64*T1) on entering
    // Accepted, for all transports.
    L: t1x64,
    // RFC 6026 §8.4: the INVITE client transaction "MUST start Timer M" (64*T1) on entering
    // Accepted, for all transports.
    M: t1x64,
  };
}

/** The retransmission timers: A (INVITE client), E (non-INVITE client), G (INVITE server). */
export type RetransmitTimer = 'A' | 'E' | 'G';

/**
 * The interval to re-arm a retransmission timer with after it fired with interval `current`.
 *
 * - A: doubles without cap (§17.1.1.2: "reset the timer with a value of 2*T1 ... 4*T1 ...").
 *   Timer B, not a cap, ends the retransmissions.
 * - E: doubles capped at T2 (§17.1.2.2: "the timer is reset, but this time with a value of
 *   MIN(2*T1, T2)"); once a
 *   provisional response has been received (`proceeding`), "Timer E MUST be reset with a value of
 *   T2 seconds".
 * - G: doubles capped at T2 (§17.2.1: "timer G is set to fire in MIN(2*T1, T2) seconds").
 *
 * `proceeding` matters only for E; an INVITE client in Proceeding does not retransmit at all
 * (§17.1.1.2), and Timer G only runs in Completed.
 */
export function nextRetransmit(
  kind: RetransmitTimer,
  current: number,
  cfg: Partial<TimerConfig> = DEFAULT_TIMER_CONFIG,
  proceeding = false,
): number {
  const { t2 } = timerConfig(cfg);
  switch (kind) {
    case 'A':
      return 2 * current;
    case 'E':
      return proceeding ? t2 : Math.min(2 * current, t2);
    case 'G':
      return Math.min(2 * current, t2);
  }
}

/** Options of {@link retransmitSchedule}. */
export interface RetransmitScheduleOptions {
  /**
   * Time (ms from the first send) a provisional response arrived. Timer A: retransmissions stop
   * (§17.1.1.2, Proceeding). Timer E: the first firing at or after it re-arms with T2
   * (§17.1.2.2). Ignored for Timer G.
   */
  provisionalAt?: number;
}

/**
 * The times (ms after the first transmission) at which an unreliable transport retransmits, for a
 * peer that never answers: the request for Timer A (INVITE client) or E (non-INVITE client), the
 * final response for Timer G (INVITE server, measured from its first send).
 *
 * Retransmissions happen strictly before `untilMs`, which defaults to the timeout that ends them:
 * Timer B, F or H, all 64*T1. A retransmission due at the same instant as the timeout does not
 * happen (the timeout was armed first and the transaction terminates).
 *
 * With the defaults, A gives 500, 1500, 3500, 7500, 15500, 31500 and E gives 500, 1500, 3500,
 * 7500, 11500, 15500, …, 31500.
 */
export function retransmitSchedule(
  kind: RetransmitTimer,
  cfg: Partial<TimerConfig> = DEFAULT_TIMER_CONFIG,
  untilMs?: number,
  opts: RetransmitScheduleOptions = {},
): number[] {
  const full = timerConfig(cfg);
  const until = untilMs ?? 64 * full.t1;
  if (!Number.isFinite(until)) {
    throw new RangeError(`retransmitSchedule: untilMs must be finite, got ${untilMs}`);
  }
  const provisionalAt = kind === 'G' ? Infinity : (opts.provisionalAt ?? Infinity);
  const times: number[] = [];
  let interval = full.t1; // A, E and G all start at T1 (§17.1.1.2, §17.1.2.2, §17.2.1).
  let t = interval;
  while (t < until) {
    // §17.1.1.2: in Proceeding "the client transaction SHOULD NOT retransmit the request any longer".
    if (kind === 'A' && provisionalAt <= t) break;
    times.push(t);
    interval = nextRetransmit(kind, interval, full, provisionalAt <= t);
    t += interval;
  }
  return times;
}
