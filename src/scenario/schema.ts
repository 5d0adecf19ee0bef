/**
 * The shape of a scenario file, in zod. Maps are strict (an unknown key is an error naming the
 * allowed ones), each step item holds exactly one step keyword, and values come out in the form
 * the model needs (durations in ms, status matchers, ordered header lists). Every message says
 * what is wrong and what was expected; the loader prefixes file, line, column and field.
 *
 * Rules that need the whole file (parties, variables, auto behaviours) are in semantic-checks.ts.
 */
import * as z from 'zod';
import { isTokenString } from '../sip/charset.js';
import type { HeaderOp, PartyRole, StatusMatcher } from './model.js';
import { PERSONA_SCHEMAS } from './persona-config.js';
import {
  closestName,
  describeValue,
  duration,
  enumOf,
  fail,
  flag,
  hostPort,
  isMap,
  leaf,
  method,
  methodProblem,
  namedMap,
  nonEmptyText,
  regexText,
  STATUS_EXPECTED,
  statusMatcher,
  strictMap,
  text,
  textList,
  transformer,
  VARIABLE_NAME,
  wholeCount,
  wholeSeconds,
  within,
  type Ctx,
} from './schema-values.js';

export type { Path } from './schema-values.js';

const tokenKey = (what: string, example: string) => (k: string) =>
  isTokenString(k) ? undefined : `${JSON.stringify(k)} is not ${what}, expected an RFC 3261 token like ${example}`;
const headerName = tokenKey('a header name', 'X-Custom');
const NAME_EXPECTED = 'expected letters, digits, _ . - starting with a letter or _';
const nameKey = (what: string) => (k: string) =>
  VARIABLE_NAME.test(k) ? undefined : `${JSON.stringify(k)} is not ${what}, ${NAME_EXPECTED}`;
const variableName = (k: string) =>
  k.startsWith('env.')
    ? `"${k}" is not a variable name you can define (env.* reads the environment), expected another name`
    : nameKey('a variable name')(k);

// ---- parties ------------------------------------------------------------------------------------

export const ROLES: readonly PartyRole[] = ['uac', 'uas', 'carrier', 'pbx', 'phone'];
const role = enumOf(ROLES);
const transport = enumOf(['udp', 'tcp'] as const);
const credentials = strictMap(
  { username: text('the user name'), password: text('the password, like ${env.TRUNK_PASSWORD}'), realm: text().optional() },
  'in credentials',
);
const auto = strictMap(
  { trying: flag.optional(), ack: flag.optional(), bye: flag.optional(), cancel: flag.optional() },
  'in auto',
);
const party = strictMap(
  {
    role,
    transport: transport.optional(),
    listen: hostPort.optional(),
    user: text('the user part of Contact and From').optional(),
    target: text('host:port or a SIP URI').optional(),
    credentials: credentials.optional(),
    auto: auto.optional(),
    // Persona options, the same keys as `sipwright serve <persona> --config` (docs/personas.md).
    carrier: PERSONA_SCHEMAS.carrier.optional(),
    pbx: PERSONA_SCHEMAS.pbx.optional(),
    phone: PERSONA_SCHEMAS.phone.optional(),
  },
  'in a party',
);

/** Everything at the top of a file but the steps, which the loader checks one by one. */
export const scenarioHeader = strictMap(
  {
    name: nonEmptyText('the scenario name, like "Basic call"'),
    description: text().optional(),
    tags: textList('tags').optional(),
    timeout: duration.optional(),
    vars: namedMap('variables', variableName, text()).optional(),
    role: role.optional(),
    transport: transport.optional(),
    credentials: credentials.optional(),
    auto: auto.optional(),
    parties: namedMap('parties', nameKey('a party name'), party).optional(),
    steps: leaf<unknown[]>('a list of steps', (v) =>
      Array.isArray(v) ? (v.length ? v : { problem: 'an empty list, expected at least one step' }) : undefined,
    ),
  },
  'at the top level',
);

/** The keys that declare parties, checked on their own so party rules run even when other keys are wrong. */
export const PARTY_KEYS = ['role', 'transport', 'credentials', 'auto', 'parties'] as const;
export const partyKeys = scenarioHeader.pick({ role: true, transport: true, credentials: true, auto: true, parties: true });
export type RawPartyKeys = z.output<typeof partyKeys>;

// ---- steps --------------------------------------------------------------------------------------

export const STEP_KEYWORDS = [
  'send', 'expect', 'auth', 'pause', 'cancel', 'hangup', 'register', 'unregister', 'refresh', 'parallel', 'repeat', 'set',
  'channel-limit',
] as const;
export type StepKeyword = (typeof STEP_KEYWORDS)[number];
const BARE_STEPS = ['auth', 'cancel', 'hangup', 'register', 'unregister'] as const;

const common = { party: text('a party name').optional(), call: text('a call name, like leg1').optional() };
const sendHeaders = namedMap(
  'headers',
  headerName,
  leaf<string[]>('the header value (text, or a list of texts to repeat the header)', (v) => {
    if (typeof v === 'string' || typeof v === 'number') return [String(v)];
    if (!Array.isArray(v)) return undefined;
    if (v.length === 0) return { problem: 'an empty list, expected at least one value' };
    const bad = v.findIndex((x) => typeof x !== 'string' && typeof x !== 'number');
    return bad >= 0 ? { problem: `expected text, got ${describeValue(v[bad])}`, path: [bad] } : v.map(String);
  }),
);
const bodyKeys = {
  headers: sendHeaders.optional(),
  body: text('the body text').optional(),
  sdp: enumOf(['offer', 'answer'] as const).optional(),
  'content-type': text('a media type like text/plain').optional(),
};
/** Why a key of another step kind is not allowed here, for the unknown-key message. */
const TO_RESPONSES = 'belongs to responses, like send: 200';
const TO_REQUESTS = 'belongs to requests, like send: INVITE';
const TO_RAW = 'belongs to send: raw';
const TO_EXPECT = 'belongs to expect steps';
const TO_SEND = 'belongs to send steps; to check a received header use headers:';
const hints = (byKey: Record<string, string>) => Object.fromEntries(Object.entries(byKey).map(([k, why]) => [k, `${k} ${why}`]));
const NOT_SEND = { raw: TO_RAW, dest: TO_RAW, optional: TO_EXPECT, timeout: TO_EXPECT, capture: TO_EXPECT };
const REQUEST_HINTS = hints({ reason: TO_RESPONSES, ...NOT_SEND });
const RESPONSE_HINTS = hints({
  uri: `${TO_REQUESTS} (a response has no Request-URI)`,
  from: `${TO_REQUESTS} (a response copies From)`,
  auth: TO_REQUESTS,
  ...NOT_SEND,
});
const RAW_HINTS = hints({ headers: 'goes into the raw text', body: 'goes into the raw text', uri: 'goes into the raw text' });
const SEND_ONLY = ['uri', 'from', 'to', 'body', 'reason', 'auth', 'content-type'];
const EXPECT_HINTS = hints(Object.fromEntries(SEND_ONLY.map((k) => [k, TO_SEND])));

const sendRequest = (m: string) =>
  strictMap(
    {
      send: z.unknown(),
      uri: text('a SIP URI').optional(),
      from: text('a From value').optional(),
      to: text('a To value').optional(),
      ...bodyKeys,
      auth: flag.optional(),
      ...common,
    },
    `for send: ${m}`,
    REQUEST_HINTS,
  );
const sendResponse = (code: number) =>
  strictMap(
    { send: z.unknown(), reason: text('a reason phrase').optional(), ...bodyKeys, to: method.optional(), ...common },
    `for send: ${code}`,
    RESPONSE_HINTS,
  );
const sendRaw = strictMap(
  { send: z.unknown(), raw: text('the message text'), dest: hostPort.optional(), ...common },
  'for send: raw',
  RAW_HINTS,
);

const HEADER_OPS = ['equals', 'matches', 'contains', 'present', 'absent', 'gt', 'gte', 'lt', 'lte'] as const;
const numberText = leaf<string>('a number', (v) =>
  typeof v === 'number' ? String(v) : typeof v === 'string' && (/^-?\d+(\.\d+)?$/.test(v) || v.includes('${')) ? v : undefined,
);
const headerOps = strictMap(
  {
    equals: text().optional(), matches: regexText.optional(), contains: text().optional(),
    present: flag.optional(), absent: flag.optional(),
    gt: numberText.optional(), gte: numberText.optional(), lt: numberText.optional(), lte: numberText.optional(),
  },
  'in a header check',
);
/** One header check; `key` is the operator key written in the file (absent for a shorthand). */
export interface RawHeaderCheck {
  op: HeaderOp;
  value?: string;
  key?: string;
}
const headerCheck = transformer<RawHeaderCheck[]>((v, ctx) => {
  if (v === 'present' || v === 'absent') return [{ op: v }];
  if (typeof v === 'string' || typeof v === 'number') return [{ op: 'equals', value: String(v) }];
  if (!isMap(v)) {
    const ops = HEADER_OPS.join(', ');
    return fail(ctx, `expected present, absent, a text to equal, or a map of checks (${ops}), got ${describeValue(v)}`);
  }
  if (Object.keys(v).length === 0) return fail(ctx, `an empty map, expected one or more of ${HEADER_OPS.join(', ')}`);
  const ops = within(headerOps, v, ctx);
  if (!ops) return undefined;
  return Object.keys(v).map((key): RawHeaderCheck => {
    const value = ops[key as keyof typeof ops];
    if (key === 'present' || key === 'absent') return { op: (key === 'present') === value ? 'present' : 'absent', key };
    return { op: key as HeaderOp, value: value as string, key };
  });
});
const sdpCheckMap = strictMap(
  {
    present: flag.optional(),
    codecs: textList('codec names like PCMU').optional(),
    direction: enumOf(['sendrecv', 'sendonly', 'recvonly', 'inactive'] as const).optional(),
    port: enumOf(['nonzero'] as const).optional(),
  },
  'in an sdp check',
);
const sdpCheck = transformer((v, ctx) => {
  if (typeof v === 'boolean') return { present: v };
  const r = within(sdpCheckMap, v, ctx);
  return r && { present: r.present, codecs: r.codecs, direction: r.direction, portNonZero: r.port ? true : undefined };
});
const captureFrom = leaf<string>('status, reason, method, request-uri, body, or a header name', (v) =>
  typeof v === 'string' && isTokenString(v) ? v : undefined,
);
const captureMap = strictMap(
  { from: captureFrom, param: text('a parameter name like tag').optional(), regex: regexText.optional() },
  'in a capture',
);
const captureSpec = transformer((v, ctx) => {
  if (typeof v !== 'string') return within(captureMap, v, ctx);
  const from = within(captureFrom, v, ctx);
  return from === undefined ? undefined : { from };
});
const expectStep = (label: string) =>
  strictMap(
    {
      expect: z.unknown(),
      optional: flag.optional(),
      timeout: duration.optional(),
      headers: namedMap('header checks', headerName, headerCheck).optional(),
      sdp: sdpCheck.optional(),
      capture: namedMap('captures', variableName, captureSpec).optional(),
      ...common,
    },
    `for expect: ${label}`,
    EXPECT_HINTS,
  );

/** `key:` with no value (or the bare word), or a map of options. */
function optionsOrNothing<S extends z.ZodRawShape>(schema: z.ZodObject<S>) {
  return transformer<z.output<typeof schema> | null>((v, ctx) => {
    if (v === null) return null;
    if (!isMap(v)) {
      return fail(ctx, `expected nothing or a map of ${Object.keys(schema.shape).join(', ')}, got ${describeValue(v)}`);
    }
    return within(schema, v, ctx);
  });
}
const uri = text('a SIP URI').optional();
const registerOptions = strictMap(
  {
    uri,
    aor: uri,
    expires: wholeSeconds.optional(),
    credentials: credentials.optional(),
    expect: statusMatcher.optional(),
    timeout: duration.optional(),
    headers: sendHeaders.optional(),
  },
  'in register',
);
const unregisterOptions = strictMap(
  { uri, aor: uri, credentials: credentials.optional(), expect: statusMatcher.optional(), timeout: duration.optional() },
  'in unregister',
);
const refreshOptions = transformer((v, ctx) => {
  const r = within(strictMap({ every: duration.optional(), margin: duration.optional() }, 'in refresh'), v, ctx);
  if (r && (r.every === undefined) === (r.margin === undefined)) {
    const what = r.every === undefined ? 'neither every nor margin' : 'both every and margin';
    const expected = 'expected exactly one: every: 1200s (a fixed interval) or margin: 15s (before the granted expiry)';
    return fail(ctx, `${what} given, ${expected}`);
  }
  return r;
});

/** A step list (`steps:` of repeat, a parallel branch). */
const stepList: z.ZodType<RawStep[]> = transformer((v, ctx) => {
  if (!Array.isArray(v)) return fail(ctx, `expected a list of steps, got ${describeValue(v)}`);
  if (v.length === 0) return fail(ctx, 'an empty list, expected at least one step');
  const out = v.map((item, i) => within(stepItem, item, ctx, [i]));
  return out.every((s) => s !== undefined) ? (out as RawStep[]) : undefined;
});
/** `count` copies of `steps` (repeat, or parallel in its counted form). */
export interface CountedSteps {
  count: number;
  steps: RawStep[];
}
interface CommonKeys {
  party?: string;
  call?: string;
}
const countedSteps = (where: string): z.ZodType<CountedSteps> => strictMap({ count: wholeCount, steps: stepList }, where);
const parallelValue = transformer<RawStep[][] | CountedSteps>((v, ctx) => {
  if (isMap(v)) return within(countedSteps('in parallel'), v, ctx);
  if (!Array.isArray(v) || v.length === 0) {
    const got = Array.isArray(v) ? 'an empty list' : describeValue(v);
    return fail(ctx, `expected a list of branches (each a list of steps) or a map with count and steps, got ${got}`);
  }
  const out = v.map((branch, b) => within(stepList, branch, ctx, [b]));
  return out.every((s) => s !== undefined) ? (out as RawStep[][]) : undefined;
});

const otherSteps = {
  auth: strictMap(
    { auth: optionsOrNothing(strictMap({ credentials: credentials.optional() }, 'in auth')), ...common },
    'for auth',
  ),
  pause: strictMap({ pause: duration, ...common }, 'for pause'),
  cancel: strictMap(
    { cancel: leaf<null>('nothing (write "- cancel")', (v) => (v === null ? null : undefined)), ...common },
    'for cancel',
  ),
  hangup: strictMap(
    { hangup: optionsOrNothing(strictMap({ timeout: duration.optional() }, 'in hangup')), ...common },
    'for hangup',
  ),
  register: strictMap({ register: optionsOrNothing(registerOptions), ...common }, 'for register'),
  unregister: strictMap({ unregister: optionsOrNothing(unregisterOptions), ...common }, 'for unregister'),
  refresh: strictMap({ refresh: refreshOptions, ...common }, 'for refresh'),
  set: strictMap({ set: namedMap('variables', variableName, text()), ...common }, 'for set'),
  'channel-limit': strictMap(
    {
      'channel-limit': strictMap(
        {
          uri: text('the Request-URI of every call, like sip:0312345678@${target}'),
          limit: wholeCount,
          refuse: statusMatcher,
          mode: enumOf(['sequential', 'burst'] as const).optional(),
          hold: duration.optional(),
          timeout: duration.optional(),
          from: text().optional(),
          headers: sendHeaders.optional(),
        },
        'in channel-limit',
      ),
      ...common,
    },
    'for channel-limit',
  ),
};
type OtherKind = keyof typeof otherSteps;
const parallelStep: z.ZodType<{ parallel: RawStep[][] | CountedSteps } & CommonKeys> = strictMap(
  { parallel: parallelValue, ...common },
  'for parallel',
);
const repeatStep: z.ZodType<{ repeat: CountedSteps } & CommonKeys> = strictMap(
  { repeat: countedSteps('in repeat'), ...common },
  'for repeat',
);

/** A validated step item, before positions are attached (the loader converts it to a model Step). */
export type RawStep =
  | { kind: 'send-request'; method: string; data: z.output<ReturnType<typeof sendRequest>> }
  | { kind: 'send-response'; status: number; data: z.output<ReturnType<typeof sendResponse>> }
  | { kind: 'send-raw'; data: z.output<typeof sendRaw> }
  | { kind: 'expect-response'; status: StatusMatcher; data: z.output<ReturnType<typeof expectStep>> }
  | { kind: 'expect-request'; method: string; data: z.output<ReturnType<typeof expectStep>> }
  | { kind: 'parallel'; data: { parallel: RawStep[][] | CountedSteps } & CommonKeys }
  | { kind: 'repeat'; data: { repeat: CountedSteps } & CommonKeys }
  | { [K in OtherKind]: { kind: K; data: z.output<(typeof otherSteps)[K]> } }[OtherKind];

/** Rules between keys of one send step (RFC 3261 §7.4: one body, one Content-Type). */
function checkBody(d: { body?: string; sdp?: string; 'content-type'?: string }, ctx: Ctx): boolean {
  let ok = true;
  if (d.sdp !== undefined && d.body !== undefined) {
    const expected = 'expected sdp: offer|answer for an SDP body or body: for any other text';
    fail(ctx, `sdp and body cannot both be given, ${expected}`, ['sdp']);
    ok = false;
  }
  if (d['content-type'] !== undefined && d.body === undefined) {
    fail(ctx, 'content-type without body, expected it next to body: (sdp: sets application/sdp itself)', ['content-type']);
    ok = false;
  }
  return ok;
}

function sendStep(v: Record<string, unknown>, ctx: Ctx): RawStep | undefined {
  const s = v.send;
  if (s === 'raw') {
    const data = within(sendRaw, v, ctx);
    return data && { kind: 'send-raw', data };
  }
  if (typeof s === 'number' || (typeof s === 'string' && /^\d+$/.test(s))) {
    const status = Number(s);
    if (!Number.isInteger(status) || status < 100 || status > 699) {
      const expected = 'expected a response code from 100 to 699 or a method like INVITE';
      return fail(ctx, `${describeValue(s)} is not a status, ${expected}`, ['send']);
    }
    const data = within(sendResponse(status), v, ctx);
    return data && checkBody(data, ctx) ? { kind: 'send-response', status, data } : undefined;
  }
  if (typeof s !== 'string') {
    return fail(ctx, `expected a method like INVITE, a status code like 180, or raw, got ${describeValue(s)}`, ['send']);
  }
  const problem = methodProblem(s);
  if (problem) return fail(ctx, `${problem}, a status code like 180, or raw`, ['send']);
  const data = within(sendRequest(s), v, ctx);
  return data && checkBody(data, ctx) ? { kind: 'send-request', method: s, data } : undefined;
}

function expectStepOf(v: Record<string, unknown>, ctx: Ctx): RawStep | undefined {
  const e = v.expect;
  if (typeof e === 'number' || Array.isArray(e) || (typeof e === 'string' && /^\d/.test(e))) {
    const status = within(statusMatcher, e, ctx, ['expect']);
    const data = within(expectStep(Array.isArray(e) ? `[${e.join(', ')}]` : String(e)), v, ctx);
    return status && data && { kind: 'expect-response', status, data };
  }
  if (typeof e !== 'string') {
    return fail(ctx, `expected ${STATUS_EXPECTED}, or a method like INVITE, got ${describeValue(e)}`, ['expect']);
  }
  const problem = methodProblem(e);
  if (problem) return fail(ctx, `${problem}, or a status like 200`, ['expect']);
  const data = within(expectStep(e), v, ctx);
  return data && { kind: 'expect-request', method: e, data };
}

/** Keys that are options of some step kind (an item with only these lacks its keyword). */
const OPTION_KEYS = new Set([
  ...['party', 'call', 'uri', 'from', 'to', 'headers', 'body', 'sdp', 'content-type'],
  ...['reason', 'raw', 'dest', 'optional', 'timeout', 'capture'],
]);
const KEYWORDS_TEXT = STEP_KEYWORDS.join(', ');

/** One item of a step list: exactly one step keyword (plus party/call and that step's options). */
export const stepItem: z.ZodType<RawStep> = transformer<RawStep>((v, ctx) => {
  if (typeof v === 'string' && (BARE_STEPS as readonly string[]).includes(v)) {
    return { kind: v, data: { [v]: null } } as unknown as RawStep;
  }
  if (!isMap(v)) {
    const near = typeof v === 'string' ? closestName(v, STEP_KEYWORDS) : undefined;
    const hint = near ? ` (did you mean "${near}"?)` : '';
    const what = typeof v === 'string' ? `unknown step ${JSON.stringify(v)}${hint}` : `got ${describeValue(v)}`;
    return fail(ctx, `${what}, expected a step like send: INVITE, or one of the bare words ${BARE_STEPS.join(', ')}`);
  }
  const keys = Object.keys(v);
  const found = keys.filter((k) => (STEP_KEYWORDS as readonly string[]).includes(k) && !(k === 'auth' && 'send' in v));
  if (found.length > 1) {
    const expected = 'expected exactly one; write each step as its own "- " item';
    return fail(ctx, `${found.length} step keywords (${found.join(', ')}) in one item, ${expected}`);
  }
  if (found.length === 0) {
    const unknown = keys.filter((k) => !OPTION_KEYS.has(k));
    for (const k of unknown) {
      const near = closestName(k, STEP_KEYWORDS);
      const hint = near ? ` (did you mean "${near}"?)` : '';
      fail(ctx, `unknown key "${k}"${hint}, expected a step keyword: ${KEYWORDS_TEXT}`, [k], 'key');
    }
    if (!unknown.length) {
      fail(ctx, `no step keyword (found ${keys.join(', ') || 'an empty map'}), expected exactly one of ${KEYWORDS_TEXT}`);
    }
    return undefined;
  }
  const kw = found[0] as StepKeyword;
  if (kw === 'send') return sendStep(v, ctx);
  if (kw === 'expect') return expectStepOf(v, ctx);
  const schema = kw === 'parallel' ? parallelStep : kw === 'repeat' ? repeatStep : otherSteps[kw];
  const data = within(schema as z.ZodType<unknown>, v, ctx);
  return data === undefined ? undefined : ({ kind: kw, data } as RawStep);
});
