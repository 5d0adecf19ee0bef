import { describe, expect, it } from 'vitest';
import { formatDigestCredentials, parseDigestChallenge, parseDigestChallenges, parseDigestCredentials } from '../../src/auth/challenge.js';
import { answerChallenge, digestResponse, type DigestAlgorithm, type DigestQop } from '../../src/auth/digest.js';
import { DigestServer, type DigestServerOptions, type DigestVerifyResult } from '../../src/auth/digest-server.js';

const REALM = ' voip0000.cloudpbx.com ';
const USER = '0000123456';
/** Distinct from every word of the messages, so a leak cannot hide. */
const PASSWORD = 'Zq9-s3cr3t';
/** The seed's password (its §2 sip.conf: secret=password). */
const SEED_PASSWORD = 'password';
const URI = 'sip:127.0.0.1';

/** A fake clock and a counting random source: deterministic nonces 00000001, 00000002 … */
function fixture(options: Partial<DigestServerOptions> = {}, password = PASSWORD) {
  const clock = { t: 1_000_000 };
  let n = 0;
  const server = new DigestServer({
    realm: REALM,
    nonceTtlMs: 10_000,
    nonceBytes: 4,
    now: () => clock.t,
    random: (size) => {
      n += 1;
      return Buffer.from(n.toString(16).padStart(size * 2, '0'), 'hex');
    },
    ...options,
  });
  const lookupPassword = (username: string, realm: string): string | undefined =>
    username === USER && realm === REALM ? password : undefined;
  const verify = (credentials: string, request: { method?: string; uri?: string; body?: string } = {}): DigestVerifyResult =>
    server.verify(credentials, { method: request.method ?? 'REGISTER', uri: request.uri ?? URI, body: request.body, lookupPassword });
  return { server, clock, verify };
}

function answer(challenge: string | readonly string[], over: { password?: string; uri?: string; nc?: number; method?: string; body?: string; username?: string } = {}): string {
  return answerChallenge({
    challenge,
    method: over.method ?? 'REGISTER',
    uri: over.uri ?? URI,
    username: over.username ?? USER,
    password: over.password ?? PASSWORD,
    nc: over.nc,
    body: over.body,
  });
}

/** Replace one parameter of a credentials value, keeping the rest. */
function withParams(credentials: string, changes: Record<string, string | undefined>): string {
  const c = parseDigestCredentials(credentials);
  return formatDigestCredentials({ ...c, ...changes });
}

function messageOf(result: DigestVerifyResult): string {
  if (result.ok) throw new Error('expected a refusal, got ok');
  return result.message;
}

function expectNoPassword(result: unknown): void {
  expect(JSON.stringify(result)).not.toContain(PASSWORD);
}

describe('the seed REGISTER both ways (000_53115b3a067add72.txt §3.1.3–§3.1.4)', () => {
  const SEED_401 = 'Digest algorithm=MD5, realm=" voip0000.cloudpbx.com ", nonce="3deff552" ';
  const seedServer = () =>
    fixture({ qop: [], algorithm: 'MD5', random: () => Buffer.from('3deff552', 'hex') }, SEED_PASSWORD);

  it('our DigestServer issues the seed carrier\'s challenge: same realm, spaces and all', () => {
    const { server } = seedServer();
    const ours = parseDigestChallenge(server.challenge());
    const seed = parseDigestChallenge(SEED_401);
    for (const key of ['realm', 'nonce', 'algorithm', 'qop', 'opaque', 'stale'] as const) expect(ours[key]).toEqual(seed[key]);
  });

  it('our client answers the seed 401 and our DigestServer accepts the answer', () => {
    const { server, verify } = seedServer();
    server.challenge();
    const credentials = answer(SEED_401, { password: SEED_PASSWORD });
    expect(parseDigestCredentials(credentials)).toMatchObject({ realm: REALM, nonce: '3deff552', algorithm: 'MD5', qop: undefined });
    expect(verify(credentials)).toEqual({ ok: true, username: USER, algorithm: 'MD5' });
  });

  it('accepts Asterisk\'s opaque="" although the challenge carried no opaque', () => {
    const { server, verify } = seedServer();
    server.challenge();
    expect(verify(withParams(answer(SEED_401, { password: SEED_PASSWORD }), { opaque: '' }))).toMatchObject({ ok: true });
  });

  it('without qop a nonce may be reused until it expires (RFC 2069 form, as the seed carrier does)', () => {
    const { server, verify } = seedServer();
    server.challenge();
    const credentials = answer(SEED_401, { password: SEED_PASSWORD });
    expect(verify(credentials).ok).toBe(true);
    expect(verify(credentials).ok).toBe(true);
  });

  it('the seed INVITE: our client answers its 407 and our DigestServer accepts it', () => {
    const { server, verify } = fixture({ qop: [], random: () => Buffer.from('23a44cfd', 'hex') }, SEED_PASSWORD);
    server.challenge();
    const uri = 'sip:080AAAAXXXX@127.0.0.1';
    const credentials = answer('Digest algorithm=MD5, realm=" voip0000.cloudpbx.com ", nonce="23a44cfd" ', { method: 'INVITE', uri, password: SEED_PASSWORD });
    expect(verify(credentials, { method: 'INVITE', uri })).toMatchObject({ ok: true });
  });

  it('the seed\'s own Authorization (anonymised uri) is refused with a reason in words', () => {
    const { server, verify } = seedServer();
    server.challenge();
    const seedAuthorization =
      'Digest username="0000123456", realm=" voip0000.cloudpbx.com ", algorithm=MD5, \r\n uri="sip: xxx.xxx.xxx.xxx", nonce="3deff552", response="bace343abbe8362868dba84e58d7e056", opaque=""';
    const result = verify(seedAuthorization, { uri: 'sip: xxx.xxx.xxx.xxx' });
    expect(result).toMatchObject({ ok: false, reason: 'bad-response', username: USER });
    expect(messageOf(result)).toMatch(/^response for user "0000123456" does not match: wrong password, or other inputs hashed/);
    // The seed's password is the word "password"; it must not appear as a value.
    expect(JSON.stringify(result)).not.toMatch(/\\"password\\"|:password/);
  });
});

describe('round trips: the server verifies what the client builds', () => {
  const cases: Array<{ algorithm: DigestAlgorithm; qop: DigestQop[]; body?: string }> = [
    { algorithm: 'MD5', qop: [] },
    { algorithm: 'MD5', qop: ['auth'] },
    { algorithm: 'MD5', qop: ['auth-int'], body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n' },
    { algorithm: 'MD5-sess', qop: ['auth'] },
    { algorithm: 'MD5-sess', qop: ['auth-int'], body: '' },
    { algorithm: 'SHA-256', qop: ['auth', 'auth-int'] },
    { algorithm: 'SHA-256-sess', qop: ['auth'] },
    { algorithm: 'SHA-512-256', qop: ['auth'] },
    { algorithm: 'SHA-512-256', qop: [] },
    { algorithm: 'SHA-512-256-sess', qop: ['auth-int'], body: 'v=0\r\n' },
  ];
  it.each(cases)('$algorithm with qop $qop', ({ algorithm, qop, body }) => {
    const { server, verify } = fixture({ algorithm, qop, opaque: 'op' });
    const credentials = answer(server.challenge(), { method: 'INVITE', body });
    expect(verify(credentials, { method: 'INVITE', body })).toEqual({ ok: true, username: USER, algorithm });
  });

  it('RFC 8760 §2.3: one challenge per algorithm, preferred first, sharing a nonce; any of them verifies', () => {
    const { server, verify } = fixture({ algorithm: ['SHA-512-256', 'SHA-256', 'MD5'] });
    const rows = server.challenges();
    const parsed = parseDigestChallenges(rows);
    expect(parsed.map((c) => c.algorithm)).toEqual(['SHA-512-256', 'SHA-256', 'MD5']);
    expect(new Set(parsed.map((c) => c.nonce)).size).toBe(1);
    expect(verify(answer(rows))).toMatchObject({ ok: true, algorithm: 'SHA-512-256' });
    expect(verify(answer(rows[2]!, { nc: 2 }))).toMatchObject({ ok: true, algorithm: 'MD5' });
  });

  it('nonce counts that increase are accepted (RFC 7616 §3.4)', () => {
    const { server, verify } = fixture();
    const challenge = server.challenge();
    for (const nc of [1, 2, 5]) expect(verify(answer(challenge, { nc })).ok).toBe(true);
  });
});

describe('verify failures: a reason and a message in words, never the password', () => {
  it('wrong password: bad-response', () => {
    const { server, verify } = fixture();
    const result = verify(answer(server.challenge(), { password: 'wrong-secret' }));
    expect(result).toMatchObject({ ok: false, reason: 'bad-response' });
    expect(messageOf(result)).toMatch(/^response for user "0000123456" does not match: wrong password/);
    expectNoPassword(result);
    expect(JSON.stringify(result)).not.toContain('wrong-secret');
  });

  it('wrong password and another uri: says both, with the two uris', () => {
    const { server, verify } = fixture();
    const result = verify(answer(server.challenge(), { password: 'wrong-secret', uri: 'sip:127.0.0.2' }));
    expect(result).toEqual({
      ok: false,
      reason: 'bad-response',
      username: USER,
      message: 'response for user "0000123456" does not match: wrong password or wrong uri (expected uri "sip:127.0.0.1", got "sip:127.0.0.2")',
    });
  });

  it('wrong uri: the uri parameter is not the Request-URI (RFC 2617 §3.2.2.5)', () => {
    const { server, verify } = fixture();
    const result = verify(answer(server.challenge(), { uri: 'sip:127.0.0.2' }));
    expect(result).toMatchObject({ ok: false, reason: 'wrong-uri' });
    expect(messageOf(result)).toBe('uri "sip:127.0.0.2" is not the Request-URI "sip:127.0.0.1", though the response is right for it (RFC 2617 §3.2.2.5)');
    expectNoPassword(result);
  });

  it('wrong uri: hashed over the Request-URI but named another', () => {
    const { server, verify } = fixture();
    const result = verify(withParams(answer(server.challenge()), { uri: 'sip:127.0.0.2' }));
    expect(result).toMatchObject({ ok: false, reason: 'wrong-uri' });
    expect(messageOf(result)).toMatch(/computed over the Request-URI "sip:127.0.0.1" but the uri parameter says "sip:127.0.0.2"/);
  });

  it('wrong realm: the realm trimmed of its spaces is another realm', () => {
    const { server, verify } = fixture();
    const challenge = server.challenge().replace(REALM, REALM.trim());
    const result = verify(answer(challenge));
    expect(result).toMatchObject({ ok: false, reason: 'wrong-realm' });
    expect(messageOf(result)).toBe(
      'realm "voip0000.cloudpbx.com" is not this server\'s realm " voip0000.cloudpbx.com " (they differ only in leading or trailing spaces, which are part of the realm)',
    );
    expectNoPassword(result);
  });

  it('realm sent verbatim but hashed trimmed: bad-response that says so', () => {
    const { server, verify } = fixture({ qop: [] });
    const nonce = parseDigestChallenge(server.challenge()).nonce;
    const response = digestResponse({ username: USER, realm: REALM.trim(), password: PASSWORD, method: 'REGISTER', uri: URI, nonce });
    const result = verify(formatDigestCredentials({ username: USER, realm: REALM, nonce, uri: URI, response, algorithm: 'MD5' }));
    expect(result).toMatchObject({ ok: false, reason: 'bad-response' });
    expect(messageOf(result)).toMatch(/computed with the realm trimmed to "voip0000.cloudpbx.com"/);
    expectNoPassword(result);
  });

  it('stale nonce: refused after its lifetime, and the next challenge says stale=true (RFC 7616 §3.3)', () => {
    const { server, verify, clock } = fixture();
    const credentials = answer(server.challenge());
    clock.t += 10_500;
    const result = verify(credentials);
    expect(result).toMatchObject({ ok: false, reason: 'stale-nonce' });
    expect(messageOf(result)).toMatch(/^nonce "00000001" expired 500 ms ago \(lifetime 10000 ms\)/);
    expectNoPassword(result);
    const fresh = server.challenge({ stale: true });
    expect(parseDigestChallenge(fresh).stale).toBe(true);
    expect(verify(answer(fresh)).ok).toBe(true);
  });

  it('stale nonce with a wrong password is a bad response, not an invitation to retry', () => {
    const { server, verify, clock } = fixture();
    const credentials = answer(server.challenge(), { password: 'nope' });
    clock.t += 20_000;
    expect(verify(credentials)).toMatchObject({ reason: 'bad-response' });
  });

  it('replayed nc: the same nonce count twice is a replay (RFC 7616 §3.4)', () => {
    const { server, verify } = fixture();
    const challenge = server.challenge();
    const credentials = answer(challenge, { nc: 3 });
    expect(verify(credentials).ok).toBe(true);
    const result = verify(credentials);
    expect(result).toMatchObject({ ok: false, reason: 'nc-replay' });
    expect(messageOf(result)).toBe('nc 00000003 for nonce "00000001" does not increase on the last accepted 00000003: a replay (RFC 7616 §3.4)');
    expect(verify(answer(challenge, { nc: 2 }))).toMatchObject({ reason: 'nc-replay' });
    expectNoPassword(result);
  });

  it('a refused request does not advance the nonce count', () => {
    const { server, verify } = fixture();
    const challenge = server.challenge();
    expect(verify(answer(challenge, { nc: 9, password: 'nope' })).ok).toBe(false);
    expect(verify(answer(challenge, { nc: 1 })).ok).toBe(true);
  });

  it('unknown nonce: never issued by this server', () => {
    const { verify } = fixture();
    const result = verify(answer('Digest realm=" voip0000.cloudpbx.com ", nonce="deadbeef", qop="auth", algorithm=MD5'));
    expect(result).toMatchObject({ ok: false, reason: 'unknown-nonce' });
    expect(messageOf(result)).toBe('nonce "deadbeef" was not issued by this server, or was forgotten (at most 1024 are kept)');
    expectNoPassword(result);
  });

  it('unknown user', () => {
    const { server, verify } = fixture();
    const result = verify(answer(server.challenge(), { username: '0000999999' }));
    expect(result).toMatchObject({ ok: false, reason: 'unknown-user', message: 'user "0000999999" is not known in realm " voip0000.cloudpbx.com "' });
  });

  it('wrong algorithm: one the challenge did not offer', () => {
    const { server, verify } = fixture({ algorithm: 'SHA-256' });
    const md5Challenge = server.challenge().replace('algorithm=SHA-256', 'algorithm=MD5');
    const result = verify(answer(md5Challenge));
    expect(result).toMatchObject({ ok: false, reason: 'wrong-algorithm', message: 'algorithm "MD5" was not offered (offered: SHA-256)' });
    const absent = withParams(answer(server.challenge()), { algorithm: undefined });
    expect(verify(absent)).toMatchObject({ reason: 'wrong-algorithm', message: expect.stringContaining('(absent, so MD5)') });
  });

  it('missing qop: the challenge offered qop but the credentials have none', () => {
    const { server, verify } = fixture();
    const noQop = server.challenge().replace(/, qop="auth"/, '');
    const result = verify(answer(noQop));
    expect(result).toMatchObject({ ok: false, reason: 'missing-qop', message: expect.stringContaining('offered qop="auth"') });
  });

  it('wrong qop: auth-int when only auth was offered', () => {
    const { server, verify } = fixture({ qop: 'auth' });
    const result = verify(answer(server.challenge().replace('qop="auth"', 'qop="auth-int"')));
    expect(result).toMatchObject({ ok: false, reason: 'wrong-qop', message: expect.stringContaining('"auth-int" was not offered') });
  });

  it('wrong opaque: not returned unchanged (RFC 7616 §3.4)', () => {
    const { server, verify } = fixture({ opaque: 'abc' });
    const credentials = answer(server.challenge());
    expect(verify(withParams(credentials, { opaque: 'xyz' }))).toMatchObject({ reason: 'wrong-opaque', message: expect.stringContaining('opaque "xyz" instead of the opaque "abc"') });
    expect(verify(withParams(credentials, { opaque: undefined }))).toMatchObject({ reason: 'wrong-opaque', message: expect.stringMatching(/^no opaque/) });
  });

  it('auth-int hashed over an empty body instead of the request body', () => {
    const { server, verify } = fixture({ qop: 'auth-int' });
    const credentials = answer(server.challenge(), { method: 'INVITE' });
    const result = verify(credentials, { method: 'INVITE', body: 'v=0\r\n' });
    expect(result).toMatchObject({ reason: 'bad-response', message: expect.stringContaining('computed over an empty body') });
  });

  it.each([
    ['another scheme', 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==', /not Digest/],
    ['no response', 'Digest username="u", realm=" voip0000.cloudpbx.com ", nonce="00000001", uri="sip:127.0.0.1"', /no response parameter/],
    ['an unterminated quote', 'Digest username="u', /unterminated/],
  ])('malformed: %s', (_name, credentials, text) => {
    const { server, verify } = fixture();
    server.challenge();
    expect(verify(credentials)).toMatchObject({ ok: false, reason: 'malformed', message: expect.stringMatching(text) });
  });

  it.each([
    ['nc missing', { nc: undefined }, /nc is missing/],
    ['nc not 8 hex digits', { nc: '1' }, /nc "1" is not 8 hex digits/],
    ['cnonce missing', { cnonce: undefined }, /without a cnonce/],
  ])('malformed: %s with qop=auth', (_name, changes, text) => {
    const { server, verify } = fixture();
    expect(verify(withParams(answer(server.challenge()), changes))).toMatchObject({ reason: 'malformed', message: expect.stringMatching(text) });
  });
});

describe('nonce memory', () => {
  it('keeps at most maxNonces, forgetting the oldest first', () => {
    const { server, verify } = fixture({ maxNonces: 3 });
    const challenges = Array.from({ length: 5 }, () => server.challenge());
    expect(server.nonceCount).toBe(3);
    expect(verify(answer(challenges[0]!))).toMatchObject({ reason: 'unknown-nonce', message: expect.stringContaining('at most 3 are kept') });
    expect(verify(answer(challenges[4]!)).ok).toBe(true);
  });

  it('forgets nonces twice their lifetime old when issuing new ones', () => {
    const { server, verify, clock } = fixture();
    const old = server.challenge();
    clock.t += 20_001;
    server.challenge();
    expect(server.nonceCount).toBe(1);
    expect(verify(answer(old))).toMatchObject({ reason: 'unknown-nonce' });
  });
});

describe('configuration mistakes', () => {
  it.each([
    ['no algorithm', { algorithm: [] as DigestAlgorithm[] }, /at least one digest algorithm/],
    ['an unsupported algorithm', { algorithm: 'SHA-1' as DigestAlgorithm }, /"SHA-1" is not supported/],
    ['a nonce lifetime of zero', { nonceTtlMs: 0 }, /nonceTtlMs must be positive/],
  ])('%s is refused at construction', (_name, options, text) => {
    expect(() => new DigestServer({ realm: REALM, ...options })).toThrow(text);
  });
});
