/**
 * Shared by the test/scenario/steps-*.test.ts files: load a YAML scenario from text and run it
 * in-process with {@link runScenario}, and read its SIP ladder back as parsed messages.
 */
import { loadScenarioText } from '../../src/scenario/loader.js';
import type { LadderEntry, TestResult } from '../../src/scenario/result.js';
import { runScenario, type RunOptions } from '../../src/scenario/runner.js';
import type { SipMessage } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parse.js';
import { freePort } from '../support/ports.js';

export type RunInit = Partial<Omit<RunOptions, 'suite'>>;

/** Load `yaml` as `x.yaml` (every name in `vars` known to the loader) and run it. */
export function runYaml(yaml: string, init: RunInit = {}): Promise<TestResult> {
  const scenario = loadScenarioText(yaml, 'x.yaml', { knownVars: Object.keys(init.vars ?? {}) });
  return runScenario(scenario, { suite: 'test', ...init });
}

/** One ladder entry, parsed, with its direction and party. */
export interface WireMessage {
  direction: 'in' | 'out';
  party: string;
  msg: SipMessage;
  entry: LadderEntry;
}

/** Every message of the ladder, parsed (in the order the taps saw them). */
export function wire(result: TestResult): WireMessage[] {
  return result.ladder.map((entry) => ({
    direction: entry.direction,
    party: entry.party,
    msg: parseMessage(entry.bytes, { datagram: entry.protocol === 'udp' }),
    entry,
  }));
}

/** `INVITE`, `180 Ringing`, … for each message one party sent (`out`) or received (`in`). */
export function firstLines(result: TestResult, party: string, direction: 'in' | 'out'): string[] {
  return wire(result)
    .filter((w) => w.party === party && w.direction === direction)
    .map((w) => (w.msg.isResponse ? `${w.msg.status} ${w.msg.cseq.method}` : w.msg.method));
}

/** A readable account of a result for assertion messages. */
export function explain(result: TestResult): string {
  const head = `${result.verdict}: ${result.failure?.message ?? result.error?.message ?? result.skipReason ?? ''}`;
  const ladder = result.ladder.map((e) => `--- ${e.party} ${e.direction} ${e.remote}\n${e.bytes.toString('utf8')}`).join('\n');
  return `${head}\n${ladder}`;
}

/** Options of {@link duet}. */
export interface DuetOptions extends RunInit {
  /** Extra keys of party `a` (the caller) and `b` (the callee), as YAML flow-map entries. */
  a?: string;
  b?: string;
  /** The scenario's default expect timeout (default 2s). */
  timeout?: string;
}

/**
 * Run `steps` (YAML list items, indented two spaces) in a scenario where one sipwright plays
 * both sides on loopback: party `a` (uac, the default party) sends to party `b` (uas), which
 * listens on the free port `${bport}`.
 */
export async function duet(steps: string, opts: DuetOptions = {}): Promise<TestResult> {
  const { a, b, timeout, ...init } = opts;
  const bport = String(await freePort());
  return runYaml(duetYaml(steps, { a, b, timeout }), { ...init, vars: { bport, ...init.vars } });
}

/** The YAML {@link duet} runs; the first line of `steps` is line 7 of the file. */
export function duetYaml(steps: string, opts: { a?: string; b?: string; timeout?: string } = {}): string {
  return [
    'name: duet',
    `timeout: ${opts.timeout ?? '2s'}`,
    'parties:',
    `  a: { role: uac, target: "127.0.0.1:\${bport}"${opts.a ? `, ${opts.a}` : ''} }`,
    `  b: { role: uas, listen: "127.0.0.1:\${bport}"${opts.b ? `, ${opts.b}` : ''} }`,
    'steps:',
    steps.replace(/^\n/, '').replace(/\s+$/, ''),
    '',
  ].join('\n');
}
