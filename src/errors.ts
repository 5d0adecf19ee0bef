/**
 * The one error module. Every error sipwright raises has a stable `code` (for programs and
 * tests) and a message a person can act on. Layers import from here; this file imports nothing.
 */

/** Stable error codes. Add new ones; never rename an existing one. */
export type ErrorCode =
  // sip/: parsing and validation
  | 'ERR_SIP_PARSE'
  | 'ERR_SIP_URI'
  | 'ERR_SIP_HEADER'
  | 'ERR_SIP_TOO_LARGE'
  | 'ERR_SDP_PARSE'
  // transport/
  | 'ERR_TRANSPORT_BIND'
  | 'ERR_TRANSPORT_SEND'
  | 'ERR_TRANSPORT_CLOSED'
  | 'ERR_TRANSPORT_FRAMING'
  | 'ERR_ADDRESS'
  // transaction/ and dialog/
  | 'ERR_TRANSACTION_STATE'
  | 'ERR_TRANSACTION_TIMEOUT'
  | 'ERR_DIALOG_STATE'
  // auth/
  | 'ERR_AUTH_CHALLENGE'
  | 'ERR_AUTH_UNSUPPORTED'
  | 'ERR_AUTH_FAILED'
  // scenario/, cli/
  | 'ERR_USAGE'
  | 'ERR_SCENARIO';

/** Base class: `code` is stable, `message` is for a person. */
export class SipwrightError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'SipwrightError';
  }
}

/**
 * A message that could not be parsed. `status` is what a server would answer (RFC 3261 §21.4:
 * 400 Bad Request; 505 for an unsupported version; 513 for a message too large), `line` the
 * 1-based line of the message the parser failed on (0 when not tied to a line).
 */
export class SipParseError extends SipwrightError {
  readonly status: number;
  readonly line: number;
  constructor(message: string, opts: { status?: number; line?: number; code?: ErrorCode } = {}) {
    super(opts.code ?? 'ERR_SIP_PARSE', message);
    this.name = 'SipParseError';
    this.status = opts.status ?? 400;
    this.line = opts.line ?? 0;
  }
}

/** A transaction or dialog was asked to do something its state does not allow (a bug, not data). */
export class StateError extends SipwrightError {
  constructor(code: 'ERR_TRANSACTION_STATE' | 'ERR_DIALOG_STATE', message: string) {
    super(code, message);
    this.name = 'StateError';
  }
}

/** A mistake by the person running sipwright: printed as one line, exit code 2, no stack. */
export class UsageError extends SipwrightError {
  constructor(message: string, code: ErrorCode = 'ERR_USAGE') {
    super(code, message);
    this.name = 'UsageError';
  }
}

/** One thing wrong in a scenario file; `line`/`column` are 1-based, 0 when not tied to a place. */
export interface ScenarioProblem {
  pos: { file: string; line: number; column: number };
  /** Where in the scenario, e.g. `steps[2].expect`; empty for the file as a whole. */
  field: string;
  /** What is wrong and what was expected. */
  message: string;
}

/** `file:line:column: field: message` (line and column left out when 0, field when empty). */
export function formatScenarioProblem(p: ScenarioProblem): string {
  const where = p.pos.line > 0 ? `${p.pos.file}:${p.pos.line}:${p.pos.column}` : p.pos.file;
  return p.field ? `${where}: ${p.field}: ${p.message}` : `${where}: ${p.message}`;
}

/**
 * A scenario file (or a path given to run) that cannot be used. Holds every problem found, not
 * only the first; the message is one `file:line:column: field: message` line per problem.
 */
export class ScenarioError extends UsageError {
  readonly problems: ScenarioProblem[];
  constructor(problems: ScenarioProblem[]) {
    super(problems.map(formatScenarioProblem).join('\n'), 'ERR_SCENARIO');
    this.name = 'ScenarioError';
    this.problems = problems;
  }
}

/** True for errors that are the user's to fix (printed without a stack trace). */
export function isUserError(err: unknown): err is SipwrightError {
  return err instanceof UsageError || (err instanceof SipwrightError && err.code === 'ERR_TRANSPORT_BIND');
}
