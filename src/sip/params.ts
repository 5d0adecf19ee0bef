/**
 * Ordered `;name=value` parameter lists: header parameters (RFC 3261 §25.1 generic-param, with
 * LWS around `;` and `=` and quoted-string values) and, filled by `uri.ts`, URI parameters and
 * URI headers.
 */
import { SipParseError } from '../errors.js';
import type { Finding } from './finding.js';
import {
  QUOTE_CONTROL_CHAR,
  QUOTE_UNTERMINATED,
  isControl,
  isToken,
  quoteChar,
  quoteText,
  scanQuotedString,
  skipWhitespace,
  unquote,
} from './charset.js';

/**
 * An ordered list of parameters. Names keep the spelling they were received with; look-ups are
 * case-insensitive (RFC 3261 §7.3.1: parameter names are case-insensitive). A value is `null`
 * for a flag (`;lr`), otherwise the text as received: a quoted-string value keeps its quotes
 * (`"<urn:uuid:…>"`) so that `toString()` re-emits it byte for byte; `getUnquoted` strips them.
 * URI parameters are kept escaped as received (`;n%61me=v%61lue`).
 */
export class Params {
  private readonly names: string[] = [];
  private readonly keys: string[] = [];
  private readonly values: (string | null)[] = [];

  /** Parameters from `[name, value]` pairs or an object (`null` = flag). */
  static from(init: Iterable<readonly [string, string | null]> | Record<string, string | null>): Params {
    const p = new Params();
    if (Symbol.iterator in init) {
      for (const [n, v] of init as Iterable<readonly [string, string | null]>) p.append(n, v);
    } else {
      for (const n of Object.keys(init)) p.append(n, (init as Record<string, string | null>)[n]);
    }
    return p;
  }

  /** Number of parameters (duplicates counted). */
  get size(): number {
    return this.names.length;
  }

  /** Name of the i-th parameter as received. */
  nameAt(i: number): string {
    return this.names[i];
  }

  /** Value of the i-th parameter (`null` for a flag). */
  valueAt(i: number): string | null {
    return this.values[i];
  }

  /** Index of the first parameter called `name` (any case), or -1. */
  indexOf(name: string): number {
    const key = name.toLowerCase();
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) return i;
    return -1;
  }

  /** The value of `name`: a string, `null` for a flag, `undefined` when absent. First one wins. */
  get(name: string): string | null | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.values[i];
  }

  /** `get` with a quoted-string value unquoted and unescaped (`"a \"b\""` → `a "b"`). */
  getUnquoted(name: string): string | null | undefined {
    const v = this.get(name);
    return typeof v === 'string' ? unquote(v) : v;
  }

  /** True when `name` is present (as a flag or with a value). */
  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }

  /**
   * Set `name` to `value` (`null` = flag). An existing parameter keeps its place and spelling and
   * any duplicates of it are removed; a new one is appended. The value is emitted as given, so a
   * value that is not a token or host must be passed already quoted (see `quote` in charset.ts).
   */
  set(name: string, value: string | null = null): this {
    const i = this.indexOf(name);
    if (i < 0) return this.append(name, value);
    this.values[i] = value;
    const key = this.keys[i];
    for (let j = this.keys.length - 1; j > i; j--) if (this.keys[j] === key) this.removeAt(j);
    return this;
  }

  /** Append `name` even if it is already present (the parsers use this to keep what was sent). */
  append(name: string, value: string | null = null): this {
    this.names.push(name);
    this.keys.push(name.toLowerCase());
    this.values.push(value);
    return this;
  }

  /** Remove every parameter called `name`; true when one was removed. */
  delete(name: string): boolean {
    const key = name.toLowerCase();
    let removed = false;
    for (let j = this.keys.length - 1; j >= 0; j--) {
      if (this.keys[j] === key) {
        this.removeAt(j);
        removed = true;
      }
    }
    return removed;
  }

  /** `[name, value]` pairs in order. */
  *entries(): IterableIterator<[string, string | null]> {
    for (let i = 0; i < this.names.length; i++) yield [this.names[i], this.values[i]];
  }

  /** Same as `entries()`. */
  [Symbol.iterator](): IterableIterator<[string, string | null]> {
    return this.entries();
  }

  /** An independent copy. */
  clone(): Params {
    const p = new Params();
    p.names.push(...this.names);
    p.keys.push(...this.keys);
    p.values.push(...this.values);
    return p;
  }

  /** `;a=b;c` in order and spelling as stored; '' when empty. */
  toString(): string {
    let out = '';
    for (let i = 0; i < this.names.length; i++) {
      const v = this.values[i];
      out += v === null ? ';' + this.names[i] : ';' + this.names[i] + '=' + v;
    }
    return out;
  }

  private removeAt(i: number): void {
    this.names.splice(i, 1);
    this.keys.splice(i, 1);
    this.values.splice(i, 1);
  }
}

function headerError(message: string): SipParseError {
  return new SipParseError(message, { code: 'ERR_SIP_HEADER' });
}

/**
 * Parse header parameters `*( SEMI generic-param )` from `text[start, end)` (RFC 3261 §25.1):
 * `SWS ";" SWS token [ SWS "=" SWS ( token / host / quoted-string ) ]`. Whitespace includes CR and
 * LF so folded values parse too. Tolerated, with a `quirk` finding: an empty value (`;tag=`), an
 * unquoted value with characters outside token/host, a repeated name. Throws `ERR_SIP_HEADER` on
 * an empty or non-token name, a bad quoted string, or anything but `;` between parameters.
 */
export function parseParams(text: string, start = 0, findings?: Finding[], end: number = text.length): Params {
  const params = new Params();
  let i = start;
  for (;;) {
    i = skipWhitespace(text, i, end);
    if (i >= end) return params;
    const c = text.charCodeAt(i);
    if (c !== 59 /* ; */) {
      const hint = c === 44 ? ' (a comma-separated list must be split into elements first)' : '';
      throw headerError(`expected ';' before a parameter but found ${quoteChar(c)} in ${quoteText(text)}${hint}`);
    }
    i = skipWhitespace(text, i + 1, end);
    const nameStart = i;
    while (i < end && isToken(text.charCodeAt(i))) i++;
    if (i === nameStart) {
      if (i >= end || text.charCodeAt(i) === 59 || text.charCodeAt(i) === 44) {
        throw headerError(`empty parameter name after ';' in ${quoteText(text)}`);
      }
      throw headerError(
        `parameter name starts with ${quoteChar(text.charCodeAt(i))}, which is not a token character, in ${quoteText(text)}`,
      );
    }
    const name = text.slice(nameStart, i);
    i = skipWhitespace(text, i, end);
    let value: string | null = null;
    if (i < end && text.charCodeAt(i) === 61 /* = */) {
      i = skipWhitespace(text, i + 1, end);
      const vc = i < end ? text.charCodeAt(i) : -1;
      if (vc === 34 /* " */) {
        const close = scanQuotedString(text, i, end);
        if (close === QUOTE_UNTERMINATED) {
          throw headerError(`unterminated quoted string in the value of parameter "${name}" in ${quoteText(text)}`);
        }
        if (close === QUOTE_CONTROL_CHAR) {
          throw headerError(
            `unescaped control character in the quoted value of parameter "${name}" in ${quoteText(text)}`,
          );
        }
        value = text.slice(i, close);
        i = close;
      } else {
        const valueStart = i;
        let plain = true;
        while (i < end) {
          const v = text.charCodeAt(i);
          if (v === 59 || v === 44 || v === 32 || v === 9 || v === 13 || v === 10) break;
          if (v === 34) {
            throw headerError(`unexpected '"' inside the value of parameter "${name}" in ${quoteText(text)}`);
          }
          if (isControl(v)) {
            throw headerError(`control character ${quoteChar(v)} in the value of parameter "${name}" in ${quoteText(text)}`);
          }
          // gen-value = token / host / quoted-string: host adds ":" "[" "]" (IPv6).
          if (!isToken(v) && v !== 58 && v !== 91 && v !== 93) plain = false;
          i++;
        }
        value = text.slice(valueStart, i);
        if (findings) {
          if (value.length === 0) {
            findings.push({
              code: 'param-empty-value',
              message: `parameter "${name}" has '=' but no value in ${quoteText(text)}`,
              severity: 'quirk',
              rfc: 'RFC 3261 §25.1',
            });
          } else if (!plain) {
            findings.push({
              code: 'param-value-not-token',
              message: `value ${quoteText(value)} of parameter "${name}" is neither a token, a host nor a quoted string`,
              severity: 'quirk',
              rfc: 'RFC 3261 §25.1',
            });
          }
        }
      }
    }
    if (findings && params.has(name)) {
      findings.push({
        code: 'param-duplicate',
        message: `parameter "${name}" appears more than once in ${quoteText(text)}; the first is used`,
        severity: 'quirk',
        rfc: 'RFC 3261 §7.3.1',
      });
    }
    params.append(name, value);
  }
}
