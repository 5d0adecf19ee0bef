/**
 * One call through the reference PBX, which is a back-to-back user agent (RFC 3261 §6, "B2BUA"):
 * the incoming leg (a {@link UasCall}) and the outgoing leg (a {@link UacCall}) the PBX dials
 * for it, each its own dialog with its own Call-ID and tags. Provisional and final responses
 * of the outgoing leg go back on the incoming one (SDP passed through, no media anchoring),
 * a 401/407 from the far end is answered with the trunk's credentials, CANCEL and BYE are
 * carried across, and a ring timer gives up on a callee who does not answer.
 */
import { authorizationFor, type DigestCredentialsSource } from '../auth/authenticating-client.js';
import type { UacCall } from '../dialog/uac-call.js';
import type { UasCall } from '../dialog/uas-call.js';
import type { UserAgent } from '../dialog/user-agent.js';
import type { SipMessage } from '../sip/message.js';
import type { Address } from '../transport/transport.js';

/** Where the outgoing leg goes and as whom. */
export interface BridgeTarget {
  /** Request-URI of the outgoing INVITE. */
  uri: string;
  /** Where to send it when not the Request-URI's host:port (the trunk's outbound proxy). */
  dest?: Address;
  /** From of the outgoing leg (a tag is added). */
  from: string;
  to: string;
  /** Answer the far end's 401/407 with these (the trunk account); none for a phone. */
  credentials?: DigestCredentialsSource;
  /** Give up (CANCEL the outgoing leg, 480 on the incoming one) after this long without a 2xx. */
  ringSeconds: number;
}

/** The PBX-wide switches and the hook a bridge needs. */
export interface BridgeOptions {
  /** Fault `drop-bye`: answer a BYE but do not carry it to the other leg. */
  dropBye: boolean;
  /** Fault `no-auth-retry`: do not answer the far end's challenge; the caller gets 503. */
  noAuthRetry: boolean;
  /** Fault `no-cancel-relay`: a CANCEL from the caller is answered but the callee keeps ringing. */
  noCancelRelay: boolean;
  /** Fault `wrong-busy-code`: the callee's 486 Busy Here reaches the caller as 480. */
  wrongBusyCode: boolean;
  /** Called once when the call ends for the PBX (its channel is free again). */
  onEnd(bridge: Bridge): void;
}

/** Why a call ended, for tests and logs. */
export type BridgeEnd =
  | 'caller-cancelled'
  | 'caller-hung-up'
  | 'callee-hung-up'
  | 'callee-refused'
  | 'no-answer'
  | 'callee-unreachable'
  | 'auth-failed'
  | 'ack-timeout'
  | 'pbx-stopped'
  | 'pbx-error';

/** An in-dialog wait that ends only when the leg is over (or the PBX stops and closes inboxes). */
const PUMP_WAIT_MS = 3_600_000;

const noop = (): void => undefined;

export class Bridge {
  /** The call that came in (from a phone or from the carrier). */
  readonly a: UasCall;
  /** The call the PBX placed for it. */
  b: UacCall | undefined = undefined;
  ended = false;
  endReason: BridgeEnd | undefined = undefined;
  /** True once the outgoing leg answered and the 2xx went back on the incoming leg. */
  connected = false;
  /** What went wrong inside the relaying, when it did (a bug: reported, not thrown). */
  crash: Error | undefined = undefined;
  private ringTimer: NodeJS.Timeout | undefined = undefined;
  private challengesAnswered = 0;
  private target: BridgeTarget | undefined = undefined;
  private closed = false;

  constructor(
    private readonly ua: UserAgent,
    a: UasCall,
    private readonly opts: BridgeOptions,
  ) {
    this.a = a;
  }

  /** Place the outgoing leg with the incoming leg's SDP offer and start relaying. */
  dial(target: BridgeTarget): void {
    this.target = target;
    const offer = this.a.invite;
    const body = offer.body.length > 0 ? offer.body : undefined;
    this.b = this.ua.invite(target.uri, {
      dest: target.dest,
      from: target.from,
      to: target.to,
      body,
      contentType: body ? (offer.get('content-type') ?? 'application/sdp') : undefined,
    });
    this.ringTimer = setTimeout(() => this.noAnswer(), target.ringSeconds * 1000);
    this.ringTimer.unref();
    void this.pumpA().catch((err: unknown) => this.crashed(err));
    void this.pumpB(this.b).catch((err: unknown) => this.crashed(err));
  }

  /** The PBX is stopping: hang up both legs (best effort) and stop waiting on them. */
  close(): void {
    if (this.closed) return;
    const a = this.a;
    const b = this.b;
    if (!a.tx.answered) a.respond(503, { reason: 'Service Unavailable (PBX stopping)' });
    else if (a.state === 'answered' || a.state === 'established') this.byeA();
    if (b) {
      if (b.state === 'calling' || b.state === 'early') this.cancelB();
      else if (b.state === 'established') this.byeB(b);
    }
    this.end('pbx-stopped');
    this.closed = true;
    a.inbox.close();
    b?.inbox.close();
  }

  // ---- the incoming leg ----

  private async pumpA(): Promise<void> {
    const a = this.a;
    for (;;) {
      const waitStart = Date.now();
      const m = await a.inbox.next(undefined, PUMP_WAIT_MS);
      if (this.closed) return;
      if (m) this.onARequest(m);
      else if (a.ackTimedOut) this.onAckTimeout();
      else if (closedEarly(waitStart)) return;
      // The state may already be ahead of what was read (several messages in one TCP read).
      if (this.aDone() && a.inbox.pending.length === 0) return;
    }
  }

  private aDone(): boolean {
    const s = this.a.state;
    return s === 'rejected' || s === 'cancelled' || s === 'terminated' || this.a.ackTimedOut;
  }

  private onARequest(req: SipMessage): void {
    switch (req.method) {
      case 'CANCEL':
        // RFC 3261 §9.2: the core already answered 200 and 487. Like a proxy (§16.10), the
        // PBX CANCELs its own pending outgoing leg.
        if (!this.opts.noCancelRelay) this.cancelB();
        this.end('caller-cancelled');
        return;
      case 'BYE': {
        // RFC 3261 §15.1.2: the core answered 200; the other leg gets its own BYE.
        const b = this.b;
        if (!this.opts.dropBye && b && b.state === 'established') this.byeB(b);
        this.end('caller-hung-up');
        return;
      }
      default:
        return; // ACK, INFO, re-INVITE: answered by the core, nothing to carry across
    }
  }

  /** RFC 3261 §13.3.1.4: our 2xx got no ACK; the UasCall sent BYE, the other leg gets one too. */
  private onAckTimeout(): void {
    const b = this.b;
    if (b && b.state === 'established') this.byeB(b);
    this.end('ack-timeout');
  }

  // ---- the outgoing leg ----

  private async pumpB(b: UacCall): Promise<void> {
    for (;;) {
      const waitStart = Date.now();
      const m = await b.inbox.next(undefined, PUMP_WAIT_MS);
      if (this.closed) return;
      if (m) {
        if (m.isResponse) this.onBResponse(b, m);
        else this.onBRequest(b, m);
      } else if (b.failure) {
        this.finish(b.failure === 'timeout' ? 408 : 503, b.failureMessage, 'callee-unreachable');
      } else if (closedEarly(waitStart)) {
        return;
      }
      if ((b.state === 'failed' || b.state === 'terminated' || b.failure) && b.inbox.pending.length === 0) return;
    }
  }

  private onBResponse(b: UacCall, res: SipMessage): void {
    const status = res.status;
    if (status === 100) return; // hop by hop: the incoming leg got its own 100
    if (status < 200) {
      if (!this.ended && !this.a.tx.answered) this.a.respond(status, { reason: res.reason, ...sdpOf(res) });
      return;
    }
    if (status < 300) {
      if (this.ended || this.a.tx.answered) {
        // Answered after the caller gave up (CANCEL / 2xx race, RFC 3261 §9.1): the core ACKed it; end it.
        this.byeB(b);
        return;
      }
      this.clearRing();
      this.a.respond(200, { ...sdpOf(res) });
      this.connected = true;
      return;
    }
    if (this.ended) return; // e.g. the 487 for our own CANCEL
    if (status === 401 || status === 407) {
      // RFC 3261 §22.2: re-send with credentials, once; a second challenge means they were refused.
      const creds = this.target?.credentials;
      if (!this.opts.noAuthRetry && creds && this.challengesAnswered === 0) {
        const auth = authorizationFor(res, b.invite, creds);
        if (auth) {
          this.challengesAnswered++;
          b.resend([auth]);
          return;
        }
      }
      this.finish(503, 'Service Unavailable (the trunk did not accept the call)', 'auth-failed');
      return;
    }
    if (status === 486 && this.opts.wrongBusyCode) {
      this.finish(480, 'Temporarily Unavailable', 'callee-refused');
      return;
    }
    this.finish(status, res.reason, 'callee-refused');
  }

  private onBRequest(_b: UacCall, req: SipMessage): void {
    if (req.method !== 'BYE') return;
    const a = this.a;
    if (!this.opts.dropBye && (a.state === 'answered' || a.state === 'established')) this.byeA();
    this.end('callee-hung-up');
  }

  // ---- endings ----

  /** A bug in the relaying: refuse the caller (500) rather than leave the call hanging. */
  private crashed(err: unknown): void {
    this.crash = err instanceof Error ? err : new Error(String(err));
    try {
      if (!this.a.tx.answered) this.a.respond(500, { reason: 'Server Internal Error' });
    } finally {
      this.end('pbx-error');
    }
  }

  private noAnswer(): void {
    this.ringTimer = undefined;
    if (this.ended || this.connected) return;
    this.cancelB();
    // Asterisk's NOANSWER dial status maps to 480 Temporarily Unavailable.
    this.finish(480, 'Temporarily Unavailable (no answer)', 'no-answer');
  }

  /** Refuse the incoming leg (when it is still unanswered) and end the call. */
  private finish(status: number, reason: string, why: BridgeEnd): void {
    if (!this.a.tx.answered) {
      this.a.respond(status, { reason: reason || undefined });
      this.a.inbox.close(); // nothing more comes on a refused leg: let its pump end
    }
    this.end(why);
  }

  /** BYE on the incoming leg (RFC 3261 §15.1.1); its pump has nothing left to wait for. */
  private byeA(): void {
    void this.a.bye().catch(noop);
    this.a.inbox.close();
  }

  /** BYE on the outgoing leg. */
  private byeB(b: UacCall): void {
    void b.bye().catch(noop);
    b.inbox.close();
  }

  private cancelB(): void {
    const b = this.b;
    if (!b || (b.state !== 'calling' && b.state !== 'early')) return;
    try {
      b.cancel(); // held back until a provisional response when none came yet (RFC 3261 §9.1)
    } catch {
      // already answered or failed: the pump sees the final response
    }
  }

  private clearRing(): void {
    if (this.ringTimer) clearTimeout(this.ringTimer);
    this.ringTimer = undefined;
  }

  private end(why: BridgeEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = why;
    this.clearRing();
    this.opts.onEnd(this);
  }
}

/** An empty wait that ended long before its timeout: the inbox was closed, nothing more will come. */
function closedEarly(waitStart: number): boolean {
  return Date.now() - waitStart < PUMP_WAIT_MS - 60_000;
}

/** The body of a response to relay, with its Content-Type. */
function sdpOf(res: SipMessage): { body?: Buffer; contentType?: string } {
  if (res.body.length === 0) return {};
  return { body: res.body, contentType: res.get('content-type') ?? 'application/sdp' };
}
