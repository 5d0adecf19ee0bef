/**
 * SIP over TCP (RFC 3261 §18): a listening socket plus outbound connections, each framed by
 * Content-Length ({@link StreamFramer}). Responses go back on the connection the request came
 * in on (RFC 3261 §18.2.2); requests reuse an open connection to the same address.
 */
import net from 'node:net';
import { SipParseError, SipwrightError } from '../errors.js';
import { parseMessage } from '../sip/parse.js';
import { bindError } from './bind-error.js';
import { StreamFramer, type FramerSink } from './stream-framer.js';
import { countBad, emptyStats, formatAddress, handUp, type Address, type Transport, type TransportStats, type TransportUser, type WireTap } from './transport.js';

/** Options for {@link TcpTransport.open}. */
export interface TcpOptions {
  host?: string;
  port?: number;
  /** Open connections allowed at once (default 4096); more are refused and counted. */
  maxConnections?: number;
  /** Close a connection that has been silent this long (default 300 s; 0 = never). */
  idleTimeoutMs?: number;
}

const CRLF = Buffer.from('\r\n');

/** One TCP connection and its framer; it is its own framer sink (no closure per message). */
class Connection implements FramerSink {
  readonly framer = new StreamFramer();
  readonly remote: Address;
  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    private readonly owner: TcpTransport,
  ) {
    this.remote = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
  }
  onMessage(bytes: Buffer, info: { missingContentLength: boolean }): void {
    this.owner.deliver(this, bytes, info.missingContentLength);
  }
  onKeepAlive(kind: 'ping' | 'pong'): void {
    this.owner.stats.keepAlives++;
    // RFC 5626 §3.5.1: answer a CRLFCRLF ping with a CRLF pong.
    if (kind === 'ping') this.socket.write(CRLF);
  }
  onError(err: SipParseError): void {
    countBad(this.owner, Buffer.alloc(0), err, this.remote);
    this.socket.destroy(); // framing is lost: nothing later on this stream can be trusted
  }
  /** The stream ended (peer closed, error, idle timeout): a message left unfinished was truncated. */
  onClose(): void {
    const partial = this.framer.partialMessage;
    if (partial.length === 0 || this.framer.broken) return;
    countBad(
      this.owner,
      Buffer.from(partial),
      new SipParseError(
        `connection closed after ${partial.length} bytes of an unfinished message: truncated, or a Content-Length larger than its body (RFC 3261 §18.3)`,
        { code: 'ERR_TRANSPORT_FRAMING', status: 400 },
      ),
      this.remote,
    );
  }
}

export class TcpTransport implements Transport {
  readonly protocol = 'tcp' as const;
  readonly reliable = true;
  readonly stats: TransportStats = emptyStats();
  user: TransportUser | undefined = undefined;
  tap: WireTap | undefined = undefined;
  local: Address;
  private readonly server: net.Server;
  private readonly byId = new Map<number, Connection>();
  private readonly byRemote = new Map<string, Connection>();
  private nextId = 1;
  private closed = false;
  private readonly maxConnections: number;
  private readonly idleTimeoutMs: number;

  private constructor(server: net.Server, local: Address, opts: TcpOptions) {
    this.server = server;
    this.local = local;
    this.maxConnections = opts.maxConnections ?? 4096;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 300_000;
    server.on('connection', (s) => this.adopt(s));
  }

  /** Listen on host:port (port 0 = any free port). */
  static async open(opts: TcpOptions = {}): Promise<TcpTransport> {
    const host = opts.host ?? '127.0.0.1';
    const server = net.createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(bindError('tcp', host, opts.port ?? 0, err));
      server.once('error', onError);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const addr = server.address() as net.AddressInfo;
    return new TcpTransport(server, { host: addr.address, port: addr.port }, opts);
  }

  send(bytes: Buffer, dest: Address, connectionId?: number): void {
    if (this.closed) return;
    let conn = connectionId ? this.byId.get(connectionId) : undefined;
    if (!conn || conn.socket.destroyed) conn = this.byRemote.get(key(dest));
    if (!conn || conn.socket.destroyed) conn = this.connect(dest);
    if (!conn) return;
    this.stats.messagesOut++;
    this.stats.bytesOut += bytes.length;
    this.tap?.onWire('out', bytes, this.local, conn.remote.port ? conn.remote : dest, 'tcp', Date.now());
    conn.socket.write(bytes);
  }

  /** Connections open now (for tests and summaries). */
  get connectionCount(): number {
    return this.byId.size;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const c of this.byId.values()) c.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Called by a connection's framer with one complete message. */
  deliver(conn: Connection, bytes: Buffer, missingContentLength: boolean): void {
    this.stats.bytesIn += bytes.length;
    const at = Date.now();
    this.tap?.onWire('in', bytes, this.local, conn.remote, 'tcp', at);
    let msg;
    try {
      msg = parseMessage(bytes, { datagram: false });
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      // The framer found the message's end, so the stream stays usable: count it and go on.
      countBad(this, bytes, err, conn.remote);
      return;
    }
    if (missingContentLength) {
      msg.findings.push({
        code: 'missing-content-length-stream',
        severity: 'violation',
        message: 'no Content-Length on a stream transport',
        rfc: 'RFC 3261 §20.14',
      });
    }
    msg.origin = {
      protocol: 'tcp',
      remoteHost: conn.remote.host,
      remotePort: conn.remote.port,
      localHost: this.local.host,
      localPort: this.local.port,
      connectionId: conn.id,
      receivedAt: at,
    };
    handUp(this, msg, conn.remote);
  }

  private connect(dest: Address): Connection | undefined {
    if (!Number.isInteger(dest.port) || dest.port < 1 || dest.port > 65535) {
      // net.connect would throw; the Transport contract is to report, never throw.
      this.stats.sendErrors++;
      const err = new SipwrightError('ERR_TRANSPORT_SEND', `cannot connect to port ${dest.port} of ${dest.host}: expected 1-65535`);
      this.user?.onSendError?.(err, dest, this);
      return undefined;
    }
    if (this.byId.size >= this.maxConnections) {
      this.stats.connectionsRefused++;
      const err = new SipwrightError(
        'ERR_TRANSPORT_SEND',
        `cannot open a TCP connection to ${formatAddress(dest)}: ${this.maxConnections} connections are open, the maxConnections limit`,
      );
      this.user?.onSendError?.(err, dest, this);
      return undefined;
    }
    const socket = net.connect({ host: dest.host, port: dest.port, noDelay: true });
    const conn = this.track(socket, dest);
    socket.on('error', (err) => {
      this.stats.sendErrors++;
      this.user?.onSendError?.(err, dest, this);
    });
    return conn;
  }

  private adopt(socket: net.Socket): void {
    if (this.closed || this.byId.size >= this.maxConnections) {
      this.stats.connectionsRefused++;
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    this.track(socket, { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
  }

  private track(socket: net.Socket, remote: Address): Connection {
    const conn = new Connection(this.nextId++, socket, this);
    (conn.remote as Address).host = remote.host;
    (conn.remote as Address).port = remote.port;
    this.byId.set(conn.id, conn);
    this.byRemote.set(key(remote), conn);
    this.stats.connections = this.byId.size;
    if (this.idleTimeoutMs > 0) socket.setTimeout(this.idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => conn.framer.push(chunk, conn));
    socket.on('close', () => {
      if (!this.closed) conn.onClose();
      this.byId.delete(conn.id);
      if (this.byRemote.get(key(remote)) === conn) this.byRemote.delete(key(remote));
      this.stats.connections = this.byId.size;
    });
    return conn;
  }
}

function key(a: Address): string {
  return `${a.host}|${a.port}`;
}
