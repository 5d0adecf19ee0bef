/**
 * The console reporter: a line per test as it finishes, then a summary with the first lines of
 * the ladder of every failing or erroring test.
 *
 * ```
 * ✓ basic/uac-call.yaml › Basic call (1.23 s)
 * ✗ basic/uac-busy.yaml › Busy callee (0.35 s) — expected 200, received 486 Busy Here (basic/uac-busy.yaml:14:7)
 * ! basic/uac-bind.yaml › Bind (0.01 s) — error: cannot bind 127.0.0.1:5060 [ERR_TRANSPORT_BIND]
 * - basic/uac-late.yaml › Late — skipped: interrupted
 * ```
 *
 * With `NO_COLOR` set or when the stream is not a terminal, the same lines in plain ASCII
 * (`PASS`, `FAIL`, `ERROR`, `SKIP`, `>`, `-`), without colours.
 */
import { countVerdicts, type RunResult, type TestResult } from '../scenario/result.js';
import { ladderLines } from './ladder.js';
import { createRedactor, noRedaction, type Redactor } from './redact.js';
import type { Reporter } from './reporter.js';

/** What the console reporter writes to: `process.stdout`, or a fake in tests. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** `fancy`: symbols and colours; `plain`: ASCII words, no escape sequences. */
export type ConsoleStyle = 'fancy' | 'plain';

export interface ConsoleReporterOptions {
  /** Default `process.stdout`. */
  stream?: OutputStream;
  /** Default: `fancy` when the stream is a TTY and `NO_COLOR` is unset or empty. */
  style?: ConsoleStyle;
  /** Environment to read `NO_COLOR` from (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Lines shown per failing test in the summary, its header included (default 20). */
  maxLinesPerFailure?: number;
}

const DEFAULT_MAX_LINES = 20;

/** https://no-color.org: `NO_COLOR` present and not empty disables colour. */
export function consoleStyleFor(
  stream: OutputStream,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConsoleStyle {
  const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  return stream.isTTY === true && !noColor ? 'fancy' : 'plain';
}

interface Glyphs {
  passed: string;
  failed: string;
  error: string;
  skipped: string;
  sep: string;
  dash: string;
  ellipsis: string;
  ascii: boolean;
  paint(color: 'green' | 'red' | 'yellow' | 'gray' | 'bold', s: string): string;
}

const ANSI = { green: 32, red: 31, yellow: 33, gray: 90, bold: 1 } as const;

function glyphs(style: ConsoleStyle): Glyphs {
  if (style === 'plain') {
    return {
      passed: 'PASS',
      failed: 'FAIL',
      error: 'ERROR',
      skipped: 'SKIP',
      sep: '>',
      dash: '-',
      ellipsis: '...',
      ascii: true,
      paint: (_c, s) => s,
    };
  }
  return {
    passed: '✓',
    failed: '✗',
    error: '!',
    skipped: '-',
    sep: '›',
    dash: '—',
    ellipsis: '…',
    ascii: false,
    paint: (c, s) => `\x1b[${ANSI[c]}m${s}\x1b[${c === 'bold' ? 22 : 39}m`,
  };
}

function pos(p: { file: string; line: number; column: number }): string {
  return `${p.file}:${p.line}:${p.column}`;
}

/** The line printed when a test finishes (no trailing newline). */
export function formatTestLine(t: TestResult, style: ConsoleStyle, redact: Redactor = noRedaction): string {
  const g = glyphs(style);
  // Redact the parts, then paint them: an escape sequence must not split a secret.
  // Names and files are the user's own words, not message text: a password that happens to be a
  // common word (seed 000's is "password") must not blank out a scenario's name.
  const title = `${t.file} ${g.sep} ${t.name}`;
  const time = g.paint('gray', `(${(t.durationMs / 1000).toFixed(2)} s)`);
  switch (t.verdict) {
    case 'passed':
      return `${g.paint('green', g.passed)} ${title} ${time}`;
    case 'failed': {
      const f = t.failure;
      const detail = redact(f ? `${f.message} (${pos(f.pos)})` : 'failed');
      return `${g.paint('red', g.failed)} ${title} ${time} ${g.dash} ${g.paint('red', detail)}`;
    }
    case 'error': {
      const e = t.error;
      let detail = `error: ${e?.message.split('\n', 1)[0] ?? 'harness error'}`;
      if (e?.code) detail += ` [${e.code}]`;
      if (e?.pos) detail += ` (${pos(e.pos)})`;
      return `${g.paint('yellow', g.error)} ${title} ${time} ${g.dash} ${g.paint('yellow', redact(detail))}`;
    }
    case 'skipped': {
      const reason = t.skipReason ? `: ${redact(t.skipReason)}` : '';
      return `${g.paint('gray', g.skipped)} ${title} ${g.dash} skipped${reason}`;
    }
  }
}

/** The details block of a failing or erroring test: at most `maxLines` lines. */
function failureBlock(t: TestResult, style: ConsoleStyle, redact: Redactor, maxLines: number): string[] {
  const g = glyphs(style);
  const lines = [formatTestLine(t, style, redact)];
  const details: string[] = [];
  if (t.failure) {
    const f = t.failure;
    details.push(`${pos(f.pos)}: ${f.step}`);
    if (f.expected !== undefined) details.push(`expected: ${f.expected}`);
    if (f.received !== undefined) details.push(`received: ${f.received}`);
    if (f.header !== undefined) details.push(`first differing header: ${f.header}`);
  }
  lines.push(...details.map((l) => `    ${redact(l)}`));
  const ladder = ladderLines(t.ladder, { redact, ascii: g.ascii }).map((l) => `    ${l}`);
  if (ladder.length === 0) ladder.push('    (no SIP messages on the wire)');
  const room = Math.max(1, maxLines - lines.length);
  if (ladder.length > room) {
    const shown = ladder.slice(0, room - 1);
    shown.push(`    ${g.ellipsis} ${ladder.length - shown.length} more messages (full ladder in the JUnit/JSON report)`);
    lines.push(...shown);
  } else {
    lines.push(...ladder);
  }
  return lines.slice(0, Math.max(maxLines, 2));
}

/** The summary printed at the end of a run (lines, no trailing newlines). */
export function formatRunSummary(
  run: RunResult,
  style: ConsoleStyle,
  opts: { redact?: Redactor; maxLinesPerFailure?: number } = {},
): string[] {
  const redact = opts.redact ?? noRedaction;
  const g = glyphs(style);
  const out: string[] = [];
  const bad = run.tests.filter((t) => t.verdict === 'failed' || t.verdict === 'error');
  if (bad.length > 0) {
    out.push('', g.paint('bold', 'Failures:'));
    for (const t of bad) {
      out.push('', ...failureBlock(t, style, redact, opts.maxLinesPerFailure ?? DEFAULT_MAX_LINES));
    }
  }
  const c = countVerdicts(run.tests);
  const n = run.tests.length;
  const counts = [
    g.paint('green', `${c.passed} passed`),
    g.paint(c.failed > 0 ? 'red' : 'gray', `${c.failed} failed`),
    g.paint(c.error > 0 ? 'yellow' : 'gray', `${c.error} error`),
    g.paint('gray', `${c.skipped} skipped`),
  ].join(', ');
  out.push('', `${n} ${n === 1 ? 'test' : 'tests'}: ${counts} in ${(run.durationMs / 1000).toFixed(2)} s`);
  if (run.interrupted) out.push(g.paint('yellow', 'Interrupted: the tests not run are counted as skipped.'));
  return out;
}

/** Prints a line per finished test and a summary at the end of the run. */
export function consoleReporter(opts: ConsoleReporterOptions = {}): Reporter {
  const stream = opts.stream ?? process.stdout;
  const style = opts.style ?? consoleStyleFor(stream, opts.env);
  // A password used by one test can show up in another's messages: redact with all seen so far.
  const secrets = new Set<string>();
  const redactorFor = (tests: readonly TestResult[]): Redactor => {
    for (const t of tests) for (const s of t.secrets) secrets.add(s);
    return createRedactor(secrets);
  };
  return {
    name: 'console',
    onTestEnd(t) {
      stream.write(formatTestLine(t, style, redactorFor([t])) + '\n');
    },
    onRunEnd(run) {
      const redact = redactorFor(run.tests);
      const lines = formatRunSummary(run, style, { redact, maxLinesPerFailure: opts.maxLinesPerFailure });
      stream.write(lines.join('\n') + '\n');
    },
  };
}
