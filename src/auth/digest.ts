/**
 * Digest computation (RFC 2617 §3.2.2, RFC 7616 §3.4.1–§3.4.3) and the client's answer to a
 * challenge. Pure: no I/O; the only side input is the random cnonce when none is given.
 * RFC 8760 brings SHA-256 and SHA-512/256 to SIP with the same formulas.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SipwrightError } from '../errors.js';
import { formatDigestCredentials, parseDigestChallenges, type DigestChallenge } from './challenge.js';

/** The algorithms of the IANA "HTTP Digest Algorithm Values" registry (RFC 7616 §6.1). */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

/** The quality-of-protection values this module computes (RFC 7616 §3.3). */
export type DigestQop = 'auth' | 'auth-int';

/** Every supported algorithm, strongest first. */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = [
  'SHA-512-256',
  'SHA-512-256-sess',
  'SHA-256',
  'SHA-256-sess',
  'MD5',
  'MD5-sess',
];

const NODE_HASH: Record<string, string> = { md5: 'md5', 'sha-256': 'sha256', 'sha-512-256': 'sha512-256' };

/**
 * The canonical name of an algorithm, compared case-insensitively; absent means MD5
 * (RFC 7616 §3.3). `SHA-512/256`, the spelling of RFC 8760's prose, is read as `SHA-512-256`.
 * @throws SipwrightError `ERR_AUTH_UNSUPPORTED` naming an unknown algorithm.
 */
export function normalizeAlgorithm(name: string | undefined): DigestAlgorithm {
  if (name === undefined) return 'MD5';
  const key = name.trim().toLowerCase().replace('sha-512/256', 'sha-512-256');
  const found = DIGEST_ALGORITHMS.find((a) => a.toLowerCase() === key);
  if (!found) {
    throw new SipwrightError(
      'ERR_AUTH_UNSUPPORTED',
      `digest algorithm ${JSON.stringify(name)} is not supported (supported: ${DIGEST_ALGORITHMS.join(', ')})`,
    );
  }
  return found;
}

/** True when {@link normalizeAlgorithm} accepts the name. */
export function isSupportedAlgorithm(name: string | undefined): boolean {
  try {
    normalizeAlgorithm(name);
    return true;
  } catch {
    return false;
  }
}

/** Inputs of {@link digestResponse}; strings are hashed exactly as they appear on the wire. */
export interface DigestInput {
  /** Default MD5. */
  readonly algorithm?: DigestAlgorithm | string;
  readonly username: string;
  /** Verbatim, stray spaces included. */
  readonly realm: string;
  readonly password: string;
  readonly method: string;
  /** The `uri` parameter (digest-uri), not necessarily the Request-URI. */
  readonly uri: string;
  readonly nonce: string;
  /** Required with a qop and with the `-sess` algorithms. */
  readonly cnonce?: string;
  /** Required with a qop: a number (formatted as 8 hex digits) or the wire string. */
  readonly nc?: number | string;
  /** Absent for the RFC 2069 form (no qop). */
  readonly qop?: DigestQop | string;
  /** The message body, for qop=auth-int; absent means empty. */
  readonly body?: string | Uint8Array;
}

/** `nc` as 8 lower-case hex digits (RFC 7616 §3.4: nc is 8LHEX). */
export function formatNonceCount(nc: number): string {
  if (!Number.isInteger(nc) || nc < 1 || nc > 0xffffffff) {
    throw new SipwrightError('ERR_AUTH_CHALLENGE', `nonce count ${nc} is outside 1..ffffffff`);
  }
  return nc.toString(16).padStart(8, '0');
}

function hasher(algorithm: DigestAlgorithm): (data: string | Uint8Array) => string {
  const name = NODE_HASH[algorithm.toLowerCase().replace(/-sess$/, '')]!;
  return (data) => createHash(name).update(data).digest('hex');
}

/**
 * The `response` parameter, lower-case hex:
 * with a qop, `KD(H(A1), nonce:nc:cnonce:qop:H(A2))`; without, `KD(H(A1), nonce:H(A2))`
 * (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1). For `-sess`, `A1 = H(user:realm:password):nonce:cnonce`
 * (RFC 7616 §3.4.2). For `auth-int`, `A2 = method:uri:H(body)` with `H('')` for an empty body
 * (RFC 7616 §3.4.3).
 * @throws SipwrightError `ERR_AUTH_UNSUPPORTED` for an unknown algorithm or qop,
 *   `ERR_AUTH_CHALLENGE` when cnonce or nc is missing where the formula needs it.
 */
export function digestResponse(input: DigestInput): string {
  const algorithm = normalizeAlgorithm(input.algorithm);
  const H = hasher(algorithm);
  const qop = input.qop;
  const qopKey = qop?.toLowerCase();
  if (qopKey !== undefined && qopKey !== 'auth' && qopKey !== 'auth-int') {
    throw new SipwrightError('ERR_AUTH_UNSUPPORTED', `qop ${JSON.stringify(qop)} is not supported (supported: auth, auth-int)`);
  }
  const sess = algorithm.endsWith('-sess');
  if ((sess || qop !== undefined) && input.cnonce === undefined) {
    throw new SipwrightError('ERR_AUTH_CHALLENGE', `a cnonce is needed for algorithm ${algorithm}${qop ? ` with qop=${qop}` : ''}`);
  }
  if (qop !== undefined && input.nc === undefined) {
    throw new SipwrightError('ERR_AUTH_CHALLENGE', `a nonce count (nc) is needed with qop=${qop}`);
  }
  let ha1 = H(`${input.username}:${input.realm}:${input.password}`);
  if (sess) ha1 = H(`${ha1}:${input.nonce}:${input.cnonce}`);
  const a2 =
    qopKey === 'auth-int' ? `${input.method}:${input.uri}:${H(input.body ?? '')}` : `${input.method}:${input.uri}`;
  const ha2 = H(a2);
  if (qop === undefined) return H(`${ha1}:${input.nonce}:${ha2}`);
  const nc = typeof input.nc === 'number' ? formatNonceCount(input.nc) : input.nc;
  return H(`${ha1}:${input.nonce}:${nc}:${input.cnonce}:${qop}:${ha2}`);
}

/**
 * The challenge a client should answer: the first (topmost) one whose algorithm it supports,
 * as RFC 8760 §2.4 asks of a UAC; unsupported ones are ignored.
 * @throws SipwrightError `ERR_AUTH_UNSUPPORTED` naming the algorithms when none is supported.
 */
export function chooseDigestChallenge(challenges: readonly DigestChallenge[]): DigestChallenge {
  const usable = challenges.find((c) => isSupportedAlgorithm(c.algorithm));
  if (usable) return usable;
  if (challenges.length === 0) throw new SipwrightError('ERR_AUTH_CHALLENGE', 'there is no Digest challenge to answer');
  const offered = challenges.map((c) => c.algorithm ?? 'MD5').join(', ');
  throw new SipwrightError('ERR_AUTH_UNSUPPORTED', `no supported digest algorithm offered (offered: ${offered}; supported: ${DIGEST_ALGORITHMS.join(', ')})`);
}

/**
 * The qop a client uses: `auth` whenever offered, `auth-int` only when it is the only known
 * option, none when the challenge offered none (RFC 2617 §3.2.2 compatibility with RFC 2069).
 * @throws SipwrightError `ERR_AUTH_UNSUPPORTED` when only unknown qop values are offered.
 */
export function chooseQop(offered: readonly string[]): DigestQop | undefined {
  if (offered.length === 0) return undefined;
  if (offered.includes('auth')) return 'auth';
  if (offered.includes('auth-int')) return 'auth-int';
  throw new SipwrightError('ERR_AUTH_UNSUPPORTED', `qop ${JSON.stringify(offered.join(','))} is not supported (supported: auth, auth-int)`);
}

/** Inputs of {@link answerChallenge}. */
export interface AnswerChallengeInput {
  /** A parsed challenge, or the raw `WWW-Authenticate` / `Proxy-Authenticate` value(s). */
  readonly challenge: DigestChallenge | string | readonly string[];
  readonly method: string;
  /** The digest-uri: the Request-URI of the request being retried (RFC 3261 §22.4). */
  readonly uri: string;
  readonly username: string;
  readonly password: string;
  readonly body?: string | Uint8Array;
  /** Default: 16 random hex digits. */
  readonly cnonce?: string;
  /** How many requests this nonce has authenticated, this one included. Default 1. */
  readonly nc?: number;
}

/**
 * Builds the `Authorization` / `Proxy-Authorization` value answering a Digest challenge.
 * Echoes realm verbatim, the algorithm as the challenge spelled it (omitted when the challenge
 * omitted it) and opaque whenever present, `opaque=""` included (RFC 7616 §3.4: opaque MUST be
 * returned unchanged).
 * @throws SipwrightError `ERR_AUTH_UNSUPPORTED` naming an unsupported algorithm or qop.
 */
export function answerChallenge(input: AnswerChallengeInput): string {
  const challenge =
    typeof input.challenge === 'string' || Array.isArray(input.challenge)
      ? chooseDigestChallenge(parseDigestChallenges(input.challenge as string | readonly string[]))
      : (input.challenge as DigestChallenge);
  const sess = normalizeAlgorithm(challenge.algorithm).endsWith('-sess');
  const qop = chooseQop(challenge.qop);
  // RFC 2617 §3.2.2: cnonce and nc go with a qop; a -sess A1 needs the cnonce regardless.
  const cnonce = qop !== undefined || sess ? (input.cnonce ?? randomBytes(8).toString('hex')) : undefined;
  const nc = qop !== undefined ? formatNonceCount(input.nc ?? 1) : undefined;
  const response = digestResponse({
    algorithm: challenge.algorithm,
    username: input.username,
    realm: challenge.realm,
    password: input.password,
    method: input.method,
    uri: input.uri,
    nonce: challenge.nonce,
    cnonce,
    nc,
    qop,
    body: input.body,
  });
  return formatDigestCredentials({
    username: input.username,
    realm: challenge.realm,
    nonce: challenge.nonce,
    uri: input.uri,
    response,
    algorithm: challenge.algorithm,
    qop,
    nc,
    cnonce,
    opaque: challenge.opaque,
  });
}
