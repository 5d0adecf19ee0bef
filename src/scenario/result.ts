/**
 * What running a scenario produced: a verdict, the failure or error, and the SIP ladder (every
 * message on the wire, both ways, for every party). Reporters (JUnit, JSON, console, HTML)
 * read only these types.
 */
import type { Finding } from '../sip/finding.js';
import type { SourcePos } from './model.js';

/** One message on the wire, as captured by a party's transport tap. */
export interface LadderEntry {
  /** Wall-clock time, ms since the epoch. */
  at: number;
  direction: 'in' | 'out';
  /** The party (scenario name) whose socket saw it. */
  party: string;
  protocol: string;
  /** `host:port` of our socket and of the other side. */
  local: string;
  remote: string;
  /** The bytes exactly as sent or received. */
  bytes: Buffer;
}

/** An expectation that was not met: the test `<failure>`. */
export interface FailureInfo {
  /** One line: what was expected and what came, e.g. `expected 200, received 486 Busy Here`. */
  message: string;
  /** Step that failed, as the user wrote it (e.g. `expect: 200`). */
  step: string;
  pos: SourcePos;
  expected?: string;
  received?: string;
  /** First header whose value differs from the expectation, e.g. `From`. */
  header?: string;
}

/** The harness itself failed (a bug, a bind error, a crash): the test `<error>`. */
export interface ErrorInfo {
  message: string;
  code?: string;
  stack?: string;
  pos?: SourcePos;
}

export type Verdict = 'passed' | 'failed' | 'error' | 'skipped';

/** One scenario run = one test case. */
export interface TestResult {
  /** Suite: the folder or file the scenario came from, relative to where sipwright ran. */
  suite: string;
  name: string;
  file: string;
  verdict: Verdict;
  startedAt: number;
  durationMs: number;
  failure?: FailureInfo;
  error?: ErrorInfo;
  /** Why it was skipped (interrupted, filtered). */
  skipReason?: string;
  ladder: LadderEntry[];
  /** Quirks and violations seen in what the system under test sent. */
  findings: Finding[];
  /** Secrets to redact from every report of this test (passwords used by the run). */
  secrets: string[];
}

/** A whole run. */
export interface RunResult {
  startedAt: number;
  durationMs: number;
  tests: TestResult[];
  /** True when the run was stopped by SIGINT/SIGTERM (tests not run are `skipped`). */
  interrupted: boolean;
}

/** Counts by verdict. */
export function countVerdicts(tests: readonly TestResult[]): Record<Verdict, number> {
  const c: Record<Verdict, number> = { passed: 0, failed: 0, error: 0, skipped: 0 };
  for (const t of tests) c[t.verdict]++;
  return c;
}
