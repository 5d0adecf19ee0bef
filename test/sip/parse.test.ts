/**
 * The tolerant parser (src/sip/parse.ts) against the seed traces, RFC 3261 §7 framing rules,
 * compact forms, folding, list headers, and a table of messages that MUST NOT parse, each with
 * the exact error, the status a server would answer and the line it names.
 */
import { describe, expect, it } from 'vitest';
import { SipParseError } from '../../src/errors.js';
import { COMPACT_FORMS, headerKey } from '../../src/sip/headers.js';
import { isWildcard } from '../../src/sip/name-addr.js';
import { parseMessage, type ParseOptions } from '../../src/sip/parse.js';
import { serializeMessage } from '../../src/sip/serialize.js';
import { loadSeedFixtures, type SeedId } from '../fixtures/load-fixture.js';

/** Lines joined with CRLF, then the empty line, then the body. */
function wire(lines: string[], body = ''): Buffer {
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body, 'utf8');
}

/** The first header line called `name` (any case) in the raw text, without the parser. */
function rawHeader(text: string, ...names: string[]): string | undefined {
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && names.includes(line.slice(0, colon).trim().toLowerCase())) return line.slice(colon + 1).trim();
  }
  return undefined;
}

function codes(findings: Array<{ code: string }>): string[] {
  return findings.map((f) => f.code);
}

/** The SipParseError thrown by parsing `bytes`. */
function parseError(bytes: Buffer, opts?: ParseOptions): SipParseError {
  try {
    parseMessage(bytes, opts);
  } catch (err) {
    if (err instanceof SipParseError) return err;
    throw err;
  }
  throw new Error('expected a SipParseError, but the message parsed');
}

const SEEDS: SeedId[] = ['000', '003'];

describe.each(SEEDS)('seed %s: every re-typed trace message parses (RFC 3261 §7)', (seed) => {
  const fixtures = loadSeedFixtures(seed).map((f) => ({ name: f.entry.file, ...f }));

  it.each(fixtures)('$name: start line, Call-ID, CSeq, top Via branch and tags', ({ entry, bytes }) => {
    const text = bytes.toString('utf8');
    const msg = parseMessage(bytes, { datagram: true });
    const startLine = text.slice(0, text.indexOf('\r\n'));
    expect(msg.startLine).toBe(startLine);
    if (entry.kind === 'request') {
      expect(msg.isRequest).toBe(true);
      expect(msg.method).toBe(entry.method);
    } else {
      expect(msg.isResponse).toBe(true);
      expect(msg.status).toBe(entry.status);
    }
    expect(msg.callId).toBe(entry.callId);
    expect(msg.transactionMethod).toBe(entry.method);

    const cseq = /^(\d+)\s+(\S+)$/.exec(rawHeader(text, 'cseq') ?? '');
    expect(cseq, 'CSeq line').not.toBeNull();
    expect(msg.cseq).toEqual({ seq: Number(cseq![1]), method: cseq![2] });

    const branch = /;branch=([^;,\s]+)/.exec(rawHeader(text, 'via', 'v') ?? '');
    expect(msg.topVia.branch).toBe(branch?.[1]);
    const fromTag = /;tag=([^;\s]+)/.exec(rawHeader(text, 'from', 'f') ?? '');
    expect(msg.fromTag).toBe(fromTag?.[1]);
    const toTag = /;tag=([^;\s]+)/.exec(rawHeader(text, 'to', 't') ?? '');
    expect(msg.toTag).toBe(toTag?.[1]);
  });

  it.each(fixtures)('$name: serializing with contentLength "keep" gives back the exact bytes', ({ bytes }) => {
    const msg = parseMessage(bytes);
    expect(serializeMessage(msg, { contentLength: 'keep' }).toString('utf8')).toBe(bytes.toString('utf8'));
    expect(serializeMessage(msg, { contentLength: 'keep' }).equals(bytes)).toBe(true);
    // Content-Length in every fixture is right, so auto mode writes the same bytes too.
    expect(serializeMessage(msg).equals(bytes)).toBe(true);
  });
});

describe('seed quirks the tolerant parser accepts and records', () => {
  const seed000 = new Map(loadSeedFixtures('000').map((f) => [f.entry.section, f.bytes]));

  it('3.1.4: a Request-URI with a space (REGISTER sip: xxx.xxx.xxx.xxx SIP/2.0) parses with a request-line-whitespace finding', () => {
    const msg = parseMessage(seed000.get('3.1.4')!);
    expect(msg.method).toBe('REGISTER');
    expect(msg.requestUri).toBe('sip: xxx.xxx.xxx.xxx');
    expect(msg.startLine).toBe('REGISTER sip: xxx.xxx.xxx.xxx SIP/2.0');
    const f = msg.findings.find((x) => x.code === 'request-line-whitespace');
    expect(f).toMatchObject({ severity: 'quirk', line: 1, rfc: 'RFC 3261 §7.1' });
  });

  it('3.1.2: "Via:SIP/2.0/UDP" with no space after the colon keeps its spelling when sent again', () => {
    const msg = parseMessage(seed000.get('3.1.2')!);
    const via = msg.headers.find((h) => h.key === 'via')!;
    expect(via).toMatchObject({ name: 'Via', hcolon: ':', value: expect.stringMatching(/^SIP\/2\.0\/UDP /) });
    expect(serializeMessage(msg, { contentLength: 'keep' }).toString()).toContain('\r\nVia:SIP/2.0/UDP 000.000.000.000:5060;');
  });

  it('3.2.11: X-Asterisk-HangupCause after Content-Length stays a header, in order', () => {
    const msg = parseMessage(seed000.get('3.2.11')!);
    expect(msg.headers.at(-1)).toMatchObject({ name: 'X-Asterisk-HangupCause', value: 'Normal Clearing' });
    expect(msg.body.length).toBe(0);
  });

  it('3.5.3: a 486 without To tag parses (the validator flags it)', () => {
    const msg = parseMessage(seed000.get('3.5.3')!);
    expect(msg.status).toBe(486);
    expect(msg.toTag).toBeUndefined();
  });
});

describe('compact forms (RFC 3261 §7.3.3, §20; RFC 3515, 3841, 3892, 4028, 4474, 6665, 8224)', () => {
  /** [compact letter, full name, value] for every compact form in the registry. */
  const COMPACT: Array<[string, string, string]> = [
    ['i', 'Call-ID', 'a84b4c76e66710@pc33.atlanta.example.com'],
    ['m', 'Contact', '<sip:alice@pc33.atlanta.example.com>'],
    ['e', 'Content-Encoding', 'identity'],
    ['l', 'Content-Length', '4'],
    ['c', 'Content-Type', 'text/plain'],
    ['f', 'From', 'Alice <sip:alice@atlanta.example.com>;tag=1928301774'],
    ['s', 'Subject', 'lunch'],
    ['k', 'Supported', '100rel'],
    ['t', 'To', 'Bob <sip:bob@biloxi.example.com>'],
    ['v', 'Via', 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds'],
    ['o', 'Event', 'presence'],
    ['u', 'Allow-Events', 'presence'],
    ['r', 'Refer-To', '<sip:carol@chicago.example.com>'],
    ['b', 'Referred-By', '<sip:alice@atlanta.example.com>'],
    ['x', 'Session-Expires', '1800;refresher=uac'],
    ['y', 'Identity', 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln'],
    ['a', 'Accept-Contact', '*;audio'],
    ['j', 'Reject-Contact', '*;video'],
    ['d', 'Request-Disposition', 'proxy'],
    ['n', 'Identity-Info', '<https://atlanta.example.com/cert>;alg=rsa-sha1'],
  ];
  const bytes = wire(
    ['INVITE sip:bob@biloxi.example.com SIP/2.0', 'CSeq: 314159 INVITE', 'Max-Forwards: 70', ...COMPACT.map(([c, , v]) => `${c}: ${v}`)],
    'ping',
  );
  const msg = parseMessage(bytes);

  it('the registry has exactly these twenty letters', () => {
    expect([...COMPACT_FORMS.keys()].sort()).toEqual(COMPACT.map(([c]) => c).sort());
  });

  it.each(COMPACT)('%s is %s: get() by either name gives the same value', (letter, full, value) => {
    expect(COMPACT_FORMS.get(letter)).toBe(full);
    expect(headerKey(letter)).toBe(full.toLowerCase());
    expect(headerKey(letter.toUpperCase())).toBe(full.toLowerCase());
    expect(msg.get(full)).toBe(value);
    expect(msg.get(letter)).toBe(value);
    expect(msg.get(full.toUpperCase())).toBe(value);
  });

  it('structured accessors read compact headers; the body is found by l:', () => {
    expect(msg.callId).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    expect(msg.topVia.branch).toBe('z9hG4bK776asdhds');
    expect(msg.fromTag).toBe('1928301774');
    expect(msg.toTag).toBeUndefined();
    expect(msg.contacts).toHaveLength(1);
    expect(msg.body.toString()).toBe('ping');
  });

  it('compact letters are sent back as received', () => {
    expect(serializeMessage(msg, { contentLength: 'keep' }).equals(bytes)).toBe(true);
    expect(serializeMessage(msg).equals(bytes)).toBe(true);
  });
});

describe('header folding (RFC 3261 §7.3.1: a line starting with whitespace continues the header)', () => {
  const msg = parseMessage(
    wire([
      'OPTIONS sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK1,',
      '\tSIP/2.0/TCP bigbox3.site3.example.com;branch=z9hG4bK2',
      'Subject: I know you\'re there,',
      '         pick up the phone',
      '   and talk to me!',
      'CSeq: 0009',
      '  OPTIONS',
      'Call-ID: folded@example.com',
      'Content-Length: 0',
    ]),
  );

  it('folded lines join with one space, whitespace around them dropped', () => {
    expect(msg.get('Subject')).toBe("I know you're there, pick up the phone and talk to me!");
    expect(msg.headers.map((h) => h.name)).toEqual(['Via', 'Subject', 'CSeq', 'Call-ID', 'Content-Length']);
  });

  it('a folded CSeq and a folded Via list parse as if written on one line (RFC 4475 §3.1.1.1)', () => {
    expect(msg.cseq).toEqual({ seq: 9, method: 'OPTIONS' });
    expect(msg.vias.map((v) => v.branch)).toEqual(['z9hG4bK1', 'z9hG4bK2']);
  });

  it('the serializer writes a folded header on one line', () => {
    expect(serializeMessage(msg).toString()).toContain("\r\nSubject: I know you're there, pick up the phone and talk to me!\r\n");
  });
});

describe('list headers (RFC 3261 §7.3.1: comma-separated values equal separate header lines)', () => {
  const msg = parseMessage(
    wire([
      'INVITE sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa, SIP/2.0/UDP b.example.com;branch=z9hG4bKb',
      'Via: SIP/2.0/TCP c.example.com:5061;branch=z9hG4bKc',
      'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
      'Route: <sip:p3.example.com;lr>',
      'Contact: "Doe, John" <sip:john@example.com>;q=0.7, <sip:john@192.0.2.4>;expires=60',
      'Date: Fri, 02 Jul 2010 03:05:26 GMT',
      'CSeq: 1 INVITE',
    ]),
  );

  it('getAll splits Via across lines and commas, top first; topVia is the first element', () => {
    expect(msg.getAll('Via')).toEqual([
      'SIP/2.0/UDP a.example.com;branch=z9hG4bKa',
      'SIP/2.0/UDP b.example.com;branch=z9hG4bKb',
      'SIP/2.0/TCP c.example.com:5061;branch=z9hG4bKc',
    ]);
    expect(msg.vias.map((v) => v.host)).toEqual(['a.example.com', 'b.example.com', 'c.example.com']);
    expect(msg.topVia.branch).toBe('z9hG4bKa');
  });

  it('getAll splits Route; a comma inside <> does not split', () => {
    expect(msg.getAll('route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>', '<sip:p3.example.com;lr>']);
  });

  it('a comma inside a quoted display name does not split a Contact', () => {
    expect(msg.contacts.map((c) => c.displayName)).toEqual(['Doe, John', undefined]);
    expect(msg.contacts.map((c) => c.params.get('expires') ?? c.params.get('q'))).toEqual(['0.7', '60']);
  });

  it('Date is not a list header: its comma does not split it', () => {
    expect(msg.getAll('Date')).toEqual(['Fri, 02 Jul 2010 03:05:26 GMT']);
  });

  it('Contact: * is the wildcard (RFC 3261 §10.2.2)', () => {
    const reg = parseMessage(
      wire(['REGISTER sip:registrar.example.com SIP/2.0', 'Contact: *', 'Expires: 0', 'CSeq: 2 REGISTER']),
    );
    expect(reg.getAll('contact')).toEqual(['*']);
    expect(reg.contacts).toHaveLength(1);
    expect(isWildcard(reg.contacts[0])).toBe(true);
  });
});

describe('line ends and framing (RFC 3261 §7, §7.5, §18.3)', () => {
  const lines = [
    'BYE sip:bob@192.0.2.4 SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKbye',
    'Call-ID: bare@example.com',
    'CSeq: 2 BYE',
    'Content-Length: 0',
  ];

  it('a message with bare LF line ends parses, with a bare-lf finding', () => {
    const msg = parseMessage(Buffer.from(lines.join('\n') + '\n\n'));
    expect(msg.method).toBe('BYE');
    expect(msg.callId).toBe('bare@example.com');
    expect(msg.cseq.seq).toBe(2);
    expect(codes(msg.findings)).toEqual(['bare-lf']);
    expect(msg.findings[0]).toMatchObject({ severity: 'quirk', rfc: 'RFC 3261 §7' });
    // Sent again it has CRLF line ends.
    expect(serializeMessage(msg, { contentLength: 'keep' }).equals(wire(lines))).toBe(true);
  });

  it('bare LF headers end at the first empty line even when the body holds CRLF CRLF', () => {
    const body = 'a\r\n\r\nb';
    const text = lines.slice(0, 4).join('\n') + `\nContent-Type: text/plain\nContent-Length: ${body.length}\n\n` + body;
    const msg = parseMessage(Buffer.from(text));
    expect(msg.body.toString()).toBe(body);
    expect(msg.headers.map((h) => h.name)).toEqual(['Via', 'Call-ID', 'CSeq', 'Content-Type', 'Content-Length']);
    expect(codes(msg.findings)).toEqual(['bare-lf']);
  });

  it('a start line alone ended by LF LF is a message without headers, with a bare-lf finding', () => {
    const msg = parseMessage(Buffer.from('OPTIONS sip:a@example.com SIP/2.0\n\n'));
    expect([msg.method, msg.headers.length, codes(msg.findings)]).toEqual(['OPTIONS', 0, ['bare-lf']]);
  });

  it('LF header lines followed by a CRLF empty line parse, with a bare-lf finding', () => {
    const msg = parseMessage(Buffer.from(lines.join('\n') + '\n\r\n'));
    expect(msg.headers).toHaveLength(4);
    expect(codes(msg.findings)).toEqual(['bare-lf']);
  });

  it('CRLFs before the start line are ignored (§7.5)', () => {
    const msg = parseMessage(Buffer.concat([Buffer.from('\r\n\r\n'), wire(lines)]));
    expect(msg.method).toBe('BYE');
    expect(msg.findings).toEqual([]);
  });

  it('a datagram with no Content-Length has the rest of the datagram as its body', () => {
    const msg = parseMessage(wire(lines.slice(0, 4), 'rest'));
    expect(msg.body.toString()).toBe('rest');
  });

  it('a datagram with more bytes than Content-Length keeps Content-Length bytes and records bytes-after-body', () => {
    const msg = parseMessage(wire([...lines.slice(0, 4), 'Content-Type: text/plain', 'Content-Length: 3'], 'abcdef'));
    expect(msg.body.toString()).toBe('abc');
    expect(msg.findings).toEqual([
      {
        code: 'bytes-after-body',
        severity: 'quirk',
        message: '3 bytes after the 3-byte body were ignored',
        line: 6,
        rfc: 'RFC 3261 §18.3',
      },
    ]);
  });

  it('a datagram whose headers end at the end of the datagram without the empty line parses, with missing-empty-line', () => {
    const msg = parseMessage(Buffer.from(lines.join('\r\n') + '\r\n'));
    expect(msg.headers).toHaveLength(4);
    expect(codes(msg.findings)).toEqual(['missing-empty-line']);
  });

  it('extra spaces in the start line are tolerated with a finding', () => {
    const msg = parseMessage(wire(['BYE  sip:bob@192.0.2.4  SIP/2.0 ', ...lines.slice(1)]));
    expect(msg.requestUri).toBe('sip:bob@192.0.2.4');
    expect(codes(msg.findings)).toEqual(['request-line-whitespace']);
  });

  it('header names are case-insensitive, whitespace before the colon is allowed (HCOLON) and kept', () => {
    const bytes = wire(['BYE sip:bob@192.0.2.4 SIP/2.0', 'call-id :x@y', 'CSEQ:\t7 BYE', 'Subject:']);
    const msg = parseMessage(bytes);
    expect(msg.callId).toBe('x@y');
    expect(msg.cseq.seq).toBe(7);
    expect(msg.get('subject')).toBe('');
    expect(msg.headers.map((h) => h.hcolon)).toEqual([' :', ':\t', ':']);
    expect(serializeMessage(msg, { contentLength: 'keep' }).equals(bytes)).toBe(true);
  });

  it('a status line may have an empty reason phrase; the version is case-insensitive', () => {
    const msg = parseMessage(wire(['sip/2.0 200 ', 'CSeq: 1 OPTIONS']));
    expect(msg.status).toBe(200);
    expect(msg.reason).toBe('');
    expect(msg.version).toBe('SIP/2.0');
  });
});

describe('UTF-8 text survives (RFC 3261 §25.1 UTF8-NONASCII in display names and quoted strings)', () => {
  const bytes = wire(
    [
      'MESSAGE sip:hanako@example.jp SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKutf8',
      'From: "山田 太郎" <sip:taro@example.jp>;tag=a1',
      'To: "佐藤花子" <sip:hanako@example.jp>',
      'Subject: 会議の件',
      'Call-ID: utf8@example.jp',
      'CSeq: 1 MESSAGE',
      'Content-Type: text/plain;charset=UTF-8',
      'Content-Length: 15',
    ],
    'こんにちは',
  );

  it('display names, header text and body decode as UTF-8; Content-Length counts bytes', () => {
    const msg = parseMessage(bytes);
    expect(msg.from.displayName).toBe('山田 太郎');
    expect(msg.to.displayName).toBe('佐藤花子');
    expect(msg.get('subject')).toBe('会議の件');
    expect(msg.body.toString('utf8')).toBe('こんにちは');
    expect(msg.findings).toEqual([]);
  });

  it('the message comes back byte for byte', () => {
    expect(serializeMessage(parseMessage(bytes), { contentLength: 'keep' }).equals(bytes)).toBe(true);
  });

  it('only SP and HTAB are trimmed around a value (LWS), not an ideographic space or NBSP at its end', () => {
    const msg = parseMessage(wire(['OPTIONS sip:a@example.jp SIP/2.0', 'Subject: 会議\u3000', 'X-Note:\u00a0x\u00a0\t']));
    expect(msg.get('subject')).toBe('会議\u3000');
    expect(msg.get('x-note')).toBe('\u00a0x\u00a0');
  });
});

/** Messages that MUST NOT parse: the error a server would answer with, exactly. */
interface Malformed {
  name: string;
  bytes: Buffer;
  opts?: ParseOptions;
  message: string;
  status: number;
  line: number;
  code?: string;
}

const OK_REQUEST = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
];
const longValue = 'x'.repeat(8200);

const MALFORMED: Malformed[] = [
  { name: 'not SIP at all ("hello world")', bytes: Buffer.from('hello world'), message: 'not a SIP start line: "hello world"', status: 400, line: 1 },
  { name: 'not SIP at all, with an empty line', bytes: Buffer.from('hello world\r\n\r\n'), message: 'not a SIP start line: "hello world"', status: 400, line: 1 },
  { name: 'an empty datagram', bytes: Buffer.alloc(0), message: 'empty message', status: 400, line: 1 },
  { name: 'only CRLFs (§7.5 keep-alive noise, no start line)', bytes: Buffer.from('\r\n\r\n\r\n'), message: 'empty message', status: 400, line: 1 },
  {
    name: 'truncated: no empty line and no line end after the last header',
    bytes: Buffer.from(OK_REQUEST.slice(0, 3).join('\r\n').slice(0, -5)),
    message: 'message truncated: line 3 does not end with CRLF and no empty line ends the headers',
    status: 400,
    line: 3,
  },
  {
    name: 'SIP-Version other than SIP/2.0 (SIP/3.0): 505 Version Not Supported (§21.5.7)',
    bytes: wire(['INVITE sip:bob@biloxi.example.com SIP/3.0', ...OK_REQUEST.slice(1)]),
    message: 'unsupported SIP version "SIP/3.0": only SIP/2.0 is supported',
    status: 505,
    line: 1,
  },
  {
    name: 'a status line of SIP/3.0',
    bytes: wire(['SIP/3.0 200 OK', ...OK_REQUEST.slice(1)]),
    message: 'unsupported SIP version "SIP/3.0": only SIP/2.0 is supported',
    status: 505,
    line: 1,
  },
  { name: 'an HTTP response (HTTP/1.1 200 OK)', bytes: wire(['HTTP/1.1 200 OK', 'Content-Length: 0']), message: 'not a SIP start line: "HTTP/1.1 200 OK"', status: 400, line: 1 },
  { name: 'an HTTP request (GET / HTTP/1.1)', bytes: wire(['GET / HTTP/1.1', 'Host: example.com']), message: 'not a SIP version: "HTTP/1.1"', status: 400, line: 1 },
  { name: 'a request line without SIP-Version', bytes: wire(['INVITE sip:bob@biloxi.example.com', ...OK_REQUEST.slice(1)]), message: 'not a SIP start line: "INVITE sip:bob@biloxi.example.com"', status: 400, line: 1 },
  { name: 'a request line without Request-URI', bytes: wire(['INVITE   SIP/2.0', ...OK_REQUEST.slice(1)]), message: 'request line has no Request-URI: "INVITE   SIP/2.0"', status: 400, line: 1 },
  { name: 'a Method that is not a token', bytes: wire(['INV@TE sip:bob@biloxi.example.com SIP/2.0', ...OK_REQUEST.slice(1)]), message: 'bad method "INV@TE" in request line', status: 400, line: 1 },
  { name: 'Status-Code of two digits (20)', bytes: wire(['SIP/2.0 20 OK', ...OK_REQUEST.slice(1)]), message: 'bad status code "20 OK" in status line: expected 100-699', status: 400, line: 1 },
  { name: 'Status-Code 999', bytes: wire(['SIP/2.0 999 Whatever', ...OK_REQUEST.slice(1)]), message: 'bad status code "999 Whatever" in status line: expected 100-699', status: 400, line: 1 },
  { name: 'Status-Code of four digits', bytes: wire(['SIP/2.0 2000 OK', ...OK_REQUEST.slice(1)]), message: 'bad status code "2000 OK" in status line: expected 100-699', status: 400, line: 1 },
  {
    name: 'a header line without a colon',
    bytes: wire([...OK_REQUEST.slice(0, 2), 'Max-Forwards 70', ...OK_REQUEST.slice(2)]),
    message: 'header line 3 has no colon: "Max-Forwards 70"',
    status: 400,
    line: 3,
  },
  {
    name: 'a header name with a space',
    bytes: wire([...OK_REQUEST, 'Max Forwards: 70']),
    message: 'header line 5 has an invalid name "Max Forwards"',
    status: 400,
    line: 5,
  },
  {
    name: "a header name with '@'",
    bytes: wire([...OK_REQUEST, 'X-Fo@o: 1']),
    message: 'header line 5 has an invalid name "X-Fo@o"',
    status: 400,
    line: 5,
  },
  { name: 'an empty header name', bytes: wire([...OK_REQUEST, ': 1']), message: 'header line 5 has an invalid name ""', status: 400, line: 5 },
  {
    name: 'a continuation line before any header',
    bytes: wire([OK_REQUEST[0], '  folded', ...OK_REQUEST.slice(1)]),
    message: 'continuation line before any header',
    status: 400,
    line: 2,
  },
  { name: 'Content-Length "abc"', bytes: wire([...OK_REQUEST, 'Content-Length: abc']), message: 'Content-Length is not a number: "abc"', status: 400, line: 5 },
  { name: 'Content-Length "-1"', bytes: wire([...OK_REQUEST, 'Content-Length: -1']), message: 'Content-Length is not a number: "-1"', status: 400, line: 5 },
  { name: 'Content-Length empty', bytes: wire([...OK_REQUEST, 'l:']), message: 'Content-Length is not a number: ""', status: 400, line: 5 },
  {
    name: 'Content-Length larger than the body of a datagram (§18.3: MUST be discarded)',
    bytes: wire([...OK_REQUEST, 'Content-Type: text/plain', 'Content-Length: 10'], 'abcd'),
    opts: { datagram: true },
    message: 'Content-Length 10 is larger than the 4 body bytes received',
    status: 400,
    line: 6,
  },
  {
    name: 'Content-Length larger than a framed stream message',
    bytes: wire([...OK_REQUEST, 'Content-Length: 1']),
    opts: { datagram: false },
    message: 'Content-Length 1 is larger than the 0 body bytes received',
    status: 400,
    line: 5,
  },
  {
    name: 'a NUL byte in the headers',
    bytes: wire([...OK_REQUEST.slice(0, 3), 'Subject: a\0b', OK_REQUEST[3]]),
    message: 'NUL byte in the header block',
    status: 400,
    line: 4,
  },
  {
    name: 'a header line over 8 KiB: 513 Message Too Large',
    bytes: wire([...OK_REQUEST, `Subject: ${longValue}`]),
    message: 'header line 5 is longer than 8192 bytes',
    status: 513,
    line: 5,
    code: 'ERR_SIP_TOO_LARGE',
  },
  {
    name: 'a header line over maxLineBytes counted in UTF-8 bytes',
    bytes: wire([...OK_REQUEST, `Subject: ${'会'.repeat(40)}`]),
    opts: { maxLineBytes: 100 },
    message: 'header line 5 is longer than 100 bytes',
    status: 513,
    line: 5,
    code: 'ERR_SIP_TOO_LARGE',
  },
];

describe('messages that MUST NOT parse: SipParseError with the status a server would answer', () => {
  it.each(MALFORMED)('$name', ({ bytes, opts, message, status, line, code }) => {
    const err = parseError(bytes, opts);
    expect({ message: err.message, status: err.status, line: err.line, code: err.code }).toEqual({
      message,
      status,
      line,
      code: code ?? 'ERR_SIP_PARSE',
    });
  });

  it('a header line of exactly maxLineBytes bytes is accepted', () => {
    const value = 'y'.repeat(8192 - 'Subject: '.length);
    expect(parseMessage(wire([...OK_REQUEST, `Subject: ${value}`])).get('subject')).toBe(value);
  });
});
