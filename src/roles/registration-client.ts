/**
 * Keeps one registration alive (RFC 3261 §10.2): REGISTER with digest auth, refresh on a
 * policy — a fixed period like seed 001's router (1200 s), or a margin before the granted
 * expiry like Asterisk (15 s) — reusing the Call-ID with CSeq + 1 (§10.2.4), and Expires: 0
 * to unregister (§10.2.2). Used by the pbx and phone personas.
 */
import { requestWithAuth, type AuthOutcome } from '../auth/authenticating-client.js';
import type { UserAgent } from '../dialog/user-agent.js';
import { newCallId } from '../sip/ids.js';
import { parseNameAddr } from '../sip/name-addr.js';
import type { Uri } from '../sip/uri.js';
import { uriHost, type Address } from '../transport/transport.js';

/** When to refresh. */
export type RefreshPolicy = { fixedS: number } | { marginS: number };

export interface RegistrationClientOptions {
  /** The registrar's address. */
  registrar: Address;
  /** Domain for the AOR and the Request-URI (default the registrar's host). */
  domain?: string;
  username: string;
  password: string;
  /** Expires asked for (default 3600). */
  expires?: number;
  /** Default: refresh 15 s before the granted expiry, as Asterisk does. */
  refresh?: RefreshPolicy;
  /** Do not refresh at all (a fault: the registration lapses). */
  noRefresh?: boolean;
  /** After a failed refresh, try again this many seconds later (default 20, like Asterisk's registertimeout). */
  retryS?: number;
}

/** One REGISTER exchange as it ended. */
export interface RegistrationAttempt {
  at: number;
  expires: number;
  status: number;
  granted: number;
  challenges: number;
}

export class RegistrationClient {
  readonly attempts: RegistrationAttempt[] = [];
  /** Seconds granted by the last successful REGISTER. */
  granted = 0;
  private readonly callId: string;
  private cseq = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  private stopped = false;

  constructor(
    private readonly ua: UserAgent,
    private readonly opts: RegistrationClientOptions,
  ) {
    this.callId = newCallId(ua.local.host);
  }

  get aor(): string {
    return `sip:${this.opts.username}@${this.domain}`;
  }

  private get domain(): string {
    return this.opts.domain ?? uriHost(this.opts.registrar.host);
  }

  /** Register now; on success schedule the refresh. Resolves with the outcome. */
  async register(): Promise<AuthOutcome> {
    const outcome = await this.send(this.opts.expires ?? 3600);
    if (outcome.final && outcome.final.status < 300) this.schedule();
    else if (this.granted > 0) this.schedule(this.opts.retryS ?? 20); // a refresh failed: keep trying
    return outcome;
  }

  /** Remove the binding (Expires: 0) and stop refreshing. */
  async unregister(): Promise<AuthOutcome> {
    this.stop();
    this.granted = 0; // nothing left to remove, even before the answer comes
    return this.send(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async send(expires: number): Promise<AuthOutcome> {
    const { registrar } = this.opts;
    this.cseq++;
    const outcome = await requestWithAuth(
      this.ua,
      'REGISTER',
      `sip:${this.domain}${this.opts.domain ? '' : `:${registrar.port}`}`,
      {
        dest: registrar,
        from: `<${this.aor}>`,
        to: `<${this.aor}>`,
        callId: this.callId,
        cseq: this.cseq,
        headers: [['Expires', String(expires)]],
      },
      { username: this.opts.username, password: this.opts.password },
    );
    this.cseq += outcome.attempts - 1;
    const final = outcome.final;
    let granted = 0;
    if (final && final.status < 300 && expires > 0) {
      // RFC 3261 §10.2.4: the 200 lists every binding of the AOR; ours is the one with our
      // contact address (other devices on the same account have their own expiry).
      const own = parseNameAddr(this.ua.contact).uri;
      // A lone Contact is ours even when the registrar rewrote it (behind NAT, say).
      const mine =
        final.contacts.find((c) => c.params.get('expires') && sameContactAddress(c.uri, own)) ??
        (final.contacts.length === 1 && final.contacts[0].params.get('expires') ? final.contacts[0] : undefined);
      const header = final.get('expires');
      granted = mine ? Number(mine.params.get('expires')) : header && /^\d+$/.test(header) ? Number(header) : expires;
      this.granted = granted;
    }
    this.attempts.push({ at: Date.now(), expires, status: outcome.status, granted, challenges: outcome.challenges.length });
    return outcome;
  }

  /** Arm the next REGISTER: per the refresh policy, or after `retryS` when one failed. */
  private schedule(retryS?: number): void {
    if (this.stopped || this.opts.noRefresh) return;
    const policy = this.opts.refresh ?? { marginS: 15 };
    const waitS = retryS ?? ('fixedS' in policy ? policy.fixedS : Math.max(1, this.granted - policy.marginS));
    // A register() called by hand while a refresh is pending replaces it (one timer at a time).
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.register().catch(() => undefined);
    }, waitS * 1000);
    this.timer.unref();
  }
}

/**
 * The parts of RFC 3261 §19.1.4 URI comparison that tell one device's contact from another's:
 * scheme, user (case-sensitive), host (case-insensitive) and port.
 */
function sameContactAddress(a: Uri, b: Uri): boolean {
  return (
    a.scheme === b.scheme &&
    (a.user ?? '') === (b.user ?? '') &&
    a.host.toLowerCase() === b.host.toLowerCase() &&
    (a.port ?? 5060) === (b.port ?? 5060)
  );
}

/**
 * Stop refreshing and remove the binding (Expires: 0, RFC 3261 §10.2.2) so the registrar does
 * not keep ringing a socket that is about to close; waits at most `waitMs`.
 */
export async function releaseRegistration(reg: RegistrationClient | undefined, waitMs = 1000): Promise<void> {
  if (!reg) return;
  reg.stop();
  if (reg.granted > 0) {
    await Promise.race([reg.unregister().catch(() => undefined), new Promise((r) => setTimeout(r, waitMs).unref())]);
  }
}
