/**
 * A deviation from RFC 3261 that the tolerant parser accepted, or a violation the strict
 * validator found. Findings are data for reports ("the peer sent `<sip: 123@host>`"), never
 * exceptions.
 */
export interface Finding {
  /** Stable kebab-case code, e.g. `uri-space-after-scheme`, `cseq-method-mismatch`. */
  code: string;
  /** What was wrong, in words, quoting the offending text where short. */
  message: string;
  /** `quirk`: tolerated deviation seen in real equipment; `violation`: breaks a MUST. */
  severity: 'quirk' | 'violation';
  /** 1-based line in the message, when known. */
  line?: number;
  /** Where the rule comes from, e.g. `RFC 3261 §25.1`. */
  rfc?: string;
}
