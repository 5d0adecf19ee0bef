/**
 * The tolerant SIP message parser (RFC 3261 §7). It splits the start line and header lines
 * and finds the body; structured headers are parsed later, on demand (see message.ts).
 *
 * Tolerated and recorded as findings: bare LF line ends, spaces inside the Request-URI
 * (`REGISTER sip: 192.0.2.1 SIP/2.0`, seen from Asterisk 1.6), extra spaces in the start line,
 * bytes after the body in a datagram, a header block that ends at the end of a datagram without
 * the empty line. Rejected with a {@link SipParseError} carrying the status a server would answer
 * and the 1-based line it failed on: a start line that is not SIP (400), a version other than
 * SIP/2.0 (505), a status code outside 100–699, a header line with no colon or an invalid name,
 * a continuation line before the first header, a NUL byte in the header block, a Content-Length
 * that is not a number or promises more bytes than were received (RFC 3261 §18.3), a header
 * line longer than `maxLineBytes` (513), a header block with no end at all.
 *
 * What the parser keeps (so that `serializeMessage(parseMessage(b), { contentLength: 'keep' })`
 * gives back `b`): header order, each name as written, the separator between name and value as
 * written (`Via:SIP/2.0/UDP`, `To:<sip:…>`), each value as written. What it normalises: bare LF
 * becomes CRLF, folded lines are joined with one space (§7.3.1), whitespace at the end of a
 * header value and runs of spaces in the start line are dropped.
 */
import { SipParseError } from '../errors.js';
import { isToken, isTokenString } from './charset.js';
import type { Finding } from './finding.js';
import { headerKey } from './headers.js';
import { SipMessage, type Header } from './message.js';

/** Options for {@link parseMessage}. */
export interface ParseOptions {
  /**
   * True for a datagram (UDP): the body may end at the end of the datagram without a
   * Content-Length, and a Content-Length larger than the bytes present is an error. False for
   * a message already framed by a stream framer, whose length is exact.
   */
  datagram?: boolean;
  /** Reject any single header line longer than this many bytes (default 8192). */
  maxLineBytes?: number;
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
/** The separator almost every header uses; shared so parsed headers do not allocate one. */
const COLON_SP = ': ';

/** Parse one SIP message from its bytes. Throws {@link SipParseError} when it is not SIP. */
export function parseMessage(bytes: Buffer, opts: ParseOptions = {}): SipMessage {
  const datagram = opts.datagram ?? true;
  const maxLine = opts.maxLineBytes ?? 8192;
  const findings: Finding[] = [];
  const len = bytes.length;

  // RFC 3261 §7.5: ignore CRLFs before the start line.
  let start = 0;
  while (start < len && (bytes[start] === CR || bytes[start] === LF)) start++;
  if (start === len) throw new SipParseError('empty message', { line: 1 });

  // The header block is [start, headEnd), the last header line's line end included.
  let headEnd: number;
  let bodyStart: number;
  let bareLf = false;
  const crlf2 = bytes.indexOf(CRLFCRLF, start);
  if (crlf2 >= 0) {
    headEnd = crlf2 + 2;
    bodyStart = crlf2 + 4;
  } else {
    const blank = findBlankLine(bytes, start);
    if (blank >= 0) {
      headEnd = blank;
      bodyStart = bytes[blank] === CR ? blank + 2 : blank + 1;
      if (bytes[blank] === LF) bareLf = true;
    } else if (bytes[len - 1] === LF) {
      // Datagram with headers only and no empty line: tolerated, the message has no body.
      headEnd = len;
      bodyStart = len;
      findings.push({
        code: 'missing-empty-line',
        severity: 'violation',
        message: 'header block does not end with an empty line (CRLF CRLF)',
        rfc: 'RFC 3261 §7',
      });
    } else {
      // Say "not SIP" rather than "truncated" when the first line is not a start line at all.
      let firstEnd = bytes.indexOf(LF, start);
      if (firstEnd < 0) firstEnd = len;
      if (firstEnd > start && bytes[firstEnd - 1] === CR) firstEnd--;
      parseStartLine(bytes.toString('utf8', start, firstEnd), new SipMessage(), []);
      const lines = countLines(bytes, start, len);
      throw new SipParseError(
        `message truncated: line ${lines} does not end with CRLF and no empty line ends the headers`,
        { line: lines },
      );
    }
  }

  const head = bytes.toString('utf8', start, headEnd);
  const nul = head.indexOf('\0');
  if (nul >= 0) throw new SipParseError('NUL byte in the header block', { line: lineOf(head, nul) });

  const msg = new SipMessage();
  msg.raw = bytes;
  msg.findings = findings;

  // Walk the lines by index: no intermediate array, no per-line substring except name and value.
  const headers: Header[] = [];
  const headLen = head.length;
  const lineLimit = (maxLine / 3) | 0; // below this many UTF-16 units a line cannot exceed maxLine bytes
  let clValue: string | undefined;
  let clLine = 0;
  let pos = 0;
  let lineNo = 0;
  while (pos < headLen) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = headLen;
    let end = nl;
    if (end > pos && head.charCodeAt(end - 1) === CR) end--;
    else if (nl < headLen) bareLf = true;
    lineNo++;
    const lineStart = pos;
    pos = nl + 1;
    if (end - lineStart > lineLimit && Buffer.byteLength(head.slice(lineStart, end)) > maxLine) {
      throw new SipParseError(`header line ${lineNo} is longer than ${maxLine} bytes`, {
        line: lineNo,
        status: 513,
        code: 'ERR_SIP_TOO_LARGE',
      });
    }
    if (lineNo === 1) {
      parseStartLine(head.slice(lineStart, end), msg, findings);
      continue;
    }
    if (end === lineStart) {
      // An empty line before the CRLF CRLF found above: the lines before it ended with bare LF,
      // so this is where the headers really end (RFC 3261 §7).
      bodyStart = start + Buffer.byteLength(head.slice(0, pos));
      break;
    }
    const c0 = head.charCodeAt(lineStart);
    if (c0 === SP || c0 === HTAB) {
      // RFC 3261 §7.3.1: a line starting with whitespace continues the previous header.
      if (headers.length === 0) throw new SipParseError('continuation line before any header', { line: lineNo });
      const prev = headers[headers.length - 1];
      const s = skipLws(head, lineStart, end);
      const e = trimLwsEnd(head, s, end);
      if (e > s) {
        const more = head.slice(s, e);
        prev.value = prev.value.length ? prev.value + ' ' + more : more;
      }
      continue;
    }
    // header-name = token; HCOLON = *( SP / HTAB ) ":" SWS (RFC 3261 §25.1). One pass finds the
    // name's end and checks it; anything unexpected goes to headerLineError for the exact error.
    let colon = lineStart;
    while (colon < end && isToken(head.charCodeAt(colon))) colon++;
    const nameEnd = colon;
    while (colon < end && (head.charCodeAt(colon) === SP || head.charCodeAt(colon) === HTAB)) colon++;
    if (nameEnd === lineStart || colon === end || head.charCodeAt(colon) !== 0x3a) {
      throw headerLineError(head, lineStart, end, lineNo);
    }
    const name = head.slice(lineStart, nameEnd);
    const vs = skipLws(head, colon + 1, end);
    const ve = trimLwsEnd(head, vs, end);
    const hcolon =
      nameEnd === colon && vs === colon + 2 && head.charCodeAt(colon + 1) === SP ? COLON_SP : head.slice(nameEnd, vs);
    const key = headerKey(name);
    const value = head.slice(vs, ve);
    if (key === 'content-length' && clValue === undefined) {
      clValue = value;
      clLine = lineNo;
    }
    headers.push({ name, key, value, hcolon });
  }
  msg.headers = headers;
  if (bareLf) {
    findings.push({
      code: 'bare-lf',
      severity: 'quirk',
      message: 'lines end with LF instead of CRLF',
      rfc: 'RFC 3261 §7',
    });
  }
  if (clValue !== undefined) {
    // A folded Content-Length is read from its joined value.
    for (let i = 0; i < headers.length; i++) {
      if (headers[i].key === 'content-length') {
        clValue = headers[i].value;
        break;
      }
    }
  }
  msg.body = sliceBody(bytes, bodyStart, clValue, clLine, msg.body, datagram, findings);
  return msg;
}

/** The error for a header line that is not `token HCOLON value`. */
function headerLineError(head: string, lineStart: number, end: number, lineNo: number): SipParseError {
  const colon = head.indexOf(':', lineStart);
  if (colon < 0 || colon >= end) {
    return new SipParseError(`header line ${lineNo} has no colon: "${clip(head.slice(lineStart, end))}"`, { line: lineNo });
  }
  const name = head.slice(lineStart, trimLwsEnd(head, lineStart, colon));
  return new SipParseError(`header line ${lineNo} has an invalid name "${clip(name)}"`, { line: lineNo });
}

/**
 * Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1);
 * Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2).
 */
function parseStartLine(line: string, msg: SipMessage, findings: Finding[]): void {
  let n = line.length;
  while (n > 0 && (line.charCodeAt(n - 1) === SP || line.charCodeAt(n - 1) === HTAB)) n--;
  const first = line.indexOf(' ');
  if (first < 0 || first >= n) throw new SipParseError(`not a SIP start line: "${clip(line)}"`, { line: 1 });
  const word = line.slice(0, first);
  if (isSipVersionPrefix(line)) {
    checkVersion(word);
    let p = first + 1;
    while (line.charCodeAt(p) === SP) p++;
    const d0 = line.charCodeAt(p) - 48;
    const d1 = line.charCodeAt(p + 1) - 48;
    const d2 = line.charCodeAt(p + 2) - 48;
    const after = p + 3 < line.length ? line.charCodeAt(p + 3) : SP;
    if (!(d0 >= 1 && d0 <= 6 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) || after !== SP) {
      throw new SipParseError(`bad status code "${clip(line.slice(p))}" in status line: expected 100-699`, { line: 1 });
    }
    msg.status = d0 * 100 + d1 * 10 + d2;
    msg.reason = p + 4 <= line.length ? line.slice(p + 4) : '';
    msg.version = 'SIP/2.0';
    return;
  }
  if (word.indexOf('/') >= 0) {
    // `HTTP/1.1 200 OK` and the like: a status line of another protocol.
    throw new SipParseError(`not a SIP start line: "${clip(line)}"`, { line: 1 });
  }
  if (!isTokenString(word)) throw new SipParseError(`bad method "${clip(word)}" in request line`, { line: 1 });
  const last = line.lastIndexOf(' ', n - 1);
  if (last === first) throw new SipParseError(`not a SIP start line: "${clip(line)}"`, { line: 1 });
  checkVersion(line.slice(last + 1, n));
  let us = first + 1;
  while (us < last && line.charCodeAt(us) === SP) us++;
  let ue = last;
  while (ue > us && line.charCodeAt(ue - 1) === SP) ue--;
  if (ue === us) throw new SipParseError(`request line has no Request-URI: "${clip(line)}"`, { line: 1 });
  const uri = line.slice(us, ue);
  if (us !== first + 1 || ue !== last || n !== line.length || uri.indexOf(' ') >= 0) {
    findings.push({
      code: 'request-line-whitespace',
      severity: 'quirk',
      message: `extra whitespace in request line: "${clip(line)}"`,
      line: 1,
      rfc: 'RFC 3261 §7.1',
    });
  }
  msg.method = word;
  msg.requestUri = uri;
  msg.version = 'SIP/2.0';
}

/** True when the line starts with `SIP/` in any case. */
function isSipVersionPrefix(line: string): boolean {
  return (
    line.length > 4 &&
    (line.charCodeAt(0) | 0x20) === 0x73 &&
    (line.charCodeAt(1) | 0x20) === 0x69 &&
    (line.charCodeAt(2) | 0x20) === 0x70 &&
    line.charCodeAt(3) === 0x2f
  );
}

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, case-insensitive (RFC 3261 §7.1); only 2.0 is spoken. */
function checkVersion(v: string): void {
  if (v === 'SIP/2.0') return;
  const upper = v.toUpperCase();
  if (upper === 'SIP/2.0') return;
  if (upper.startsWith('SIP/')) {
    throw new SipParseError(`unsupported SIP version "${clip(v)}": only SIP/2.0 is supported`, { line: 1, status: 505 });
  }
  throw new SipParseError(`not a SIP version: "${clip(v)}"`, { line: 1 });
}

function sliceBody(
  bytes: Buffer,
  bodyStart: number,
  clText: string | undefined,
  clLine: number,
  empty: Buffer,
  datagram: boolean,
  findings: Finding[],
): Buffer {
  const available = bytes.length > bodyStart ? bytes.length - bodyStart : 0;
  if (clText === undefined) {
    return available > 0 ? bytes.subarray(bodyStart) : empty;
  }
  // Content-Length = 1*DIGIT (RFC 3261 §20.14)
  let cl = 0;
  for (let i = 0; i < clText.length; i++) {
    const d = clText.charCodeAt(i) - 48;
    if (d < 0 || d > 9) cl = -1;
    if (cl < 0) break;
    cl = cl * 10 + d;
  }
  if (cl < 0 || clText.length === 0) {
    throw new SipParseError(`Content-Length is not a number: "${clip(clText)}"`, { line: clLine });
  }
  if (cl > available) {
    // RFC 3261 §18.3: a datagram whose Content-Length exceeds the body MUST be discarded.
    throw new SipParseError(`Content-Length ${clText} is larger than the ${available} body bytes received`, {
      line: clLine,
    });
  }
  if (cl < available && datagram) {
    findings.push({
      code: 'bytes-after-body',
      severity: 'quirk',
      message: `${available - cl} bytes after the ${cl}-byte body were ignored`,
      line: clLine,
      rfc: 'RFC 3261 §18.3',
    });
  }
  return cl === 0 ? empty : bytes.subarray(bodyStart, bodyStart + cl);
}

/**
 * Offset of the empty line that ends the header block when the message is not all CRLF: the
 * first LF or CR LF that follows an LF. -1 when there is none.
 */
function findBlankLine(bytes: Buffer, from: number): number {
  const len = bytes.length;
  let i = bytes.indexOf(LF, from);
  while (i >= 0 && i + 1 < len) {
    const next = bytes[i + 1];
    if (next === LF) return i + 1;
    if (next === CR && i + 2 < len && bytes[i + 2] === LF) return i + 1;
    i = bytes.indexOf(LF, i + 1);
  }
  return -1;
}

function skipLws(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c !== SP && c !== HTAB) break;
    i++;
  }
  return i;
}

function trimLwsEnd(s: string, start: number, end: number): number {
  while (end > start) {
    const c = s.charCodeAt(end - 1);
    if (c !== SP && c !== HTAB && c !== CR) break;
    end--;
  }
  return end;
}

/** Number of lines in bytes[from, to), the last one counted even without a line end. */
function countLines(bytes: Buffer, from: number, to: number): number {
  let n = 1;
  for (let i = bytes.indexOf(LF, from); i >= 0 && i < to - 1; i = bytes.indexOf(LF, i + 1)) n++;
  return n;
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === LF) n++;
  return n;
}

/** Shorten quoted input in error messages. */
function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
