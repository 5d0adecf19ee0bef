/**
 * Loads a persona config (YAML) into {@link CarrierOptions}, {@link PbxOptions} or
 * {@link PhoneOptions}: what `sipwright serve` runs. Keys are snake_case, every map is strict
 * (an unknown key is an error naming the allowed ones), `${env.NAME}` may stand in any text
 * (for passwords), and every problem is reported at once as
 * `file:line:column: field: what is wrong, expected …` — the scenario loader's approach
 * (yaml `parseDocument` with a `LineCounter` for positions, zod for the shape). The format is
 * documented in docs/personas.md.
 */
import { readFileSync } from 'node:fs';
import { isMap as isYamlMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';
import { ScenarioError } from '../errors.js';
import {
  describeValue,
  enumOf,
  fail,
  flag,
  isMap,
  leaf,
  namedMap,
  nonEmptyText,
  strictMap,
  transformer,
  wholeSeconds,
  within,
  type Path,
} from './schema-values.js';
import { interpolate, Variables, type EnvMap } from './variables.js';
import { checkDuplicateKeys, defined, Locator, PHONE_NUMBER_TEXT, Problems } from './yaml-source.js';
import { isTokenString } from '../sip/charset.js';
import { parseHostPort } from '../transport/address.js';
import type { Address } from '../transport/transport.js';
import type { AnswerMode, AnswerPolicy } from '../roles/answer-policy.js';
import type { CarrierAnswer, CarrierOptions, CarrierQuirks } from '../roles/carrier.js';
import type { PbxOptions } from '../roles/pbx.js';
import type { PersonaKind } from '../roles/persona.js';
import type { PhoneOptions } from '../roles/phone.js';
import type { RefreshPolicy } from '../roles/registration-client.js';

/** Where and how the persona listens, when the config says so (the command line overrides). */
interface Binding {
  listen?: Address;
  transport?: 'udp' | 'tcp';
}

/** A loaded persona config. */
export type PersonaConfig =
  | ({ kind: 'carrier'; options: CarrierOptions } & Binding)
  | ({ kind: 'pbx'; options: PbxOptions } & Binding)
  | ({ kind: 'phone'; options: PhoneOptions } & Binding);

export interface PersonaConfigLoadOptions {
  /** Where `${env.NAME}` is read from (default `process.env`). */
  env?: EnvMap;
}

export const PERSONA_KINDS: readonly PersonaKind[] = ['carrier', 'pbx', 'phone'];

// ---- values -------------------------------------------------------------------------------------

/** `host:port` (port optional: `defaultPort`), IPv6 in brackets. */
const address = (defaultPort: number) =>
  leaf<Address>(`host:port, like 127.0.0.1:${defaultPort} or [::1]:${defaultPort}`, (v) => {
    if (typeof v !== 'string') return undefined;
    try {
      return parseHostPort(v, 'address', defaultPort);
    } catch (err) {
      const why = (err as Error).message.replace(/^address: /, '');
      return { problem: /expected/.test(why) ? why : `${why}, expected host:port, like 127.0.0.1:${defaultPort} or [::1]:${defaultPort}` };
    }
  });

const text = (expected: string) =>
  leaf<string>(expected, (v) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined));

const wholeNumber = (expected: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  leaf<number>(expected, (v) => (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : undefined));

const positiveSeconds = leaf<number>('whole seconds, 1 or more, like 120', (v) =>
  Number.isInteger(v) && (v as number) >= 1 ? (v as number) : undefined,
);
const milliseconds = wholeNumber('whole milliseconds, like 2000', 0);
/** A final status that refuses or redirects: 300-699. */
const refusalCode = wholeNumber('a final status 300-699, like 486 or 503', 300, 699);
const transport = enumOf(['udp', 'tcp'] as const);
const sipUri = leaf<string>('a SIP URI, like sip:1004@192.0.2.10', (v) =>
  typeof v === 'string' && /^sips?:[^\s<>]+$/i.test(v) ? v : undefined,
);

/** Extra headers as a map: `X-Carrier: tokyo-1`, or a list of values to repeat a header. */
const headerMap = transformer<Array<[string, string]>>((v, ctx) => {
  const entries = within(
    namedMap(
      'headers',
      (k) => (isTokenString(k) ? undefined : `${JSON.stringify(k)} is not a header name, expected an RFC 3261 token like X-Carrier`),
      leaf<string[]>('the header value (text, or a list of texts to repeat the header)', (x) => {
        if (typeof x === 'string' || typeof x === 'number') return [String(x)];
        if (!Array.isArray(x) || x.length === 0) return undefined;
        const bad = x.findIndex((y) => typeof y !== 'string' && typeof y !== 'number');
        return bad >= 0 ? { problem: `expected text, got ${describeValue(x[bad])}`, path: [bad] } : x.map(String);
      }),
    ),
    v,
    ctx,
  );
  return entries?.flatMap(([name, values]) => values.map((value): [string, string] => [name, value]));
});

/** `refresh: { margin_s: 15 }` (before the granted expiry) or `{ fixed_s: 1200 }` (a fixed period). */
const refresh = transformer<RefreshPolicy>((v, ctx) => {
  const r = within(
    strictMap({ margin_s: wholeSeconds.optional(), fixed_s: positiveSeconds.optional() }, 'in refresh'),
    v,
    ctx,
  );
  if (!r) return undefined;
  if ((r.margin_s === undefined) === (r.fixed_s === undefined)) {
    return fail(ctx, 'expected exactly one of margin_s (refresh that long before the granted expiry) or fixed_s (refresh on a fixed period)');
  }
  return r.fixed_s !== undefined ? { fixedS: r.fixed_s } : { marginS: r.margin_s! };
});

// ---- carrier ------------------------------------------------------------------------------------

const CARRIER_MODES: readonly Exclude<CarrierAnswer, 'steps'>[] = ['answer', 'busy', 'unavailable', 'no-answer'];

const carrierAnswer = transformer<{ mode: CarrierAnswer; ringMs?: number; earlyMedia?: boolean }>((v, ctx) => {
  const given = typeof v === 'string' ? { mode: v } : v;
  const r = within(
    strictMap(
      { mode: enumOf(CARRIER_MODES), ring_ms: milliseconds.optional(), early_media: flag.optional() },
      'in answer (a carrier answers outbound INVITEs)',
    ),
    given,
    ctx,
  );
  return r && defined({ mode: r.mode, ringMs: r.ring_ms, earlyMedia: r.early_media });
});

const quirks = strictMap(
  {
    realm_spaces: flag.optional(),
    no_contact_in_200: flag.optional(),
    compact_headers: flag.optional(),
    extra_headers: headerMap.optional(),
    expires_in: enumOf(['header', 'contact', 'both'] as const).optional(),
    rechallenge_every_refresh: flag.optional(),
    alert_info: enumOf(['bare', 'uri'] as const).optional(),
  },
  'in quirks',
);

const accounts = transformer<Record<string, string>>((v, ctx) => {
  const entries = within(
    namedMap('accounts (user name: password)', (k) => (k.trim() ? undefined : 'an empty user name, expected the trunk account'), text('the password, like ${env.TRUNK_PASSWORD}')),
    v,
    ctx,
  );
  return entries && Object.fromEntries(entries);
});

const carrierConfig = strictMap(
  {
    realm: nonEmptyText('the realm of the digest challenges, like trunk.example'),
    accounts,
    grant_expires: positiveSeconds.optional(),
    challenge_invite: flag.optional(),
    channel_limit: strictMap({ limit: wholeNumber('a whole number of calls, 1 or more', 1), refuse_code: refusalCode }, 'in channel_limit').optional(),
    answer: carrierAnswer.optional(),
    quirks: quirks.optional(),
    listen: address(5060).optional(),
    transport: transport.optional(),
  },
  'in a carrier config',
);

function toCarrier(c: z.output<typeof carrierConfig>): PersonaConfig {
  const q = c.quirks;
  const quirkOptions: CarrierQuirks | undefined =
    q &&
    defined({
      realmSpaces: q.realm_spaces,
      noContactIn200: q.no_contact_in_200,
      compactHeaders: q.compact_headers,
      extraHeaders: q.extra_headers,
      expiresIn: q.expires_in,
      rechallengeEveryRefresh: q.rechallenge_every_refresh,
      alertInfo: q.alert_info,
    });
  const options: CarrierOptions = defined({
    realm: c.realm,
    accounts: c.accounts,
    grantExpires: c.grant_expires,
    challengeInvite: c.challenge_invite,
    channelLimit: c.channel_limit && { limit: c.channel_limit.limit, refuseCode: c.channel_limit.refuse_code },
    // A served carrier has no scenario steps: it answers unless told otherwise.
    answer: c.answer?.mode ?? 'answer',
    ringMs: c.answer?.ringMs,
    earlyMedia: c.answer?.earlyMedia,
    quirks: quirkOptions,
  });
  return defined({ kind: 'carrier' as const, options, listen: c.listen, transport: c.transport });
}

// ---- pbx and phone ------------------------------------------------------------------------------

const ANSWER_MODES: readonly Exclude<AnswerMode, 'steps'>[] = ['answer', 'busy', 'unavailable', 'no-answer', 'forward'];

const answerPolicy = transformer<AnswerPolicy>((v, ctx) => {
  const given = typeof v === 'string' ? { mode: v } : v;
  const r = within(
    strictMap(
      {
        mode: enumOf(ANSWER_MODES),
        ring_ms: milliseconds.optional(),
        forward_to: sipUri.optional(),
        early_media: flag.optional(),
        code: refusalCode.optional(),
        hold_ms: milliseconds.optional(),
        headers: headerMap.optional(),
      },
      'in answer',
    ),
    given,
    ctx,
  );
  if (!r) return undefined;
  let ok = true;
  if (r.mode === 'forward' && r.forward_to === undefined) {
    ok = fail(ctx, 'missing forward_to, expected the 302 target with mode forward, like forward_to: sip:1004@192.0.2.10') ?? false;
  }
  if (r.mode !== 'forward' && r.forward_to !== undefined) {
    ok = fail(ctx, `forward_to is only used with mode forward, expected no forward_to with mode ${r.mode}`, ['forward_to'], 'key') ?? false;
  }
  if (r.code !== undefined && r.mode !== 'busy' && r.mode !== 'unavailable') {
    ok = fail(ctx, `code is only used with mode busy or unavailable, expected no code with mode ${r.mode}`, ['code'], 'key') ?? false;
  }
  if (!ok) return undefined;
  return defined({
    mode: r.mode,
    ringMs: r.ring_ms,
    forwardTo: r.forward_to,
    earlyMedia: r.early_media,
    code: r.code,
    holdMs: r.hold_ms,
    headers: r.headers,
  });
});

const registrationKeys = {
  password: text('the password, like ${env.TRUNK_PASSWORD}'),
  expires: positiveSeconds.optional(),
  refresh: refresh.optional(),
  register: flag.optional(),
  answer: answerPolicy.optional(),
  listen: address(5060).optional(),
  transport: transport.optional(),
};

const pbxConfig = strictMap(
  {
    carrier: address(5060),
    domain: nonEmptyText('the trunk domain, like trunk.example').optional(),
    username: nonEmptyText('the trunk account, like "0312345678"'),
    no_refresh: flag.optional(),
    ...registrationKeys,
  },
  'in a pbx config',
);

const phoneConfig = strictMap(
  {
    pbx: address(5060),
    extension: nonEmptyText('the extension number, like "201"'),
    ...registrationKeys,
  },
  'in a phone config',
);

const DEFAULT_ANSWER: AnswerPolicy = { mode: 'answer' };

function toPbx(c: z.output<typeof pbxConfig>): PersonaConfig {
  const options: PbxOptions = defined({
    carrier: c.carrier,
    domain: c.domain,
    username: c.username,
    password: c.password,
    expires: c.expires,
    refresh: c.refresh,
    register: c.register,
    noRefresh: c.no_refresh,
    answer: c.answer ?? DEFAULT_ANSWER,
  });
  return defined({ kind: 'pbx' as const, options, listen: c.listen, transport: c.transport });
}

function toPhone(c: z.output<typeof phoneConfig>): PersonaConfig {
  const options: PhoneOptions = defined({
    pbx: c.pbx,
    extension: c.extension,
    password: c.password,
    expires: c.expires,
    refresh: c.refresh,
    register: c.register,
    answer: c.answer ?? DEFAULT_ANSWER,
  });
  return defined({ kind: 'phone' as const, options, listen: c.listen, transport: c.transport });
}

// ---- loading ------------------------------------------------------------------------------------


/** Each persona's options schema, shared with the scenario loader (a party's `carrier:` block …). */
export const PERSONA_SCHEMAS = { carrier: carrierConfig, pbx: pbxConfig, phone: phoneConfig } as const;

/**
 * Validated options → a PersonaConfig. In a scenario (`forScenario`) a persona that is not told
 * how to answer leaves incoming calls to the scenario's steps; served, it answers them.
 */
export function toPersonaConfig(kind: PersonaKind, data: unknown, forScenario = false): PersonaConfig {
  const given = (data as { answer?: unknown }).answer !== undefined;
  if (kind === 'carrier') {
    const cfg = toCarrier(data as z.output<typeof carrierConfig>);
    if (forScenario && !given && cfg.kind === 'carrier') cfg.options.answer = 'steps';
    return cfg;
  }
  const cfg = kind === 'pbx' ? toPbx(data as z.output<typeof pbxConfig>) : toPhone(data as z.output<typeof phoneConfig>);
  if (forScenario && !given && cfg.kind !== 'carrier') cfg.options.answer = { mode: 'steps' };
  return cfg;
}

/** Read and load a persona config. @throws ScenarioError with every problem found. */
export function loadPersonaConfig(path: string, kind: PersonaKind, opts: PersonaConfigLoadOptions = {}): PersonaConfig {
  let textOfFile: string;
  try {
    textOfFile = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const message = `cannot read the file (${code}), expected a readable ${kind} config`;
    throw new ScenarioError([{ pos: { file: path, line: 0, column: 0 }, field: '', message }]);
  }
  return loadPersonaConfigText(textOfFile, path, kind, opts);
}

/** Load persona config text; `file` is the name messages use. @throws ScenarioError with every problem found. */
export function loadPersonaConfigText(source: string, file: string, kind: PersonaKind, opts: PersonaConfigLoadOptions = {}): PersonaConfig {
  const lines = new LineCounter();
  const doc = parseDocument(source.replace(/^\uFEFF/, ''), {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: false,
    customTags: (tags) => [PHONE_NUMBER_TEXT, ...tags],
  });
  const loc = new Locator(doc, lines, file);
  const problems = new Problems(loc);
  if (doc.errors.length) {
    const seen = new Set<number>();
    for (const e of doc.errors) {
      if (seen.has(e.pos[0])) continue;
      seen.add(e.pos[0]);
      problems.addAt(loc.posOf(e.pos[0]), '', `invalid YAML: ${e.message}, expected valid YAML (spaces for indentation, closed quotes and brackets)`);
    }
    throw problems.error();
  }
  const root = doc.contents;
  if (!isYamlMap(root)) {
    const what = root === null || (isScalar(root) && root.value === null) ? 'empty' : isSeq(root) ? 'a list' : 'a single value';
    problems.add([], `the file is ${what}, expected a map of ${kind} settings (see docs/personas.md)`);
    throw problems.error();
  }
  checkDuplicateKeys(root, [], loc, problems);
  let plain: unknown;
  try {
    plain = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    problems.add([], `cannot expand the YAML (${(err as Error).message}), expected fewer aliases`);
    throw problems.error();
  }
  plain = expandEnv(plain, [], new Variables(undefined, { env: opts.env ?? process.env }), problems);

  const schema = kind === 'carrier' ? carrierConfig : kind === 'pbx' ? pbxConfig : phoneConfig;
  const r = (schema as z.ZodType<unknown>).safeParse(plain);
  if (!r.success) problems.addIssues(r.error.issues, []);
  if (problems.list.length || !r.success) throw problems.error();
  if (kind === 'carrier') return toCarrier(r.data as z.output<typeof carrierConfig>);
  if (kind === 'pbx') return toPbx(r.data as z.output<typeof pbxConfig>);
  return toPhone(r.data as z.output<typeof phoneConfig>);
}

/** Replace `${env.NAME}` in every text; other `${…}` names are errors (a config has no variables). */
function expandEnv(v: unknown, path: Path, vars: Variables, problems: Problems): unknown {
  if (typeof v === 'string') {
    if (!v.includes('$')) return v;
    for (const m of v.matchAll(/(?<!\$)\$\{([^}]*)\}?/g)) {
      if (!m[1].startsWith('env.')) {
        problems.add(path, `\${${m[1]}} is not allowed here, expected only \${env.NAME} (the environment) in a persona config, or $\${ for a literal \${`);
        return v;
      }
    }
    try {
      return interpolate(v, vars, { pos: { file: '', line: 0, column: 0 }, field: '' });
    } catch (err) {
      // interpolate prefixes `:0:0: : `; keep only what is wrong.
      const why = (err as Error).message.replace(/^:0:0: : /, '');
      problems.add(path, `${why}, expected it set in the environment of sipwright serve`);
      return v;
    }
  }
  if (Array.isArray(v)) return v.map((x, i) => expandEnv(x, [...path, i], vars, problems));
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expandEnv(x, [...path, k], vars, problems)]));
  return v;
}



