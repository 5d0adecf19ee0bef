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
    if (key in plain) {
      ctx.report([key], `${key} at the top level cannot be used together with parties, expected it inside the party it belongs to (parties.<name>.${key})`, 'key');
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
  const autoWhere = (p: PartySpec) => (shorthand ? 'at the top level' : `in parties.${p.name}`);
  const partyOf = (s: Step) => byName.get(s.party ?? names[0]);
  const sameCall = (a: Step, b: Step) => (a.party ?? names[0]) === (b.party ?? names[0]) && (a.call ?? 'call') === (b.call ?? 'call');

  const walk = (list: StepNode[]): void => {
    let prev: Step | undefined;
    for (const node of list) {
      const s = node.step;
      if (node.ownParty !== undefined && !byName.has(node.ownParty)) {
        const near = closestName(node.ownParty, names);
        ctx.report([...node.path, 'party'], `unknown party "${node.ownParty}"${near ? ` (did you mean "${near}"?)` : ''}, expected one of the parties: ${names.join(', ')}`);
      }
      const p = partyOf(s);
      // RFC 3261 §13.2.2.4: the UAC core ACKs every 2xx to its INVITE; a scripted one would be a second ACK.
      if (p && s.kind === 'send-request' && s.method === 'ACK' && p.auto.ack) {
        ctx.report([...node.path, 'send'], `the core already sends ACK for a 2xx to INVITE (auto.ack is on for party ${p.name}), expected auto: { ack: false } ${autoWhere(p)} to send ACK yourself, or remove this step`);
      }
      // RFC 3261 §15.1.2 (BYE) and §9.2 (CANCEL): the UAS core answers these itself when auto is on.
      if (p && s.kind === 'send-response' && prev?.kind === 'expect-request' && sameCall(prev, s)) {
        const which = prev.method === 'BYE' ? 'bye' : prev.method === 'CANCEL' ? 'cancel' : undefined;
        if (which && p.auto[which]) {
          const extra = which === 'cancel' ? ' and the INVITE with 487' : '';
          ctx.report([...node.path, 'send'], `the core already answered the ${prev.method} with 200${extra} (auto.${which} is on for party ${p.name}), expected auto: { ${which}: false } ${autoWhere(p)} to answer it yourself, or remove this step`);
        }
      }
      if (p && !p.credentials && ((s.kind === 'auth' && !s.credentials) || (s.kind === 'send-request' && s.auth))) {
        ctx.report([...node.path, 'auth'], `no credentials to answer a challenge with (party ${p.name} has none), expected credentials: { username, password } ${autoWhere(p)}${s.kind === 'auth' ? ' or auth: { credentials: … }' : ''}`);
      }
      node.lists.forEach(walk);
      prev = s;
    }
  };
  walk(steps);
}

// ---- variables ------------------------------------------------------------------------------

/** `$${` (an escaped, literal `${`), or `${…}` up to the next `}` (group 2 empty when unclosed); as variables.ts reads them. */
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
        ctx.report(path, `"\${${name}}" is not a variable reference, expected \${name} (letters, digits, _ . - starting with a letter or _) or \${env.NAME}`);
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
    return `undefined variable \${${name}}: it is defined only by ${ctx.field(elsewhere)} (line ${ctx.lineOf(elsewhere)}), which does not run before this step; expected it defined earlier: move this step after that one or give \${${name}} a default in vars`;
  }
  const near = closestName(name, [...defined, ...BUILTIN_VARS]);
  const mine = [...defined];
  const builtins = `${BUILTIN_VARS.join(', ')}, env.NAME`;
  const known = mine.length ? `${mine.join(', ')}, and the built-ins ${builtins}` : `only the built-ins ${builtins}`;
  return `undefined variable \${${name}}${near ? ` (did you mean \${${near}}?)` : ''}, defined are: ${known}`;
}
