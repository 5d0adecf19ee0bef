/**
 * Building requests and responses the way RFC 3261 §8.1.1 and §8.2.6 say: the mandatory
 * headers, in the order most stacks send them.
 */
import { newTag } from './ids.js';
import { SipMessage } from './message.js';
import { parseVia, formatVia } from './via.js';

/** Reason phrases of RFC 3261 §21 and the codes seen on trunks. */
export const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued', 183: 'Session Progress',
  199: 'Early Dialog Terminated',
  200: 'OK', 202: 'Accepted', 204: 'No Notification',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily', 305: 'Use Proxy', 380: 'Alternative Service',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  410: 'Gone', 413: 'Request Entity Too Large', 414: 'Request-URI Too Long', 415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme', 420: 'Bad Extension', 421: 'Extension Required', 423: 'Interval Too Brief',
  480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected', 483: 'Too Many Hops',
  484: 'Address Incomplete', 485: 'Ambiguous', 486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here',
  491: 'Request Pending', 493: 'Undecipherable',
  500: 'Server Internal Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Server Time-out', 505: 'Version Not Supported', 513: 'Message Too Large',
  600: 'Busy Everywhere', 603: 'Decline', 604: 'Does Not Exist Anywhere', 606: 'Not Acceptable',
};

/** Fields of a new out-of-dialog request (RFC 3261 §8.1.1). */
export interface RequestInit {
  method: string;
  uri: string;
  /** Full From value including tag; see {@link newTag}. */
  from: string;
  to: string;
  callId: string;
  cseq: number;
  /** Full Via value with branch, e.g. `SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK…;rport`. */
  via: string;
  contact?: string;
  maxForwards?: number;
  /** Extra headers, in order, after the mandatory ones. */
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  contentType?: string;
}

/** A new request with Via, Max-Forwards, From, To, Call-ID, CSeq, Contact, extra headers, body. */
export function createRequest(init: RequestInit): SipMessage {
  const m = new SipMessage();
  m.method = init.method;
  m.requestUri = init.uri;
  const hs = m.headers;
  hs.push({ name: 'Via', key: 'via', value: init.via });
  hs.push({ name: 'Max-Forwards', key: 'max-forwards', value: String(init.maxForwards ?? 70) });
  hs.push({ name: 'From', key: 'from', value: init.from });
  hs.push({ name: 'To', key: 'to', value: init.to });
  hs.push({ name: 'Call-ID', key: 'call-id', value: init.callId });
  hs.push({ name: 'CSeq', key: 'cseq', value: `${init.cseq} ${init.method}` });
  if (init.contact) hs.push({ name: 'Contact', key: 'contact', value: init.contact });
  if (init.headers) for (const [n, v] of init.headers) m.append(n, v);
  if (init.body !== undefined) {
    m.body = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : init.body;
    if (init.contentType) m.set('Content-Type', init.contentType);
  }
  return m;
}

/** Options for {@link createResponse}. */
export interface ResponseInit {
  reason?: string;
  /** To tag to add when the request's To has none (RFC 3261 §8.2.6.2); default: a new tag for status > 100. */
  toTag?: string;
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  contentType?: string;
}

/**
 * A response to `req` (RFC 3261 §8.2.6): Via headers copied in order, the top one stamped with
 * `received` and `rport` from where the request came (RFC 3261 §18.2.1, RFC 3581 §4); From,
 * Call-ID and CSeq copied; To copied with a tag added for responses other than 100.
 */
export function createResponse(req: SipMessage, status: number, init: ResponseInit = {}): SipMessage {
  const m = new SipMessage();
  m.status = status;
  m.reason = init.reason ?? REASONS[status] ?? 'Unknown';
  let firstVia = true;
  for (const h of req.headers) {
    if (h.key === 'via') {
      m.headers.push({ name: h.name, key: 'via', value: firstVia ? stampedVia(req, h.value) : h.value });
      firstVia = false;
    }
  }
  m.headers.push({ name: 'From', key: 'from', value: req.get('from') ?? '' });
  let to = req.get('to') ?? '';
  if (status > 100 && req.toTag === undefined) to = `${to};tag=${init.toTag ?? newTag()}`;
  m.headers.push({ name: 'To', key: 'to', value: to });
  m.headers.push({ name: 'Call-ID', key: 'call-id', value: req.callId });
  m.headers.push({ name: 'CSeq', key: 'cseq', value: req.get('cseq') ?? '' });
  if (init.headers) for (const [n, v] of init.headers) m.append(n, v);
  if (init.body !== undefined) {
    m.body = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : init.body;
    if (init.contentType) m.set('Content-Type', init.contentType);
  }
  return m;
}

/** The top Via element with received/rport filled in from the request's origin. */
function stampedVia(req: SipMessage, headerValue: string): string {
  const o = req.origin;
  if (!o) return headerValue;
  const end = topElementEnd(headerValue);
  const via = parseVia(headerValue.slice(0, end)); // a fresh copy: the request's cached Via stays as received
  const rest = headerValue.slice(end);
  let changed = false;
  // RFC 3581 §4: fill rport when the client asked for it; received MUST be added then too.
  if (via.params.has('rport') && via.params.get('rport') === null) {
    via.params.set('rport', String(o.remotePort));
    via.params.set('received', o.remoteHost);
    changed = true;
  } else if (via.host !== o.remoteHost && via.host !== `[${o.remoteHost}]`) {
    // RFC 3261 §18.2.1: add received when sent-by differs from the packet's source address.
    via.params.set('received', o.remoteHost);
    changed = true;
  }
  if (!changed) return headerValue;
  const stamped = formatVia(via);
  return rest ? stamped + rest : stamped;
}

/** Index of the comma ending the first element of a Via list (quotes respected). */
function topElementEnd(value: string): number {
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 44 && !quoted) return i;
  }
  return value.length;
}


/**
 * RFC 3261 §17.1.1.3: the ACK for a non-2xx final response. Request-URI, Call-ID, From and
 * CSeq number of the INVITE; To of the response (with its tag); one Via, the INVITE's top Via
 * (same branch); the INVITE's Route headers; CSeq method ACK.
 */
export function createNonSuccessAck(invite: SipMessage, res: SipMessage): SipMessage {
  const m = new SipMessage();
  m.method = 'ACK';
  m.requestUri = invite.requestUri;
  const topVia = invite.get('via') ?? '';
  m.headers.push({ name: 'Via', key: 'via', value: topVia.slice(0, topElementEnd(topVia)) });
  m.headers.push({ name: 'Max-Forwards', key: 'max-forwards', value: '70' });
  m.headers.push({ name: 'From', key: 'from', value: invite.get('from') ?? '' });
  m.headers.push({ name: 'To', key: 'to', value: res.get('to') ?? '' });
  m.headers.push({ name: 'Call-ID', key: 'call-id', value: invite.callId });
  m.headers.push({ name: 'CSeq', key: 'cseq', value: `${invite.cseq.seq} ACK` });
  for (const h of invite.headers) if (h.key === 'route') m.headers.push({ ...h });
  return m;
}

/**
 * RFC 3261 §9.1: a CANCEL for a pending request. Same Request-URI, Call-ID, To, From and CSeq
 * number; one Via equal to the request's top Via (same branch, so it matches the server
 * transaction); the request's Route headers; CSeq method CANCEL.
 */
export function createCancel(req: SipMessage): SipMessage {
  const m = new SipMessage();
  m.method = 'CANCEL';
  m.requestUri = req.requestUri;
  const topVia = req.get('via') ?? '';
  m.headers.push({ name: 'Via', key: 'via', value: topVia.slice(0, topElementEnd(topVia)) });
  m.headers.push({ name: 'Max-Forwards', key: 'max-forwards', value: '70' });
  m.headers.push({ name: 'From', key: 'from', value: req.get('from') ?? '' });
  m.headers.push({ name: 'To', key: 'to', value: req.get('to') ?? '' });
  m.headers.push({ name: 'Call-ID', key: 'call-id', value: req.callId });
  m.headers.push({ name: 'CSeq', key: 'cseq', value: `${req.cseq.seq} CANCEL` });
  for (const h of req.headers) if (h.key === 'route') m.headers.push({ ...h });
  return m;
}
