import { describe, expect, it } from 'vitest';
import { SipParseError } from '../../src/errors.js';
import type { Finding } from '../../src/sip/finding.js';
import {
  formatNameAddr,
  isWildcard,
  parseNameAddr,
  splitHeaderList,
  tag,
  wildcardContact,
  type NameAddr,
} from '../../src/sip/name-addr.js';
import { formatUri } from '../../src/sip/uri.js';

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
  displayName?: string;
  uri: string;
  uriParams?: [string, string | null][];
  params?: [string, string | null][];
}

function shape(na: NameAddr): Expected {
  const out: Expected = { uri: formatUri(na.uri) };
  if (na.displayName !== undefined) out.displayName = na.displayName;
  if (na.uri.params.size > 0) out.uriParams = [...na.uri.params];
  if (na.params.size > 0) out.params = [...na.params];
  return out;
}

// [name in RFC words, header value, expected, finding codes]
const cases: [string, string, Expected, string[]][] = [
  [
    'seed trace: a quoted display name and a tag (From of an Asterisk INVITE)',
    '"aiueo PBX" <sip:0312123434@xxx.xxx.xxx.xxx>;tag=as5dd4eaee',
    { displayName: 'aiueo PBX', uri: 'sip:0312123434@xxx.xxx.xxx.xxx', params: [['tag', 'as5dd4eaee']] },
    [],
  ],
  [
    'seed trace: spaces inside the quotes belong to the display name',
    '" aiueo PBX " <sip:0312123434@xxx.xxx.xxx.xxx>;tag=as48ac6d56',
    { displayName: ' aiueo PBX ', uri: 'sip:0312123434@xxx.xxx.xxx.xxx', params: [['tag', 'as48ac6d56']] },
    [],
  ],
  [
    'seed trace: LAQUOT = SWS "<", so no space is needed after the quoted display name',
    '"0345900846"<sip:0345900846@xxx.xxx.xxx.xxx>;tag=as0f1a5f0c ',
    { displayName: '0345900846', uri: 'sip:0345900846@xxx.xxx.xxx.xxx', params: [['tag', 'as0f1a5f0c']] },
    [],
  ],
  [
    'seed trace: a space after "sip:" inside the brackets (REGISTER From)',
    '<sip: 0000123456@xxx.xxx.xxx.xxx>;tag=as04bc6a95',
    { uri: 'sip:0000123456@xxx.xxx.xxx.xxx', params: [['tag', 'as04bc6a95']] },
    ['uri-space-after-scheme'],
  ],
  [
    'seed trace: a space after "sip:" and before ">" (REGISTER From with auth)',
    '<sip: 0000123456@xxx.xxx.xxx.xxx >;tag=as2031f6e2',
    { uri: 'sip:0000123456@xxx.xxx.xxx.xxx', params: [['tag', 'as2031f6e2']] },
    ['name-addr-space-in-brackets', 'uri-space-after-scheme'],
  ],
  [
    'seed trace: spaces after "sip:" and before "@" (INVITE To)',
    '<sip: 0312345678 @000.000.000.000>',
    { uri: 'sip:0312345678@000.000.000.000' },
    ['uri-space-after-scheme', 'uri-space-before-at'],
  ],
  [
    'seed trace: Contact with an expires header parameter (200 OK to REGISTER)',
    '<sip: 0000123456@000.000.000.000>;expires=120 ',
    { uri: 'sip:0000123456@000.000.000.000', params: [['expires', '120']] },
    ['uri-space-after-scheme'],
  ],
  [
    'seed trace (PDF-mangled): curly quotes are taken as an unquoted display name',
    '“aiueo PBX ” <sip:0312123434@xxx.xxx.xxx.xxx>;tag=as5dd4ea',
    { displayName: '“aiueo PBX ”', uri: 'sip:0312123434@xxx.xxx.xxx.xxx', params: [['tag', 'as5dd4ea']] },
    ['display-name-unquoted-non-ascii'],
  ],
  [
    'RFC 3261 §25.1: quoted-pairs in a display name are unescaped',
    '"a \\"b\\"" <sip:x@h>',
    { displayName: 'a "b"', uri: 'sip:x@h' },
    [],
  ],
  [
    'RFC 3261 §20.20: a token display name',
    'Bob <sip:bob@biloxi.com>;tag=a6c85cf',
    { displayName: 'Bob', uri: 'sip:bob@biloxi.com', params: [['tag', 'a6c85cf']] },
    [],
  ],
  [
    'RFC 3261 §25.1: LWS between display-name tokens reads as one space',
    'Mr   Watson\t<sip:watson@worcester.bell-telephone.com>',
    { displayName: 'Mr Watson', uri: 'sip:watson@worcester.bell-telephone.com' },
    [],
  ],
  [
    'RFC 3261 §20.10: SWS after ";" in Contact parameters',
    '"Mr. Watson" <sip:watson@worcester.bell-telephone.com>;q=0.7; expires=3600',
    {
      displayName: 'Mr. Watson',
      uri: 'sip:watson@worcester.bell-telephone.com',
      params: [['q', '0.7'], ['expires', '3600']],
    },
    [],
  ],
  [
    'RFC 4475 §3.1.1.1: an addr-spec with LWS before its parameters (wsinv To)',
    'sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n',
    { uri: 'sip:vivekg@chair-dnrc.example.com', params: [['tag', '1918181833n']] },
    [],
  ],
  [
    'RFC 4475 §3.1.1.1: escaped backslash and quote, folded parameters (wsinv From)',
    '"J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8',
    { displayName: 'J Rosenberg \\"', uri: 'sip:jdrosen@example.com', params: [['tag', '98asjd8']] },
    [],
  ],
  [
    'RFC 4475 §3.1.1.1: a folded Contact with a flag parameter (wsinv m:)',
    '"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33',
    {
      displayName: 'Quoted string ""',
      uri: 'sip:jdrosen@example.com',
      params: [['newparam', 'newvalue'], ['secondparam', null], ['q', '0.33']],
    },
    [],
  ],
  [
    'RFC 4475 §3.1.1.1: Route URI parameters stay inside the brackets (wsinv Route)',
    '<sip:services.example.com;lr;unknownwith=value;unknown-no-value>',
    {
      uri: 'sip:services.example.com;lr;unknownwith=value;unknown-no-value',
      uriParams: [['lr', null], ['unknownwith', 'value'], ['unknown-no-value', null]],
    },
    [],
  ],
  [
    'RFC 4475 §3.1.1.2: quoted-pairs of BEL, NUL and DEL in a display name (intmeth To)',
    "\"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>",
    { displayName: 'BEL:\x07 NUL:\x00 DEL:\x7F', uri: "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com" },
    [],
  ],
  [
    'RFC 4475 §3.1.1.2: token display names and parameters of unusual characters (intmeth From)',
    "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.",
    {
      displayName: "token1~` token2'+_ token3*%!.-",
      uri: 'sip:mundane@example.com',
      params: [["fromParam''~+*_!.-%", '"работающий"'], ['tag', "_token~1'+`*%!-."]],
    },
    [],
  ],
  [
    'RFC 4475 §3.1.1.6: no LWS between display name and "<" (lwsdisp)',
    'caller<sip:caller@example.com>;tag=323',
    { displayName: 'caller', uri: 'sip:caller@example.com', params: [['tag', '323']] },
    [],
  ],
  [
    'RFC 4475 §3.1.2.14: spaces within the brackets are tolerated and reported (badaspec)',
    '"Watson, Thomas" < sip:t.watson@example.org >',
    { displayName: 'Watson, Thomas', uri: 'sip:t.watson@example.org' },
    ['name-addr-space-in-brackets'],
  ],
  [
    'RFC 4475 §3.3.12: without brackets ";unknownparam" is a header parameter (cparam01)',
    'sip:+19725552222@gw1.example.net;unknownparam',
    { uri: 'sip:+19725552222@gw1.example.net', params: [['unknownparam', null]] },
    [],
  ],
  [
    'RFC 4475 §3.3.13: inside brackets ";unknownparam" is a URI parameter (cparam02)',
    '<sip:+19725552222@gw1.example.net;unknownparam>',
    { uri: 'sip:+19725552222@gw1.example.net;unknownparam', uriParams: [['unknownparam', null]] },
    [],
  ],
  [
    'RFC 4475 §3.3.14: an escaped Route header inside brackets (regescrt)',
    '<sip:user@example.com?Route=%3Csip:sip.example.com%3E>',
    { uri: 'sip:user@example.com?Route=%3Csip:sip.example.com%3E' },
    [],
  ],
  [
    'RFC 4475 §3.4.1: RFC 2543 addr-spec To with user=phone as a header parameter (inv2543)',
    'sip:+16505552222@ss1.example.net;user=phone',
    { uri: 'sip:+16505552222@ss1.example.net', params: [['user', 'phone']] },
    [],
  ],
  [
    'RFC 4475 §3.4.1: user=phone inside brackets is a URI parameter (inv2543 From)',
    '<sip:+13035551111@ift.client.example.net;user=phone>',
    { uri: 'sip:+13035551111@ift.client.example.net;user=phone', uriParams: [['user', 'phone']] },
    [],
  ],
  ['RFC 4475 §3.3.4: an isbn: addr-spec (unksm2 To)', 'isbn:2983792873', { uri: 'isbn:2983792873' }, []],
  [
    'RFC 4475 §3.3.4: an http: URI with a tag (unksm2 From)',
    '<http://www.example.com>;tag=3234233',
    { uri: 'http://www.example.com', params: [['tag', '3234233']] },
    [],
  ],
  ['RFC 4475 §3.3.4: a name: URI (unksm2 Contact)', '<name:John_Doe>', { uri: 'name:John_Doe' }, []],
  [
    'unknown URI scheme with a multi-token display name (Contact: Joe Bob Briggs <urn:…>)',
    'Joe Bob Briggs <urn:ipaddr:122.1.2.3>',
    { displayName: 'Joe Bob Briggs', uri: 'urn:ipaddr:122.1.2.3' },
    [],
  ],
  [
    'RFC 5118 §4.1: a Contact at an IPv6 reference',
    '"Caller" <sip:caller@[2001:db8::1]>',
    { displayName: 'Caller', uri: 'sip:caller@[2001:db8::1]' },
    [],
  ],
  [
    'RFC 3966: a tel: URI with phone-context in brackets',
    '<tel:7042;phone-context=example.com>;tag=1',
    { uri: 'tel:7042;phone-context=example.com', uriParams: [['phone-context', 'example.com']], params: [['tag', '1']] },
    [],
  ],
  [
    'RFC 5626 §4.1: a quoted +sip.instance value holding "<" and ">"',
    '<sip:alice@192.0.2.4;transport=tcp>;reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"',
    {
      uri: 'sip:alice@192.0.2.4;transport=tcp',
      uriParams: [['transport', 'tcp']],
      params: [['reg-id', '1'], ['+sip.instance', '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"']],
    },
    [],
  ],
  [
    'RFC 5626: a quoted value holding "<" after an addr-spec does not make it a name-addr',
    'sip:alice@192.0.2.4;+sip.instance="<urn:uuid:1>"',
    { uri: 'sip:alice@192.0.2.4', params: [['+sip.instance', '"<urn:uuid:1>"']] },
    [],
  ],
  [
    'RFC 3261 §25.1: an empty quoted display name',
    '"" <sip:anonymous@anonymous.invalid>',
    { displayName: '', uri: 'sip:anonymous@anonymous.invalid' },
    [],
  ],
];

describe('parseNameAddr (RFC 3261 §20.10, §25.1; RFC 4475)', () => {
  it.each(cases)('%s', (_name, text, expected, codes) => {
    const findings: Finding[] = [];
    const na = parseNameAddr(text, findings);
    expect(shape(na)).toEqual(expected);
    expect(findings.map((f) => f.code)).toEqual(codes);
    expect(findings.every((f) => f.severity === 'quirk')).toBe(true);
    expect(isWildcard(na)).toBe(false);
  });

  it.each(cases)('round trip: parse(format(x)) equals x for %s', (_name, text) => {
    const na = parseNameAddr(text);
    const again = parseNameAddr(formatNameAddr(na));
    expect(again).toEqual(na);
    expect(formatNameAddr(again)).toBe(formatNameAddr(na));
  });

  it.each([
    ['RFC 3261 §10.2.2: the Contact wildcard', '*'],
    ['RFC 3261 §10.2.2: the Contact wildcard with surrounding LWS', '  * '],
  ])('%s', (_name, text) => {
    const na = parseNameAddr(text);
    expect(isWildcard(na)).toBe(true);
    expect(formatNameAddr(na)).toBe('*');
    expect(formatUri(na.uri)).toBe('*');
    expect(na).toEqual(wildcardContact());
  });
});

describe('formatNameAddr', () => {
  it.each([
    ['a token display name is written quoted', 'Bob <sip:bob@biloxi.com>;tag=a73kszlfl', '"Bob" <sip:bob@biloxi.com>;tag=a73kszlfl'],
    ['an addr-spec is written in brackets', 'sip:bob@biloxi.com;tag=1', '<sip:bob@biloxi.com>;tag=1'],
    ['quotes and backslashes are escaped', '"a \\"b\\" \\\\" <sip:x@h>', '"a \\"b\\" \\\\" <sip:x@h>'],
    ['the tolerated seed form is written canonically', '<sip: 0000123456@xxx.xxx.xxx.xxx >;tag=as2031f6e2', '<sip:0000123456@xxx.xxx.xxx.xxx>;tag=as2031f6e2'],
    [
      'control characters are written as quoted-pairs (RFC 4475 §3.1.1.2)',
      '"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F" <sip:x@example.com>',
      '"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F" <sip:x@example.com>',
    ],
  ])('%s', (_name, text, formatted) => {
    expect(formatNameAddr(parseNameAddr(text))).toBe(formatted);
  });

  it('a display name with CR or LF cannot be written', () => {
    const na = parseNameAddr('<sip:x@h>');
    na.displayName = 'evil\r\nVia: x';
    const err = errorOf(() => formatNameAddr(na));
    expect(err.code).toBe('ERR_SIP_HEADER');
    expect(err.message).toBe('cannot quote "evil\\r\\nVia: x": a quoted-string cannot contain CR or LF (RFC 3261 §25.1)');
  });

  it('a line fold left inside a quoted display name reads as one space', () => {
    expect(parseNameAddr('"Alice\r\n  Smith" <sip:a@h>').displayName).toBe('Alice Smith');
  });
});

describe('tag()', () => {
  it.each([
    ['RFC 3261 §19.3: the From tag', '"aiueo PBX" <sip:0312123434@xxx.xxx.xxx.xxx>;tag=as5dd4eaee', 'as5dd4eaee'],
    ['a To without a tag (initial request)', '<sip:0312345678@000.000.000.000>', undefined],
    ['parameter names are case-insensitive', '<sip:a@h>;TAG=x1', 'x1'],
    ['a bare ";tag" flag has no tag value', '<sip:a@h>;tag', undefined],
  ])('%s', (_name, text, expected) => {
    expect(tag(parseNameAddr(text))).toBe(expected);
  });
});

const invalid: [string, string, string, string][] = [
  ['an empty value', '  ', 'ERR_SIP_HEADER', 'empty address: expected a name-addr or an addr-spec (RFC 3261 §25.1)'],
  [
    'RFC 4475 §3.1.2.6: an unterminated quoted display name (quotbal)',
    '"Mr. J. User <sip:j.user@example.com>',
    'ERR_SIP_HEADER',
    'unterminated quoted display name in "\\"Mr. J. User <sip:j.user@example.com>"',
  ],
  [
    'RFC 4475 §3.1.2.13: a URI with headers must be enclosed in brackets (regbadct)',
    'sip:user@example.com?Route=%3Csip:sip.example.com%3E',
    'ERR_SIP_HEADER',
    `URI "sip:user@example.com?Route=%3Csip:sip.example.com%3E" contains '?' and must be enclosed in '<' and '>' (RFC 3261 §20.10)`,
  ],
  [
    'RFC 3261 §20.10: a URI containing a comma must be enclosed in brackets',
    'sip:a,b@example.com;tag=1',
    'ERR_SIP_HEADER',
    `URI "sip:a,b@example.com" contains ',' and must be enclosed in '<' and '>' (RFC 3261 §20.10)`,
  ],
  [
    'RFC 4475 §3.1.2.15: non-token characters in an unquoted display name (baddn)',
    'Bell, Alexander <sip:a.g.bell@example.com>;tag=43',
    'ERR_SIP_HEADER',
    `display name "Bell, Alexander" contains ',', which is not a token character, and must be quoted (RFC 3261 §25.1; RFC 4475 §3.1.2.15)`,
  ],
  ['a missing ">"', '<sip:alice@atlanta.com', 'ERR_SIP_HEADER', `missing '>' after '<' in "<sip:alice@atlanta.com"`],
  ['nothing between the brackets', 'Bob <  >', 'ERR_SIP_HEADER', `empty URI between '<' and '>' in "Bob <  >"`],
  [
    'a quoted display name must be followed by "<"',
    '"Bob" sip:bob@biloxi.com',
    'ERR_SIP_HEADER',
    `expected '<' after the quoted display name but found 's' in "\\"Bob\\" sip:bob@biloxi.com"`,
  ],
  [
    'a display name is not half quoted',
    'Bob "Smith" <sip:bob@biloxi.com>',
    'ERR_SIP_HEADER',
    `unexpected '"' in "Bob \\"Smith\\" <sip:bob@biloxi.com>": a display name is either one quoted string or a sequence of tokens`,
  ],
  [
    'RFC 3261 §20.10: the Contact wildcard takes no parameters',
    '*;expires=0',
    'ERR_SIP_HEADER',
    `unexpected ';' after '*' in "*;expires=0": the Contact wildcard stands alone (RFC 3261 §20.10)`,
  ],
  [
    'only parameters may follow ">"',
    '<sip:a@atlanta.com> junk',
    'ERR_SIP_HEADER',
    `expected ';' before a parameter but found 'j' in "<sip:a@atlanta.com> junk"`,
  ],
  [
    'a malformed URI inside the brackets is a URI error',
    '<sip:alice@>;tag=1',
    'ERR_SIP_URI',
    'empty host in URI "sip:alice@"',
  ],
  [
    'a display name alone is no address',
    'Bob',
    'ERR_SIP_URI',
    `URI "Bob" has no scheme: no ':' found`,
  ],
];

describe('parseNameAddr: malformed values throw with a precise message', () => {
  it.each(invalid)('%s', (_name, text, code, message) => {
    const err = errorOf(() => parseNameAddr(text));
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
  });
});

describe('splitHeaderList (RFC 3261 §7.3.1)', () => {
  it.each([
    [
      'seed trace: an Allow list',
      'INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY',
      ['INVITE', 'ACK', 'CANCEL', 'OPTIONS', 'BYE', 'REFER', 'SUBSCRIBE', 'NOTIFY'],
    ],
    [
      'RFC 3261 §7.3.1: Route values combined into one header',
      '<sip:alice@atlanta.com>, <sip:bob@biloxi.com>,<sip:carol@chicago.com>',
      ['<sip:alice@atlanta.com>', '<sip:bob@biloxi.com>', '<sip:carol@chicago.com>'],
    ],
    [
      'a comma inside a quoted display name does not split',
      '"Watson, Thomas" <sip:t.watson@example.org>, <sip:b@y>',
      ['"Watson, Thomas" <sip:t.watson@example.org>', '<sip:b@y>'],
    ],
    [
      'an escaped quote does not end the quoted string',
      '"a \\", b" <sip:x@h>;q=0.1, <sip:y@h>',
      ['"a \\", b" <sip:x@h>;q=0.1', '<sip:y@h>'],
    ],
    ['a comma inside <…> does not split', '<sip:a,b@example.com>;q=1, <sip:c@example.com>', ['<sip:a,b@example.com>;q=1', '<sip:c@example.com>']],
    [
      'a comma inside a quoted parameter value does not split',
      '<sip:a@h>;x="1,2", <sip:b@h>',
      ['<sip:a@h>;x="1,2"', '<sip:b@h>'],
    ],
    [
      'RFC 4475 §3.1.1.1: a folded two-element Via (wsinv v:)',
      'SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239',
      ['SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8', 'SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239'],
    ],
    ['a single element is returned trimmed', '  <sip:a@h>  ', ['<sip:a@h>']],
    ['an empty value has no elements', '', []],
  ])('%s', (_name, value, elements) => {
    expect(splitHeaderList(value)).toEqual(elements);
  });

  it('empty elements are dropped and reported as quirks', () => {
    const findings: Finding[] = [];
    expect(splitHeaderList('a,, b,', findings)).toEqual(['a', 'b']);
    expect(findings.map((f) => [f.code, f.severity])).toEqual([
      ['header-list-empty-element', 'quirk'],
      ['header-list-empty-element', 'quirk'],
    ]);
  });

  it('every element of a Contact list parses', () => {
    const list = splitHeaderList('"Mr. Watson" <sip:watson@worcester.bell-telephone.com>;q=0.7; expires=3600, "Mr. Watson" <mailto:watson@bell-telephone.com> ;q=0.1');
    expect(list.map((e) => formatNameAddr(parseNameAddr(e)))).toEqual([
      '"Mr. Watson" <sip:watson@worcester.bell-telephone.com>;q=0.7;expires=3600',
      '"Mr. Watson" <mailto:watson@bell-telephone.com>;q=0.1',
    ]);
  });
});
