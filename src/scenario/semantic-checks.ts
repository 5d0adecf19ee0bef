/**
 * Rules a scenario must follow that no single key can check: parties named by steps exist,
 * steps do not duplicate what the UA core does by itself (auto ACK / BYE / CANCEL answers), and
 * every `${name}` is defined before the step that uses it.
 */
import type { PartySpec, Step } from './model.js';
import { closestName, isMap, VARIABLE_NAME, type Path } from './schema-values.js';

/** Where the loader collects problems: `at: 'key'` points at the key rather than its value. */
export interface CheckContext {
  report(path: Path, message: string, at?: 'key' | 'value'): void;
  /** 1-based line of the value at `path` (for "defined only at line N"). */
  lineOf(path: Path): number;
  /** Written as `a.b[2].c`, the way messages name fields. */
  field(path: Path): string;
}

/** A converted step with where it came from; `lists` are its branches or body. */
export interface StepNode {
  step: Step;
  path: Path;
  /** The `party:` written on this item (not inherited from an enclosing parallel or repeat). */
  ownParty?: string;
  lists: StepNode[][];
}

/** Variables the runner always provides (RFC-independent harness names); `env.NAME` too. */
export const BUILTIN_VARS: readonly string[] = [
  'target', 'target_host', 'target_port', 'local', 'local_host', 'local_port',
  'transport', 'call_id', 'iteration', 'branch', 'expires',
];
const SINGLE_PARTY_KEYS = ['role', 'transport', 'credentials', 'auto'] as const;

/** `role`/`transport`/`credentials`/`auto` at the top describe the one party; not allowed next to `parties`. */
export function checkPartyShorthand(plain: Record<string, unknown>, ctx: CheckContext): void {
  if (!('parties' in plain)) return;
  for (const key of SINGLE_PARTY_KEYS) {
    if (!(key in plain)) continue;
    const expected = `expected it inside the party it belongs to: parties.<name>.${key}`;
    ctx.report([key], `not allowed at the top level together with parties, ${expected}`, 'key');
  }
}

const PERSONA_ROLES = ['carrier', 'pbx', 'phone'] as const;

/**
 * A persona block belongs only to a party of that role (`role: carrier` + `carrier: {…}`).
 * Without its block a carrier, pbx or phone party is a plain party whose steps do everything.
 */
export function checkPersonaBlocks(plain: Record<string, unknown>, ctx: CheckContext): void {
  const parties = plain.parties;
  if (parties === null || typeof parties !== 'object' || Array.isArray(parties)) return;
  for (const [name, p] of Object.entries(parties as Record<string, unknown>)) {
    if (p === null || typeof p !== 'object') continue;
    const party = p as Record<string, unknown>;
    const role = party.role;
    for (const kind of PERSONA_ROLES) {
      if (kind in party && role !== kind) {
        ctx.report(['parties', name, kind], `a ${kind} block on a party whose role is ${String(role)}, expected role: ${kind} with it`, 'key');
      }
    }
  }
}

/**
 * Party names, scripted messages the core already sends, and credentials for auth.
 * `shorthand` is true when the file declared its one party at the top level.
 */
export function checkStepRules(steps: StepNode[], parties: PartySpec[], shorthand: boolean, ctx: CheckContext): void {
  const byName = new Map(parties.map((p) => [p.name, p]));
  const names = parties.map((p) => p.name);
  /** Where the party's settings are written. */
  const settingsOf = (p: PartySpec) => (shorthand ? 'at the top level' : `in parties.${p.name}`);
  const partyOf = (s: Step) => s.party ?? names[0];
  const sameCall = (a: Step, b: Step) => partyOf(a) === partyOf(b) && (a.call ?? 'call') === (b.call ?? 'call');

  const walk = (list: StepNode[]): void => {
    let prev: Step | undefined;
    for (const node of list) {
      const s = node.step;
      const at = (key: string) => [...node.path, key];
      if (node.ownParty !== undefined && !byName.has(node.ownParty)) {
        const near = closestName(node.ownParty, names);
        const hint = near ? ` (did you mean "${near}"?)` : '';
        ctx.report(at('party'), `unknown party "${node.ownParty}"${hint}, expected one of the parties: ${names.join(', ')}`);
      }
      const p = byName.get(partyOf(s));
      // RFC 3261 §13.2.2.4: the UAC core ACKs every 2xx to its INVITE; a scripted one would be a second ACK.
      if (p && s.kind === 'send-request' && s.method === 'ACK' && p.auto.ack) {
        const what = `the core already sends ACK for a 2xx to INVITE (auto.ack is on for party ${p.name})`;
        const expected = `expected auto: { ack: false } ${settingsOf(p)} to send ACK yourself, or remove this step`;
        ctx.report(at('send'), `${what}, ${expected}`);
      }
      // RFC 3261 §15.1.2 (BYE) and §9.2 (CANCEL): the UAS core answers these itself when auto is on.
      if (p && s.kind === 'send-response' && prev?.kind === 'expect-request' && sameCall(prev, s)) {
        const which = prev.method === 'BYE' ? 'bye' : prev.method === 'CANCEL' ? 'cancel' : undefined;
        if (which && p.auto[which]) {
          const extra = which === 'cancel' ? ' and the INVITE with 487' : '';
          const what = `the core already answered the ${prev.method} with 200${extra} (auto.${which} is on for party ${p.name})`;
          const expected = `expected auto: { ${which}: false } ${settingsOf(p)} to answer it yourself, or remove this step`;
          ctx.report(at('send'), `${what}, ${expected}`);
        }
      }
      // RFC 3261 §22.2: answering a challenge needs a username and password.
      if (p && !p.credentials && ((s.kind === 'auth' && !s.credentials) || (s.kind === 'send-request' && s.auth))) {
        const orStep = s.kind === 'auth' ? ' or auth: { credentials: … }' : '';
        const what = `no credentials to answer a challenge with (party ${p.name} has none)`;
        ctx.report(at('auth'), `${what}, expected credentials: { username, password } ${settingsOf(p)}${orStep}`);
      }
      node.lists.forEach(walk);
      prev = s;
    }
  };
  walk(steps);
}

// ---- variables ------------------------------------------------------------------------------

/** `$${` (an escaped, literal `${`), or `${…}` up to the next `}` (group 2 empty when unclosed), as variables.ts reads them. */
const REFERENCE = /\$\$\{|\$\{([^}]*)(\}?)/g;
const ENV_PREFIX = 'env.';

/** Names `capture:` and `set:` define anywhere in the steps, with where (first definition wins). */
function collectDefinitions(items: unknown, path: Path, out: Map<string, Path>): void {
  if (!Array.isArray(items)) return;
  items.forEach((item, i) => {
    if (!isMap(item)) return;
    const at = [...path, i];
    for (const key of ['capture', 'set'] as const) {
      const defs = item[key];
      if (isMap(defs)) for (const name of Object.keys(defs)) if (!out.has(name)) out.set(name, [...at, key, name]);
    }
    const par = item.parallel;
    if (Array.isArray(par)) par.forEach((branch, b) => collectDefinitions(branch, [...at, 'parallel', b], out));
    else if (isMap(par)) collectDefinitions(par.steps, [...at, 'parallel', 'steps'], out);
    if (isMap(item.repeat)) collectDefinitions(item.repeat.steps, [...at, 'repeat', 'steps'], out);
  });
}

/**
 * Every `${name}` in a string must be defined before use: by `vars`, the names the runner
 * passes (`knownVars`: --var, CSV columns, profile keys), a built-in, `env.NAME`, or a `set`
 * or `capture` of an earlier step. Captures inside parallel branches count after the parallel.
 */
export function checkVariables(plain: Record<string, unknown>, knownVars: Iterable<string>, ctx: CheckContext): void {
  const builtins = new Set(BUILTIN_VARS);
  const everywhere = new Map<string, Path>();
  collectDefinitions(plain.steps, ['steps'], everywhere);

  const checkString = (s: string, path: Path, defined: Set<string>) => {
    const reported = new Set<string>();
    for (const m of s.matchAll(REFERENCE)) {
      if (m[0] === '$${') continue; // an escaped, literal ${
      const name = m[1];
      if (!m[2]) {
        ctx.report(path, `unclosed "\${" in ${JSON.stringify(s)}, expected \${name} (or $\${ for a literal \${)`);
        return;
      }
      if (reported.has(name)) continue;
      reported.add(name);
      if (!VARIABLE_NAME.test(name)) {
        const expected = 'expected ${name} (letters, digits, _ . - starting with a letter or _) or ${env.NAME}';
        ctx.report(path, `"\${${name}}" is not a variable reference, ${expected}`);
      } else if (!name.startsWith(ENV_PREFIX) && !builtins.has(name) && !defined.has(name)) {
        ctx.report(path, undefinedMessage(name, defined, everywhere.get(name), ctx));
      }
    }
  };
  const check = (v: unknown, path: Path, defined: Set<string>): void => {
    if (typeof v === 'string') checkString(v, path, defined);
    else if (Array.isArray(v)) v.forEach((x, i) => check(x, [...path, i], defined));
    else if (isMap(v)) for (const [k, x] of Object.entries(v)) check(x, [...path, k], defined);
  };

  const walkList = (items: unknown, path: Path, defined: Set<string>): void => {
    if (Array.isArray(items)) items.forEach((item, i) => walkItem(item, [...path, i], defined));
  };
  const walkItem = (item: unknown, path: Path, defined: Set<string>): void => {
    if (!isMap(item)) return;
    for (const [key, v] of Object.entries(item)) {
      if (key === 'parallel' && Array.isArray(v)) {
        const added = new Set<string>();
        v.forEach((branch, b) => {
          const own = new Set(defined);
          walkList(branch, [...path, key, b], own);
          own.forEach((n) => added.add(n));
        });
        added.forEach((n) => defined.add(n));
      } else if ((key === 'parallel' || key === 'repeat') && isMap(v)) {
        for (const [k, x] of Object.entries(v)) if (k !== 'steps') check(x, [...path, key, k], defined);
        const own = key === 'parallel' ? new Set(defined) : defined;
        walkList(v.steps, [...path, key, 'steps'], own);
        own.forEach((n) => defined.add(n));
      } else if (key === 'set' && isMap(v)) {
        // Entries are set in order, so a later one may use an earlier one.
        for (const [name, x] of Object.entries(v)) {
          check(x, [...path, key, name], defined);
          defined.add(name);
        }
      } else {
        check(v, [...path, key], defined);
      }
    }
    // A step's own captures and sets are defined for the steps after it.
    for (const key of ['capture', 'set'] as const) if (isMap(item[key])) Object.keys(item[key]).forEach((n) => defined.add(n));
  };

  const start = new Set<string>([...(isMap(plain.vars) ? Object.keys(plain.vars) : []), ...knownVars]);
  for (const key of ['vars', 'credentials', 'parties']) if (key in plain) check(plain[key], [key], start);
  walkList(plain.steps, ['steps'], new Set(start));
}

function undefinedMessage(name: string, defined: Set<string>, elsewhere: Path | undefined, ctx: CheckContext): string {
  if (elsewhere) {
    const where = `${ctx.field(elsewhere)} (line ${ctx.lineOf(elsewhere)})`;
    const expected = `expected it defined earlier: move this step after that one or give \${${name}} a default in vars`;
    return `undefined variable \${${name}}: it is defined only by ${where}, which does not run before this step; ${expected}`;
  }
  const near = closestName(name, [...defined, ...BUILTIN_VARS]);
  const mine = [...defined];
  const builtins = `${BUILTIN_VARS.join(', ')}, env.NAME`;
  const known = mine.length ? `${mine.join(', ')}, and the built-ins ${builtins}` : `only the built-ins ${builtins}`;
  return `undefined variable \${${name}}${near ? ` (did you mean \${${near}}?)` : ''}, defined are: ${known}`;
}
