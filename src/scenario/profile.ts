/**
 * Target profiles (docs/target-profile.md): what a conformance suite needs to know about the
 * system under test. Loaded from YAML, checked (unknown keys are errors, with file:line:column),
 * `${env.NAME}` resolved, and flattened into `profile.*` variables for the scenarios:
 * `profile.address`, `profile.carrier.expires`, `profile.extensions.200.caller_id`, and for
 * every map also by position — `profile.extensions.0.number` is the first extension's number.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ScenarioError } from '../errors.js';
import { checkDuplicateKeys, Locator, PHONE_NUMBER_TEXT, Problems } from './yaml-source.js';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port, like 127.0.0.1:5060');
const code = z.number().int().min(300).max(699);
const str = z.union([z.string(), z.number().transform(String)]);

const pbxProfile = z.strictObject({
  name: z.string(),
  role: z.literal('pbx'),
  transport: z.enum(['udp', 'tcp']).default('udp'),
  address: hostPort,
  carrier: z.strictObject({
    address: hostPort,
    realm: z.string(),
    username: str,
    password: str,
    expires: z.number().int().positive().default(120),
    refresh_margin: z.number().int().nonnegative().default(0),
  }),
  extensions: z.record(z.string(), z.strictObject({ password: str, caller_id: str })),
  dids: z.record(z.string(), str),
  channel_limits: z.array(z.strictObject({ name: z.string(), did: str, limit: z.number().int().positive(), refuse_code: code })).default([]),
  outbound_number: str,
  no_answer_seconds: z.number().positive().default(20),
});

const carrierProfile = z.strictObject({
  name: z.string(),
  role: z.literal('carrier'),
  transport: z.enum(['udp', 'tcp']).default('udp'),
  address: hostPort,
  realm: z.string(),
  accounts: z.record(z.string(), z.strictObject({ password: str })),
  numbers: z.strictObject({
    caller: str,
    callee: str,
    unknown: str,
    redirect: str.optional(),
    redirect_target: str.optional(),
  }),
  forward: z
    .strictObject({
      busy: z.strictObject({ from: str, to: str }).optional(),
      no_answer: z.strictObject({ from: str, to: str, after_seconds: z.number().positive() }).optional(),
    })
    .default({}),
  no_answer_code: code.default(480),
  no_answer_seconds: z.number().positive().default(20),
  channel_limit: z.strictObject({ account: str, limit: z.number().int().positive(), refuse_code: code }).optional(),
});

const profileSchema = z.discriminatedUnion('role', [pbxProfile, carrierProfile]);

export type PbxProfile = z.output<typeof pbxProfile>;
export type CarrierProfile = z.output<typeof carrierProfile>;
export type TargetProfile = z.output<typeof profileSchema>;

/** A loaded profile and its `profile.*` variables. */
export interface LoadedProfile {
  file: string;
  profile: TargetProfile;
  vars: Record<string, string>;
}

/** Load and check a profile file; `env` resolves `${env.NAME}` (default process.env). */
export function loadProfile(file: string, env: Readonly<Record<string, string | undefined>> = process.env): LoadedProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError([{ pos: { file, line: 0, column: 0 }, field: '', message: `cannot read the profile (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }]);
  }
  return loadProfileText(text, file, env);
}

export function loadProfileText(text: string, file: string, env: Readonly<Record<string, string | undefined>> = process.env): LoadedProfile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, customTags: (tags) => [PHONE_NUMBER_TEXT, ...tags] });
  const loc = new Locator(doc, lines, file);
  const problems = new Problems(loc);
  if (doc.errors.length) {
    for (const e of doc.errors) problems.addAt(loc.posOf(e.pos[0]), '', `invalid YAML: ${e.message}`);
    throw problems.error();
  }
  checkDuplicateKeys(doc.contents, [], loc, problems);
  const raw = resolveEnv(doc.toJS(), env, (path, name) => problems.add(path, `environment variable ${name} is not set`));
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) {
    // A required key that is absent: say so, rather than zod's "Invalid input".
    const issues = parsed.error.issues.map((iss) =>
      valueAt(raw, iss.path) === undefined && iss.code !== 'unrecognized_keys'
        ? { ...iss, message: 'missing, expected it (see docs/target-profile.md)' }
        : iss,
    );
    problems.addIssues(issues, []);
  }
  if (problems.list.length || !parsed.success) throw problems.error();
  return { file, profile: parsed.data, vars: { ...flatten('profile', parsed.data), ...derived(parsed.data) } };
}

/**
 * Shortcuts a suite needs without nesting templates: for each DID and each channel-limit
 * group, the extension it rings with that extension's password and caller-ID
 * (`profile.dids.1.extension`, `profile.channel_limits.0.password` …).
 */
function derived(p: TargetProfile): Record<string, string> {
  const out: Record<string, string> = {};
  // profile.password.<user>: for every account or extension, its password.
  const users = p.role === 'pbx' ? p.extensions : p.accounts;
  for (const [user, a] of Object.entries(users)) out[`profile.password.${user}`] = String(a.password);
  if (p.role !== 'pbx') return out;
  const ext = (did: string, prefix: string): void => {
    const number = p.dids[did];
    const e = number === undefined ? undefined : p.extensions[number];
    if (!e || number === undefined) return;
    out[`${prefix}.extension`] = number;
    out[`${prefix}.password`] = String(e.password);
    out[`${prefix}.caller_id`] = String(e.caller_id);
  };
  Object.keys(p.dids).forEach((did, i) => ext(did, `profile.dids.${i}`));
  p.channel_limits.forEach((g, i) => ext(String(g.did), `profile.channel_limits.${i}`));
  return out;
}

function valueAt(v: unknown, path: readonly PropertyKey[]): unknown {
  let cur = v;
  for (const k of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<PropertyKey, unknown>)[k] : undefined;
  return cur;
}

/** `profile.a.b` = value for every scalar; maps also by position (`profile.extensions.0.number` = key). */
export function flatten(prefix: string, value: unknown, out: Record<string, string> = {}): Record<string, string> {
  if (value === undefined || value === null) return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(`${prefix}.${i}`, v, out));
    out[`${prefix}.count`] = String(value.length);
    return out;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    entries.forEach(([k, v], i) => {
      flatten(`${prefix}.${k}`, v, out);
      if (prefix !== 'profile' && isRecordSection(prefix)) {
        out[`${prefix}.${i}.number`] = k;
        flatten(`${prefix}.${i}`, v, out);
      }
    });
    if (isRecordSection(prefix)) out[`${prefix}.count`] = String(entries.length);
    return out;
  }
  out[prefix] = String(value);
  return out;
}

/** The sections keyed by number, also reachable by position. */
function isRecordSection(prefix: string): boolean {
  return /^profile\.(extensions|dids|accounts)$/.test(prefix);
}

function resolveEnv(v: unknown, env: Readonly<Record<string, string | undefined>>, missing: (path: string[], name: string) => void, path: string[] = []): unknown {
  if (typeof v === 'string') {
    return v.replace(/\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const value = env[name];
      if (value === undefined) {
        missing(path, name);
        return '';
      }
      return value;
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => resolveEnv(x, env, missing, [...path, String(i)]));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveEnv(x, env, missing, [...path, k])]));
  }
  return v;
}
