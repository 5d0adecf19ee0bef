import { describe, expect, it } from 'vitest';
import { SipwrightError } from '../../src/errors.js';
import {
  applyCaptures,
  checkHeaders,
  checkSdp,
  describeMessage,
  describeStatusMatcher,
  firstDifferingHeader,
  matchStatus,
  messageSdp,
  mismatchFailure,
  type HeaderMismatch,
} from '../../src/scenario/matcher.js';
import type { Capture, HeaderAssertion, HeaderOp, SdpAssertion, SourcePos, StatusMatcher } from '../../src/scenario/model.js';
import { Variables } from '../../src/scenario/variables.js';
import type { SipMessage } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parse.js';

const pos: SourcePos = { file: 'scenarios/basic/call.yaml', line: 20, column: 9 };

const SEED_SDP =
  'v=0\r\no=root 4414 4414 IN IP4 192.0.2.1\r\ns=session\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n' +
  'm=audio 18922 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n' +
  'a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n';

/** A message from header lines and a body; Content-Length is computed. */
function sip(startLine: string, headers: string[], body = '', contentType = body ? 'application/sdp' : undefined): SipMessage {
  const lines = [startLine, ...headers];
  if (contentType !== undefined) lines.push(`Content-Type: ${contentType}`);
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return parseMessage(Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`));
}

/** The 200 OK most tests look at: compact forms, repeated and list headers, numeric headers with params. */
const OK = sip(
  'SIP/2.0 200 OK',
  [
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1;received=198.51.100.1;rport=5062',
    'f: "Alice" <sip:alice@example.com>;tag=a1',
    't: <sip:bob@example.com>;tag=b2',
    'i: call-1@example.com',
    'CSeq: 1 INVITE',
    'm: <sip:bob@192.0.2.20:5070>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000000000001>", <sip:bob@192.0.2.21>;expires=60',
    'Expires: 120',
    'x: 1800;refresher=uac',
    'Allow: INVITE, ACK, BYE',
    'Allow: INFO',
    'X-Foo: bar',
    'X-Foo: baz',
    'Server: Asterisk PBX 18.1',
    'Require: timer;lr',
  ],
  SEED_SDP,
);

const BYE = sip('BYE sip:alice@192.0.2.10:5060;transport=udp SIP/2.0', [
  'Via: SIP/2.0/UDP 192.0.2.20:5070;branch=z9hG4bK-2',
  'From: <sip:bob@example.com>;tag=b2',
  'To: <sip:alice@example.com>',
  'Call-ID: call-1@example.com',
  'CSeq: 2 BYE',
  'Max-Forwards: 70',
]);

const UNAUTHORIZED = sip('SIP/2.0 401 Unauthorized', [
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-3',
  'From: <sip:alice@example.com>;tag=a1',
  'To: <sip:alice@example.com>;tag=srv',
  'Call-ID: reg-1',
  'CSeq: 1 REGISTER',
  'WWW-Authenticate: Digest realm="sipwright.test", nonce="abc123", qop="auth", algorithm=MD5',
]);

function header(name: string, op: HeaderOp, value?: string): HeaderAssertion {
  return value === undefined ? { name, op, pos } : { name, op, value, pos };
}

function errorOf(fn: () => unknown): SipwrightError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SipwrightError);
    return err as SipwrightError;
  }
  throw new Error('expected a SipwrightError, nothing was thrown');
}

describe('matchStatus / describeStatusMatcher', () => {
  it.each<[StatusMatcher, number, boolean]>([
    [[200], 200, true],
    [[200], 202, false],
    [['2xx'], 200, true],
    [['2xx'], 299, true],
    [['2xx'], 199, false],
    [['2xx'], 300, false],
    [[180, 183], 183, true],
    [[180, 183], 181, false],
    [[180, '4xx'], 486, true],
    [['6xx'], 603, true],
    [['1xx'], 100, true],
    [[], 487, true],
  ])('%j matches %i: %s', (m, status, ok) => {
    expect(matchStatus(status, m)).toBe(ok);
  });

  it.each<[StatusMatcher, string]>([
    [[200], '200'],
    [['2xx'], '2xx'],
    [[180, 183], '180 or 183'],
    [[180, 183, '2xx'], '180, 183 or 2xx'],
    [[], 'any status'],
  ])('%j is described as %j', (m, text) => {
    expect(describeStatusMatcher(m)).toBe(text);
  });
});

describe('describeMessage', () => {
  it.each([
    ['a response', sip('SIP/2.0 486 Busy Here', ['Call-ID: x', 'CSeq: 1 INVITE']), '486 Busy Here'],
    ['a response with an empty reason', sip('SIP/2.0 200 ', ['Call-ID: x', 'CSeq: 1 INVITE']), '200'],
    ['a request', BYE, 'BYE sip:alice@192.0.2.10:5060;transport=udp'],
    ['an INVITE', sip('INVITE sip:bob@example.com SIP/2.0', ['Call-ID: x', 'CSeq: 1 INVITE']), 'INVITE sip:bob@example.com'],
  ])('%s', (_name, msg, text) => {
    expect(describeMessage(msg)).toBe(text);
  });
});

describe('checkHeaders', () => {
  it('no assertions: no mismatch', () => {
    expect(checkHeaders(OK, [])).toBeUndefined();
  });

  // [what, assertion, message or undefined when it must pass]
  const cases: Array<[string, HeaderAssertion, string | undefined]> = [
    // equals
    ['equals: compact form i finds Call-ID', header('i', 'equals', 'call-1@example.com'), undefined],
    ['equals: full name finds a compact-form header', header('Call-ID', 'equals', 'call-1@example.com'), undefined],
    ['equals: any case of the name', header('CALL-id', 'equals', 'call-1@example.com'), undefined],
    ['equals: the expected value is trimmed', header('Expires', 'equals', '  120 '), undefined],
    ['equals: different value', header('i', 'equals', 'call-2@example.com'), 'header Call-ID: expected "call-2@example.com", received "call-1@example.com"'],
    ['equals: is case-sensitive', header('Server', 'equals', 'asterisk PBX 18.1'), 'header Server: expected "asterisk PBX 18.1", received "Asterisk PBX 18.1"'],
    ['equals: absent header', header('Subject', 'equals', 'hi'), 'header Subject: expected "hi", absent'],
    ['equals: repeated header, second line matches', header('X-Foo', 'equals', 'baz'), undefined],
    ['equals: repeated header, no line matches', header('X-Foo', 'equals', 'qux'), 'header X-Foo: expected "qux", received "bar", "baz"'],
    ['equals: list header, a whole line', header('Allow', 'equals', 'INVITE, ACK, BYE'), undefined],
    ['equals: list header, one element of a line', header('Allow', 'equals', 'ACK'), undefined],
    ['equals: list header, the second line', header('Allow', 'equals', 'INFO'), undefined],
    ['equals: list header, no element', header('Allow', 'equals', 'UPDATE'), 'header Allow: expected "UPDATE", received "INVITE, ACK, BYE", "INFO"'],
    ['equals: Contact element by compact name m', header('m', 'equals', '<sip:bob@192.0.2.21>;expires=60'), undefined],
    // matches
    ['matches: anchored pattern', header('Server', 'matches', '^Asterisk PBX \\d+\\.\\d+$'), undefined],
    ['matches: no match', header('Server', 'matches', '^FreeSWITCH'), 'header Server: expected to match /^FreeSWITCH/, received "Asterisk PBX 18.1"'],
    ['matches: repeated header, any line', header('x-foo', 'matches', '^ba[z]$'), undefined],
    ['matches: repeated header, no line', header('X-Foo', 'matches', '^q'), 'header X-Foo: expected to match /^q/, received "bar", "baz"'],
    ['matches: absent header', header('User-Agent', 'matches', '.*'), 'header User-Agent: expected to match /.*/, absent'],
    ['matches: To by compact name t', header('t', 'matches', ';tag=b2$'), undefined],
    // contains
    ['contains: substring', header('Server', 'contains', 'PBX'), undefined],
    ['contains: is case-sensitive', header('Server', 'contains', 'pbx'), 'header Server: expected to contain "pbx", received "Asterisk PBX 18.1"'],
    ['contains: repeated header, any line', header('X-Foo', 'contains', 'az'), undefined],
    ['contains: From by compact name f', header('From', 'contains', 'tag=a1'), undefined],
    ['contains: absent header', header('Record-Route', 'contains', 'lr'), 'header Record-Route: expected to contain "lr", absent'],
    // present / absent
    ['present: Contact written m', header('m', 'present'), undefined],
    ['present: full name of a compact-form header', header('Contact', 'present'), undefined],
    ['present: missing header', header('Record-Route', 'present'), 'header Record-Route: expected present, absent'],
    ['absent: missing header', header('Record-Route', 'absent'), undefined],
    ['absent: present once', header('Server', 'absent'), 'header Server: expected absent, received "Asterisk PBX 18.1"'],
    ['absent: present twice', header('X-Foo', 'absent'), 'header X-Foo: expected absent, received "bar", "baz"'],
    ['absent: compact form i', header('i', 'absent'), 'header Call-ID: expected absent, received "call-1@example.com"'],
    // numeric
    ['gte: equal', header('Expires', 'gte', '120'), undefined],
    ['gte: greater', header('Expires', 'gte', '60'), undefined],
    ['gte: less', header('Expires', 'gte', '121'), 'header Expires: expected >= 121, received "120"'],
    ['gt: greater', header('Expires', 'gt', '119'), undefined],
    ['gt: equal', header('Expires', 'gt', '120'), 'header Expires: expected > 120, received "120"'],
    ['lt: less', header('Expires', 'lt', '121'), undefined],
    ['lt: equal', header('Expires', 'lt', '120'), 'header Expires: expected < 120, received "120"'],
    ['lte: equal', header('Expires', 'lte', '120'), undefined],
    ['lte: greater', header('Expires', 'lte', '119.5'), 'header Expires: expected <= 119.5, received "120"'],
    ['gte: a fractional limit', header('Expires', 'gte', '119.5'), undefined],
    ['gte: leading integer before params (x = Session-Expires)', header('x', 'gte', '1800'), undefined],
    ['lt: leading integer before params', header('Session-Expires', 'lt', '1800'), 'header Session-Expires: expected < 1800, received "1800;refresher=uac"'],
    ['gte: absent header', header('Min-Expires', 'gte', '60'), 'header Min-Expires: expected >= 60, absent'],
    [
      'gte: Contact is compared as a whole, not by its expires param',
      header('Contact', 'gte', '60'),
      'header Contact: expected >= 60, received "<sip:bob@192.0.2.20:5070>;expires=3600;+sip.instance=\\"<urn:uuid:00000000-0000-1000-8000-000000000001>\\", <sip:bob@192.0.2.21>;expires=60" (not a number)',
    ],
    ['gt: a value that is not a number', header('Server', 'gt', '1'), 'header Server: expected > 1, received "Asterisk PBX 18.1" (not a number)'],
  ];

  it.each(cases)('%s', (_what, assertion, message) => {
    const got = checkHeaders(OK, [assertion]);
    if (message === undefined) expect(got).toBeUndefined();
    else expect(got?.message).toBe(message);
  });

  it.each([
    ['Expires: 30', header('Expires', 'gte', '60'), 'header Expires: expected >= 60, received "30"'],
    ['X-Foo: bar', header('X-Foo', 'absent'), 'header X-Foo: expected absent, received "bar"'],
    ['Expires: 3600abc', header('Expires', 'lte', '7200'), 'header Expires: expected <= 7200, received "3600abc" (not a number)'],
    ['Expires: 3600 ;x', header('Expires', 'lte', '7200'), undefined],
    ['Min-SE: 90, 100', header('Min-SE', 'gte', '90'), undefined],
    ['Expires: -1', header('Expires', 'lt', '0'), undefined],
  ])('on %j', (line, assertion, message) => {
    const msg = sip('SIP/2.0 200 OK', ['Call-ID: x', 'CSeq: 1 REGISTER', line]);
    const got = checkHeaders(msg, [assertion]);
    if (message === undefined) expect(got).toBeUndefined();
    else expect(got?.message).toBe(message);
  });

  it('a failed present check on a message without Contact', () => {
    expect(checkHeaders(BYE, [header('Contact', 'present')])?.message).toBe('header Contact: expected present, absent');
  });

  it('gives the whole mismatch: canonical header, expected, received, pos', () => {
    const expected: HeaderMismatch = {
      header: 'Call-ID',
      message: 'header Call-ID: expected "other", received "call-1@example.com"',
      expected: '"other"',
      received: '"call-1@example.com"',
      pos,
    };
    expect(checkHeaders(OK, [header('i', 'equals', 'other')])).toEqual(expected);
    expect(checkHeaders(OK, [header('Record-Route', 'present')])).toMatchObject({ expected: 'present', received: 'absent' });
    expect(checkHeaders(OK, [header('x-custom', 'present')])?.header).toBe('x-custom');
  });

  it('all must pass: the first failing assertion is reported', () => {
    const got = checkHeaders(OK, [
      header('Server', 'present'),
      header('Expires', 'gte', '600'),
      header('X-Foo', 'absent'),
    ]);
    expect(got?.message).toBe('header Expires: expected >= 600, received "120"');
    expect(checkHeaders(OK, [header('Server', 'present'), header('i', 'contains', 'call-1')])).toBeUndefined();
  });

  it('compiles a regex once per assertion object (cached in a WeakMap)', () => {
    const a = header('Server', 'matches', '^Asterisk');
    expect(checkHeaders(OK, [a])).toBeUndefined();
    a.value = '^FreeSWITCH'; // the cached /^Asterisk/ keeps being used for this object
    expect(checkHeaders(OK, [a])).toBeUndefined();
    expect(checkHeaders(OK, [header('Server', 'matches', '^FreeSWITCH')])?.message).toBe(
      'header Server: expected to match /^FreeSWITCH/, received "Asterisk PBX 18.1"',
    );
  });

  it('the cached regex has no state between messages (no g flag)', () => {
    const a = header('Server', 'matches', 'PBX');
    for (let i = 0; i < 3; i++) expect(checkHeaders(OK, [a])).toBeUndefined();
  });

  it('an invalid regex is a scenario error at the assertion', () => {
    const err = errorOf(() => checkHeaders(OK, [header('Server', 'matches', '(')]));
    expect(err.code).toBe('ERR_SCENARIO');
    expect(err.message.startsWith('scenarios/basic/call.yaml:20:9: header Server: invalid regular expression /(/: ')).toBe(true);
  });

  it.each([undefined, '', 'soon'])('a numeric compare against %j is a scenario error', (value) => {
    const err = errorOf(() => checkHeaders(OK, [header('Expires', 'gte', value)]));
    expect(err.code).toBe('ERR_SCENARIO');
    expect(err.message).toBe(`scenarios/basic/call.yaml:20:9: header Expires: gte needs a number, got ${JSON.stringify(value ?? '')}`);
  });
});

describe('checkSdp', () => {
  const sdpWith = (text: string, contentType = 'application/sdp'): SipMessage =>
    sip('SIP/2.0 200 OK', ['Call-ID: x', 'CSeq: 1 INVITE'], text, contentType);
  const NO_BODY = sip('SIP/2.0 200 OK', ['Call-ID: x', 'CSeq: 1 INVITE']);
  const STATIC_ONLY = sdpWith(SEED_SDP.replace('m=audio 18922 RTP/AVP 0 101', 'm=audio 18922 RTP/AVP 8 0 18').replace(/a=rtpmap:.*\r\n/g, '').replace('a=fmtp:101 0-16\r\n', ''));
  const REJECTED = sdpWith(SEED_SDP.replace('m=audio 18922', 'm=audio 0'));
  const SESSION_SENDONLY = sdpWith(SEED_SDP.replace('t=0 0\r\n', 't=0 0\r\na=sendonly\r\n').replace('a=sendrecv\r\n', ''));
  const VIDEO_FIRST = sdpWith(SEED_SDP.replace('m=audio 18922 RTP/AVP 0 101', 'm=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\nm=audio 18922 RTP/AVP 0 101').replace('a=sendrecv', 'a=recvonly'));
  const VIDEO_ONLY = sdpWith('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n');
  const CHARSET = sdpWith(SEED_SDP, 'Application/SDP; charset=utf-8');
  const TEXT = sdpWith('hello', 'text/plain');
  const BROKEN = sdpWith('hello');
  const assertion = (a: Omit<SdpAssertion, 'pos'>): SdpAssertion => ({ ...a, pos });

  const cases: Array<[string, SipMessage, Omit<SdpAssertion, 'pos'>, string | undefined]> = [
    ['nothing asked: passes without a body', NO_BODY, {}, undefined],
    ['present: seed SDP', OK, { present: true }, undefined],
    ['present: content type with parameters, any case', CHARSET, { present: true }, undefined],
    ['present: no body', NO_BODY, { present: true }, 'SDP: expected an SDP body, received no body'],
    ['present: not application/sdp', TEXT, { present: true }, 'SDP: expected an SDP body, received Content-Type text/plain'],
    ['present: unparsable', BROKEN, { present: true }, 'SDP: expected an SDP body, received unparsable SDP (SDP line 1: must be "v=0" (RFC 8866 §5.1), got "hello")'],
    ['not present: no body', NO_BODY, { present: false }, undefined],
    ['not present: text body', TEXT, { present: false }, undefined],
    ['not present: SDP body', OK, { present: false }, `SDP: expected no SDP body, received application/sdp (${SEED_SDP.length} bytes)`],
    ['codecs: both offered', OK, { codecs: ['PCMU', 'telephone-event'] }, undefined],
    ['codecs: any case', OK, { codecs: ['pcmu', 'TELEPHONE-EVENT'] }, undefined],
    ['codecs: with clock rate', OK, { codecs: ['PCMU/8000', 'telephone-event/8000'] }, undefined],
    ['codecs: wrong clock rate', OK, { codecs: ['telephone-event/16000'] }, 'SDP: expected codec telephone-event/16000, received PCMU, telephone-event (missing telephone-event/16000)'],
    ['codecs: one missing', OK, { codecs: ['PCMA'] }, 'SDP: expected codec PCMA, received PCMU, telephone-event (missing PCMA)'],
    ['codecs: one of two missing', OK, { codecs: ['PCMU', 'G729'] }, 'SDP: expected codecs PCMU, G729, received PCMU, telephone-event (missing G729)'],
    ['codecs: static payload types without rtpmap', STATIC_ONLY, { codecs: ['PCMA', 'PCMU', 'G729'] }, undefined],
    ['codecs: static payload types, one missing', STATIC_ONLY, { codecs: ['G722'] }, 'SDP: expected codec G722, received PCMA, PCMU, G729 (missing G722)'],
    ['codecs: no body implies present', NO_BODY, { codecs: ['PCMU'] }, 'SDP: expected an SDP body, received no body'],
    ['codecs: the first audio stream, after video', VIDEO_FIRST, { codecs: ['PCMU'] }, undefined],
    ['codecs: no audio stream', VIDEO_ONLY, { codecs: ['PCMU'] }, 'SDP: expected an audio stream, received only video'],
    ['direction: sendrecv', OK, { direction: 'sendrecv' }, undefined],
    ['direction: wrong', OK, { direction: 'sendonly' }, 'SDP: expected direction sendonly, received sendrecv'],
    ['direction: effective from the session level', SESSION_SENDONLY, { direction: 'sendonly' }, undefined],
    ['direction: effective from the session level, wrong', SESSION_SENDONLY, { direction: 'sendrecv' }, 'SDP: expected direction sendrecv, received sendonly'],
    ['direction: of the audio stream, not the video one', VIDEO_FIRST, { direction: 'recvonly' }, undefined],
    ['portNonZero: 18922', OK, { portNonZero: true }, undefined],
    ['portNonZero: rejected stream', REJECTED, { portNonZero: true }, 'SDP: expected a non-zero audio port, received port 0'],
    ['portNonZero false checks nothing', REJECTED, { portNonZero: false }, undefined],
    ['all together', OK, { present: true, codecs: ['PCMU'], direction: 'sendrecv', portNonZero: true }, undefined],
    ['all together, the first failure wins', REJECTED, { present: true, codecs: ['PCMU'], direction: 'inactive', portNonZero: true }, 'SDP: expected direction inactive, received sendrecv'],
  ];

  it.each(cases)('%s', (_what, msg, a, message) => {
    const got = checkSdp(msg, assertion(a));
    if (message === undefined) expect(got).toBeUndefined();
    else expect(got?.message).toBe(message);
  });

  it('gives the whole mismatch with header SDP', () => {
    expect(checkSdp(OK, assertion({ direction: 'inactive' }))).toEqual({
      header: 'SDP',
      message: 'SDP: expected direction inactive, received sendrecv',
      expected: 'direction inactive',
      received: 'sendrecv',
      pos,
    });
  });

  it('parses a message body once (cached per message)', () => {
    const first = messageSdp(OK);
    expect(first).not.toBeInstanceOf(Error);
    expect(messageSdp(OK)).toBe(first);
    expect(messageSdp(NO_BODY)).toBeUndefined();
    expect(messageSdp(TEXT)).toBeUndefined();
    expect(messageSdp(BROKEN)).toBeInstanceOf(Error);
  });
});

describe('applyCaptures', () => {
  const capture = (variable: string, from: string, more: { param?: string; regex?: string } = {}): Capture => ({ variable, from, ...more, pos });
  const run = (msg: SipMessage, c: Capture): { vars: Variables; got: HeaderMismatch | undefined } => {
    const vars = new Variables({}, { env: {} });
    return { vars, got: applyCaptures(msg, [c], vars) };
  };

  const passing: Array<[string, SipMessage, Capture, string]> = [
    ['status', OK, capture('code', 'status'), '200'],
    ['reason', UNAUTHORIZED, capture('why', 'reason'), 'Unauthorized'],
    ['method of a request', BYE, capture('m', 'method'), 'BYE'],
    ['method of a response (its CSeq method)', UNAUTHORIZED, capture('m', 'method'), 'REGISTER'],
    ['request-uri', BYE, capture('ruri', 'request-uri'), 'sip:alice@192.0.2.10:5060;transport=udp'],
    ['body', OK, capture('sdp', 'body'), SEED_SDP],
    ['call-id (written as a compact i in the message)', OK, capture('cid', 'call-id'), 'call-1@example.com'],
    ['a header by its compact name', OK, capture('cid', 'i'), 'call-1@example.com'],
    ['a whole header', OK, capture('server', 'Server'), 'Asterisk PBX 18.1'],
    ['a repeated header: the first line', OK, capture('foo', 'X-Foo'), 'bar'],
    ['To tag (header written t)', OK, capture('remote_tag', 'To', { param: 'tag' }), 'b2'],
    ['From tag (header written f)', OK, capture('local_tag', 'f', { param: 'tag' }), 'a1'],
    ['Contact expires: the first contact', OK, capture('granted', 'Contact', { param: 'expires' }), '3600'],
    ['Contact quoted param, unquoted', OK, capture('instance', 'm', { param: '+sip.instance' }), '<urn:uuid:00000000-0000-1000-8000-000000000001>'],
    ['Via branch from the top Via', OK, capture('branch', 'Via', { param: 'branch' }), 'z9hG4bK-1'],
    ['Via received', OK, capture('ip', 'v', { param: 'received' }), '198.51.100.1'],
    ['Via rport', OK, capture('port', 'Via', { param: 'RPORT' }), '5062'],
    ['Session-Expires refresher from ;name=value', OK, capture('refresher', 'Session-Expires', { param: 'refresher' }), 'uac'],
    ['a flag parameter gives an empty string', OK, capture('lr', 'Require', { param: 'lr' }), ''],
    ['WWW-Authenticate nonce (auth-params)', UNAUTHORIZED, capture('nonce', 'WWW-Authenticate', { param: 'nonce' }), 'abc123'],
    ['WWW-Authenticate realm', UNAUTHORIZED, capture('realm', 'www-authenticate', { param: 'realm' }), 'sipwright.test'],
    ['regex: first group', OK, capture('version', 'Server', { regex: 'PBX (\\d+)' }), '18'],
    ['regex: whole match without a group', OK, capture('version', 'Server', { regex: '\\d+\\.\\d+' }), '18.1'],
    ['regex: an optional group that did not take part', OK, capture('v', 'Server', { regex: 'Asterisk(-beta)?' }), ''],
    ['regex on a parameter', OK, capture('id', 'Contact', { param: '+sip.instance', regex: 'uuid:([0-9a-f-]+)' }), '00000000-0000-1000-8000-000000000001'],
    ['regex on the body', OK, capture('rtp_port', 'body', { regex: 'm=audio (\\d+)' }), '18922'],
    ['regex on the status', UNAUTHORIZED, capture('klass', 'status', { regex: '^(\\d)' }), '4'],
  ];

  it.each(passing)('captures %s', (_what, msg, c, value) => {
    const { vars, got } = run(msg, c);
    expect(got).toBeUndefined();
    expect(vars.get(c.variable)).toBe(value);
  });

  const failing: Array<[string, SipMessage, Capture, string]> = [
    ['status of a request', BYE, capture('code', 'status'), 'capture code: a request has no status code'],
    ['reason of a request', BYE, capture('why', 'reason'), 'capture why: a request has no reason phrase'],
    ['request-uri of a response', OK, capture('ruri', 'request-uri'), 'capture ruri: a response has no Request-URI'],
    ['body of a message without one', BYE, capture('sdp', 'body'), 'capture sdp: the message has no body'],
    ['an absent header', OK, capture('rr', 'Record-Route'), 'capture rr: header Record-Route is absent'],
    ['an absent header, compact name', BYE, capture('c', 'm', { param: 'expires' }), 'capture c: header Contact is absent'],
    ['To without a tag', BYE, capture('remote_tag', 'To', { param: 'tag' }), 'capture remote_tag: header To has no parameter tag'],
    ['Via without received', BYE, capture('ip', 'Via', { param: 'received' }), 'capture ip: header Via has no parameter received'],
    ['a header without parameters', OK, capture('e', 'Expires', { param: 'x' }), 'capture e: header Expires has no parameter x'],
    ['an auth header without the param', UNAUTHORIZED, capture('o', 'WWW-Authenticate', { param: 'opaque' }), 'capture o: header WWW-Authenticate has no parameter opaque'],
    ['a regex that does not match', OK, capture('v', 'Server', { regex: '^FreeSWITCH' }), 'capture v: /^FreeSWITCH/ does not match "Asterisk PBX 18.1"'],
  ];

  it.each(failing)('a missing source is a mismatch: %s', (_what, msg, c, message) => {
    const { vars, got } = run(msg, c);
    expect(got?.message).toBe(message);
    expect(got?.pos).toBe(pos);
    expect(vars.has(c.variable)).toBe(false);
  });

  it('gives the whole mismatch', () => {
    expect(run(BYE, capture('remote_tag', 'To', { param: 'tag' })).got).toEqual({
      header: 'To',
      message: 'capture remote_tag: header To has no parameter tag',
      expected: 'parameter tag',
      received: '"<sip:alice@example.com>"',
      pos,
    });
  });

  it('a header that does not parse is a mismatch', () => {
    const bad = sip('SIP/2.0 200 OK', ['Call-ID: x', 'CSeq: 1 INVITE', 'To: <sip:bob@example.com;tag=x']);
    const got = run(bad, capture('t', 'To', { param: 'tag' })).got;
    expect(got?.message.startsWith('capture t: header To does not parse: ')).toBe(true);
  });

  it('is all or nothing: no variable is set when one capture fails', () => {
    const vars = new Variables({}, { env: {} });
    const got = applyCaptures(OK, [capture('code', 'status'), capture('rr', 'Record-Route')], vars);
    expect(got?.message).toBe('capture rr: header Record-Route is absent');
    expect(vars.toRecord()).toEqual({});
  });

  it('sets every variable in the scope the step runs in', () => {
    const root = new Variables({ code: 'old' }, { env: {} });
    const branch = root.child();
    expect(applyCaptures(OK, [capture('code', 'status'), capture('remote_tag', 't', { param: 'tag' })], branch)).toBeUndefined();
    expect(branch.toRecord()).toEqual({ code: '200', remote_tag: 'b2' });
    expect(root.toRecord()).toEqual({ code: 'old' });
  });

  it('no captures: nothing happens', () => {
    const vars = new Variables({}, { env: {} });
    expect(applyCaptures(OK, [], vars)).toBeUndefined();
    expect(vars.toRecord()).toEqual({});
  });

  it('caches the capture regex per capture object', () => {
    const c = capture('v', 'Server', { regex: 'PBX (\\d+)' });
    expect(run(OK, c).vars.get('v')).toBe('18');
    c.regex = 'nothing';
    expect(run(OK, c).vars.get('v')).toBe('18');
  });

  it.each([
    ['param on a non-header source', capture('x', 'status', { param: 'tag' }), 'scenarios/basic/call.yaml:20:9: capture x: param applies to a header, not to status'],
    ['an invalid regex', capture('x', 'Server', { regex: '[' }), 'scenarios/basic/call.yaml:20:9: capture x: invalid regular expression /[/: '],
  ])('%s is a scenario error', (_what, c, message) => {
    const err = errorOf(() => run(OK, c));
    expect(err.code).toBe('ERR_SCENARIO');
    expect(err.message.startsWith(message)).toBe(true);
  });
});

describe('firstDifferingHeader', () => {
  const base = [
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1',
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:bob@example.com>',
    'Call-ID: c1',
    'CSeq: 1 INVITE',
  ];
  const msg = (headers: string[]): SipMessage => sip('INVITE sip:bob@example.com SIP/2.0', headers);
  const expected = msg(base);

  it.each<[string, string[], string[] | undefined, string | undefined]>([
    ['identical messages', base, undefined, undefined],
    ['whitespace differences only', base.map((h) => h.replace(': ', ':   ').replace(';tag', ' ;tag').replace(/ 1 /, '  1  ')), undefined, undefined],
    ['compact forms on one side', ['v: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1', 'f: <sip:alice@example.com>;tag=a1', 't: <sip:bob@example.com>', 'i: c1', 'CSeq: 1 INVITE'], undefined, undefined],
    ['header order differs, values the same', [...base].reverse(), undefined, undefined],
    ['From tag differs', base.map((h) => h.replace('tag=a1', 'tag=zz')), undefined, 'From'],
    ['From and To differ: From comes first in expected', base.map((h) => h.replace('tag=a1', 'tag=zz').replace('<sip:bob@', '<sip:carol@')), undefined, 'From'],
    ['a header missing from received', base.filter((h) => !h.startsWith('To')), undefined, 'To'],
    ['an extra header in received', [...base, 'Subject: hi'], undefined, 'Subject'],
    ['a second Via line in received', [...base, 'Via: SIP/2.0/UDP 192.0.2.99;branch=z9hG4bK-9'], undefined, 'Via'],
    ['ignored headers, any spelling', base.map((h) => h.replace('branch=z9hG4bK-1', 'branch=other').replace('Call-ID: c1', 'Call-ID: c2')), ['v', 'call-id'], undefined],
    ['ignored header, another still differs', base.map((h) => h.replace('branch=z9hG4bK-1', 'branch=other').replace('CSeq: 1', 'CSeq: 2')), ['Via'], 'CSeq'],
  ])('%s', (_what, headers, ignore, name) => {
    expect(firstDifferingHeader(expected, msg(headers), ignore)).toBe(name);
  });

  it.each([
    ['"Alice" <sip:alice@example.com> ; tag = a1', undefined],
    ['"Alice"   <sip:alice@example.com>;tag=a1', undefined],
    ['"Alice  " <sip:alice@example.com>;tag=a1', 'From'],
    ['"Alice" <sip:alice@example.com>;tag=a1;x', 'From'],
  ])('whitespace is normalised outside quotes only: From: %s', (from, name) => {
    const mine = msg(['From: "Alice" <sip:alice@example.com>;tag=a1', 'Call-ID: c1', 'CSeq: 1 INVITE']);
    const theirs = msg([`From: ${from}`, 'Call-ID: c1', 'CSeq: 1 INVITE']);
    expect(firstDifferingHeader(mine, theirs)).toBe(name);
  });

  it('the same Contact list as one line or two', () => {
    const one = msg([...base, 'Contact: <sip:a@h1>, <sip:a@h2>']);
    const two = msg([...base, 'Contact: <sip:a@h1>', 'Contact: <sip:a@h2>']);
    expect(firstDifferingHeader(one, two)).toBeUndefined();
  });

  it('an unknown header is named as written in expected', () => {
    expect(firstDifferingHeader(msg([...base, 'x-asterisk-cause: 16']), msg([...base, 'X-Asterisk-Cause: 17']))).toBe('x-asterisk-cause');
  });
});

describe('mismatchFailure', () => {
  it('turns a mismatch into the step failure', () => {
    const mismatch = checkHeaders(OK, [header('Expires', 'gte', '600')]);
    expect(mismatch).toBeDefined();
    expect(mismatchFailure(mismatch!, 'expect: 200')).toEqual({
      message: 'header Expires: expected >= 600, received "120"',
      step: 'expect: 200',
      pos,
      expected: '>= 600',
      received: '"120"',
      header: 'Expires',
    });
  });
});
