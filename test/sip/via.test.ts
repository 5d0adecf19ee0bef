import { describe, expect, it } from 'vitest';
import { SipParseError } from '../../src/errors.js';
import type { Finding } from '../../src/sip/finding.js';
import { Params } from '../../src/sip/params.js';
import { createVia, formatVia, hasMagicCookie, parseVia, type Via } from '../../src/sip/via.js';

function errorOf(fn: () => unknown): SipParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SipParseError);
    return err as SipParseError;
  }
  throw new Error('expected a SipParseError, nothing was thrown');
}

interface Expected {
  protocol?: string;
  version?: string;
  transport: string;
  host: string;
  port?: number;
  branch?: string;
  received?: string;
  rport?: number | true;
  params?: [string, string | null][];
}

function shape(v: Via, withParams: boolean): Expected {
  const out: Expected = { transport: v.transport, host: v.host };
  if (v.protocol !== 'SIP') out.protocol = v.protocol;
  if (v.version !== '2.0') out.version = v.version;
  if (v.port !== undefined) out.port = v.port;
  if (v.branch !== undefined) out.branch = v.branch;
  if (v.received !== undefined) out.received = v.received;
  if (v.rport !== undefined) out.rport = v.rport;
  if (withParams) out.params = [...v.params];
  return out;
}

// [name in RFC words, via-parm, expected, canonical formatVia output, finding codes]
const cases: [string, string, Expected, string, string[]][] = [
  [
    'seed trace: a client asks for rport with the bare flag (RFC 3581 §3)',
    'SIP/2.0/UDP 000.000.000.000:5060;branch=z9hG4bK4e9b3e05;rport ',
    { transport: 'UDP', host: '000.000.000.000', port: 5060, branch: 'z9hG4bK4e9b3e05', rport: true },
    'SIP/2.0/UDP 000.000.000.000:5060;branch=z9hG4bK4e9b3e05;rport',
    [],
  ],
  [
    'seed trace: the server fills received and rport (RFC 3581 §4)',
    'SIP/2.0/UDP 000.000.000.000:5060;branch=z9hG4bK4e9b3e05;received=000.000.000.000;rport=5060 ',
    {
      transport: 'UDP',
      host: '000.000.000.000',
      port: 5060,
      branch: 'z9hG4bK4e9b3e05',
      received: '000.000.000.000',
      rport: 5060,
    },
    'SIP/2.0/UDP 000.000.000.000:5060;branch=z9hG4bK4e9b3e05;received=000.000.000.000;rport=5060',
    [],
  ],
  [
    'seed trace: the value follows "Via:" without a space and the sent-by is on the next line',
    'SIP/2.0/UDP\r\nxxx.xxx.xxx.xxx:5060;branch=z9hG4bK546a1def;received=xxx.xxx.xxx.xxx;rport=5060',
    {
      transport: 'UDP',
      host: 'xxx.xxx.xxx.xxx',
      port: 5060,
      branch: 'z9hG4bK546a1def',
      received: 'xxx.xxx.xxx.xxx',
      rport: 5060,
    },
    'SIP/2.0/UDP xxx.xxx.xxx.xxx:5060;branch=z9hG4bK546a1def;received=xxx.xxx.xxx.xxx;rport=5060',
    [],
  ],
  [
    'RFC 3261 §20.42: sent-by with a port',
    'SIP/2.0/UDP erlang.bell-telephone.com:5060;branch=z9hG4bK87asdks7',
    { transport: 'UDP', host: 'erlang.bell-telephone.com', port: 5060, branch: 'z9hG4bK87asdks7' },
    'SIP/2.0/UDP erlang.bell-telephone.com:5060;branch=z9hG4bK87asdks7',
    [],
  ],
  [
    'RFC 3261 §20.42: LWS before ";" and a received parameter',
    'SIP/2.0/UDP 192.0.2.1:5060 ;received=192.0.2.207 ;branch=z9hG4bK77asjd',
    { transport: 'UDP', host: '192.0.2.1', port: 5060, branch: 'z9hG4bK77asjd', received: '192.0.2.207' },
    'SIP/2.0/UDP 192.0.2.1:5060;received=192.0.2.207;branch=z9hG4bK77asjd',
    [],
  ],
  [
    'RFC 3261 §20.42: LWS around "/" and after ":" (compact form example with ttl and maddr)',
    'SIP / 2.0 / UDP first.example.com: 4000;ttl=16 ;maddr=224.2.0.1 ;branch=z9hG4bKa7c6a8dlze.1',
    { transport: 'UDP', host: 'first.example.com', port: 4000, branch: 'z9hG4bKa7c6a8dlze.1', params: [['ttl', '16'], ['maddr', '224.2.0.1'], ['branch', 'z9hG4bKa7c6a8dlze.1']] },
    'SIP/2.0/UDP first.example.com:4000;ttl=16;maddr=224.2.0.1;branch=z9hG4bKa7c6a8dlze.1',
    [],
  ],
  [
    'RFC 4475 §3.1.1.1: folded LWS around the slashes (wsinv Via)',
    'SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw',
    { transport: 'UDP', host: '192.0.2.2', branch: '390skdjuw' },
    'SIP/2.0/UDP 192.0.2.2;branch=390skdjuw',
    [],
  ],
  [
    'RFC 4475 §3.1.1.1: LWS around ";" and "=" (wsinv v: first element)',
    'SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8',
    { transport: 'TCP', host: 'spindle.example.com', branch: 'z9hG4bK9ikj8' },
    'SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8',
    [],
  ],
  [
    'RFC 4475 §3.1.1.1: a value folded onto the next line (wsinv v: second element)',
    'SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239',
    { transport: 'UDP', host: '192.168.255.111', branch: 'z9hG4bK30239' },
    'SIP/2.0/UDP 192.168.255.111;branch=z9hG4bK30239',
    [],
  ],
  [
    'RFC 4475 §3.1.1.2: a branch of unusual token characters (intmeth)',
    "SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~",
    { transport: 'TCP', host: 'host1.example.com', branch: "z9hG4bK-.!%66*_+`'~" },
    "SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~",
    [],
  ],
  ...(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP'].map((t, n) => [
    `RFC 4475 §3.1.1.10: transport ${t} (transports)`,
    `SIP/2.0/${t} t${n + 1}.example.com;branch=z9hG4bKkdjuw${n}`,
    { transport: t, host: `t${n + 1}.example.com`, branch: `z9hG4bKkdjuw${n}` },
    `SIP/2.0/${t} t${n + 1}.example.com;branch=z9hG4bKkdjuw${n}`,
    [],
  ]) as [string, string, Expected, string, string[]][]),
  [
    'RFC 4475 §3.4.1: an RFC 2543 Via without a branch (inv2543)',
    'SIP/2.0/UDP iftgw.example.com',
    { transport: 'UDP', host: 'iftgw.example.com' },
    'SIP/2.0/UDP iftgw.example.com',
    [],
  ],
  [
    'RFC 3261 §7.1: the transport is compared case-insensitively and kept upper-case',
    'SIP/2.0/tcp client.atlanta.example.com:5060;branch=z9hG4bK74bf9',
    { transport: 'TCP', host: 'client.atlanta.example.com', port: 5060, branch: 'z9hG4bK74bf9' },
    'SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9',
    [],
  ],
  [
    'RFC 7118 §5.2: WSS transport with a .invalid host',
    'SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks;rport',
    { transport: 'WSS', host: 'df7jal23ls0d.invalid', branch: 'z9hG4bK56sdasks', rport: true },
    'SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks;rport',
    [],
  ],
  [
    'RFC 5118 §4.1: an IPv6 sent-by',
    'SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111',
    { transport: 'UDP', host: '[2001:db8::9:1]', branch: 'z9hG4bKas3-111' },
    'SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111',
    [],
  ],
  [
    'RFC 5118 §4.5: received with "[" "]" around the IPv6 address is accepted (via-received-param-with-delim)',
    'SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111',
    { transport: 'UDP', host: '[2001:db8::9:1]', branch: 'z9hG4bKas3-111', received: '2001:db8::9:255' },
    'SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111',
    ['via-received-ipv6-brackets'],
  ],
  [
    'RFC 5118 §4.5: received with a bare IPv6 address (via-received-param-no-delim)',
    'SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3',
    { transport: 'UDP', host: '[2001:db8::9:1]', branch: 'z9hG4bKas3', received: '2001:db8::9:255' },
    'SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3',
    [],
  ],
  [
    'RFC 5118 §4.7: an IPv6 sent-by with a port (mult-ip-in-header)',
    'SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111',
    { transport: 'UDP', host: '[2001:db8::9:1]', port: 6050, branch: 'z9hG4bKas3-111' },
    'SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111',
    [],
  ],
  [
    'RFC 5118 §4.7: an IPv6 sent-by with an IPv4 received (mult-ip-in-header)',
    'SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK451jj;received=192.0.2.200',
    { transport: 'TCP', host: '[2001:db8::9:255]', branch: 'z9hG4bK451jj', received: '192.0.2.200' },
    'SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK451jj;received=192.0.2.200',
    [],
  ],
  [
    'RFC 5118 §4.9: an IPv4-mapped IPv6 sent-by',
    'SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bKbzdhsz',
    { transport: 'UDP', host: '[::ffff:192.0.2.10]', port: 19823, branch: 'z9hG4bKbzdhsz' },
    'SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bKbzdhsz',
    [],
  ],
  [
    'an underscore in the sent-by host is tolerated',
    'SIP/2.0/UDP sip_gw.example.com;branch=z9hG4bK1',
    { transport: 'UDP', host: 'sip_gw.example.com', branch: 'z9hG4bK1' },
    'SIP/2.0/UDP sip_gw.example.com;branch=z9hG4bK1',
    ['via-host-underscore'],
  ],
];

describe('parseVia (RFC 3261 §20.42, RFC 3581, RFC 4475, RFC 5118)', () => {
  it.each(cases)('%s', (_name, text, expected, canonical, codes) => {
    const findings: Finding[] = [];
    const via = parseVia(text, findings);
    expect(shape(via, expected.params !== undefined)).toEqual(expected);
    expect(formatVia(via)).toBe(canonical);
    expect(findings.map((f) => f.code)).toEqual(codes);
    expect(findings.every((f) => f.severity === 'quirk')).toBe(true);
  });

  it.each(cases)('round trip: parse(format(x)) equals x for %s', (_name, text) => {
    const via = parseVia(text);
    const again = parseVia(formatVia(via));
    expect(again).toEqual(via);
    expect(shape(again, true)).toEqual(shape(via, true));
  });

  it('keeps the protocol name and version as received', () => {
    const via = parseVia('SIP/3.0/UDP host');
    expect([via.protocol, via.version]).toEqual(['SIP', '3.0']);
  });
});

const invalid: [string, string, string][] = [
  ['an empty value', '  ', 'empty Via value'],
  [
    'RFC 4475 §3.1.2.1: an empty via-param is rejected (badinv01)',
    'SIP/2.0/UDP 192.0.2.15;;',
    `empty parameter name after ';' in "SIP/2.0/UDP 192.0.2.15;;"`,
  ],
  ['sent-protocol needs a protocol name', '/2.0/UDP host', `malformed Via "/2.0/UDP host": expected the protocol name, found '/'`],
  ['sent-protocol needs two slashes', 'SIP/2.0 UDP host', `malformed Via "SIP/2.0 UDP host": expected '/' after the protocol version, found 'U'`],
  ['sent-protocol needs a version', 'SIP//UDP host', 'malformed Via "SIP//UDP host": missing protocol version'],
  ['sent-protocol needs a transport', 'SIP/2.0/', 'malformed Via "SIP/2.0/": missing transport'],
  ['a via-parm needs a sent-by', 'SIP/2.0/UDP', 'malformed Via "SIP/2.0/UDP": no sent-by after "SIP/2.0/UDP"'],
  ['a via-parm needs a sent-by before its parameters', 'SIP/2.0/UDP ;branch=z9hG4bK1', 'malformed Via "SIP/2.0/UDP ;branch=z9hG4bK1": no sent-by host'],
  ['LWS separates the transport from sent-by', 'SIP/2.0/UDP;branch=z9hG4bK1', `malformed Via "SIP/2.0/UDP;branch=z9hG4bK1": expected whitespace after the transport, found ';'`],
  ['an unterminated IPv6 reference', 'SIP/2.0/UDP [2001:db8::9:1;branch=z9hG4bK1', `malformed Via "SIP/2.0/UDP [2001:db8::9:1;branch=z9hG4bK1": unterminated IPv6 reference: no ']' after '['`],
  [
    'RFC 5118 §4.10: three colons are not an IPv6 address',
    'SIP/2.0/UDP [2001:db8:::192.0.2.1]',
    'malformed Via "SIP/2.0/UDP [2001:db8:::192.0.2.1]": invalid IPv6 address "[2001:db8:::192.0.2.1]"',
  ],
  ['an empty host label', 'SIP/2.0/UDP a..b', 'malformed Via "SIP/2.0/UDP a..b": empty label in host "a..b"'],
  ['a port must follow ":"', 'SIP/2.0/UDP host:', `malformed Via "SIP/2.0/UDP host:": empty port after ':'`],
  ['a port is digits', 'SIP/2.0/UDP host:x', `malformed Via "SIP/2.0/UDP host:x": expected a port after ':', found 'x'`],
  ['a port is at most 65535', 'SIP/2.0/UDP host:99999', 'malformed Via "SIP/2.0/UDP host:99999": port 99999 is out of range (0-65535)'],
  ['only parameters may follow sent-by', 'SIP/2.0/UDP host/x', `malformed Via "SIP/2.0/UDP host/x": unexpected '/' after the sent-by`],
  [
    'RFC 3261 §7.3.1: one via-parm at a time',
    'SIP/2.0/UDP a.example.com, SIP/2.0/UDP b.example.com',
    `malformed Via "SIP/2.0/UDP a.example.com, SIP/2.0/UDP b.example.com": unexpected ',': split a Via list into elements first (splitHeaderList)`,
  ],
  ['RFC 3581 §4: rport holds a port number', 'SIP/2.0/UDP host;rport=abc', 'malformed Via "SIP/2.0/UDP host;rport=abc": rport value "abc" is not a port number (RFC 3581 §4)'],
];

describe('parseVia: malformed values throw ERR_SIP_HEADER with a precise message', () => {
  it.each(invalid)('%s', (_name, text, message) => {
    const err = errorOf(() => parseVia(text));
    expect(err.code).toBe('ERR_SIP_HEADER');
    expect(err.status).toBe(400);
    expect(err.message).toBe(message);
  });
});

describe('branch, received and rport are views of params', () => {
  it('RFC 3581 §4: a server fills rport and received, and formatVia writes them in place', () => {
    const via = parseVia('SIP/2.0/UDP 000.000.000.000:5060;branch=z9hG4bK4e9b3e05;rport');
    via.rport = 5060;
    via.received = '192.0.2.1';
    expect(via.params.get('rport')).toBe('5060');
    expect(formatVia(via)).toBe('SIP/2.0/UDP 000.000.000.000:5060;branch=z9hG4bK4e9b3e05;rport=5060;received=192.0.2.1');
    via.rport = true;
    via.received = undefined;
    expect(formatVia(via)).toBe('SIP/2.0/UDP 000.000.000.000:5060;branch=z9hG4bK4e9b3e05;rport');
  });

  it('setting params directly is seen by the accessors', () => {
    const via = parseVia('SIP/2.0/UDP host;rport');
    via.params.set('rport', '40000').set('branch', 'z9hG4bKnew');
    expect([via.rport, via.branch]).toEqual([40000, 'z9hG4bKnew']);
    via.branch = undefined;
    expect(via.params.has('branch')).toBe(false);
  });

  it('a bare ";branch" flag is no branch', () => {
    expect(parseVia('SIP/2.0/UDP host;branch').branch).toBeUndefined();
  });

  it('createVia builds a SIP/2.0 Via with branch and rport first', () => {
    const via = createVia({ transport: 'udp', host: '192.0.2.1', port: 5060, branch: 'z9hG4bKabc', rport: true, params: Params.from({ alias: null }) });
    expect(formatVia(via)).toBe('SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport;alias');
    expect(via.branch).toBe('z9hG4bKabc');
    expect(parseVia(formatVia(via))).toEqual(via);
  });

  it('formatVia writes branch/received/rport fields of a plain object that params lacks', () => {
    const plain: Via = { protocol: 'SIP', version: '2.0', transport: 'TCP', host: '[::1]', port: 5061, params: new Params(), branch: 'z9hG4bK1', rport: true };
    expect(formatVia(plain)).toBe('SIP/2.0/TCP [::1]:5061;branch=z9hG4bK1;rport');
  });
});

describe('hasMagicCookie (RFC 3261 §8.1.1.7)', () => {
  it.each([
    ['a branch that begins with z9hG4bK', 'z9hG4bK776asdhds', true],
    ['a branch from the seed trace', 'z9hG4bK4e9b3e05', true],
    ['an RFC 2543 branch (RFC 4475 §3.1.1.1 wsinv)', '390skdjuw', false],
    ['the cookie is case-sensitive', 'Z9HG4BK776asdhds', false],
    ['a cookie not at the start', 'x-z9hG4bK776', false],
    ['no branch', undefined, false],
    ['a flag without value', null, false],
  ])('%s', (_name, branch, expected) => {
    expect(hasMagicCookie(branch)).toBe(expected);
  });
});
