/**
 * SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966; RFC 5118 for IPv6 references).
 *
 * `sip:` / `sips:` URIs are parsed into user, password, host, port, parameters and headers.
 * `tel:` URIs carry the number in `user` and an empty `host`. Any other scheme (`mailto:`,
 * `urn:`, `http:`, `isbn:` …) is opaque: RFC 4475 §3.3.2 and §3.3.4 require such URIs to parse
 * (the element then answers 416 where it matters), so the scheme is validated, the rest is kept
 * verbatim in `opaque`, and `host` is ''.
 *
 * Tolerated with a `quirk` finding, because real equipment sends them: whitespace around the
 * URI, whitespace after `sip:` (`sip: 0000123456@host`, Asterisk 1.6) and before `@`
 * (`sip: 0312345678 @host`), characters that should have been escaped, `_` in host names, an
 * empty parameter value. Everything else malformed throws `SipParseError` with code
 * `ERR_SIP_URI` and a message that quotes the URI.
 */
import { SipParseError } from '../errors.js';
import type { Finding } from './finding.js';
import {
  hexValue,
  isAlpha,
  isControl,
  isDigit,
  isHexDigit,
  isHnvChar,
  isHostChar,
  isParamChar,
  isPasswordChar,
  isPhoneDigitHex,
  isSchemeChar,
  isUserChar,
  isWhitespace,
  percentDecode,
  quoteChar,
  quoteText,
  skipWhitespace,
  trimEndIndex,
} from './charset.js';
import { Params } from './params.js';

/** A parsed URI. Every string is kept as received (escapes included) except `scheme`. */
export interface Uri {
  /** Lower-cased: `'sip' | 'sips' | 'tel'` or any other scheme (then see `opaque`). */
  scheme: string;
  /** SIP user part, still escaped (`%61lice`); for tel: the number (`+1-201-555-0123`). */
  user?: string;
  /** SIP password (after the first `:` of userinfo), still escaped. */
  password?: string;
  /** Host name, IPv4 address, or IPv6 reference with its brackets (`[2001:db8::1]`); '' for tel and opaque URIs. */
  host: string;
  /** Port, when one was given. */
  port?: number;
  /** URI parameters (`;transport=tcp;lr`), or tel parameters (`;phone-context=…`). */
  params: Params;
  /** URI headers (`?Subject=x&Priority=urgent`). */
  headers: Params;
  /** For a scheme other than sip/sips/tel: everything after `scheme:`, verbatim. */
  opaque?: string;
}

/** What kind of address a host is. */
export type HostKind = 'ipv4' | 'ipv6' | 'name';

function uriError(message: string): SipParseError {
  return new SipParseError(message, { code: 'ERR_SIP_URI' });
}

function quirk(findings: Finding[] | undefined, code: string, message: string, rfc: string): void {
  if (findings) findings.push({ code, message, severity: 'quirk', rfc });
}

/**
 * Parse a URI (RFC 3261 §19.1.1 for sip/sips, RFC 3966 for tel, opaque otherwise); see the
 * module comment for what is tolerated. Throws `SipParseError` (`ERR_SIP_URI`).
 */
export function parseUri(text: string, findings?: Finding[]): Uri {
  let start = skipWhitespace(text, 0, text.length);
  const end = trimEndIndex(text, start, text.length);
  if (start === end) throw uriError('empty URI');
  if (start !== 0 || end !== text.length) {
    quirk(findings, 'uri-surrounding-whitespace', `whitespace around URI ${quoteText(text)}`, 'RFC 3261 §25.1');
  }
  const c0 = text.charCodeAt(start);
  if (!isAlpha(c0)) {
    throw uriError(
      `URI ${quoteText(text)} does not start with a scheme: ${quoteChar(c0)} cannot begin one ` +
        `(scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), RFC 3986 §3.1)`,
    );
  }
  let i = start + 1;
  while (i < end && isSchemeChar(text.charCodeAt(i))) i++;
  const colon = text.indexOf(':', i);
  if (colon === -1 || colon >= end) throw uriError(`URI ${quoteText(text)} has no scheme: no ':' found`);
  if (text.charCodeAt(i) !== 58) {
    throw uriError(`invalid character ${quoteChar(text.charCodeAt(i))} in the scheme of URI ${quoteText(text)}`);
  }
  const scheme = text.slice(start, i).toLowerCase();
  start = i + 1;
  i = skipWhitespace(text, start, end);
  if (i !== start) {
    quirk(findings, 'uri-space-after-scheme', `whitespace after "${scheme}:" in URI ${quoteText(text)}`, 'RFC 3261 §25.1');
  }
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(text, scheme, i, end, findings);
  if (scheme === 'tel') return parseTelUri(text, i, end, findings);
  if (i >= end) throw uriError(`URI ${quoteText(text)} has nothing after "${scheme}:"`);
  for (let j = i; j < end; j++) {
    const c = text.charCodeAt(j);
    if (isWhitespace(c) || isControl(c)) {
      throw uriError(`${quoteChar(c)} inside URI ${quoteText(text)}`);
    }
  }
  return {
    scheme,
    user: undefined,
    password: undefined,
    host: '',
    port: undefined,
    params: new Params(),
    headers: new Params(),
    opaque: text.slice(i, end),
  };
}

function parseSipUri(text: string, scheme: string, i: number, end: number, findings: Finding[] | undefined): Uri {
  let user: string | undefined;
  let password: string | undefined;
  // userinfo ends at the first '@': user may contain ';' '?' '/' (RFC 4475 §3.1.1.9, §3.1.1.2).
  const at = text.indexOf('@', i);
  if (at !== -1 && at < end) {
    const infoEnd = trimEndIndex(text, i, at);
    if (infoEnd !== at) {
      quirk(findings, 'uri-space-before-at', `whitespace before '@' in URI ${quoteText(text)}`, 'RFC 3261 §25.1');
    }
    if (infoEnd === i) throw uriError(`empty user part before '@' in URI ${quoteText(text)}`);
    let colon = text.indexOf(':', i);
    if (colon >= infoEnd) colon = -1;
    const userEnd = colon === -1 ? infoEnd : colon;
    if (userEnd === i) throw uriError(`empty user part before ':' in URI ${quoteText(text)}`);
    checkChars(text, i, userEnd, isUserChar, 'user part', findings);
    user = text.slice(i, userEnd);
    if (colon !== -1) {
      checkChars(text, colon + 1, infoEnd, isPasswordChar, 'password', findings);
      password = text.slice(colon + 1, infoEnd);
    }
    i = at + 1;
  }

  if (i >= end) throw uriError(`empty host in URI ${quoteText(text)}`);
  let host: string;
  if (text.charCodeAt(i) === 91 /* [ */) {
    let close = text.indexOf(']', i);
    if (close >= end) close = -1;
    if (close === -1) throw uriError(`unterminated IPv6 reference in URI ${quoteText(text)}: no ']' after '['`);
    if (!isIPv6Address(text, i + 1, close)) {
      throw uriError(`invalid IPv6 address ${quoteText(text.slice(i, close + 1))} in URI ${quoteText(text)} (RFC 5118 §4.10)`);
    }
    host = text.slice(i, close + 1);
    i = close + 1;
  } else {
    const hostStart = i;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c === 58 || c === 59 || c === 63) break; // : ; ?
      i++;
    }
    if (i === hostStart) throw uriError(`empty host in URI ${quoteText(text)}`);
    host = text.slice(hostStart, i);
    const problem = hostError(host);
    if (problem !== undefined) throw uriError(`${problem} in URI ${quoteText(text)}`);
    if (host.indexOf('_') !== -1) {
      quirk(findings, 'uri-host-underscore', `host ${quoteText(host)} contains '_', which host names do not allow`, 'RFC 3261 §25.1');
    }
  }

  let port: number | undefined;
  if (i < end && text.charCodeAt(i) === 58 /* : */) {
    const portStart = ++i;
    let value = 0;
    while (i < end && isDigit(text.charCodeAt(i))) {
      value = value * 10 + (text.charCodeAt(i) - 48);
      i++;
    }
    const next = i < end ? text.charCodeAt(i) : -1;
    if (i === portStart || (next !== -1 && next !== 59 && next !== 63)) {
      let stop = i;
      while (stop < end && text.charCodeAt(stop) !== 59 && text.charCodeAt(stop) !== 63) stop++;
      const portText = text.slice(portStart, stop);
      if (host.charCodeAt(0) !== 91 && portText.indexOf(':') !== -1) {
        throw uriError(
          `IPv6 address in URI ${quoteText(text)} must be enclosed in '[' and ']' (RFC 3261 §19.1.1, RFC 5118 §4.2)`,
        );
      }
      if (portText.length === 0) throw uriError(`empty port after ':' in URI ${quoteText(text)}`);
      throw uriError(`port ${quoteText(portText)} is not a number in URI ${quoteText(text)}`);
    }
    if (value > 65535) throw uriError(`port ${text.slice(portStart, i)} is out of range (0-65535) in URI ${quoteText(text)}`);
    port = value;
  }

  const params = new Params();
  if (i < end && text.charCodeAt(i) === 59) i = parseUriParams(text, i, end, params, findings);
  const headers = new Params();
  if (i < end && text.charCodeAt(i) === 63) i = parseUriHeaders(text, i, end, headers, findings);
  if (i < end) throw uriError(`unexpected ${quoteChar(text.charCodeAt(i))} in URI ${quoteText(text)}`);
  return { scheme, user, password, host, port, params, headers, opaque: undefined };
}

function parseTelUri(text: string, i: number, end: number, findings: Finding[] | undefined): Uri {
  const numberStart = i;
  while (i < end && text.charCodeAt(i) !== 59) i++;
  if (i === numberStart) throw uriError(`tel: URI ${quoteText(text)} has no number`);
  const number = text.slice(numberStart, i);
  const global = number.charCodeAt(0) === 43; /* + */
  let digits = 0;
  for (let j = global ? 1 : 0; j < number.length; j++) {
    const c = number.charCodeAt(j);
    // global-number-digits allow DIGIT and visual separators; local numbers also HEXDIG "*" "#".
    const ok = global ? isDigit(c) || (isPhoneDigitHex(c) && !isHexDigit(c) && c !== 42 && c !== 35) : isPhoneDigitHex(c);
    if (!ok) {
      throw uriError(
        `invalid character ${quoteChar(c)} in the ${global ? 'global' : 'local'} number of tel: URI ${quoteText(text)} (RFC 3966 §3)`,
      );
    }
    if (isHexDigit(c) || c === 42 || c === 35) digits++;
  }
  if (digits === 0) throw uriError(`tel: URI ${quoteText(text)} has no digits in its number (RFC 3966 §3)`);
  const params = new Params();
  if (i < end) i = parseUriParams(text, i, end, params, findings);
  if (i < end) throw uriError(`unexpected ${quoteChar(text.charCodeAt(i))} in URI ${quoteText(text)}`);
  if (!global && !params.has('phone-context')) {
    quirk(
      findings,
      'tel-local-number-without-context',
      `local number in tel: URI ${quoteText(text)} has no phone-context parameter`,
      'RFC 3966 §5.1.5',
    );
  }
  return { scheme: 'tel', user: number, password: undefined, host: '', port: undefined, params, headers: new Params(), opaque: undefined };
}

/**
 * Check `text[start, end)` against a §25.1 character class, with `escaped` allowed everywhere.
 * Whitespace, control characters, `<` and `>` throw; other characters that should have been
 * escaped are a quirk (reported once per component).
 */
function checkChars(
  text: string,
  start: number,
  end: number,
  allowed: (code: number) => boolean,
  what: string,
  findings: Finding[] | undefined,
): void {
  let reported = false;
  for (let j = start; j < end; j++) {
    const c = text.charCodeAt(j);
    if (allowed(c)) continue;
    if (c === 37 /* % */) {
      if (j + 2 < end && hexValue(text.charCodeAt(j + 1)) >= 0 && hexValue(text.charCodeAt(j + 2)) >= 0) {
        j += 2;
        continue;
      }
      throw uriError(`invalid escape ${quoteText(text.slice(j, Math.min(j + 3, end)))} in the ${what} of URI ${quoteText(text)}`);
    }
    if (isWhitespace(c) || isControl(c) || c === 60 || c === 62) {
      throw uriError(`${quoteChar(c)} is not allowed in the ${what} of URI ${quoteText(text)}`);
    }
    if (!reported && findings) {
      reported = true;
      findings.push({
        code: 'uri-unescaped-char',
        message: `the ${what} of URI ${quoteText(text)} contains ${quoteChar(c)}, which must be escaped`,
        severity: 'quirk',
        rfc: 'RFC 3261 §25.1',
      });
    }
  }
}

/** URI parameters from the `;` at `i` up to `?` or `end`; returns the index where they stop. */
function parseUriParams(text: string, i: number, end: number, params: Params, findings: Finding[] | undefined): number {
  while (i < end && text.charCodeAt(i) === 59) {
    const nameStart = ++i;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c === 61 || c === 59 || c === 63) break;
      i++;
    }
    if (i === nameStart) throw uriError(`empty parameter name after ';' in URI ${quoteText(text)}`);
    checkChars(text, nameStart, i, isParamChar, 'parameter name', findings);
    const name = text.slice(nameStart, i);
    let value: string | null = null;
    if (i < end && text.charCodeAt(i) === 61) {
      const valueStart = ++i;
      while (i < end) {
        const c = text.charCodeAt(i);
        if (c === 59 || c === 63) break;
        i++;
      }
      checkChars(text, valueStart, i, isParamChar, `value of parameter "${name}"`, findings);
      value = text.slice(valueStart, i);
      if (value.length === 0) {
        quirk(findings, 'uri-param-empty-value', `parameter "${name}" has '=' but no value in URI ${quoteText(text)}`, 'RFC 3261 §25.1');
      }
    }
    if (findings && params.has(name)) {
      quirk(findings, 'uri-param-duplicate', `parameter "${name}" appears more than once in URI ${quoteText(text)}`, 'RFC 3261 §19.1.1');
    }
    params.append(name, value);
  }
  return i;
}

/** URI headers from the `?` at `i` to `end` (`hname "=" hvalue *( "&" header )`). */
function parseUriHeaders(text: string, i: number, end: number, headers: Params, findings: Finding[] | undefined): number {
  for (;;) {
    const nameStart = ++i; // skips '?' or '&'
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c === 61 || c === 38) break;
      i++;
    }
    if (i === nameStart) throw uriError(`empty header name in URI ${quoteText(text)}`);
    checkChars(text, nameStart, i, isHnvChar, 'header name', findings);
    const name = text.slice(nameStart, i);
    let value: string | null = null;
    if (i < end && text.charCodeAt(i) === 61) {
      const valueStart = ++i;
      while (i < end && text.charCodeAt(i) !== 38) i++;
      checkChars(text, valueStart, i, isHnvChar, `value of header "${name}"`, findings);
      value = text.slice(valueStart, i);
    }
    headers.append(name, value);
    if (i >= end) return i;
  }
}

/**
 * A URI as text: `sip:user:password@host:port;params?headers`, `tel:number;params`,
 * `scheme:opaque`, or `*` for the Contact wildcard. Components are emitted as stored (escaped).
 */
export function formatUri(uri: Uri): string {
  if (uri.scheme === '*') return '*';
  if (uri.opaque !== undefined) return uri.scheme + ':' + uri.opaque;
  let out = uri.scheme + ':';
  if (uri.scheme === 'tel') return out + (uri.user ?? '') + uri.params.toString();
  if (uri.user !== undefined) {
    out += uri.user;
    if (uri.password !== undefined) out += ':' + uri.password;
    out += '@';
  }
  out += uri.host;
  if (uri.port !== undefined) out += ':' + uri.port;
  out += uri.params.toString();
  const headers = uri.headers;
  for (let i = 0; i < headers.size; i++) {
    const v = headers.valueAt(i);
    out += (i === 0 ? '?' : '&') + headers.nameAt(i) + (v === null ? '' : '=' + v);
  }
  return out;
}

/**
 * The user part with `%XX` escapes decoded (`%61lice` → `alice`, `%00` → NUL), read as UTF-8
 * when the octets form UTF-8; `undefined` when the URI has no user part.
 */
export function uriUserUnescaped(uri: Uri): string | undefined {
  return uri.user === undefined ? undefined : percentDecode(uri.user);
}

/** `'ipv6'` for `[…]` or anything with `:`, `'ipv4'` for a dotted quad (each part ≤ 255), else `'name'`. */
export function hostKind(host: string): HostKind {
  if (host.charCodeAt(0) === 91 || host.indexOf(':') !== -1) return 'ipv6';
  return isIPv4Address(host) ? 'ipv4' : 'name';
}

/** True for a dotted quad `d.d.d.d`, 1–3 digits and at most 255 each, in `text[start, end)`. */
export function isIPv4Address(text: string, start = 0, end: number = text.length): boolean {
  let parts = 0;
  let i = start;
  for (;;) {
    const partStart = i;
    let value = 0;
    while (i < end && i - partStart < 4 && isDigit(text.charCodeAt(i))) {
      value = value * 10 + (text.charCodeAt(i) - 48);
      i++;
    }
    const len = i - partStart;
    if (len === 0 || len > 3 || value > 255) return false;
    parts++;
    if (i === end) return parts === 4;
    if (parts === 4 || text.charCodeAt(i) !== 46) return false;
    i++;
  }
}

/**
 * True for an IPv6 address without brackets in `text[start, end)` (RFC 4291 §2.2 text forms:
 * eight groups, one `::`, an IPv4 tail). Rejects `2001:db8:::192.0.2.1` (RFC 5118 §4.10).
 */
export function isIPv6Address(text: string, start = 0, end: number = text.length): boolean {
  let i = start;
  let groups = 0;
  let compressed = false;
  if (end - start >= 2 && text.charCodeAt(i) === 58 && text.charCodeAt(i + 1) === 58) {
    compressed = true;
    i += 2;
    if (i === end) return true;
  }
  for (;;) {
    const groupStart = i;
    while (i < end && i - groupStart < 5 && isHexDigit(text.charCodeAt(i))) i++;
    if (i < end && text.charCodeAt(i) === 46 /* . */) {
      // An IPv4 tail takes the room of two groups and must end the address.
      if (!isIPv4Address(text, groupStart, end)) return false;
      groups += 2;
      break;
    }
    const len = i - groupStart;
    if (len === 0 || len > 4) return false;
    groups++;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (compressed) return false;
      compressed = true;
      i++;
      if (i === end) break;
    } else if (i === end) return false;
  }
  return compressed ? groups <= 7 : groups === 8;
}

/**
 * Why `host` is not a valid RFC 3261 host (hostname / IPv4address / IPv6reference), or
 * `undefined` when it is. `_` is accepted here (callers report it as a quirk).
 */
export function hostError(host: string): string | undefined {
  const n = host.length;
  if (n === 0) return 'empty host';
  if (host.charCodeAt(0) === 91) {
    if (host.charCodeAt(n - 1) !== 93) return `unterminated IPv6 reference ${quoteText(host)}`;
    return isIPv6Address(host, 1, n - 1) ? undefined : `invalid IPv6 address ${quoteText(host)}`;
  }
  let labelStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? host.charCodeAt(i) : 46;
    if (c === 46) {
      if (i === labelStart) {
        if (i === n && i > 0) break; // one trailing dot is allowed (FQDN)
        return `empty label in host ${quoteText(host)}`;
      }
      if (host.charCodeAt(labelStart) === 45 || host.charCodeAt(i - 1) === 45) {
        return `label of host ${quoteText(host)} starts or ends with '-'`;
      }
      labelStart = i + 1;
    } else if (!isHostChar(c) && c !== 95) {
      return `invalid character ${quoteChar(c)} in host ${quoteText(host)}`;
    }
  }
  return undefined;
}
