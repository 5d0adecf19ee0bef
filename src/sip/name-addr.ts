/**
 * name-addr / addr-spec header values (RFC 3261 §20.10, §20.20, §20.39, §25.1): From, To,
 * Contact, Route, Record-Route, Reply-To, and the same shape in Diversion, P-Asserted-Identity…
 *
 * Forms accepted: `"Display" <uri>;params`, `Token Name <uri>`, `<uri>`, `"x"<uri>` (LAQUOT is
 * `SWS "<"`, so no space is needed), a bare addr-spec `uri;params` (the parameters then belong to
 * the header, §20.10), and `*` (the Contact wildcard). Tolerated with a `quirk` finding:
 * whitespace inside the brackets (`<sip: 0000123456@host >`, Asterisk 1.6; RFC 4475 §3.1.2.14),
 * non-ASCII text in an unquoted display name. `SipParseError` with `ERR_SIP_HEADER` otherwise
 * (`ERR_SIP_URI` for the URI itself).
 */
import { SipParseError } from '../errors.js';
import type { Finding } from './finding.js';
import {
  QUOTE_CONTROL_CHAR,
  QUOTE_UNTERMINATED,
  isToken,
  isWhitespace,
  quote,
  quoteChar,
  quoteText,
  scanQuotedString,
  skipWhitespace,
  trimEndIndex,
  unquote,
} from './charset.js';
import { Params, parseParams } from './params.js';
import { formatUri, parseUri, type Uri } from './uri.js';

/** A parsed name-addr or addr-spec with its header parameters. */
export interface NameAddr {
  /** Display name, unquoted and unescaped (`"a \"b\""` → `a "b"`); spaces inside quotes kept. */
  displayName?: string;
  /** The address. For the Contact wildcard `*` its scheme is `'*'` (see `isWildcard`). */
  uri: Uri;
  /** Header parameters: `tag`, `expires`, `q`, `+sip.instance`… */
  params: Params;
}

function headerError(message: string): SipParseError {
  return new SipParseError(message, { code: 'ERR_SIP_HEADER' });
}

/**
 * Parse one name-addr / addr-spec element (split lists first with `splitHeaderList`).
 * Throws `SipParseError`: `ERR_SIP_HEADER` for the structure, `ERR_SIP_URI` for the URI.
 */
export function parseNameAddr(text: string, findings?: Finding[]): NameAddr {
  const end = text.length;
  const i = skipWhitespace(text, 0, end);
  if (i >= end) throw headerError('empty address: expected a name-addr or an addr-spec (RFC 3261 §25.1)');
  const c = text.charCodeAt(i);

  if (c === 42 /* * */) {
    const j = skipWhitespace(text, i + 1, end);
    if (j === end) return wildcardContact();
    throw headerError(
      `unexpected ${quoteChar(text.charCodeAt(j))} after '*' in ${quoteText(text)}: the Contact wildcard stands alone (RFC 3261 §20.10)`,
    );
  }

  let displayName: string | undefined;
  let lt: number;
  if (c === 34 /* " */) {
    const close = scanQuotedString(text, i, end);
    if (close === QUOTE_UNTERMINATED) throw headerError(`unterminated quoted display name in ${quoteText(text)}`);
    if (close === QUOTE_CONTROL_CHAR) {
      throw headerError(`unescaped control character in the quoted display name of ${quoteText(text)}`);
    }
    displayName = foldLineBreaks(unquote(text.slice(i, close)));
    lt = skipWhitespace(text, close, end);
    if (lt >= end) throw headerError(`expected '<' after the quoted display name in ${quoteText(text)}`);
    if (text.charCodeAt(lt) !== 60) {
      throw headerError(
        `expected '<' after the quoted display name but found ${quoteChar(text.charCodeAt(lt))} in ${quoteText(text)}`,
      );
    }
  } else {
    let j = i;
    while (j < end) {
      const d = text.charCodeAt(j);
      if (d === 60 || d === 59 || d === 34) break; // < ; "
      j++;
    }
    const stop = j < end ? text.charCodeAt(j) : -1;
    if (stop === 34) {
      throw headerError(
        `unexpected '"' in ${quoteText(text)}: a display name is either one quoted string or a sequence of tokens`,
      );
    }
    if (stop !== 60) return parseAddrSpec(text, i, j, findings);
    const displayEnd = trimEndIndex(text, i, j);
    if (displayEnd > i) displayName = tokenDisplayName(text, i, displayEnd, findings);
    lt = j;
  }

  const gt = text.indexOf('>', lt + 1);
  if (gt === -1) throw headerError(`missing '>' after '<' in ${quoteText(text)}`);
  const uriStart = skipWhitespace(text, lt + 1, gt);
  const uriEnd = trimEndIndex(text, uriStart, gt);
  if (uriStart === uriEnd) throw headerError(`empty URI between '<' and '>' in ${quoteText(text)}`);
  if (findings && (uriStart !== lt + 1 || uriEnd !== gt)) {
    findings.push({
      code: 'name-addr-space-in-brackets',
      message: `whitespace inside '<' '>' in ${quoteText(text)}`,
      severity: 'quirk',
      rfc: 'RFC 4475 §3.1.2.14',
    });
  }
  const uri = parseUri(text.slice(uriStart, uriEnd), findings);
  const params = parseParams(text, gt + 1, findings);
  return { displayName, uri, params };
}

/** addr-spec without brackets: the URI runs to the first `;`, what follows are header params. */
function parseAddrSpec(text: string, start: number, semi: number, findings: Finding[] | undefined): NameAddr {
  const uriEnd = trimEndIndex(text, start, semi);
  for (let k = start; k < uriEnd; k++) {
    const c = text.charCodeAt(k);
    if (c === 63 || c === 44) {
      throw headerError(
        `URI ${quoteText(text.slice(start, uriEnd))} contains ${quoteChar(c)} and must be enclosed in '<' and '>' (RFC 3261 §20.10)`,
      );
    }
  }
  const uri = parseUri(text.slice(start, uriEnd), findings);
  const params = parseParams(text, semi, findings);
  return { displayName: undefined, uri, params };
}

/** An unquoted display name: `*(token LWS)`; runs of LWS become one space. */
function tokenDisplayName(text: string, start: number, end: number, findings: Finding[] | undefined): string {
  let normalize = false;
  let nonAscii = false;
  for (let k = start; k < end; k++) {
    const c = text.charCodeAt(k);
    if (isToken(c)) continue;
    if (isWhitespace(c)) {
      if (c !== 32 || isWhitespace(text.charCodeAt(k + 1))) normalize = true;
      continue;
    }
    if (c >= 0x80) {
      nonAscii = true;
      continue;
    }
    throw headerError(
      `display name ${quoteText(text.slice(start, end))} contains ${quoteChar(c)}, which is not a token character, ` +
        `and must be quoted (RFC 3261 §25.1; RFC 4475 §3.1.2.15)`,
    );
  }
  let name = text.slice(start, end);
  if (nonAscii && findings) {
    findings.push({
      code: 'display-name-unquoted-non-ascii',
      message: `unquoted display name ${quoteText(name)} contains non-ASCII characters; only tokens may stand unquoted`,
      severity: 'quirk',
      rfc: 'RFC 3261 §25.1',
    });
  }
  if (normalize) {
    let out = '';
    let space = false;
    for (let k = 0; k < name.length; k++) {
      if (isWhitespace(name.charCodeAt(k))) space = true;
      else {
        if (space) out += ' ';
        space = false;
        out += name[k];
      }
    }
    name = out;
  }
  return name;
}

/** A line fold (CRLF + WSP) left inside a quoted string reads as one space (RFC 3261 §7.3.1). */
function foldLineBreaks(s: string): string {
  if (s.indexOf('\n') === -1 && s.indexOf('\r') === -1) return s;
  let out = '';
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 13 || c === 10) {
      while (k + 1 < s.length && isWhitespace(s.charCodeAt(k + 1))) k++;
      if (!out.endsWith(' ')) out += ' ';
    } else out += s[k];
  }
  return out;
}

/**
 * A name-addr as text: `"Display" <uri>;params` (the display name is always quoted, the URI
 * always bracketed, which is valid for every URI), or `*` for the wildcard.
 */
export function formatNameAddr(na: NameAddr): string {
  if (isWildcard(na)) return '*';
  const display = na.displayName !== undefined ? quote(na.displayName) + ' ' : '';
  return display + '<' + formatUri(na.uri) + '>' + na.params.toString();
}

/** True for the Contact wildcard `*` (RFC 3261 §10.2.2: remove all bindings). */
export function isWildcard(na: NameAddr): boolean {
  return na.uri.scheme === '*';
}

/** A fresh Contact wildcard `*`: its URI has scheme `'*'` and formats as `*`. */
export function wildcardContact(): NameAddr {
  return {
    displayName: undefined,
    uri: {
      scheme: '*',
      user: undefined,
      password: undefined,
      host: '',
      port: undefined,
      params: new Params(),
      headers: new Params(),
      opaque: undefined,
    },
    params: new Params(),
  };
}

/** The `tag` header parameter (From/To, RFC 3261 §19.3), or `undefined` when absent or empty-flagged. */
export function tag(na: NameAddr): string | undefined {
  const t = na.params.get('tag');
  return t === null || t === undefined ? undefined : t;
}

/**
 * Split a comma-separated header value into its elements (RFC 3261 §7.3.1), trimming each.
 * Commas inside quoted strings (with `\"` escapes) and inside `<…>` do not split. Empty elements
 * (`a,,b`, a trailing comma) are dropped; with `findings` each is reported as a quirk.
 */
export function splitHeaderList(value: string, findings?: Finding[]): string[] {
  const out: string[] = [];
  const end = value.length;
  let start = 0;
  let angle = false;
  let i = 0;
  while (i < end) {
    const c = value.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < end) {
        const q = value.charCodeAt(i);
        if (q === 92) i += 2;
        else if (q === 34) break;
        else i++;
      }
    } else if (c === 60) angle = true;
    else if (c === 62) angle = false;
    else if (c === 44 && !angle) {
      pushElement(value, start, i, out, findings);
      start = i + 1;
    }
    i++;
  }
  pushElement(value, start, end, out, findings);
  return out;
}

function pushElement(value: string, start: number, end: number, out: string[], findings: Finding[] | undefined): void {
  const s = skipWhitespace(value, start, end);
  const e = trimEndIndex(value, s, end);
  if (s < e) {
    out.push(s === 0 && e === value.length ? value : value.slice(s, e));
  } else if (findings && (start > 0 || end < value.length)) {
    findings.push({
      code: 'header-list-empty-element',
      message: `empty element in the comma-separated list ${quoteText(value)}`,
      severity: 'quirk',
      rfc: 'RFC 3261 §7.3.1',
    });
  }
}
