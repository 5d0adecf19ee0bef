/**
 * Options of the reference PBX ({@link ReferencePbx} in reference-pbx.ts) and the faults that
 * break it on purpose: seed 000's sip.conf (trunk, extensions) and extensions.conf (DIDs,
 * caller-IDs, channel groups) as TypeScript.
 */
import { UsageError } from '../errors.js';
import type { TimerConfig } from '../transaction/timers.js';
import type { Address } from '../transport/transport.js';
import type { ReferencePbx } from './reference-pbx.js';

/**
 * A way to break the reference PBX on purpose, so a conformance suite can be seen to fail.
 * Each names what the broken PBX does:
 * - `no-refresh`: registers the trunk once and never refreshes it; the binding lapses at the
 *   carrier when the granted expiry runs out.
 * - `wrong-caller-id`: puts the extension number (`200`) in the From user part of outbound
 *   calls instead of the extension's caller-ID (`0312345678`).
 * - `ignore-channel-limit`: never refuses an inbound call for a group's channel limit.
 * - `off-by-one-channel-limit`: counts the group's calls before adding the new one but still
 *   refuses only when the count is *over* the limit (the seed's set-then-count check done in
 *   the wrong order), so limit + 1 calls get through.
 * - `no-auth-retry`: does not answer the carrier's challenges: the 401 to the trunk REGISTER
 *   (the trunk never registers; the REGISTER is sent again every `retryS`) and the 407 (or
 *   401) to an outbound INVITE (the phone gets 503).
 * - `drop-bye`: answers a BYE with 200 but does not carry it to the other leg, either way: the
 *   phone stays in a call the carrier ended, and the carrier in a call the phone ended.
 * - `wrong-did-routing`: every inbound DID rings the first (lowest-numbered) extension.
 * - `no-unregister`: `stop()` leaves the trunk's binding at the carrier (no Expires: 0).
 * - `no-cancel-relay`: a CANCEL from the carrier is answered (200, 487) but the extension keeps
 *   ringing: its leg is never CANCELled.
 * - `wrong-busy-code`: the extension's 486 Busy Here reaches the carrier as 480.
 */
export type Fault =
  | 'no-refresh'
  | 'wrong-caller-id'
  | 'ignore-channel-limit'
  | 'off-by-one-channel-limit'
  | 'no-auth-retry'
  | 'drop-bye'
  | 'wrong-did-routing'
  | 'no-unregister'
  | 'no-cancel-relay'
  | 'wrong-busy-code';

/** Every fault, in the order documented on {@link Fault}. */
export const FAULTS: readonly Fault[] = [
  'no-refresh',
  'wrong-caller-id',
  'ignore-channel-limit',
  'off-by-one-channel-limit',
  'no-auth-retry',
  'drop-bye',
  'wrong-did-routing',
  'no-unregister',
  'no-cancel-relay',
  'wrong-busy-code',
];

/** The trunk account at the carrier (seed 000 `register => 0000123456:password@…`). */
export interface TrunkOptions {
  username: string;
  password: string;
  /** Login domain for the REGISTER Request-URI, the AOR and the From of outbound calls; default the carrier's host:port. */
  domain?: string;
  /** Expires asked for (default 3600, seed 000 `defaultexpiry`); the carrier may grant less. */
  expires?: number;
  /** Refresh this many seconds before the granted expiry (default 15, as Asterisk). */
  refreshMarginS?: number;
  /** After a failed REGISTER, try again after this many seconds (default 20, Asterisk's `registertimeout`). */
  retryS?: number;
}

/** One extension (seed 000 `[200] secret=200pass` and its `Set(CALLERID(num)=…)`). */
export interface ExtensionOptions {
  password: string;
  /** Number presented on outbound trunk calls (From user part). */
  callerId: string;
  /** Display name of outbound trunk calls; default the phone's own From display name, else the extension number. */
  displayName?: string;
}

/** A group's concurrent-call limit on inbound DID calls (seed 000 §2.2, `GROUP_COUNT`). */
export interface ChannelLimit {
  /** Group name; entries with the same name share one count. */
  name: string;
  did: string;
  limit: number;
  /** What the call over the limit gets (seed: busy, 486). */
  refuseCode: number;
}

/** Options of {@link ReferencePbx.start}. */
export interface ReferencePbxOptions {
  /** Where to listen (default 127.0.0.1, any free port). */
  listen?: Partial<Address>;
  transport?: 'udp' | 'tcp';
  /** The carrier: trunk registrar and outbound proxy. INVITEs from this host are trusted. */
  carrier: Address;
  trunk: TrunkOptions;
  /** Extension number → account. */
  extensions: Record<string, ExtensionOptions>;
  /** Inbound DID → extension number. */
  dids: Record<string, string | number>;
  channelLimits?: ChannelLimit[];
  /** Ring an extension this long before giving up with 480 (default 20). */
  noAnswerSeconds?: number;
  /** Ring the trunk this long on an outbound call (default 120, the seed's `Dial(…,120,T)`). */
  trunkRingSeconds?: number;
  /** Dialled numbers starting with one of these go to the trunk (default `['0', '1']`, the seed's `_0.` / `_1.`). */
  outboundPrefixes?: string[];
  /** Realm of the challenges to phones (default `reference-pbx`). */
  realm?: string;
  faults?: Iterable<Fault>;
  /** Transaction timers (tests shorten them). */
  timers?: Partial<TimerConfig>;
  /** How long `stop()` waits for the trunk's unregistration (default 2000 ms). */
  stopGraceMs?: number;
}

/** Reject contradictory options with one clear line each (`faults` must be re-iterable: an array or a Set). */
export function checkOptions(opts: ReferencePbxOptions): void {
  const exts = Object.keys(opts.extensions);
  if (exts.length === 0) throw new UsageError('reference PBX: give at least one extension');
  for (const [did, ext] of Object.entries(opts.dids)) {
    if (!exts.includes(String(ext))) throw new UsageError(`reference PBX: DID ${did} routes to extension ${ext}, which is not configured`);
  }
  for (const f of opts.faults ?? []) {
    if (!FAULTS.includes(f)) throw new UsageError(`reference PBX: unknown fault ${JSON.stringify(f)}; known: ${FAULTS.join(', ')}`);
  }
  for (const l of opts.channelLimits ?? []) {
    if (!(String(l.did) in opts.dids)) throw new UsageError(`reference PBX: channel group ${l.name} names DID ${l.did}, which is not configured`);
    if (!(l.limit >= 0)) throw new UsageError(`reference PBX: channel group ${l.name} has limit ${l.limit}`);
  }
}
