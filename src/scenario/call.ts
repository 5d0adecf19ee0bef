/**
 * A call as scenarios and the TypeScript API see it: one handle over the UAC or UAS side of a
 * dialog, with `expect` (status or method, header/SDP assertions, captures), `respond`, `send`
 * in the dialog, `cancel`, `hangup`. Expectations that fail throw {@link ExpectationFailed}.
 */
import type { Inbox } from '../dialog/inbox.js';
import type { UacCall } from '../dialog/uac-call.js';
import type { UasCall } from '../dialog/uas-call.js';
import type { SipMessage } from '../sip/message.js';
import type { ClientTransaction } from '../transaction/client-transaction.js';
import type { ClientTransactionUser } from '../transaction/transaction-user.js';
import type { Hop } from '../transaction/transaction-host.js';
import { authorizationFor, type DigestCredentialsSource } from '../auth/authenticating-client.js';
import { ExpectationFailed } from './expectation.js';
import { applyCaptures, checkHeaders, checkSdp, describeMessage, describeStatusMatcher, matchStatus } from './matcher.js';
import type { Capture, HeaderAssertion, SdpAssertion, StatusMatcher } from './model.js';
import type { Party, ReplyOptions } from './party.js';
import type { Variables } from './variables.js';

/** Checks and captures applied to an expected message. */
export interface ExpectOptions {
  timeoutMs?: number;
  /** Optional: when the next message is something else, it stays unread and the expect passes. */
  optional?: boolean;
  headers?: HeaderAssertion[];
  sdp?: SdpAssertion;
  capture?: Capture[];
  /** Scope that receives captures (required when `capture` is given). */
  vars?: Variables;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Feeds the responses of an in-dialog request into the call's inbox (no closure per response). */
class InboxFeeder implements ClientTransactionUser {
  constructor(private readonly call: Call) {}
  onResponse(res: SipMessage, _tx: ClientTransaction): void {
    this.call.inbox.push(res);
  }
  onTimeout(tx: ClientTransaction): void {
    this.call.lastFailure = `no final response to ${tx.method} (timer ${tx.method === 'INVITE' ? 'B' : 'F'})`;
  }
  onTransportError(tx: ClientTransaction, err: Error): void {
    this.call.lastFailure = `transport error sending ${tx.method}: ${err.message}`;
  }
}

export class Call {
  readonly name: string;
  readonly party: Party;
  readonly uac: UacCall | undefined;
  readonly uas: UasCall | undefined;
  /** The last request received on this call (what `respond` answers by default). */
  lastRequest: SipMessage | undefined = undefined;
  /** Why the last request we sent got no response, if so. */
  lastFailure: string | undefined = undefined;
  /** The last out-of-dialog non-INVITE request sent on this call (re-sent with credentials on 401/407). */
  lastSent: SipMessage | undefined = undefined;
  /** Answer 401/407 automatically, as they arrive (the step's `auth: true`). */
  private autoAuthCreds: DigestCredentialsSource | undefined = undefined;

  get autoAuth(): DigestCredentialsSource | undefined {
    return this.autoAuthCreds;
  }

  /**
   * Answer the first 401 and the first 407 on this call the moment they arrive (RFC 3261 §22.2),
   * whether or not a step is waiting; a second challenge of the same kind means the credentials
   * were refused, and is left in the inbox as the answer.
   */
  set autoAuth(creds: DigestCredentialsSource | undefined) {
    this.autoAuthCreds = creds;
    this.inbox.intercept = creds
      ? (msg) => {
          if (msg.status !== 401 && msg.status !== 407) return false;
          if (this.challenges.some((c) => c.status === msg.status)) return false;
          return this.retryWithAuth(msg, creds);
        }
      : undefined;
  }
  /** Challenges answered on this call. */
  readonly challenges: SipMessage[] = [];
  private readonly feeder = new InboxFeeder(this);
  private readonly ownInbox: Inbox | undefined;

  /**
   * A call over an INVITE (uac / uas side), or — with only `inbox` — a non-INVITE exchange
   * (REGISTER, OPTIONS, raw bytes) whose responses and requests land in that inbox.
   */
  constructor(name: string, party: Party, side: { uac?: UacCall; uas?: UasCall; inbox?: Inbox; request?: SipMessage }) {
    this.name = name;
    this.party = party;
    this.uac = side.uac;
    this.uas = side.uas;
    this.ownInbox = side.inbox;
    if (side.uas) this.lastRequest = side.uas.invite;
    if (side.request) this.lastRequest = side.request;
  }

  get inbox(): Inbox {
    return this.uac?.inbox ?? this.uas?.inbox ?? this.ownInbox!;
  }

  get callId(): string {
    return this.uac?.callId ?? this.uas?.callId ?? this.lastSent?.callId ?? this.lastRequest?.callId ?? '';
  }

  /** Send an out-of-dialog non-INVITE request on this call; responses go to the inbox. */
  sendRequest(req: SipMessage, hop: Hop): ClientTransaction {
    this.lastSent = req;
    this.lastHop = hop;
    return this.party.ua.layer.sendRequest(req, hop, this.feeder);
  }

  /**
   * Answer a 401/407 (RFC 3261 §22.2): the INVITE again through the UAC, or the last request
   * again with CSeq + 1 and a new branch. Returns false when there is no usable challenge.
   */
  retryWithAuth(challenge: SipMessage, creds: DigestCredentialsSource): boolean {
    const original = this.uac ? this.uac.invite : this.lastSent;
    if (!original) return false;
    const auth = authorizationFor(challenge, original, creds);
    if (!auth) return false;
    this.challenges.push(challenge);
    if (this.uac) {
      this.uac.resend([auth]);
      return true;
    }
    const hop = this.lastHop ?? this.party.ua.hopFor(original.requestUri, this.party.target);
    const next = original.clone();
    next.set('CSeq', `${original.cseq.seq + 1} ${original.method}`);
    next.set('Via', this.party.ua.via(hop));
    next.set(auth[0], auth[1]);
    this.sendRequest(next, hop);
    return true;
  }

  /** Where `sendRequest` last sent (for retries). */
  lastHop: Hop | undefined = undefined;

  /** Received messages on this call, in order (responses and in-dialog requests). */
  get received(): readonly SipMessage[] {
    return this.inbox.received;
  }

  /**
   * Wait for a response whose status matches (`200`, `'2xx'`, `[180, 183]`). Provisional
   * responses not asked for are skipped; a different final response fails with both codes named.
   * An optional expect passes without a match when a final response or the timeout comes first;
   * what it did not ask for stays unread, in order, for the next expects.
   */
  async expect(status: number | string | StatusMatcher, opts: ExpectOptions = {}): Promise<SipMessage | undefined> {
    const matcher = toMatcher(status);
    const want = describeStatusMatcher(matcher);
    const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const wanted = opts.optional
      ? (m: SipMessage) => m.isResponse && (m.status >= 200 || matchStatus(m.status, matcher))
      : (m: SipMessage) => m.isResponse;
    for (;;) {
      const left = deadline - Date.now();
      const msg = left > 0 ? await this.inbox.next(wanted, left) : undefined;
      if (!msg) {
        if (opts.optional) return undefined;
        const why = this.uac?.failureMessage || this.lastFailure || `nothing within ${(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000} s`;
        throw new ExpectationFailed(`expected ${want}, received ${why}`, { expected: want, received: why });
      }
      if (matchStatus(msg.status, matcher)) {
        this.check(msg, opts);
        return msg;
      }
      if (opts.optional) {
        this.putBackInOrder(msg);
        return undefined;
      }
      // Skip provisionals nobody asked for; a final that does not match is a failure.
      if (msg.status < 200) continue;
      const got = describeMessage(msg);
      throw new ExpectationFailed(`expected ${want}, received ${got}`, { expected: want, received: got });
    }
  }

  /** Return `msg` to the unread messages, behind those still unread that arrived before it. */
  private putBackInOrder(msg: SipMessage): void {
    const received = this.inbox.received;
    const at = received.lastIndexOf(msg);
    const before = this.inbox.pending.filter((m) => received.indexOf(m) < at);
    if (before.length) this.inbox.discard((m) => before.includes(m));
    this.inbox.putBack(msg);
    for (let i = before.length - 1; i >= 0; i--) this.inbox.putBack(before[i]);
  }

  /**
   * Wait for an in-dialog request (ACK, BYE, INFO …) or a CANCEL on this call. An ACK not asked
   * for is passed over and stays unread (it completes the INVITE handshake, RFC 3261 §13.3.1.4,
   * and races with the peer's next request); any other request that comes first is a failure.
   */
  async expectRequest(method: string, opts: ExpectOptions = {}): Promise<SipMessage | undefined> {
    const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const msg = await this.inbox.next((m) => m.isRequest && (m.method !== 'ACK' || method === 'ACK'), timeout);
    if (!msg) {
      if (opts.optional) return undefined;
      throw new ExpectationFailed(`expected ${method}, received nothing within ${timeout / 1000} s`, { expected: method, received: 'nothing' });
    }
    if (msg.method !== method) {
      if (opts.optional) {
        this.inbox.putBack(msg);
        return undefined;
      }
      const got = describeMessage(msg);
      throw new ExpectationFailed(`expected ${method}, received ${got}`, { expected: method, received: got });
    }
    this.lastRequest = msg;
    this.check(msg, opts);
    return msg;
  }

  /** Check assertions on a message already received (used by expect and by party-level expects). */
  check(msg: SipMessage, opts: ExpectOptions): void {
    const bad =
      (opts.headers && opts.headers.length ? checkHeaders(msg, opts.headers) : undefined) ??
      (opts.sdp ? checkSdp(msg, opts.sdp) : undefined) ??
      (opts.capture && opts.capture.length && opts.vars ? applyCaptures(msg, opts.capture, opts.vars) : undefined);
    if (bad) {
      throw new ExpectationFailed(bad.message, { expected: bad.expected, received: bad.received, header: bad.header });
    }
  }

  /**
   * Respond to `request`, by default the last request received on this call: the INVITE (UAS
   * side) or a request the core left to us.
   */
  respond(status: number, opts: ReplyOptions = {}, request?: SipMessage): SipMessage {
    const req = request ?? this.lastRequest;
    if (this.uas && (!req || req === this.uas.invite)) return this.uas.respond(status, opts);
    if (!req) throw new Error(`call ${this.name} has received no request to answer`);
    return this.party.reply(req, status, opts);
  }

  /**
   * Send a request in the dialog (BYE, INFO, re-INVITE …); its responses arrive in the inbox.
   * An ACK (when the party's auto ACK is off) acknowledges the 2xx with the INVITE's CSeq number
   * (RFC 3261 §13.2.2.4) and has no transaction: the result is then undefined.
   */
  send(method: string, opts: ReplyOptions = {}): ClientTransaction | undefined {
    const side = this.uac ?? this.uas!;
    const dialog = side.dialog;
    if (!dialog) throw new ExpectationFailed(`cannot send ${method}: call ${this.name} has no dialog`, { expected: 'a dialog', received: 'none' });
    if (dialog.state === 'terminated' && method !== 'ACK') {
      // A BYE ended the dialog (RFC 3261 §15): the peer's, when the last request came from it.
      const by = this.received.some((m) => m.isRequest && m.method === 'BYE') ? 'the peer hung up' : 'it was hung up';
      throw new ExpectationFailed(`cannot send ${method}: call ${this.name} has ended (${by})`, { expected: 'a dialog', received: 'a terminated dialog' });
    }
    if (method === 'ACK' && this.uac) {
      this.uac.ack(opts.headers, opts.body, opts.contentType);
      return undefined;
    }
    const req = dialog.createRequest(method, { via: this.party.ua.via(dialog.hop), headers: opts.headers, body: opts.body, contentType: opts.contentType });
    if (method === 'BYE') {
      dialog.state = 'terminated';
      this.party.ua.forgetDialog(dialog);
      if (this.uac) this.uac.state = 'terminated';
      if (this.uas) this.uas.state = 'terminated';
    }
    return this.party.ua.layer.sendRequest(req, dialog.hop, this.feeder);
  }

  /** CANCEL the pending INVITE (RFC 3261 §9.1). */
  cancel(): void {
    if (!this.uac) throw new Error('only the calling side can CANCEL');
    this.uac.cancel();
  }

  /**
   * BYE and wait for its final response. Responses to earlier requests nobody read (a 200 to
   * the INVITE never expected) are passed over, so the answer is the BYE's own.
   */
  async hangup(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<SipMessage | undefined> {
    this.inbox.discard((m) => m.isResponse && m.cseq.method !== 'BYE');
    this.send('BYE');
    return this.expect('2xx', { timeoutMs });
  }

  /**
   * Best-effort cleanup at the end of a test or on Ctrl-C: BYE an established call, CANCEL a
   * ringing one, reject an unanswered incoming one. Never throws.
   */
  async end(waitMs = 2000): Promise<void> {
    try {
      let waitFor: ((m: SipMessage) => boolean) | undefined;
      if (this.uac) {
        if (this.uac.state === 'established') {
          this.send('BYE');
          waitFor = (m) => m.isResponse && m.cseq.method === 'BYE' && m.status >= 200;
        } else if (this.uac.state === 'early' || this.uac.state === 'calling') {
          this.uac.cancel();
          waitFor = (m) => m.isResponse && m.cseq.method === 'INVITE' && m.status >= 200;
        }
      } else if (this.uas) {
        if (this.uas.state === 'established' || this.uas.state === 'answered') {
          this.send('BYE');
          waitFor = (m) => m.isResponse && m.cseq.method === 'BYE' && m.status >= 200;
        } else if (this.uas.state === 'ringing' && !this.uas.tx.answered) this.uas.respond(480);
      }
      // Wait (briefly) for the answer, so the peer has really ended the call before the socket goes.
      if (waitFor) await this.inbox.next(waitFor, waitMs);
    } catch {
      // cleanup is best effort
    }
  }
}

/** Accept 200, '2xx', '486', [180, 183]. */
function toMatcher(status: number | string | StatusMatcher): StatusMatcher {
  if (Array.isArray(status)) return status;
  if (typeof status === 'number') return [status];
  if (/^\d{3}$/.test(status)) return [Number(status)];
  return [status as StatusMatcher[number]];
}

