import { describe, expect, it } from 'vitest';
import { collectSecrets, createRedactor, redact, redactDeep, REDACTED } from '../../src/report/redact.js';
import { AUTHORIZATION, INVITE, PASSWORD } from './fixtures.js';

describe('redact', () => {
  const cases: { what: string; secret: string; text: string; expected: string }[] = [
    { what: 'literal', secret: 'hunter2', text: 'pw=hunter2;', expected: 'pw=***;' },
    { what: 'every occurrence', secret: 'hunter2', text: 'hunter2 hunter2', expected: '*** ***' },
    { what: 'inside a quoted-string', secret: 'hunter2', text: 'p="hunter2"', expected: 'p="***"' },
    {
      what: 'quoted-pair escapes inside a quoted-string (RFC 3261 §25.1)',
      secret: 'a"b\\c',
      text: 'p="a\\"b\\\\c"',
      expected: 'p="***"',
    },
    {
      what: 'percent-encoded in a sip: URI userinfo (RFC 3261 §19.1.1), upper-case hex',
      secret: 'p@ss/w',
      text: 'sip:alice:p%40ss%2Fw@example.com',
      expected: 'sip:alice:***@example.com',
    },
    { what: 'lower-case hex', secret: 'p@ss/w', text: 'x=p%40ss%2fw', expected: 'x=***' },
    { what: 'every character percent-encoded', secret: 'abc', text: '%61%62%63!', expected: '***!' },
    { what: 'form encoding: + for a space', secret: 'two words', text: 'pw=two+words', expected: 'pw=***' },
    { what: 'percent-encoded UTF-8', secret: 'pässwörd', text: 'p%C3%A4ssw%c3%b6rd', expected: '***' },
    { what: 'regular-expression characters in the secret', secret: 'a.b*c(d)[e]', text: 'a.b*c(d)[e] axbbc', expected: '*** axbbc' },
    { what: 'case-sensitive (a password is)', secret: 'Secret', text: 'secret Secret', expected: 'secret ***' },
    { what: 'an empty secret is ignored', secret: '', text: 'nothing to hide', expected: 'nothing to hide' },
  ];
  it.each(cases)('replaces a secret: $what', ({ secret, text, expected }) => {
    expect(redact(text, [secret])).toBe(expected);
  });

  it('replaces the longer of two overlapping secrets whole', () => {
    expect(redact('pw=abcdef', ['abc', 'abcdef'])).toBe('pw=***');
  });

  it('replaces the password in all its forms in an INVITE and keeps Authorization (a digest, not the password)', () => {
    const text = INVITE.toString('utf8');
    const out = redact(text, [PASSWORD]);
    expect(out).not.toContain('sw0rd');
    expect(out).toContain(`X-Debug: pass=${REDACTED} quoted="${REDACTED}" uri=sip:alice:${REDACTED}@example.com`);
    expect(out).toContain(AUTHORIZATION);
    expect(out.split('\r\n')).toHaveLength(text.split('\r\n').length);
  });

  it('keeps Proxy-Authorization too', () => {
    const line = 'Proxy-Authorization: Digest username="alice", response="0123456789abcdef0123456789abcdef"';
    expect(redact(`${line}\r\nX-Pw: s3cret\r\n`, ['s3cret'])).toBe(`${line}\r\nX-Pw: ***\r\n`);
  });

  it('createRedactor without secrets returns the text unchanged', () => {
    const r = createRedactor([]);
    expect(r('abc')).toBe('abc');
  });

  it('collectSecrets takes the union over all tests', () => {
    expect(collectSecrets([{ secrets: ['a', 'b'] }, { secrets: ['b', 'c'] }, { secrets: [] }])).toEqual(['a', 'b', 'c']);
  });

  it('redactDeep redacts every string of nested objects and arrays, keeping other values', () => {
    const r = createRedactor(['pw1']);
    const input = { a: 'x pw1', n: 3, ok: true, nested: [{ s: 'pw1' }, 'pw1pw1'], pos: { line: 1 } };
    expect(redactDeep(input, r)).toEqual({ a: 'x ***', n: 3, ok: true, nested: [{ s: '***' }, '******'], pos: { line: 1 } });
    expect(input.a).toBe('x pw1'); // a copy, not in place
  });
});
