/**
 * The checks behind the expect steps, as pure functions of a received message: status matchers,
 * header and SDP assertions, captures into variables, and the words reports use to describe a
 * message or a difference. Nothing here waits, sends or throws for data the system under test
 * sent: a message that does not meet an expectation gives a {@link HeaderMismatch}, which the
 * step turns into a test `<failure>`. Only a scenario mistake the loader should have caught (an
 * invalid regular expression, a compare against a non-number) throws `ERR_SCENARIO`.
 *
 * Semantics, in one place:
 * - Header names are looked up by any spelling, compact forms included (`i` = `Call-ID`), and
 *   reported by their canonical spelling.
 * - An occurrence of a header is one header line, and, for list headers (Contact, Via, Allow …,
 *   RFC 3261 §7.3.1), also each element of a comma-separated line. `equals`, `matches` and
 *   `contains` pass when ANY occurrence passes; `absent` fails when there is any.
 * - `gt`/`gte`/`lt`/`lte` compare the leading integer of the first header line (`Expires: 120`,
 *   `Session-Expires: 1800;refresher=uac`, `Min-SE: 90`). They never look inside parameters:
 *   `Contact: <sip:a@h>;expires=60` is compared as a whole and is not a number. To check a
 *   Contact's expiry, capture `param: expires` and compare the variable.
 * - `equals` is exact (case-sensitive) after trimming both sides; `contains` is a
 *   case-sensitive substring test; `matches` takes a JavaScript regular expression source
 *   without flags (write `(?i)`-free patterns such as `[Aa]sterisk`), compiled once per assertion.
 */
import { SipwrightError } from '../errors.js';
import { parseAuthItems } from '../auth/challenge.js';
import { canonicalName, headerKey, headerSpec, isListHeader } from '../sip/headers.js';
import type { SipMessage } from '../sip/message.js';
import { parseNameAddr, splitHeaderList, type NameAddr } from '../sip/name-addr.js';
import { parseParams } from '../sip/params.js';
import { effectiveDirection, mediaCodecs, parseSdp, type SessionDescription } from '../sip/sdp.js';
import type { Capture, HeaderAssertion, SdpAssertion, SourcePos, StatusMatcher } from './model.js';
import type { FailureInfo } from './result.js';
import { formatSourcePos, type Variables } from './variables.js';

/** Why a received message did not meet an assertion or a capture. */
export interface HeaderMismatch {
  /** Canonical header name (`Call-ID`), `SDP`, or a capture source (`status`, `body` …). */
  header: string;
  /** One line for a person, e.g. `header Expires: expected >= 60, received "30"`. */
  message: string;
  /** What was expected, as in the message (`>= 60`, `present`, `"abc"`). */
  expected: string;
  /** What came, as in the message: quoted values, or `absent`. */
  received: string;
  /** Where the assertion or capture was written. */
  pos: SourcePos;
}

// ---------------------------------------------------------------------------------------------
// Status

/** True when `status` matches one entry: an exact code, or a class such as `2xx`. An empty matcher matches any status. */
export function matchStatus(status: number, m: StatusMatcher): boolean {
  if (m.length === 0) return true;
  for (const entry of m) {
    if (typeof entry === 'number' ? entry === status : Math.floor(status / 100) === entry.charCodeAt(0) - 48) return true;
  }
  return false;
}

/** `200`, `2xx`, `180 or 183`, `180, 183 or 2xx`; `any status` for an empty matcher. */
export function describeStatusMatcher(m: StatusMatcher): string {
  if (m.length === 0) return 'any status';
  if (m.length === 1) return String(m[0]);
  return `${m.slice(0, -1).join(', ')} or ${m[m.length - 1]}`;
}

/** `486 Busy Here` for a response, `INVITE sip:bob@example.com` for a request. */
export function describeMessage(msg: SipMessage): string {
  if (msg.isResponse) return msg.reason ? `${msg.status} ${msg.reason}` : String(msg.status);
  return `${msg.method} ${msg.requestUri}`;
}

// ---------------------------------------------------------------------------------------------
// Headers

const OP_WORDS: Readonly<Record<'gt' | 'gte' | 'lt' | 'lte', string>> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

/** A leading integer followed by the end, whitespace, `;` or `,` (`1800;refresher=uac`). */
const LEADING_INTEGER = /^[+-]?\d+(?=$|[\s;,])/;

const regexCache = new WeakMap<HeaderAssertion | Capture, RegExp>();

/**
 * Check every assertion against `msg`; the first that fails gives the mismatch, `undefined` when
 * all pass. Free when `assertions` is empty.
 */
export function checkHeaders(msg: SipMessage, assertions: readonly HeaderAssertion[]): HeaderMismatch | undefined {
  for (let i = 0; i < assertions.length; i++) {
    const bad = checkHeader(msg, assertions[i]);
    if (bad) return bad;
  }
  return undefined;
}

function checkHeader(msg: SipMessage, a: HeaderAssertion): HeaderMismatch | undefined {
  const key = headerKey(a.name);
  const lines = headerLines(msg, key);
  const header = displayName(key, a.name);
  const fail = (expected: string, received: string): HeaderMismatch => ({
    header,
    message: `header ${header}: expected ${expected}, ${received === 'absent' ? 'absent' : `received ${received}`}`,
    expected,
    received,
    pos: a.pos,
  });
  switch (a.op) {
    case 'present':
      return lines.length > 0 ? undefined : fail('present', 'absent');
    case 'absent':
      return lines.length === 0 ? undefined : fail('absent', quoteValues(lines));
    case 'equals': {
      const want = (a.value ?? '').trim();
      return anyOccurrence(key, lines, (v) => v === want) ? undefined : fail(JSON.stringify(want), receivedText(lines));
    }
    case 'contains': {
      const want = a.value ?? '';
      return anyOccurrence(key, lines, (v) => v.includes(want))
        ? undefined
        : fail(`to contain ${JSON.stringify(want)}`, receivedText(lines));
    }
    case 'matches': {
      const re = compiledRegex(a, a.value ?? '', `header ${header}`);
      return anyOccurrence(key, lines, (v) => re.test(v)) ? undefined : fail(`to match /${re.source}/`, receivedText(lines));
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const limit = Number(a.value);
      if (a.value === undefined || a.value.trim() === '' || !Number.isFinite(limit)) {
        throw scenarioError(a.pos, `header ${header}: ${a.op} needs a number, got ${JSON.stringify(a.value ?? '')}`);
      }
      const expected = `${OP_WORDS[a.op]} ${a.value.trim()}`;
      if (lines.length === 0) return fail(expected, 'absent');
      const m = LEADING_INTEGER.exec(lines[0]);
      if (!m) return fail(expected, `${JSON.stringify(lines[0])} (not a number)`);
      const n = Number(m[0]);
      const ok = a.op === 'gt' ? n > limit : a.op === 'gte' ? n >= limit : a.op === 'lt' ? n < limit : n <= limit;
      return ok ? undefined : fail(expected, JSON.stringify(lines[0]));
    }
    default: {
      const op: never = a.op;
      throw scenarioError(a.pos, `header ${header}: unknown operator ${String(op)}`);
    }
  }
}

/** Values of every line of header `key`, in order (values are already trimmed by the parser). */
function headerLines(msg: SipMessage, key: string): string[] {
  const out: string[] = [];
  const hs = msg.headers;
  for (let i = 0; i < hs.length; i++) if (hs[i].key === key) out.push(hs[i].value);
  return out;
}

/** True when a line, or for a list header an element of a line, passes `test`. */
function anyOccurrence(key: string, lines: readonly string[], test: (value: string) => boolean): boolean {
  const list = isListHeader(key);
  for (const line of lines) {
    if (test(line)) return true;
    if (list && line.includes(',')) for (const element of splitHeaderList(line)) if (test(element)) return true;
  }
  return false;
}

function receivedText(lines: readonly string[]): string {
  return lines.length === 0 ? 'absent' : quoteValues(lines);
}

function quoteValues(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/** The canonical spelling of a registered header, else the user's own. */
function displayName(key: string, written: string): string {
  return headerSpec(key) ? canonicalName(key) : written;
}

function compiledRegex(owner: HeaderAssertion | Capture, source: string, what: string): RegExp {
  let re = regexCache.get(owner);
  if (re === undefined) {
    try {
      re = new RegExp(source);
    } catch (err) {
      throw scenarioError(owner.pos, `${what}: invalid regular expression /${source}/: ${(err as Error).message}`);
    }
    regexCache.set(owner, re);
  }
  return re;
}

function scenarioError(pos: SourcePos, message: string): SipwrightError {
  return new SipwrightError('ERR_SCENARIO', `${formatSourcePos(pos)}: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// SDP

const sdpCache = new WeakMap<SipMessage, SessionDescription | Error>();

/**
 * The parsed SDP body of `msg` (cached per message), an `Error` saying why the body is not
 * usable SDP, or `undefined` when there is no body or it is not `application/sdp`.
 */
export function messageSdp(msg: SipMessage): SessionDescription | Error | undefined {
  if (msg.body.length === 0 || !isSdpContentType(msg.get('content-type'))) return undefined;
  let sdp = sdpCache.get(msg);
  if (sdp === undefined) {
    try {
      sdp = parseSdp(msg.body);
    } catch (err) {
      sdp = err as Error;
    }
    sdpCache.set(msg, sdp);
  }
  return sdp;
}

function isSdpContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const semi = value.indexOf(';');
  return (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase() === 'application/sdp';
}

/**
 * Check the SDP body (RFC 8866) against `a`, on the first `m=audio` section. `present: false`
 * requires a message without an SDP body; otherwise (and whenever codecs, direction or
 * portNonZero is asked for) the body must be `application/sdp` and parse. Codecs are compared
 * by encoding name, case-insensitively (`pcmu` = `PCMU`), with static payload types resolved
 * without an rtpmap (RFC 3551 §6); a codec written `name/rate[/channels]` must match those too.
 * The direction is the effective one (media, else session, else sendrecv; RFC 8866 §6.7).
 * `portNonZero: true` requires a non-zero port (a port of 0 rejects the stream, RFC 3264 §6);
 * `false` checks nothing.
 */
export function checkSdp(msg: SipMessage, a: SdpAssertion): HeaderMismatch | undefined {
  const fail = (expected: string, received: string): HeaderMismatch => ({
    header: 'SDP',
    message: `SDP: expected ${expected}, received ${received}`,
    expected,
    received,
    pos: a.pos,
  });
  const wantsMedia = (a.codecs !== undefined && a.codecs.length > 0) || a.direction !== undefined || a.portNonZero === true;
  if (a.present === undefined && !wantsMedia) return undefined;
  const sdp = messageSdp(msg);
  if (a.present === false) {
    if (sdp === undefined) return undefined;
    return fail('no SDP body', `application/sdp (${msg.body.length} bytes)`);
  }
  if (sdp === undefined) {
    if (msg.body.length === 0) return fail('an SDP body', 'no body');
    return fail('an SDP body', `Content-Type ${msg.get('content-type') ?? '(none)'}`);
  }
  if (sdp instanceof Error) return fail('an SDP body', `unparsable SDP (${sdp.message})`);

  if (!wantsMedia) return undefined;
  const index = sdp.media.findIndex((m) => m.media.toLowerCase() === 'audio');
  if (index < 0) {
    const kinds = sdp.media.map((m) => m.media);
    return fail('an audio stream', kinds.length ? `only ${kinds.join(', ')}` : 'no media');
  }
  const media = sdp.media[index];

  if (a.codecs !== undefined && a.codecs.length > 0) {
    const offered = mediaCodecs(media);
    const missing = a.codecs.filter((want) => !offered.some((c) => codecMatches(want, c)));
    if (missing.length > 0) {
      const names = media.formats.map((f) => {
        const c = offered.find((o) => String(o.payloadType) === f);
        return c ? c.encodingName : f;
      });
      return fail(
        `${a.codecs.length === 1 ? 'codec' : 'codecs'} ${a.codecs.join(', ')}`,
        `${names.join(', ') || 'no codecs'} (missing ${missing.join(', ')})`,
      );
    }
  }
  if (a.direction !== undefined) {
    const direction = effectiveDirection(sdp, index);
    if (direction !== a.direction) return fail(`direction ${a.direction}`, direction);
  }
  if (a.portNonZero === true && media.port === 0) return fail('a non-zero audio port', 'port 0');
  return undefined;
}

function codecMatches(want: string, codec: { encodingName: string; clockRate: number; channels?: number }): boolean {
  const [name, rate, channels] = want.split('/');
  if (name.trim().toLowerCase() !== codec.encodingName.toLowerCase()) return false;
  if (rate !== undefined && Number(rate) !== codec.clockRate) return false;
  if (channels !== undefined && Number(channels) !== (codec.channels ?? 1)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Captures

/** Headers whose value is a name-addr or addr-spec with header parameters (RFC 3261 §25.1). */
const NAME_ADDR_HEADERS: ReadonlySet<string> = new Set([
  'from', 'to', 'contact', 'route', 'record-route', 'reply-to', 'refer-to', 'referred-by',
  'p-asserted-identity', 'p-preferred-identity', 'diversion', 'path', 'service-route',
  'p-called-party-id', 'history-info',
]);

/** Headers whose parameters are comma-separated auth-params (RFC 3261 §25.1, RFC 7616). */
const AUTH_HEADERS: ReadonlySet<string> = new Set([
  'www-authenticate', 'proxy-authenticate', 'authorization', 'proxy-authorization', 'authentication-info',
]);

/**
 * Take values out of `msg` into `vars` (the scope the step runs in). `from` is one of the
 * lower-case words `status`, `reason`, `method` (a response's is its CSeq method),
 * `request-uri`, `body`, `call-id`, or a header name in any spelling (so `Reason`, capitalised,
 * is the RFC 3326 header while `reason` is the reason phrase). The first line of the header is
 * used. `param` takes a header parameter: from the parsed name-addr for From, To, Contact and
 * the like (`tag`, `expires`), from the top Via (`branch`, `received`, `rport`), from the
 * auth-params of WWW-Authenticate and friends (`nonce`, `realm`), else from `;name=value`
 * after the value (`refresher` of Session-Expires); a quoted value is unquoted, a flag gives ''.
 * `regex` then keeps its first group, or the whole match when it has none.
 *
 * All or nothing: the first capture whose source is missing gives the mismatch and no variable
 * is set.
 */
export function applyCaptures(msg: SipMessage, captures: readonly Capture[], vars: Variables): HeaderMismatch | undefined {
  if (captures.length === 0) return undefined;
  const values: string[] = [];
  for (const c of captures) {
    const taken = captureValue(msg, c);
    if (typeof taken !== 'string') return taken;
    values.push(taken);
  }
  for (let i = 0; i < captures.length; i++) vars.set(captures[i].variable, values[i]);
  return undefined;
}

function captureValue(msg: SipMessage, c: Capture): string | HeaderMismatch {
  const fail = (header: string, problem: string, expected: string, received: string): HeaderMismatch => ({
    header,
    message: `capture ${c.variable}: ${problem}`,
    expected,
    received,
    pos: c.pos,
  });
  if (c.param !== undefined && isWord(c.from)) {
    throw scenarioError(c.pos, `capture ${c.variable}: param applies to a header, not to ${c.from}`);
  }
  let source: string;
  let value: string;
  switch (c.from) {
    case 'status':
    case 'reason':
      if (!msg.isResponse) return fail(c.from, `a request has no ${c.from === 'status' ? 'status code' : 'reason phrase'}`, 'a response', describeMessage(msg));
      source = c.from;
      value = c.from === 'status' ? String(msg.status) : msg.reason;
      break;
    case 'method':
      source = 'method';
      if (msg.isRequest) value = msg.method;
      else {
        const cseq = msg.get('cseq');
        const m = cseq === undefined ? null : /\S+\s+(\S+)/.exec(cseq);
        if (!m) return fail('CSeq', 'the response has no CSeq method', 'CSeq', cseq === undefined ? 'absent' : JSON.stringify(cseq));
        value = m[1];
      }
      break;
    case 'request-uri':
      if (!msg.isRequest) return fail('request-uri', 'a response has no Request-URI', 'a request', describeMessage(msg));
      source = 'request-uri';
      value = msg.requestUri;
      break;
    case 'body':
      source = 'body';
      if (msg.body.length === 0) return fail('body', 'the message has no body', 'a body', 'absent');
      value = msg.body.toString('utf8');
      break;
    default: {
      const key = headerKey(c.from);
      source = displayName(key, c.from);
      const raw = msg.get(key);
      if (raw === undefined) return fail(source, `header ${source} is absent`, `header ${source}`, 'absent');
      if (c.param === undefined) {
        value = raw;
        break;
      }
      let param: string | null | undefined;
      try {
        param = headerParam(msg, key, raw, c.param);
      } catch (err) {
        return fail(source, `header ${source} does not parse: ${(err as Error).message}`, `parameter ${c.param}`, JSON.stringify(raw));
      }
      if (param === undefined) {
        return fail(source, `header ${source} has no parameter ${c.param}`, `parameter ${c.param}`, JSON.stringify(raw));
      }
      value = param ?? '';
    }
  }
  if (c.regex !== undefined) {
    const re = compiledRegex(c, c.regex, `capture ${c.variable}`);
    const m = re.exec(value);
    if (!m) return fail(source, `/${re.source}/ does not match ${JSON.stringify(value)}`, `/${re.source}/`, JSON.stringify(value));
    value = m.length > 1 ? (m[1] ?? '') : m[0];
  }
  return value;
}

function isWord(from: string): boolean {
  return from === 'status' || from === 'reason' || from === 'method' || from === 'request-uri' || from === 'body';
}

/** A header parameter: `undefined` when absent, `null` for a flag. Throws when the header does not parse. */
function headerParam(msg: SipMessage, key: string, raw: string, name: string): string | null | undefined {
  if (key === 'via') return msg.topVia.params.getUnquoted(name);
  if (NAME_ADDR_HEADERS.has(key)) {
    let na: NameAddr;
    if (key === 'from') na = msg.from;
    else if (key === 'to') na = msg.to;
    else if (key === 'contact') na = msg.contacts[0];
    else na = parseNameAddr(isListHeader(key) && raw.includes(',') ? splitHeaderList(raw)[0] : raw);
    return na.params.getUnquoted(name);
  }
  if (AUTH_HEADERS.has(key)) {
    const item = parseAuthItems(raw)[0];
    return item === undefined ? undefined : item.params[name.toLowerCase()];
  }
  const semi = raw.indexOf(';');
  if (semi < 0) return undefined;
  return parseParams(raw, semi).getUnquoted(name);
}

// ---------------------------------------------------------------------------------------------
// Comparing messages

/**
 * The first header whose values differ between two messages, or `undefined` when none does:
 * headers in `expected`'s order first, then headers only `received` has, in its order. Values
 * are compared element by element (list headers split, RFC 3261 §7.3.1) after normalising
 * whitespace: runs become one space, and none is kept around `;`, `,` and `=` (outside quotes). Headers named in `ignore` (any spelling) are skipped. Returns the
 * canonical name of a registered header, else the name as written.
 */
export function firstDifferingHeader(expected: SipMessage, received: SipMessage, ignore: readonly string[] = []): string | undefined {
  const skip = new Set(ignore.map(headerKey));
  for (const h of expected.headers) {
    if (skip.has(h.key)) continue;
    skip.add(h.key);
    if (!sameValues(expected.getAll(h.key), received.getAll(h.key))) return displayName(h.key, h.name);
  }
  for (const h of received.headers) if (!skip.has(h.key)) return displayName(h.key, h.name);
  return undefined;
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (normaliseWhitespace(a[i]) !== normaliseWhitespace(b[i])) return false;
  return true;
}

/**
 * Outside quoted strings: runs of whitespace become one space, and whitespace next to `;`, `,`
 * or `=` goes (SEMI, COMMA and EQUAL allow it, RFC 3261 §25.1). Quoted strings are kept as they are.
 */
function normaliseWhitespace(value: string): string {
  let out = '';
  let pendingSpace = false;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      out += c;
      if (c === '\\' && i + 1 < value.length) out += value[++i];
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      pendingSpace = true;
      continue;
    }
    if (pendingSpace && out !== '' && !SEPARATORS.has(c) && !SEPARATORS.has(out[out.length - 1])) out += ' ';
    pendingSpace = false;
    out += c;
    if (c === '"') quoted = true;
  }
  return out;
}

const SEPARATORS: ReadonlySet<string> = new Set([';', ',', '=']);

// ---------------------------------------------------------------------------------------------
// Reports

/** A mismatch as the test `<failure>` of the step `step` (as the user wrote it, e.g. `expect: 200`). */
export function mismatchFailure(mismatch: HeaderMismatch, step: string): FailureInfo {
  return {
    message: mismatch.message,
    step,
    pos: mismatch.pos,
    expected: mismatch.expected,
    received: mismatch.received,
    header: mismatch.header,
  };
}
