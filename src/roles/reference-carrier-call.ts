/**
 * One call through the reference carrier, bridged back to back (RFC 7092 §3.1, a signaling-only
 * B2BUA): the caller's INVITE ends at our UAS (the A leg) and a new INVITE goes from our UAC to
 * the callee's registered contact (the B leg). Like the proxy in sut/kamailio, the B leg keeps
 * the caller's From (tag included), To, Call-ID and SDP, so the callee sees the call the caller
 * placed; serial forking for call forwarding reuses them, as seed 003's proxy does.
 *
 * What the caller hears:
 * - the callee's 180 / 183 (with SDP) and its 200 (with SDP), each relayed at once;
 * - a callee's final failure as it is (486 Busy Here …), unless forwarding takes over;
 * - `noAnswerCode` when nobody answers within the ring time: the B leg is CANCELled first
 *   (RFC 3261 §9.1, Kamailio's fr_inv_timer);
 * - forwarding (RFC 5806): busy (486) or no answer (ring time over, or 408/480 from the callee)
 *   of the forwarding user sends a new B leg to the target with
 *   `Diversion: <sip:USER@domain>;reason=user-busy|no-answer`. Once per call, like kamailio.cfg.
 *
 * BYE and CANCEL are answered by the UA core (RFC 3261 §15.1.2, §9.2) and relayed to the other
 * leg. The two legs are watched through their inboxes; a call ends once (`finish`), which frees
 * its channel.
 */
import type { Inbox } from '../dialog/inbox.js';
import type { UasCall } from '../dialog/uas-call.js';
import { UacCall } from '../dialog/uac-call.js';
import type { UserAgent } from '../dialog/user-agent.js';
import type { SipMessage } from '../sip/message.js';

/** Wait this long per inbox read; a call that lasts longer just reads again. */
const READ_MS = 3_600_000;

/**
 * End-to-end headers copied from the caller's INVITE to the callee's (RFC 7092 §3.1 leaves
 * the choice to the B2BUA; these are the ones a carrier passes on). Via, Route, Contact,
 * credentials, Max-Forwards and Content-* are the B2BUA's own.
 */
const COPIED = new Set(['alert-info', 'subject', 'allow', 'supported', 'diversion', 'p-asserted-identity', 'privacy', 'user-agent']);

/** What a bridged call needs from the carrier that owns it. */
export interface BridgeHost {
  readonly ua: UserAgent;
  /** Domain written in Diversion (the realm without stray spaces). */
  readonly domain: string;
  /** Ring time of an ordinary callee, ms. */
  readonly noAnswerMs: number;
  /** What the caller gets when nobody answers (408 or 480). */
  readonly noAnswerCode: number;
  /** Fault wrong-busy-code: relay a callee's 486 as 480. */
  readonly wrongBusyCode: boolean;
  readonly forward: {
    busy?: { from: string; to: string };
    noAnswer?: { from: string; to: string; afterSeconds: number };
  };
  /** Forward without the Diversion header (fault `no-diversion`). */
  readonly omitDiversion: boolean;
  /** Answer BYE with 200 but do not relay it (fault `drop-bye`). */
  readonly dropBye: boolean;
  /** The current contact URI of a user, undefined when not registered. */
  lookup(user: string): string | undefined;
  /** The call ended (answered and hung up, failed or cancelled): free its channel. */
  ended(call: BridgedCall): void;
  /** True once the carrier is stopping: leave every loop. */
  readonly stopping: boolean;
}

/**
 * The next message of an inbox: `'idle'` when none came within {@link READ_MS} (read again),
 * `'closed'` when the inbox was closed (it then answers at once, so a loop must stop).
 */
async function read(inbox: Inbox): Promise<SipMessage | 'idle' | 'closed'> {
  const started = Date.now();
  const m = await inbox.next(undefined, READ_MS);
  if (m) return m;
  return Date.now() - started >= READ_MS - 1000 ? 'idle' : 'closed';
}

/** Reason phrases for the no-answer code (as kamailio.cfg writes them). */
function noAnswerReason(code: number): string | undefined {
  return code === 408 ? 'Request Timeout' : code === 480 ? 'Temporarily Unavailable' : undefined;
}

export class BridgedCall {
  /** The caller's leg (our UAS). */
  readonly caller: UasCall;
  /** The account the call is counted against (channel limit). */
  readonly account: string;
  /** The user part of the Request-URI the caller dialled. */
  readonly dialled: string;
  /** Every B leg sent, in order (the first callee, then the forward target). */
  readonly legs: UacCall[] = [];
  /** Set once the call was forwarded, with the Diversion reason. */
  forwardedFor: 'user-busy' | 'no-answer' | undefined = undefined;
  /** The B leg that counts now; a superseded one (CANCELled for no answer) is ignored. */
  private leg: UacCall | undefined = undefined;
  private ringTimer: NodeJS.Timeout | undefined = undefined;
  private done = false;

  constructor(
    private readonly host: BridgeHost,
    caller: UasCall,
    account: string,
    dialled: string,
  ) {
    this.caller = caller;
    this.account = account;
    this.dialled = dialled;
  }

  /** True once the call has ended and its channel is free. */
  get ended(): boolean {
    return this.done;
  }

  /** Send the first B leg to `contact` and start watching both legs. */
  start(contact: string): void {
    const fwd = this.host.forward.noAnswer;
    const ringMs = fwd && fwd.from === this.dialled ? fwd.afterSeconds * 1000 : this.host.noAnswerMs;
    this.dial(contact, undefined, ringMs);
    this.watchCaller().catch((err: unknown) => this.crashed(err));
  }

  /** Stop timers and reads (the carrier is stopping). */
  abandon(): void {
    this.finish();
  }

  // ---- B legs ----

  private dial(contact: string, diversion: string | undefined, ringMs: number): void {
    const ua = this.host.ua;
    const inv = this.caller.invite;
    const headers: Array<[string, string]> = [];
    // RFC 5806 §4: the newest diversion is the first Diversion header.
    if (diversion !== undefined && !this.host.omitDiversion) headers.push(['Diversion', diversion]);
    for (const h of inv.headers) if (COPIED.has(h.key)) headers.push([h.name, h.value]);
    const req = ua.buildRequest('INVITE', contact, {
      from: inv.get('from'),
      to: inv.get('to'),
      callId: inv.callId,
      cseq: inv.cseq.seq + this.legs.length,
      headers,
      body: inv.body.length > 0 ? inv.body : undefined,
      contentType: inv.body.length > 0 ? (inv.get('content-type') ?? 'application/sdp') : undefined,
    });
    // RFC 3261 §16.6 step 3 (a proxy's rule, kept so loops still end): one hop fewer.
    const mf = Number(inv.get('max-forwards') ?? '70');
    req.set('Max-Forwards', String(Number.isFinite(mf) ? Math.max(0, mf - 1) : 69));
    const leg = new UacCall(ua, req, ua.hopFor(contact));
    leg.start();
    this.legs.push(leg);
    this.leg = leg;
    this.armRingTimer(ringMs);
    this.watchCallee(leg).catch((err: unknown) => this.crashed(err));
  }

  private armRingTimer(ms: number): void {
    if (this.ringTimer) clearTimeout(this.ringTimer);
    this.ringTimer = setTimeout(() => this.ringTimeout(), ms);
    this.ringTimer.unref();
  }

  private stopRingTimer(): void {
    if (this.ringTimer) clearTimeout(this.ringTimer);
    this.ringTimer = undefined;
  }

  /** Read the B leg's responses and in-dialog requests until it is over. */
  private async watchCallee(leg: UacCall): Promise<void> {
    for (;;) {
      const m = await read(leg.inbox);
      if (this.host.stopping) return;
      if (m === 'idle') continue;
      if (m === 'closed') {
        // Timer B or a transport error closed it (or `finish` did).
        if (leg.failure) this.legFailed(leg, undefined);
        return;
      }
      if (m.isResponse) {
        if (m.status < 200) this.legProvisional(leg, m);
        else if (m.status < 300) {
          if (!this.legAnswered(leg, m)) return;
        } else {
          this.legFailed(leg, m);
          return;
        }
      } else if (m.method === 'BYE') {
        this.calleeHungUp(leg);
        return;
      }
    }
  }

  private legProvisional(leg: UacCall, res: SipMessage): void {
    if (leg !== this.leg || this.caller.tx.answered || res.status === 100) return;
    const body = res.body.length > 0 ? res.body : undefined;
    this.caller.respond(res.status, { reason: res.reason, body, contentType: body ? res.get('content-type') : undefined });
  }

  /** The callee answered: answer the caller with its SDP. False when the leg was ended instead. */
  private legAnswered(leg: UacCall, res: SipMessage): boolean {
    if (leg !== this.leg || this.done || this.caller.tx.answered) {
      // Answered too late (CANCELled for no answer, or the caller gave up): end it (RFC 3261 §15).
      if (leg.state === 'established') void leg.bye().catch(() => undefined);
      return false;
    }
    this.stopRingTimer();
    const body = res.body.length > 0 ? res.body : undefined;
    this.caller.respond(200, { body, contentType: body ? res.get('content-type') : undefined });
    return true;
  }

  /** A final failure (or Timer B / a transport error when `res` is undefined) of a B leg. */
  private legFailed(leg: UacCall, res: SipMessage | undefined): void {
    if (leg !== this.leg || this.done) return;
    this.stopRingTimer();
    this.leg = undefined;
    if (this.caller.tx.answered) {
      this.finish();
      return;
    }
    const timedOut = res === undefined && leg.failure === 'timeout';
    const status = res?.status ?? (timedOut ? 408 : 503);
    const noAnswer = timedOut || status === 408 || status === 480;
    if (this.forwardedFor === undefined) {
      const { busy, noAnswer: na } = this.host.forward;
      if (status === 486 && busy && busy.from === this.dialled && this.forwardTo(busy.to, 'user-busy')) return;
      if (noAnswer && na && na.from === this.dialled && this.forwardTo(na.to, 'no-answer')) return;
    }
    if (timedOut) {
      this.caller.respond(this.host.noAnswerCode, { reason: noAnswerReason(this.host.noAnswerCode) });
    } else if (res) {
      // RFC 3261 §16.7 step 6 (what a proxy sends back): the final response as it is.
      const contacts: Array<[string, string]> = res.status < 400 ? res.getAll('contact').map((c) => ['Contact', c]) : [];
      if (status === 486 && this.host.wrongBusyCode) this.caller.respond(480, { reason: 'Temporarily Unavailable' });
      else this.caller.respond(status, { reason: res.reason, headers: contacts });
    } else {
      this.caller.respond(503, { reason: 'Service Unavailable (callee unreachable)' });
    }
    this.finish();
  }

  /** Nobody answered within the ring time: CANCEL the callee, then forward or give up. */
  private ringTimeout(): void {
    this.ringTimer = undefined;
    const leg = this.leg;
    if (this.done || !leg || this.caller.tx.answered) return;
    this.leg = undefined;
    if (leg.state === 'calling' || leg.state === 'early') leg.cancel();
    const na = this.host.forward.noAnswer;
    if (this.forwardedFor === undefined && na && na.from === this.dialled && this.forwardTo(na.to, 'no-answer')) return;
    this.caller.respond(this.host.noAnswerCode, { reason: noAnswerReason(this.host.noAnswerCode) });
    this.finish();
  }

  /** Serial forking to `user` with a Diversion header; false when `user` is not registered. */
  private forwardTo(user: string, reason: 'user-busy' | 'no-answer'): boolean {
    const contact = this.host.lookup(user);
    if (contact === undefined) return false;
    this.forwardedFor = reason;
    this.dial(contact, `<sip:${this.dialled}@${this.host.domain}>;reason=${reason}`, this.host.noAnswerMs);
    return true;
  }

  /** The callee hung up: BYE to the caller (RFC 3261 §15.1.1), unless the fault drops it. */
  private calleeHungUp(leg: UacCall): void {
    if (leg !== this.leg || this.done) return;
    const s = this.caller.state;
    if (!this.host.dropBye && (s === 'answered' || s === 'established')) void this.caller.bye().catch(() => undefined);
    this.finish();
  }

  // ---- the A leg ----

  /** Read the caller's CANCEL, ACK and BYE until the call is over. */
  private async watchCaller(): Promise<void> {
    const caller = this.caller;
    for (;;) {
      const m = await read(caller.inbox);
      if (this.host.stopping || this.done) return;
      if (m === 'idle') continue;
      if (m === 'closed') {
        // RFC 3261 §13.3.1.4: no ACK for our 2xx within 64*T1; the UAS core sent BYE. End the B leg too.
        this.endLeg();
        this.finish();
        return;
      }
      if (m.method === 'CANCEL') {
        // The UA core answered 200 and 487 (RFC 3261 §9.2); the callee gets its CANCEL.
        this.endLeg();
        this.finish();
        return;
      }
      if (m.method === 'BYE') {
        if (!this.host.dropBye) this.endLeg();
        else this.stopRingTimer();
        if (!caller.tx.answered) caller.respond(487);
        this.finish();
        return;
      }
    }
  }

  /** CANCEL a ringing B leg, BYE an answered one. */
  private endLeg(): void {
    const leg = this.leg;
    this.stopRingTimer();
    if (!leg) return;
    if (leg.state === 'calling' || leg.state === 'early') leg.cancel();
    else if (leg.state === 'established') void leg.bye().catch(() => undefined);
  }

  /** A bug in this call's handling: answer 500 if still possible, end the B leg, free the channel. */
  private crashed(err: unknown): void {
    try {
      if (!this.caller.tx.answered) {
        const why = (err instanceof Error ? err.message : String(err)).replace(/[\r\n]+/g, ' ');
        this.caller.respond(500, { reason: `Server Internal Error (${why})` });
      }
      this.endLeg();
    } catch {
      // already failing: the channel is freed below regardless
    }
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.stopRingTimer();
    this.host.ended(this);
    this.caller.inbox.close();
    for (const leg of this.legs) leg.inbox.close();
  }
}
