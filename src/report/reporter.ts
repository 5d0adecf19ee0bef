/**
 * The reporter interface and the registry of built-in reporters. A reporter implements only the
 * hooks it needs; hooks may be async. The runner calls every reporter through `runReporters`,
 * so one broken reporter (a full disk for `junit.xml`) never keeps the others from reporting.
 */
import type { RunResult, TestResult } from '../scenario/result.js';
import { consoleReporter, type ConsoleReporterOptions } from './console.js';
import { jsonReporter, type JsonReporterOptions } from './json.js';
import { junitReporter, type JunitReporterOptions } from './junit.js';

export interface Reporter {
  /** Used in error messages when a hook fails (e.g. `junit`). */
  readonly name?: string;
  /** Before the first test starts. */
  onRunStart?(info: { total: number; startedAt: number }): void | Promise<void>;
  /** When a test has a verdict, in the order tests finish. */
  onTestEnd?(t: TestResult): void | Promise<void>;
  /** After the last test, with every result (including the skipped ones of an interrupted run). */
  onRunEnd?(run: RunResult): void | Promise<void>;
}

export type ReporterHook = 'onRunStart' | 'onTestEnd' | 'onRunEnd';

/** The argument a hook receives. */
export type ReporterHookArg<H extends ReporterHook> = Parameters<NonNullable<Reporter[H]>>[0];

/** Options of each built-in reporter, by name. */
export interface ReporterOptionsByName {
  junit: JunitReporterOptions;
  json: JsonReporterOptions;
  console: ConsoleReporterOptions;
}

export type ReporterName = keyof ReporterOptionsByName;

/** The built-in reporters, by the name used on the command line and in the config file. */
export const reporters: { readonly [K in ReporterName]: (opts?: ReporterOptionsByName[K]) => Reporter } = {
  junit: junitReporter,
  json: jsonReporter,
  console: consoleReporter,
};

/** True when `name` is a built-in reporter. */
export function isReporterName(name: string): name is ReporterName {
  return Object.prototype.hasOwnProperty.call(reporters, name);
}

/** One reporter's hook failed. */
export interface ReporterFailure {
  reporter: string;
  hook: ReporterHook;
  error: unknown;
}

/**
 * One or more reporters failed in a hook; every other reporter still ran. `errors` holds the
 * original errors, `failures` says which reporter threw each.
 */
export class ReporterError extends AggregateError {
  readonly code = 'ERR_REPORTER';
  readonly failures: readonly ReporterFailure[];
  constructor(hook: ReporterHook, failures: ReporterFailure[]) {
    const what = failures
      .map((f) => `${f.reporter}: ${f.error instanceof Error ? f.error.message : String(f.error)}`)
      .join('; ');
    const n = failures.length;
    super(
      failures.map((f) => f.error),
      `${n} ${n === 1 ? 'reporter' : 'reporters'} failed in ${hook}: ${what}`,
    );
    this.name = 'ReporterError';
    this.failures = failures;
  }
}

/**
 * Call `hook` on every reporter that has it, in order, one after the other (so console output
 * keeps its order). A reporter that throws or rejects does not stop the others; when any
 * failed, a `ReporterError` with all their errors is thrown at the end.
 */
export async function runReporters<H extends ReporterHook>(
  list: readonly Reporter[],
  hook: H,
  arg: ReporterHookArg<H>,
): Promise<void> {
  const failures: ReporterFailure[] = [];
  for (const [i, reporter] of list.entries()) {
    const fn = reporter[hook] as ((a: ReporterHookArg<H>) => void | Promise<void>) | undefined;
    if (!fn) continue;
    try {
      await fn.call(reporter, arg);
    } catch (error) {
      failures.push({ reporter: reporter.name ?? `reporter #${i + 1}`, hook, error });
    }
  }
  if (failures.length > 0) throw new ReporterError(hook, failures);
}
