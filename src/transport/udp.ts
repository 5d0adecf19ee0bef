/**
 * SIP over UDP (RFC 3261 §18) on one node:dgram socket shared by every call that uses it.
 * Each datagram is one message; garbage is counted and reported, never thrown.
 */
import dgram from 'node:dgram';
import { SipParseError, SipwrightError } from '../errors.js';
import { parseMessage } from '../sip/parse.js';
import { ipFamily, isLoopback } from './address.js';
import { bindError } from './bind-error.js';
import { countBad, emptyStats, formatAddress, handUp, type Address, type Transport, type TransportStats, type TransportUser, type WireTap } from './transport.js';

/** Options for {@link UdpTransport.open}. */
export interface UdpOptions {
  host?: string;
  port?: number;
  /** Socket buffer sizes in bytes (default 4 MiB, as for SIPp load runs); best effort. */
  bufferBytes?: number;
}

/** How long close() waits after the last send, so queued datagrams leave (ms). */
const FLUSH_MS = 30;

/** RFC 3261 §18.1.1: a UDP datagram carries at most 65,507 bytes of payload. */
const MAX_DATAGRAM = 65507;

export class UdpTransport implements Transport {
  readonly protocol = 'udp' as const;
  readonly reliable = false;
  readonly stats: TransportStats = emptyStats();
  user: TransportUser | undefined = undefined;
  tap: WireTap | undefined = undefined;
  local: Address;
  private readonly socket: dgram.Socket;
  private closed = false;
  private lastSendAt = 0;

  private constructor(socket: dgram.Socket, local: Address) {
    this.socket = socket;
    this.local = local;
    socket.on('message', (buf, rinfo) => this.receive(buf, rinfo));
    socket.on('error', (err) => this.socketError(err));
  }

  /** Bind a UDP socket. A port in use or a bad address is one clear {@link SipwrightError}. */
  static async open(opts: UdpOptions = {}): Promise<UdpTransport> {
    const host = opts.host ?? '127.0.0.1';
    const family = ipFamily(host);
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(bindError('udp', host, opts.port ?? 0, err));
      socket.once('error', onError);
      socket.bind(opts.port ?? 0, host, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    const size = opts.bufferBytes ?? 4 * 1024 * 1024;
    try {
      socket.setRecvBufferSize(size);
      socket.setSendBufferSize(size);
    } catch {
      // The kernel may cap buffer sizes (net.core.rmem_max); the default still works.
    }
    const addr = socket.address();
    return new UdpTransport(socket, { host: addr.address, port: addr.port });
  }

  send(bytes: Buffer, dest: Address): void {
    if (this.closed) return;
    if (!Number.isInteger(dest.port) || dest.port < 1 || dest.port > 65535) {
      // node:dgram would throw; the Transport contract is to report, never throw.
      this.sendFailed(new SipwrightError('ERR_TRANSPORT_SEND', `cannot send to port ${dest.port} of ${dest.host}: expected 1-65535`), dest);
      return;
    }
    if (bytes.length > MAX_DATAGRAM) {
      this.sendFailed(new SipwrightError('ERR_TRANSPORT_SEND', `message of ${bytes.length} bytes is too large for UDP`), dest);
      return;
    }
    this.stats.messagesOut++;
    this.lastSendAt = Date.now();
    this.stats.bytesOut += bytes.length;
    this.tap?.onWire('out', bytes, this.local, dest, 'udp', Date.now());
    // Without a callback node:dgram drops a failed send silently (EINVAL from a loopback-bound
    // socket to another address, ENETUNREACH …), and the transaction would wait for Timer B
    // instead of failing at once (RFC 3261 §8.1.3.1). An IP literal's send error carries the
    // destination, so one shared callback serves; a name needs its own (the lookup error has no port).
    if (ipFamily(dest.host) !== 0) this.socket.send(bytes, dest.port, dest.host, this.afterSend);
    else this.socket.send(bytes, dest.port, dest.host, (err) => err && this.sendFailed(err, dest));
  }

  /** The callback of every send to an IP literal; Node puts `address` and `port` on the error. */
  private readonly afterSend = (err: Error | null): void => {
    if (!err) return;
    const e = err as Error & { address?: string; port?: number };
    this.sendFailed(err, { host: e.address ?? '', port: e.port ?? 0 });
  };

  /** Count a failed send and report it with a message that says what to do. */
  private sendFailed(err: Error, dest: Address): void {
    this.stats.sendErrors++;
    const code = (err as NodeJS.ErrnoException).code;
    const wrapped =
      err instanceof SipwrightError
        ? err
        : new SipwrightError(
            'ERR_TRANSPORT_SEND',
            `cannot send over udp from ${formatAddress(this.local)} to ${formatAddress(dest)}: ` +
              `${sendHint(code, this.local, dest) ?? err.message}${code ? ` (${code})` : ''}`,
            { cause: err },
          );
    this.user?.onSendError?.(wrapped, dest, this);
  }

  /**
   * Close the socket. Datagrams handed to the socket just before (a last 480, a BYE's 200) are
   * still in libuv's queue and would be dropped by an immediate close: give them a moment.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sinceSend = Date.now() - this.lastSendAt;
    if (sinceSend < FLUSH_MS) await new Promise((r) => setTimeout(r, FLUSH_MS - sinceSend));
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private receive(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    this.stats.bytesIn += buf.length;
    const remote = { host: rinfo.address, port: rinfo.port };
    if (isKeepAlive(buf)) {
      this.stats.keepAlives++; // RFC 5626 §3.5.2: CRLF keep-alives over UDP are ignored here
      return;
    }
    const at = Date.now();
    this.tap?.onWire('in', buf, this.local, remote, 'udp', at);
    let msg;
    try {
      msg = parseMessage(buf, { datagram: true });
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      countBad(this, buf, err, remote); // RFC 3261 §18.3: discarded, but counted and reported
      return;
    }
    msg.origin = {
      protocol: 'udp',
      remoteHost: rinfo.address,
      remotePort: rinfo.port,
      localHost: this.local.host,
      localPort: this.local.port,
      connectionId: 0,
      receivedAt: at,
    };
    handUp(this, msg, remote);
  }

  private socketError(err: Error): void {
    this.stats.sendErrors++;
    // Unconnected UDP sockets rarely error after bind; report rather than crash.
    this.user?.onSendError?.(err, { host: '', port: 0 }, this);
  }
}

/** What to do about a failed send, or undefined to show the system's message. */
function sendHint(code: string | undefined, local: Address, dest: Address): string | undefined {
  if (code === 'EINVAL') {
    const from = ipFamily(local.host);
    const to = ipFamily(dest.host);
    if (to !== 0 && from !== to) return `the socket is IPv${from} and the destination IPv${to}: listen on an IPv${to} address`;
    if (isLoopback(local.host) && !isLoopback(dest.host)) {
      return 'a socket bound to loopback sends only to loopback: listen on an address of the interface that leads there';
    }
  }
  return code ? SEND_HINTS[code] : undefined;
}

const SEND_HINTS: Record<string, string> = {
  ENETUNREACH: 'no route to that network from this machine',
  EHOSTUNREACH: 'that host is unreachable from this machine',
  EACCES: 'permission denied (a broadcast address?)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved now (DNS)',
};

function isKeepAlive(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 13 && buf[i] !== 10) return false;
  return true;
}
