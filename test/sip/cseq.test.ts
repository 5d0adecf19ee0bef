import { describe, expect, it } from 'vitest';
import { SipParseError } from '../../src/errors.js';
import { CSEQ_LIMIT, formatCSeq, parseCSeq } from '../../src/sip/cseq.js';

function errorOf(fn: () => unknown): SipParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SipParseError);
    return err as SipParseError;
  }
  throw new Error('expected a SipParseError, nothing was thrown');
}

describe('parseCSeq (RFC 3261 §20.16: CSeq = 1*DIGIT LWS Method)', () => {
  it.each([
    ['seed trace: a REGISTER', '1749 REGISTER', 1749, 'REGISTER'],
    ['seed trace: the ACK keeps the INVITE number', '102 ACK', 102, 'ACK'],
    ['seed trace: trailing whitespace', '1750 REGISTER ', 1750, 'REGISTER'],
    ['RFC 4475 §3.1.1.1: leading zeros and a folded method (wsinv)', '0009\r\n  INVITE', 9, 'INVITE'],
    ['RFC 4475 §3.1.1.2: an unusual method token (intmeth)', "139122385 !interesting-Method0123456789_*+`.%indeed'~", 139122385, "!interesting-Method0123456789_*+`.%indeed'~"],
    ['RFC 4475 §3.1.1.5: "%" in a method is not an escape (esc02)', '29 RE%47IST%45R', 29, 'RE%47IST%45R'],
    ['RFC 3261 §8.1.1.5: zero is allowed', '0 OPTIONS', 0, 'OPTIONS'],
    ['RFC 3261 §8.1.1.5: the largest value is 2**31 - 1', '2147483647 BYE', 2147483647, 'BYE'],
    ['LWS may be a tab', '4711\tINVITE', 4711, 'INVITE'],
    ['methods are case-sensitive and kept as received (RFC 3261 §7.1)', '1 invite', 1, 'invite'],
  ])('%s', (_name, text, seq, method) => {
    const cseq = parseCSeq(text);
    expect(cseq).toEqual({ seq, method });
    expect(parseCSeq(formatCSeq(cseq))).toEqual(cseq);
  });

  it('formatCSeq writes "seq method"', () => {
    expect(formatCSeq({ seq: 103, method: 'INVITE' })).toBe('103 INVITE');
    expect(formatCSeq(parseCSeq('0009 INVITE'))).toBe('9 INVITE');
    expect(CSEQ_LIMIT).toBe(2 ** 31);
  });

  it.each([
    ['an empty value', '', 'empty CSeq: expected a sequence number and a method'],
    [
      'RFC 4475 §3.1.2.4: an overlarge sequence number in a request (scalar02)',
      '36893488147419103232 REGISTER',
      'CSeq sequence number 36893488147419103232 is too large: it MUST be less than 2**31 (RFC 3261 §8.1.1.5)',
    ],
    [
      'RFC 4475 §3.1.2.5: an overlarge sequence number in a response (scalarlg)',
      '139122385607 OPTIONS',
      'CSeq sequence number 139122385607 is too large: it MUST be less than 2**31 (RFC 3261 §8.1.1.5)',
    ],
    [
      'RFC 3261 §8.1.1.5: 2**31 itself is too large',
      '2147483648 INVITE',
      'CSeq sequence number 2147483648 is too large: it MUST be less than 2**31 (RFC 3261 §8.1.1.5)',
    ],
    ['the number comes first', 'INVITE 1', 'CSeq "INVITE 1" does not start with a sequence number'],
    ['a negative number is no number', '-1 INVITE', 'CSeq "-1 INVITE" does not start with a sequence number'],
    ['a method is required', '1749', 'CSeq "1749" has no method'],
    ['LWS separates the number from the method', '1749REGISTER', 'CSeq "1749REGISTER": expected whitespace after the sequence number'],
    ['one method only', '1 INVITE ACK', 'CSeq "1 INVITE ACK": unexpected text after the method'],
    ['the method is a token', '1 INV@ITE', 'CSeq method "INV@ITE" is not a token (RFC 3261 §25.1)'],
  ])('%s', (_name, text, message) => {
    const err = errorOf(() => parseCSeq(text));
    expect(err.code).toBe('ERR_SIP_HEADER');
    expect(err.status).toBe(400);
    expect(err.message).toBe(message);
  });
});
