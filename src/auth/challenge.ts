/**
 * Parsing and serializing the values of the four authentication header fields:
 * `WWW-Authenticate` / `Proxy-Authenticate` (challenges) and `Authorization` /
 * `Proxy-Authorization` (credentials). RFC 3261 §22.4 and §25.1 take the grammar from
 * RFC 2617 §3.2; RFC 7616 §3.3–§3.4 is the current text of the Digest parameters.
 *
 * The reader is tolerant of what real equipment sends (spaces around `=` and `,`, unquoted
 * values, folded lines, a missing comma, upper-case names) and reports each tolerated deviation
 * as a {@link Finding}. Values are kept verbatim: a realm of `" voip0000.cloudpbx.com "` keeps
 * its spaces, because the digest hashes the realm exactly as quoted (RFC 7616 §3.4.2).
 */
import { SipwrightError } from '../errors.js';
import type { Finding } from '../sip/finding.js';

/** One challenge or credentials item of any scheme (`Digest`, `Basic`, `Bearer` …). */
export interface AuthItem {
  /** The scheme as written (`Digest`, `digest` …); compare it case-insensitively. */
  readonly scheme: string;
  /** auth-params by lower-case name; values unquoted and unescaped, otherwise verbatim. */
  readonly params: Readonly<Record<string, string>>;
  /** Lower-case names of the params whose value was a quoted-string on the wire. */
  readonly quoted: ReadonlySet<string>;
  /** A token68 (e.g. the Base64 of `Basic`), when the scheme carried one instead of params. */
  readonly token68?: string;
  /** Deviations the reader tolerated. */
  readonly findings: readonly Finding[];
}

/** A parsed Digest challenge (RFC 7616 §3.3). */
export interface DigestChallenge {
  readonly scheme: string;
  readonly realm: string;
  readonly nonce: string;
  /** As sent; `undefined` when absent, which means MD5 (RFC 7616 §3.3). */
  readonly algorithm?: string;
  /** Offered qop values, lower-cased, in order; empty when the challenge had no qop. */
  readonly qop: readonly string[];
  /** `undefined` when absent; `''` for `opaque=""`, which must still be echoed. */
  readonly opaque?: string;
  /** `stale=true` (case-insensitive): retry with the new nonce, same password (RFC 7616 §3.3). */
  readonly stale: boolean;
  readonly domain?: string;
  readonly charset?: string;
  readonly userhash: boolean;
  /** Every param as parsed, lower-case names (unknown ones included). */
  readonly params: Readonly<Record<string, string>>;
  readonly findings: readonly Finding[];
}

/** Parsed Digest credentials (RFC 7616 §3.4, RFC 3261 §25.1 `digest-response`). */
export interface DigestCredentials {
  readonly scheme: string;
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  /** As sent; `undefined` when absent (MD5). */
  readonly algorithm?: string;
  readonly cnonce?: string;
  /** The nonce count exactly as on the wire (8 hex digits when well formed). */
  readonly nc?: string;
  readonly qop?: string;
  readonly opaque?: string;
  readonly userhash?: boolean;
  readonly params: Readonly<Record<string, string>>;
  readonly findings: readonly Finding[];
}

/** What {@link formatDigestCredentials} needs; parsed credentials fit it as they are. */
export type DigestCredentialsInit = Omit<DigestCredentials, 'scheme' | 'params' | 'findings'> & {
  readonly scheme?: string;
};

/** What {@link formatDigestChallenge} needs. */
export interface DigestChallengeInit {
  readonly realm: string;
  readonly nonce: string;
  readonly algorithm?: string;
  readonly qop?: readonly string[];
  readonly opaque?: string;
  readonly stale?: boolean;
  readonly domain?: string;
}

const WS = new Set([' ', '\t', '\r', '\n']);
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*(?=[ \t\r\n]*(?:,|$))/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function headerError(message: string): SipwrightError {
  return new SipwrightError('ERR_SIP_HEADER', message);
}

function quirk(code: string, message: string, rfc: string): Finding {
  return { code, message, severity: 'quirk', rfc };
}

/**
 * Reads the quoted-string whose opening quote is at `start`: returns its unescaped content and
 * the offset after the closing quote, or `undefined` when it is never closed. A backslash
 * escapes the next character (RFC 3261 §25.1 quoted-pair); a line fold counts as one SP
 * (RFC 3261 §7.3.1).
 */
function readQuotedString(value: string, start: number): [string, number] | undefined {
  let out = '';
  let i = start + 1;
  while (i < value.length) {
    const c = value[i]!;
    if (c === '"') return [out, i + 1];
    if (c === '\\' && i + 1 < value.length) {
      out += value[i + 1];
      i += 2;
    } else if (c === '\r' || c === '\n') {
      while (value[i] === '\r' || value[i] === '\n') i++;
      while (value[i] === ' ' || value[i] === '\t') i++;
      out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  return undefined;
}

/**
 * Splits a header value into its challenges or credentials, of any scheme. Several challenges
 * may share one value (RFC 7235 §4.1; RFC 7616 §3.7 offers one per algorithm).
 * @throws SipwrightError `ERR_SIP_HEADER` when the value cannot be read at all.
 */
export function parseAuthItems(value: string): AuthItem[] {
  const items: Array<{ scheme: string; params: Record<string, string>; quoted: Set<string>; token68?: string; findings: Finding[] }> =
    [];
  let i = 0;
  const n = value.length;
  const skipWs = (): void => {
    while (i < n && WS.has(value[i]!)) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && !WS.has(value[i]!) && value[i] !== ',' && value[i] !== '=' && value[i] !== '"') i++;
    return value.slice(start, i);
  };
  while (true) {
    while (i < n && (value[i] === ',' || WS.has(value[i]!))) i++;
    if (i >= n) break;
    const token = readToken();
    if (token === '') throw headerError(`auth header: unexpected ${JSON.stringify(value[i])} at offset ${i} in ${JSON.stringify(value)}`);
    skipWs();
    const current = items[items.length - 1];
    if (value[i] !== '=') {
      // A token not followed by '=' starts a new challenge (RFC 7235 §2.1: auth-scheme).
      const t68 = TOKEN68.exec(value.slice(i));
      items.push({ scheme: token, params: Object.create(null) as Record<string, string>, quoted: new Set<string>(), findings: [], ...(t68 ? { token68: t68[0] } : {}) });
      if (t68) i += t68[0].length;
      continue;
    }
    if (!current) throw headerError(`auth header: parameter ${JSON.stringify(token)} before any scheme in ${JSON.stringify(value)}`);
    const name = token.toLowerCase();
    i++; // '='
    skipWs();
    let paramValue: string;
    if (value[i] === '"') {
      const quoted = readQuotedString(value, i);
      if (!quoted) throw headerError(`auth header: unterminated quoted value of ${JSON.stringify(token)} in ${JSON.stringify(value)}`);
      [paramValue, i] = quoted;
      current.quoted.add(name);
    } else {
      const start = i;
      while (i < n && !WS.has(value[i]!) && value[i] !== ',') i++;
      paramValue = value.slice(start, i);
    }
    if (Object.hasOwn(current.params, name)) {
      // RFC 7235 §2.1: each parameter name MUST only occur once per challenge; keep the first.
      current.findings.push(quirk('auth-param-duplicate', `parameter ${JSON.stringify(name)} given twice; the first is used`, 'RFC 7235 §2.1'));
    } else {
      current.params[name] = paramValue;
    }
    skipWs();
    if (i < n && value[i] !== ',') {
      current.findings.push(quirk('auth-param-missing-comma', `no comma after ${JSON.stringify(token)}`, 'RFC 7235 §2.1'));
    }
  }
  return items;
}

function isDigest(item: AuthItem): boolean {
  return item.scheme.toLowerCase() === 'digest';
}

function requireParam(item: AuthItem, name: string, what: string, code: 'ERR_AUTH_CHALLENGE' | 'ERR_SIP_HEADER'): string {
  const v = item.params[name];
  if (v === undefined) throw new SipwrightError(code, `${what} has no ${name} parameter (RFC 7616 §3.3–§3.4)`);
  return v;
}

function realmFindings(realm: string): Finding[] {
  return realm !== realm.trim()
    ? [quirk('auth-realm-spaces', `realm ${JSON.stringify(realm)} has leading or trailing spaces; hashed verbatim`, 'RFC 7616 §3.3')]
    : [];
}

/** Turns one generic item into a Digest challenge. @throws `ERR_AUTH_CHALLENGE` without realm or nonce. */
export function toDigestChallenge(item: AuthItem): DigestChallenge {
  if (!isDigest(item)) throw new SipwrightError('ERR_AUTH_CHALLENGE', `challenge scheme ${JSON.stringify(item.scheme)} is not Digest`);
  const p = item.params;
  const realm = requireParam(item, 'realm', 'Digest challenge', 'ERR_AUTH_CHALLENGE');
  const nonce = requireParam(item, 'nonce', 'Digest challenge', 'ERR_AUTH_CHALLENGE');
  const findings = [...item.findings, ...realmFindings(realm)];
  if (p.qop !== undefined && !item.quoted.has('qop')) {
    findings.push(quirk('auth-qop-unquoted', 'qop options in a challenge MUST be a quoted-string', 'RFC 7616 §3.3'));
  }
  return {
    scheme: item.scheme,
    realm,
    nonce,
    algorithm: p.algorithm,
    qop: (p.qop ?? '').split(',').map((q) => q.trim().toLowerCase()).filter((q) => q !== ''),
    opaque: p.opaque,
    stale: (p.stale ?? '').trim().toLowerCase() === 'true',
    domain: p.domain,
    charset: p.charset,
    userhash: (p.userhash ?? '').trim().toLowerCase() === 'true',
    params: p,
    findings,
  };
}

function readChallengeItems(value: string): AuthItem[] {
  try {
    return parseAuthItems(value);
  } catch (err) {
    throw new SipwrightError('ERR_AUTH_CHALLENGE', `challenge cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Every Digest challenge in one or more `WWW-Authenticate` / `Proxy-Authenticate` values, in
 * order (RFC 7616 §3.7: one per algorithm, most preferred first). Other schemes are skipped.
 * @throws SipwrightError `ERR_AUTH_CHALLENGE` when a value cannot be read or a Digest
 *   challenge lacks realm or nonce.
 */
export function parseDigestChallenges(values: string | readonly string[]): DigestChallenge[] {
  const list = typeof values === 'string' ? [values] : values;
  return list.flatMap((v) => readChallengeItems(v).filter(isDigest).map(toDigestChallenge));
}

/**
 * The first Digest challenge in a header value.
 * @throws SipwrightError `ERR_AUTH_CHALLENGE` when there is none or it is incomplete.
 */
export function parseDigestChallenge(value: string | readonly string[]): DigestChallenge {
  const first = parseDigestChallenges(value)[0];
  if (!first) throw new SipwrightError('ERR_AUTH_CHALLENGE', `no Digest challenge in ${JSON.stringify(value)}`);
  return first;
}

/**
 * Parses an `Authorization` / `Proxy-Authorization` value holding Digest credentials.
 * @throws SipwrightError `ERR_SIP_HEADER` when it is not Digest or lacks username, realm, nonce,
 *   uri or response (RFC 7616 §3.4).
 */
export function parseDigestCredentials(value: string): DigestCredentials {
  const items = parseAuthItems(value);
  const item = items.find(isDigest);
  if (!item) {
    const schemes = items.map((x) => x.scheme).join(', ') || 'nothing';
    throw headerError(`credentials are not Digest (found ${schemes}) in ${JSON.stringify(value)}`);
  }
  const p = item.params;
  const req = (name: string): string => requireParam(item, name, 'Digest credentials', 'ERR_SIP_HEADER');
  const realm = req('realm');
  const findings = [...item.findings, ...realmFindings(realm)];
  // RFC 7616 §3.4: qop, nc and algorithm are tokens in credentials, never quoted-strings.
  for (const name of ['qop', 'nc', 'algorithm']) {
    if (item.quoted.has(name)) findings.push(quirk(`auth-${name}-quoted`, `${name} MUST NOT be quoted in credentials`, 'RFC 7616 §3.4'));
  }
  return {
    scheme: item.scheme,
    username: req('username'),
    realm,
    nonce: req('nonce'),
    uri: req('uri'),
    response: req('response'),
    algorithm: p.algorithm,
    cnonce: p.cnonce,
    nc: p.nc,
    qop: p.qop,
    opaque: p.opaque,
    userhash: p.userhash === undefined ? undefined : p.userhash.toLowerCase() === 'true',
    params: p,
    findings,
  };
}

/** A quoted-string with `"` and `\` escaped (RFC 3261 §25.1 quoted-pair). */
export function quoteString(value: string): string {
  if (/[\r\n]/.test(value)) throw headerError(`auth header: value ${JSON.stringify(value)} contains CR or LF`);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function tokenOrQuoted(value: string): string {
  return TOKEN.test(value) ? value : quoteString(value);
}

/**
 * Serializes Digest credentials in the order of RFC 3261 §22.4's example. username, realm,
 * nonce, uri, response, cnonce and opaque are quoted; algorithm, qop and nc are tokens
 * (RFC 7616 §3.4). An empty opaque is written as `opaque=""`.
 */
export function formatDigestCredentials(c: DigestCredentialsInit): string {
  const parts = [
    `username=${quoteString(c.username)}`,
    `realm=${quoteString(c.realm)}`,
    `nonce=${quoteString(c.nonce)}`,
    `uri=${quoteString(c.uri)}`,
  ];
  if (c.algorithm !== undefined) parts.push(`algorithm=${tokenOrQuoted(c.algorithm)}`);
  if (c.qop !== undefined) parts.push(`qop=${tokenOrQuoted(c.qop)}`);
  if (c.nc !== undefined) parts.push(`nc=${tokenOrQuoted(c.nc)}`);
  if (c.cnonce !== undefined) parts.push(`cnonce=${quoteString(c.cnonce)}`);
  parts.push(`response=${quoteString(c.response)}`);
  if (c.opaque !== undefined) parts.push(`opaque=${quoteString(c.opaque)}`);
  if (c.userhash !== undefined) parts.push(`userhash=${c.userhash ? 'true' : 'false'}`);
  return `${c.scheme ?? 'Digest'} ${parts.join(', ')}`;
}

/** Serializes one Digest challenge; qop options are one quoted list (RFC 7616 §3.3). */
export function formatDigestChallenge(c: DigestChallengeInit): string {
  const parts = [`realm=${quoteString(c.realm)}`, `nonce=${quoteString(c.nonce)}`];
  if (c.algorithm !== undefined) parts.push(`algorithm=${tokenOrQuoted(c.algorithm)}`);
  if (c.qop !== undefined && c.qop.length > 0) parts.push(`qop=${quoteString(c.qop.join(','))}`);
  if (c.opaque !== undefined) parts.push(`opaque=${quoteString(c.opaque)}`);
  if (c.domain !== undefined) parts.push(`domain=${quoteString(c.domain)}`);
  if (c.stale) parts.push('stale=true');
  return `Digest ${parts.join(', ')}`;
}
