/**
 * Loads a scenario file into the model. Positions come from the YAML document (yaml's
 * `parseDocument` with a `LineCounter`), the shape from the zod schema (schema.ts), the
 * cross-step rules from semantic-checks.ts. Every problem found is reported at once, in file
 * order, as `file:line:column: field: what is wrong, what was expected`.
 */
import { readFileSync } from 'node:fs';
import { isMap as isYamlMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { PERSONA_KINDS, toPersonaConfig, type PersonaConfig } from './persona-config.js';
import { ScenarioError } from '../errors.js';
import {
  DEFAULT_AUTO,
  DEFAULT_EXPECT_TIMEOUT_MS,
  type BodySpec,
  type Capture,
  type CredentialsSpec,
  type HeaderAssertion,
  type PartySpec,
  type Scenario,
  type Step,
} from './model.js';
import {
  PARTY_KEYS,
  partyKeys,
  scenarioHeader,
  stepItem,
  type Path,
  type RawHeaderCheck,
  type RawPartyKeys,
  type RawStep,
} from './schema.js';
import { checkDuplicateKeys, defined, formatPath, Locator, PHONE_NUMBER_TEXT, Problems } from './yaml-source.js';
import { checkPartyShorthand, checkPersonaBlocks, checkStepRules, checkVariables, type CheckContext, type StepNode } from './semantic-checks.js';

export interface LoadOptions {
  /** Variable names the runner will provide: --var names, CSV columns, profile keys. */
  knownVars?: Iterable<string>;
  /**
   * Values known when the file is loaded (`${profile.*}` from --profile, --var): substituted
   * into the text before parsing, so they can stand where a number or a duration is expected
   * (`count: ${profile.channel_limits.0.limit}`, `timeout: ${profile.carrier.expires}s`).
   */
  constants?: Readonly<Record<string, string>>;
}

/** `${name}` (not `$${name}`) replaced by its constant value; other references stay for run time. */
function substituteConstants(text: string, constants: Readonly<Record<string, string>> | undefined): string {
  if (!constants) return text;
  // A few passes, innermost first, so constants can nest: ${profile.password.${profile.forward.busy.to}}.
  for (let pass = 0; pass < 4; pass++) {
    const next = text.replace(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g, (whole, name: string) =>
      Object.hasOwn(constants, name) ? constants[name] : whole,
    );
    if (next === text) break;
    text = next;
  }
  return text;
}


/** What to do about the YAML syntax errors people make most. */
const YAML_HINTS: Partial<Record<string, string>> = {
  TAB_AS_INDENT: 'expected spaces for indentation',
  BLOCK_AS_IMPLICIT_KEY: 'expected the keys of one map to start in the same column, and a value holding ": " in quotes',
  MULTILINE_IMPLICIT_KEY: 'expected the keys of one map to start in the same column, and a value holding ": " in quotes',
  BAD_INDENT: 'expected consistent indentation and closed brackets',
  MISSING_CHAR: 'expected consistent indentation and closed quotes and brackets',
  UNEXPECTED_TOKEN:
    `expected a value that starts with a quote to end with it (quote the whole value, like '"Alice" <sip:alice@x>')`,
  MULTIPLE_DOCS: 'expected one scenario (one YAML document) per file',
};

/** Read and load a scenario file. @throws ScenarioError with every problem found. */
export function loadScenario(path: string, opts: LoadOptions = {}): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const message = `cannot read the file (${code}), expected a readable scenario file`;
    throw new ScenarioError([{ pos: { file: path, line: 0, column: 0 }, field: '', message }]);
  }
  return loadScenarioText(text, path, opts);
}




/** Load scenario text; `file` is the name messages use. @throws ScenarioError with every problem found. */
export function loadScenarioText(text: string, file: string, opts: LoadOptions = {}): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(substituteConstants(text.replace(/^\uFEFF/, ''), opts.constants), {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: false, // duplicates are reported below, with the path and both lines
    customTags: (tags) => [PHONE_NUMBER_TEXT, ...tags],
  });
  const loc = new Locator(doc, lines, file);
  const problems = new Problems(loc);

  if (doc.errors.length) {
    const offsets = new Set<number>();
    for (const e of doc.errors) {
      if (offsets.has(e.pos[0])) continue; // one syntax mistake often yields several errors at one place
      offsets.add(e.pos[0]);
      problems.addAt(loc.posOf(e.pos[0]), '', `invalid YAML: ${e.message}, ${YAML_HINTS[e.code] ?? 'expected valid YAML'}`);
    }
    throw problems.error();
  }
  const root = doc.contents;
  if (!isYamlMap(root)) {
    const what = root === null || (isScalar(root) && root.value === null) ? 'empty' : isSeq(root) ? 'a list' : 'a single value';
    const message = `the file is ${what}, expected a map with at least name and steps (see docs/scenario-format.md)`;
    problems.addAt(loc.at([]), '', message);
    throw problems.error();
  }
  checkDuplicateKeys(root, [], loc, problems);

  let plain: Record<string, unknown>;
  try {
    plain = doc.toJS({ maxAliasCount: 1000 }) as Record<string, unknown>;
  } catch (err) {
    problems.addAt(loc.at([]), '', `cannot expand the YAML (${(err as Error).message}), expected fewer aliases`);
    throw problems.error();
  }

  const header = scenarioHeader.safeParse(plain);
  if (!header.success) problems.addIssues(header.error.issues, []);
  const rawSteps = Array.isArray(plain.steps) ? plain.steps : [];
  const nodes: StepNode[] = [];
  rawSteps.forEach((item, i) => {
    const r = stepItem.safeParse(item);
    if (r.success) nodes.push(toStepNode(r.data, ['steps', i], {}, loc));
    else problems.addIssues(r.error.issues, ['steps', i]);
  });

  const ctx: CheckContext = {
    report: (path, message, at) => problems.add(path, message, at),
    lineOf: (path) => loc.at(path, 'key').line,
    field: formatPath,
  };
  checkPartyShorthand(plain, ctx);
  checkPersonaBlocks(plain, ctx);
  const declared = partyKeys.safeParse(Object.fromEntries(PARTY_KEYS.filter((k) => k in plain).map((k) => [k, plain[k]])));
  const parties = declared.success ? toParties(declared.data, loc) : undefined;
  if (parties) checkStepRules(nodes, parties, !declared.data?.parties, ctx);
  checkVariables(plain, opts.knownVars ?? [], ctx);

  if (problems.list.length || !header.success || !parties) throw problems.error();
  const h = header.data;
  return defined({
    file,
    name: h.name,
    description: h.description,
    tags: h.tags ?? [],
    parties,
    vars: Object.fromEntries(h.vars ?? []),
    timeoutMs: h.timeout ?? DEFAULT_EXPECT_TIMEOUT_MS,
    steps: nodes.map((n) => n.step),
    pos: loc.at([]),
  });
}



function toParties(h: RawPartyKeys, loc: Locator): PartySpec[] {
  const auto = (a: Partial<PartySpec['auto']> | undefined) => ({ ...DEFAULT_AUTO, ...defined(a ?? {}) });
  if (h.parties) {
    return h.parties.map(([name, p]) =>
      defined({
        name,
        role: p.role,
        transport: p.transport,
        listen: p.listen,
        user: p.user,
        target: p.target,
        credentials: credentialsOf(p.credentials),
        auto: auto(p.auto),
        persona: personaOf(p),
        pos: loc.at(['parties', name], 'key'),
      }),
    );
  }
  const role = h.role ?? 'uac';
  return [
    defined({
      name: role,
      role,
      transport: h.transport,
      credentials: credentialsOf(h.credentials),
      auto: auto(h.auto),
      pos: h.role ? loc.at(['role'], 'key') : loc.at([]),
    }),
  ];
}

/** The persona block of a party whose role is a persona (the schema checked its keys). */
function personaOf(p: { role: string; carrier?: unknown; pbx?: unknown; phone?: unknown }): PersonaConfig | undefined {
  for (const kind of PERSONA_KINDS) {
    const block = p[kind];
    if (block !== undefined && p.role === kind) return toPersonaConfig(kind, block, true);
  }
  return undefined;
}

type Inherited = { party?: string; call?: string };

/** `expires` of a register step that does not give one: an hour, the usual registrar default. */
const DEFAULT_REGISTER_EXPIRES = 3600;

const credentialsOf = (c: CredentialsSpec | undefined) => c && defined(c);

function bodyOf(d: { body?: string; sdp?: 'offer' | 'answer'; 'content-type'?: string }): BodySpec | undefined {
  if (d.sdp) return { kind: d.sdp === 'offer' ? 'sdp-offer' : 'sdp-answer' };
  return d.body === undefined ? undefined : defined({ kind: 'text' as const, text: d.body, contentType: d['content-type'] });
}

const headerList = (h: Array<[string, string[]]> | undefined): Array<[string, string]> =>
  (h ?? []).flatMap(([name, values]) => values.map((v): [string, string] => [name, v]));

/** Convert a validated step to the model; children inherit `party`/`call` of a parallel or repeat. */
function toStepNode(raw: RawStep, path: Path, inherited: Inherited, loc: Locator): StepNode {
  const d = raw.data;
  const party = d.party ?? inherited.party;
  const call = d.call ?? inherited.call;
  const base = defined({ pos: loc.at(path), party, call });
  const keyPos = (...rest: Path) => loc.at([...path, ...rest], 'key');
  const children = (list: RawStep[], at: Path) => list.map((s, i) => toStepNode(s, [...path, ...at, i], { party, call }, loc));
  let lists: StepNode[][] = [];
  let step: Step;
  switch (raw.kind) {
    case 'send-request': {
      const r = raw.data;
      step = defined({
        kind: raw.kind,
        ...base,
        method: raw.method,
        uri: r.uri,
        from: r.from,
        to: r.to,
        headers: headerList(r.headers),
        body: bodyOf(r),
        auth: r.auth ?? false,
      });
      break;
    }
    case 'send-response': {
      const r = raw.data;
      const headers = headerList(r.headers);
      step = defined({ kind: raw.kind, ...base, status: raw.status, reason: r.reason, headers, body: bodyOf(r), to: r.to });
      break;
    }
    case 'send-raw':
      step = defined({ kind: raw.kind, ...base, raw: raw.data.raw, dest: raw.data.dest });
      break;
    case 'expect-response':
    case 'expect-request': {
      const r = raw.data;
      // An assertion stands where its header name (shorthand) or its operator key is written.
      const headers = (r.headers ?? []).flatMap(([name, checks]) =>
        checks.map((c: RawHeaderCheck): HeaderAssertion => {
          const pos = c.key ? keyPos('headers', name, c.key) : keyPos('headers', name);
          return defined({ name, op: c.op, value: c.value, pos });
        }),
      );
      const capture = (r.capture ?? []).map(([variable, c]): Capture => {
        return defined({ variable, from: c.from, param: c.param, regex: c.regex, pos: keyPos('capture', variable) });
      });
      const sdp = r.sdp && defined({ ...r.sdp, pos: keyPos('sdp') });
      const common = { ...base, optional: r.optional ?? false, timeoutMs: r.timeout, headers, sdp, capture };
      step =
        raw.kind === 'expect-response'
          ? defined({ kind: raw.kind, status: raw.status, ...common })
          : defined({ kind: raw.kind, method: raw.method, ...common });
      break;
    }
    case 'auth':
      step = defined({ kind: raw.kind, ...base, credentials: credentialsOf(raw.data.auth?.credentials) });
      break;
    case 'pause':
      step = { kind: raw.kind, ...base, ms: raw.data.pause };
      break;
    case 'cancel':
      step = { kind: raw.kind, ...base };
      break;
    case 'hangup':
      step = defined({ kind: raw.kind, ...base, timeoutMs: raw.data.hangup?.timeout });
      break;
    case 'register': {
      const r = raw.data.register ?? {};
      step = defined({
        kind: raw.kind,
        ...base,
        uri: r.uri,
        aor: r.aor,
        expires: r.expires ?? DEFAULT_REGISTER_EXPIRES,
        credentials: credentialsOf(r.credentials),
        expect: r.expect ?? [200],
        timeoutMs: r.timeout,
        headers: headerList(r.headers),
      });
      break;
    }
    case 'unregister': {
      const r = raw.data.unregister ?? {};
      const credentials = credentialsOf(r.credentials);
      const expect = r.expect ?? [200];
      step = defined({ kind: raw.kind, ...base, uri: r.uri, aor: r.aor, credentials, expect, timeoutMs: r.timeout });
      break;
    }
    case 'refresh': {
      const { every, margin } = raw.data.refresh;
      const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
      step = defined({ kind: raw.kind, ...base, everyS: seconds(every), marginS: seconds(margin) });
      break;
    }
    case 'parallel': {
      const p = raw.data.parallel;
      if (Array.isArray(p)) {
        lists = p.map((branch, b) => children(branch, ['parallel', b]));
        step = { kind: raw.kind, ...base, branches: lists.map((l) => l.map((n) => n.step)) };
      } else {
        // `count` copies of one branch; the runner sets ${branch} to 1…count in each.
        lists = [children(p.steps, ['parallel', 'steps'])];
        const one = lists[0].map((n) => n.step);
        const branches = Array.from({ length: p.count }, (_, i) => (i === 0 ? one : structuredClone(one)));
        step = { kind: raw.kind, ...base, branches };
      }
      break;
    }
    case 'repeat':
      lists = [children(raw.data.repeat.steps, ['repeat', 'steps'])];
      step = { kind: raw.kind, ...base, count: raw.data.repeat.count, steps: lists[0].map((n) => n.step) };
      break;
    case 'set':
      step = { kind: raw.kind, ...base, vars: Object.fromEntries(raw.data.set) };
      break;
    case 'channel-limit': {
      const c = raw.data['channel-limit'];
      step = defined({
        kind: raw.kind,
        ...base,
        uri: c.uri,
        limit: c.limit,
        refuse: c.refuse,
        mode: c.mode ?? 'sequential',
        holdMs: c.hold ?? 500,
        timeoutMs: c.timeout,
        from: c.from,
        headers: (c.headers ?? []).flatMap(([n, vs]) => vs.map((v): [string, string] => [n, v])),
      });
      break;
    }
  }
  return defined({ step, path, ownParty: d.party, lists });
}
