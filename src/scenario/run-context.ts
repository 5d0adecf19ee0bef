/**
 * What the step executors share while one scenario runs: its parties, calls, registrations,
 * background tasks (registration refresh), the abort signal, and the secrets to redact.
 */
import { SipwrightError } from '../errors.js';
import type { DigestCredentialsSource } from '../auth/authenticating-client.js';
import type { Address } from '../transport/transport.js';
import type { Call } from './call.js';
import type { CredentialsSpec, Scenario, SourcePos, StepBase } from './model.js';
import type { Party } from './party.js';
import { interpolate, type Variables } from './variables.js';

/** A registration made by a `register` step, kept for `refresh` and `unregister`. */
export interface Registration {
  uri: string;
  aor: string;
  callId: string;
  cseq: number;
  expires: number;
  /** Seconds the registrar granted on the last success. */
  granted: number;
  credentials?: DigestCredentialsSource;
  dest?: Address;
  headers: Array<[string, string]>;
  /** Set by `unregister` or the end of the test: the refresh loop stops. */
  stopped?: boolean;
  /** Refreshes that succeeded. */
  refreshes: number;
}

export interface RunContext {
  scenario: Scenario;
  parties: Map<string, Party>;
  /** Where out-of-dialog requests go by default (--target). */
  target: Address | undefined;
  /** Default expect timeout, ms. */
  timeoutMs: number;
  signal: AbortSignal;
  registrations: Map<string, Registration>;
  /** Background tasks (refresh loops); awaited, then stopped, at the end. */
  background: Array<Promise<void>>;
  /** Failures found by background tasks; the test fails with the first one. */
  backgroundFailures: Array<{ message: string; pos: SourcePos; step: string }>;
  /** Passwords resolved during the run, redacted from every report. */
  secrets: Set<string>;
  /** Next media port to advertise in generated SDP (no RTP is sent yet). */
  nextMediaPort: number;
}

/** The party a step runs on: its `party:` or the scenario's first party. */
export function partyOf(ctx: RunContext, step: StepBase): Party {
  const name = step.party ?? ctx.scenario.parties[0]?.name;
  const p = name === undefined ? undefined : ctx.parties.get(name);
  if (!p) throw new SipwrightError('ERR_SCENARIO', `${where(step.pos)}: party "${name}" is not running`);
  return p;
}

/**
 * The name of the call a step is about: its `call:`, else `call` — or `call#<n>` inside branch n
 * of a `parallel` step, so that copies of the same steps run separate calls.
 */
export function callName(step: StepBase, vars: Variables): string {
  if (step.call) return step.call;
  const branch = vars.has('branch') ? vars.get('branch') : undefined;
  return branch ? `call#${branch}` : 'call';
}

/** The call a step is about, scoped per party. */
export function callOf(ctx: RunContext, step: StepBase, vars: Variables): Call | undefined {
  return partyOf(ctx, step).call(callName(step, vars));
}

/** Credentials with their templates resolved; the password is recorded as a secret. */
export function resolveCredentials(
  ctx: RunContext,
  spec: CredentialsSpec | undefined,
  vars: Variables,
  pos: SourcePos,
): DigestCredentialsSource | undefined {
  if (!spec) return undefined;
  const password = interpolate(spec.password, vars, { pos, field: 'credentials.password' });
  if (password.length >= 3) ctx.secrets.add(password);
  return {
    username: interpolate(spec.username, vars, { pos, field: 'credentials.username' }),
    password,
    realm: spec.realm === undefined ? undefined : interpolate(spec.realm, vars, { pos, field: 'credentials.realm' }),
  };
}

/** `file:line:column` */
export function where(pos: SourcePos): string {
  return `${pos.file}:${pos.line}:${pos.column}`;
}

/** Sleep that ends early on abort (resolves false then). */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
