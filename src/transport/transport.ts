/**
 * The Transport interface (RFC 3261 §18). UDP and TCP implement it now; TLS and WebSocket
 * will later, behind the same interface. Messages go up through {@link TransportUser}.
 */
import { SipParseError } from '../errors.js';
import type { SipMessage } from '../sip/message.js';

/** Transport protocol names as written in a Via (`SIP/2.0/UDP`), lower-cased. */
export type TransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** A host (IPv4 dotted, IPv6 without brackets, or name) and port. */
export interface Address {
  host: string;
  port: number;
}

/** What a transport hands upward. One object per endpoint: no closure per message. */
export interface TransportUser {
  /** A parsed message; `msg.origin` says where it came from. */
  onMessage(msg: SipMessage, transport: Transport): void;
  /** Bytes that were not SIP; counted by the transport before this is called. */
  onBadMessage?(bytes: Buffer, err: SipParseError, remote: Address, transport: Transport): void;
  /** A send that failed (connection refused, host unreachable): RFC 3261 §8.1.3.1 treats it as 503. */
  onSendError?(err: Error, dest: Address, transport: Transport): void;
}

/** Observes every message on the wire (ladders, pcap). Called after send / before parse. */
export interface WireTap {
  onWire(direction: 'in' | 'out', bytes: Buffer, local: Address, remote: Address, protocol: TransportProtocol, at: number): void;
}

/** Counters every transport keeps; merged into run summaries. */
export interface TransportStats {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Received bytes that did not parse as SIP (not SIP, truncated, bad Content-Length …). */
  badMessages: number;
  /** Of those, the ones over a size cap. */
  oversize: number;
  keepAlives: number;
  sendErrors: number;
  /** Stream transports: connections open now, and refused over the cap. */
  connections: number;
  connectionsRefused: number;
}

export function emptyStats(): TransportStats {
  return {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    badMessages: 0,
    oversize: 0,
    keepAlives: 0,
    sendErrors: 0,
    connections: 0,
    connectionsRefused: 0,
  };
}

/** A bound SIP transport. */
export interface Transport {
  readonly protocol: TransportProtocol;
  /** Reliable transports turn off retransmissions (RFC 3261 §17.1.1.2). */
  readonly reliable: boolean;
  /** The address actually bound (port resolved when 0 was asked). */
  readonly local: Address;
  readonly stats: TransportStats;
  user: TransportUser | undefined;
  tap: WireTap | undefined;
  /**
   * Send bytes. Stream transports reuse `connectionId` when given and alive, else a connection
   * to `dest`, else open one. Errors are reported through `user.onSendError`, never thrown.
   */
  send(bytes: Buffer, dest: Address, connectionId?: number): void;
  close(): Promise<void>;
}

/**
 * Hands a parsed message to `t.user` and counts it in `messagesIn`. Header values are parsed on
 * demand, so a From, To, Via or Contact that is not SIP may only show up as a
 * {@link SipParseError} thrown by the layers above while they handle the message. That is a bad
 * message too (RFC 3261 §21.4.1): it is counted in `badMessages` instead and reported to
 * `onBadMessage`, and never escapes into the socket's event handler, where it would end the
 * process. Any other exception is a bug of ours and is rethrown.
 */
export function handUp(t: Transport, msg: SipMessage, remote: Address): void {
  t.stats.messagesIn++;
  try {
    t.user?.onMessage(msg, t);
  } catch (err) {
    if (!(err instanceof SipParseError)) throw err;
    t.stats.messagesIn--;
    countBad(t, msg.raw ?? Buffer.alloc(0), err, remote);
  }
}

/** Counts bytes that are not SIP (`badMessages`, and `oversize` for 413/513) and reports them. */
export function countBad(t: Transport, bytes: Buffer, err: SipParseError, remote: Address): void {
  t.stats.badMessages++;
  if (err.code === 'ERR_SIP_TOO_LARGE' || err.status === 513 || err.status === 413) t.stats.oversize++;
  t.user?.onBadMessage?.(bytes, err, remote, t);
}

/** `[::1]` → `::1`; other hosts unchanged. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `::1` → `[::1]` for URIs and Via sent-by (RFC 3261 §19.1.1, RFC 5118). */
export function uriHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** `host:port` with IPv6 brackets. */
export function formatAddress(a: Address): string {
  return `${uriHost(a.host)}:${a.port}`;
}
