/**
 * Registrar bindings (RFC 3261 §10.3): address-of-record → contacts with expiry, updated by
 * REGISTER, removed by Expires: 0 or `Contact: *`, with a history of every registration,
 * refresh and removal (with times) so a suite can measure refresh behaviour and lapses.
 * Pure bookkeeping: authentication and responses are the caller's.
 */
import { isWildcard } from '../sip/name-addr.js';
import type { SipMessage } from '../sip/message.js';
import { formatUri } from '../sip/uri.js';

/** One contact bound to an address-of-record. */
export interface Binding {
  contact: string;
  /** Wall-clock ms when it expires. */
  expiresAt: number;
  callId: string;
  cseq: number;
}

/** What happened at one REGISTER, kept in order. */
export interface RegistrationEvent {
  at: number;
  aor: string;
  kind: 'register' | 'refresh' | 'unregister' | 'fetch';
  /** Seconds granted (0 for removal). */
  granted: number;
  requested: number | undefined;
  callId: string;
  cseq: number;
  /** True when the previous binding of this AOR had already expired when this came (a lapse). */
  lapsed: boolean;
}

/** Options of {@link Registrar}. */
export interface RegistrarOptions {
  /** Grant this many seconds whatever is asked (a carrier like seed 000 grants 120). */
  grantExpires?: number;
  /** Default when neither Contact expires nor Expires is given (RFC 3261 §10.3 step 7: locally configured). */
  defaultExpires?: number;
  /** Shorter requests get 423 Interval Too Brief (RFC 3261 §10.3 step 7). */
  minExpires?: number;
  maxExpires?: number;
  now?: () => number;
}

/** Result of applying a REGISTER: a status and the bindings to list in the 200. */
export type RegisterOutcome =
  | { status: 200; bindings: Binding[]; granted: number; event: RegistrationEvent }
  | { status: 400 | 423; reason: string; minExpires?: number };

export class Registrar {
  readonly history: RegistrationEvent[] = [];
  private readonly bindings = new Map<string, Binding[]>();
  private readonly opts: RegistrarOptions;
  private readonly now: () => number;

  constructor(opts: RegistrarOptions = {}) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /** The AOR of a REGISTER: its To URI, `sip:user@host` (RFC 3261 §10.3 step 5). */
  static aorOf(req: SipMessage): string {
    const u = req.to.uri;
    return `${u.scheme}:${u.user ? `${u.user}@` : ''}${u.host}`;
  }

  /** Current (unexpired) contacts of an AOR. */
  contacts(aor: string): Binding[] {
    const now = this.now();
    return (this.bindings.get(aor) ?? []).filter((b) => b.expiresAt > now);
  }

  /** Every AOR with a live binding. */
  registered(): string[] {
    return [...this.bindings.keys()].filter((a) => this.contacts(a).length > 0);
  }

  /** Apply an authenticated REGISTER (RFC 3261 §10.3 steps 5-8). */
  apply(req: SipMessage): RegisterOutcome {
    const aor = Registrar.aorOf(req);
    const now = this.now();
    const headerExpires = parseSeconds(req.get('expires'));
    const contacts = req.contacts;
    const callId = req.callId;
    const cseq = req.cseq.seq;
    const previous = this.bindings.get(aor) ?? [];
    const hadLive = previous.some((b) => b.expiresAt > now);
    const lapsed = previous.length > 0 && !hadLive;

    if (contacts.length === 0) {
      const event = this.record(aor, 'fetch', 0, headerExpires, callId, cseq, false);
      return { status: 200, bindings: this.contacts(aor), granted: 0, event };
    }
    if (contacts.some((c) => isWildcard(c))) {
      // §10.3 step 6: `*` only with Expires: 0 and alone.
      if (headerExpires !== 0 || contacts.length > 1) return { status: 400, reason: 'Bad Request (Contact * needs Expires: 0 and no other Contact)' };
      this.bindings.delete(aor);
      const event = this.record(aor, 'unregister', 0, 0, callId, cseq, false);
      return { status: 200, bindings: [], granted: 0, event };
    }
    let next = previous.filter((b) => b.expiresAt > now);
    let granted = 0;
    let kind: RegistrationEvent['kind'] = hadLive ? 'refresh' : 'register';
    let requestedAll: number | undefined;
    for (const c of contacts) {
      const requested = parseSeconds(c.params.get('expires') ?? undefined) ?? headerExpires;
      requestedAll = requested;
      const uri = formatUri(c.uri);
      next = next.filter((b) => b.contact !== uri);
      if (requested === 0) {
        kind = 'unregister';
        continue;
      }
      const asked = requested ?? this.opts.defaultExpires ?? 3600;
      if (this.opts.minExpires !== undefined && asked < this.opts.minExpires) {
        return { status: 423, reason: 'Interval Too Brief', minExpires: this.opts.minExpires };
      }
      granted = this.opts.grantExpires ?? Math.min(asked, this.opts.maxExpires ?? asked);
      next.push({ contact: uri, expiresAt: now + granted * 1000, callId, cseq });
    }
    if (next.length) this.bindings.set(aor, next);
    else this.bindings.delete(aor);
    const event = this.record(aor, kind, granted, requestedAll, callId, cseq, lapsed && kind !== 'unregister');
    return { status: 200, bindings: next, granted, event };
  }

  private record(
    aor: string,
    kind: RegistrationEvent['kind'],
    granted: number,
    requested: number | undefined,
    callId: string,
    cseq: number,
    lapsed: boolean,
  ): RegistrationEvent {
    const event = { at: this.now(), aor, kind, granted, requested, callId, cseq, lapsed };
    this.history.push(event);
    return event;
  }
}

function parseSeconds(v: string | undefined | null): number | undefined {
  if (v === undefined || v === null) return undefined;
  const t = v.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}
