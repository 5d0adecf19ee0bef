/**
 * SIP over UDP against bad input (RFC 3261 §18.3, §21.4), over real sockets on 127.0.0.1: each
 * datagram that is not a SIP message is counted in `stats.badMessages` (and `oversize`), handed
 * to `onBadMessage` with its error, and dropped; the engine keeps running, its heap stays
 * bounded under a flood, and a normal call completes afterwards.
 */
import dgram from 'node:dgram';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { UserAgent } from '../../src/dialog/user-agent.js';
import type { SipParseError } from '../../src/errors.js';
import type { Address, Transport, TransportUser } from '../../src/transport/transport.js';
import { UdpTransport } from '../../src/transport/udp.js';

const open: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

/** A well-formed INVITE to `port`; `mutate` breaks it. */
function invite(port: number, extra = '', body = ''): string {
  return (
    `INVITE sip:bob@127.0.0.1:${port} SIP/2.0\r\n` +
    'Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-bad-1\r\n' +
    'Max-Forwards: 70\r\n' +
    'From: <sip:alice@127.0.0.1:5999>;tag=a1\r\n' +
    `To: <sip:bob@127.0.0.1:${port}>\r\n` +
    'Call-ID: bad-input-1@127.0.0.1\r\n' +
    'CSeq: 1 INVITE\r\n' +
    extra +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
    body
  );
}

interface BadCase {
  name: string;
  bytes: (port: number) => Buffer;
  /** Part of the error message. */
  error: RegExp;
  status: number;
  oversize: boolean;
}

/** The bad datagrams of RFC 3261 §18.3 / §21.4, each with the error it must produce. */
const BAD: BadCase[] = [
  {
    name: 'a datagram that is not SIP',
    bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'),
    error: /not a SIP/,
    status: 400,
    oversize: false,
  },
  {
    name: 'a truncated message (cut inside a header line)',
    bytes: (port) => Buffer.from(invite(port).slice(0, 120)),
    error: /truncated/,
    status: 400,
    oversize: false,
  },
  {
    name: 'a header line longer than 8 KiB (§21.5.7 513 Message Too Large)',
    bytes: (port) => Buffer.from(invite(port, `Subject: ${'x'.repeat(9000)}\r\n`)),
    error: /longer than 8192 bytes/,
    status: 513,
    oversize: true,
  },
  {
    name: 'a Content-Length larger than the body (§18.3: MUST be discarded)',
    bytes: (port) => Buffer.from(invite(port).replace('Content-Length: 0', 'Content-Length: 200') + 'v=0\r\n'),
    error: /Content-Length 200 is larger than the 5 body bytes/,
    status: 400,
    oversize: false,
  },
  {
    name: 'a NUL byte in the header block',
    bytes: (port) => Buffer.from(invite(port, 'Subject: a\0b\r\n')),
    error: /NUL byte/,
    status: 400,
    oversize: false,
  },
];

/** A UA on UDP 127.0.0.1 that answers every INVITE with 200 and records bad messages. */
async function answeringUa(): Promise<{ ua: UserAgent; bad: Array<{ bytes: Buffer; err: SipParseError; remote: Address }> }> {
  const ua = await UserAgent.create({ transport: 'udp', user: 'bob' });
  open.push(ua);
  ua.onInvite = (call) => {
    call.respond(200, { body: SDP, contentType: 'application/sdp' });
  };
  const bad: Array<{ bytes: Buffer; err: SipParseError; remote: Address }> = [];
  // The transaction layer is the transport's user; it does not implement onBadMessage, so add one.
  const user = ua.transport.user as TransportUser;
  user.onBadMessage = (bytes, err, remote) => {
    if (bad.length < 100) bad.push({ bytes, err, remote }); // keep the flood from filling memory
  };
  return { ua, bad };
}

/** A plain UDP socket on 127.0.0.1 for sending raw bytes. */
async function rawSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  open.push({ close: () => new Promise<void>((r) => s.close(() => r())) });
  return s;
}

function sendTo(s: dgram.Socket, bytes: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => s.send(bytes, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

/** Polls until `cond` holds or `ms` passed. */
async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

/** A second UA calls `ua`: INVITE / 200 / ACK / BYE / 200 must complete. */
async function normalCall(ua: UserAgent, transport: 'udp' | 'tcp' = 'udp'): Promise<void> {
  const alice = await UserAgent.create({ transport, user: 'alice' });
  open.push(alice);
  const call = alice.invite(`sip:bob@127.0.0.1:${ua.local.port}${transport === 'tcp' ? ';transport=tcp' : ''}`, { body: SDP });
  const final = await call.waitFinal(5_000);
  expect(final?.status).toBe(200);
  expect(call.state).toBe('established');
  const bye = await call.bye();
  expect(bye.status).toBe(200);
}

/** `gc()` when V8 allows turning it on in this worker; a no-op otherwise. */
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

/** Deterministic junk (xorshift32): the same flood every run. */
function junkSource(seed: number): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  const next = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return (n) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = next() & 0xff;
    b[0] = 0x21 + (b[0] % 90); // never a CR/LF-only keep-alive, never an empty message
    return b;
  };
}

describe('UdpTransport: bad datagrams are counted, reported and dropped (RFC 3261 §18.3, §21.4)', () => {
  for (const c of BAD) {
    it(`${c.name}: counted once, onBadMessage gets the bytes and a ${c.status} error`, async () => {
      const t = await UdpTransport.open();
      open.push(t);
      const seen: Array<{ bytes: Buffer; err: SipParseError; remote: Address; transport: Transport }> = [];
      t.user = {
        onMessage: () => {
          throw new Error('a bad datagram must not reach onMessage');
        },
        onBadMessage: (bytes, err, remote, transport) => seen.push({ bytes, err, remote, transport }),
      };
      const s = await rawSocket();
      const bytes = c.bytes(t.local.port);
      await sendTo(s, bytes, t.local.port);
      await until(() => seen.length > 0, 2_000);
      expect(seen).toHaveLength(1);
      expect(seen[0].err.message).toMatch(c.error);
      expect(seen[0].err.status).toBe(c.status);
      expect(seen[0].bytes.equals(bytes)).toBe(true);
      expect(seen[0].remote).toEqual({ host: '127.0.0.1', port: s.address().port });
      expect(seen[0].transport).toBe(t);
      expect(t.stats).toMatchObject({ badMessages: 1, oversize: c.oversize ? 1 : 0, messagesIn: 0, bytesIn: bytes.length });
    });
  }

  it('a CRLF keep-alive (RFC 5626 §3.5.2) is counted as a keep-alive, not as a bad message', async () => {
    const t = await UdpTransport.open();
    open.push(t);
    t.user = { onMessage: () => {}, onBadMessage: () => {} };
    const s = await rawSocket();
    await sendTo(s, Buffer.from('\r\n\r\n'), t.local.port);
    await until(() => t.stats.keepAlives > 0, 2_000);
    expect(t.stats).toMatchObject({ keepAlives: 1, badMessages: 0, messagesIn: 0 });
  });
});

describe('UdpTransport: a send that fails is reported with its destination, never thrown or dropped (RFC 3261 §8.1.3.1)', () => {
  async function failedSend(dest: Address): Promise<{ err: Error; dest: Address; t: UdpTransport }> {
    const t = await UdpTransport.open();
    open.push(t);
    const failures: Array<{ err: Error; dest: Address }> = [];
    t.user = { onMessage: () => {}, onSendError: (err, d) => failures.push({ err, dest: d }) };
    expect(() => t.send(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n'), dest)).not.toThrow();
    await until(() => failures.length > 0, 2_000);
    expect(failures).toHaveLength(1);
    expect(t.stats.sendErrors).toBe(1);
    return { ...failures[0], t };
  }

  it('port 0 (from a Contact such as <sip:bob@127.0.0.1:0>) is reported, not thrown', async () => {
    const f = await failedSend({ host: '127.0.0.1', port: 0 });
    expect(f.err.message).toBe('cannot send to port 0 of 127.0.0.1: expected 1-65535');
    expect(f.dest).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('a loopback socket sending to another network (EINVAL) says what to do', async () => {
    const f = await failedSend({ host: '192.0.2.1', port: 5060 });
    expect(f.dest).toEqual({ host: '192.0.2.1', port: 5060 });
    expect(f.err.message).toMatch(
      new RegExp(`^cannot send over udp from 127\\.0\\.0\\.1:${f.t.local.port} to 192\\.0\\.2\\.1:5060: .*\\((EINVAL|ENETUNREACH)\\)$`),
    );
  });

  it('an IPv4 socket sending to an IPv6 address says so', async () => {
    const f = await failedSend({ host: '::1', port: 5060 });
    expect(f.dest).toEqual({ host: '::1', port: 5060 });
    expect(f.err.message).toContain('the socket is IPv4 and the destination IPv6: listen on an IPv6 address (EINVAL)');
  });

  it('a UA calling an address its socket cannot reach fails the call at once, not after Timer B', async () => {
    const alice = await UserAgent.create({ transport: 'udp', user: 'alice' });
    open.push(alice);
    const started = Date.now();
    const call = alice.invite('sip:bob@192.0.2.1:5060');
    await until(() => call.failure !== undefined, 2_000);
    expect(call.failure).toBe('transport');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('a UserAgent on UDP under bad input and a flood keeps answering calls', () => {
  it('counts the five bad datagrams exactly, then a call INVITE/200/ACK/BYE completes', async () => {
    const { ua, bad } = await answeringUa();
    const s = await rawSocket();
    for (const c of BAD) await sendTo(s, c.bytes(ua.local.port), ua.local.port);
    await until(() => ua.transport.stats.badMessages >= BAD.length, 2_000);
    expect(ua.transport.stats).toMatchObject({ badMessages: BAD.length, oversize: 1, messagesIn: 0 });
    expect(bad.map((b) => b.err.status)).toEqual(BAD.map((c) => c.status));
    await normalCall(ua);
    expect(ua.transport.stats.badMessages).toBe(BAD.length);
    expect(ua.dialogCount).toBe(0);
  });

  it('a message whose From or Contact only fails when the UA reads it is counted as bad, and does not end the process', async () => {
    const { ua, bad } = await answeringUa();
    const s = await rawSocket();
    const port = ua.local.port;
    // A 2xx to an INVITE that matches no transaction (RFC 6026 stray 2xx) with a From that is not a name-addr.
    const stray =
      'SIP/2.0 200 OK\r\n' +
      'Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-stray\r\n' +
      'From: "alice <sip:alice@127.0.0.1;tag=a1\r\n' +
      `To: <sip:bob@127.0.0.1:${port}>;tag=b1\r\n` +
      'Call-ID: stray-1@127.0.0.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';
    await sendTo(s, Buffer.from(stray), port);
    // An INVITE whose Contact is not a URI: the dialog it would create cannot be built (§12.1.1).
    await sendTo(s, Buffer.from(invite(port, 'Contact: <sip:alice@bad host>\r\n')), port);
    await until(() => ua.transport.stats.badMessages + ua.layer.stats.malformed >= 2, 2_000);
    expect(ua.transport.stats.badMessages + ua.layer.stats.malformed).toBe(2);
    expect(bad.map((b) => b.err.name)).toEqual(bad.map(() => 'SipParseError'));
    await normalCall(ua);
  });

  it('100,000 junk datagrams (a few near 64 KiB): counted ≤ sent and ≥ 50 %, heap grows < 50 MiB, then a call completes', async () => {
    const { ua, bad } = await answeringUa();
    const stats = ua.transport.stats;
    const s = await rawSocket();
    const port = ua.local.port;
    // Exact part first: the five bad datagrams, sent one at a time.
    for (const c of BAD) await sendTo(s, c.bytes(port), port);
    await until(() => stats.badMessages >= BAD.length, 2_000);
    expect(stats.badMessages).toBe(BAD.length);
    expect(stats.oversize).toBe(1);

    const gc = collector();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const junk = junkSource(0x5eed);
    const total = 100_000;
    const big = 65_000; // RFC 3261 §18.1.1: at most 65,507 bytes fit a UDP datagram
    const deadline = Date.now() + 40_000;
    const started = Date.now();
    let sent = 0;
    let bigSent = 0;
    let bytesSent = 0;
    // Bounded in count and time; batches of 200, each awaited, so the receiver (same event
    // loop) gets to read and the sender never queues more than one batch in libuv.
    while (sent < total && Date.now() < deadline) {
      const batch: Array<Promise<void>> = [];
      for (let i = 0; i < 200 && sent < total; i++, sent++) {
        let bytes: Buffer;
        if (sent % 10_000 === 5_000) {
          // near 64 KiB, and it looks like SIP: one 513 header line
          bytes = Buffer.alloc(big, 'x');
          bytes.write(`MESSAGE sip:bob@127.0.0.1:${port} SIP/2.0\r\nSubject: `);
          bytes.write('\r\n\r\n', big - 4);
          bigSent++;
        } else if (sent % 3 === 0) {
          // truncated SIP, never cut right after a line end (that would be a headers-only datagram)
          bytes = Buffer.from(invite(port).slice(0, 40 + (sent % 200)).replace(/\n$/, ''));
        } else {
          bytes = junk(16 + (sent % 700)); // binary junk, 16 to 715 bytes
        }
        bytesSent += bytes.length;
        batch.push(sendTo(s, bytes, port));
      }
      await Promise.all(batch);
      // At most ~2,000 datagrams in flight: the kernel buffer still overflows now and then
      // (libuv reads 32 datagrams per loop turn), which is the flood; waiting is bounded.
      const waitUntil = Date.now() + 50;
      while (BAD.length + sent - stats.badMessages - stats.messagesIn > 2_000 && Date.now() < waitUntil) {
        await new Promise((r) => setImmediate(r));
      }
    }
    // Let the receive buffer drain.
    let last = -1;
    while (stats.badMessages !== last) {
      last = stats.badMessages;
      await new Promise((r) => setTimeout(r, 100));
    }
    const elapsedMs = Date.now() - started;
    gc();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    const counted = stats.badMessages - BAD.length;
    console.log(
      `udp flood: sent ${sent} datagrams (${(bytesSent / 1048576).toFixed(1)} MiB, ${bigSent} of ${big} bytes), ` +
        `counted ${counted} bad (${stats.oversize - 1} oversize), heap growth ${(growth / 1048576).toFixed(1)} MiB, ${elapsedMs} ms`,
    );
    expect(sent).toBe(total);
    expect(counted).toBeLessThanOrEqual(sent);
    expect(counted).toBeGreaterThanOrEqual(sent / 2);
    expect(stats.oversize - 1).toBeLessThanOrEqual(bigSent);
    expect(stats.messagesIn).toBe(0); // no junk parsed as SIP
    expect(growth).toBeLessThan(50 * 1048576);
    expect(bad.length).toBe(100);

    await normalCall(ua);
    expect(ua.dialogCount).toBe(0);
  }, 90_000);
});
