/**
 * The options of the reference carrier (`ReferenceCarrier`, reference-carrier.ts), its faults,
 * and the mapping from a `role: carrier` target profile (docs/target-profile.md) to options.
 */
import { UsageError } from '../errors.js';
import type { TimerConfig } from '../transaction/timers.js';
import type { Address, WireTap } from '../transport/transport.js';

/**
 * The ways the reference carrier can be broken on purpose, each the mistake of a real carrier
 * that the carrier/ suite must catch (one line each in {@link FAULT_DESCRIPTIONS}).
 */
export type Fault =
  /** REGISTER is accepted (200) without a 401 challenge: anyone can take over an account's calls. */
  | 'no-401'
  /** Credentials with the right user and a wrong password are accepted (REGISTER 200, INVITE routed) instead of 403. */
  | 'accept-wrong-password'
  /** An INVITE without credentials is routed at once instead of being challenged with 407. */
  | 'no-407'
  /** Calls are forwarded on busy / no answer without the Diversion header (RFC 5806). */
  | 'no-diversion'
  /** The per-account channel limit is not enforced: call limit+1 reaches the callee. */
  | 'ignore-channel-limit'
  /** REGISTER with Expires: 0 is answered 200 but the binding stays (listed, and still called). */
  | 'ignore-expires-0'
  /** A number nobody registered gets 480 Temporarily Unavailable instead of 404 Not Found. */
  | 'no-404'
  /** BYE is answered 200 but not relayed to the other party, whose call stays up. */
  | 'drop-bye'
  /** The callee's 486 Busy Here reaches the caller as 480 Temporarily Unavailable. */
  | 'wrong-busy-code'
  /** A call nobody answers ends with 503 Service Unavailable instead of the no-answer code. */
  | 'wrong-no-answer-code'
  /** The redirect number is not redirected (no 302): it is routed like any other number. */
  | 'no-302';

/** What each fault makes the carrier do, one line each (for `--help`, reports, test names). */
export const FAULT_DESCRIPTIONS: { readonly [F in Fault]: string } = {
  'no-401': 'REGISTER accepted without a 401 challenge',
  'accept-wrong-password': 'a wrong password accepted (REGISTER 200, INVITE routed) instead of 403',
  'no-407': 'INVITE routed without a 407 challenge',
  'no-diversion': 'call forwarded on busy / no answer without a Diversion header',
  'ignore-channel-limit': 'per-account channel limit not enforced',
  'ignore-expires-0': 'Expires: 0 answered 200 but the binding is kept',
  'no-404': 'unknown number answered 480 instead of 404',
  'drop-bye': 'BYE answered 200 but not relayed to the other leg',
  'wrong-busy-code': "the callee's 486 relayed as 480",
  'wrong-no-answer-code': 'an unanswered call ended with 503 instead of the no-answer code',
  'no-302': 'the redirect number routed instead of answered 302',
};

/** Every fault, in the order documented on {@link Fault}. */
export const FAULTS: readonly Fault[] = Object.keys(FAULT_DESCRIPTIONS) as Fault[];

/** Options of {@link ReferenceCarrier.start}. */
export interface ReferenceCarrierOptions {
  /** Where to listen (default 127.0.0.1:0, any free port); `host:port` or an Address. */
  listen?: Address | string;
  /** Default udp. */
  transport?: 'udp' | 'tcp';
  /** Digest realm, sent verbatim (stray spaces included); default voip0000.cloudpbx.com. */
  realm?: string;
  /** The accounts: user → password. */
  accounts: Record<string, string>;
  /** How long a callee may ring before the call is given up, seconds (default 5, like kamailio.cfg). */
  noAnswerSeconds?: number;
  /** What the caller gets when nobody answers: 480 (default) or 408. */
  noAnswerCode?: number;
  /** Call forwarding of one user each on busy (486) and on no answer (after `afterSeconds`). */
  forward?: {
    busy?: { from: string; to: string };
    noAnswer?: { from: string; to: string; afterSeconds: number };
  };
  /** A number that moved: INVITE → 302 with `Contact: <sip:TARGET@realm>`. */
  redirect?: { number: string; target: string };
  /** At most `limit` open calls placed by `account`; the next gets `refuseCode`. */
  channelLimit?: { account: string; limit: number; refuseCode: number };
  /** Rules to break on purpose (default none); see {@link Fault}. */
  faults?: Iterable<Fault>;
  /** Registration interval bounds, seconds (default 3600 / 10 / 7200, as kamailio.cfg). */
  expires?: { default?: number; min?: number; max?: number };
  /** Transaction timers (tests shorten them). */
  timers?: Partial<TimerConfig>;
  /** Sees every message on the carrier's wire (a ladder or pcap of the carrier side). */
  tap?: WireTap;
}

/** Check the options; a mistake is one clear UsageError. Returns the fault set. */
export function checkOptions(opts: ReferenceCarrierOptions): ReadonlySet<Fault> {
  const where = 'reference carrier';
  if (!opts.accounts || Object.keys(opts.accounts).length === 0) throw new UsageError(`${where}: give at least one account`);
  if (opts.noAnswerSeconds !== undefined && !(opts.noAnswerSeconds > 0)) {
    throw new UsageError(`${where}: noAnswerSeconds must be positive, got ${opts.noAnswerSeconds}`);
  }
  const code = (name: string, v: number | undefined, lo: number): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= 699)) throw new UsageError(`${where}: ${name} must be a status ${lo}-699, got ${v}`);
  };
  code('noAnswerCode', opts.noAnswerCode, 400);
  code('channelLimit.refuseCode', opts.channelLimit?.refuseCode, 400);
  const limit = opts.channelLimit?.limit;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new UsageError(`${where}: channelLimit.limit must be a whole number >= 0, got ${limit}`);
  const after = opts.forward?.noAnswer?.afterSeconds;
  if (after !== undefined && !(after > 0)) throw new UsageError(`${where}: forward.noAnswer.afterSeconds must be positive, got ${after}`);
  const faults = new Set<Fault>();
  for (const f of opts.faults ?? []) {
    if (!Object.hasOwn(FAULT_DESCRIPTIONS, f)) throw new UsageError(`${where}: unknown fault "${String(f)}"; known: ${FAULTS.join(', ')}`);
    faults.add(f);
  }
  return faults;
}

/** Fault names from user input (`--fault no-407,drop-bye`), each checked. */
export function parseFaults(names: Iterable<string>): Set<Fault> {
  const out = new Set<Fault>();
  for (const raw of names) {
    for (const name of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!Object.hasOwn(FAULT_DESCRIPTIONS, name)) throw new UsageError(`unknown reference-carrier fault "${name}"; known: ${FAULTS.join(', ')}`);
      out.add(name as Fault);
    }
  }
  return out;
}

/** The parts of a `role: carrier` target profile (docs/target-profile.md) the reference carrier uses. */
export interface CarrierProfileFields {
  transport: 'udp' | 'tcp';
  address: string;
  realm: string;
  accounts: Record<string, { password: string }>;
  numbers: { unknown: string; redirect?: string; redirect_target?: string };
  forward: {
    busy?: { from: string; to: string };
    no_answer?: { from: string; to: string; after_seconds: number };
  };
  no_answer_code: number;
  no_answer_seconds?: number;
  channel_limit?: { account: string; limit: number; refuse_code: number };
}

/**
 * Options that make the reference carrier the carrier a profile describes (what `npm start`
 * runs the carrier/ suite against), listening on the profile's address.
 */
export function referenceCarrierOptions(p: CarrierProfileFields, faults: Iterable<Fault> = []): ReferenceCarrierOptions {
  const accounts: Record<string, string> = {};
  for (const [user, a] of Object.entries(p.accounts)) accounts[user] = a.password;
  const redirect = p.numbers.redirect !== undefined && p.numbers.redirect_target !== undefined ? { number: p.numbers.redirect, target: p.numbers.redirect_target } : undefined;
  const na = p.forward.no_answer;
  return {
    listen: p.address,
    transport: p.transport,
    realm: p.realm,
    accounts,
    noAnswerCode: p.no_answer_code,
    noAnswerSeconds: p.no_answer_seconds,
    forward: {
      busy: p.forward.busy ? { ...p.forward.busy } : undefined,
      noAnswer: na ? { from: na.from, to: na.to, afterSeconds: na.after_seconds } : undefined,
    },
    redirect,
    channelLimit: p.channel_limit ? { account: p.channel_limit.account, limit: p.channel_limit.limit, refuseCode: p.channel_limit.refuse_code } : undefined,
    faults,
  };
}
