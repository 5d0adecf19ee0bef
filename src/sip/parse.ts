/**
 * The tolerant SIP message parser (RFC 3261 §7). It splits the start line and header lines
 * and finds the body; structured headers are parsed later, on demand (see message.ts).
 *
 * Tolerated and recorded as findings: bare LF line ends, spaces inside the Request-URI
 * (`REGISTER sip: 192.0.2.1 SIP/2.0`, seen from Asterisk 1.6), extra spaces in the start line,
 * bytes after the body in a datagram. Rejected with the status a server would answer: a
 * start line that is not SIP, a version other than SIP/2.0 (505), a header line with no
 * colon or an invalid name, a Content-Length that is not a number or promises more bytes than
 * the datagram holds (RFC 3261 §18.3), a header block with no terminating empty line.
 */
import { SipParseError } from '../errors.js';
import { isTokenString } from './charset.js';
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

/** Parse one SIP message from its bytes. Throws {@link SipParseError} when it is not SIP. */
export function parseMessage(bytes: Buffer, opts: ParseOptions = {}): SipMessage {
  const datagram = opts.datagram ?? true;
  const maxLine = opts.maxLineBytes ?? 8192;
  const findings: Finding[] = [];

  // RFC 3261 §7.5: ignore CRLFs before the start line.
  let start = 0;
  while (start < bytes.length && (bytes[start] === CR || bytes[start] === LF)) start++;
  if (start === bytes.length) throw new SipParseError('empty message', { line: 1 });

  let headEnd = bytes.indexOf('\r\n\r\n', start, 'latin1');
  let bodyStart = headEnd + 4;
  if (headEnd < 0) {
    const lfEnd = bytes.indexOf('\n\n', start, 'latin1');
    if (lfEnd >= 0) {
      headEnd = lfEnd;
      bodyStart = lfEnd + 2;
    } else if (endsWithLineEnd(bytes)) {
      // Datagram with headers only and no empty line: tolerated, the message has no body.
      headEnd = bytes.length;
      bodyStart = bytes.length;
      findings.push({
        code: 'missing-empty-line',
        severity: 'violation',
        message: 'header block does not end with an empty line (CRLF CRLF)',
        rfc: 'RFC 3261 §7',
      });
    } else {
      throw new SipParseError('message truncated: no empty line ends the headers', { line: 0 });
    }
  }

  const head = bytes.toString('utf8', start, headEnd);
  if (head.indexOf('\0') >= 0) {
    throw new SipParseError('NUL byte in the header block', { line: lineOf(head, head.indexOf('\0')) });
  }

  const msg = new SipMessage();
  msg.raw = bytes;
  msg.findings = findings;

  // Walk the lines without splitting into an intermediate array.
  let pos = 0;
  let lineNo = 0;
  let bareLf = false;
  const headers: Header[] = [];
  while (pos <= head.length) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = head.length;
    let end = nl;
    if (end > pos && head.charCodeAt(end - 1) === CR) end--;
    else if (nl < head.length) bareLf = true;
    const line = head.slice(pos, end);
    lineNo++;
    pos = nl + 1;
    if (Buffer.byteLength(line) > maxLine) {
      throw new SipParseError(`header line ${lineNo} is longer than ${maxLine} bytes`, {
        line: lineNo,
        status: 513,
        code: 'ERR_SIP_TOO_LARGE',
      });
    }
    if (lineNo === 1) {
      parseStartLine(line, msg, findings);
      continue;
    }
    const c0 = line.charCodeAt(0);
    if (c0 === 32 || c0 === 9) {
      // RFC 3261 §7.3.1: a line starting with whitespace continues the previous header.
      if (headers.length === 0) throw new SipParseError('continuation line before any header', { line: lineNo });
      const prev = headers[headers.length - 1];
      const more = line.trim();
      if (more.length) prev.value = prev.value.length ? `${prev.value} ${more}` : more;
      continue;
    }
    if (line.length === 0) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new SipParseError(`header line ${lineNo} has no colon: "${clip(line)}"`, { line: lineNo });
    const name = line.slice(0, colon).trim();
    if (!isTokenString(name)) {
      throw new SipParseError(`header line ${lineNo} has an invalid name "${clip(name)}"`, { line: lineNo });
    }
    headers.push({ name, key: headerKey(name), value: line.slice(colon + 1).trim() });
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

  msg.body = sliceBody(bytes, bodyStart, msg, datagram, findings);
  return msg;
}

function parseStartLine(line: string, msg: SipMessage, findings: Finding[]): void {
  const first = line.indexOf(' ');
  if (first < 0) throw new SipParseError(`not a SIP start line: "${clip(line)}"`, { line: 1 });
  if (line.startsWith('SIP/') || line.startsWith('sip/')) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
    checkVersion(line.slice(0, first));
    let p = first + 1;
    while (line.charCodeAt(p) === 32) p++;
    const codeText = line.slice(p, p + 3);
    const status = Number(codeText);
    if (!/^[1-6]\d\d$/.test(codeText) || (p + 3 < line.length && line.charCodeAt(p + 3) !== 32)) {
      throw new SipParseError(`bad status code "${clip(line.slice(p))}" in status line`, { line: 1 });
    }
    msg.status = status;
    msg.reason = line.slice(p + 4);
    msg.version = 'SIP/2.0';
    return;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1)
  const method = line.slice(0, first);
  if (!isTokenString(method)) throw new SipParseError(`bad method "${clip(method)}" in request line`, { line: 1 });
  const last = line.lastIndexOf(' ');
  if (last === first) throw new SipParseError(`request line has no SIP version: "${clip(line)}"`, { line: 1 });
  checkVersion(line.slice(last + 1));
  const uri = line.slice(first + 1, last);
  const trimmed = uri.trim();
  if (trimmed.length === 0) throw new SipParseError('request line has no Request-URI', { line: 1 });
  if (trimmed !== uri || trimmed.indexOf(' ') >= 0) {
    findings.push({
      code: 'request-line-whitespace',
      severity: 'quirk',
      message: `extra whitespace in request line: "${clip(line)}"`,
      line: 1,
      rfc: 'RFC 3261 §7.1',
    });
  }
  msg.method = method;
  msg.requestUri = trimmed;
  msg.version = 'SIP/2.0';
}

function checkVersion(v: string): void {
  if (v.toUpperCase() !== 'SIP/2.0') {
    if (v.toUpperCase().startsWith('SIP/')) {
      throw new SipParseError(`unsupported SIP version "${clip(v)}"`, { line: 1, status: 505 });
    }
    throw new SipParseError(`not a SIP version: "${clip(v)}"`, { line: 1 });
  }
}

function sliceBody(bytes: Buffer, bodyStart: number, msg: SipMessage, datagram: boolean, findings: Finding[]): Buffer {
  const available = Math.max(0, bytes.length - bodyStart);
  const clText = msg.get('content-length');
  if (clText === undefined) {
    return available > 0 ? bytes.subarray(bodyStart) : msg.body;
  }
  if (!/^\d+$/.test(clText)) throw new SipParseError(`Content-Length is not a number: "${clip(clText)}"`);
  const cl = Number(clText);
  if (cl > available) {
    // RFC 3261 §18.3: a datagram whose Content-Length exceeds the body MUST be discarded.
    throw new SipParseError(`Content-Length ${cl} is larger than the ${available} body bytes received`);
  }
  if (cl < available) {
    if (datagram) {
      findings.push({
        code: 'bytes-after-body',
        severity: 'quirk',
        message: `${available - cl} bytes after the ${cl}-byte body were ignored`,
        rfc: 'RFC 3261 §18.3',
      });
    }
  }
  return cl === 0 ? msg.body : bytes.subarray(bodyStart, bodyStart + cl);
}

function endsWithLineEnd(b: Buffer): boolean {
  return b.length > 0 && b[b.length - 1] === LF;
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
