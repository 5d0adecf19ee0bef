/**
 * An in-memory {@link Transport} for transaction and dialog tests: every sent message is recorded
 * with the clock's time, received messages are injected by the test (or by a linked peer), and
 * outgoing messages can be dropped to simulate loss. No sockets, no real waiting.
 *
 * Linked transports ({@link FakeTransport.link}) deliver to each other through the fake clock:
 * a message sent at time t arrives at t + latency, in deadline order with the transaction
 * timers, when the test moves the clock (`clock.advance(0)` delivers what is in flight now).
 * Delivery is never synchronous, so a UA never re-enters itself from inside a send.
 */
import { SipParseError } from '../../src/errors.js';
import type { SipMessage } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parse.js';
import { serializeMessage } from '../../src/sip/serialize.js';
import { FakeClock, type Clock, type FakeClockDriver } from '../../src/transaction/clock.js';
import {
  emptyStats,
  type Address,
  type Transport,
  type TransportProtocol,
  type TransportStats,
  type TransportUser,
  type WireTap,
} from '../../src/transport/transport.js';

/** One message handed to {@link FakeTransport.send}. */
export interface SentDatagram {
  /** Clock time of the send, ms. */
  at: number;
  bytes: Buffer;
  /** The bytes parsed again, as the peer would see them. */
  msg: SipMessage;
  dest: Address;
  connectionId: number | undefined;
  /** True when the drop predicate discarded it (it never reached the peer). */
  dropped: boolean;
}

/** Options of {@link FakeTransport}. */
export interface FakeTransportOptions {
  /** Time source for `SentDatagram.at` and `origin.receivedAt`; a FakeClock also carries linked deliveries. */
  clock: Clock;
  /** Default 127.0.0.1:5060. */
  local?: Address;
  /** TCP-like (true) or UDP-like (false, default). */
  reliable?: boolean;
  /** Default `tcp` when reliable, else `udp`. */
  protocol?: TransportProtocol;
}

/** A message on its way to a linked peer. */
interface InFlight {
  at: number;
  seq: number;
  bytes: Buffer;
  from: Address;
  connectionId: number | undefined;
}

/** Line ends as typed in a test (`\n`) become CRLF; text that already has CR is left alone. */
function wireText(text: string): Buffer {
  return Buffer.from(text.includes('\r') ? text : text.replace(/\n/g, '\r\n'), 'utf8');
}

export class FakeTransport implements Transport, FakeClockDriver {
  readonly protocol: TransportProtocol;
  readonly reliable: boolean;
  readonly local: Address;
  readonly stats: TransportStats = emptyStats();
  user: TransportUser | undefined = undefined;
  tap: WireTap | undefined = undefined;
  /** Every message sent, dropped ones included (`dropped: true`), in order. */
  readonly sent: SentDatagram[] = [];
  /** Return true to lose an outgoing message (it is still recorded in {@link sent}). */
  drop: ((d: SentDatagram) => boolean) | undefined = undefined;
  /** Where sent messages are delivered, after {@link link}. */
  peer: FakeTransport | undefined = undefined;
  /** One-way delay to the peer in ms (fake clock). */
  latencyMs = 0;
  closed = false;
  readonly clock: Clock;
  readonly #fake: FakeClock | undefined;
  readonly #inFlight: InFlight[] = [];
  #seq = 0;

  constructor(opts: FakeTransportOptions) {
    this.clock = opts.clock;
    this.reliable = opts.reliable ?? false;
    this.protocol = opts.protocol ?? (this.reliable ? 'tcp' : 'udp');
    this.local = opts.local ?? { host: '127.0.0.1', port: 5060 };
    this.#fake = opts.clock instanceof FakeClock ? opts.clock : undefined;
  }

  /**
   * Connect two transports both ways: what one sends to any address arrives at the other
   * `latencyMs` later on the fake clock (both must share one FakeClock).
   */
  static link(a: FakeTransport, b: FakeTransport, latencyMs = 0): void {
    if (!a.#fake || a.#fake !== b.#fake) throw new Error('FakeTransport.link: both transports need the same FakeClock');
    a.peer = b;
    b.peer = a;
    a.latencyMs = latencyMs;
    b.latencyMs = latencyMs;
    a.#fake.attach(b);
    b.#fake.attach(a);
  }

  send(bytes: Buffer, dest: Address, connectionId?: number): void {
    if (this.closed) return;
    const d: SentDatagram = {
      at: this.clock.now(),
      bytes,
      msg: parseMessage(bytes, { datagram: !this.reliable }),
      dest: { ...dest },
      connectionId,
      dropped: false,
    };
    d.dropped = this.drop?.(d) ?? false;
    this.sent.push(d);
    this.stats.messagesOut++;
    this.stats.bytesOut += bytes.length;
    this.tap?.onWire('out', bytes, this.local, dest, this.protocol, d.at);
    if (d.dropped || !this.peer || this.peer.closed) return;
    // The peer's queue, on the peer's side: it is the driver that fires the delivery.
    this.peer.#enqueue({
      at: d.at + this.latencyMs,
      seq: this.peer.#seq++,
      bytes,
      from: this.local,
      connectionId: this.reliable ? 1 : undefined,
    });
  }

  /**
   * A message received from `from`: parsed like the UDP transport does (text with `\n` line ends
   * is sent as CRLF; a SipMessage is serialized first, so the receiver gets its own copy with
   * `raw` set), stamped with `origin`, and handed to `user.onMessage`. Returns the parsed
   * message, or undefined when it did not parse (then `user.onBadMessage` heard of it).
   */
  deliver(input: string | Buffer | SipMessage, from: Address, connectionId?: number): SipMessage | undefined {
    const bytes = typeof input === 'string' ? wireText(input) : Buffer.isBuffer(input) ? input : serializeMessage(input);
    this.stats.bytesIn += bytes.length;
    const at = this.clock.now();
    this.tap?.onWire('in', bytes, this.local, from, this.protocol, at);
    let msg: SipMessage;
    try {
      msg = parseMessage(bytes, { datagram: !this.reliable });
    } catch (err) {
      this.stats.badMessages++;
      if (err instanceof SipParseError) {
        this.user?.onBadMessage?.(bytes, err, from, this);
        return undefined;
      }
      throw err;
    }
    this.stats.messagesIn++;
    msg.origin = {
      protocol: this.protocol,
      remoteHost: from.host,
      remotePort: from.port,
      localHost: this.local.host,
      localPort: this.local.port,
      connectionId: connectionId ?? (this.reliable ? 1 : 0),
      receivedAt: at,
    };
    this.user?.onMessage(msg, this);
    return msg;
  }

  /** Lose the next `count` outgoing messages that match (default 1). */
  dropNext(match: (d: SentDatagram) => boolean, count = 1): void {
    let left = count;
    const previous = this.drop;
    this.drop = (d) => {
      if (left > 0 && match(d)) {
        left--;
        return true;
      }
      return previous?.(d) ?? false;
    };
  }

  /** Sent requests, optionally of one method. */
  requests(method?: string): SentDatagram[] {
    return this.sent.filter((d) => d.msg.isRequest && (method === undefined || d.msg.method === method));
  }

  /** Sent responses, optionally with one status. */
  responses(status?: number): SentDatagram[] {
    return this.sent.filter((d) => d.msg.isResponse && (status === undefined || d.msg.status === status));
  }

  /** Forget what was sent so far. */
  clearSent(): void {
    this.sent.length = 0;
  }

  close(): Promise<void> {
    this.closed = true;
    this.#inFlight.length = 0;
    this.#fake?.detach(this);
    return Promise.resolve();
  }

  // ---- FakeClockDriver: messages in flight towards this transport ----

  nextDeadline(): number {
    return this.#inFlight.length > 0 ? this.#inFlight[0].at : Infinity;
  }

  fireNext(): void {
    const m = this.#inFlight.shift();
    if (m && !this.closed) this.deliver(m.bytes, m.from, m.connectionId);
  }

  settle(): void {}

  #enqueue(m: InFlight): void {
    const q = this.#inFlight;
    let i = q.length;
    while (i > 0 && (q[i - 1].at > m.at || (q[i - 1].at === m.at && q[i - 1].seq > m.seq))) i--;
    q.splice(i, 0, m);
  }
}
