import { describe, expect, it } from 'vitest';
import { SipParseError } from '../../src/errors.js';
import type { Finding } from '../../src/sip/finding.js';
import {
  formatUri,
  hostError,
  hostKind,
  isIPv4Address,
  isIPv6Address,
  parseUri,
  uriUserUnescaped,
  type Uri,
} from '../../src/sip/uri.js';

function errorOf(fn: () => unknown): SipParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SipParseError);
    return err as SipParseError;
  }
  throw new Error('expected a SipParseError, nothing was thrown');
}

/** What a test expects of a parsed URI; params/headers as [name, value] pairs. */
interface Expected {
  scheme: string;
  user?: string;
  password?: string;
  host: string;
  port?: number;
  params?: [string, string | null][];
  headers?: [string, string | null][];
  opaque?: string;
  /** uriUserUnescaped(uri), when it differs from user. */
  unescaped?: string;
}

function shape(uri: Uri): Expected {
  const out: Expected = { scheme: uri.scheme, host: uri.host };
  if (uri.user !== undefined) out.user = uri.user;
  if (uri.password !== undefined) out.password = uri.password;
  if (uri.port !== undefined) out.port = uri.port;
  if (uri.params.size > 0) out.params = [...uri.params];
  if (uri.headers.size > 0) out.headers = [...uri.headers];
  if (uri.opaque !== undefined) out.opaque = uri.opaque;
  return out;
}

// [name in RFC words, input, expected, canonical formatUri output (undefined = same as input)]
const valid: [string, string, Expected, string?][] = [
  ['RFC 3261 §19.1.3: user at a domain', 'sip:alice@atlanta.com', { scheme: 'sip', user: 'alice', host: 'atlanta.com' }],
  [
    'RFC 3261 §19.1.3: password and a transport parameter',
    'sip:alice:secretword@atlanta.com;transport=tcp',
    { scheme: 'sip', user: 'alice', password: 'secretword', host: 'atlanta.com', params: [['transport', 'tcp']] },
  ],
  [
    'RFC 3261 §19.1.3: SIPS with escaped headers',
    'sips:alice@atlanta.com?subject=project%20x&priority=urgent',
    { scheme: 'sips', user: 'alice', host: 'atlanta.com', headers: [['subject', 'project%20x'], ['priority', 'urgent']] },
  ],
  [
    'RFC 3261 §19.1.3: telephone-subscriber user with user=phone',
    'sip:+1-212-555-1212:1234@gateway.com;user=phone',
    { scheme: 'sip', user: '+1-212-555-1212', password: '1234', host: 'gateway.com', params: [['user', 'phone']] },
  ],
  ['RFC 3261 §19.1.3: an IPv4 host', 'sip:alice@192.0.2.4', { scheme: 'sip', user: 'alice', host: '192.0.2.4' }],
  [
    'RFC 3261 §19.1.3: no user part, a method parameter and an escaped header',
    'sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com',
    { scheme: 'sip', host: 'atlanta.com', params: [['method', 'REGISTER']], headers: [['to', 'alice%40atlanta.com']] },
  ],
  [
    'RFC 3261 §19.1.3: ";" belongs to the user part before "@"',
    'sip:alice;day=tuesday@atlanta.com',
    { scheme: 'sip', user: 'alice;day=tuesday', host: 'atlanta.com' },
  ],
  [
    'RFC 3261 §19.1.4: an escaped user part (%61lice) is kept as sent and decodes to alice',
    'sip:%61lice@atlanta.com;transport=TCP',
    { scheme: 'sip', user: '%61lice', host: 'atlanta.com', params: [['transport', 'TCP']], unescaped: 'alice' },
  ],
  [
    'RFC 3261 §19.1.1: the scheme is case-insensitive and lower-cased',
    'SIP:alice@AtLanTa.CoM:5060',
    { scheme: 'sip', user: 'alice', host: 'AtLanTa.CoM', port: 5060 },
    'sip:alice@AtLanTa.CoM:5060',
  ],
  [
    'RFC 3261 §25.1: password may be empty',
    'sip:alice:@atlanta.com',
    { scheme: 'sip', user: 'alice', password: '', host: 'atlanta.com' },
  ],
  ['RFC 3261 §25.1: a fully qualified host name may end in "."', 'sip:alice@atlanta.com.', { scheme: 'sip', user: 'alice', host: 'atlanta.com.' }],
  [
    'RFC 4475 §3.1.1.1: unknown Request-URI parameter without a value (wsinv)',
    'sip:vivekg@chair-dnrc.example.com;unknownparam',
    { scheme: 'sip', user: 'vivekg', host: 'chair-dnrc.example.com', params: [['unknownparam', null]] },
  ],
  [
    'RFC 4475 §3.1.1.1: loose-route URI with unknown parameters (wsinv Route)',
    'sip:services.example.com;lr;unknownwith=value;unknown-no-value',
    { scheme: 'sip', host: 'services.example.com', params: [['lr', null], ['unknownwith', 'value'], ['unknown-no-value', null]] },
  ],
  [
    'RFC 4475 §3.1.1.2: wide range of valid characters in user and password (intmeth)',
    "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
    {
      scheme: 'sip',
      user: "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*",
      password: "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)",
      host: 'example.com',
    },
  ],
  [
    'RFC 4475 §3.1.1.3: an escaped ":" and "@" in the user part (esc01 Request-URI)',
    'sip:sips%3Auser%40example.com@example.net',
    { scheme: 'sip', user: 'sips%3Auser%40example.com', host: 'example.net', unescaped: 'sips:user@example.com' },
  ],
  [
    'RFC 4475 §3.1.1.3: escaped unreserved characters (esc01 To)',
    'sip:%75se%72@example.com',
    { scheme: 'sip', user: '%75se%72', host: 'example.com', unescaped: 'user' },
  ],
  [
    'RFC 4475 §3.1.1.3: escaped spaces (esc01 From)',
    'sip:I%20have%20spaces@example.net',
    { scheme: 'sip', user: 'I%20have%20spaces', host: 'example.net', unescaped: 'I have spaces' },
  ],
  [
    'RFC 4475 §3.1.1.3: escapes in parameter names and values are kept as sent (esc01 Contact)',
    'sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31',
    {
      scheme: 'sip',
      user: 'cal%6Cer',
      host: 'host5.example.net',
      params: [['%6C%72', null], ['n%61me', 'v%61lue%25%34%31']],
      unescaped: 'caller',
    },
  ],
  [
    'RFC 4475 §3.1.1.4: an escaped NUL in the user part (escnull)',
    'sip:null-%00-null@example.com',
    { scheme: 'sip', user: 'null-%00-null', host: 'example.com', unescaped: 'null-\x00-null' },
  ],
  [
    'RFC 4475 §3.1.1.4: a user part of two escaped NULs (escnull Contact)',
    'sip:%00%00@host5.example.com',
    { scheme: 'sip', user: '%00%00', host: 'host5.example.com', unescaped: '\x00\x00' },
  ],
  [
    'RFC 4475 §3.1.1.9: semicolon-separated parameters in the user part (semiuri)',
    'sip:user;par=u%40example.net@example.com',
    { scheme: 'sip', user: 'user;par=u%40example.net', host: 'example.com', unescaped: 'user;par=u@example.net' },
  ],
  [
    'RFC 4475 §3.1.2.11: escaped headers in a URI parse (the message layer rejects them in a Request-URI)',
    'sip:user@example.com?Route=%3Csip:example.com%3E',
    { scheme: 'sip', user: 'user', host: 'example.com', headers: [['Route', '%3Csip:example.com%3E']] },
  ],
  ['RFC 5118 §4.1: an IPv6 reference as host', 'sip:[2001:db8::10]', { scheme: 'sip', host: '[2001:db8::10]' }],
  ['RFC 5118 §4.1: user at an IPv6 reference', 'sip:caller@[2001:db8::1]', { scheme: 'sip', user: 'caller', host: '[2001:db8::1]' }],
  [
    'RFC 5118 §4.3: a port-like last group inside the brackets is part of the address',
    'sip:[2001:db8::10:5070]',
    { scheme: 'sip', host: '[2001:db8::10:5070]' },
  ],
  ['RFC 5118 §4.4: the port follows the closing bracket', 'sip:[2001:db8::10]:5070', { scheme: 'sip', host: '[2001:db8::10]', port: 5070 }],
  [
    'RFC 5118 §4.9: an IPv4-mapped IPv6 address',
    'sip:user@[::ffff:192.0.2.10]:19823',
    { scheme: 'sip', user: 'user', host: '[::ffff:192.0.2.10]', port: 19823 },
  ],
  [
    'RFC 5118 §4.10: an IPv4 tail after "::" (two colons)',
    'sip:[2001:db8::192.0.2.1]',
    { scheme: 'sip', host: '[2001:db8::192.0.2.1]' },
  ],
  ['RFC 3966 §3: a global number', 'tel:+1-201-555-0123', { scheme: 'tel', user: '+1-201-555-0123', host: '' }],
  [
    'RFC 3966 §5.1.5: a local number with a domain phone-context',
    'tel:7042;phone-context=example.com',
    { scheme: 'tel', user: '7042', host: '', params: [['phone-context', 'example.com']] },
  ],
  [
    'RFC 3966 §5.1.5: a local number with a global-number-digits phone-context',
    'tel:863-1234;phone-context=+1-914-555',
    { scheme: 'tel', user: '863-1234', host: '', params: [['phone-context', '+1-914-555']] },
  ],
  [
    'RFC 3966 §5.1.3: an extension parameter',
    'tel:+1-201-555-0123;ext=1234',
    { scheme: 'tel', user: '+1-201-555-0123', host: '', params: [['ext', '1234']] },
  ],
  [
    'RFC 4475 §3.3.2: a Request-URI with an unknown scheme parses as opaque',
    'nobodyknowsthisscheme:totallyopaquecontent',
    { scheme: 'nobodyknowsthisscheme', host: '', opaque: 'totallyopaquecontent' },
  ],
  [
    'RFC 4475 §3.3.3: a known but atypical scheme with "." in its name',
    'soap.beep://192.0.2.103:3002',
    { scheme: 'soap.beep', host: '', opaque: '//192.0.2.103:3002' },
  ],
  ['RFC 4475 §3.3.4: isbn: in To', 'isbn:2983792873', { scheme: 'isbn', host: '', opaque: '2983792873' }],
  ['RFC 4475 §3.3.4: http: in From', 'http://www.example.com', { scheme: 'http', host: '', opaque: '//www.example.com' }],
  ['RFC 4475 §3.3.4: name: in Contact', 'name:John_Doe', { scheme: 'name', host: '', opaque: 'John_Doe' }],
  ['RFC 3261 §20.38: mailto: in Reply-To', 'mailto:bob@biloxi.com', { scheme: 'mailto', host: '', opaque: 'bob@biloxi.com' }],
  ['RFC 5031: a service URN', 'urn:service:sos', { scheme: 'urn', host: '', opaque: 'service:sos' }],
];

describe('parseUri: valid URIs (RFC 3261 §19.1, RFC 3966, RFC 4475, RFC 5118)', () => {
  it.each(valid)('%s', (_name, text, expected, canonical) => {
    const findings: Finding[] = [];
    const uri = parseUri(text, findings);
    const { unescaped, ...rest } = expected;
    expect(shape(uri)).toEqual(rest);
    expect(uriUserUnescaped(uri)).toBe(unescaped ?? uri.user);
    expect(findings).toEqual([]);
    expect(formatUri(uri)).toBe(canonical ?? text);
  });

  it.each(valid)('round trip: parse(format(x)) equals x for %s', (_name, text) => {
    const uri = parseUri(text);
    expect(parseUri(formatUri(uri))).toEqual(uri);
  });
});

// [name, input, expected, finding codes, canonical form]
const tolerated: [string, string, Expected, string[], string][] = [
  [
    'a space after "sip:" (seed trace: Asterisk 1.6 From/To/Contact)',
    'sip: 0000123456@xxx.xxx.xxx.xxx',
    { scheme: 'sip', user: '0000123456', host: 'xxx.xxx.xxx.xxx' },
    ['uri-space-after-scheme'],
    'sip:0000123456@xxx.xxx.xxx.xxx',
  ],
  [
    'a space after "sip:" in a Request-URI without user (seed trace: REGISTER sip: xxx.xxx.xxx.xxx)',
    'sip: xxx.xxx.xxx.xxx',
    { scheme: 'sip', host: 'xxx.xxx.xxx.xxx' },
    ['uri-space-after-scheme'],
    'sip:xxx.xxx.xxx.xxx',
  ],
  [
    'spaces after "sip:" and before "@" (seed trace: To: <sip: 0312345678 @000.000.000.000>)',
    'sip: 0312345678 @000.000.000.000',
    { scheme: 'sip', user: '0312345678', host: '000.000.000.000' },
    ['uri-space-after-scheme', 'uri-space-before-at'],
    'sip:0312345678@000.000.000.000',
  ],
  [
    'whitespace around the URI',
    '  sip:alice@atlanta.com \t',
    { scheme: 'sip', user: 'alice', host: 'atlanta.com' },
    ['uri-surrounding-whitespace'],
    'sip:alice@atlanta.com',
  ],
  [
    'an unescaped "#" in the user part (PBX feature codes)',
    'sip:*97#@pbx.example.com',
    { scheme: 'sip', user: '*97#', host: 'pbx.example.com' },
    ['uri-unescaped-char'],
    'sip:*97#@pbx.example.com',
  ],
  [
    'an underscore in a host name',
    'sip:alice@sip_gw.example.com',
    { scheme: 'sip', user: 'alice', host: 'sip_gw.example.com' },
    ['uri-host-underscore'],
    'sip:alice@sip_gw.example.com',
  ],
  [
    'an empty URI parameter value',
    'sip:alice@atlanta.com;transport=',
    { scheme: 'sip', user: 'alice', host: 'atlanta.com', params: [['transport', '']] },
    ['uri-param-empty-value'],
    'sip:alice@atlanta.com;transport=',
  ],
  [
    'a URI parameter that appears twice (RFC 3261 §19.1.1 forbids it)',
    'sip:alice@atlanta.com;lr;LR',
    { scheme: 'sip', user: 'alice', host: 'atlanta.com', params: [['lr', null], ['LR', null]] },
    ['uri-param-duplicate'],
    'sip:alice@atlanta.com;lr;LR',
  ],
  [
    'a local tel: number without phone-context (RFC 3966 §5.1.5 requires one)',
    'tel:1234',
    { scheme: 'tel', user: '1234', host: '' },
    ['tel-local-number-without-context'],
    'tel:1234',
  ],
];

describe('parseUri: deviations real equipment sends are tolerated and reported as quirks', () => {
  it.each(tolerated)('%s', (_name, text, expected, codes, canonical) => {
    const findings: Finding[] = [];
    const uri = parseUri(text, findings);
    expect(shape(uri)).toEqual(expected);
    expect(findings.map((f) => f.code)).toEqual(codes);
    expect(findings.every((f) => f.severity === 'quirk' && typeof f.rfc === 'string')).toBe(true);
    expect(formatUri(uri)).toBe(canonical);
    expect(parseUri(formatUri(uri))).toEqual(uri);
  });

  it('a finding quotes the URI it is about', () => {
    const findings: Finding[] = [];
    parseUri('sip: 0000123456@xxx.xxx.xxx.xxx', findings);
    expect(findings[0].message).toBe('whitespace after "sip:" in URI "sip: 0000123456@xxx.xxx.xxx.xxx"');
    expect(findings[0].rfc).toBe('RFC 3261 §25.1');
  });

  it('parses without a findings array', () => {
    expect(parseUri('sip: 0000123456@host').user).toBe('0000123456');
  });
});

const invalid: [string, string, string][] = [
  ['an empty URI', '', 'empty URI'],
  [
    'RFC 4475 §3.1.2.7: a Request-URI enclosed in <> does not start with a scheme (ltgtruri)',
    '<sip:user@example.com>',
    `URI "<sip:user@example.com>" does not start with a scheme: '<' cannot begin one (scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), RFC 3986 §3.1)`,
  ],
  [
    'a scheme must start with a letter',
    '1sip:alice@atlanta.com',
    `URI "1sip:alice@atlanta.com" does not start with a scheme: '1' cannot begin one (scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), RFC 3986 §3.1)`,
  ],
  ['a URI needs a scheme', 'alice@atlanta.com', `URI "alice@atlanta.com" has no scheme: no ':' found`],
  ['a scheme must not contain "_"', 'my_scheme:x', `invalid character '_' in the scheme of URI "my_scheme:x"`],
  ['a SIP URI needs a host', 'sip:', 'empty host in URI "sip:"'],
  ['a host must follow "@"', 'sip:alice@', 'empty host in URI "sip:alice@"'],
  ['a port alone is no host', 'sip:alice@:5060', 'empty host in URI "sip:alice@:5060"'],
  ['"@" needs a user part before it', 'sip:@atlanta.com', `empty user part before '@' in URI "sip:@atlanta.com"`],
  ['":" needs a user part before it', 'sip::pw@atlanta.com', `empty user part before ':' in URI "sip::pw@atlanta.com"`],
  ['a port must have digits', 'sip:alice@atlanta.com:', `empty port after ':' in URI "sip:alice@atlanta.com:"`],
  ['a port must be a number', 'sip:alice@atlanta.com:50x60', 'port "50x60" is not a number in URI "sip:alice@atlanta.com:50x60"'],
  ['a port is at most 65535', 'sip:alice@atlanta.com:70000', 'port 70000 is out of range (0-65535) in URI "sip:alice@atlanta.com:70000"'],
  [
    'RFC 5118 §4.2: an IPv6 address must be enclosed in "[" "]" (ipv6-bad)',
    'sip:2001:db8::10',
    `IPv6 address in URI "sip:2001:db8::10" must be enclosed in '[' and ']' (RFC 3261 §19.1.1, RFC 5118 §4.2)`,
  ],
  [
    'an unterminated IPv6 reference',
    'sip:[2001:db8::10',
    `unterminated IPv6 reference in URI "sip:[2001:db8::10": no ']' after '['`,
  ],
  [
    'RFC 5118 §4.10: three colons are not an IPv6 address (ipv6-bug-abnf-3-colons)',
    'sip:[2001:db8:::192.0.2.1]',
    'invalid IPv6 address "[2001:db8:::192.0.2.1]" in URI "sip:[2001:db8:::192.0.2.1]" (RFC 5118 §4.10)',
  ],
  ['an IPv6 reference needs a valid address', 'sip:[atlanta.com]', 'invalid IPv6 address "[atlanta.com]" in URI "sip:[atlanta.com]" (RFC 5118 §4.10)'],
  ['an unescaped space in the user part', 'sip:I have spaces@example.net', 'U+0020 is not allowed in the user part of URI "sip:I have spaces@example.net"'],
  ['an escape needs two hex digits', 'sip:alice%2@atlanta.com', 'invalid escape "%2" in the user part of URI "sip:alice%2@atlanta.com"'],
  ['RFC 4475 §3.1.1.5: "%" not followed by hex is no escape', 'sip:%ZK@atlanta.com', 'invalid escape "%ZK" in the user part of URI "sip:%ZK@atlanta.com"'],
  ['a space inside the host', 'sip:alice@atla nta.com', `invalid character U+0020 in host "atla nta.com" in URI "sip:alice@atla nta.com"`],
  ['an empty host label', 'sip:alice@atlanta..com', 'empty label in host "atlanta..com" in URI "sip:alice@atlanta..com"'],
  ['a host label cannot start with "-"', 'sip:alice@-atlanta.com', `label of host "-atlanta.com" starts or ends with '-' in URI "sip:alice@-atlanta.com"`],
  ['an empty URI parameter name', 'sip:alice@atlanta.com;;lr', `empty parameter name after ';' in URI "sip:alice@atlanta.com;;lr"`],
  [
    'RFC 4475 §3.1.2.8: LWS inside a URI parameter (lwsruri)',
    'sip:user@example.com;transport=tcp foo',
    'U+0020 is not allowed in the value of parameter "transport" of URI "sip:user@example.com;transport=tcp foo"',
  ],
  ['an empty URI header name', 'sip:alice@atlanta.com?&x=1', 'empty header name in URI "sip:alice@atlanta.com?&x=1"'],
  ['a tel: URI needs a number', 'tel:', 'tel: URI "tel:" has no number'],
  ['a tel: number has no spaces', 'tel:+1 201 555 0123', `invalid character U+0020 in the global number of tel: URI "tel:+1 201 555 0123" (RFC 3966 §3)`],
  ['a global tel: number has only decimal digits', 'tel:+1-201-555-ABCD', `invalid character 'A' in the global number of tel: URI "tel:+1-201-555-ABCD" (RFC 3966 §3)`],
  ['a tel: number needs a digit', 'tel:+', 'tel: URI "tel:+" has no digits in its number (RFC 3966 §3)'],
  ['an opaque URI must not be empty', 'mailto:', 'URI "mailto:" has nothing after "mailto:"'],
  ['an opaque URI has no spaces', 'urn:service: sos x', 'U+0020 inside URI "urn:service: sos x"'],
];

describe('parseUri: malformed URIs throw ERR_SIP_URI with a precise message', () => {
  it.each(invalid)('%s', (_name, text, message) => {
    const err = errorOf(() => parseUri(text));
    expect(err.code).toBe('ERR_SIP_URI');
    expect(err.status).toBe(400);
    expect(err.message).toBe(message);
  });

  it('a very long URI is clipped in the message', () => {
    const long = 'sip:' + 'a'.repeat(200) + '@';
    expect(errorOf(() => parseUri(long)).message).toBe(`empty host in URI "sip:${'a'.repeat(113)}..."`);
  });
});

describe('formatUri', () => {
  it('writes components as stored and adds a port and headers', () => {
    const uri = parseUri('sip:bob@biloxi.com');
    uri.port = 5061;
    uri.params.set('transport', 'tls');
    uri.headers.set('Subject', 'hi%20there');
    uri.headers.set('Priority', 'urgent');
    expect(formatUri(uri)).toBe('sip:bob@biloxi.com:5061;transport=tls?Subject=hi%20there&Priority=urgent');
  });
});

describe('hostKind and address checks', () => {
  it.each([
    ['192.0.2.4', 'ipv4'],
    ['000.000.000.000', 'ipv4'],
    ['255.255.255.255', 'ipv4'],
    ['256.1.1.1', 'name'],
    ['1.2.3', 'name'],
    ['xxx.xxx.xxx.xxx', 'name'],
    ['atlanta.com', 'name'],
    ['[2001:db8::1]', 'ipv6'],
    ['2001:db8::9:255', 'ipv6'],
  ] as const)('hostKind(%j) is %s', (host, kind) => {
    expect(hostKind(host)).toBe(kind);
  });

  it.each([
    ['::', true],
    ['::1', true],
    ['1::', true],
    ['2001:db8::10', true],
    ['2001:db8:0:0:0:0:0:10', true],
    ['::ffff:192.0.2.10', true],
    ['2001:db8::192.0.2.1', true],
    ['2001:db8:::192.0.2.1', false],
    ['1:2:3:4:5:6:7:8:9', false],
    ['1:2:3:4:5:6:7::8', false],
    ['1::2::3', false],
    ['12345::1', false],
    [':1', false],
    ['1:', false],
    ['::ffff:192.0.2', false],
    ['g::1', false],
    ['', false],
  ] as const)('isIPv6Address(%j) is %s (RFC 4291 §2.2)', (text, ok) => {
    expect(isIPv6Address(text)).toBe(ok);
  });

  it('isIPv4Address wants four parts of at most 255', () => {
    expect(isIPv4Address('192.0.2.1')).toBe(true);
    expect(isIPv4Address('192.0.2.1.5')).toBe(false);
    expect(isIPv4Address('1921.0.2.1')).toBe(false);
    expect(isIPv4Address('192.0.2.')).toBe(false);
  });

  it('hostError explains what is wrong', () => {
    expect(hostError('atlanta.com')).toBeUndefined();
    expect(hostError('[::1]')).toBeUndefined();
    expect(hostError('')).toBe('empty host');
    expect(hostError('[::1')).toBe('unterminated IPv6 reference "[::1"');
    expect(hostError('a/b')).toBe(`invalid character '/' in host "a/b"`);
  });
});
