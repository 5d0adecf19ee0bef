import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDigestChallenge, parseDigestCredentials } from '../../src/auth/challenge.js';
import {
  answerChallenge,
  chooseQop,
  digestResponse,
  formatNonceCount,
  normalizeAlgorithm,
  type DigestInput,
} from '../../src/auth/digest.js';
import { SipwrightError } from '../../src/errors.js';

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

const RFC7616 = {
  username: 'Mufasa',
  // RFC 7616 §3.9.1 (erratum 4495): lower-case "of", unlike RFC 2617's "Circle Of Life".
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  nc: '00000001',
  qop: 'auth',
};

// draft-smith-sipping-auth-examples-01 §3 (SIP examples, bob / zanzibar / biloxi.com).
const SIP_EXAMPLE = {
  username: 'bob',
  password: 'zanzibar',
  realm: 'biloxi.com',
  method: 'INVITE',
  uri: 'sip:bob@biloxi.com',
  nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
  cnonce: '0a4f113b',
  nc: '00000001',
};
const SIP_EXAMPLE_BODY = [
  'v=0',
  'o=bob 2890844526 2890844526 IN IP4 media.biloxi.com',
  's=-',
  'c=IN IP4 media.biloxi.com',
  't=0 0',
  'm=audio 49170 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  'm=video 51372 RTP/AVP 31',
  'a=rtpmap:31 H261/90000',
  'm=video 53000 RTP/AVP 32',
  'a=rtpmap:32 MPV/90000',
  '',
].join('\r\n');

describe('digestResponse: published vectors', () => {
  const vectors: Array<{ name: string; input: DigestInput; response: string }> = [
    {
      name: 'RFC 2617 §3.5: MD5, qop=auth (Mufasa / "Circle Of Life")',
      input: {
        username: 'Mufasa',
        password: 'Circle Of Life',
        realm: 'testrealm@host.com',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        cnonce: '0a4f113b',
        nc: '00000001',
        qop: 'auth',
      },
      response: '6629fae49393a05397450978507c4ef1',
    },
    { name: 'RFC 7616 §3.9.1: MD5, qop=auth', input: { ...RFC7616, algorithm: 'MD5' }, response: '8ca523f5e9506fed4657c9700eebdbec' },
    {
      name: 'RFC 7616 §3.9.1: SHA-256, qop=auth',
      input: { ...RFC7616, algorithm: 'SHA-256' },
      response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    },
    {
      name: 'SIP auth examples §3.1: no qop (RFC 2069 form)',
      input: { ...SIP_EXAMPLE },
      response: 'bf57e4e0d0bffc0fbaedce64d59add5e',
    },
    { name: 'SIP auth examples §3.3: MD5, qop=auth', input: { ...SIP_EXAMPLE, algorithm: 'MD5', qop: 'auth' }, response: '89eb0059246c02b2f6ee02c7961d5ea3' },
    {
      name: 'SIP auth examples §3.4: MD5-sess, qop=auth',
      input: { ...SIP_EXAMPLE, algorithm: 'MD5-sess', qop: 'auth' },
      response: 'e4e4ea61d186d07a92c9e1f6919902e9',
    },
    {
      name: 'SIP auth examples §3.5: MD5, qop=auth-int over an SDP body',
      input: { ...SIP_EXAMPLE, algorithm: 'MD5', qop: 'auth-int', body: SIP_EXAMPLE_BODY },
      response: 'bdbeebb2da6adb6bca02599c2239e192',
    },
    {
      name: 'SIP auth examples §3.6: MD5-sess, qop=auth-int over an SDP body',
      input: { ...SIP_EXAMPLE, algorithm: 'MD5-sess', qop: 'auth-int', body: SIP_EXAMPLE_BODY },
      response: '91984da2d8663716e91554859c22ca70',
    },
  ];
  it.each(vectors)('$name', ({ input, response }) => {
    expect(digestResponse(input)).toBe(response);
  });
});

describe('digestResponse: the formulas of RFC 7616 §3.4.1–§3.4.3', () => {
  const base = { username: 'u', password: 'p', realm: ' r ', method: 'REGISTER', uri: 'sip:127.0.0.1', nonce: 'n', cnonce: 'c', nc: 1 };

  it('without qop: H(H(A1):nonce:H(A2)), the realm hashed with its spaces', () => {
    const { cnonce: _c, nc: _n, ...noQop } = base;
    expect(digestResponse(noQop)).toBe(md5(`${md5('u: r :p')}:n:${md5('REGISTER:sip:127.0.0.1')}`));
  });

  it('auth-int with no body hashes the empty string, like an empty body', () => {
    const withoutBody = digestResponse({ ...base, qop: 'auth-int' });
    expect(withoutBody).toBe(digestResponse({ ...base, qop: 'auth-int', body: '' }));
    expect(withoutBody).toBe(md5(`${md5('u: r :p')}:n:00000001:c:auth-int:${md5(`REGISTER:sip:127.0.0.1:${md5('')}`)}`));
    expect(digestResponse({ ...base, qop: 'auth-int', body: 'v=0\r\n' })).not.toBe(withoutBody);
  });

  it('a body given as bytes hashes like the same text', () => {
    const body = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n';
    expect(digestResponse({ ...base, qop: 'auth-int', body: new TextEncoder().encode(body) })).toBe(
      digestResponse({ ...base, qop: 'auth-int', body }),
    );
  });

  it('nc given as a number is written as 8 hex digits', () => {
    expect(digestResponse({ ...base, qop: 'auth', nc: 255 })).toBe(digestResponse({ ...base, qop: 'auth', nc: '000000ff' }));
    expect(formatNonceCount(255)).toBe('000000ff');
    expect(() => formatNonceCount(0)).toThrow(/outside 1\.\.ffffffff/);
  });

  it.each(['SHA-256', 'SHA-512-256'])('%s gives 64 hex digits; its -sess variant differs', (algorithm) => {
    const plain = digestResponse({ ...base, algorithm, qop: 'auth' });
    expect(plain).toMatch(/^[0-9a-f]{64}$/);
    expect(digestResponse({ ...base, algorithm: `${algorithm}-sess`, qop: 'auth' })).not.toBe(plain);
  });

  it('SHA-512-256 is SHA-512/256 of FIPS 180-4, not SHA-512 cut to 256 bits (RFC 7616 §3.2)', () => {
    const sha512t256 = (x: string): string => createHash('sha512-256').update(x).digest('hex');
    // FIPS 180-4 example for SHA-512/256("abc"), anchoring the hash the formula below uses.
    expect(sha512t256('abc')).toBe('53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23');
    const { cnonce: _c, nc: _n, ...noQop } = base;
    expect(digestResponse({ ...noQop, algorithm: 'SHA-512-256' })).toBe(
      sha512t256(`${sha512t256('u: r :p')}:n:${sha512t256('REGISTER:sip:127.0.0.1')}`),
    );
  });

  it('-sess without a cnonce, or a qop without nc, is refused', () => {
    const { cnonce: _c, ...noCnonce } = base;
    expect(() => digestResponse({ ...noCnonce, algorithm: 'MD5-sess' })).toThrow(/cnonce is needed/);
    const { nc: _n, ...noNc } = base;
    expect(() => digestResponse({ ...noNc, qop: 'auth' })).toThrow(/nonce count/);
  });
});

describe('algorithm and qop names', () => {
  it.each([
    [undefined, 'MD5'],
    ['md5', 'MD5'],
    ['MD5-SESS', 'MD5-sess'],
    ['sha-256', 'SHA-256'],
    ['SHA-512-256-sess', 'SHA-512-256-sess'],
    ['SHA-512/256', 'SHA-512-256'],
  ])('%s is %s (compared case-insensitively; absent means MD5)', (name, canonical) => {
    expect(normalizeAlgorithm(name)).toBe(canonical);
  });

  it('an unsupported algorithm is ERR_AUTH_UNSUPPORTED naming it', () => {
    expect(catchError(() => normalizeAlgorithm('SHA-1'))).toMatchObject({ code: 'ERR_AUTH_UNSUPPORTED', message: expect.stringContaining('"SHA-1"') });
  });

  it.each([
    [['auth', 'auth-int'], 'auth'],
    [['auth-int', 'auth'], 'auth'],
    [['auth-int'], 'auth-int'],
    [['auth-conf', 'auth'], 'auth'],
    [[], undefined],
  ])('offered %j: the client uses %s', (offered, chosen) => {
    expect(chooseQop(offered)).toBe(chosen);
  });

  it('only unknown qop values offered is ERR_AUTH_UNSUPPORTED', () => {
    expect(catchError(() => chooseQop(['auth-conf']))).toMatchObject({ code: 'ERR_AUTH_UNSUPPORTED', message: expect.stringContaining('auth-conf') });
    expect(catchError(() => digestResponse({ ...SIP_EXAMPLE, qop: 'auth-conf' }))).toMatchObject({ code: 'ERR_AUTH_UNSUPPORTED' });
  });
});

describe('answerChallenge: the client side (RFC 3261 §22.2, RFC 7616 §3.4)', () => {
  const rfc7616Challenge = (algorithm: string): string =>
    `Digest realm="${RFC7616.realm}", qop="auth, auth-int", algorithm=${algorithm}, nonce="${RFC7616.nonce}", opaque="${RFC7616.opaque}"`;
  const user = { username: RFC7616.username, password: RFC7616.password, method: 'GET', uri: RFC7616.uri, cnonce: RFC7616.cnonce };

  it.each([
    ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
    ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
  ])('RFC 7616 §3.9.1 %s: chooses qop=auth, nc=00000001, echoes opaque and algorithm', (algorithm, response) => {
    const value = answerChallenge({ ...user, challenge: rfc7616Challenge(algorithm) });
    expect(parseDigestCredentials(value)).toMatchObject({
      username: 'Mufasa',
      realm: RFC7616.realm,
      uri: RFC7616.uri,
      algorithm,
      nonce: RFC7616.nonce,
      nc: '00000001',
      cnonce: RFC7616.cnonce,
      qop: 'auth',
      response,
      opaque: RFC7616.opaque,
    });
  });

  it('RFC 8760 §2.4: answers the topmost challenge whose algorithm it supports', () => {
    const rows = [rfc7616Challenge('SHA-1-unknown'), rfc7616Challenge('SHA-256'), rfc7616Challenge('MD5')];
    expect(parseDigestCredentials(answerChallenge({ ...user, challenge: rows })).algorithm).toBe('SHA-256');
    expect(parseDigestCredentials(answerChallenge({ ...user, challenge: rows.join(', ') })).algorithm).toBe('SHA-256');
  });

  it('no supported algorithm at all is ERR_AUTH_UNSUPPORTED naming what was offered, never the password', () => {
    const err = catchError(() => answerChallenge({ ...user, challenge: rfc7616Challenge('SHA-1') }));
    expect(err).toBeInstanceOf(SipwrightError);
    expect(err).toMatchObject({ code: 'ERR_AUTH_UNSUPPORTED', message: expect.stringContaining('SHA-1') });
    expect((err as Error).message).not.toContain(RFC7616.password);
    const parsed = parseDigestChallenge(rfc7616Challenge('SHA-1'));
    expect(catchError(() => answerChallenge({ ...user, challenge: parsed }))).toMatchObject({ code: 'ERR_AUTH_UNSUPPORTED' });
  });

  it('uses auth-int only when it is the only qop offered, hashing the body', () => {
    const challenge = 'Digest realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop="auth-int", algorithm=MD5, opaque="5ccc069c403ebaf9f0171e9517f40e41"';
    const value = answerChallenge({ challenge, method: 'INVITE', uri: 'sip:bob@biloxi.com', username: 'bob', password: 'zanzibar', cnonce: '0a4f113b', body: SIP_EXAMPLE_BODY });
    expect(parseDigestCredentials(value)).toMatchObject({ qop: 'auth-int', response: 'bdbeebb2da6adb6bca02599c2239e192' });
  });

  it('without qop in the challenge sends neither qop, nc nor cnonce (RFC 2617 §3.2.2)', () => {
    const value = answerChallenge({ challenge: 'Digest realm="r", nonce="n"', method: 'REGISTER', uri: 'sip:127.0.0.1', username: 'u', password: 'p' });
    const c = parseDigestCredentials(value);
    expect(c).toMatchObject({ qop: undefined, nc: undefined, cnonce: undefined, algorithm: undefined, opaque: undefined });
    expect(c.response).toBe(md5(`${md5('u:r:p')}:n:${md5('REGISTER:sip:127.0.0.1')}`));
  });

  it('echoes an empty opaque as opaque=""', () => {
    const value = answerChallenge({ challenge: 'Digest realm="r", nonce="n", opaque=""', method: 'REGISTER', uri: 'sip:127.0.0.1', username: 'u', password: 'p' });
    expect(value).toContain('opaque=""');
  });

  it('writes the nonce count as 8 hex digits and makes a random cnonce when none is given', () => {
    const value = answerChallenge({ challenge: 'Digest realm="r", nonce="n", qop="auth"', method: 'INVITE', uri: 'sip:a@127.0.0.1', username: 'u', password: 'p', nc: 26 });
    const c = parseDigestCredentials(value);
    expect(c.nc).toBe('0000001a');
    expect(c.cnonce).toMatch(/^[0-9a-f]{16}$/);
  });

  it('answers the seed 401 with the realm verbatim, stray spaces included', () => {
    const value = answerChallenge({
      challenge: 'Digest algorithm=MD5, realm=" voip0000.cloudpbx.com ", nonce="3deff552" ',
      method: 'REGISTER',
      uri: 'sip:127.0.0.1',
      username: '0000123456',
      password: 'password',
    });
    expect(value).toBe(
      `Digest username="0000123456", realm=" voip0000.cloudpbx.com ", nonce="3deff552", uri="sip:127.0.0.1", algorithm=MD5, response="${md5(
        `${md5('0000123456: voip0000.cloudpbx.com :password')}:3deff552:${md5('REGISTER:sip:127.0.0.1')}`,
      )}"`,
    );
  });
});

describe('the seed trace (000_53115b3a067add72.txt §3.1.4, §3.2.4)', () => {
  // The document anonymised the carrier's address as xxx.xxx.xxx.xxx, and the digest covers the
  // uri, so its responses cannot be reproduced: none of the obvious variants of realm spacing,
  // uri spacing, user or password match. These cases pin that finding down.
  const seed = { username: '0000123456', realm: ' voip0000.cloudpbx.com ', password: 'password', algorithm: 'MD5' };
  it.each([
    { method: 'REGISTER', uri: 'sip: xxx.xxx.xxx.xxx', nonce: '3deff552', published: 'bace343abbe8362868dba84e58d7e056' },
    { method: 'INVITE', uri: 'sip:080AAAAXXXX@xxx.xxx.xxx.xxx', nonce: '23a44cfd', published: 'cc6c5a668cbd435dee31c767981ff710' },
  ])('$method response $published is not reproducible from the anonymised uri', ({ method, uri, nonce, published }) => {
    for (const realm of [seed.realm, seed.realm.trim()]) {
      for (const u of [uri, uri.replace('sip: ', 'sip:')]) {
        expect(digestResponse({ ...seed, realm, method, uri: u, nonce })).not.toBe(published);
      }
    }
  });
});
