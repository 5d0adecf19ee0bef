/**
 * SIP over UDP (RFC 3261 §18) on one node:dgram socket shared by every call that uses it.
 * Each datagram is one message; garbage is counted and reported, never thrown.
 */
import dgram from 'node:dgram';
import { SipParseError, SipwrightError } from '../errors.js';
import { parseMessage } from '../sip/parse.js';
import { ipFamily } from './address.js';
import { bindError } from './bind-error.js';
import { emptyStats, type Address, type Transport, type TransportStats, type TransportUser, type WireTap } from './transport.js';

/** Options for {@link UdpTransport.open}. */
export interface UdpOptions {
  host?: string;
  port?: number;
  /** Socket buffer sizes in bytes (default 4 MiB, as for SIPp load runs); best effort. */
  bufferBytes?: number;
}

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
    if (bytes.length > MAX_DATAGRAM) {
      this.stats.sendErrors++;
      this.user?.onSendError?.(
        new SipwrightError('ERR_TRANSPORT_SEND', `message of ${bytes.length} bytes is too large for UDP`),
        dest,
        this,
      );
      return;
    }
    this.stats.messagesOut++;
    this.stats.bytesOut += bytes.length;
    this.tap?.onWire('out', bytes, this.local, dest, 'udp', Date.now());
    // No callback: a per-message closure on the hot path; send errors arrive as 'error' events.
    this.socket.send(bytes, dest.port, dest.host);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
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
      this.stats.badMessages++;
      if (err instanceof SipParseError) {
        if (err.status === 513) this.stats.oversize++;
        this.user?.onBadMessage?.(buf, err, remote, this);
        return;
      }
      throw err;
    }
    this.stats.messagesIn++;
    msg.origin = {
      protocol: 'udp',
      remoteHost: rinfo.address,
      remotePort: rinfo.port,
      localHost: this.local.host,
      localPort: this.local.port,
      connectionId: 0,
      receivedAt: at,
    };
    this.user?.onMessage(msg, this);
  }

  private socketError(err: Error): void {
    this.stats.sendErrors++;
    // Unconnected UDP sockets rarely error after bind; report rather than crash.
    this.user?.onSendError?.(err, { host: '', port: 0 }, this);
  }
}

function isKeepAlive(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 13 && buf[i] !== 10) return false;
  return true;
}
