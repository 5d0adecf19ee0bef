import { describe, expect, it } from 'vitest';
import {
  formatDigestChallenge,
  formatDigestCredentials,
  parseAuthItems,
  parseDigestChallenge,
  parseDigestChallenges,
  parseDigestCredentials,
  type DigestChallenge,
} from '../../src/auth/challenge.js';
import { SipwrightError } from '../../src/errors.js';

// The seed trace (000_53115b3a067add72.txt §3.1.3 / §3.2.2): an Asterisk-era carrier.
const SEED_401 = 'Digest algorithm=MD5, realm=" voip0000.cloudpbx.com ", nonce="3deff552" ';
const SEED_AUTHORIZATION =
  'Digest username="0000123456", realm=" voip0000.cloudpbx.com ", algorithm=MD5, \r\n' +
  ' uri="sip: xxx.xxx.xxx.xxx", nonce="3deff552", response="bace343abbe8362868dba84e58d7e056", opaque=""';
const SEED_PROXY_AUTHORIZATION =
  'Digest username="0000123456", realm=" voip0000.cloudpbx.com ",\r\n' +
  ' algorithm=MD5, uri="sip:080AAAAXXXX@xxx.xxx.xxx.xxx", nonce="23a44cfd", \r\n' +
  ' response="cc6c5a668cbd435dee31c767981ff710", opaque=""';

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

const RFC7616_NONCE = '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v';
const RFC7616_OPAQUE = 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS';

describe('Digest challenge parsing (RFC 7616 §3.3), tolerant of real equipment', () => {
  const cases: Array<{ name: string; value: string; expected: Partial<DigestChallenge>; findings?: string[] }> = [
    {
      name: 'seed 401: realm with stray spaces is kept verbatim, algorithm before realm',
      value: SEED_401,
      expected: { realm: ' voip0000.cloudpbx.com ', nonce: '3deff552', algorithm: 'MD5', qop: [], opaque: undefined, stale: false },
      findings: ['auth-realm-spaces'],
    },
    {
      name: 'RFC 7616 §3.9.1 challenge: qop list with a space after the comma',
      value: `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="${RFC7616_NONCE}", opaque="${RFC7616_OPAQUE}"`,
      expected: { realm: 'http-auth@example.org', qop: ['auth', 'auth-int'], algorithm: 'SHA-256', nonce: RFC7616_NONCE, opaque: RFC7616_OPAQUE },
      findings: [],
    },
    {
      name: 'scheme and parameter names are case-insensitive; stale=TRUE is true',
      value: 'DIGEST REALM="atlanta.com", NONCE="b7c9", Algorithm=md5, STALE=TRUE',
      expected: { scheme: 'DIGEST', realm: 'atlanta.com', nonce: 'b7c9', algorithm: 'md5', stale: true },
    },
    {
      name: 'spaces around "=" and ","',
      value: 'Digest   realm = "atlanta.com" ,nonce= "84a4cc6f" ,  qop = "auth" , stale = "true"',
      expected: { realm: 'atlanta.com', nonce: '84a4cc6f', qop: ['auth'], stale: true },
    },
    {
      name: 'unquoted values are read as tokens (qop options SHOULD be quoted)',
      value: 'Digest realm=biloxi.com, nonce=dcd98b7102dd2f0e8b11d0f600bfb0c093, qop=auth, algorithm=MD5',
      expected: { realm: 'biloxi.com', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', qop: ['auth'] },
      findings: ['auth-qop-unquoted'],
    },
    {
      name: 'params split over folded lines (RFC 3261 §7.3.1)',
      value: 'Digest realm="atlanta.com",\r\n  domain="sip:ss1.carrier.com",\r\n\tnonce="f84f1cec41e6cbe5aea9c8e88d359",\r\n opaque="", stale=FALSE, algorithm=MD5',
      expected: { realm: 'atlanta.com', domain: 'sip:ss1.carrier.com', nonce: 'f84f1cec41e6cbe5aea9c8e88d359', opaque: '', stale: false },
    },
    {
      name: 'qop list without spaces "auth,auth-int"',
      value: 'Digest realm="r", nonce="n", qop="auth,auth-int"',
      expected: { qop: ['auth', 'auth-int'] },
    },
    {
      name: 'opaque="" is present and empty, not absent',
      value: 'Digest realm="r", nonce="n", opaque=""',
      expected: { opaque: '' },
    },
    {
      name: 'a quoted realm may hold commas and escaped quotes (RFC 3261 §25.1 quoted-pair)',
      value: 'Digest realm="a, \\"b\\" \\\\ c", nonce="n"',
      expected: { realm: 'a, "b" \\ c' },
    },
    {
      name: 'a missing comma between params is tolerated and reported',
      value: 'Digest realm="r" nonce="n"',
      expected: { realm: 'r', nonce: 'n' },
      findings: ['auth-param-missing-comma'],
    },
    {
      name: 'a repeated parameter keeps the first (RFC 7235 §2.1: MUST only occur once)',
      value: 'Digest realm="first", nonce="n", realm="second"',
      expected: { realm: 'first' },
      findings: ['auth-param-duplicate'],
    },
    {
      name: 'a fold inside a quoted-string reads as one space (RFC 3261 §7.3.1)',
      value: 'Digest realm="voip\r\n example", nonce="n"',
      expected: { realm: 'voip example' },
    },
    {
      name: 'userhash and charset (RFC 7616 §3.3)',
      value: 'Digest realm="api@example.org", nonce="n", charset=UTF-8, userhash=true',
      expected: { charset: 'UTF-8', userhash: true },
    },
  ];

  it.each(cases)('$name', ({ value, expected, findings }) => {
    const challenge = parseDigestChallenge(value);
    expect(challenge).toMatchObject(expected);
    if (findings) expect(challenge.findings.map((f) => f.code)).toEqual(findings);
  });

  it('a parameter named __proto__ is data, not a prototype', () => {
    const { params } = parseDigestChallenge('Digest realm="r", nonce="n", __proto__="x", constructor=y');
    expect(Object.getOwnPropertyDescriptor(params, '__proto__')?.value).toBe('x');
    expect(Object.getOwnPropertyDescriptor(params, 'constructor')?.value).toBe('y');
  });

  it('an absent algorithm stays undefined (MD5 is implied, RFC 7616 §3.3)', () => {
    expect(parseDigestChallenge('Digest realm="r", nonce="n"').algorithm).toBeUndefined();
  });
});

describe('several challenges in one value (RFC 7616 §3.7, RFC 8760 §2.3)', () => {
  it('keeps every Digest challenge in order, most preferred first', () => {
    const value =
      `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="${RFC7616_NONCE}", opaque="${RFC7616_OPAQUE}", ` +
      `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="${RFC7616_NONCE}", opaque="${RFC7616_OPAQUE}"`;
    const all = parseDigestChallenges(value);
    expect(all.map((c) => c.algorithm)).toEqual(['SHA-256', 'MD5']);
    expect(all.map((c) => c.qop)).toEqual([['auth', 'auth-int'], ['auth', 'auth-int']]);
  });

  it('reads one challenge per header row when given the rows', () => {
    const rows = ['Digest realm="a", nonce="1", algorithm=SHA-512-256', 'Digest realm="a", nonce="1", algorithm=MD5'];
    expect(parseDigestChallenges(rows).map((c) => c.algorithm)).toEqual(['SHA-512-256', 'MD5']);
  });

  it('skips other schemes, including one carrying a token68', () => {
    const value = 'Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAu==, Basic realm="x", Digest realm="y", nonce="z"';
    const items = parseAuthItems(value);
    expect(items.map((i) => i.scheme)).toEqual(['Negotiate', 'Basic', 'Digest']);
    expect(items[0]!.token68).toBe('YIIGhgYGKwYBBQUCoIIGejCCBnagMDAu==');
    expect(parseDigestChallenges(value)).toHaveLength(1);
    expect(parseDigestChallenge(value)).toMatchObject({ realm: 'y', nonce: 'z' });
  });
});

describe('values that must not parse', () => {
  const cases = [
    { name: 'an unterminated quoted-string', value: 'Digest realm="r", nonce="n', code: 'ERR_AUTH_CHALLENGE', text: /unterminated quoted value of "nonce"/ },
    { name: 'a parameter before any scheme', value: 'realm="r", nonce="n"', code: 'ERR_AUTH_CHALLENGE', text: /before any scheme/ },
    { name: 'a stray quote where a name belongs', value: 'Digest "realm"="r"', code: 'ERR_AUTH_CHALLENGE', text: /unexpected/ },
    { name: 'a Digest challenge without nonce', value: 'Digest realm="r"', code: 'ERR_AUTH_CHALLENGE', text: /no nonce parameter/ },
    { name: 'a Digest challenge without realm', value: 'Digest nonce="n"', code: 'ERR_AUTH_CHALLENGE', text: /no realm parameter/ },
    { name: 'no Digest challenge at all', value: 'Basic realm="r"', code: 'ERR_AUTH_CHALLENGE', text: /no Digest challenge/ },
    { name: 'an empty value', value: '  ', code: 'ERR_AUTH_CHALLENGE', text: /no Digest challenge/ },
  ];
  it.each(cases)('$name', ({ value, code, text }) => {
    const err = catchError(() => parseDigestChallenge(value));
    expect(err).toBeInstanceOf(SipwrightError);
    expect(err).toMatchObject({ code, message: expect.stringMatching(text) });
  });
});

describe('Digest credentials (RFC 7616 §3.4, RFC 3261 §22.4)', () => {
  it('reads the seed REGISTER Authorization, folded, with opaque=""', () => {
    const c = parseDigestCredentials(SEED_AUTHORIZATION);
    expect(c).toMatchObject({
      username: '0000123456',
      realm: ' voip0000.cloudpbx.com ',
      algorithm: 'MD5',
      uri: 'sip: xxx.xxx.xxx.xxx',
      nonce: '3deff552',
      response: 'bace343abbe8362868dba84e58d7e056',
      opaque: '',
      qop: undefined,
      nc: undefined,
      cnonce: undefined,
    });
  });

  it('reads the seed INVITE Proxy-Authorization', () => {
    expect(parseDigestCredentials(SEED_PROXY_AUTHORIZATION)).toMatchObject({
      uri: 'sip:080AAAAXXXX@xxx.xxx.xxx.xxx',
      nonce: '23a44cfd',
      response: 'cc6c5a668cbd435dee31c767981ff710',
    });
  });

  it('reads the RFC 2617 §3.5 credentials', () => {
    const c = parseDigestCredentials(
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
        'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", ' +
        'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    expect(c).toMatchObject({ qop: 'auth', nc: '00000001', cnonce: '0a4f113b', opaque: '5ccc069c403ebaf9f0171e9517f40e41' });
    expect(c.findings).toEqual([]);
  });

  it('reports qop and nc quoted in credentials (RFC 7616 §3.4: MUST NOT be quoted)', () => {
    const c = parseDigestCredentials('Digest username="u", realm="r", nonce="n", uri="sip:a", response="x", qop="auth", nc="00000001", cnonce="c"');
    expect(c.qop).toBe('auth');
    expect(c.findings.map((f) => f.code)).toEqual(['auth-qop-quoted', 'auth-nc-quoted']);
  });

  it.each(['username', 'realm', 'nonce', 'uri', 'response'])('rejects credentials without %s', (missing) => {
    const params = { username: 'u', realm: 'r', nonce: 'n', uri: 'sip:a', response: 'x' } as Record<string, string>;
    delete params[missing];
    const value = 'Digest ' + Object.entries(params).map(([k, v]) => `${k}="${v}"`).join(', ');
    expect(() => parseDigestCredentials(value)).toThrow(new RegExp(`no ${missing} parameter`));
  });

  it('rejects credentials of another scheme', () => {
    expect(() => parseDigestCredentials('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==')).toThrow(/not Digest \(found Basic\)/);
  });
});

describe('serializing', () => {
  it('credentials survive a parse/format round trip, realm spaces and empty opaque included', () => {
    const parsed = parseDigestCredentials(SEED_AUTHORIZATION);
    const again = parseDigestCredentials(formatDigestCredentials(parsed));
    const pick = ({ username, realm, nonce, uri, response, algorithm, opaque }: typeof parsed) => ({ username, realm, nonce, uri, response, algorithm, opaque });
    expect(pick(again)).toEqual(pick(parsed));
    expect(formatDigestCredentials(parsed)).toContain('realm=" voip0000.cloudpbx.com "');
    expect(formatDigestCredentials(parsed)).toContain('opaque=""');
  });

  it('writes algorithm, qop and nc as tokens and the rest quoted (RFC 7616 §3.4)', () => {
    const value = formatDigestCredentials({
      username: 'bob', realm: 'biloxi.com', nonce: 'n', uri: 'sip:bob@biloxi.com', response: 'abc',
      algorithm: 'MD5', qop: 'auth', nc: '00000001', cnonce: '0a4f113b',
    });
    expect(value).toBe(
      'Digest username="bob", realm="biloxi.com", nonce="n", uri="sip:bob@biloxi.com", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b", response="abc"',
    );
  });

  it('escapes quotes and backslashes in a username', () => {
    const value = formatDigestCredentials({ username: 'a"b\\c', realm: 'r', nonce: 'n', uri: 'sip:x', response: 'y' });
    expect(value).toContain('username="a\\"b\\\\c"');
    expect(parseDigestCredentials(value).username).toBe('a"b\\c');
  });

  it('refuses a value with CR or LF (header injection)', () => {
    expect(() => formatDigestCredentials({ username: 'a\r\nVia: x', realm: 'r', nonce: 'n', uri: 'sip:x', response: 'y' })).toThrow(/CR or LF/);
  });

  it('a challenge round-trips, with the qop options as one quoted list', () => {
    const value = formatDigestChallenge({ realm: ' voip0000.cloudpbx.com ', nonce: 'abc', algorithm: 'SHA-256', qop: ['auth', 'auth-int'], opaque: '', stale: true });
    expect(value).toBe('Digest realm=" voip0000.cloudpbx.com ", nonce="abc", algorithm=SHA-256, qop="auth,auth-int", opaque="", stale=true');
    expect(parseDigestChallenge(value)).toMatchObject({ realm: ' voip0000.cloudpbx.com ', qop: ['auth', 'auth-int'], opaque: '', stale: true });
  });
});
