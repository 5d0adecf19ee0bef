import { describe, expect, it } from 'vitest';
import { SipParseError } from '../../src/errors.js';
import type { Finding } from '../../src/sip/finding.js';
import { Params, parseParams } from '../../src/sip/params.js';
import {
  findBadEscape,
  isAlphanum,
  isParamChar,
  isToken,
  isTokenString,
  isUnreserved,
  isUserChar,
  percentDecode,
  quote,
  unquote,
} from '../../src/sip/charset.js';

function errorOf(fn: () => unknown): SipParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SipParseError);
    return err as SipParseError;
  }
  throw new Error('expected a SipParseError, nothing was thrown');
}

describe('RFC 3261 §25.1 character classes', () => {
  const alphanum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const sets: [string, (c: number) => boolean, string][] = [
    ['token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "\'" / "~")', isToken, alphanum + "-.!%*_+`'~"],
    ['unreserved = alphanum / mark', isUnreserved, alphanum + "-_.!~*'()"],
    ['alphanum = ALPHA / DIGIT', isAlphanum, alphanum],
    ['user = 1*( unreserved / escaped / user-unreserved ) (without "%")', isUserChar, alphanum + "-_.!~*'()" + '&=+$,;?/'],
    ['paramchar = param-unreserved / unreserved / escaped (without "%")', isParamChar, alphanum + "-_.!~*'()" + '[]/:&+$'],
  ];
  it.each(sets)('%s: exactly these characters among 0–255', (_name, pred, chars) => {
    for (let c = 0; c < 256; c++) expect(pred(c), `code ${c}`).toBe(chars.includes(String.fromCharCode(c)));
    expect(pred(0x3042)).toBe(false); // UTF-16 code units above 0xFF are in no class
  });

  it.each([
    ['INVITE', true],
    ["!interesting-Method0123456789_*+`.%indeed'~", true], // RFC 4475 §3.1.1.2
    ['RE%47IST%45R', true], // RFC 4475 §3.1.1.5: "%" is a token character
    ['', false],
    ['IN VITE', false],
    ['INVITE\r', false],
    ['X-Ünicode', false],
  ] as const)('isTokenString(%j) is %s', (s, expected) => {
    expect(isTokenString(s)).toBe(expected);
  });

  it('quoted-string: quote escapes DQUOTE, backslash and controls; unquote resolves quoted-pairs', () => {
    expect(quote('a "b" \\ c')).toBe('"a \\"b\\" \\\\ c"');
    expect(quote('BEL:\x07')).toBe('"BEL:\\\x07"');
    expect(unquote('"a \\"b\\""')).toBe('a "b"');
    expect(unquote('token')).toBe('token');
    expect(errorOf(() => quote('a\r\nb')).message).toBe(
      'cannot quote "a\\r\\nb": a quoted-string cannot contain CR or LF (RFC 3261 §25.1)',
    );
  });

  it('escaped = "%" HEXDIG HEXDIG: findBadEscape and percentDecode', () => {
    expect(findBadEscape('%61lice', 0, 7)).toBe(-1);
    expect(findBadEscape('a%ZK', 0, 4)).toBe(1);
    expect(findBadEscape('a%4', 0, 3)).toBe(1);
    expect(percentDecode('sips%3Auser%40example.com')).toBe('sips:user@example.com');
    expect(percentDecode('null-%00-null')).toBe('null-\x00-null');
    expect(percentDecode('%FF%61')).toBe('\xFFa'); // not UTF-8: one code point per octet
    expect(percentDecode('%C3%A7')).toBe('ç');
  });
});

describe('Params: an ordered parameter list', () => {
  it('looks names up case-insensitively (RFC 3261 §7.3.1) and keeps their spelling', () => {
    const p = parseParams(';Tag=AbC;LR;Q=0.5');
    expect(p.get('tag')).toBe('AbC');
    expect(p.get('TAG')).toBe('AbC');
    expect(p.get('lr')).toBeNull();
    expect(p.get('expires')).toBeUndefined();
    expect(p.has('q')).toBe(true);
    expect(p.has('ttl')).toBe(false);
    expect(p.size).toBe(3);
    expect([...p.entries()]).toEqual([
      ['Tag', 'AbC'],
      ['LR', null],
      ['Q', '0.5'],
    ]);
    expect(p.toString()).toBe(';Tag=AbC;LR;Q=0.5');
  });

  it('set keeps the position and spelling of an existing name and appends a new one', () => {
    const p = parseParams(';branch=z9hG4bK1;RPORT;x=1');
    p.set('rport', '5060').set('received', '192.0.2.1');
    expect(p.toString()).toBe(';branch=z9hG4bK1;RPORT=5060;x=1;received=192.0.2.1');
    p.set('x', null);
    expect(p.toString()).toBe(';branch=z9hG4bK1;RPORT=5060;x;received=192.0.2.1');
  });

  it('set removes later duplicates; delete removes every occurrence', () => {
    const p = new Params().append('tag', 'a').append('x', '1').append('TAG', 'b');
    expect(p.get('tag')).toBe('a');
    p.set('tag', 'c');
    expect(p.toString()).toBe(';tag=c;x=1');
    expect(p.delete('X')).toBe(true);
    expect(p.delete('x')).toBe(false);
    expect(p.toString()).toBe(';tag=c');
  });

  it('clone is independent; from() builds from pairs or an object', () => {
    const a = Params.from([
      ['transport', 'tcp'],
      ['lr', null],
    ]);
    const b = a.clone();
    b.set('transport', 'udp');
    expect(a.toString()).toBe(';transport=tcp;lr');
    expect(b.toString()).toBe(';transport=udp;lr');
    expect(Params.from({ expires: '3600', q: '0.7' }).toString()).toBe(';expires=3600;q=0.7');
    expect(new Params().toString()).toBe('');
  });

  it('getUnquoted strips a quoted-string value; get returns it as received', () => {
    const p = parseParams(';+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1');
    expect(p.get('+sip.instance')).toBe('"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"');
    expect(p.getUnquoted('+SIP.INSTANCE')).toBe('<urn:uuid:00000000-0000-1000-8000-000A95A0E128>');
    expect(p.getUnquoted('reg-id')).toBe('1');
    expect(p.getUnquoted('none')).toBeUndefined();
  });
});

describe('parseParams: *( SEMI generic-param ) (RFC 3261 §25.1)', () => {
  const valid: [string, string, [string, string | null][], string][] = [
    ['SEMI and EQUAL allow SWS around them (RFC 4475 §3.1.1.1 wsinv To)', ' ;   tag    = 1918181833n', [['tag', '1918181833n']], ';tag=1918181833n'],
    [
      'a folded parameter list (RFC 4475 §3.1.1.1 wsinv Contact)',
      ' ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33',
      [
        ['newparam', 'newvalue'],
        ['secondparam', null],
        ['q', '0.33'],
      ],
      ';newparam=newvalue;secondparam;q=0.33',
    ],
    [
      'token characters in names and values (RFC 4475 §3.1.1.2 intmeth From)',
      ";fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.",
      [
        ["fromParam''~+*_!.-%", '"работающий"'],
        ['tag', "_token~1'+`*%!-."],
      ],
      ";fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.",
    ],
    [
      'a quoted-string value may hold ";", "," and escaped quotes',
      ';x="a;b, \\"c\\"";y=1',
      [
        ['x', '"a;b, \\"c\\""'],
        ['y', '1'],
      ],
      ';x="a;b, \\"c\\"";y=1',
    ],
    ['gen-value = host: an IPv6 reference (RFC 5118 §4.5)', ';received=[2001:db8::9:255]', [['received', '[2001:db8::9:255]']], ';received=[2001:db8::9:255]'],
    ['an IPv6 address without brackets (RFC 5118 §4.5)', ';received=2001:db8::9:255', [['received', '2001:db8::9:255']], ';received=2001:db8::9:255'],
    ['flags without a value (RFC 3581 rport)', ';branch=z9hG4bK4e9b3e05;rport ', [['branch', 'z9hG4bK4e9b3e05'], ['rport', null]], ';branch=z9hG4bK4e9b3e05;rport'],
    ['an empty list', '   ', [], ''],
  ];
  it.each(valid)('%s', (_name, text, entries, formatted) => {
    const findings: Finding[] = [];
    const p = parseParams(text, 0, findings);
    expect([...p]).toEqual(entries);
    expect(p.toString()).toBe(formatted);
    expect(findings).toEqual([]);
    expect(parseParams(p.toString())).toEqual(p);
  });

  it('parses from an offset up to an end index', () => {
    const text = '<sip:a@b>;tag=1;x , next';
    const p = parseParams(text, 9, undefined, text.indexOf(','));
    expect(p.toString()).toBe(';tag=1;x');
  });

  const quirks: [string, string, string, [string, string | null][]][] = [
    ['an empty value is tolerated', ';tag=', 'param-empty-value', [['tag', '']]],
    ['a value that is neither token, host nor quoted-string is tolerated', ';x=a/b', 'param-value-not-token', [['x', 'a/b']]],
    ['a repeated name is kept; the first one is used', ';tag=1;TAG=2', 'param-duplicate', [['tag', '1'], ['TAG', '2']]],
  ];
  it.each(quirks)('%s (quirk)', (_name, text, code, entries) => {
    const findings: Finding[] = [];
    const p = parseParams(text, 0, findings);
    expect([...p]).toEqual(entries);
    expect(findings.map((f) => [f.code, f.severity])).toEqual([[code, 'quirk']]);
  });

  const errors: [string, string, string][] = [
    ['an empty parameter name is rejected (RFC 4475 §3.1.2.1 badinv01)', ';;', `empty parameter name after ';' in ";;"`],
    ['a trailing ";" is an empty parameter name', ';lr;', `empty parameter name after ';' in ";lr;"`],
    ['a parameter must start with ";"', 'x=1', `expected ';' before a parameter but found 'x' in "x=1"`],
    ['LWS inside a value is not allowed', ';a=b c', `expected ';' before a parameter but found 'c' in ";a=b c"`],
    [
      'a comma ends a list element',
      ';a=1,b=2',
      `expected ';' before a parameter but found ',' in ";a=1,b=2" (a comma-separated list must be split into elements first)`,
    ],
    ['a name must be a token', ';@=1', `parameter name starts with '@', which is not a token character, in ";@=1"`],
    ['an unterminated quoted-string', ';x="abc', `unterminated quoted string in the value of parameter "x" in ";x=\\"abc"`],
    ['a control character inside quotes must be escaped', ';x="a\x07"', `unescaped control character in the quoted value of parameter "x" in ";x=\\"a\\u0007\\""`],
    ['a DQUOTE inside an unquoted value', ';x=a"b"', `unexpected '"' inside the value of parameter "x" in ";x=a\\"b\\""`],
  ];
  it.each(errors)('%s', (_name, text, message) => {
    const err = errorOf(() => parseParams(text));
    expect(err.code).toBe('ERR_SIP_HEADER');
    expect(err.status).toBe(400);
    expect(err.message).toBe(message);
  });
});
