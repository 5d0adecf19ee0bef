/**
 * SIP over TCP against bad input (RFC 3261 §18.3, §21.4), over real sockets on 127.0.0.1. On a
 * stream a message the framer could delimit but that is not SIP is counted and the connection
 * goes on; when framing is lost (no CRLFCRLF within the limits, a Content-Length that is not a
 * number or is over the limit) the connection is closed and counted; a message cut off by the
 * peer closing is counted as truncated. Idle connections and the connection cap do not stop
 * calls on other connections.
 */
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { UserAgent } from '../../src/dialog/user-agent.js';
import type { SipParseError } from '../../src/errors.js';
import type { SipMessage } from '../../src/sip/message.js';
import { TransactionLayer } from '../../src/transaction/transaction-layer.js';
import { TcpTransport } from '../../src/transport/tcp.js';
import type { Address, TransportUser } from '../../src/transport/transport.js';

const open: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

function options(port: number, n: number, extra = '', body = ''): string {
  return (
    `OPTIONS sip:bob@127.0.0.1:${port};transport=tcp SIP/2.0\r\n` +
    `Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-tcp-${n}\r\n` +
    'Max-Forwards: 70\r\n' +
    'From: <sip:alice@127.0.0.1:5999>;tag=a1\r\n' +
    `To: <sip:bob@127.0.0.1:${port}>\r\n` +
    `Call-ID: tcp-bad-${n}@127.0.0.1\r\n` +
    `CSeq: ${n} OPTIONS\r\n` +
    extra +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
    body
  );
}

interface StreamCase {
  name: string;
  bytes: (port: number) => Buffer;
  error: RegExp;
  status: number;
  oversize: boolean;
  /** What happens to the connection: we close it (framing lost), or it stays usable. */
  connection: 'closed by us' | 'stays open' | 'peer closes';
}

const CASES: StreamCase[] = [
  {
    name: 'a message that is not SIP but ends with CRLFCRLF',
    bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n'),
    error: /not a SIP version: "HTTP\/1.1"/,
    status: 400,
    oversize: false,
    connection: 'stays open',
  },
  {
    name: 'a NUL byte in the header block',
    bytes: (port) => Buffer.from(options(port, 1, 'Subject: a\0b\r\n')),
    error: /NUL byte/,
    status: 400,
    oversize: false,
    connection: 'stays open',
  },
  {
    name: 'a truncated message, then the peer closes',
    bytes: (port) => Buffer.from(options(port, 1).slice(0, 150)),
    error: /connection closed after 150 bytes of an unfinished message/,
    status: 400,
    oversize: false,
    connection: 'peer closes',
  },
  {
    name: 'a Content-Length larger than the body, then the peer closes (§18.3)',
    bytes: (port) => Buffer.from(options(port, 1, '', 'v=0\r\n').replace('Content-Length: 5', 'Content-Length: 200')),
    error: /connection closed after \d+ bytes of an unfinished message/,
    status: 400,
    oversize: false,
    connection: 'peer closes',
  },
  {
    name: 'a header line longer than 8 KiB (§21.5.7 513)',
    bytes: (port) => Buffer.from(options(port, 1, `Subject: ${'x'.repeat(9000)}\r\n`)),
    error: /over the limit of 8192/,
    status: 513,
    oversize: true,
    connection: 'closed by us',
  },
  {
    name: 'garbage without CRLFCRLF (20 KiB): framing is lost',
    bytes: () => Buffer.alloc(20 * 1024, 'garbage\r\n'),
    error: /no end of header block \(CRLFCRLF\) within 16384 bytes/,
    status: 513,
    oversize: true,
    connection: 'closed by us',
  },
  {
    name: 'a Content-Length that is not a number (§20.14): framing is lost',
    bytes: (port) => Buffer.from(options(port, 1).replace('Content-Length: 0', 'Content-Length: ten')),
    error: /Content-Length "ten" is not a number/,
    status: 400,
    oversize: false,
    connection: 'closed by us',
  },
  {
    name: 'a Content-Length over the 1 MiB body limit (§21.4.11 413)',
    bytes: (port) => Buffer.from(options(port, 1).replace('Content-Length: 0', 'Content-Length: 99999999')),
    error: /over the limit of 1048576 body bytes/,
    status: 413,
    oversize: true,
    connection: 'closed by us',
  },
];

/** A client connection to 127.0.0.1:port; resolves once connected. */
function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

function closed(s: net.Socket): Promise<void> {
  return new Promise((resolve) => (s.closed ? resolve() : s.once('close', () => resolve())));
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

/** Collects what a transport hands up. */
function recorder(): TransportUser & { messages: SipMessage[]; bad: Array<{ bytes: Buffer; err: SipParseError; remote: Address }> } {
  const messages: SipMessage[] = [];
  const bad: Array<{ bytes: Buffer; err: SipParseError; remote: Address }> = [];
  return {
    messages,
    bad,
    onMessage: (m) => messages.push(m),
    onBadMessage: (bytes, err, remote) => bad.push({ bytes, err, remote }),
  };
}

/** A UA on TCP 127.0.0.1 that answers every INVITE with 200 and records bad messages. */
async function answeringUa(transport?: TcpTransport): Promise<{ ua: UserAgent; bad: SipParseError[] }> {
  const ua = transport
    ? UserAgent.fromTransport(transport, new TransactionLayer(), { user: 'bob' })
    : await UserAgent.create({ transport: 'tcp', user: 'bob' });
  open.push(ua);
  ua.onInvite = (call) => {
    call.respond(200, { body: SDP, contentType: 'application/sdp' });
  };
  const bad: SipParseError[] = [];
  // The transaction layer is the transport's user and has no onBadMessage: add one.
  (ua.transport.user as TransportUser).onBadMessage = (_bytes, err) => {
    if (bad.length < 100) bad.push(err);
  };
  return { ua, bad };
}

/** A second UA calls `ua` over TCP: INVITE / 200 / ACK / BYE / 200 on a connection of its own. */
async function normalCall(ua: UserAgent): Promise<void> {
  const alice = await UserAgent.create({ transport: 'tcp', user: 'alice' });
  open.push(alice);
  const call = alice.invite(`sip:bob@127.0.0.1:${ua.local.port};transport=tcp`, { body: SDP });
  const final = await call.waitFinal(5_000);
  expect(final?.status).toBe(200);
  expect(call.state).toBe('established');
  const bye = await call.bye();
  expect(bye.status).toBe(200);
}

function collector(): () => void {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (() => void) | undefined;
    if (typeof gc === 'function') return gc;
  } catch {
    // fall through
  }
  return () => {};
}

describe('TcpTransport: bad input on a stream (RFC 3261 §18.3, §21.4)', () => {
  for (const c of CASES) {
    it(`${c.name}: counted once, onBadMessage gets a ${c.status} error, connection ${c.connection}`, async () => {
      const t = await TcpTransport.open();
      open.push(t);
      const user = recorder();
      t.user = user;
      const s = await connect(t.local.port);
      open.push({ close: () => void s.destroy() });
      const localPort = s.localPort;
      s.write(c.bytes(t.local.port));
      if (c.connection === 'peer closes') {
        await until(() => t.connectionCount === 1, 1_000);
        await new Promise((r) => setTimeout(r, 50));
        expect(user.bad).toHaveLength(0); // a stream cannot know the message is cut short yet
        s.end();
      }
      await until(() => user.bad.length > 0, 2_000);
      expect(user.bad).toHaveLength(1);
      expect(user.bad[0].err.message).toMatch(c.error);
      expect(user.bad[0].err.status).toBe(c.status);
      expect(user.bad[0].remote).toEqual({ host: '127.0.0.1', port: localPort });
      expect(t.stats).toMatchObject({ badMessages: 1, oversize: c.oversize ? 1 : 0, messagesIn: 0 });
      if (c.connection === 'closed by us') {
        await closed(s);
        await until(() => t.connectionCount === 0, 1_000);
        expect(t.connectionCount).toBe(0);
      } else if (c.connection === 'stays open') {
        // The framer found the end of the bad message, so the next one on the stream parses.
        s.write(options(t.local.port, 2));
        await until(() => user.messages.length > 0, 2_000);
        expect(user.messages.map((m) => m.method)).toEqual(['OPTIONS']);
        expect(t.stats).toMatchObject({ badMessages: 1, messagesIn: 1 });
        expect(s.destroyed).toBe(false);
      }
    });
  }

  it('a connection silent for idleTimeoutMs with half a message is closed, and the half counted', async () => {
    const t = await TcpTransport.open({ idleTimeoutMs: 100 });
    open.push(t);
    const user = recorder();
    t.user = user;
    const s = await connect(t.local.port);
    open.push({ close: () => void s.destroy() });
    s.write(options(t.local.port, 1).slice(0, 90));
    await closed(s);
    await until(() => user.bad.length > 0, 1_000);
    expect(user.bad.map((b) => b.err.code)).toEqual(['ERR_TRANSPORT_FRAMING']);
    expect(user.bad[0].bytes.toString()).toBe(options(t.local.port, 1).slice(0, 90));
    expect(t.stats).toMatchObject({ badMessages: 1, connections: 0 });
  });

  it('a send to port 0 (from a Contact such as <sip:bob@127.0.0.1:0;transport=tcp>) is reported, not thrown', async () => {
    const t = await TcpTransport.open();
    open.push(t);
    const failures: Array<{ err: Error; dest: Address }> = [];
    t.user = { onMessage: () => {}, onSendError: (err, dest) => failures.push({ err, dest }) };
    expect(() => t.send(Buffer.from(options(5060, 1)), { host: '127.0.0.1', port: 0 })).not.toThrow();
    expect(failures.map((f) => f.err.message)).toEqual(['cannot connect to port 0 of 127.0.0.1: expected 1-65535']);
    expect(t.stats.sendErrors).toBe(1);
  });

  it('a message split byte by byte across writes still frames (no false truncation)', async () => {
    const t = await TcpTransport.open();
    open.push(t);
    const user = recorder();
    t.user = user;
    const s = await connect(t.local.port);
    open.push({ close: () => void s.destroy() });
    s.setNoDelay(true);
    const msg = Buffer.from(options(t.local.port, 3, '', 'hello'));
    for (let i = 0; i < msg.length; i += 7) {
      s.write(msg.subarray(i, i + 7));
      await new Promise((r) => setImmediate(r));
    }
    await until(() => user.messages.length > 0, 2_000);
    s.end();
    await closed(s);
    await new Promise((r) => setTimeout(r, 50));
    expect(user.messages.map((m) => m.body.toString())).toEqual(['hello']);
    expect(t.stats.badMessages).toBe(0);
  });
});

describe('a UserAgent on TCP under bad input keeps answering calls', () => {
  it('counts each bad input exactly, closes the connections whose framing was lost, then a call completes', async () => {
    const { ua, bad } = await answeringUa();
    const port = ua.local.port;
    for (const c of CASES) {
      const s = await connect(port);
      s.write(c.bytes(port));
      if (c.connection === 'closed by us') await closed(s);
      else {
        await new Promise((r) => setTimeout(r, 20));
        s.end();
        await closed(s);
      }
    }
    await until(() => ua.transport.stats.badMessages >= CASES.length, 2_000);
    expect(ua.transport.stats).toMatchObject({
      badMessages: CASES.length,
      oversize: CASES.filter((c) => c.oversize).length,
      messagesIn: 0,
    });
    expect(bad.map((e) => e.status)).toEqual(CASES.map((c) => c.status));
    await normalCall(ua);
    expect(ua.transport.stats.badMessages).toBe(CASES.length);
  });

  it('100,000 junk messages on one connection are each counted (a stream loses none), heap grows < 50 MiB', async () => {
    const { ua } = await answeringUa();
    const stats = ua.transport.stats;
    const s = await connect(ua.local.port);
    open.push({ close: () => void s.destroy() });
    const gc = collector();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    const deadline = started + 40_000;
    const total = 100_000;
    let sent = 0;
    let bytes = 0;
    // Junk the framer can delimit (CRLFCRLF ends each, no Content-Length): the parser rejects it.
    while (sent < total && Date.now() < deadline) {
      const parts: string[] = [];
      for (let i = 0; i < 500 && sent < total; i++, sent++) parts.push(`JUNK ${sent} ${'z'.repeat(sent % 300)}\r\nX: y\r\n\r\n`);
      const chunk = Buffer.from(parts.join(''));
      bytes += chunk.length;
      if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    }
    await until(() => stats.badMessages >= sent, 20_000);
    const elapsedMs = Date.now() - started;
    gc();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    console.log(
      `tcp flood: sent ${sent} junk messages (${(bytes / 1048576).toFixed(1)} MiB) on one connection, ` +
        `counted ${stats.badMessages}, heap growth ${(growth / 1048576).toFixed(1)} MiB, ${elapsedMs} ms`,
    );
    expect(sent).toBe(total);
    expect(stats.badMessages).toBe(total);
    expect(stats.messagesIn).toBe(0);
    expect(growth).toBeLessThan(50 * 1048576);
    expect(s.destroyed).toBe(false); // each was framed: the connection is still good
    await normalCall(ua);
  }, 90_000);

  it('1,000 idle connections opened by a peer do not stop a call on another connection', async () => {
    const { ua } = await answeringUa();
    const idle: net.Socket[] = [];
    open.push({ close: () => idle.forEach((s) => s.destroy()) });
    for (let i = 0; i < 1_000; i += 100) {
      idle.push(...(await Promise.all(Array.from({ length: 100 }, () => connect(ua.local.port)))));
    }
    await until(() => ua.transport.stats.connections >= 1_000, 5_000);
    expect(ua.transport.stats.connections).toBe(1_000);
    await normalCall(ua);
    expect(ua.transport.stats.connectionsRefused).toBe(0);
    expect(idle.every((s) => !s.destroyed)).toBe(true);
  }, 30_000);

  it('over maxConnections a new connection is refused and counted; a call gets through once one is free', async () => {
    const t = await TcpTransport.open({ maxConnections: 5 });
    const { ua } = await answeringUa(t);
    const idle: net.Socket[] = [];
    open.push({ close: () => idle.forEach((s) => s.destroy()) });
    for (let i = 0; i < 5; i++) idle.push(await connect(t.local.port));
    await until(() => t.connectionCount === 5, 2_000);
    const sixth = await connect(t.local.port);
    await closed(sixth);
    expect(t.stats).toMatchObject({ connectionsRefused: 1, connections: 5 });
    // Our own outbound connections count against the same cap.
    const failures: string[] = [];
    const layerUser = t.user as TransportUser;
    const onSendError = layerUser.onSendError?.bind(layerUser);
    layerUser.onSendError = (err, dest, tr) => {
      failures.push(err.message);
      onSendError?.(err, dest, tr);
    };
    t.send(Buffer.from(options(5060, 9)), { host: '127.0.0.1', port: 9 });
    expect(failures).toEqual(['cannot open a TCP connection to 127.0.0.1:9: 5 connections are open, the maxConnections limit']);
    expect(t.stats.connectionsRefused).toBe(2);
    idle.shift()?.destroy();
    await until(() => t.connectionCount === 4, 2_000);
    await normalCall(ua);
    expect(t.stats.connectionsRefused).toBe(2);
  });
});
