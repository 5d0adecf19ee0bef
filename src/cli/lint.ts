/**
 * `sipwright lint <file>`: read one raw SIP message (file or stdin), print every RFC violation
 * and tolerated quirk. Exit 0 when valid, 1 when not.
 */
import { readFileSync } from 'node:fs';
import { SipParseError, UsageError } from '../errors.js';
import { parseMessage } from '../sip/parse.js';
import { validateMessage } from '../sip/validate.js';

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a folder, expected a file with one SIP message',
  EACCES: 'permission denied',
};

/** Bytes from a file, or stdin for `-`. Text files written with LF get CRLF line ends. */
export function readMessageFile(path: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path === '-' ? 0 : path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code && READ_ERRORS[code] ? `${READ_ERRORS[code]} (${code})` : (code ?? (err as Error).message);
    throw new UsageError(`cannot read ${path === '-' ? 'standard input' : path}: ${why}`);
  }
  // A message typed in an editor has LF line ends; SIP needs CRLF. Convert only when no CR at all.
  if (!raw.includes(13)) raw = Buffer.from(raw.toString('utf8').replace(/\n/g, '\r\n'), 'utf8');
  return raw;
}

/** Lint one message; returns the exit code and the lines to print. */
export function lintMessage(bytes: Buffer): { code: number; lines: string[] } {
  let msg;
  try {
    msg = parseMessage(bytes, { datagram: true });
  } catch (err) {
    if (err instanceof SipParseError) {
      const where = err.line ? ` (line ${err.line})` : '';
      return { code: 1, lines: [`invalid: ${err.message}${where}; a server would answer ${err.status}`] };
    }
    throw err;
  }
  const findings = validateMessage(msg);
  const violations = findings.filter((f) => f.severity === 'violation');
  const lines = findings.map(
    (f) => `${f.severity}: ${f.code}: ${f.message}${f.rfc ? ` [${f.rfc}]` : ''}${f.line ? ` (line ${f.line})` : ''}`,
  );
  lines.push(violations.length ? `invalid: ${violations.length} violation(s)` : `valid${findings.length ? ` with ${findings.length} quirk(s)` : ''}: ${msg.startLine}`);
  return { code: violations.length ? 1 : 0, lines };
}
