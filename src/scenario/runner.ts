/**
 * Runs one scenario as one test case: starts its parties, runs its steps, ends what is still
 * open, and returns the verdict with the SIP ladder and the findings about what the peer sent.
 */
import { SipwrightError } from '../errors.js';
import { parseMessage } from '../sip/parse.js';
import type { Finding } from '../sip/finding.js';
import { validateMessage } from '../sip/validate.js';
import type { TimerConfig } from '../transaction/timers.js';
import { parseHostPort } from '../transport/address.js';
import { formatAddress, type Address } from '../transport/transport.js';
import { Interrupted, runSteps, StepFailed } from './executor.js';
import { ExpectationFailed } from './expectation.js';
import { DEFAULT_EXPECT_TIMEOUT_MS, type PartySpec, type Scenario } from './model.js';
import { Party } from './party.js';
import { createPersona } from './create-persona.js';
import type { LadderEntry, TestResult } from './result.js';
import type { RunContext } from './run-context.js';
import { interpolate, Variables } from './variables.js';

/** How to run a scenario. */
export interface RunOptions {
  /** Suite name for reports (folder or file). */
  suite: string;
  /** Where UAC parties send (--target). */
  target?: Address;
  /** Where the first server-side party listens (--listen). */
  listen?: Address;
  /** Default transport of parties that do not name one. */
  transport?: 'udp' | 'tcp';
  /** Variables from --var, a CSV row, the target profile. */
  vars?: Record<string, string>;
  /** Environment for `${env.X}` (default process.env). */
  env?: Record<string, string | undefined>;
  /** Override of every expect's default timeout (--timeout), ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  timers?: Partial<TimerConfig>;
  /** Told where each party listens, once bound (the CLI prints it). */
  onListening?: (party: string, address: string, protocol: string) => void;
}

const SERVER_ROLES = new Set(['uas', 'carrier', 'pbx']);

/** Run one scenario; never throws (a harness failure becomes an `error` verdict). */
export async function runScenario(scenario: Scenario, opts: RunOptions): Promise<TestResult> {
  const startedAt = Date.now();
  const ladder: LadderEntry[] = [];
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const vars = new Variables({ ...scenario.vars, ...opts.vars }, { env: opts.env });
  const ctx: RunContext = {
    scenario,
    parties: new Map(),
    target: opts.target,
    timeoutMs: opts.timeoutMs ?? scenario.timeoutMs ?? DEFAULT_EXPECT_TIMEOUT_MS,
    signal: abort.signal,
    registrations: new Map(),
    background: [],
    backgroundFailures: [],
    secrets: new Set(),
    nextMediaPort: 40000,
  };
  const result: TestResult = {
    suite: opts.suite,
    name: scenario.name,
    file: scenario.file,
    verdict: 'passed',
    startedAt,
    durationMs: 0,
    ladder,
    findings: [],
    secrets: [],
  };
  try {
    if (opts.signal?.aborted) throw new Interrupted('start');
    await startParties(scenario, opts, ctx, vars, ladder);
    await runSteps(scenario.steps, vars, ctx);
    const bg = ctx.backgroundFailures[0];
    if (bg) {
      result.verdict = 'failed';
      result.failure = { message: bg.message, step: bg.step, pos: bg.pos };
    }
  } catch (err) {
    classify(err, result, scenario);
  } finally {
    for (const reg of ctx.registrations.values()) reg.stopped = true;
    abort.abort();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    await Promise.allSettled(ctx.background);
    await Promise.allSettled([...ctx.parties.values()].map((p) => p.close()));
  }
  result.durationMs = Date.now() - startedAt;
  result.secrets = [...ctx.secrets];
  result.findings = findingsOf(ladder);
  return result;
}

async function startParties(scenario: Scenario, opts: RunOptions, ctx: RunContext, vars: Variables, ladder: LadderEntry[]): Promise<void> {
  let listenUsed = false;
  for (const spec of scenario.parties) {
    const listen = listenFor(spec, opts, vars, listenUsed);
    if (listen === opts.listen && opts.listen) listenUsed = true;
    const target = spec.target ? parseHostPort(interpolate(spec.target, vars, { pos: spec.pos, field: `parties.${spec.name}.target` }), 'target') : opts.target;
    const persona = spec.persona ? createPersona(resolveTemplates(spec.persona, vars, spec)) : undefined;
    const party = await Party.start({
      persona,
      name: spec.name,
      transport: spec.transport ?? opts.transport ?? 'udp',
      listen,
      target,
      user: spec.user,
      auto: spec.auto,
      timers: opts.timers,
      ladder,
    });
    ctx.parties.set(spec.name, party);
    opts.onListening?.(spec.name, formatAddress(party.local), party.protocol);
  }
  const first = ctx.parties.get(scenario.parties[0]?.name ?? '');
  if (first) {
    vars.set('local', formatAddress(first.local));
    vars.set('local_host', first.local.host);
    vars.set('local_port', String(first.local.port));
    vars.set('transport', first.protocol);
  }
  if (opts.target) {
    vars.set('target', formatAddress(opts.target));
    vars.set('target_host', opts.target.host);
    vars.set('target_port', String(opts.target.port));
  }
}

/** Persona options with `${…}` in their texts resolved (e.g. `${env.TRUNK_PASSWORD}`). */
function resolveTemplates<T>(value: T, vars: Variables, spec: PartySpec, path = `parties.${spec.name}`): T {
  if (typeof value === 'string') return (value.includes('${') ? interpolate(value, vars, { pos: spec.pos, field: path }) : value) as T;
  if (Array.isArray(value)) return value.map((v, i) => resolveTemplates(v, vars, spec, `${path}[${i}]`)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveTemplates(v, vars, spec, `${path}.${k}`)])) as T;
  }
  return value;
}

function listenFor(spec: PartySpec, opts: RunOptions, vars: Variables, listenUsed: boolean): Address | undefined {
  if (spec.listen) return parseHostPort(interpolate(spec.listen, vars, { pos: spec.pos, field: `parties.${spec.name}.listen` }), 'listen', 0);
  if (!listenUsed && opts.listen && SERVER_ROLES.has(spec.role)) return opts.listen;
  return opts.listen ? { host: opts.listen.host, port: 0 } : undefined;
}

function classify(err: unknown, result: TestResult, scenario: Scenario): void {
  if (err instanceof StepFailed) {
    result.verdict = 'failed';
    result.failure = {
      message: err.message,
      step: err.step,
      pos: err.pos,
      expected: err.failure.expected,
      received: err.failure.received,
      header: err.failure.header,
    };
  } else if (err instanceof ExpectationFailed) {
    result.verdict = 'failed';
    result.failure = { message: err.message, step: '', pos: scenario.pos, expected: err.expected, received: err.received, header: err.header };
  } else if (err instanceof Interrupted) {
    result.verdict = 'skipped';
    result.skipReason = `interrupted (${err.step})`;
  } else if (err instanceof SipwrightError) {
    result.verdict = 'error';
    result.error = { message: err.message, code: err.code };
  } else {
    const e = err as Error;
    result.verdict = 'error';
    result.error = { message: e?.message ?? String(err), stack: e?.stack };
  }
}

/** What the peer sent that breaks or bends RFC 3261, each finding once. */
function findingsOf(ladder: readonly LadderEntry[]): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const e of ladder) {
    if (e.direction !== 'in') continue;
    let found: Finding[];
    try {
      found = validateMessage(parseMessage(e.bytes, { datagram: e.protocol === 'udp' }));
    } catch (err) {
      found = [{ code: 'unparsable', severity: 'violation', message: (err as Error).message }];
    }
    for (const f of found) {
      const key = `${f.code}|${f.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(f);
      }
    }
  }
  return out;
}
