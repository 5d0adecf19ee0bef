/**
 * The serializer: start line, headers in their order and spelling, body.
 *
 * Each header is written as name, separator, value, CRLF. The separator is the one the header
 * was received with (`Via:SIP/2.0/UDP` stays without a space) or `': '` for headers built in
 * code, so a parsed message comes back byte for byte with `contentLength: 'keep'`, provided its
 * lines ended with CRLF, no header was folded, no header value ended in whitespace and the start
 * line had single spaces (see parse.ts for what the parser normalises).
 *
 * By default Content-Length is made to match the body (RFC 3261 §20.14: it MUST be sent over
 * streams and SHOULD be over UDP): the first Content-Length gets the body's length in bytes, any
 * further ones are dropped, and one is added at the end when there was none. `contentLength:
 * 'keep'` sends the headers exactly as they are, for reproducing broken peers byte for byte.
 */
import { SipMessage } from './message.js';

/** Options for {@link serializeMessage}. */
export interface SerializeOptions {
  /** `auto` (default): set or add Content-Length to the body's length. `keep`: leave headers alone. */
  contentLength?: 'auto' | 'keep';
}

/** The bytes of a message as they go on the wire. */
export function serializeMessage(msg: SipMessage, opts: SerializeOptions = {}): Buffer {
  const auto = opts.contentLength !== 'keep';
  const body = msg.body;
  let head = msg.startLine + '\r\n';
  let sawLength = false;
  const hs = msg.headers;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i];
    const sep = h.hcolon ?? ': ';
    if (auto && h.key === 'content-length') {
      if (sawLength) continue;
      sawLength = true;
      head += h.name + sep + body.length + '\r\n';
      continue;
    }
    head += h.name + sep + h.value + '\r\n';
  }
  if (auto && !sawLength) head += 'Content-Length: ' + body.length + '\r\n';
  head += '\r\n';
  if (body.length === 0) return Buffer.from(head, 'utf8');
  const headLen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLen + body.length);
  out.write(head, 0, 'utf8');
  body.copy(out, headLen);
  return out;
}

/** The message as text, for ladders and reports: the received bytes when there are any. */
export function messageText(msg: SipMessage): string {
  return (msg.raw ?? serializeMessage(msg)).toString('utf8');
}
