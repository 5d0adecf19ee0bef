/**
 * Two checks over a parsed message:
 * - {@link essentialProblem}: what makes a message impossible to handle at all (no Call-ID,
 *   no CSeq, no Via …). The receive path drops such responses and answers such requests 400.
 * - {@link validateMessage}: the strict validator. Every RFC violation it can name, plus the
 *   quirks the tolerant parser recorded, for `sipwright lint` and for reports.
 */
import { SipwrightError } from '../errors.js';
import type { Finding } from './finding.js';
import type { SipMessage } from './message.js';
import { hasMagicCookie } from './via.js';

const ESSENTIAL = ['via', 'from', 'to', 'call-id', 'cseq'] as const;
const DISPLAY: Record<string, string> = { via: 'Via', from: 'From', to: 'To', 'call-id': 'Call-ID', cseq: 'CSeq' };

/**
 * The reason a message cannot be processed by a transaction layer, or undefined when it can.
 * RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory in requests;
 * Max-Forwards is left to the strict validator because real equipment omits it.
 */
export function essentialProblem(msg: SipMessage): string | undefined {
  for (const key of ESSENTIAL) {
    if (msg.get(key) === undefined) return `missing ${DISPLAY[key]} header`;
  }
  // Call-ID = callid = word [ "@" word ] (RFC 3261 §25.1): never empty.
  if (msg.callId === '') return 'empty Call-ID header';
  try {
    const cseq = msg.cseq;
    if (msg.isRequest && cseq.method !== msg.method) {
      return `CSeq method ${cseq.method} does not match request method ${msg.method}`;
    }
    void msg.topVia;
    void msg.from;
    void msg.to;
  } catch (err) {
    return err instanceof SipwrightError ? err.message : String(err);
  }
  return undefined;
}

/**
 * Every violation and tolerated quirk in a message (strict mode): the problem
 * {@link essentialProblem} names, the RFC 3261 rules below, then the findings the parser and the
 * lazy header parsers recorded on the message.
 */
export function validateMessage(msg: SipMessage): Finding[] {
  const out: Finding[] = [];
  const violation = (code: string, message: string, rfc: string) =>
    out.push({ code, message, severity: 'violation', rfc });

  const problem = essentialProblem(msg);
  if (problem) violation('essential-header', problem, 'RFC 3261 §8.1.1');

  if (msg.isRequest) {
    const mf = msg.get('max-forwards');
    if (mf === undefined) violation('missing-max-forwards', 'missing Max-Forwards header', 'RFC 3261 §8.1.1.6');
    else if (!/^\d{1,3}$/.test(mf) || Number(mf) > 255) {
      violation('bad-max-forwards', `Max-Forwards "${mf}" is not an integer 0-255`, 'RFC 3261 §20.22');
    }
    if (msg.method === 'INVITE' && msg.get('contact') === undefined) {
      violation('missing-contact', 'INVITE without Contact header', 'RFC 3261 §8.1.1.8');
    }
    const from = safe(() => msg.from);
    if (from !== undefined && !hasTag(from.params.get('tag'))) {
      violation('missing-from-tag', 'From header has no tag', 'RFC 3261 §8.1.1.3');
    }
    try {
      void msg.uri;
    } catch (err) {
      violation('bad-request-uri', `bad Request-URI: ${(err as Error).message}`, 'RFC 3261 §19.1');
    }
  } else if (msg.status > 100) {
    // RFC 3261 §8.2.6.2: "the UAS MUST add a tag to the To header field in the response (with
    // the exception of the 100 (Trying) response, in which a tag MAY be present)".
    const to = safe(() => msg.to);
    if (to !== undefined && !hasTag(to.params.get('tag'))) {
      violation('missing-to-tag', `${msg.status} response without To tag`, 'RFC 3261 §8.2.6.2');
    }
  }

  const top = safe(() => msg.topVia);
  if (top !== undefined) {
    const branch = top.branch;
    if (branch === undefined || branch === '') {
      violation('missing-branch', 'top Via has no branch parameter', 'RFC 3261 §8.1.1.7');
    } else if (!hasMagicCookie(branch)) {
      violation('branch-cookie', `Via branch "${branch}" does not start with z9hG4bK`, 'RFC 3261 §8.1.1.7');
    }
  }

  const lengths = msg.getAll('content-length');
  if (lengths.length > 0) {
    const cl = lengths[0];
    if (!/^\d+$/.test(cl)) {
      violation('bad-content-length', `Content-Length "${cl}" is not a number`, 'RFC 3261 §20.14');
    } else if (Number(cl) !== msg.body.length) {
      violation('content-length-mismatch', `Content-Length ${cl} but body is ${msg.body.length} bytes`, 'RFC 3261 §20.14');
    } else {
      // A parsed datagram's body is cut to Content-Length; bytes after it mean the sender's
      // Content-Length did not match what it sent.
      const extra = msg.findings.find((f) => f.code === 'bytes-after-body');
      if (extra !== undefined) {
        violation('content-length-mismatch', `Content-Length ${cl} but ${extra.message}`, 'RFC 3261 §20.14');
      }
    }
  }
  if (msg.body.length > 0 && msg.get('content-type') === undefined) {
    violation('missing-content-type', 'message has a body but no Content-Type', 'RFC 3261 §20.15');
  }
  if (lengths.length > 1) {
    violation('duplicate-content-length', `Content-Length appears ${lengths.length} times`, 'RFC 3261 §7.3.1');
  }

  for (const f of msg.findings) out.push(f);
  return out;
}

/** A tag parameter with a value (`;tag` alone or `;tag=` is no tag). */
function hasTag(tag: string | null | undefined): boolean {
  return typeof tag === 'string' && tag.length > 0;
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
