/**
 * `results.json`: the whole run for programs (dashboards, diffing two runs). Plain JSON: no
 * Buffers (message bytes become UTF-8 `text`), every string redacted of the run's secrets.
 */
import type { Finding } from '../sip/finding.js';
import {
  countVerdicts,
  type ErrorInfo,
  type FailureInfo,
  type RunResult,
  type TestResult,
  type Verdict,
} from '../scenario/result.js';
import { writeFileAtomic } from './atomic-write.js';
import { ladderRows } from './ladder.js';
import { collectSecrets, createRedactor, redactDeep, type Redactor } from './redact.js';
import type { Reporter } from './reporter.js';

export interface JsonReporterOptions {
  /** Where to write (default `results.json`); parent directories are created. */
  outputFile?: string;
  /** Indentation of the file (default 2; 0 for one line). */
  indent?: number;
}

export interface ResultsSummary {
  total: number;
  passed: number;
  failed: number;
  error: number;
  skipped: number;
  durationSeconds: number;
  /** ISO 8601, UTC. */
  startedAt: string;
  interrupted: boolean;
}

/** One message of a test's ladder. */
export interface LadderEntryJson {
  /** Wall-clock time, ms since the epoch. */
  at: number;
  direction: 'in' | 'out';
  party: string;
  protocol: string;
  local: string;
  remote: string;
  /** Start line, or a description such as `(keep-alive CRLFCRLF)`. */
  firstLine: string;
  /** The bytes decoded as UTF-8, line endings as on the wire. */
  text: string;
}

export interface TestResultJson {
  suite: string;
  name: string;
  file: string;
  verdict: Verdict;
  durationMs: number;
  failure?: FailureInfo;
  error?: ErrorInfo;
  skipReason?: string;
  findings: Finding[];
  /** In time order. */
  ladder: LadderEntryJson[];
}

export interface ResultsJson {
  summary: ResultsSummary;
  tests: TestResultJson[];
}

function testJson(t: TestResult, redact: Redactor): TestResultJson {
  return {
    suite: t.suite, // names and files are the user's own words: not redacted
    name: t.name,
    file: t.file,
    verdict: t.verdict,
    durationMs: t.durationMs,
    ...(t.failure ? { failure: redactDeep(t.failure, redact) } : {}),
    ...(t.error ? { error: redactDeep(t.error, redact) } : {}),
    ...(t.skipReason !== undefined ? { skipReason: redact(t.skipReason) } : {}),
    findings: redactDeep(t.findings, redact),
    ladder: ladderRows(t.ladder, { redact }).map((r) => ({
      at: r.at,
      direction: r.direction,
      party: r.party,
      protocol: r.protocol,
      local: r.local,
      remote: r.remote,
      firstLine: r.label,
      text: r.text,
    })),
  };
}

/** The `results.json` document of a run. */
export function buildResultsJson(run: RunResult): ResultsJson {
  const redact = createRedactor(collectSecrets(run.tests));
  const counts = countVerdicts(run.tests);
  return {
    summary: {
      total: run.tests.length,
      passed: counts.passed,
      failed: counts.failed,
      error: counts.error,
      skipped: counts.skipped,
      durationSeconds: Math.round(run.durationMs) / 1000,
      startedAt: new Date(run.startedAt).toISOString(),
      interrupted: run.interrupted,
    },
    tests: run.tests.map((t) => testJson(t, redact)),
  };
}

/** Writes `results.json` (atomically) when the run ends. */
export function jsonReporter(opts: JsonReporterOptions = {}): Reporter {
  const outputFile = opts.outputFile ?? 'results.json';
  return {
    name: 'json',
    async onRunEnd(run) {
      await writeFileAtomic(outputFile, JSON.stringify(buildResultsJson(run), null, opts.indent ?? 2) + '\n');
    },
  };
}
