/**
 * Scenario variables and `${name}` interpolation.
 *
 * Values come, from weakest to strongest, from the scenario's `vars:`, `--var`, a CSV row, the
 * target profile, and captures made while the call runs; the runner puts them into one root
 * {@link Variables} scope in that order. `${env.NAME}` reads the environment (injectable, so
 * tests and the load runner need not touch `process.env`).
 *
 * Scopes: a `parallel` branch or a `repeat` iteration runs in a child scope. A write (a `set`
 * step, a capture) lands in the scope where the step runs; a read walks up the parent chain, so
 * a branch sees everything set before it, and two branches never see each other's captures.
 * A branch's values end with it unless the runner calls {@link Variables.commit} to copy them
 * into the parent when the branch has finished.
 */
import { SipwrightError } from '../errors.js';
import type { SourcePos } from './model.js';

/** An environment to read `${env.NAME}` from (`process.env` by default). */
export type EnvMap = Readonly<Record<string, string | undefined>>;

/** Initial values: an object or `[name, value]` pairs. */
export type VariablesInit = Readonly<Record<string, string>> | Iterable<readonly [string, string]>;

/** Where a template was written, for error messages: `file:line:col: field: …`. */
export interface TemplateSite {
  pos: SourcePos;
  /** The field as the user knows it, e.g. `send.headers.X-Account` or `register.uri`. */
  field: string;
}

/** Prefix of the names that read the environment. */
const ENV_PREFIX = 'env.';

/** A variable name: `[A-Za-z_][A-Za-z0-9_.-]*`. */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * `$${` (an escaped, literal `${`), or `${…}` up to the next `}` (group 1 = the name, group 2 =
 * the closing brace, empty when the reference is unterminated).
 */
const REFERENCE = /\$\$\{|\$\{([^}]*)(\}?)/g;

/** `file:line:col`, the way every scenario error starts. */
export function formatSourcePos(pos: SourcePos): string {
  return `${pos.file}:${pos.line}:${pos.column}`;
}

/** True when `name` may be used as a variable (`${name}`, a capture target, a CSV column). */
export function isVariableName(name: string): boolean {
  return NAME.test(name);
}

/** One scope of variables, with an optional parent it reads through to. */
export class Variables {
  /** The enclosing scope, or undefined for the root. */
  readonly parent: Variables | undefined;
  private readonly values = new Map<string, string>();
  private readonly env: EnvMap;

  /**
   * A scope holding `init`. With `options.parent` it is a child scope (see {@link child});
   * `options.env` is where `${env.NAME}` is read from (default: the parent's, else `process.env`).
   */
  constructor(init?: VariablesInit, options: { env?: EnvMap; parent?: Variables } = {}) {
    this.parent = options.parent;
    this.env = options.env ?? options.parent?.env ?? process.env;
    if (init !== undefined) {
      const pairs = Symbol.iterator in init ? (init as Iterable<readonly [string, string]>) : Object.entries(init);
      for (const [name, value] of pairs) this.set(name, value);
    }
  }

  /** A scope for a `parallel` branch or a `repeat` iteration, reading through to this one. */
  child(init?: VariablesInit): Variables {
    return new Variables(init, { parent: this });
  }

  /**
   * The value of `name`: `env.NAME` from the environment, anything else from the nearest scope
   * that has it. `undefined` when unset (an unset environment variable too).
   */
  get(name: string): string | undefined {
    if (name.startsWith(ENV_PREFIX)) return this.env[name.slice(ENV_PREFIX.length)];
    for (let scope: Variables | undefined = this; scope !== undefined; scope = scope.parent) {
      const v = scope.values.get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** True when {@link get} would return a value. */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /**
   * Set `name` in this scope (shadowing a parent's value). Throws `ERR_SCENARIO` for a name that
   * is not `[A-Za-z_][A-Za-z0-9_.-]*` or that starts with `env.` (the environment is read-only).
   */
  set(name: string, value: string): this {
    if (!NAME.test(name)) {
      throw new SipwrightError('ERR_SCENARIO', `invalid variable name ${JSON.stringify(name)}: use letters, digits, _ . - and start with a letter or _`);
    }
    if (name.startsWith(ENV_PREFIX)) {
      throw new SipwrightError('ERR_SCENARIO', `cannot set ${name}: names starting with "env." read the environment`);
    }
    this.values.set(name, value);
    return this;
  }

  /** Remove `name` from this scope only (a parent's value shows through again); true when it was set here. */
  delete(name: string): boolean {
    return this.values.delete(name);
  }

  /** The variables set in this scope itself (not its parents), in the order first set. */
  own(): IterableIterator<[string, string]> {
    return this.values.entries();
  }

  /** Every visible variable (this scope over its parents), without the environment. */
  toRecord(): Record<string, string> {
    const chain: Variables[] = [];
    for (let scope: Variables | undefined = this; scope !== undefined; scope = scope.parent) chain.push(scope);
    const out: Record<string, string> = {};
    for (let i = chain.length - 1; i >= 0; i--) for (const [k, v] of chain[i].values) out[k] = v;
    return out;
  }

  /** Copy this scope's own values into its parent (a finished branch handing back its captures). */
  commit(): void {
    if (this.parent === undefined) return;
    for (const [k, v] of this.values) this.parent.values.set(k, v);
  }
}

/**
 * Replace every `${name}` in `template` with its value from `vars`. `$${` stands for a literal
 * `${` (so `$${x}` gives `${x}`). Names follow `[A-Za-z_][A-Za-z0-9_.-]*`; `${env.NAME}` reads
 * the environment.
 *
 * The loader rejects undefined names before a run; this is the run-time safety net, and throws
 * `SipwrightError('ERR_SCENARIO')` with `file:line:col: field: …` for an undefined variable, an
 * unset environment variable, an invalid name or an unterminated `${`.
 */
export function interpolate(template: string, vars: Variables, where: TemplateSite): string {
  if (template.indexOf('$') < 0) return template;
  REFERENCE.lastIndex = 0;
  let out = '';
  let last = 0;
  for (let m = REFERENCE.exec(template); m !== null; m = REFERENCE.exec(template)) {
    out += template.slice(last, m.index);
    last = REFERENCE.lastIndex;
    const name = m[1];
    if (name === undefined) {
      out += '${';
      continue;
    }
    if (m[2] === '') throw templateError(where, `unterminated \${ in ${JSON.stringify(template)} (write $\${ for a literal \${)`);
    if (!NAME.test(name)) throw templateError(where, `invalid variable name \${${name}}`);
    const value = vars.get(name);
    if (value === undefined) {
      if (name.startsWith(ENV_PREFIX)) {
        throw templateError(where, `environment variable ${name.slice(ENV_PREFIX.length)} is not set (\${${name}})`);
      }
      throw templateError(where, `undefined variable \${${name}}`);
    }
    out += value;
  }
  return last === 0 ? template : out + template.slice(last);
}

/** The `${name}` references in a template, in order (for the loader's checks); escapes skipped. */
export function referencedNames(template: string): string[] {
  const names: string[] = [];
  if (template.indexOf('$') < 0) return names;
  for (const m of template.matchAll(REFERENCE)) if (m[1] !== undefined && m[2] === '}') names.push(m[1]);
  return names;
}

function templateError(where: TemplateSite, message: string): SipwrightError {
  return new SipwrightError('ERR_SCENARIO', `${formatSourcePos(where.pos)}: ${where.field}: ${message}`);
}
