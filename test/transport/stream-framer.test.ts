import { describe, expect, it } from 'vitest';
import { SipParseError, UsageError } from '../../src/errors.js';
import {
  DEFAULT_MAX_HEADER_BYTES,
  StreamFramer,
  type FrameInfo,
  type FramerSink,
  type KeepAliveKind,
  type StreamFramerOptions,
} from '../../src/transport/stream-framer.js';

// ---------------------------------------------------------------------------------------------
// Helpers

type Event =
  | { kind: 'message'; bytes: Buffer; missingContentLength: boolean }
  | { kind: KeepAliveKind }
  | { kind: 'error'; err: SipParseError };

/** A sink that records everything, in order. */
class Recorder implements FramerSink {
  readonly events: Event[] = [];
  onMessage(bytes: Buffer, info: FrameInfo): void {
    this.events.push({ kind: 'message', bytes, missingContentLength: info.missingContentLength });
  }
  onKeepAlive(kind: KeepAliveKind): void {
    this.events.push({ kind });
  }
  onError(err: SipParseError): void {
    this.events.push({ kind: 'error', err });
  }
  get messages(): Buffer[] {
    return this.events.flatMap((e) => (e.kind === 'message' ? [e.bytes] : []));
  }
  get errors(): SipParseError[] {
    return this.events.flatMap((e) => (e.kind === 'error' ? [e.err] : []));
  }
  /** Events as short strings, for readable diffs: `msg:INVITE`, `msg!:REGISTER` (no C-L), `ping`. */
  get trace(): string[] {
    return this.events.map((e) =>
      e.kind === 'message'
        ? `msg${e.missingContentLength ? '!' : ''}:${e.bytes.toString('latin1').split(' ', 1)[0]}`
        : e.kind === 'error'
          ? `error:${e.err.status}`
          : e.kind,
    );
  }
}

function feed(chunks: Buffer[], opts?: StreamFramerOptions): { framer: StreamFramer; rec: Recorder } {
  const framer = new StreamFramer(opts);
  const rec = new Recorder();
  for (const c of chunks) framer.push(c, rec);
  return { framer, rec };
}

/** Builds a message from header lines and a body, with a correct Content-Length. */
function sipMessage(lines: string[], body: Buffer | string = ''): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  const head = [...lines, `Content-Length: ${b.length}`, '', ''].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), b]);
}

/** Builds a message exactly as written (no Content-Length added). */
function raw(lines: string[], body = ''): Buffer {
  return Buffer.from([...lines, '', ''].join('\r\n') + body, 'latin1');
}

/** mulberry32: a tiny seeded PRNG, so random splits are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytewise(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) out.push(buf.subarray(i, i + 1));
  return out;
}

/** Splits into chunks of 1..maxChunk bytes. Each chunk is copied, as a socket would deliver it. */
function randomSplit(buf: Buffer, rand: () => number, maxChunk: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const n = 1 + Math.floor(rand() * maxChunk);
    out.push(Buffer.from(buf.subarray(i, i + n)));
    i += n;
  }
  return out;
}

function expectSameMessages(got: Buffer[], want: Buffer[], where: string): void {
  expect(got.length, `${where}: message count`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!got[i].equals(want[i])) {
      // Fall back to a string diff to show where they differ.
      expect(got[i].toString('latin1'), `${where}: message ${i}`).toBe(want[i].toString('latin1'));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const SDP = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com',
  's=-',
  'c=IN IP4 192.0.2.101',
  't=0 0',
  'm=audio 49172 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  '',
].join('\r\n');

const INVITE = sipMessage(
  [
    'INVITE sip:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9',
    'Max-Forwards: 70',
    'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    'To: Bob <sip:bob@biloxi.example.com>',
    'Call-ID: 3848276298220188511@atlanta.example.com',
    'CSeq: 1 INVITE',
    'Contact: <sip:alice@client.atlanta.example.com;transport=tcp>',
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY',
    'Content-Type: application/sdp',
  ],
  SDP,
);

const REGISTER = sipMessage([
  'REGISTER sip:registrar.biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/TCP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Bob <sip:bob@biloxi.example.com>;tag=456248',
  'Call-ID: 843817637684230@998sdasdh09',
  'CSeq: 1826 REGISTER',
  'Contact: <sip:bob@192.0.2.4;transport=tcp>',
  'Expires: 7200',
]);

/** SIP-I style INVITE: multipart body whose parts have blank lines and binary ISUP bytes. */
const ISUP = Buffer.from([0x01, 0x00, 0x49, 0x00, 0x00, 0x03, 0x02, 0x00, 0x07, 0x04, 0x10, 0x0d, 0x0a, 0x0d, 0x0a, 0xff, 0x00]);
const MULTIPART_BODY = Buffer.concat([
  Buffer.from(
    ['--unique-boundary-1', 'Content-Type: application/sdp', '', SDP + '--unique-boundary-1', 'Content-Type: application/ISUP; version=itu-t92+', 'Content-Disposition: signal; handling=optional', '', ''].join('\r\n'),
    'latin1',
  ),
  ISUP,
  Buffer.from('\r\n--unique-boundary-1--\r\n', 'latin1'),
]);
const INVITE_SIPI = sipMessage(
  [
    'INVITE sip:+15555550100@gw.carrier.example.net;user=phone SIP/2.0',
    'Via: SIP/2.0/TCP sbc.example.com:5060;branch=z9hG4bK-sipi-1',
    'Max-Forwards: 69',
    'From: <sip:+15555550111@sbc.example.com;user=phone>;tag=a73kszlfl',
    'To: <sip:+15555550100@gw.carrier.example.net;user=phone>',
    'Call-ID: sipi-7f3a9c@sbc.example.com',
    'CSeq: 1 INVITE',
    'Contact: <sip:sbc.example.com;transport=tcp>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed;boundary=unique-boundary-1',
  ],
  MULTIPART_BODY,
);

const OK_200 = sipMessage(
  [
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101',
    'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    'To: Bob <sip:bob@biloxi.example.com>;tag=8321234356',
    'Call-ID: 3848276298220188511@atlanta.example.com',
    'CSeq: 1 INVITE',
    'Contact: <sip:bob@192.0.2.4;transport=tcp>',
    'Content-Type: application/sdp',
  ],
  SDP.replace('alice', 'bob').replace('192.0.2.101', '192.0.2.4'),
);

/** An INVITE that went through many proxies: a 12 KiB header block, under the 16 KiB limit. */
const INVITE_MANY_HOPS = sipMessage(
  [
    'INVITE sip:bob@biloxi.example.com SIP/2.0',
    ...Array.from({ length: 40 }, (_, i) => `Via: SIP/2.0/TCP proxy${i}.carrier.example.net:5060;branch=z9hG4bK-hop-${i}-a7f3c9d1;received=198.51.100.${i}`),
    ...Array.from({ length: 60 }, (_, i) => `Record-Route: <sip:proxy${i}.carrier.example.net;transport=tcp;lr;ftag=9fxced76sl;did=${i}a.b3c>`),
    'Max-Forwards: 30',
    'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    'To: Bob <sip:bob@biloxi.example.com>',
    'Call-ID: many-hops-3848276298220188511@atlanta.example.com',
    'CSeq: 1 INVITE',
    'Contact: <sip:alice@client.atlanta.example.com;transport=tcp>',
    'Content-Type: application/sdp',
  ],
  SDP,
);

const FIXTURES: Array<[string, Buffer[]]> = [
  ['an INVITE through many proxies, 12 KiB of headers', [INVITE_MANY_HOPS]],
  ['an INVITE with an SDP body', [INVITE]],
  ['a REGISTER without a body (Content-Length: 0)', [REGISTER]],
  ['a SIP-I INVITE whose multipart body holds CRLFCRLF and binary ISUP', [INVITE_SIPI]],
  ['a 200 OK response with SDP', [OK_200]],
  ['several messages coalesced in one stream', [INVITE, REGISTER, INVITE_SIPI, OK_200, REGISTER, INVITE]],
];

// ---------------------------------------------------------------------------------------------

describe('StreamFramer: RFC 3261 §18.3 message boundary is the CRLFCRLF plus Content-Length bytes', () => {
  describe.each(FIXTURES)('%s', (_name, messages) => {
    const stream = Buffer.concat(messages);

    it('frames the stream when it arrives in one chunk', () => {
      const { framer, rec } = feed([stream]);
      expectSameMessages(rec.messages, messages, 'whole');
      expect(rec.events.every((e) => e.kind === 'message' && !e.missingContentLength)).toBe(true);
      expect(framer.bufferedBytes).toBe(0);
    });

    it('frames the stream when it arrives one byte at a time', () => {
      const { framer, rec } = feed(bytewise(stream));
      expectSameMessages(rec.messages, messages, 'bytewise');
      expect(rec.events).toHaveLength(messages.length);
      expect(framer.bufferedBytes).toBe(0);
    });

    it('frames the stream split in two at every possible offset', () => {
      for (let k = 1; k < stream.length; k++) {
        const { framer, rec } = feed([stream.subarray(0, k), stream.subarray(k)]);
        expectSameMessages(rec.messages, messages, `split at ${k}`);
        expect(rec.events, `split at ${k}`).toHaveLength(messages.length);
        expect(framer.bufferedBytes, `split at ${k}`).toBe(0);
      }
    });

    it('frames the stream split at random offsets (seeded)', () => {
      const rand = prng(0x5199);
      for (const maxChunk of [2, 7, 31, 200, 1500, 4000]) {
        for (let run = 0; run < 25; run++) {
          const { framer, rec } = feed(randomSplit(stream, rand, maxChunk));
          expectSameMessages(rec.messages, messages, `maxChunk ${maxChunk} run ${run}`);
          expect(framer.bufferedBytes).toBe(0);
        }
      }
    });
  });

  it('hands up a message that lies within one chunk as a zero-copy view of that chunk', () => {
    const chunk = Buffer.concat([INVITE, REGISTER]);
    const { rec } = feed([chunk]);
    expect(rec.messages).toHaveLength(2);
    expect(rec.messages[0].buffer).toBe(chunk.buffer);
    expect(rec.messages[0].byteOffset).toBe(chunk.byteOffset);
    expect(rec.messages[1].buffer).toBe(chunk.buffer);
    expect(rec.messages[1].byteOffset).toBe(chunk.byteOffset + INVITE.length);
  });

  it('keeps only the unfinished message buffered between chunks', () => {
    const framer = new StreamFramer();
    const rec = new Recorder();
    framer.push(Buffer.concat([REGISTER, INVITE.subarray(0, 100)]), rec);
    expect(rec.messages).toHaveLength(1);
    expect(framer.bufferedBytes).toBe(100);
    framer.push(INVITE.subarray(100, 600), rec);
    expect(framer.bufferedBytes).toBe(600);
    framer.push(INVITE.subarray(600), rec);
    expect(framer.bufferedBytes).toBe(0);
    expectSameMessages(rec.messages, [REGISTER, INVITE], 'buffered');
  });

  it('accepts a header block that arrives as a chunk over 8 KiB and then single bytes', () => {
    for (const k of [8200, 9000, 10_000, 12_000]) {
      const { rec } = feed([INVITE_MANY_HOPS.subarray(0, k), ...bytewise(INVITE_MANY_HOPS.subarray(k))]);
      expectSameMessages(rec.messages, [INVITE_MANY_HOPS], `first chunk ${k}`);
    }
  });

  it('does not look for CRLFCRLF inside a body that arrives in pieces', () => {
    const chunks = [INVITE_SIPI.subarray(0, INVITE_SIPI.length - 40), INVITE_SIPI.subarray(INVITE_SIPI.length - 40), REGISTER];
    const { rec } = feed(chunks);
    expectSameMessages(rec.messages, [INVITE_SIPI, REGISTER], 'multipart');
  });

  it('frames a large body (1 MiB) arriving in 64 KiB chunks', () => {
    const body = Buffer.alloc(1024 * 1024, 0x61);
    const msg = sipMessage(['MESSAGE sip:bob@biloxi.example.com SIP/2.0', 'Content-Type: text/plain'], body);
    const chunks: Buffer[] = [];
    for (let i = 0; i < msg.length; i += 65536) chunks.push(msg.subarray(i, i + 65536));
    const { rec } = feed([...chunks, REGISTER]);
    expectSameMessages(rec.messages, [msg, REGISTER], 'large body');
  });
});

describe('StreamFramer: RFC 5626 §3.5.1 CRLF keep-alives and RFC 3261 §7.5 leading CRLFs', () => {
  const ping = Buffer.from('\r\n\r\n');
  const pong = Buffer.from('\r\n');
  const cases: Array<[string, Buffer[], string[]]> = [
    ['a CRLFCRLF between messages is a ping', [Buffer.concat([REGISTER, ping, INVITE])], ['msg:REGISTER', 'ping', 'msg:INVITE']],
    ['a lone CRLF between messages is a pong', [Buffer.concat([REGISTER, pong, INVITE])], ['msg:REGISTER', 'pong', 'msg:INVITE']],
    ['a ping alone in a chunk', [ping], ['ping']],
    ['a pong alone in a chunk is reported at once (RFC 5626 §4.4.1: the pinger waits 10 s)', [pong], ['pong']],
    ['two pings in a row', [Buffer.concat([ping, ping])], ['ping', 'ping']],
    ['a ping then a pong', [Buffer.from('\r\n\r\n\r\n')], ['ping', 'pong']],
    ['CRLFs before a start line MUST be ignored: they are not part of the message', [Buffer.concat([pong, REGISTER])], ['pong', 'msg:REGISTER']],
    ['several CRLFs before a start line', [Buffer.concat([ping, pong, REGISTER])], ['ping', 'pong', 'msg:REGISTER']],
    ['a ping split after its first CR', [Buffer.from('\r'), Buffer.from('\n\r\n')], ['ping']],
    ['a ping split after its third byte', [Buffer.from('\r\n\r'), Buffer.from('\n')], ['ping']],
    ['a ping split after its first CRLF is seen as two pongs (pongs are not held back)', [pong, pong], ['pong', 'pong']],
    ['a ping then a message in the next chunk', [ping, REGISTER], ['ping', 'msg:REGISTER']],
    ['keep-alives around messages split one byte at a time', bytewise(Buffer.concat([REGISTER, pong, INVITE, pong])), ['msg:REGISTER', 'pong', 'msg:INVITE', 'pong']],
  ];
  it.each(cases)('%s', (_name, chunks, trace) => {
    const { framer, rec } = feed(chunks);
    expect(rec.trace).toEqual(trace);
    expect(framer.bufferedBytes).toBe(0);
    expect(framer.broken).toBe(false);
  });

  it('hands up the message without the CRLFs that preceded it', () => {
    const { rec } = feed([Buffer.concat([ping, pong, INVITE])]);
    expectSameMessages(rec.messages, [INVITE], 'leading CRLFs');
  });

  it('counts a partial keep-alive as buffered', () => {
    const framer = new StreamFramer();
    const rec = new Recorder();
    framer.push(Buffer.from('\r\n\r'), rec);
    expect(framer.bufferedBytes).toBe(3);
    framer.push(Buffer.from('\n'), rec);
    expect(framer.bufferedBytes).toBe(0);
    expect(rec.trace).toEqual(['ping']);
  });

  it('keeps a stray CR that starts no CRLF as the first byte of the message (for the parser to judge)', () => {
    const stream = Buffer.concat([Buffer.from('\r'), REGISTER]);
    for (const chunks of [[stream], bytewise(stream), [stream.subarray(0, 1), stream.subarray(1)]]) {
      const { rec } = feed(chunks);
      expectSameMessages(rec.messages, [stream], 'stray CR');
    }
    const afterPong = Buffer.concat([Buffer.from('\r\n\r'), REGISTER]);
    for (const chunks of [[afterPong], bytewise(afterPong)]) {
      const { rec } = feed(chunks);
      expect(rec.trace).toEqual(['pong', 'msg:\rREGISTER']);
      expectSameMessages(rec.messages, [afterPong.subarray(2)], 'CR after pong');
    }
  });
});

describe('StreamFramer: Content-Length forms (RFC 3261 §7.3.1, §7.3.3, §20.14)', () => {
  const start = 'MESSAGE sip:bob@biloxi.example.com SIP/2.0';
  const body = 'hello';
  const cases: Array<[string, string[], string, boolean]> = [
    ['the compact form l is Content-Length', [start, 'l: 5'], body, false],
    ['the compact form L in upper case', [start, 'L: 5'], body, false],
    ['header names are case-insensitive: content-length', [start, 'content-length: 5'], body, false],
    ['header names are case-insensitive: CONTENT-LENGTH', [start, 'CONTENT-LENGTH: 5'], body, false],
    ['whitespace is allowed before and after the colon (HCOLON)', [start, 'Content-Length :  5'], body, false],
    ['tabs around the colon and after the value', [start, 'Content-Length\t:\t5 \t'], body, false],
    ['the value may be folded onto a continuation line', [start, 'Content-Length:', ' 5'], body, false],
    ['other headers may be folded (LWS with CRLF)', [start, 'Subject: I know you are there,', '   pick up the phone', '\tand talk to me!', 'Content-Length: 5'], body, false],
    ['leading zeros are digits', [start, 'Content-Length: 005'], body, false],
    ['a repeated Content-Length with the same value is tolerated', [start, 'Content-Length: 5', 'l: 5'], body, false],
    ['Content-Length: 0 means no body', [start, 'Content-Length: 0'], '', false],
    ['a Content-Length in the middle of the headers', [start, 'Content-Length: 5', 'Content-Type: text/plain', 'Call-ID: a84b4c76e66710'], body, false],
    ['a missing Content-Length is taken as 0 and flagged (RFC 3261 §18.3 MUST, broken by real equipment)', [start, 'Call-ID: a84b4c76e66710'], '', true],
    ['headers that only look like Content-Length are not it', [start, 'X-Content-Length: 99', 'Content-Lengthy: 99', 'Lr: 99', 'Content\rLength: 99', 'Content-Length: 5'], body, false],
  ];
  it.each(cases)('%s', (_name, lines, msgBody, missing) => {
    const msg = raw(lines, msgBody);
    const stream = Buffer.concat([msg, REGISTER]);
    for (const [how, chunks] of [
      ['whole', [stream]],
      ['bytewise', bytewise(stream)],
    ] as const) {
      const { rec } = feed([...chunks]);
      expectSameMessages(rec.messages, [msg, REGISTER], how);
      expect(rec.events.map((e) => e.kind === 'message' && e.missingContentLength)).toEqual([missing, false]);
    }
  });
});

describe('StreamFramer: framing errors (the connection must be closed)', () => {
  const start = 'MESSAGE sip:bob@biloxi.example.com SIP/2.0';
  const pad = (n: number) => Array.from({ length: n }, (_, i) => `X-Pad-${String(i).padStart(4, '0')}: ${'p'.repeat(88)}`);
  interface ErrorCase {
    name: string;
    stream: Buffer;
    code: string;
    status: number;
    says?: string;
    opts?: StreamFramerOptions;
  }
  const cases: ErrorCase[] = [
    { name: 'a non-numeric Content-Length is 400 Bad Request', stream: raw([start, 'Content-Length: abc'], 'abc'), code: 'ERR_TRANSPORT_FRAMING', status: 400, says: '"abc" is not a number' },
    { name: 'a negative Content-Length is 400 Bad Request', stream: raw([start, 'Content-Length: -5'], 'hello'), code: 'ERR_TRANSPORT_FRAMING', status: 400, says: '"-5" is negative' },
    { name: 'an empty Content-Length is 400 Bad Request', stream: raw([start, 'l:'], ''), code: 'ERR_TRANSPORT_FRAMING', status: 400, says: 'is empty' },
    { name: 'a Content-Length with a sign is 400 Bad Request', stream: raw([start, 'Content-Length: +5'], 'hello'), code: 'ERR_TRANSPORT_FRAMING', status: 400, says: '"+5"' },
    { name: 'a list of Content-Length values is 400 Bad Request', stream: raw([start, 'Content-Length: 5, 5'], 'hello'), code: 'ERR_TRANSPORT_FRAMING', status: 400, says: '"5, 5"' },
    { name: 'two conflicting Content-Length values are 400 Bad Request', stream: raw([start, 'Content-Length: 12', 'l: 13'], 'hello'), code: 'ERR_TRANSPORT_FRAMING', status: 400, says: '"12" and "13"' },
    { name: 'a header block over 16 KiB is 513 Message Too Large', stream: raw([start, ...pad(170), 'Content-Length: 0']), code: 'ERR_SIP_TOO_LARGE', status: 513 },
    { name: 'a header block over the configured limit is 513 Message Too Large', stream: REGISTER, code: 'ERR_SIP_TOO_LARGE', status: 513, opts: { maxHeaderBytes: 256 } },
    { name: 'a single header over 8 KiB is 513 Message Too Large', stream: raw([start, `Subject: ${'s'.repeat(8200)}`, 'Content-Length: 0']), code: 'ERR_SIP_TOO_LARGE', status: 513 },
    { name: 'a single folded header over 8 KiB is 513 Message Too Large', stream: raw([start, 'Subject: x', ...Array.from({ length: 90 }, () => ` ${'f'.repeat(99)}`), 'Content-Length: 0']), code: 'ERR_SIP_TOO_LARGE', status: 513 },
    { name: 'a start line over 8 KiB is 513 Message Too Large', stream: raw([`INVITE sip:${'u'.repeat(8300)}@example.com SIP/2.0`, 'Content-Length: 0']), code: 'ERR_SIP_TOO_LARGE', status: 513 },
    { name: 'a body over 1 MiB is 413 Request Entity Too Large', stream: raw([start, 'Content-Length: 1048577'], 'x'), code: 'ERR_SIP_TOO_LARGE', status: 413, says: '1048577' },
    { name: 'a body over the configured limit is 413 Request Entity Too Large', stream: raw([start, 'Content-Length: 11'], 'hello world'), code: 'ERR_SIP_TOO_LARGE', status: 413, says: '11', opts: { maxBodyBytes: 10 } },
    { name: 'an absurdly long Content-Length is 413, not a number overflow', stream: raw([start, 'Content-Length: 99999999999999999999999'], 'x'), code: 'ERR_SIP_TOO_LARGE', status: 413 },
  ];

  describe.each(cases)('$name', ({ stream, code, status, says, opts }) => {
    for (const [how, split] of [
      ['in one chunk', (b: Buffer) => [b]],
      ['one byte at a time', bytewise],
      ['in random chunks', (b: Buffer) => randomSplit(b, prng(7), 300)],
    ] as const) {
      it(how, () => {
        const { framer, rec } = feed(split(Buffer.concat([REGISTER, stream, REGISTER])), opts);
        const before = opts?.maxHeaderBytes !== undefined ? [] : ['msg:REGISTER'];
        expect(rec.trace).toEqual([...before, `error:${status}`]);
        const err = rec.errors[0];
        expect(err).toBeInstanceOf(SipParseError);
        expect(err.code).toBe(code);
        if (says !== undefined) expect(err.message).toContain(says);
        expect(framer.broken).toBe(true);
        expect(framer.bufferedBytes).toBe(0);
      });
    }
  });

  /** A message (no body) whose header block is exactly `size` bytes, in headers under 4000 bytes. */
  function sized(size: number): Buffer {
    const fixed = raw([start, 'Subject: ', 'Content-Length: 0']).length;
    const pad = size - fixed;
    const lines = Array.from({ length: Math.floor(pad / 4000) }, () => `X-Pad: ${'p'.repeat(4000 - 9)}`);
    return raw([start, `Subject: ${'s'.repeat(pad % 4000)}`, ...lines, 'Content-Length: 0']);
  }
  const oneHeader = (n: number) => raw([start, `Subject: ${'s'.repeat(n - 'Subject: '.length)}`, 'Content-Length: 0']);
  const withBody = (n: number) => raw([start, `Content-Length: ${n}`], 'b'.repeat(n));
  it('(the size helpers build what they say)', () => {
    expect(sized(DEFAULT_MAX_HEADER_BYTES)).toHaveLength(DEFAULT_MAX_HEADER_BYTES);
    expect(sized(DEFAULT_MAX_HEADER_BYTES + 1)).toHaveLength(DEFAULT_MAX_HEADER_BYTES + 1);
    expect(oneHeader(8192).toString('latin1').split('\r\n')[1]).toHaveLength(8192);
  });
  describe.each([
    ['a header block of exactly maxHeaderBytes is accepted', sized(DEFAULT_MAX_HEADER_BYTES), 'ok', {}],
    ['a header block one byte over maxHeaderBytes is rejected', sized(DEFAULT_MAX_HEADER_BYTES + 1), 'error:513', {}],
    ['a header of exactly maxHeaderLineBytes is accepted', oneHeader(8192), 'ok', {}],
    ['a header one byte over maxHeaderLineBytes is rejected', oneHeader(8193), 'error:513', {}],
    ['a body of exactly maxBodyBytes is accepted', withBody(10), 'ok', { maxBodyBytes: 10 }],
    ['a body one byte over maxBodyBytes is rejected', withBody(11), 'error:413', { maxBodyBytes: 10 }],
  ] as const)('limits are inclusive: %s', (_name, msg, want, opts) => {
    it.each([
      ['in one chunk', [msg]],
      ['one byte at a time', bytewise(msg)],
    ])('%s', (_how, chunks) => {
      const { rec } = feed(chunks, opts);
      if (want === 'ok') expectSameMessages(rec.messages, [msg], 'at the limit');
      else expect(rec.trace).toEqual([want]);
    });
  });

  it('names the line of a bad Content-Length', () => {
    const { rec } = feed([raw([start, 'Call-ID: x', 'Content-Length: twelve'])]);
    expect(rec.errors[0].line).toBe(3);
    expect(rec.errors[0].message).toContain('"twelve"');
  });

  it('ignores every push once broken', () => {
    const framer = new StreamFramer();
    const rec = new Recorder();
    framer.push(raw([start, 'Content-Length: x']), rec);
    expect(framer.broken).toBe(true);
    framer.push(REGISTER, rec);
    framer.push(Buffer.from('\r\n\r\n'), rec);
    expect(rec.trace).toEqual(['error:400']);
    expect(framer.bufferedBytes).toBe(0);
  });

  it('rejects a header block on its size before its end arrives', () => {
    const framer = new StreamFramer();
    const rec = new Recorder();
    const head = raw([start, ...pad(200)]);
    framer.push(head.subarray(0, DEFAULT_MAX_HEADER_BYTES - 1), rec);
    expect(rec.events).toEqual([]);
    framer.push(head.subarray(DEFAULT_MAX_HEADER_BYTES - 1, DEFAULT_MAX_HEADER_BYTES), rec);
    expect(rec.trace).toEqual(['error:513']);
    // The same when the limit is reached within one chunk.
    const second = feed([head.subarray(0, DEFAULT_MAX_HEADER_BYTES)]);
    expect(second.rec.trace).toEqual(['error:513']);
  });

  it('rejects a header line on its size before its end arrives', () => {
    const framer = new StreamFramer();
    const rec = new Recorder();
    framer.push(Buffer.from(`${start}\r\nSubject: ${'s'.repeat(8192)}`), rec);
    expect(rec.trace).toEqual(['error:513']);
    expect(rec.errors[0].code).toBe('ERR_SIP_TOO_LARGE');
  });

  // With no line end the 8 KiB line limit trips first; otherwise the 16 KiB block limit.
  describe.each([
    ['with no line ends at all', Buffer.alloc(64 * 1024, 'A'), 8 * 1024 + 1],
    ['made of short lines and no blank line', Buffer.from('garbage line\r\n'.repeat(Math.ceil((64 * 1024) / 14))), DEFAULT_MAX_HEADER_BYTES],
    ['of CRs and LFs that never make CRLFCRLF', Buffer.from('x\r\r\n\n'.repeat(13108)), DEFAULT_MAX_HEADER_BYTES],
  ])('a 64 KiB garbage flood %s', (_name, flood, bound) => {
    it('is rejected with 513 while bufferedBytes stays bounded', () => {
      const framer = new StreamFramer();
      const rec = new Recorder();
      let maxBuffered = 0;
      expect(feed([flood]).rec.trace, 'in one chunk').toEqual(['error:513']);
      for (let i = 0; i < flood.length; i += 1024) {
        framer.push(flood.subarray(i, i + 1024), rec);
        maxBuffered = Math.max(maxBuffered, framer.bufferedBytes);
      }
      expect(rec.trace).toEqual(['error:513']);
      expect(rec.errors[0].code).toBe('ERR_SIP_TOO_LARGE');
      expect(maxBuffered).toBeLessThan(bound);
      expect(framer.bufferedBytes).toBe(0);
    });
  });
});

describe('StreamFramer: options and misbehaving sinks', () => {
  it.each([
    [{ maxHeaderBytes: 0 }],
    [{ maxHeaderBytes: 1.5 }],
    [{ maxHeaderLineBytes: -1 }],
    [{ maxBodyBytes: Number.NaN }],
  ])('rejects the option %o', (opts) => {
    expect(() => new StreamFramer(opts)).toThrow(UsageError);
  });

  it('accepts maxBodyBytes: 0 (no bodies at all)', () => {
    const { rec } = feed([REGISTER, INVITE], { maxBodyBytes: 0 });
    expect(rec.trace).toEqual(['msg:REGISTER', 'error:413']);
  });

  it('is broken when a sink callback throws (the rest of the chunk was not framed)', () => {
    const framer = new StreamFramer();
    const sink: FramerSink = {
      onMessage: () => {
        throw new Error('sink failed');
      },
      onKeepAlive: () => undefined,
      onError: () => undefined,
    };
    expect(() => framer.push(Buffer.concat([REGISTER, INVITE.subarray(0, 10)]), sink)).toThrow('sink failed');
    expect(framer.broken).toBe(true);
    expect(framer.bufferedBytes).toBe(0);
  });
});
