/**
 * The scenario model: what the loader produces from a YAML file after validation, and what the
 * step executors run. Every step carries its source position so a failure can name the file,
 * line and column of the step that failed.
 *
 * Strings may hold `${name}` references; they are resolved when the step runs (variables come
 * from --var, the environment as `${env.NAME}`, a CSV row, the target profile, and captures).
 */
import type { PersonaConfig } from './persona-config.js';

/** Where something stands in a scenario file (1-based line and column). */
export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

/** Roles a party can play. `carrier`, `pbx` and `phone` personas come with issue 4. */
export type PartyRole = 'uac' | 'uas' | 'carrier' | 'pbx' | 'phone';

/** What the UA core does by itself for a party (each can be turned off to script it). */
export interface AutoBehaviour {
  /** 100 Trying for a received INVITE (RFC 3261 §17.2.1). Default true. */
  trying: boolean;
  /** ACK for a 2xx to our INVITE (RFC 3261 §13.2.2.4). Default true. */
  ack: boolean;
  /** 200 for a BYE received in a dialog (RFC 3261 §15.1.2). Default true. */
  bye: boolean;
  /** 200 for a CANCEL and 487 for its INVITE (RFC 3261 §9.2). Default true. */
  cancel: boolean;
}

/** Digest credentials; `password` is normally `${env.SOMETHING}` (never written in the file). */
export interface CredentialsSpec {
  username: string;
  password: string;
  realm?: string;
}

/** One party (a UA with its own socket). */
export interface PartySpec {
  name: string;
  role: PartyRole;
  transport?: 'udp' | 'tcp';
  /** `host:port` to bind; default --listen for uas, else 127.0.0.1 and a free port. */
  listen?: string;
  /** User part of Contact / default From. */
  user?: string;
  /** Where this party sends out-of-dialog requests by default; default --target. */
  target?: string;
  credentials?: CredentialsSpec;
  auto: AutoBehaviour;
  /** Persona options for roles carrier, pbx and phone (docs/personas.md). */
  persona?: PersonaConfig;
  pos: SourcePos;
}

/** A complete scenario file. */
export interface Scenario {
  file: string;
  name: string;
  description?: string;
  tags: string[];
  /** Parties in file order; the first is the default party of every step. */
  parties: PartySpec[];
  /** Default values of variables (overridden by --var, CSV rows, the profile). */
  vars: Record<string, string>;
  /** Default timeout of every expect, ms. */
  timeoutMs: number;
  steps: Step[];
  pos: SourcePos;
}

/** Fields every step has. */
export interface StepBase {
  pos: SourcePos;
  /** Party that performs the step (default: the first party). */
  party?: string;
  /** Name of the call (dialog) the step is about (default `call`); several calls can run at once. */
  call?: string;
}

/** Header assertion operators. */
export type HeaderOp = 'equals' | 'matches' | 'contains' | 'present' | 'absent' | 'gt' | 'gte' | 'lt' | 'lte';

/** One check on a header of a received message. */
export interface HeaderAssertion {
  /** Header name as the user wrote it (any case, compact forms allowed). */
  name: string;
  op: HeaderOp;
  /** Expected value (string for equals/contains, regex source for matches, number text for compares). */
  value?: string;
  pos: SourcePos;
}

/** Checks on the SDP body of a received message. */
export interface SdpAssertion {
  /** Body must be (true) or must not be (false) SDP. */
  present?: boolean;
  /** Every codec named must be offered/answered in the first audio stream (e.g. PCMU, telephone-event). */
  codecs?: string[];
  /** Effective direction of the first audio stream. */
  direction?: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  /** The first audio stream's port must be non-zero (media accepted). */
  portNonZero?: boolean;
  pos: SourcePos;
}

/** Store part of a received message in a variable for later steps. */
export interface Capture {
  variable: string;
  /** `status`, `reason`, `method`, `request-uri`, `body`, or a header name. */
  from: string;
  /** Take a parameter of the header (e.g. `tag` of To, `expires` of Contact). */
  param?: string;
  /** Take the first group of this regular expression. */
  regex?: string;
  pos: SourcePos;
}

/** Matches a status: an exact code, a class like `2xx`, or a list of those. */
export type StatusMatcher = Array<number | `${1 | 2 | 3 | 4 | 5 | 6}xx`>;

/** Body of a message to send: text, or an SDP offer/answer generated for the party. */
export type BodySpec =
  | { kind: 'text'; text: string; contentType?: string }
  | { kind: 'sdp-offer' }
  | { kind: 'sdp-answer' };

/** Send a request: out of dialog (INVITE, REGISTER, OPTIONS …) or in the call's dialog (BYE, INFO, re-INVITE …). */
export interface SendRequestStep extends StepBase {
  kind: 'send-request';
  method: string;
  /** Request-URI; default from the party's target. In-dialog requests use the remote target. */
  uri?: string;
  /** Full From / To values for out-of-dialog requests. */
  from?: string;
  to?: string;
  headers: Array<[string, string]>;
  body?: BodySpec;
  /** Answer 401/407 challenges automatically with the party's credentials. */
  auth: boolean;
}

/** Send a response to the last request received on the call (or on the party, for a new one). */
export interface SendResponseStep extends StepBase {
  kind: 'send-response';
  status: number;
  reason?: string;
  headers: Array<[string, string]>;
  body?: BodySpec;
  /** Which received request to answer (method); default the last one. */
  to?: string;
}

/** Send bytes exactly as written (CRLF line ends added to LF-only text), to reproduce broken peers. */
export interface SendRawStep extends StepBase {
  kind: 'send-raw';
  raw: string;
  /** `host:port`; default the party's target, or the call's peer. */
  dest?: string;
}

/** Expect a response on the call. Provisional responses not asked for are skipped. */
export interface ExpectResponseStep extends StepBase {
  kind: 'expect-response';
  status: StatusMatcher;
  optional: boolean;
  timeoutMs?: number;
  headers: HeaderAssertion[];
  sdp?: SdpAssertion;
  capture: Capture[];
}

/** Expect a request (a new INVITE/REGISTER/OPTIONS at a uas, or BYE/ACK/INFO in the call's dialog). */
export interface ExpectRequestStep extends StepBase {
  kind: 'expect-request';
  method: string;
  optional: boolean;
  timeoutMs?: number;
  headers: HeaderAssertion[];
  sdp?: SdpAssertion;
  capture: Capture[];
}

/** Answer the last 401/407 on the call with the party's (or these) credentials. */
export interface AuthStep extends StepBase {
  kind: 'auth';
  credentials?: CredentialsSpec;
}

export interface PauseStep extends StepBase {
  kind: 'pause';
  ms: number;
}

/** CANCEL the call's pending INVITE (RFC 3261 §9.1). */
export interface CancelStep extends StepBase {
  kind: 'cancel';
}

/** BYE the call and expect its 200 (RFC 3261 §15.1.1). */
export interface HangupStep extends StepBase {
  kind: 'hangup';
  timeoutMs?: number;
}

/** REGISTER with digest auth and expect a status (default 200); captures the granted expiry in `${expires}`. */
export interface RegisterStep extends StepBase {
  kind: 'register';
  /** Registrar URI; default `sip:<target>`. */
  uri?: string;
  /** Address of record for To/From; default `sip:<username>@<registrar host>`. */
  aor?: string;
  expires: number;
  credentials?: CredentialsSpec;
  expect: StatusMatcher;
  timeoutMs?: number;
  headers: Array<[string, string]>;
}

/** REGISTER with Expires: 0 (RFC 3261 §10.2.2). */
export interface UnregisterStep extends StepBase {
  kind: 'unregister';
  uri?: string;
  aor?: string;
  credentials?: CredentialsSpec;
  expect: StatusMatcher;
  timeoutMs?: number;
}

/**
 * Keep a registration alive in the background while the next steps run: refresh `marginS`
 * seconds before the granted expiry, or every `everyS` seconds (a fixed policy like seed 001's
 * router). Stops at the end of the scenario.
 */
export interface RefreshStep extends StepBase {
  kind: 'refresh';
  everyS?: number;
  marginS?: number;
}

/** Run branches at once; the step ends when all have. */
export interface ParallelStep extends StepBase {
  kind: 'parallel';
  branches: Step[][];
}

/** Run steps `count` times, `${iteration}` set to 1…count. */
export interface RepeatStep extends StepBase {
  kind: 'repeat';
  count: number;
  steps: Step[];
}

/**
 * Check a channel limit: place `limit` calls that must all connect and stay up, then one more
 * that must be refused with `refuse` — one by one (`sequential`) or all `limit + 1` INVITEs at
 * once (`burst`: exactly `limit` must connect). Every call is hung up at the end.
 */
export interface ChannelLimitStep extends StepBase {
  kind: 'channel-limit';
  uri: string;
  limit: number;
  refuse: StatusMatcher;
  mode: 'sequential' | 'burst';
  /** How long connected calls are held after the extra call was answered, ms. */
  holdMs: number;
  timeoutMs?: number;
  from?: string;
  headers: Array<[string, string]>;
}

/** Set variables (templates resolved at run time). */
export interface SetStep extends StepBase {
  kind: 'set';
  vars: Record<string, string>;
}

export type Step =
  | SendRequestStep
  | SendResponseStep
  | SendRawStep
  | ExpectResponseStep
  | ExpectRequestStep
  | AuthStep
  | PauseStep
  | CancelStep
  | HangupStep
  | RegisterStep
  | UnregisterStep
  | RefreshStep
  | ParallelStep
  | RepeatStep
  | SetStep
  | ChannelLimitStep;

/** Defaults the loader applies. */
export const DEFAULT_AUTO: Readonly<AutoBehaviour> = Object.freeze({ trying: true, ack: true, bye: true, cancel: true });
export const DEFAULT_EXPECT_TIMEOUT_MS = 10_000;
