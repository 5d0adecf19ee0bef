/**
 * The CSeq header (RFC 3261 §20.16): `CSeq = 1*DIGIT LWS Method`.
 */
import { SipParseError } from '../errors.js';
import { isDigit, isToken, isWhitespace, quoteText, skipWhitespace, trimEndIndex } from './charset.js';

/** A parsed CSeq. */
export interface CSeq {
  /** Sequence number, 0 ≤ seq < 2**31. */
  seq: number;
  /** Method token, case as received (methods are case-sensitive, RFC 3261 §7.1). */
  method: string;
}

/** The exclusive upper bound of a CSeq number (RFC 3261 §8.1.1.5). */
export const CSEQ_LIMIT = 2 ** 31;

function cseqError(message: string): SipParseError {
  return new SipParseError(message, { code: 'ERR_SIP_HEADER' });
}

/**
 * Parse a CSeq value such as `1749 REGISTER` or the folded `0009\r\n  INVITE` of RFC 4475
 * §3.1.1.1 (leading zeros allowed). Throws `SipParseError` (`ERR_SIP_HEADER`) when the number is
 * missing, not below 2**31 (§8.1.1.5: "MUST be less than 2**31"), or the method is missing or not
 * a token.
 */
export function parseCSeq(text: string): CSeq {
  const start = skipWhitespace(text, 0, text.length);
  const end = trimEndIndex(text, start, text.length);
  if (start === end) throw cseqError('empty CSeq: expected a sequence number and a method');
  let i = start;
  let seq = 0;
  while (i < end && isDigit(text.charCodeAt(i))) {
    if (seq < CSEQ_LIMIT) seq = seq * 10 + (text.charCodeAt(i) - 48);
    i++;
  }
  if (i === start) {
    throw cseqError(`CSeq ${quoteText(text)} does not start with a sequence number`);
  }
  if (i < end && !isWhitespace(text.charCodeAt(i))) {
    throw cseqError(`CSeq ${quoteText(text)}: expected whitespace after the sequence number`);
  }
  if (seq >= CSEQ_LIMIT) {
    throw cseqError(
      `CSeq sequence number ${text.slice(start, i)} is too large: it MUST be less than 2**31 (RFC 3261 §8.1.1.5)`,
    );
  }
  const methodStart = skipWhitespace(text, i, end);
  if (methodStart === end) throw cseqError(`CSeq ${quoteText(text)} has no method`);
  let j = methodStart;
  while (j < end && !isWhitespace(text.charCodeAt(j))) j++;
  const method = text.slice(methodStart, j);
  for (let k = 0; k < method.length; k++) {
    if (!isToken(method.charCodeAt(k))) {
      throw cseqError(`CSeq method ${quoteText(method)} is not a token (RFC 3261 §25.1)`);
    }
  }
  if (j < end) throw cseqError(`CSeq ${quoteText(text)}: unexpected text after the method`);
  return { seq, method };
}

/** `seq method`, e.g. `1749 REGISTER`. */
export function formatCSeq(cseq: CSeq): string {
  return cseq.seq + ' ' + cseq.method;
}
