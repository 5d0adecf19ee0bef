/**
 * The reference PBX configured from a `role: pbx` target profile (docs/target-profile.md), so
 * one file (sut/reference/pbx-profile.yaml) both starts the reference PBX and tells the suite
 * what to expect of it. The profile's shape is declared here structurally: roles sit below the
 * scenario layer that loads profiles and must not import it.
 */
import type { Fault, ReferencePbxOptions } from './reference-pbx.js';

/** The parts of a loaded `role: pbx` profile the reference PBX needs. */
export interface PbxProfileLike {
  transport: 'udp' | 'tcp';
  /** `host:port` the PBX listens on. */
  address: string;
  carrier: { address: string; realm: string; username: string; password: string };
  extensions: Record<string, { password: string; caller_id: string }>;
  dids: Record<string, string>;
  channel_limits: Array<{ name: string; did: string; limit: number; refuse_code: number }>;
  no_answer_seconds: number;
}

/** `host:port` or `[v6]:port` → Address. */
function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!m) throw new Error(`expected host:port, got ${JSON.stringify(text)}`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/** Reference PBX options that match `profile`, with `faults` switched on. */
export function referencePbxOptions(profile: PbxProfileLike, faults: Iterable<Fault> = []): ReferencePbxOptions {
  return {
    listen: parseHostPort(profile.address),
    transport: profile.transport,
    carrier: parseHostPort(profile.carrier.address),
    trunk: { username: profile.carrier.username, password: profile.carrier.password, domain: profile.carrier.realm.trim() },
    extensions: Object.fromEntries(
      Object.entries(profile.extensions).map(([ext, e]) => [ext, { password: e.password, callerId: e.caller_id }]),
    ),
    dids: { ...profile.dids },
    channelLimits: profile.channel_limits.map((l) => ({ name: l.name, did: l.did, limit: l.limit, refuseCode: l.refuse_code })),
    noAnswerSeconds: profile.no_answer_seconds,
    faults,
  };
}
