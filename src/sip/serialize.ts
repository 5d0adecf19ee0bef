/**
 * The serializer: start line, headers in their order and spelling, body.
 *
 * By default Content-Length is made to match the body (RFC 3261 §20.14: it MUST be sent over
 * streams and SHOULD be over UDP). `contentLength: 'keep'` sends the headers exactly as they
 * are, for reproducing broken peers byte for byte.
 */
import { SipMessage } from './message.js';

/** Options for {@link serializeMessage}. */
export interface SerializeOptions {
  /** `auto` (default): set or add Content-Length to the body's length. `keep`: leave headers alone. */
  contentLength?: 'auto' | 'keep';
}

/** The bytes of a message as they go on the wire. */
export function serializeMessage(msg: SipMessage, opts: SerializeOptions = {}): Buffer {
  const auto = (opts.contentLength ?? 'auto') === 'auto';
  let head = msg.startLine + '\r\n';
  let sawLength = false;
  for (const h of msg.headers) {
    if (h.key === 'content-length' && auto) {
      if (sawLength) continue;
      sawLength = true;
      head += `${h.name}: ${msg.body.length}\r\n`;
      continue;
    }
    head += `${h.name}: ${h.value}\r\n`;
  }
  if (auto && !sawLength) head += `Content-Length: ${msg.body.length}\r\n`;
  head += '\r\n';
  if (msg.body.length === 0) return Buffer.from(head, 'utf8');
  const headLen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLen + msg.body.length);
  out.write(head, 0, 'utf8');
  msg.body.copy(out, headLen);
  return out;
}

/** The message as text, for ladders and reports. */
export function messageText(msg: SipMessage): string {
  return (msg.raw ?? serializeMessage(msg)).toString('utf8');
}
