/**
 * RFC 3261 §25.1 character classes and the small lexers the structured-header parsers share.
 *
 * Two 256-entry tables of bit flags answer "is this code unit in class X" with one load and one
 * AND, so the hot path runs no regular expressions. Code units above 0xFF (a JS string decoded
 * as UTF-8) are in no class; the callers treat them as UTF8-NONASCII where §25.1 allows it.
 */
import { SipParseError } from '../errors.js';

// ---- table 1: the §25.1 classes --------------------------------------------------------------
const ALPHA = 1;
const DIGIT = 2;
const HEX = 4;
const TOKEN = 8;
const UNRESERVED = 16; // alphanum / mark
const USER_UNRESERVED = 32; // "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
const PARAM_UNRESERVED = 64; // "[" / "]" / "/" / ":" / "&" / "+" / "$"
const HNV_UNRESERVED = 128; // "[" / "]" / "/" / "?" / ":" / "+" / "$"

// ---- table 2: classes from other rules ----------------------------------------------------------
const WS = 1; // SP, HTAB, CR, LF: what is left of LWS/SWS after (or without) unfolding
const SCHEME = 2; // RFC 3986 §3.1: ALPHA / DIGIT / "+" / "-" / "."
const HOST = 4; // hostname characters: alphanum / "-" / "." (plus "_" tolerated by callers)
const PASSWORD_EXTRA = 8; // "&" / "=" / "+" / "$" / ","
const PHONEDIGIT_HEX = 16; // RFC 3966: HEXDIG / "*" / "#" / visual-separator ("-" / "." / "(" / ")")

/** §25.1 class flags, one byte per code unit 0–255. */
export const CHAR_CLASS: Uint8Array = new Uint8Array(256);
/** Flags for classes defined outside §25.1 (whitespace, URI scheme, host, password, tel digits). */
export const CHAR_CLASS_EXT: Uint8Array = new Uint8Array(256);

function mark(table: Uint8Array, chars: string, flag: number): void {
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] |= flag;
}

{
  const lower = 'abcdefghijklmnopqrstuvwxyz';
  const alpha = lower + lower.toUpperCase();
  const digit = '0123456789';
  mark(CHAR_CLASS, alpha, ALPHA | TOKEN | UNRESERVED);
  mark(CHAR_CLASS, digit, DIGIT | HEX | TOKEN | UNRESERVED);
  mark(CHAR_CLASS, 'abcdefABCDEF', HEX);
  mark(CHAR_CLASS, "-.!%*_+`'~", TOKEN);
  mark(CHAR_CLASS, "-_.!~*'()", UNRESERVED);
  mark(CHAR_CLASS, '&=+$,;?/', USER_UNRESERVED);
  mark(CHAR_CLASS, '[]/:&+$', PARAM_UNRESERVED);
  mark(CHAR_CLASS, '[]/?:+$', HNV_UNRESERVED);

  mark(CHAR_CLASS_EXT, ' \t\r\n', WS);
  mark(CHAR_CLASS_EXT, alpha + digit + '+-.', SCHEME);
  mark(CHAR_CLASS_EXT, alpha + digit + '-.', HOST);
  mark(CHAR_CLASS_EXT, '&=+$,', PASSWORD_EXTRA);
  mark(CHAR_CLASS_EXT, digit + 'abcdefABCDEF*#-.()', PHONEDIGIT_HEX);
}

/** ALPHA (RFC 5234). */
export function isAlpha(code: number): boolean {
  return code < 256 && (CHAR_CLASS[code] & ALPHA) !== 0;
}
/** DIGIT. */
export function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}
/** HEXDIG (either case). */
export function isHexDigit(code: number): boolean {
  return code < 256 && (CHAR_CLASS[code] & HEX) !== 0;
}
/** alphanum = ALPHA / DIGIT (§25.1). */
export function isAlphanum(code: number): boolean {
  return code < 256 && (CHAR_CLASS[code] & (ALPHA | DIGIT)) !== 0;
}
/** token character: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" (§25.1). */
export function isToken(code: number): boolean {
  return code < 256 && (CHAR_CLASS[code] & TOKEN) !== 0;
}
/** unreserved = alphanum / mark (§25.1). */
export function isUnreserved(code: number): boolean {
  return code < 256 && (CHAR_CLASS[code] & UNRESERVED) !== 0;
}
/** user-unreserved: "&" / "=" / "+" / "$" / "," / ";" / "?" / "/" (§25.1). */
export function isUserUnreserved(code: number): boolean {
  return code < 256 && (CHAR_CLASS[code] & USER_UNRESERVED) !== 0;
}
/** param-unreserved: "[" / "]" / "/" / ":" / "&" / "+" / "$" (§25.1). */
export function isParamUnreserved(code: number): boolean {
  return code < 256 && (CHAR_CLASS[code] & PARAM_UNRESERVED) !== 0;
}
/** hnv-unreserved: "[" / "]" / "/" / "?" / ":" / "+" / "$" (§25.1). */
export function isHnvUnreserved(code: number): boolean {
  return code < 256 && (CHAR_CLASS[code] & HNV_UNRESERVED) !== 0;
}
/** A character of `user` other than `%` of an escape: unreserved / user-unreserved. */
export function isUserChar(code: number): boolean {
  return code < 256 && (CHAR_CLASS[code] & (UNRESERVED | USER_UNRESERVED)) !== 0;
}
/** A character of `password` other than `%`: unreserved / "&" / "=" / "+" / "$" / ",". */
export function isPasswordChar(code: number): boolean {
  return code < 256 && ((CHAR_CLASS[code] & UNRESERVED) !== 0 || (CHAR_CLASS_EXT[code] & PASSWORD_EXTRA) !== 0);
}
/** paramchar other than `%`: param-unreserved / unreserved (§25.1, URI parameters). */
export function isParamChar(code: number): boolean {
  return code < 256 && (CHAR_CLASS[code] & (UNRESERVED | PARAM_UNRESERVED)) !== 0;
}
/** hname/hvalue character other than `%`: hnv-unreserved / unreserved (§25.1, URI headers). */
export function isHnvChar(code: number): boolean {
  return code < 256 && (CHAR_CLASS[code] & (UNRESERVED | HNV_UNRESERVED)) !== 0;
}
/** SP, HTAB, CR or LF: the characters of LWS/SWS. */
export function isWhitespace(code: number): boolean {
  return code < 256 && (CHAR_CLASS_EXT[code] & WS) !== 0;
}
/** A URI scheme character after the first: ALPHA / DIGIT / "+" / "-" / "." (RFC 3986 §3.1). */
export function isSchemeChar(code: number): boolean {
  return code < 256 && (CHAR_CLASS_EXT[code] & SCHEME) !== 0;
}
/** A hostname character: alphanum / "-" / "." (§25.1 hostname; "_" is not one). */
export function isHostChar(code: number): boolean {
  return code < 256 && (CHAR_CLASS_EXT[code] & HOST) !== 0;
}
/** A tel: number character: HEXDIG / "*" / "#" / "-" / "." / "(" / ")" (RFC 3966 §3). */
export function isPhoneDigitHex(code: number): boolean {
  return code < 256 && (CHAR_CLASS_EXT[code] & PHONEDIGIT_HEX) !== 0;
}
/** A control character: 0x00–0x1F or DEL. */
export function isControl(code: number): boolean {
  return code < 0x20 || code === 0x7f;
}

/** True when `s` is a non-empty §25.1 token (methods, header names, parameter names…). */
export function isTokenString(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 256 || (CHAR_CLASS[c] & TOKEN) === 0) return false;
  }
  return true;
}

/** Index of the first non-whitespace code unit in `text[i, end)`, or `end`. */
export function skipWhitespace(text: string, i: number, end: number = text.length): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c >= 256 || (CHAR_CLASS_EXT[c] & WS) === 0) break;
    i++;
  }
  return i;
}

/** `end` moved back over trailing whitespace, never below `start`. */
export function trimEndIndex(text: string, start: number, end: number): number {
  while (end > start) {
    const c = text.charCodeAt(end - 1);
    if (c >= 256 || (CHAR_CLASS_EXT[c] & WS) === 0) break;
    end--;
  }
  return end;
}

/** Value of a hex digit, or -1. */
export function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * Index of the first `%` in `text[start, end)` that does not begin an `escaped`
 * (`"%" HEXDIG HEXDIG`, §25.1), or -1 when every `%` does.
 */
export function findBadEscape(text: string, start: number, end: number): number {
  let i = text.indexOf('%', start);
  while (i !== -1 && i < end) {
    if (i + 2 >= end) return i;
    if (hexValue(text.charCodeAt(i + 1)) < 0 || hexValue(text.charCodeAt(i + 2)) < 0) return i;
    i = text.indexOf('%', i + 3);
  }
  return -1;
}

/**
 * Decode `%XX` escapes. The octets are read as UTF-8 when they form valid UTF-8, otherwise each
 * escape becomes the code point of its octet (so `%00` and `%FF` survive). Malformed escapes are
 * left as they are; the parsers reject them before this is called.
 */
export function percentDecode(s: string): string {
  if (s.indexOf('%') === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 37 && i + 2 < s.length) {
        const hi = hexValue(s.charCodeAt(i + 1));
        const lo = hexValue(s.charCodeAt(i + 2));
        if (hi >= 0 && lo >= 0) {
          out += String.fromCharCode(hi * 16 + lo);
          i += 2;
          continue;
        }
      }
      out += s[i];
    }
    return out;
  }
}

/** `scanQuotedString` result: the closing quote was not found. */
export const QUOTE_UNTERMINATED = -1;
/** `scanQuotedString` result: an unescaped control character (other than HTAB/CR/LF) inside. */
export const QUOTE_CONTROL_CHAR = -2;

/**
 * Scan a §25.1 quoted-string whose opening `"` is at `start`. Returns the index just after the
 * closing quote, `QUOTE_UNTERMINATED`, or `QUOTE_CONTROL_CHAR`. A quoted-pair (`\` and any
 * character but CR/LF) is skipped whole; non-ASCII code units are UTF8-NONASCII and allowed.
 */
export function scanQuotedString(text: string, start: number, end: number = text.length): number {
  let i = start + 1;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 34) return i + 1;
    if (c === 92) {
      if (i + 1 >= end) return QUOTE_UNTERMINATED;
      const n = text.charCodeAt(i + 1);
      if (n === 10 || n === 13) return QUOTE_UNTERMINATED;
      i += 2;
      continue;
    }
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 13) || c === 0x7f) return QUOTE_CONTROL_CHAR;
    i++;
  }
  return QUOTE_UNTERMINATED;
}

/**
 * The content of a quoted-string (`raw` includes both quotes) with quoted-pairs resolved:
 * `"a \"b\""` → `a "b"`. A string that is not quoted is returned unchanged.
 */
export function unquote(raw: string): string {
  const n = raw.length;
  if (n < 2 || raw.charCodeAt(0) !== 34 || raw.charCodeAt(n - 1) !== 34) return raw;
  const inner = raw.slice(1, n - 1);
  if (inner.indexOf('\\') === -1) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner.charCodeAt(i);
    if (c === 92 && i + 1 < inner.length) {
      out += inner[i + 1];
      i++;
    } else out += inner[i];
  }
  return out;
}

/**
 * `s` as a §25.1 quoted-string: `"` and `\` are escaped, and so are control characters other than
 * HTAB (qdtext excludes them; quoted-pair allows them). Throws `ERR_SIP_HEADER` for CR or LF,
 * which no quoted-string can carry.
 */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || c === 13) {
      throw new SipParseError(`cannot quote ${quoteText(s)}: a quoted-string cannot contain CR or LF (RFC 3261 §25.1)`, {
        code: 'ERR_SIP_HEADER',
      });
    }
    if (c === 34 || c === 92 || (c < 0x20 && c !== 9) || c === 0x7f) out += '\\';
    out += s[i];
  }
  return out + '"';
}

/** `text` quoted for an error message: JSON-escaped and clipped to 120 characters. */
export function quoteText(text: string): string {
  return JSON.stringify(text.length > 120 ? text.slice(0, 117) + '...' : text);
}

/** A character quoted for an error message: `'x'`, or `U+0007` for an invisible one. */
export function quoteChar(code: number): string {
  if (code <= 0x20 || code === 0x7f || (code >= 0x80 && code <= 0xa0)) {
    return 'U+' + code.toString(16).toUpperCase().padStart(4, '0');
  }
  return `'${String.fromCharCode(code)}'`;
}
