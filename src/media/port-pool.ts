/**
 * Media port allocation for RTP. Each call gets an even RTP port and the odd port above it for
 * RTCP (RFC 3550 §11: "RTP SHOULD use an even destination port number and the corresponding
 * RTCP stream SHOULD use the next higher (odd) destination port number"). A pair is handed out
 * only after both ports were bound on the pool's host and closed again, so ports another program
 * holds are skipped. The check is a snapshot: a port can still be taken between the check and
 * the moment the RTP layer binds it, which that layer reports as `ERR_TRANSPORT_BIND`.
 */
import { createSocket, type Socket, type SocketType } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { SipwrightError, UsageError } from '../errors.js';

/** Options for {@link RtpPortPool}. */
export interface RtpPortPoolOptions {
  /** Address to bind and check on; default `127.0.0.1`. */
  host?: string;
  /** Lowest port of the range, inclusive; default 20000. */
  min?: number;
  /** Highest port of the range, inclusive; default 30000. */
  max?: number;
  /**
   * How long a released pair stays out of the pool, in milliseconds; default 0. The peer of a
   * call that hung up may still send RTP to it for a while, which would land in the next call.
   */
  holdMs?: number;
}

/** An RTP port and its RTCP port, `rtcp === rtp + 1` (RFC 3550 §11). */
export interface RtpPortPair {
  rtp: number;
  rtcp: number;
}

/**
 * Hands out RTP/RTCP port pairs from `[min, max]` on one host. Pairs are tried round-robin, so a
 * released pair is reused as late as possible. Timers for `holdMs` are unref'd and never keep
 * the process alive.
 */
export class RtpPortPool {
  readonly host: string;
  readonly min: number;
  readonly max: number;
  readonly holdMs: number;
  readonly #socketType: SocketType;
  /** First even port >= min. */
  readonly #first: number;
  readonly #pairCount: number;
  #cursor = 0;
  readonly #allocated = new Set<number>();
  readonly #held = new Map<number, NodeJS.Timeout>();
  /** Pairs being checked by an allocate() in flight, so two calls never get the same pair. */
  readonly #checking = new Set<number>();

  /** @throws UsageError when the range is not valid or holds no even/odd pair. */
  constructor(options: RtpPortPoolOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.min = options.min ?? 20000;
    this.max = options.max ?? 30000;
    this.holdMs = options.holdMs ?? 0;
    const isPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;
    if (!isPort(this.min) || !isPort(this.max) || this.min > this.max) {
      throw new UsageError(`RtpPortPool: min ${this.min} and max ${this.max} must be ports with 1 <= min <= max <= 65535`);
    }
    if (!Number.isFinite(this.holdMs) || this.holdMs < 0) {
      throw new UsageError(`RtpPortPool: holdMs ${this.holdMs} must be a number of milliseconds >= 0`);
    }
    this.#first = this.min % 2 === 0 ? this.min : this.min + 1;
    this.#pairCount = Math.max(0, Math.floor((this.max - this.#first + 1) / 2));
    if (this.#pairCount === 0) {
      throw new UsageError(
        `RtpPortPool: ports ${this.min}-${this.max} hold no even RTP port with its odd RTCP port (RFC 3550 §11)`,
      );
    }
    this.#socketType = isIPv6(this.host) ? 'udp6' : 'udp4';
  }

  /** Pairs handed out and not yet released. */
  get inUse(): number {
    return this.#allocated.size;
  }

  /** Pairs released but still held for `holdMs`. */
  get held(): number {
    return this.#held.size;
  }

  /**
   * The next free pair: both ports are bound on `host` and closed again before they are returned.
   *
   * @throws SipwrightError `ERR_TRANSPORT_BIND` when every pair in the range is allocated, held or
   *   busy, or when binding fails for another reason than the port being in use.
   */
  async allocate(): Promise<RtpPortPair> {
    const start = this.#cursor;
    this.#cursor = (this.#cursor + 1) % this.#pairCount;
    let busy = 0;
    for (let i = 0; i < this.#pairCount; i++) {
      const index = (start + i) % this.#pairCount;
      const rtp = this.#first + 2 * index;
      if (this.#allocated.has(rtp) || this.#held.has(rtp) || this.#checking.has(rtp)) continue;
      this.#checking.add(rtp);
      try {
        if (await pairIsFree(this.#socketType, this.host, rtp)) {
          this.#allocated.add(rtp);
          this.#cursor = (index + 1) % this.#pairCount;
          return { rtp, rtcp: rtp + 1 };
        }
        busy++;
      } finally {
        this.#checking.delete(rtp);
      }
    }
    throw new SipwrightError(
      'ERR_TRANSPORT_BIND',
      `no free RTP/RTCP port pair on ${this.host} in ports ${this.min}-${this.max} ` +
        `(${this.#allocated.size} allocated, ${this.#held.size} held after release, ${busy} busy in other sockets); ` +
        'widen min/max or release pairs',
    );
  }

  /**
   * Give a pair back by its RTP port. With `holdMs > 0` it returns to the pool only after that
   * delay. Returns false (and does nothing) for a port that is not allocated, so a second release
   * in a teardown path is harmless.
   */
  release(rtp: number): boolean {
    if (!this.#allocated.delete(rtp)) return false;
    if (this.holdMs > 0) {
      const timer = setTimeout(() => this.#held.delete(rtp), this.holdMs);
      timer.unref();
      this.#held.set(rtp, timer);
    }
    return true;
  }
}

/** True when both `rtp` and `rtp + 1` can be bound now; false when either is in use. */
async function pairIsFree(type: SocketType, host: string, rtp: number): Promise<boolean> {
  const sockets: Socket[] = [];
  try {
    for (const port of [rtp, rtp + 1]) {
      const socket = await bindUdp(type, host, port);
      if (!socket) return false;
      sockets.push(socket);
    }
    return true;
  } finally {
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** Bind a UDP socket; undefined when the port is in use, SipwrightError for any other failure. */
function bindUdp(type: SocketType, host: string, port: number): Promise<Socket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type, reuseAddr: false });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.close();
      if (err.code === 'EADDRINUSE') resolve(undefined);
      else {
        reject(new SipwrightError('ERR_TRANSPORT_BIND', `cannot bind UDP ${host}:${port}: ${err.message}`, { cause: err }));
      }
    });
    socket.bind({ port, address: host, exclusive: true }, () => resolve(socket));
  });
}
