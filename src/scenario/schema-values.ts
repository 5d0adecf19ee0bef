/**
 * Building blocks of the scenario schema: zod schemas whose every message says what is wrong
 * and what was expected (zod's own messages name types, not scenario keys), and the value
 * schemas scenario keys share (text, durations, methods, status matchers …).
 */
import * as z from 'zod';
import { isTokenString } from '../sip/charset.js';
import { DURATION_EXPECTED, parseDuration } from './duration.js';
import type { StatusMatcher } from './model.js';

/** Keys and list indexes from the document root to a value. */
export type Path = Array<string | number>;

/** What a transform gets to report issues with. */
export type Ctx = z.core.$RefinementCtx<unknown>;

/** A value as a message names it: `"2xy"`, `5`, `true`, `a list`, `a map`, `nothing`. */
export function describeValue(v: unknown): string {
  if (v === undefined || v === null) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return Array.isArray(v) ? 'a list' : 'a map';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The candidate closest to `name` (case-insensitive edit distance), if it is close enough to be a typo. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** Report a problem at `path` below the value being checked; `at: 'key'` points at the key, not its value. */
export function fail(ctx: Ctx, message: string, path: Path = [], at?: 'key'): undefined {
  ctx.issues.push({ code: 'custom', message, input: undefined, path, ...(at ? { params: { at } } : {}) });
  return undefined;
}

/** Run `schema` on a value inside a transform, passing its issues up under `prefix`. */
export function within<T>(schema: z.ZodType<T>, value: unknown, ctx: Ctx, prefix: Path = []): T | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const iss of r.error.issues) {
    ctx.issues.push({ ...iss, input: undefined, path: [...prefix, ...iss.path] } as z.core.$ZodRawIssue);
  }
  return undefined;
}

/** A schema from a function that returns the value, or undefined after calling `fail`. */
export function transformer<T>(fn: (v: unknown, ctx: Ctx) => T | undefined): z.ZodType<T> {
  return z.unknown().transform((v, ctx) => {
    const out = fn(v, ctx);
    return out === undefined ? z.NEVER : out;
  }) as unknown as z.ZodType<T>;
}

/** A single value: `accept` returns it, a message, or undefined for "expected …, got …". */
export function leaf<T>(expected: string, accept: (v: unknown) => T | { problem: string; path?: Path } | undefined) {
  return transformer<T>((v, ctx) => {
    if (v === undefined) return fail(ctx, `missing, expected ${expected}`);
    const r = accept(v);
    if (r === undefined) return fail(ctx, `expected ${expected}, got ${describeValue(v)}`);
    if (typeof r === 'object' && r !== null && 'problem' in r) return fail(ctx, r.problem, r.path);
    return r as T;
  });
}

/** A YAML map as toJS gives it (not a list, not null). */
export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKey(key: string, allowed: string[], where: string, hint?: string): string {
  const near = closestName(key, allowed);
  const why = hint ?? (near ? `did you mean "${near}"?` : '');
  return `unknown key "${key}" ${where}${why ? ` (${why})` : ''}, allowed are: ${allowed.join(', ')}`;
}

/** A map with exactly these keys (all others are errors naming the allowed ones). */
export function strictMap<S extends z.ZodRawShape>(shape: S, where: string, hints: Record<string, string> = {}) {
  const keys = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        // One line per key: the loader splits them and points each at its key.
        return iss.keys.map((k) => unknownKey(k, keys, where, hints[k])).join('\n');
      }
      if (iss.code === 'invalid_type') {
        return `expected a map ${where} (keys ${keys.join(', ')}), got ${describeValue(iss.input)}`;
      }
      return undefined;
    },
  });
}

/** A map whose keys the user names (headers, variables, parties), as entries in file order. */
export function namedMap<T>(what: string, keyProblem: (k: string) => string | undefined, value: z.ZodType<T>) {
  return transformer<Array<[string, T]>>((v, ctx) => {
    if (!isMap(v)) return fail(ctx, `expected a map of ${what}, got ${describeValue(v)}`);
    const keys = Object.keys(v);
    if (keys.length === 0) return fail(ctx, `an empty map, expected at least one of ${what}`);
    const out: Array<[string, T]> = [];
    let ok = true;
    for (const k of keys) {
      const problem = keyProblem(k);
      if (problem) {
        fail(ctx, problem, [k], 'key');
        ok = false;
      }
      const r = within(value, v[k], ctx, [k]);
      if (r === undefined) ok = false;
      else out.push([k, r]);
    }
    return ok ? out : undefined;
  });
}

// ---- leaves -------------------------------------------------------------------------------------

/** A variable name (as variables.ts accepts it): `[A-Za-z_][A-Za-z0-9_.-]*`; `env.NAME` reads the environment. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
export const STATUS_EXPECTED = 'a code like 200, a class like 2xx, or a list of them';

export const text = (expected = 'text') =>
  leaf<string>(expected, (v) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined));
export const nonEmptyText = (expected: string) =>
  leaf<string>(expected, (v) => (typeof v === 'string' && v.trim() ? v : typeof v === 'number' ? String(v) : undefined));
export const flag = leaf<boolean>('true or false', (v) => (typeof v === 'boolean' ? v : undefined));
export const wholeCount = leaf<number>('a whole number, 1 or more', (v) => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return Number.isInteger(n) && (n as number) >= 1 ? (n as number) : undefined;
});
export const wholeSeconds = leaf<number>('whole seconds, like 3600', (v) => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return Number.isInteger(n) && (n as number) >= 0 ? (n as number) : undefined;
});
export const duration = leaf<number>(DURATION_EXPECTED, (v) => {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  try {
    return parseDuration(v);
  } catch (err) {
    return { problem: (err as Error).message };
  }
});
export const textList = (expected: string) =>
  leaf<string[]>(`${expected} (text, or a list of texts)`, (v) => {
    if (typeof v === 'string') return [v];
    if (!Array.isArray(v)) return undefined;
    const bad = v.findIndex((x) => typeof x !== 'string' && typeof x !== 'number');
    if (bad >= 0) return { problem: `expected text, got ${describeValue(v[bad])}`, path: [bad] };
    return v.map(String);
  });
export function enumOf<T extends string>(values: readonly T[]) {
  return leaf<T>(`one of ${values.join(', ')}`, (v) =>
    typeof v === 'string' && values.includes(v.toLowerCase() as T) ? (v.toLowerCase() as T) : undefined,
  );
}
export const regexText = leaf<string>('a regular expression', (v) => {
  if (typeof v !== 'string') return undefined;
  if (v.includes('${')) return v; // completed at run time
  try {
    new RegExp(v);
    return v;
  } catch (err) {
    const why = (err as Error).message;
    return { problem: `${JSON.stringify(v)} is not a regular expression (${why}), expected JavaScript RegExp syntax` };
  }
});
export const hostPort = leaf<string>('host:port, like 127.0.0.1:5060', (v) => {
  if (typeof v !== 'string') return undefined;
  if (v.includes('${') || /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(v)) return v;
  return { problem: `${JSON.stringify(v)} is not host:port, expected like 127.0.0.1:5060 or [::1]:5060` };
});

/** Why `s` is not a SIP method (RFC 3261 §25.1: Method = token; the defined ones are upper-case), or undefined. */
export function methodProblem(s: string): string | undefined {
  if (!isTokenString(s)) return `${JSON.stringify(s)} is not a method, expected an RFC 3261 token in upper case like INVITE`;
  if (s !== s.toUpperCase()) {
    return `${JSON.stringify(s)} is not a method (methods are case-sensitive), expected ${s.toUpperCase()}`;
  }
  return undefined;
}
export const method = leaf<string>('a method like INVITE', (v) => {
  if (typeof v !== 'string') return undefined;
  const problem = methodProblem(v);
  return problem ? { problem } : v;
});

type StatusItem = StatusMatcher[number];
function statusItem(v: unknown): StatusItem | { problem: string } | undefined {
  if (typeof v === 'string' && /^[1-6]xx$/i.test(v)) return v.toLowerCase() as StatusItem;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 699) return n;
  if (typeof v === 'string' || typeof v === 'number') {
    return { problem: `${describeValue(v)} is not a status, expected ${STATUS_EXPECTED}` };
  }
  return undefined;
}
export const statusMatcher = leaf<StatusMatcher>(STATUS_EXPECTED, (v) => {
  if (!Array.isArray(v)) {
    const one = statusItem(v);
    return one === undefined || typeof one === 'object' ? one : [one];
  }
  if (v.length === 0) return { problem: `an empty list, expected ${STATUS_EXPECTED}` };
  const out: StatusMatcher = [];
  for (let i = 0; i < v.length; i++) {
    const one = statusItem(v[i]);
    if (one === undefined) return { problem: `expected ${STATUS_EXPECTED}, got ${describeValue(v[i])}`, path: [i] };
    if (typeof one === 'object') return { ...one, path: [i] };
    out.push(one);
  }
  return out;
});
