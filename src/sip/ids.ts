/**
 * Identifiers: Via branches (RFC 3261 §8.1.1.7), tags (§19.3) and Call-IDs (§8.1.1.4).
 * A random per-process prefix plus a counter: unique across processes and machines, and cheap
 * on the hot path (no crypto call per message).
 */
import { randomBytes } from 'node:crypto';

/** RFC 3261 §8.1.1.7: branches of RFC 3261 implementations start with this magic cookie. */
export const MAGIC_COOKIE = 'z9hG4bK';

const prefix = randomBytes(6).toString('hex');
let counter = 0;

function next(): string {
  counter = (counter + 1) % 0x7fffffff;
  return counter.toString(36);
}

/** A new Via branch, unique in space and time. */
export function newBranch(): string {
  return `${MAGIC_COOKIE}${prefix}${next()}`;
}

/** A new From/To tag (at least 32 bits of randomness, RFC 3261 §19.3). */
export function newTag(): string {
  return `${prefix.slice(0, 8)}${next()}`;
}

/** A new Call-ID, `local-id@host`. */
export function newCallId(host: string): string {
  return `${prefix}${next()}@${host}`;
}
