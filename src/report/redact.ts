/**
 * Secrets out of reports. Every password a run used (`TestResult.secrets`) is replaced by
 * `***` wherever it appears in report text: literally, percent-encoded (a `sip:user:pass@host`
 * URI, RFC 3261 §19.1.1, or a form field, with upper- or lower-case hex and `+` for a space),
 * or backslash-escaped inside a quoted-string (RFC 3261 §25.1 quoted-pair; JSON escapes `"`
 * and `\` the same way). Any mix of those forms in one occurrence is caught too.
 *
 * Headers are never removed: `Authorization` and `Proxy-Authorization` carry a digest
 * `response` (RFC 3261 §22.4, RFC 2617 §3.2.2), not the password, and are what a person
 * debugging an authentication failure needs to see.
 */
import type { TestResult } from '../scenario/result.js';

/** What a secret is replaced by. */
export const REDACTED = '***';

/** Replaces every secret in a text. */
export type Redactor = (text: string) => string;

/** The identity redactor, for runs without secrets. */
export const noRedaction: Redactor = (text) => text;

const REGEXP_SPECIAL = /[.*+?^${}()|[\]\\/-]/g;

function escapeRegExp(s: string): string {
  return s.replace(REGEXP_SPECIAL, '\\$&');
}

/** `%2f` and `%2F` both: one character class per hex digit that is a letter. */
function percentPattern(byte: number): string {
  const hex = byte.toString(16).toUpperCase().padStart(2, '0');
  let out = '%';
  for (const d of hex) out += d >= 'A' ? `[${d}${d.toLowerCase()}]` : d;
  return out;
}

/** A pattern for one secret: each character literal, percent-encoded or backslash-escaped. */
function secretPattern(secret: string): string {
  let out = '';
  for (const ch of secret) {
    const alternatives = [escapeRegExp(ch)];
    alternatives.push([...Buffer.from(ch, 'utf8')].map(percentPattern).join(''));
    // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): any ASCII but CR and LF may be escaped.
    if (ch.length === 1 && ch.charCodeAt(0) < 0x80 && ch !== '\r' && ch !== '\n') {
      alternatives.push(`\\\\${escapeRegExp(ch)}`);
    }
    if (ch === ' ') alternatives.push('\\+');
    out += `(?:${alternatives.join('|')})`;
  }
  return out;
}

/**
 * A redactor for the given secrets. Empty strings are ignored (they would match everywhere);
 * longer secrets are tried first so that one secret containing another is replaced whole.
 */
export function createRedactor(secrets: Iterable<string>): Redactor {
  const unique = [...new Set([...secrets].filter((s) => s.length > 0))];
  if (unique.length === 0) return noRedaction;
  unique.sort((a, b) => b.length - a.length);
  const pattern = new RegExp(unique.map(secretPattern).join('|'), 'g');
  return (text) => text.replace(pattern, REDACTED);
}

/** Redact `text` of every string in `secrets`. */
export function redact(text: string, secrets: Iterable<string>): string {
  return createRedactor(secrets)(text);
}

/** The secrets of all tests of a run: a password used by one test may show up in another's. */
export function collectSecrets(tests: Iterable<Pick<TestResult, 'secrets'>>): string[] {
  const all = new Set<string>();
  for (const t of tests) for (const s of t.secrets) all.add(s);
  return [...all];
}

/**
 * A deep copy of a JSON-like value (plain objects, arrays, strings, numbers, booleans) with
 * every string redacted. Used for failures, errors and findings before they are written.
 */
export function redactDeep<T>(value: T, redactor: Redactor): T {
  if (typeof value === 'string') return redactor(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v, redactor)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, redactor);
    return out as T;
  }
  return value;
}
