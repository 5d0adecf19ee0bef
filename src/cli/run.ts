/**
 * `sipwright run <files or folders...>`: load every scenario (all file errors reported before
 * anything is sent), run them several at a time, report as they finish, write JUnit and JSON.
 * Ctrl-C / SIGTERM stop new tests, end open calls, mark what did not run as skipped, and still
 * write the reports.
 */
import pLimit from 'p-limit';
import { ScenarioError, SipwrightError, UsageError } from '../errors.js';
import { consoleReporter } from '../report/console.js';
import { jsonReporter } from '../report/json.js';
import { junitReporter } from '../report/junit.js';
import { runReporters, type Reporter } from '../report/reporter.js';
import { discoverScenarios } from '../scenario/discover.js';
import { loadScenario } from '../scenario/loader.js';
import type { Scenario } from '../scenario/model.js';
import type { RunResult, TestResult } from '../scenario/result.js';
import { loadProfile } from '../scenario/profile.js';
import { runScenario, type RunOptions } from '../scenario/runner.js';
import { loadUsersCsv } from '../scenario/users-csv.js';
import { parseHostPort } from '../transport/address.js';
import { TcpTransport } from '../transport/tcp.js';
import type { Address, Transport } from '../transport/transport.js';
import { UdpTransport } from '../transport/udp.js';

/** Options of `sipwright run` (kept in sync with the yargs table by the type checker). */
export interface RunCommandOptions {
  paths: string[];
  target?: string;
  listen?: string;
  /** Default: the profile's transport, else udp. */
  transport?: 'udp' | 'tcp';
  /** Target profile (docs/target-profile.md): `profile.*` variables, default target and transport. */
  profile?: string;
  var: string[];
  users?: string;
  grep?: string;
  junit: string;
  json: string;
  concurrency: number;
  timeout?: number;
}

/** One scenario to run and how: what `run` (and `start`) execute. */
export interface PlannedTest {
  scenario: Scenario;
  suite: string;
  /**
   * Run alone: tests of one system under test (a --profile run) share its state — bindings,
   * channels — so they run one at a time, as do tests with a party on a fixed port.
   */
  serial: boolean;
  options: Omit<RunOptions, 'signal' | 'onListening' | 'suite'>;
}

/** Exit codes: 0 all passed, 1 a test failed or errored, 2 usage or scenario-file error, 130 interrupted. */
export async function runCommand(opts: RunCommandOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const plan = await planRun(opts);
  const listen = opts.listen ? parseHostPort(opts.listen, '--listen', 0) : undefined;
  return executePlan(plan, { out, junit: opts.junit, json: opts.json, concurrency: listen && listen.port !== 0 ? 1 : opts.concurrency });
}

/** Load and check everything `run` was given; nothing is sent yet. */
export async function planRun(opts: RunCommandOptions): Promise<PlannedTest[]> {
  const profile = opts.profile ? loadProfile(opts.profile) : undefined;
  const targetText = opts.target ?? profile?.profile.address;
  const target = targetText ? parseHostPort(targetText, opts.target ? '--target' : `${opts.profile}: address`) : undefined;
  const listen = opts.listen ? parseHostPort(opts.listen, '--listen', 0) : undefined;
  const transport = opts.transport ?? profile?.profile.transport ?? 'udp';
  const cliVars = { ...profile?.vars, ...parseVars(opts.var) };
  const users = opts.users ? loadUsersCsv(opts.users) : undefined;
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    const got = Number.isNaN(opts.concurrency) ? 'something that is not a number' : String(opts.concurrency);
    throw new UsageError(`--concurrency must be a whole number of at least 1, got ${got}`);
  }
  if (opts.timeout !== undefined && !(opts.timeout > 0)) throw new UsageError(`--timeout must be a positive number of seconds`);

  const knownVars = [...Object.keys(cliVars), ...(users?.columns ?? [])];
  const scenarios = loadAll(opts.paths, knownVars, opts.grep, cliVars);
  if (scenarios.length === 0) throw new UsageError(`no scenario matched${opts.grep ? ` --grep "${opts.grep}"` : ''} in ${opts.paths.join(' ')}`);
  if (listen) await checkListen(listen, listenProtocols(scenarios, transport));
  return scenarios.map(({ scenario, suite }, i) => ({
    scenario,
    suite,
    serial: profile !== undefined || scenario.parties.some((p) => p.listen !== undefined && !/:0$/.test(p.listen)),
    options: {
      target,
      listen,
      transport,
      vars: { ...cliVars, ...(users ? users.rowFor(i) : {}) },
      timeoutMs: opts.timeout !== undefined ? opts.timeout * 1000 : undefined,
    },
  }));
}

/**
 * Run planned tests several at a time, reporting as they finish; Ctrl-C ends open calls, marks
 * the rest skipped and still writes the reports. Returns the exit code.
 */
export async function executePlan(
  plan: PlannedTest[],
  how: { out: NodeJS.WritableStream; junit: string; json: string; concurrency: number },
): Promise<number> {
  const { out } = how;
  const reporters: Reporter[] = [
    consoleReporter({ stream: out }),
    junitReporter({ outputFile: how.junit }),
    jsonReporter({ outputFile: how.json }),
  ];
  const abort = new AbortController();
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    out.write('\nsipwright: interrupted — ending open calls and writing reports\n');
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const startedAt = Date.now();
  await runReporters(reporters, 'onRunStart', { total: plan.length, startedAt });
  const parallel = pLimit(how.concurrency);
  const serial = pLimit(1);
  const results: TestResult[] = await Promise.all(
    plan.map(({ scenario, suite, options, serial: alone }) =>
      (alone ? serial : parallel)(async () => {
        const result = abort.signal.aborted
          ? skipped(scenario, suite, 'interrupted before it started')
          : await runScenario(scenario, {
              ...options,
              suite,
              signal: abort.signal,
              onListening: (party, address, protocol) => {
                if (scenario.parties.find((p) => p.name === party && p.role === 'uas')) {
                  out.write(`${scenario.name}: ${party} listening on ${protocol} ${address}\n`);
                }
              },
            });
        await runReporters(reporters, 'onTestEnd', result);
        return result;
      }),
    ),
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const run: RunResult = { startedAt, durationMs: Date.now() - startedAt, tests: results, interrupted };
  await runReporters(reporters, 'onRunEnd', run);
  if (interrupted) return 130;
  return results.some((t) => t.verdict === 'failed' || t.verdict === 'error') ? 1 : 0;
}

/** Roles that take the --listen address (the first such party of a scenario; see runner.ts). */
const LISTENING_ROLES = new Set(['uas', 'carrier', 'pbx']);

/** Transports the --listen address will be bound with: each scenario's first server-side party's. */
function listenProtocols(scenarios: Array<{ scenario: Scenario }>, fallback: 'udp' | 'tcp'): Array<'udp' | 'tcp'> {
  const out = new Set<'udp' | 'tcp'>();
  for (const { scenario } of scenarios) {
    const party = scenario.parties.find((p) => !p.listen && LISTENING_ROLES.has(p.role));
    if (party) out.add(party.transport ?? fallback);
  }
  if (out.size === 0) out.add(fallback);
  return [...out];
}

/**
 * Bind --listen once per transport before any test starts, so that a port in use (or an address
 * not on this machine) is one usage error naming the port and the fix, not an error in every test.
 */
async function checkListen(listen: Address, protocols: Array<'udp' | 'tcp'>): Promise<void> {
  for (const protocol of protocols) {
    let transport: Transport;
    try {
      const at = { host: listen.host, port: listen.port };
      transport = protocol === 'udp' ? await UdpTransport.open(at) : await TcpTransport.open(at);
    } catch (err) {
      if (err instanceof SipwrightError && err.code === 'ERR_TRANSPORT_BIND') throw new UsageError(`--listen: ${err.message}`);
      throw err;
    }
    await transport.close();
  }
}

/** `--var a=b` pairs. */
function parseVars(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--var "${p}": expected name=value`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/** Load every scenario; all file errors together in one ScenarioError. */
function loadAll(
  paths: string[],
  knownVars: string[],
  grep: string | undefined,
  constants: Record<string, string>,
): Array<{ scenario: Scenario; suite: string }> {
  const found = discoverScenarios(paths);
  const loaded: Array<{ scenario: Scenario; suite: string }> = [];
  const problems: ScenarioError['problems'] = [];
  for (const { file, suite } of found) {
    try {
      const scenario = loadScenario(file, { knownVars, constants });
      if (grep && !`${scenario.name} ${file}`.toLowerCase().includes(grep.toLowerCase())) continue;
      loaded.push({ scenario, suite });
    } catch (err) {
      if (err instanceof ScenarioError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (problems.length) throw new ScenarioError(problems);
  return loaded;
}

function skipped(scenario: Scenario, suite: string, reason: string): TestResult {
  return {
    suite,
    name: scenario.name,
    file: scenario.file,
    verdict: 'skipped',
    skipReason: reason,
    startedAt: Date.now(),
    durationMs: 0,
    ladder: [],
    findings: [],
    secrets: [],
  };
}

