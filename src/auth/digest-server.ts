/**
 * The server side of Digest authentication: a registrar's or proxy's 401/407 challenges and the
 * verification of the credentials that answer them (RFC 3261 §22.4, RFC 7616 §3.3–§3.4,
 * RFC 8760 §2.3). Pure: the clock and the random source are injected.
 *
 * Nonces live in memory with their issue time and the highest nonce count accepted so far;
 * the oldest are forgotten first once `maxNonces` are held. A failed verification says in words
 * what was wrong, never quoting the password (or anything derived from it).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { UsageError } from '../errors.js';
import { formatDigestChallenge, parseDigestCredentials, type DigestCredentials } from './challenge.js';
import {
  digestResponse,
  formatNonceCount,
  isSupportedAlgorithm,
  normalizeAlgorithm,
  type DigestAlgorithm,
  type DigestQop,
} from './digest.js';

/** Why credentials were refused. Stable: scenarios and reports match on it. */
export type DigestFailureReason =
  | 'malformed'
  | 'unknown-nonce'
  | 'stale-nonce'
  | 'wrong-realm'
  | 'wrong-uri'
  | 'unknown-user'
  | 'nc-replay'
  | 'wrong-algorithm'
  | 'missing-qop'
  | 'wrong-qop'
  | 'wrong-opaque'
  | 'bad-response';

/** The outcome of {@link DigestServer.verify}. On `stale-nonce`, answer with `challenge({ stale: true })`. */
export type DigestVerifyResult =
  | { readonly ok: true; readonly username: string; readonly algorithm: DigestAlgorithm }
  | { readonly ok: false; readonly reason: DigestFailureReason; readonly message: string; readonly username?: string };

/** The request the credentials came with. */
export interface DigestVerifyRequest {
  readonly method: string;
  /** The Request-URI, which the `uri` parameter must name (RFC 2617 §3.2.2.5). */
  readonly uri: string;
  /** The body, for qop=auth-int. */
  readonly body?: string | Uint8Array;
  /** The password of a user in a realm, `undefined` when the user is unknown. */
  lookupPassword(username: string, realm: string): string | undefined;
}

/** Options of {@link DigestServer}. */
export interface DigestServerOptions {
  /** Sent and compared verbatim, stray spaces included. */
  readonly realm: string;
  /** One algorithm, or several in order of preference, one challenge each (RFC 8760 §2.3). Default MD5. */
  readonly algorithm?: DigestAlgorithm | readonly DigestAlgorithm[];
  /**
   * Offered qop values. Default `auth`: RFC 7616 §3.3 makes qop mandatory. `[]` gives the
   * RFC 2069 form that older carriers still send (no qop, nc or cnonce).
   */
  readonly qop?: DigestQop | readonly DigestQop[];
  /** Sent in every challenge; then credentials must return it unchanged. */
  readonly opaque?: string;
  /** How long a nonce is accepted. Default 30 s. Kept twice as long to answer stale=true. */
  readonly nonceTtlMs?: number;
  /** At most this many nonces are remembered; the oldest go first. Default 1024. */
  readonly maxNonces?: number;
  /** Random bytes per nonce (written as hex). Default 16. */
  readonly nonceBytes?: number;
  /** Milliseconds clock. Default `Date.now`. */
  readonly now?: () => number;
  /** Random source. Default `crypto.randomBytes`. */
  readonly random?: (size: number) => Uint8Array;
}

interface NonceState {
  readonly issuedAt: number;
  /** Highest nc accepted for this nonce; 0 before the first. */
  lastNc: number;
}

const q = (s: string): string => JSON.stringify(s);

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b.toLowerCase());
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Issues Digest challenges and verifies the credentials that answer them. */
export class DigestServer {
  readonly realm: string;
  readonly algorithms: readonly DigestAlgorithm[];
  readonly qop: readonly DigestQop[];
  readonly opaque?: string;
  readonly nonceTtlMs: number;
  readonly maxNonces: number;
  private readonly nonceBytes: number;
  private readonly now: () => number;
  private readonly random: (size: number) => Uint8Array;
  private readonly nonces = new Map<string, NonceState>();

  constructor(options: DigestServerOptions) {
    this.realm = options.realm;
    const algorithms = options.algorithm === undefined ? ['MD5'] : [options.algorithm].flat();
    this.algorithms = algorithms.map((a) => normalizeAlgorithm(a));
    if (this.algorithms.length === 0) throw new UsageError('DigestServer: give at least one digest algorithm');
    this.qop = options.qop === undefined ? ['auth'] : [options.qop].flat();
    this.opaque = options.opaque;
    this.nonceTtlMs = options.nonceTtlMs ?? 30_000;
    if (!(this.nonceTtlMs > 0)) throw new UsageError(`DigestServer: nonceTtlMs must be positive, got ${options.nonceTtlMs}`);
    this.maxNonces = Math.max(1, options.maxNonces ?? 1024);
    this.nonceBytes = options.nonceBytes ?? 16;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? randomBytes;
  }

  /** How many nonces are remembered now. */
  get nonceCount(): number {
    return this.nonces.size;
  }

  /** A fresh `WWW-Authenticate` / `Proxy-Authenticate` value for the preferred algorithm. */
  challenge(opts: { stale?: boolean } = {}): string {
    return this.challenges(opts)[0]!;
  }

  /**
   * One value per algorithm, preferred first, sharing one fresh nonce. Each goes in its own
   * header field row: RFC 3261 §7.3.1 forbids combining these headers into one row.
   */
  challenges(opts: { stale?: boolean } = {}): string[] {
    const nonce = this.issueNonce();
    return this.algorithms.map((algorithm) =>
      formatDigestChallenge({ realm: this.realm, nonce, algorithm, qop: this.qop, opaque: this.opaque, stale: opts.stale }),
    );
  }

  private issueNonce(): string {
    const now = this.now();
    // Forget nonces long past their lifetime, then the oldest beyond the cap.
    for (const [nonce, state] of this.nonces) {
      if (now - state.issuedAt <= 2 * this.nonceTtlMs) break;
      this.nonces.delete(nonce);
    }
    while (this.nonces.size >= this.maxNonces) this.nonces.delete(this.nonces.keys().next().value!);
    const nonce = Buffer.from(this.random(this.nonceBytes)).toString('hex');
    this.nonces.delete(nonce);
    this.nonces.set(nonce, { issuedAt: now, lastNc: 0 });
    return nonce;
  }

  /**
   * Checks `Authorization` / `Proxy-Authorization` credentials against a nonce this server
   * issued. The nonce count of an accepted qop request must exceed every earlier one for the
   * same nonce (RFC 7616 §3.4: a repeated nc is a replay). Without qop (RFC 2069 form) a nonce
   * may be reused until it expires.
   */
  verify(credentials: string, request: DigestVerifyRequest): DigestVerifyResult {
    let c: DigestCredentials;
    try {
      c = parseDigestCredentials(credentials);
    } catch (err) {
      return { ok: false, reason: 'malformed', message: `credentials cannot be read: ${(err as Error).message}` };
    }
    const fail = (reason: DigestFailureReason, message: string): DigestVerifyResult => ({
      ok: false,
      reason,
      message,
      username: c.username,
    });

    if (c.realm !== this.realm) {
      const hint = c.realm.trim() === this.realm.trim() ? ' (they differ only in leading or trailing spaces, which are part of the realm)' : '';
      return fail('wrong-realm', `realm ${q(c.realm)} is not this server's realm ${q(this.realm)}${hint}`);
    }
    const algorithmName = c.algorithm ?? 'MD5';
    if (!isSupportedAlgorithm(c.algorithm) || !this.algorithms.includes(normalizeAlgorithm(c.algorithm))) {
      const absent = c.algorithm === undefined ? ' (absent, so MD5)' : '';
      return fail('wrong-algorithm', `algorithm ${q(algorithmName)}${absent} was not offered (offered: ${this.algorithms.join(', ')})`);
    }
    const algorithm = normalizeAlgorithm(c.algorithm);
    const state = this.nonces.get(c.nonce);
    if (!state) {
      return fail('unknown-nonce', `nonce ${q(c.nonce)} was not issued by this server, or was forgotten (at most ${this.maxNonces} are kept)`);
    }
    if (this.opaque !== undefined && c.opaque !== this.opaque) {
      const got = c.opaque === undefined ? 'no opaque' : `opaque ${q(c.opaque)}`;
      return fail('wrong-opaque', `${got} instead of the opaque ${q(this.opaque)} of the challenge (RFC 7616 §3.4: returned unchanged)`);
    }
    const offered = this.qop.join(',');
    let ncValue = 0;
    if (c.qop === undefined) {
      if (this.qop.length > 0) {
        return fail('missing-qop', `no qop in the credentials although the challenge offered qop="${offered}" (RFC 7616 §3.4)`);
      }
    } else {
      if (!(this.qop as readonly string[]).includes(c.qop.toLowerCase())) {
        const what = this.qop.length === 0 ? 'the challenge offered no qop' : `offered: ${offered}`;
        return fail('wrong-qop', `qop ${q(c.qop)} was not offered (${what}) (RFC 7616 §3.4)`);
      }
      if (c.cnonce === undefined) return fail('malformed', `qop=${c.qop} without a cnonce (RFC 7616 §3.4)`);
      if (c.nc === undefined || !/^[0-9a-fA-F]{8}$/.test(c.nc)) {
        return fail('malformed', `nc ${c.nc === undefined ? 'is missing' : `${q(c.nc)} is not 8 hex digits`} with qop=${c.qop} (RFC 7616 §3.4)`);
      }
      ncValue = parseInt(c.nc, 16);
      if (ncValue <= state.lastNc) {
        return fail(
          'nc-replay',
          `nc ${c.nc} for nonce ${q(c.nonce)} does not increase on the last accepted ${formatNonceCount(state.lastNc)}: a replay (RFC 7616 §3.4)`,
        );
      }
    }
    if (algorithm.endsWith('-sess') && c.cnonce === undefined) {
      return fail('malformed', `algorithm ${algorithmName} without a cnonce (RFC 7616 §3.4.2)`);
    }
    const password = request.lookupPassword(c.username, c.realm);
    if (password === undefined) return fail('unknown-user', `user ${q(c.username)} is not known in realm ${q(c.realm)}`);

    const base = {
      algorithm,
      username: c.username,
      realm: c.realm,
      password,
      method: request.method,
      uri: c.uri,
      nonce: c.nonce,
      cnonce: c.cnonce,
      nc: c.nc,
      qop: c.qop,
      body: request.body,
    };
    const matches = (over: Partial<typeof base>): boolean => sameHex(c.response, digestResponse({ ...base, ...over }));
    const sameUri = c.uri === request.uri;
    const who = `response for user ${q(c.username)}`;

    if (matches({})) {
      if (!sameUri) {
        return fail('wrong-uri', `uri ${q(c.uri)} is not the Request-URI ${q(request.uri)}, though the response is right for it (RFC 2617 §3.2.2.5)`);
      }
      const age = this.now() - state.issuedAt;
      if (age >= this.nonceTtlMs) {
        return fail(
          'stale-nonce',
          `nonce ${q(c.nonce)} expired ${age - this.nonceTtlMs} ms ago (lifetime ${this.nonceTtlMs} ms); challenge again with stale=true (RFC 7616 §3.3)`,
        );
      }
      if (c.qop !== undefined) state.lastNc = ncValue;
      return { ok: true, username: c.username, algorithm };
    }
    // Near misses: the response is right over inputs a buggy peer might have hashed instead.
    if (!sameUri && matches({ uri: request.uri })) {
      return fail('wrong-uri', `${who} was computed over the Request-URI ${q(request.uri)} but the uri parameter says ${q(c.uri)}`);
    }
    if (c.realm.trim() !== c.realm && matches({ realm: c.realm.trim() })) {
      return fail('bad-response', `${who} was computed with the realm trimmed to ${q(c.realm.trim())}; the realm is ${q(c.realm)}, spaces included (RFC 7616 §3.4.2)`);
    }
    if (c.qop?.toLowerCase() === 'auth-int' && request.body !== undefined && matches({ body: '' })) {
      return fail('bad-response', `${who} was computed over an empty body, not the body of the request (qop=auth-int, RFC 7616 §3.4.3)`);
    }
    const detail = sameUri
      ? `wrong password, or other inputs hashed (method ${q(request.method)}, uri ${q(c.uri)}, nonce ${q(c.nonce)})`
      : `wrong password or wrong uri (expected uri ${q(request.uri)}, got ${q(c.uri)})`;
    return fail('bad-response', `${who} does not match: ${detail}`);
  }
}
