/**
 * `sipwright serve <carrier|pbx|phone> --config file.yaml`: run one persona on its own, as a
 * peer for a real system under test — a fake carrier a PBX registers to, a fake PBX that
 * registers to a real carrier, a fake phone. It binds 127.0.0.1 unless told otherwise (and says
 * so loudly when it is not loopback), prints one line per event (registrations, refreshes and
 * lapses with the granted seconds, calls and how they were answered, channel-limit refusals),
 * and on SIGINT / SIGTERM ends what is open, prints a summary and exits 0.
 */
import type { UasCall } from '../dialog/uas-call.js';
import { UserAgent } from '../dialog/user-agent.js';
import { Carrier } from '../roles/carrier.js';
import { Pbx } from '../roles/pbx.js';
import { loadPersonaConfig, type PersonaConfig } from '../scenario/persona-config.js';
import type { PersonaKind } from '../roles/persona.js';
import { Phone } from '../roles/phone.js';
import type { RegistrationAttempt, RegistrationClient } from '../roles/registration-client.js';
import type { EnvMap } from '../scenario/variables.js';
import type { SipMessage } from '../sip/message.js';
import { parseMessage } from '../sip/parse.js';
import { isLoopback, parseHostPort } from '../transport/address.js';
import { formatAddress, type Address, type TransportProtocol, type WireTap } from '../transport/transport.js';

/** Options of `sipwright serve` (kept in sync with the yargs table by the type checker). */
export interface ServeCommandOptions {
  persona: PersonaKind;
  config: string;
  listen?: string;
  transport?: 'udp' | 'tcp';
}

/** Where serve writes and what stops it (tests inject these). */
export interface ServeIo {
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /** Resolves when the persona should stop; default: the first SIGINT or SIGTERM. */
  stop?: Promise<unknown>;
  env?: EnvMap;
}

/** How often persona state (registration attempts, binding expiry) is checked for events, ms. */
const POLL_MS = 100;
/** How long shutdown waits for an unregister and the BYEs of open calls, ms. */
const SHUTDOWN_GRACE_MS = 2000;

/**
 * Run the persona until stopped. Exit codes: 0 after a stop signal, 1 when the persona could not
 * start (a phone that cannot register), 2 for config and usage errors (thrown as UsageError).
 */
export async function serveCommand(opts: ServeCommandOptions, io: ServeIo = {}): Promise<number> {
  const out = io.out ?? process.stdout;
  const err = io.err ?? process.stderr;
  const config = loadPersonaConfig(opts.config, opts.persona, { env: io.env });
  // Listen for the stop signals before anything is announced: a signal right after the
  // "listening" line must find the handler in place.
  const signals = io.stop ? undefined : new StopSignals();
  try {
    return await serveUntil(config, opts, io.stop ?? signals!.received, out, err);
  } finally {
    signals?.dispose();
  }
}

async function serveUntil(
  config: PersonaConfig,
  opts: ServeCommandOptions,
  stop: Promise<unknown>,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const transport = opts.transport ?? config.transport ?? 'udp';
  // A carrier is what others dial: the SIP port. A pbx or phone registers its Contact: any port.
  const defaultPort = config.kind === 'carrier' ? 5060 : 0;
  const listen: Address = opts.listen
    ? parseHostPort(opts.listen, '--listen', defaultPort)
    : (config.listen ?? { host: '127.0.0.1', port: defaultPort });
  const persona = personaOf(config);
  // The Contact user is the account, as a real PBX or phone writes it (seed 000: sip:0312345678@…).
  const user = config.kind === 'pbx' ? config.options.username : config.kind === 'phone' ? config.options.extension : undefined;
  const ua = await UserAgent.create({ transport, host: listen.host, port: listen.port, user });
  const log = new ServeLog(config, persona, (line) => out.write(`${line}\n`));
  ua.transport.tap = log;
  ua.onInvite = (call) => {
    log.track(call);
    if (!persona.handleInvite(call)) call.respond(480, { reason: 'Temporarily Unavailable (no answer mode)' });
  };
  ua.onNewRequest = (req, tx) => persona.handleRequest(req, tx);

  out.write(`${config.kind} listening on ${transport} ${formatAddress(ua.local)}\n`);
  if (!isLoopback(ua.local.host)) {
    err.write(
      `sipwright: WARNING: listening on ${formatAddress(ua.local)}, which is not loopback: anyone who can reach it can register and place calls\n`,
    );
  }
  const poll = setInterval(() => log.tick(), POLL_MS);
  // Starting may take a while (a pbx registering to a carrier that does not answer waits for
  // Timer F): a stop signal meanwhile is not held up by it.
  const started = persona.start(ua, { observe: () => undefined }).then(
    () => 'started' as const,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  const first = await Promise.race([started, stop.then(() => 'stopped' as const)]);
  if (first instanceof Error) {
    clearInterval(poll);
    log.tick();
    err.write(`sipwright: ${first.message}\n`);
    await persona.stop();
    await ua.close();
    return 1;
  }
  log.tick();
  if (first === 'started') await stop;

  clearInterval(poll);
  await shutdown(persona, log);
  log.tick();
  out.write(`${log.summary()}\n`);
  await ua.close();
  return 0;
}

function personaOf(config: PersonaConfig): Carrier | Pbx | Phone {
  switch (config.kind) {
    case 'carrier':
      return new Carrier(config.options);
    case 'pbx':
      return new Pbx(config.options);
    case 'phone':
      return new Phone(config.options);
  }
}

/** The first SIGINT or SIGTERM; while it waits, those signals no longer end the process. */
class StopSignals {
  readonly received: Promise<NodeJS.Signals>;
  private resolve: (signal: NodeJS.Signals) => void = () => undefined;
  private readonly on = (signal: NodeJS.Signals): void => this.resolve(signal);

  constructor() {
    this.received = new Promise((r) => (this.resolve = r));
    process.on('SIGINT', this.on);
    process.on('SIGTERM', this.on);
  }

  dispose(): void {
    process.off('SIGINT', this.on);
    process.off('SIGTERM', this.on);
  }
}

/**
 * Leave cleanly: unregister (Expires: 0, seed 001's "disconnect"), BYE answered calls, 480 to
 * ringing ones, stop refresh timers. Bounded by {@link SHUTDOWN_GRACE_MS}: a peer that does not
 * answer does not keep us running.
 */
async function shutdown(persona: Carrier | Pbx | Phone, log: ServeLog): Promise<void> {
  const work: Array<Promise<unknown>> = [];
  if (!(persona instanceof Carrier) && log.registered) {
    work.push(persona.registration!.unregister());
  }
  for (const call of log.openCalls()) {
    if (call.state === 'answered' || call.state === 'established') work.push(call.bye().catch(() => undefined));
    else if (call.state === 'ringing' && !call.tx.answered) call.respond(480, { reason: 'Temporarily Unavailable (shutting down)' });
  }
  await Promise.race([Promise.allSettled(work), new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref())]);
  await persona.stop();
}

/** Milliseconds as seconds with one decimal. */
const seconds = (ms: number): string => (ms / 1000).toFixed(1);

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Remembers a bounded number of keys (to skip retransmitted responses). */
class RecentKeys {
  private readonly keys = new Set<string>();
  /** True the first time `key` is seen. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    if (this.keys.size >= 4096) this.keys.clear();
    this.keys.add(key);
    return true;
  }
}

/**
 * Turns what the persona does into one line per event. Calls come from the wire (the final
 * response to each INVITE, challenges left out); registrations from the persona's own records
 * (the carrier's registrar history, the pbx/phone registration attempts), checked on every
 * message and every {@link POLL_MS}.
 */
class ServeLog implements WireTap {
  private readonly counts = { registrations: 0, refreshes: 0, unregisters: 0, lapses: 0, failures: 0 };
  private readonly calls = { total: 0, answered: 0, busy: 0, cancelled: 0, forwarded: 0, limit: 0, other: 0 };
  private readonly finals = new RecentKeys();
  private readonly uasCalls = new Set<UasCall>();
  /** Carrier: live bindings by AOR (to see a lapse as it happens). */
  private readonly live = new Map<string, { granted: number; at: number }>();
  private historySeen = 0;
  /** pbx / phone: attempts already printed, and the last successful registration. */
  private attemptsSeen = 0;
  private lastOk: RegistrationAttempt | undefined = undefined;
  private lapseReported = false;

  constructor(
    private readonly config: PersonaConfig,
    private readonly persona: Carrier | Pbx | Phone,
    private readonly print: (line: string) => void,
  ) {}

  /** pbx / phone: registered now (a successful REGISTER not yet expired or removed). */
  get registered(): boolean {
    return this.lastOk !== undefined && !this.lapseReported;
  }

  track(call: UasCall): void {
    this.uasCalls.add(call);
  }

  /** Calls that may still need a BYE or a final response. */
  openCalls(): UasCall[] {
    return [...this.uasCalls].filter((c) => c.state === 'ringing' || c.state === 'answered' || c.state === 'established');
  }

  onWire(direction: 'in' | 'out', bytes: Buffer, _local: Address, remote: Address, _protocol: TransportProtocol, _at: number): void {
    if (direction !== 'out' || bytes.subarray(0, 8).toString('latin1') !== 'SIP/2.0 ') return;
    let res: SipMessage;
    try {
      res = parseMessage(bytes);
    } catch {
      return;
    }
    const method = res.cseq.method;
    if (method === 'REGISTER') {
      this.tick();
      return;
    }
    if (method !== 'INVITE' || res.status < 200 || res.status === 401 || res.status === 407) return;
    if (!this.finals.add(`${res.callId} ${res.cseq.seq} ${res.status}`)) return;
    this.callLine(res, remote);
    this.forgetEndedCalls();
  }

  /** Print what changed in the persona's records since the last look. */
  tick(): void {
    if (this.persona instanceof Carrier) this.carrierRegistrations(this.persona);
    else if (this.persona.registration) this.clientRegistrations(this.persona.registration);
  }

  summary(): string {
    const c = this.counts;
    const regs = `${plural(c.registrations, 'registration')} (${plural(c.refreshes, 'refresh', 'refreshes')}, ${plural(c.lapses, 'lapse')}, ${plural(c.unregisters, 'unregister')}${c.failures ? `, ${plural(c.failures, 'failure')}` : ''})`;
    const k = this.calls;
    const parts = [`${k.answered} answered`];
    if (k.busy) parts.push(`${k.busy} busy`);
    if (k.cancelled) parts.push(`${k.cancelled} cancelled`);
    if (k.forwarded) parts.push(`${k.forwarded} forwarded`);
    if (k.other) parts.push(`${k.other} refused`);
    const limit = this.config.kind === 'carrier' && this.config.options.channelLimit ? `, ${plural(k.limit, 'refusal')} for the channel limit` : '';
    return `summary: ${regs}, ${plural(k.total, 'call')} (${parts.join(', ')})${limit}`;
  }

  // ---- calls ----

  private callLine(res: SipMessage, remote: Address): void {
    const s = res.status;
    this.calls.total++;
    let how: string;
    const limit = this.limitRefusal(res);
    if (limit !== undefined) {
      this.calls.limit++;
      how = `refused: channel limit ${limit} reached`;
    } else if (s < 300) {
      this.calls.answered++;
      how = 'answered';
    } else if (s < 400) {
      this.calls.forwarded++;
      how = `forwarded to ${res.contacts.map((c) => `sip:${c.uri.user ? `${c.uri.user}@` : ''}${c.uri.host}`).join(', ') || 'nowhere (no Contact)'}`;
    } else if (s === 486 || s === 600) {
      this.calls.busy++;
      how = 'busy';
    } else if (s === 487) {
      this.calls.cancelled++;
      how = 'cancelled by the caller';
    } else {
      this.calls.other++;
      how = 'refused';
    }
    const who = (u: { user?: string; host: string }) => u.user ?? u.host;
    this.print(`INVITE from ${who(res.from.uri)} to ${who(res.to.uri)} (${formatAddress(remote)}): ${s} ${res.reason}, ${how}`);
  }

  /** The channel limit when this response refused an INVITE because the trunk was full. */
  private limitRefusal(res: SipMessage): number | undefined {
    if (!(this.persona instanceof Carrier) || this.config.kind !== 'carrier') return undefined;
    const refused = this.persona.refusedForLimit.some((r) => r.callId === res.callId && r.cseq.seq === res.cseq.seq);
    return refused ? this.config.options.channelLimit?.limit : undefined;
  }

  private forgetEndedCalls(): void {
    for (const c of this.uasCalls) if (c.state === 'rejected' || c.state === 'cancelled' || c.state === 'terminated') this.uasCalls.delete(c);
  }

  // ---- registrations at the carrier ----

  private carrierRegistrations(carrier: Carrier): void {
    const history = carrier.registrar.history;
    for (; this.historySeen < history.length; this.historySeen++) {
      const e = history[this.historySeen];
      const asked = e.requested !== undefined ? ` (asked ${e.requested} s)` : '';
      if (e.kind === 'register' || e.kind === 'refresh') {
        this.counts.registrations++;
        const before = this.live.get(e.aor);
        const contact = carrier.registrar.contacts(e.aor).find((b) => b.callId === e.callId)?.contact;
        const from = contact ? ` contact ${contact}` : '';
        if (e.kind === 'refresh') {
          this.counts.refreshes++;
          const gap = before ? `, ${seconds(e.at - before.at)} s after the last one` : '';
          this.print(`refresh ${e.aor}${from}: granted ${e.granted} s${asked}${gap}`);
        } else {
          this.print(`registration ${e.aor}${from}: granted ${e.granted} s${asked}${e.lapsed ? ', after a lapse' : ''}`);
        }
        this.live.set(e.aor, { granted: e.granted, at: e.at });
      } else if (e.kind === 'unregister') {
        this.counts.unregisters++;
        this.live.delete(e.aor);
        this.print(`unregister ${e.aor}: binding removed`);
      } else {
        this.print(`binding query ${e.aor} (REGISTER without Contact)`);
      }
    }
    for (const [aor, b] of this.live) {
      if (carrier.registrar.contacts(aor).length > 0) continue;
      this.live.delete(aor);
      this.counts.lapses++;
      this.print(`lapse ${aor}: the binding expired without a refresh (granted ${b.granted} s)`);
    }
  }

  // ---- registrations of the pbx / phone ----

  private clientRegistrations(reg: RegistrationClient): void {
    const where = this.config.kind === 'pbx' ? this.config.options.carrier : this.config.kind === 'phone' ? this.config.options.pbx : undefined;
    const at = where ? ` at ${formatAddress(where)}` : '';
    for (; this.attemptsSeen < reg.attempts.length; this.attemptsSeen++) {
      const a = reg.attempts[this.attemptsSeen];
      if (a.status >= 200 && a.status < 300 && a.expires === 0) {
        this.counts.unregisters++;
        this.lastOk = undefined;
        this.print(`unregistered ${reg.aor}${at}`);
      } else if (a.status >= 200 && a.status < 300) {
        this.counts.registrations++;
        const refresh = this.lastOk !== undefined && !this.lapseReported;
        if (refresh) {
          this.counts.refreshes++;
          this.print(`refresh ${reg.aor}${at}: granted ${a.granted} s (asked ${a.expires} s), ${seconds(a.at - this.lastOk!.at)} s after the last one`);
        } else {
          this.print(`registered ${reg.aor}${at}: granted ${a.granted} s (asked ${a.expires} s)${this.lapseReported ? ', after a lapse' : ''}`);
        }
        this.lastOk = a;
        this.lapseReported = false;
      } else {
        this.counts.failures++;
        const got = a.status === 0 ? 'no response' : `${a.status}`;
        this.print(`registration ${reg.aor}${at} failed: ${got}${a.challenges ? ` (after ${plural(a.challenges, 'challenge')})` : ''}`);
      }
    }
    const ok = this.lastOk;
    if (ok && !this.lapseReported && Date.now() > ok.at + ok.granted * 1000) {
      this.lapseReported = true;
      this.counts.lapses++;
      this.print(`lapse ${reg.aor}${at}: the registration expired without a refresh (granted ${ok.granted} s)`);
    }
  }
}
