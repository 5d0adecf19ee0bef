/**
 * Via header elements (RFC 3261 §20.42, §25.1 via-parm; RFC 3581 rport; RFC 5118 IPv6).
 *
 * `via-parm = sent-protocol LWS sent-by *( SEMI via-params )`, where the slashes of
 * sent-protocol and the colon of sent-by may have whitespace around them (RFC 4475 §3.1.1.1).
 * `received=[2001:db8::9:255]` (brackets, which RFC 3261's grammar lacks) is accepted with a
 * quirk finding, as RFC 5118 §4.5 asks.
 */
import { SipParseError } from '../errors.js';
import type { Finding } from './finding.js';
import { isDigit, isHostChar, isToken, isWhitespace, quoteChar, quoteText, skipWhitespace } from './charset.js';
import { Params, parseParams } from './params.js';
import { hostError, isIPv6Address } from './uri.js';

/** One Via element. */
export interface Via {
  /** Protocol name as received, normally `SIP`. */
  protocol: string;
  /** Protocol version as received, normally `2.0`. */
  version: string;
  /** Transport, upper-cased: `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS` or another token. */
  transport: string;
  /** sent-by host; an IPv6 reference keeps its brackets. */
  host: string;
  /** sent-by port, when given. */
  port?: number;
  /** All via-params in order, as received (`branch`, `received`, `rport`, `maddr`, `ttl`…). */
  params: Params;
  /** The `branch` parameter (RFC 3261 §8.1.1.7). */
  branch?: string;
  /** The `received` parameter, without brackets around an IPv6 address (RFC 5118 §4.5). */
  received?: string;
  /** RFC 3581 `rport`: the port when it has a value, `true` for the bare flag a client sends. */
  rport?: number | true;
}

/**
 * A Via whose `branch`, `received` and `rport` are views of `params`: reading them parses the
 * parameter, assigning them updates it (`undefined` removes it), so `formatVia` stays in step.
 */
class ViaElement implements Via {
  protocol: string;
  version: string;
  transport: string;
  host: string;
  port: number | undefined;
  params: Params;

  constructor(protocol: string, version: string, transport: string, host: string, port: number | undefined, params: Params) {
    this.protocol = protocol;
    this.version = version;
    this.transport = transport;
    this.host = host;
    this.port = port;
    this.params = params;
  }

  get branch(): string | undefined {
    const v = this.params.get('branch');
    return v === null || v === undefined ? undefined : v;
  }
  set branch(value: string | undefined) {
    if (value === undefined) this.params.delete('branch');
    else this.params.set('branch', value);
  }

  get received(): string | undefined {
    const v = this.params.get('received');
    if (v === null || v === undefined) return undefined;
    return v.charCodeAt(0) === 91 && v.charCodeAt(v.length - 1) === 93 ? v.slice(1, -1) : v;
  }
  set received(value: string | undefined) {
    if (value === undefined) this.params.delete('received');
    else this.params.set('received', value);
  }

  get rport(): number | true | undefined {
    const v = this.params.get('rport');
    if (v === undefined) return undefined;
    if (v === null) return true;
    return portValue(v, 0, v.length);
  }
  set rport(value: number | true | undefined) {
    if (value === undefined) this.params.delete('rport');
    else this.params.set('rport', value === true ? null : String(value));
  }
}

function viaError(text: string, detail: string): SipParseError {
  return new SipParseError(`malformed Via ${quoteText(text)}: ${detail}`, { code: 'ERR_SIP_HEADER' });
}

/** The port in `s[start, end)`: 1–5 digits, at most 65535; `undefined` otherwise. */
function portValue(s: string, start: number, end: number): number | undefined {
  if (end === start || end - start > 5) return undefined;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return undefined;
    v = v * 10 + (c - 48);
  }
  return v <= 65535 ? v : undefined;
}

/**
 * Parse one via-parm (split a multi-value Via with `splitHeaderList` first). Throws
 * `SipParseError` (`ERR_SIP_HEADER`) with a message naming what is missing or wrong.
 */
export function parseVia(text: string, findings?: Finding[]): Via {
  const end = text.length;
  let i = skipWhitespace(text, 0, end);
  if (i >= end) throw new SipParseError('empty Via value', { code: 'ERR_SIP_HEADER' });

  // sent-protocol = protocol-name SLASH protocol-version SLASH transport; SLASH = SWS "/" SWS
  let s = i;
  while (i < end && isToken(text.charCodeAt(i))) i++;
  if (i === s) throw viaError(text, `expected the protocol name, found ${quoteChar(text.charCodeAt(i))}`);
  const protocol = text.slice(s, i);
  i = expectSlash(text, i, end, 'after the protocol name');
  s = i;
  while (i < end && isToken(text.charCodeAt(i))) i++;
  if (i === s) throw viaError(text, 'missing protocol version');
  const version = text.slice(s, i);
  i = expectSlash(text, i, end, 'after the protocol version');
  s = i;
  while (i < end && isToken(text.charCodeAt(i))) i++;
  if (i === s) throw viaError(text, 'missing transport');
  const transport = text.slice(s, i).toUpperCase();

  // LWS sent-by
  if (i >= end) throw viaError(text, `no sent-by after "${text.slice(0, i).trim()}"`);
  if (!isWhitespace(text.charCodeAt(i))) {
    throw viaError(text, `expected whitespace after the transport, found ${quoteChar(text.charCodeAt(i))}`);
  }
  i = skipWhitespace(text, i, end);
  if (i >= end || text.charCodeAt(i) === 59) throw viaError(text, 'no sent-by host');
  let host: string;
  if (text.charCodeAt(i) === 91) {
    let close = text.indexOf(']', i);
    if (close >= end) close = -1;
    if (close === -1) throw viaError(text, "unterminated IPv6 reference: no ']' after '['");
    if (!isIPv6Address(text, i + 1, close)) throw viaError(text, `invalid IPv6 address ${quoteText(text.slice(i, close + 1))}`);
    host = text.slice(i, close + 1);
    i = close + 1;
  } else {
    s = i;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (!isHostChar(c) && c !== 95) break;
      i++;
    }
    if (i === s) throw viaError(text, `expected the sent-by host, found ${quoteChar(text.charCodeAt(i))}`);
    host = text.slice(s, i);
    const problem = hostError(host);
    if (problem !== undefined) throw viaError(text, problem);
    if (findings && host.indexOf('_') !== -1) {
      findings.push({
        code: 'via-host-underscore',
        message: `Via sent-by host ${quoteText(host)} contains '_', which host names do not allow`,
        severity: 'quirk',
        rfc: 'RFC 3261 §25.1',
      });
    }
  }

  // [ COLON port ]; COLON = SWS ":" SWS
  let port: number | undefined;
  i = skipWhitespace(text, i, end);
  if (i < end && text.charCodeAt(i) === 58) {
    i = skipWhitespace(text, i + 1, end);
    s = i;
    while (i < end && isDigit(text.charCodeAt(i))) i++;
    if (i === s) {
      throw viaError(text, i < end ? `expected a port after ':', found ${quoteChar(text.charCodeAt(i))}` : "empty port after ':'");
    }
    port = portValue(text, s, i);
    if (port === undefined) throw viaError(text, `port ${text.slice(s, i)} is out of range (0-65535)`);
    i = skipWhitespace(text, i, end);
  }
  if (i < end && text.charCodeAt(i) !== 59) {
    const c = text.charCodeAt(i);
    throw viaError(
      text,
      c === 44
        ? "unexpected ',': split a Via list into elements first (splitHeaderList)"
        : `unexpected ${quoteChar(c)} after the sent-by`,
    );
  }

  const params = parseParams(text, i, findings);
  const rport = params.get('rport');
  if (typeof rport === 'string' && portValue(rport, 0, rport.length) === undefined) {
    throw viaError(text, `rport value ${quoteText(rport)} is not a port number (RFC 3581 §4)`);
  }
  const received = params.get('received');
  if (findings && typeof received === 'string' && received.charCodeAt(0) === 91) {
    findings.push({
      code: 'via-received-ipv6-brackets',
      message: `Via received parameter ${quoteText(received)} has '[' ']' around the IPv6 address`,
      severity: 'quirk',
      rfc: 'RFC 5118 §4.5',
    });
  }
  return new ViaElement(protocol, version, transport, host, port, params);
}

function expectSlash(text: string, i: number, end: number, where: string): number {
  i = skipWhitespace(text, i, end);
  if (i >= end) throw viaError(text, `missing '/' ${where}`);
  if (text.charCodeAt(i) !== 47) throw viaError(text, `expected '/' ${where}, found ${quoteChar(text.charCodeAt(i))}`);
  return skipWhitespace(text, i + 1, end);
}

/** Options for `createVia`. */
export interface ViaInit {
  /** Transport token; upper-cased. */
  transport: string;
  /** sent-by host (IPv6 with brackets). */
  host: string;
  /** sent-by port. */
  port?: number;
  /** `branch` parameter, emitted first. */
  branch?: string;
  /** `true` adds the bare `rport` flag (RFC 3581 §3). */
  rport?: number | true;
  /** Further parameters, emitted after branch and rport. */
  params?: Params;
}

/** A Via (`SIP/2.0`) with accessor-backed `branch`/`received`/`rport`, as `parseVia` returns. */
export function createVia(init: ViaInit): Via {
  const params = new Params();
  if (init.branch !== undefined) params.append('branch', init.branch);
  if (init.rport !== undefined) params.append('rport', init.rport === true ? null : String(init.rport));
  if (init.params) for (const [n, v] of init.params) params.append(n, v);
  return new ViaElement('SIP', '2.0', init.transport.toUpperCase(), init.host, init.port, params);
}

/**
 * A via-parm as text: `SIP/2.0/UDP host:port;params`. `params` is the source of truth; for a
 * plain object whose `branch`/`received`/`rport` fields are set but absent from `params`, those
 * fields are appended.
 */
export function formatVia(v: Via): string {
  let out = v.protocol + '/' + v.version + '/' + v.transport + ' ' + v.host;
  if (v.port !== undefined) out += ':' + v.port;
  out += v.params.toString();
  if (!(v instanceof ViaElement)) {
    if (v.branch !== undefined && !v.params.has('branch')) out += ';branch=' + v.branch;
    if (v.received !== undefined && !v.params.has('received')) out += ';received=' + v.received;
    if (v.rport !== undefined && !v.params.has('rport')) out += v.rport === true ? ';rport' : ';rport=' + v.rport;
  }
  return out;
}

/** True when a branch carries the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7; case-sensitive). */
export function hasMagicCookie(branch: string | null | undefined): boolean {
  return typeof branch === 'string' && branch.startsWith('z9hG4bK');
}
