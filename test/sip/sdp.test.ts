import { describe, expect, it } from 'vitest';
import { SipParseError, UsageError } from '../../src/errors.js';
import {
  answerDirection,
  createAnswer,
  createOffer,
  effectiveDirection,
  mediaCodecs,
  mediaEndpoint,
  parseSdp,
  serializeSdp,
  type MediaDirection,
  type SessionDescription,
} from '../../src/sip/sdp.js';

const crlf = (lines: string[]): string => lines.map((l) => `${l}\r\n`).join('');

/**
 * Seed trace 000_53115b3a067add72, §3.2.1 (INVITE PBX → GUEST, Asterisk). The PDF text glued the
 * m= line to a copy of itself; this is the clean body.
 */
const SEED_321_LINES = [
  'v=0',
  'o=root 22702 22702 IN IP4 000.000.000.000',
  's=session',
  'c=IN IP4 000.000.000.000',
  't=0 0',
  'm=audio 18572 RTP/AVP 0 8 3 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:3 GSM/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=silenceSupp:off - - - -',
];
const SEED_321 = crlf(SEED_321_LINES);

/**
 * Seed §3.2.7 (183 Session Progress GUEST → PBX). The PDF doubled `t=0 0` and `a=sendrecv`; the
 * trailing space after `101` on the m= line is kept on purpose (the reader must tolerate it).
 */
const SEED_327_LINES = [
  'v=0',
  'o=root 4414 4414 IN IP4 xxx.xxx.xxx.xxx',
  's=session',
  'c=IN IP4 xxx.xxx.xxx.xxx',
  't=0 0',
  'm=audio 18922 RTP/AVP 0 101 ',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=silenceSupp:off - - - -',
  'a=ptime:20',
  'a=sendrecv',
];
const SEED_327 = crlf(SEED_327_LINES);

const SEED_321_PARSED: SessionDescription = {
  version: 0,
  origin: {
    username: 'root',
    sessId: '22702',
    sessVersion: '22702',
    netType: 'IN',
    addrType: 'IP4',
    address: '000.000.000.000',
  },
  sessionName: 'session',
  connection: { netType: 'IN', addrType: 'IP4', address: '000.000.000.000' },
  bandwidths: [],
  times: [{ start: 0, stop: 0, repeats: [] }],
  attributes: [],
  otherLines: [],
  media: [
    {
      media: 'audio',
      port: 18572,
      proto: 'RTP/AVP',
      formats: ['0', '8', '3', '101'],
      bandwidths: [],
      rtpmap: [
        { payloadType: 0, encodingName: 'PCMU', clockRate: 8000 },
        { payloadType: 8, encodingName: 'PCMA', clockRate: 8000 },
        { payloadType: 3, encodingName: 'GSM', clockRate: 8000 },
        { payloadType: 101, encodingName: 'telephone-event', clockRate: 8000 },
      ],
      fmtp: [{ payloadType: 101, parameters: '0-16' }],
      attributes: [{ name: 'silenceSupp', value: 'off - - - -' }],
      otherLines: [],
    },
  ],
};

const SEED_327_PARSED: SessionDescription = {
  version: 0,
  origin: {
    username: 'root',
    sessId: '4414',
    sessVersion: '4414',
    netType: 'IN',
    addrType: 'IP4',
    address: 'xxx.xxx.xxx.xxx',
  },
  sessionName: 'session',
  connection: { netType: 'IN', addrType: 'IP4', address: 'xxx.xxx.xxx.xxx' },
  bandwidths: [],
  times: [{ start: 0, stop: 0, repeats: [] }],
  attributes: [],
  otherLines: [],
  media: [
    {
      media: 'audio',
      port: 18922,
      proto: 'RTP/AVP',
      formats: ['0', '101'],
      bandwidths: [],
      rtpmap: [
        { payloadType: 0, encodingName: 'PCMU', clockRate: 8000 },
        { payloadType: 101, encodingName: 'telephone-event', clockRate: 8000 },
      ],
      fmtp: [{ payloadType: 101, parameters: '0-16' }],
      ptime: 20,
      direction: 'sendrecv',
      attributes: [{ name: 'silenceSupp', value: 'off - - - -' }],
      otherLines: [],
    },
  ],
};

/** Everything the model distinguishes, in a deliberately untidy order. */
const KITCHEN_SINK = [
  'v=0',
  'o=- 3034423619 3034423620 IN IP6 2001:db8::1',
  's=',
  'i=A session with every line type',
  'u=http://example.com/sdp',
  'e=ops@example.com',
  'p=+1 555 0100',
  'c=IN IP6 2001:db8::1',
  'b=AS:128',
  't=3034423619 3034430819',
  'r=604800 3600 0 90000',
  'z=2882844526 -1h',
  'k=prompt',
  'a=recvonly',
  'a=tool:sipwright',
  'x=an unknown type letter',
  'm=audio 49170/2 RTP/AVP 0 97 98 13',
  'i=main audio',
  'c=IN IP4 224.2.1.1/127/3',
  'b=TIAS:64000',
  'a=rtpmap:97 opus/48000/2',
  'a=fmtp:97 minptime=10;useinbandfec=1',
  'a=rtpmap:98 telephone-event/48000',
  'a=fmtp:98 0-15',
  'a=rtcp:53020 IN IP4 198.51.100.7',
  'a=ptime:20',
  'a=maxptime:40',
  'a=sendonly',
  'a=inactive',
  'a=rtpmap:bogus',
  'a=ssrc:1 cname:x',
  'm=video 0 RTP/AVP 31',
  'a=rtcp:9',
].join('\r\n');

describe('parseSdp: the seed trace (RFC 8866 §5)', () => {
  it.each([
    { name: '§3.2.1 INVITE offer from Asterisk', text: SEED_321, expected: SEED_321_PARSED },
    { name: '§3.2.7 183 answer with a trailing space on m=', text: SEED_327, expected: SEED_327_PARSED },
    { name: '§3.2.7 with LF line ends', text: SEED_327_LINES.join('\n') + '\n', expected: SEED_327_PARSED },
    { name: '§3.2.7 without a final line end', text: SEED_327_LINES.join('\r\n'), expected: SEED_327_PARSED },
    { name: '§3.2.1 as a Buffer', text: Buffer.from(SEED_321), expected: SEED_321_PARSED },
  ])('$name: every field', ({ text, expected }) => {
    expect(parseSdp(text)).toStrictEqual(expected);
  });

  it.each([
    {
      name: '§3.2.1: session c= applies, RTCP on port + 1 (RFC 3550 §11), direction defaults to sendrecv',
      text: SEED_321,
      expected: {
        address: '000.000.000.000',
        port: 18572,
        rtcpAddress: '000.000.000.000',
        rtcpPort: 18573,
        payloadTypes: [0, 8, 3, 101],
        codecs: [
          { payloadType: 0, encodingName: 'PCMU', clockRate: 8000, source: 'rtpmap' },
          { payloadType: 8, encodingName: 'PCMA', clockRate: 8000, source: 'rtpmap' },
          { payloadType: 3, encodingName: 'GSM', clockRate: 8000, source: 'rtpmap' },
          { payloadType: 101, encodingName: 'telephone-event', clockRate: 8000, parameters: '0-16', source: 'rtpmap' },
        ],
        direction: 'sendrecv',
      },
    },
    {
      name: '§3.2.7: ptime 20 and a=sendrecv',
      text: SEED_327,
      expected: {
        address: 'xxx.xxx.xxx.xxx',
        port: 18922,
        rtcpAddress: 'xxx.xxx.xxx.xxx',
        rtcpPort: 18923,
        payloadTypes: [0, 101],
        codecs: [
          { payloadType: 0, encodingName: 'PCMU', clockRate: 8000, source: 'rtpmap' },
          { payloadType: 101, encodingName: 'telephone-event', clockRate: 8000, parameters: '0-16', source: 'rtpmap' },
        ],
        direction: 'sendrecv',
        ptime: 20,
      },
    },
  ])('mediaEndpoint $name', ({ text, expected }) => {
    expect(mediaEndpoint(parseSdp(text))).toStrictEqual(expected);
  });
});

describe('parseSdp: static payload types resolve without a=rtpmap (RFC 3551 §6)', () => {
  it.each([
    { pt: 0, encodingName: 'PCMU', clockRate: 8000 },
    { pt: 3, encodingName: 'GSM', clockRate: 8000 },
    { pt: 8, encodingName: 'PCMA', clockRate: 8000 },
    { pt: 9, encodingName: 'G722', clockRate: 8000 },
    { pt: 13, encodingName: 'CN', clockRate: 8000 },
    { pt: 18, encodingName: 'G729', clockRate: 8000 },
  ])('payload type $pt is $encodingName/$clockRate', ({ pt, encodingName, clockRate }) => {
    const desc = parseSdp(crlf(['v=0', 'c=IN IP4 192.0.2.1', `m=audio 4000 RTP/AVP ${pt}`]));
    expect(mediaCodecs(desc.media[0])).toStrictEqual([{ payloadType: pt, encodingName, clockRate, source: 'static' }]);
  });

  it('a dynamic payload type without rtpmap is listed in payloadTypes but has no codec', () => {
    const ep = mediaEndpoint(parseSdp(crlf(['v=0', 'c=IN IP4 192.0.2.1', 'm=audio 4000 RTP/AVP 0 96'])));
    expect(ep.payloadTypes).toEqual([0, 96]);
    expect(ep.codecs.map((c) => c.payloadType)).toEqual([0]);
  });

  it('a=rtpmap wins over the static table', () => {
    const desc = parseSdp(crlf(['v=0', 'm=audio 4000 RTP/AVP 9', 'a=rtpmap:9 G722/8000/1']));
    expect(mediaCodecs(desc.media[0])).toStrictEqual([
      { payloadType: 9, encodingName: 'G722', clockRate: 8000, channels: 1, source: 'rtpmap' },
    ]);
  });
});

describe('parseSdp: tolerant reading keeps what it does not model', () => {
  const sink = parseSdp(KITCHEN_SINK);

  it('session level: i= u= e= p= z= k= and unknown letters kept in order; s= empty', () => {
    expect(sink.sessionName).toBe('');
    expect(sink.otherLines).toStrictEqual([
      { type: 'i', value: 'A session with every line type' },
      { type: 'u', value: 'http://example.com/sdp' },
      { type: 'e', value: 'ops@example.com' },
      { type: 'p', value: '+1 555 0100' },
      { type: 'z', value: '2882844526 -1h' },
      { type: 'k', value: 'prompt' },
      { type: 'x', value: 'an unknown type letter' },
    ]);
    expect(sink.origin).toStrictEqual({
      username: '-',
      sessId: '3034423619',
      sessVersion: '3034423620',
      netType: 'IN',
      addrType: 'IP6',
      address: '2001:db8::1',
    });
    expect(sink.connection).toStrictEqual({ netType: 'IN', addrType: 'IP6', address: '2001:db8::1' });
    expect(sink.bandwidths).toStrictEqual([{ type: 'AS', bandwidth: 128 }]);
    expect(sink.times).toStrictEqual([{ start: 3034423619, stop: 3034430819, repeats: ['604800 3600 0 90000'] }]);
    expect(sink.direction).toBe('recvonly');
    expect(sink.attributes).toStrictEqual([{ name: 'tool', value: 'sipwright' }]);
  });

  it('media level: port count, multicast c=, rtcp with address, ptime/maxptime; the first direction wins, a repeat is kept last', () => {
    const [audio, video] = sink.media;
    expect(audio.port).toBe(49170);
    expect(audio.portCount).toBe(2);
    expect(audio.connection).toStrictEqual({ netType: 'IN', addrType: 'IP4', address: '224.2.1.1', ttl: 127, addressCount: 3 });
    expect(audio.bandwidths).toStrictEqual([{ type: 'TIAS', bandwidth: 64000 }]);
    expect(audio.rtpmap).toStrictEqual([
      { payloadType: 97, encodingName: 'opus', clockRate: 48000, channels: 2 },
      { payloadType: 98, encodingName: 'telephone-event', clockRate: 48000 },
    ]);
    expect(audio.fmtp).toStrictEqual([
      { payloadType: 97, parameters: 'minptime=10;useinbandfec=1' },
      { payloadType: 98, parameters: '0-15' },
    ]);
    expect(audio.rtcp).toStrictEqual({ port: 53020, netType: 'IN', addrType: 'IP4', address: '198.51.100.7' });
    expect(audio.ptime).toBe(20);
    expect(audio.maxptime).toBe(40);
    expect(audio.direction).toBe('sendonly');
    expect(audio.attributes).toStrictEqual([
      { name: 'rtpmap', value: 'bogus' },
      { name: 'ssrc', value: '1 cname:x' },
      { name: 'inactive' },
    ]);
    expect(audio.otherLines).toStrictEqual([{ type: 'i', value: 'main audio' }]);
    expect(video).toMatchObject({ media: 'video', port: 0, formats: ['31'], rtcp: { port: 9 } });
  });

  it('media-level direction overrides the session-level one (RFC 8866 §6.7)', () => {
    expect(effectiveDirection(sink, 0)).toBe('sendonly');
    expect(effectiveDirection(sink, 1)).toBe('recvonly');
  });

  it('mediaEndpoint uses media-level c= over session-level c= and a=rtcp over port + 1 (RFC 3605)', () => {
    expect(mediaEndpoint(sink, 0)).toMatchObject({
      address: '224.2.1.1',
      port: 49170,
      rtcpAddress: '198.51.100.7',
      rtcpPort: 53020,
      payloadTypes: [0, 97, 98, 13],
    });
    expect(mediaEndpoint(sink, 1)).toMatchObject({ address: '2001:db8::1', port: 0, rtcpPort: 9 });
  });

  it('blank lines are skipped; malformed known lines are kept raw in their RFC 8866 §5 slot order', () => {
    const desc = parseSdp(
      ['v=0', '', 'o=too few fields', 'c=IN IP4', 't=now never', 'b=AS:lots', 'm=audio 4000 RTP/AVP 0', 'a=ptime:twenty', ''].join('\n'),
    );
    expect(desc.origin).toBeUndefined();
    expect(desc.connection).toBeUndefined();
    expect(desc.times).toEqual([]);
    expect(desc.otherLines).toStrictEqual([
      { type: 'o', value: 'too few fields' },
      { type: 'c', value: 'IN IP4' },
      { type: 'b', value: 'AS:lots' },
      { type: 't', value: 'now never' },
    ]);
    expect(desc.media[0].ptime).toBeUndefined();
    expect(desc.media[0].attributes).toStrictEqual([{ name: 'ptime', value: 'twenty' }]);
  });
});

describe('parseSdp: descriptions that cannot be understood are rejected (ERR_SDP_PARSE)', () => {
  it.each([
    {
      name: 'the first line MUST be v=0 (RFC 8866 §5.1)',
      text: 'o=root 1 1 IN IP4 192.0.2.1\r\nv=0\r\n',
      message: 'SDP line 1: must be "v=0" (RFC 8866 §5.1), got "o=root 1 1 IN IP4 192.0.2.1"',
      line: 1,
    },
    { name: 'v=1 is not SDP version 0', text: 'v=1\r\n', message: 'SDP line 1: must be "v=0" (RFC 8866 §5.1), got "v=1"', line: 1 },
    { name: 'an empty body is not SDP', text: '', message: 'SDP line 1: must be "v=0" (RFC 8866 §5.1), got ""', line: 1 },
    {
      name: 'every line is <type>=<value> (RFC 8866 §5)',
      text: crlf(['v=0', 'o=root 1 1 IN IP4 192.0.2.1', 's=x', 'Content-Length: 0']),
      message: 'SDP line 4: not of the form <type>=<value> (RFC 8866 §5): "Content-Length: 0"',
      line: 4,
    },
    {
      name: 'a type is one letter: "ab=1" is rejected',
      text: crlf(['v=0', 'ab=1']),
      message: 'SDP line 2: not of the form <type>=<value> (RFC 8866 §5): "ab=1"',
      line: 2,
    },
    {
      name: 'the m= port is a number (RFC 8866 §5.14)',
      text: crlf(['v=0', 's=x', 't=0 0', 'm=audio abc RTP/AVP 0']),
      message: 'SDP line 4: m= port "abc" is not a number from 0 to 65535 (RFC 8866 §5.14)',
      line: 4,
    },
    {
      name: 'the m= port is at most 65535',
      text: crlf(['v=0', 'm=audio 70000 RTP/AVP 0']),
      message: 'SDP line 2: m= port "70000" is not a number from 0 to 65535 (RFC 8866 §5.14)',
      line: 2,
    },
    {
      name: 'the m= port count is a number',
      text: crlf(['v=0', 'm=audio 4000/x RTP/AVP 0']),
      message: 'SDP line 2: m= port "4000/x" is not a number from 0 to 65535 (RFC 8866 §5.14)',
      line: 2,
    },
    {
      name: 'm= has media, port, proto and at least one format (RFC 8866 §5.14)',
      text: crlf(['v=0', 's=x', 'c=IN IP4 192.0.2.1', 't=0 0', 'a=sendrecv', 'm=audio 4000 RTP/AVP ']),
      message: 'SDP line 6: m= needs <media> <port> <proto> <fmt> ... (RFC 8866 §5.14), got "m=audio 4000 RTP/AVP"',
      line: 6,
    },
  ])('$name', ({ text, message, line }) => {
    let caught: unknown;
    try {
      parseSdp(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SipParseError);
    expect(caught).toMatchObject({ code: 'ERR_SDP_PARSE', message, line, status: 400 });
  });

  it.each([
    { name: 'no c= at either level (RFC 8866 §5.7)', text: crlf(['v=0', 'm=audio 4000 RTP/AVP 0']), index: 0,
      message: 'SDP media 0 has no c= line and the session has none either (RFC 8866 §5.7)' },
    { name: 'no such media section', text: SEED_321, index: 1, message: 'SDP has no media section 1 (it has 1)' },
  ])('mediaEndpoint rejects $name', ({ text, index, message }) => {
    expect(() => mediaEndpoint(parseSdp(text), index)).toThrow(expect.objectContaining({ code: 'ERR_SDP_PARSE', message }));
  });
});

describe('serializeSdp: CRLF, RFC 8866 §5 order, stable round trip', () => {
  it.each([
    { name: 'seed §3.2.1', text: SEED_321 },
    { name: 'seed §3.2.7', text: SEED_327 },
    { name: 'every line type', text: KITCHEN_SINK },
    { name: 'malformed known lines kept raw', text: crlf(['v=0', 'o=x', 'o=a 1 1 IN IP4 h', 't=bad', 'r=1 2', 'c=?', 'm=audio 1 RTP/AVP 0', 'c=?', 'a=sendrecv', 'a=sendrecv']) },
    { name: 'an offer we built', text: serializeSdp(createOffer({ address: '192.0.2.10', port: 40000, sessionId: 1 })) },
  ])('parse → serialize → parse is stable: $name', ({ text }) => {
    const once = parseSdp(text);
    const written = serializeSdp(once);
    expect(parseSdp(written)).toStrictEqual(once);
    expect(serializeSdp(parseSdp(written))).toBe(written);
    expect(written.endsWith('\r\n')).toBe(true);
    expect(written.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it.each([
    { name: '§3.2.1', text: SEED_321, expected: SEED_321 },
    { name: '§3.2.7 (minus the trailing space on m=)', text: SEED_327, expected: SEED_327.replace('0 101 \r\n', '0 101\r\n') },
  ])('the seed $name is written back byte for byte', ({ text, expected }) => {
    expect(serializeSdp(parseSdp(text))).toBe(expected);
  });

  it('writes the session and media lines in RFC 8866 §5 order whatever the input order', () => {
    const text = crlf([
      'v=0', 'a=recvonly', 't=0 0', 'x=1', 'c=IN IP4 192.0.2.1', 'b=AS:64', 's=late', 'o=- 1 2 IN IP4 192.0.2.1', 'i=info',
      'm=audio 4000 RTP/AVP 8 0', 'a=sendonly', 'a=ptime:30', 'a=fmtp:8 x=1', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000',
      'c=IN IP4 192.0.2.2', 'a=rtcp:4001', 'i=title',
    ]);
    expect(serializeSdp(parseSdp(text))).toBe(crlf([
      'v=0', 'o=- 1 2 IN IP4 192.0.2.1', 's=late', 'i=info', 'c=IN IP4 192.0.2.1', 'b=AS:64', 't=0 0', 'a=recvonly', 'x=1',
      'm=audio 4000 RTP/AVP 8 0', 'i=title', 'c=IN IP4 192.0.2.2',
      'a=rtpmap:8 PCMA/8000', 'a=fmtp:8 x=1', 'a=rtpmap:0 PCMU/8000', 'a=rtcp:4001', 'a=ptime:30', 'a=sendonly',
    ]));
  });
});

describe('createOffer (RFC 3264 §5)', () => {
  it('default offer: PCMU, PCMA and telephone-event/8000 with a=fmtp:101 0-16 (RFC 4733)', () => {
    const offer = createOffer({ address: '192.0.2.10', port: 40000, sessionId: 123, username: 'sipwright' });
    expect(serializeSdp(offer)).toBe(crlf([
      'v=0',
      'o=sipwright 123 123 IN IP4 192.0.2.10',
      's=-',
      'c=IN IP4 192.0.2.10',
      't=0 0',
      'm=audio 40000 RTP/AVP 0 8 101',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      'a=sendrecv',
    ]));
  });

  it('an IPv6 address gives IN IP6 in o= and c= (RFC 8866 §5.7)', () => {
    const offer = createOffer({ address: '2001:db8::10', port: 40000, sessionId: 7, sessionVersion: 8 });
    expect(offer.origin).toMatchObject({ addrType: 'IP6', address: '2001:db8::10', sessId: '7', sessVersion: '8' });
    expect(offer.connection).toStrictEqual({ netType: 'IN', addrType: 'IP6', address: '2001:db8::10' });
  });

  it.each([
    { name: 'static codecs keep their RFC 3551 numbers', codecs: ['G722', 'G729', 'GSM'], formats: ['9', '18', '3'] },
    { name: 'dynamic codecs take 96 upward, telephone-event 101', codecs: ['opus', 'PCMU', 'telephone-event', 'iLBC'], formats: ['96', '0', '101', '97'] },
    { name: 'a second telephone-event rate takes the next dynamic number', codecs: ['telephone-event/16000', 'telephone-event'], formats: ['101', '96'] },
    { name: 'an unknown codec with a clock rate is offered dynamically', codecs: ['PCMA', 'x-foo/16000/2'], formats: ['8', '96'] },
  ])('$name', ({ codecs, formats }) => {
    expect(createOffer({ address: '192.0.2.10', port: 40000, codecs }).media[0].formats).toEqual(formats);
  });

  it('writes direction and ptime at media level', () => {
    const media = createOffer({ address: '192.0.2.10', port: 40000, direction: 'sendonly', ptime: 30 }).media[0];
    expect(media).toMatchObject({ direction: 'sendonly', ptime: 30 });
  });

  it('a codec name it does not know, without a clock rate, is a usage error', () => {
    expect(() => createOffer({ address: '192.0.2.10', port: 4000, codecs: ['x-foo'] })).toThrow(UsageError);
    expect(() => createOffer({ address: '192.0.2.10', port: 4000, codecs: ['x-foo'] })).toThrow(
      'unknown codec "x-foo": write it as name/clockRate, e.g. "x-foo/8000"',
    );
  });
});

describe('createAnswer (RFC 3264 §6)', () => {
  const answerTo = (offer: string, codecs?: string[], direction?: MediaDirection): SessionDescription =>
    createAnswer(offer, { address: '192.0.2.20', port: 50000, codecs, direction, sessionId: 9 });

  it.each([
    { name: 'the answer lists the common subset in the offer\'s order with the offer\'s numbers', codecs: ['telephone-event', 'PCMA', 'G722'], formats: ['8', '101'] },
    { name: 'default codecs against the seed §3.2.1 offer', codecs: undefined, formats: ['0', '8', '101'] },
    { name: 'GSM only', codecs: ['gsm'], formats: ['3'] },
  ])('$name', ({ codecs, formats }) => {
    const answer = answerTo(SEED_321, codecs);
    expect(answer.media[0]).toMatchObject({ port: 50000, proto: 'RTP/AVP', formats });
    expect(mediaCodecs(answer.media[0]).map((c) => c.payloadType)).toEqual(formats.map(Number));
  });

  it('answers the seed §3.2.1 offer like the §3.2.7 answer did', () => {
    const answer = answerTo(SEED_321, ['PCMU', 'telephone-event']);
    expect(serializeSdp(answer)).toBe(crlf([
      'v=0',
      'o=- 9 9 IN IP4 192.0.2.20',
      's=-',
      'c=IN IP4 192.0.2.20',
      't=0 0',
      'm=audio 50000 RTP/AVP 0 101',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      'a=sendrecv',
    ]));
  });

  it('keeps the offer\'s dynamic payload number for telephone-event (RFC 3264 §6.1)', () => {
    const offer = crlf(['v=0', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 8 0 96', 'a=rtpmap:96 telephone-event/8000', 'a=fmtp:96 0-15']);
    const media = answerTo(offer).media[0];
    expect(media.formats).toEqual(['8', '0', '96']);
    expect(media.fmtp).toEqual([{ payloadType: 96, parameters: '0-15' }]);
  });

  it.each([
    { offered: '0-16', answered: '0-16' },
    { offered: '0-11,16,32-40', answered: '0-11,16' },
    { offered: undefined, answered: '0-15' },
  ])('answers telephone-event events $offered with the shared set $answered (RFC 4733)', ({ offered, answered }) => {
    const offer = crlf(['v=0', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000',
      ...(offered === undefined ? [] : [`a=fmtp:101 ${offered}`])]);
    expect(answerTo(offer).media[0].fmtp).toEqual([{ payloadType: 101, parameters: answered }]);
  });

  it.each([
    { name: 'no codec in common', codecs: ['G729'] },
    { name: 'only telephone-event in common', codecs: ['G729', 'telephone-event'] },
  ])('rejects a stream with $name: port MUST be 0, offered formats kept', ({ codecs }) => {
    const media = answerTo(SEED_321, codecs).media[0];
    expect(media).toStrictEqual({
      media: 'audio', port: 0, proto: 'RTP/AVP', formats: ['0', '8', '3', '101'],
      bandwidths: [], rtpmap: [], fmtp: [], attributes: [], otherLines: [],
    });
  });

  it('answers every offered m= line in order, rejecting video, port-0 and extra audio streams; t= equals the offer\'s', () => {
    const offer = crlf([
      'v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=3034423619 0',
      'm=video 5000 RTP/AVP 31', 'm=audio 0 RTP/AVP 0', 'm=audio 4000 RTP/SAVP 0', 'm=audio 4002 RTP/AVP 0', 'm=audio 4004 RTP/AVP 0',
    ]);
    const answer = answerTo(offer);
    expect(answer.media.map((m) => `${m.media} ${m.port} ${m.proto}`)).toEqual([
      'video 0 RTP/AVP', 'audio 0 RTP/AVP', 'audio 0 RTP/SAVP', 'audio 50000 RTP/AVP', 'audio 0 RTP/AVP',
    ]);
    expect(answer.times).toEqual([{ start: 3034423619, stop: 0, repeats: [] }]);
  });

  it.each<{ offered: MediaDirection; at: 'media' | 'session'; wanted?: MediaDirection; answered: MediaDirection }>([
    { offered: 'sendonly', at: 'media', answered: 'recvonly' },
    { offered: 'recvonly', at: 'media', answered: 'sendonly' },
    { offered: 'inactive', at: 'media', answered: 'inactive' },
    { offered: 'sendrecv', at: 'media', answered: 'sendrecv' },
    { offered: 'sendonly', at: 'session', answered: 'recvonly' },
    { offered: 'sendrecv', at: 'media', wanted: 'sendonly', answered: 'sendonly' },
    { offered: 'sendrecv', at: 'media', wanted: 'inactive', answered: 'inactive' },
    { offered: 'sendonly', at: 'media', wanted: 'sendonly', answered: 'inactive' },
    { offered: 'recvonly', at: 'session', wanted: 'recvonly', answered: 'inactive' },
  ])('an offered $offered stream ($at level), answerer wanting $wanted, is answered $answered (RFC 3264 §6.1)', ({ offered, at, wanted, answered }) => {
    const offer = crlf(['v=0', 'c=IN IP4 192.0.2.1', 't=0 0', ...(at === 'session' ? [`a=${offered}`] : []),
      'm=audio 4000 RTP/AVP 0', ...(at === 'media' ? [`a=${offered}`] : [])]);
    const answer = answerTo(offer, undefined, wanted);
    expect(answer.media[0].direction).toBe(answered);
    expect(effectiveDirection(answer)).toBe(answered);
    expect(answerDirection(offered, wanted)).toBe(answered);
  });

  it('answers over IPv6 with IN IP6 and takes the offer\'s ptime', () => {
    const offer = crlf(['v=0', 'c=IN IP6 2001:db8::1', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'a=ptime:30']);
    const answer = createAnswer(parseSdp(offer), { address: '2001:db8::2', port: 50000, codecs: ['PCMU'] });
    expect(answer.connection).toStrictEqual({ netType: 'IN', addrType: 'IP6', address: '2001:db8::2' });
    expect(answer.origin?.addrType).toBe('IP6');
    expect(mediaEndpoint(answer)).toMatchObject({ address: '2001:db8::2', port: 50000, rtcpPort: 50001, ptime: 30 });
  });
});
