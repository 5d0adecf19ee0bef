import { afterEach, describe, expect, it, vi } from 'vitest';
import { StateError } from '../../src/errors.js';
import { FakeClock, realClock, type Clock } from '../../src/transaction/clock.js';
import { TimerQueue, type TimerFault, type TimerHandle, type TimerTarget } from '../../src/transaction/timer-queue.js';

/** A target that logs `name:kind@now` each time one of its timers fires. */
class Recorder implements TimerTarget {
  constructor(
    readonly name: string,
    readonly log: string[],
    readonly clock: Clock,
  ) {}
  onTimer(kind: number): void {
    this.log.push(`${this.name}:${kind}@${this.clock.now()}`);
  }
}

function fakeQueue(onError?: (err: unknown, fault: TimerFault) => void): { clock: FakeClock; queue: TimerQueue; log: string[] } {
  const clock = new FakeClock();
  const queue = new TimerQueue({ clock, onError: onError ?? ((err) => { throw err; }) });
  return { clock, queue, log: [] };
}

/** Deterministic PRNG (mulberry32) so the big ordering test is reproducible. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('FakeClock', () => {
  it('starts at 0 and moves only when advanced', () => {
    const clock = new FakeClock();
    expect(clock.now()).toBe(0);
    clock.advance(250);
    expect(clock.now()).toBe(250);
    clock.advanceTo(1000);
    expect(clock.now()).toBe(1000);
  });

  it('is monotonic: refuses to move backwards or by a non-finite amount', () => {
    const clock = new FakeClock();
    clock.advance(10);
    expect(() => clock.advanceTo(5)).toThrow(RangeError);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(clock.now()).toBe(10);
  });

  it('realClock is monotonic milliseconds', () => {
    const a = realClock.now();
    const b = realClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
  });
});

describe('TimerQueue on a FakeClock', () => {
  it('fires timers in deadline order, with now() reading each deadline as it fires', () => {
    const { clock, queue, log } = fakeQueue();
    const t = new Recorder('t', log, clock);
    queue.schedule(t, 3, 300);
    queue.schedule(t, 1, 100);
    queue.schedule(t, 2, 200);
    expect(queue.size).toBe(3);
    queue.advance(250);
    expect(log).toEqual(['t:1@100', 't:2@200']);
    expect(clock.now()).toBe(250);
    queue.advance(50);
    expect(log).toEqual(['t:1@100', 't:2@200', 't:3@300']);
    expect(queue.size).toBe(0);
  });

  it('fires timers with equal deadlines in the order they were scheduled', () => {
    const { clock, queue, log } = fakeQueue();
    for (let i = 0; i < 20; i++) queue.schedule(new Recorder(`x${i}`, log, clock), i, 500);
    queue.advance(500);
    expect(log).toEqual(Array.from({ length: 20 }, (_, i) => `x${i}:${i}@500`));
  });

  it('a timer due exactly at the advance target fires; one a millisecond later does not', () => {
    const { clock, queue, log } = fakeQueue();
    const t = new Recorder('t', log, clock);
    queue.schedule(t, 1, 1000);
    queue.schedule(t, 2, 1001);
    queue.advanceTo(1000);
    expect(log).toEqual(['t:1@1000']);
    expect(queue.nextDeadline()).toBe(1001);
  });

  it('a cancelled timer MUST NOT fire; cancel reports whether it was still pending', () => {
    const { clock, queue, log } = fakeQueue();
    const t = new Recorder('t', log, clock);
    const a = queue.schedule(t, 1, 100);
    const b = queue.schedule(t, 2, 200);
    expect(a.pending).toBe(true);
    expect(queue.cancel(a)).toBe(true);
    expect(a.pending).toBe(false);
    expect(queue.cancel(a)).toBe(false);
    expect(queue.size).toBe(1);
    expect(queue.nextDeadline()).toBe(200);
    queue.advance(1000);
    expect(log).toEqual(['t:2@200']);
    expect(queue.cancel(b)).toBe(false); // already fired
    expect(queue.cancel(null)).toBe(false);
    expect(queue.cancel(undefined)).toBe(false);
  });

  it('a timer can cancel another timer due at the same instant', () => {
    const { clock, queue, log } = fakeQueue();
    let other: TimerHandle | null = null;
    queue.schedule({ onTimer: () => { log.push('first'); queue.cancel(other); } }, 1, 100);
    other = queue.schedule(new Recorder('second', log, clock), 2, 100);
    queue.advance(100);
    expect(log).toEqual(['first']);
  });

  it('refuses a handle from another queue', () => {
    const q1 = new TimerQueue({ clock: new FakeClock() });
    const q2 = new TimerQueue({ clock: new FakeClock() });
    const h = q1.schedule({ onTimer() {} }, 1, 10);
    expect(() => q2.cancel(h)).toThrow(StateError);
  });

  it('cancel-heavy traffic (every transaction answered before its timers fire) keeps the heap bounded', () => {
    const { clock, queue, log } = fakeQueue();
    const t = new Recorder('t', log, clock);
    // 20,000 transactions live at any time, each with Timer A (500 ms) and B (32 s) armed; every
    // new transaction's response cancels both of the oldest one's timers.
    const handles: TimerHandle[] = [];
    let oldest = 0;
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      handles.push(queue.schedule(t, 1, 500), queue.schedule(t, 2, 32_000));
      if (handles.length - oldest > 40_000) {
        queue.cancel(handles[oldest++]);
        queue.cancel(handles[oldest++]);
      }
      worst = Math.max(worst, queue.heapSize - 2 * queue.size);
    }
    expect(queue.size).toBe(40_000);
    expect(worst).toBeLessThanOrEqual(32);
    expect(queue.heapSize).toBeLessThanOrEqual(80_032);
    while (oldest < handles.length) queue.cancel(handles[oldest++]);
    expect(queue.size).toBe(0);
    expect(queue.heapSize).toBeLessThanOrEqual(32);
    queue.advance(60_000);
    expect(log).toEqual([]);
  });

  it('a timer scheduled from inside a firing timer fires in the same advance when it is due', () => {
    const { clock, queue, log } = fakeQueue();
    const t = new Recorder('t', log, clock);
    const retransmitter: TimerTarget = {
      onTimer(kind) {
        log.push(`r:${kind}@${clock.now()}`);
        // Measured from this timer's deadline, not from the advance target.
        if (kind < 3) queue.schedule(retransmitter, kind + 1, 100 * 2 ** kind);
      },
    };
    queue.schedule(retransmitter, 0, 100);
    queue.schedule(t, 9, 250);
    queue.advance(10_000);
    expect(log).toEqual(['r:0@100', 'r:1@200', 't:9@250', 'r:2@400', 'r:3@800']);
    expect(clock.now()).toBe(10_000);
  });

  it('a zero-delay timer scheduled while firing runs after the timers already due at that instant', () => {
    const { clock, queue, log } = fakeQueue();
    queue.schedule({ onTimer: () => { log.push('a'); queue.schedule(new Recorder('c', log, clock), 0, 0); } }, 1, 100);
    queue.schedule(new Recorder('b', log, clock), 2, 100);
    queue.advance(100);
    expect(log).toEqual(['a', 'b:2@100', 'c:0@100']);
  });

  it('an exception in one timer target does not stop the others; each is reported through onError', () => {
    const faults: Array<{ err: unknown; fault: TimerFault }> = [];
    const { clock, queue, log } = fakeQueue((err, fault) => faults.push({ err, fault }));
    const bad: TimerTarget = { onTimer: (kind) => { throw new Error(`boom ${kind}`); } };
    queue.schedule(new Recorder('ok1', log, clock), 1, 100);
    queue.schedule(bad, 7, 150);
    queue.schedule(new Recorder('ok2', log, clock), 2, 150);
    queue.schedule(bad, 8, 200);
    queue.schedule(new Recorder('ok3', log, clock), 3, 300);
    queue.advance(1000);
    expect(log).toEqual(['ok1:1@100', 'ok2:2@150', 'ok3:3@300']);
    expect(faults.map((f) => [(f.err as Error).message, f.fault.kind, f.fault.at, f.fault.target === bad])).toEqual([
      ['boom 7', 7, 150, true],
      ['boom 8', 8, 200, true],
    ]);
  });

  it('reports target exceptions with console.error by default', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const clock = new FakeClock();
      const queue = new TimerQueue({ clock });
      queue.schedule({ onTimer: () => { throw new Error('boom'); } }, 4, 10);
      queue.advance(10);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(String(spy.mock.calls[0][0])).toContain('timer kind 4');
    } finally {
      spy.mockRestore();
    }
  });

  it('advancing the clock from inside a timer is refused (reported as a StateError)', () => {
    const faults: unknown[] = [];
    const { clock, queue } = fakeQueue((err) => faults.push(err));
    queue.schedule({ onTimer: () => clock.advance(5) }, 1, 10);
    queue.advance(10);
    expect(faults).toHaveLength(1);
    expect(faults[0]).toBeInstanceOf(StateError);
  });

  it('100,000 timers with random deadlines fire in deadline order, ties in scheduling order', () => {
    const { clock, queue } = fakeQueue();
    const rand = prng(3261);
    const n = 100_000;
    const deadlines = new Float64Array(n);
    const fired: number[] = [];
    const target: TimerTarget = { onTimer: (kind) => fired.push(kind) };
    for (let i = 0; i < n; i++) {
      // Coarse deadlines (0…9,999 ms) so there are many ties.
      deadlines[i] = Math.floor(rand() * 10_000);
      queue.schedule(target, i, deadlines[i]);
    }
    queue.advance(10_000);
    expect(fired).toHaveLength(n);
    const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => deadlines[a] - deadlines[b] || a - b);
    expect(fired).toEqual(expected);
    expect(clock.now()).toBe(10_000);
    expect(queue.size).toBe(0);
  });

  it('100,000 timers with a third cancelled: the rest still fire in order', () => {
    const { queue } = fakeQueue();
    const rand = prng(6026);
    const n = 100_000;
    const fired: number[] = [];
    const target: TimerTarget = { onTimer: (kind) => fired.push(kind) };
    const handles: TimerHandle[] = [];
    const deadlines: number[] = [];
    for (let i = 0; i < n; i++) {
      deadlines.push(Math.floor(rand() * 50_000));
      handles.push(queue.schedule(target, i, deadlines[i]));
    }
    for (let i = 0; i < n; i += 3) queue.cancel(handles[i]);
    queue.advance(50_000);
    const expected = Array.from({ length: n }, (_, i) => i)
      .filter((i) => i % 3 !== 0)
      .sort((a, b) => deadlines[a] - deadlines[b] || a - b);
    expect(fired).toEqual(expected);
  });

  it('two queues on one FakeClock fire in deadline order across both', () => {
    const clock = new FakeClock();
    const q1 = new TimerQueue({ clock });
    const q2 = new TimerQueue({ clock });
    const log: string[] = [];
    q1.schedule(new Recorder('q1', log, clock), 1, 300);
    q2.schedule(new Recorder('q2', log, clock), 2, 100);
    q1.schedule(new Recorder('q1', log, clock), 3, 200);
    clock.advance(1000); // moving the clock itself drives the queues
    expect(log).toEqual(['q2:2@100', 'q1:3@200', 'q1:1@300']);
  });

  it('never arms a Node timer', () => {
    const { clock, queue } = fakeQueue();
    queue.schedule(new Recorder('t', [], clock), 1, 100);
    expect(queue.armed).toBe(false);
  });

  it('close() drops pending timers, detaches from the clock and refuses new ones', () => {
    const { clock, queue, log } = fakeQueue();
    const h = queue.schedule(new Recorder('t', log, clock), 1, 100);
    queue.close();
    queue.close();
    expect(h.pending).toBe(false);
    expect(queue.size).toBe(0);
    clock.advance(1000);
    expect(log).toEqual([]);
    expect(() => queue.schedule(new Recorder('t', log, clock), 1, 100)).toThrow(StateError);
    expect(() => queue.advance(1)).toThrow(StateError);
  });

  it('rejects a non-finite delay; a negative delay counts as zero', () => {
    const { clock, queue, log } = fakeQueue();
    expect(() => queue.schedule(new Recorder('t', log, clock), 1, Number.NaN)).toThrow(RangeError);
    expect(() => queue.schedule(new Recorder('t', log, clock), 1, Infinity)).toThrow(RangeError);
    clock.advance(50);
    expect(queue.schedule(new Recorder('t', log, clock), 2, -10).at).toBe(50);
    queue.advance(0);
    expect(log).toEqual(['t:2@50']);
  });
});

describe('TimerQueue on the real clock', () => {
  const queues: TimerQueue[] = [];
  function realQueue(opts: ConstructorParameters<typeof TimerQueue>[0] = {}): TimerQueue {
    const q = new TimerQueue(opts);
    queues.push(q);
    return q;
  }
  afterEach(() => {
    for (const q of queues.splice(0)) q.close();
    vi.restoreAllMocks();
  });

  function activeNodeTimers(): number {
    return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  }

  it('a 20 ms timer fires, not before its deadline', async () => {
    const queue = realQueue();
    const start = realClock.now();
    const firedAt = await new Promise<number>((resolve) => {
      queue.schedule({ onTimer: () => resolve(realClock.now()) }, 1, 20);
    });
    expect(firedAt - start).toBeGreaterThanOrEqual(20);
    expect(firedAt - start).toBeLessThan(2000);
    expect(queue.size).toBe(0);
    expect(queue.armed).toBe(false);
  });

  it('exactly one Node timer is armed however many SIP timers are pending', () => {
    const setSpy = vi.spyOn(globalThis, 'setTimeout');
    const clearSpy = vi.spyOn(globalThis, 'clearTimeout');
    const before = activeNodeTimers();
    const queue = realQueue();
    const target: TimerTarget = { onTimer() {} };
    // Later deadlines: the earliest never changes, so the Node timer is armed once.
    for (let i = 0; i < 1000; i++) queue.schedule(target, 1, 10_000 + i);
    expect(setSpy).toHaveBeenCalledTimes(1);
    expect(queue.armed).toBe(true);
    expect(activeNodeTimers() - before).toBe(1);
    // An earlier deadline re-arms: one clear, one set, still one Node timer.
    queue.schedule(target, 2, 5_000);
    expect(setSpy).toHaveBeenCalledTimes(2);
    expect(clearSpy).toHaveBeenCalledTimes(1);
    expect(activeNodeTimers() - before).toBe(1);
    // Cancelling does not touch the Node timer at all.
    const h = queue.schedule(target, 3, 20_000);
    queue.cancel(h);
    expect(setSpy).toHaveBeenCalledTimes(2);
    queue.close();
    expect(queue.armed).toBe(false);
    expect(activeNodeTimers() - before).toBe(0);
  });

  it('fires everything due in deadline order, then re-arms for the next deadline', async () => {
    const queue = realQueue();
    const log: string[] = [];
    const done = new Promise<void>((resolve) => {
      const t: TimerTarget = {
        onTimer(kind) {
          log.push(`k${kind}`);
          if (kind === 4) resolve();
        },
      };
      queue.schedule(t, 3, 40);
      queue.schedule(t, 1, 10);
      queue.schedule(t, 2, 10);
      queue.schedule(t, 4, 60);
    });
    await done;
    expect(log).toEqual(['k1', 'k2', 'k3', 'k4']);
    expect(queue.armed).toBe(false);
  });

  it('a timer scheduled from inside a firing timer is armed once the batch is done', async () => {
    const queue = realQueue();
    const times: number[] = [];
    await new Promise<void>((resolve) => {
      const t: TimerTarget = {
        onTimer(kind) {
          times.push(realClock.now());
          if (kind === 1) queue.schedule(t, 2, 15);
          else resolve();
        },
      };
      queue.schedule(t, 1, 5);
    });
    expect(times).toHaveLength(2);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(15);
  });

  it('an exception in one target does not stop the rest (real clock)', async () => {
    const faults: unknown[] = [];
    const queue = realQueue({ onError: (err) => faults.push(err) });
    const fired: number[] = [];
    await new Promise<void>((resolve) => {
      queue.schedule({ onTimer: () => { throw new Error('boom'); } }, 1, 5);
      queue.schedule({ onTimer: (k) => fired.push(k) }, 2, 5);
      queue.schedule({ onTimer: (k) => { fired.push(k); resolve(); } }, 3, 10);
    });
    expect(fired).toEqual([2, 3]);
    expect(faults).toHaveLength(1);
  });

  it('unref: true lets the process exit with timers pending', () => {
    const setSpy = vi.spyOn(globalThis, 'setTimeout');
    const queue = realQueue({ unref: true });
    queue.schedule({ onTimer() {} }, 1, 32_000);
    const timer = setSpy.mock.results[0].value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
  });

  it('by default the Node timer keeps the process alive', () => {
    const setSpy = vi.spyOn(globalThis, 'setTimeout');
    const queue = realQueue();
    queue.schedule({ onTimer() {} }, 1, 32_000);
    const timer = setSpy.mock.results[0].value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(true);
  });

  it('advance() needs a FakeClock', () => {
    const queue = realQueue();
    expect(() => queue.advance(10)).toThrow(StateError);
  });
});
