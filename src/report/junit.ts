/**
 * JUnit XML, for CI systems: a `<testsuite>` per suite, a `<testcase>` per scenario.
 * An expectation that was not met is `<failure type="expectation">`; a harness crash is
 * `<error type="<code>">`; a skipped scenario is `<skipped message="…">`. The SIP ladder of a
 * failing or erroring test goes in `<system-out>`. Everything is redacted of the run's secrets.
 */
import junitModule, { type Builder, type TestCase } from 'junit-report-builder';
import type { RunResult, TestResult } from '../scenario/result.js';
import { writeFileAtomic } from './atomic-write.js';
import { formatLadder } from './ladder.js';
import { collectSecrets, createRedactor, type Redactor } from './redact.js';
import type { Reporter } from './reporter.js';

export interface JunitReporterOptions {
  /** Where to write (default `junit.xml`); parent directories are created. */
  outputFile?: string;
  /**
   * Which tests get their SIP ladder in `<system-out>`: only failing and erroring ones
   * (default, keeps files small) or all that have messages.
   */
  ladderFor?: 'failures' | 'all';
  /** `name` of the root `<testsuites>` (default `sipwright`). */
  name?: string;
}

// The package is CommonJS (`module.exports = builder`) with typings that say `export default`:
// under NodeNext the default import is the builder at run time but typed as the module object.
const junitRoot = junitModule as unknown as Builder | { default: Builder };
const rootBuilder: Builder = 'newBuilder' in junitRoot ? junitRoot : junitRoot.default;

/** Seconds, rounded to the millisecond (no `0.30000000000000004`). */
function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/**
 * xmlbuilder escapes only the first `]]>` in a CDATA section; a second one would end it early.
 * SIP bodies (XML ones like PIDF) can contain it, so neutralise them all beforehand.
 */
function cdataSafe(text: string): string {
  return text.replace(/]]>/g, ']]&gt;');
}

/** junit-report-builder writes `<skipped/>` without a reason; add the `message` attribute. */
function skippedWithMessage(tc: TestCase, message: string | undefined): void {
  tc.skipped();
  if (message === undefined) return;
  const build = tc.build.bind(tc);
  tc.build = (parent) => {
    const el = build(parent);
    for (const child of el.children) {
      if ((child as { name?: string }).name === 'skipped') (child as typeof el).att('message', message);
    }
    return el;
  };
}

/** `file:line:col: expect: 200`, expected, received, first differing header. */
function failureBody(t: TestResult): string {
  const f = t.failure;
  if (!f) return '';
  const lines = [`${f.pos.file}:${f.pos.line}:${f.pos.column}: ${f.step}`];
  if (f.expected !== undefined) lines.push(`expected: ${f.expected}`);
  if (f.received !== undefined) lines.push(`received: ${f.received}`);
  if (f.header !== undefined) lines.push(`first differing header: ${f.header}`);
  return lines.join('\n');
}

function errorBody(t: TestResult): string {
  const e = t.error;
  if (!e) return '';
  const lines: string[] = [];
  if (e.pos) lines.push(`${e.pos.file}:${e.pos.line}:${e.pos.column}`);
  if (e.stack) lines.push(e.stack);
  return lines.join('\n');
}

function systemOut(t: TestResult, redact: Redactor): string {
  const parts: string[] = [];
  if (t.findings.length > 0) {
    parts.push(
      'Findings:\n' +
        t.findings
          .map((f) => `  ${f.severity} ${f.code}: ${f.message}${f.rfc ? ` (${f.rfc})` : ''}`)
          .join('\n'),
    );
  }
  parts.push(t.ladder.length > 0 ? formatLadder(t.ladder, { redact }) : '(no SIP messages on the wire)\n');
  return redact(parts.join('\n\n'));
}

function addTestCase(tc: TestCase, t: TestResult, redact: Redactor, ladderFor: 'failures' | 'all'): void {
  tc.className(t.suite).name(t.name).file(t.file).time(seconds(t.durationMs)); // the user's own words: not redacted
  switch (t.verdict) {
    case 'failed':
      tc.failure(redact(t.failure?.message ?? 'failed'), 'expectation');
      if (t.failure) tc.stacktrace(cdataSafe(redact(failureBody(t))));
      break;
    case 'error': {
      const body = errorBody(t);
      tc.error(
        redact(t.error?.message ?? 'harness error'),
        t.error?.code ?? 'error',
        body ? cdataSafe(redact(body)) : undefined,
      );
      break;
    }
    case 'skipped':
      skippedWithMessage(tc, t.skipReason === undefined ? undefined : redact(t.skipReason));
      break;
    case 'passed':
      break;
  }
  const failing = t.verdict === 'failed' || t.verdict === 'error';
  if (failing || (ladderFor === 'all' && (t.ladder.length > 0 || t.findings.length > 0))) {
    tc.standardOutput(cdataSafe(systemOut(t, redact)));
  }
}

/** The JUnit XML of a run, as a string. */
export function buildJunitXml(run: RunResult, opts: JunitReporterOptions = {}): string {
  const redact = createRedactor(collectSecrets(run.tests));
  const ladderFor = opts.ladderFor ?? 'failures';
  const builder = rootBuilder.newBuilder().name(opts.name ?? 'sipwright');

  const bySuite = new Map<string, TestResult[]>();
  for (const t of run.tests) {
    const list = bySuite.get(t.suite);
    if (list) list.push(t);
    else bySuite.set(t.suite, [t]);
  }
  for (const [suite, tests] of bySuite) {
    const started = tests.reduce((min, t) => Math.min(min, t.startedAt), Infinity);
    const ts = builder
      .testSuite()
      .name(redact(suite))
      .timestamp(new Date(started).toISOString())
      .time(seconds(tests.reduce((sum, t) => sum + t.durationMs, 0)));
    for (const t of tests) addTestCase(ts.testCase(), t, redact, ladderFor);
  }
  return builder.build();
}

/** Writes `junit.xml` (atomically) when the run ends. */
export function junitReporter(opts: JunitReporterOptions = {}): Reporter {
  const outputFile = opts.outputFile ?? 'junit.xml';
  return {
    name: 'junit',
    async onRunEnd(run) {
      await writeFileAtomic(outputFile, buildJunitXml(run, opts));
    },
  };
}
