/**
 * An incoming INVITE as seen by the UAS core (RFC 3261 §13.3): responses with one To tag,
 * the dialog from the first 1xx-with-tag or 2xx (§12.1.1), the 2xx retransmitted until its ACK
 * arrives (§13.3.1.4), CANCEL handling (§9.2), BYE (§15.1.1).
 */
import { StateError } from '../errors.js';
import { createResponse } from '../sip/builders.js';
import { newTag } from '../sip/ids.js';
import type { SipMessage } from '../sip/message.js';
import type { InviteServerTransaction } from '../transaction/server-transaction.js';
import type { TimerHandle, TimerTarget } from '../transaction/timer-queue.js';
import type { CallHost } from './call-host.js';
import type { ClientOutcome, RequestOptions } from './client-outcome.js';
import { Dialog } from './dialog.js';
import { Inbox } from './inbox.js';

export type UasCallState = 'ringing' | 'answered' | 'established' | 'rejected' | 'cancelled' | 'terminated';

/** Parts of a response the caller may set. */
export interface ResponseOptions extends RequestOptions {
  reason?: string;
}

const RETRANSMIT_2XX = 110;
const GIVE_UP_2XX = 111;

export class UasCall implements TimerTarget {
  state: UasCallState = 'ringing';
  readonly invite: SipMessage;
  readonly tx: InviteServerTransaction;
  readonly toTag = newTag();
  dialog: Dialog | undefined = undefined;
  /** The 2xx sent, retransmitted until ACK. */
  private ok: Buffer | undefined = undefined;
  private interval: number;
  private retransmitTimer: TimerHandle | undefined = undefined;
  private giveUpTimer: TimerHandle | undefined = undefined;
  /** Every in-dialog request and the ACK land here. */
  readonly inbox: Inbox;
  /** The ACK for our 2xx, once it came. */
  ackRequest: SipMessage | undefined = undefined;
  /** Set when the ACK never came (64*T1 after the 2xx). */
  ackTimedOut = false;
  /** 2xx retransmissions sent because no ACK came yet. */
  okRetransmissions = 0;

  constructor(
    private readonly host: CallHost,
    invite: SipMessage,
    tx: InviteServerTransaction,
  ) {
    this.invite = invite;
    this.tx = tx;
    this.inbox = new Inbox(host.layer.queue);
    this.interval = host.layer.config.t1;
  }

  get callId(): string {
    return this.invite.callId;
  }

  /**
   * Send a response to the INVITE. 1xx (except 100) and 2xx carry our To tag and Contact and
   * create the dialog; a 2xx starts its retransmission until the ACK (RFC 3261 §13.3.1.4).
   */
  respond(status: number, opts: ResponseOptions = {}): SipMessage {
    if (this.tx.answered) throw new StateError('ERR_DIALOG_STATE', `INVITE already answered; cannot send ${status}`);
    const headers: Array<[string, string]> = [];
    if (status > 100 && status < 300) {
      // RFC 3261 §12.1.1: a dialog-creating response MUST copy the request's Record-Route.
      for (const rr of this.invite.headers) if (rr.key === 'record-route') headers.push([rr.name, rr.value]);
      headers.push(['Contact', this.host.contactFor(this.tx.hop)]);
    }
    if (opts.headers) headers.push(...opts.headers);
    const res = createResponse(this.invite, status, {
      reason: opts.reason,
      toTag: this.toTag,
      headers,
      body: opts.body,
      contentType: opts.contentType,
    });
    this.tx.respond(res);
    if (status >= 200) this.host.inviteAnswered(this);
    if (status > 100 && status < 300 && !this.dialog) {
      this.dialog = Dialog.fromRequest(this.invite, res, this.tx.hop);
      this.host.rememberDialog(this.dialog, this);
    }
    if (status >= 200 && status < 300) {
      this.state = 'answered';
      if (this.dialog) this.dialog.state = 'confirmed';
      this.ok = this.tx.lastSentBytes;
      if (!this.tx.hop.transport.reliable) {
        this.retransmitTimer = this.host.layer.queue.schedule(this, RETRANSMIT_2XX, this.interval);
      }
      this.giveUpTimer = this.host.layer.queue.schedule(this, GIVE_UP_2XX, 64 * this.host.layer.config.t1);
    } else if (status >= 300) {
      this.state = 'rejected';
      if (this.dialog) this.host.forgetDialog(this.dialog);
    }
    return res;
  }

  /** Wait for the ACK of our 2xx; undefined after `timeoutMs`. */
  waitAck(timeoutMs: number): Promise<SipMessage | undefined> {
    return this.inbox.next((m) => m.method === 'ACK', timeoutMs);
  }

  /** The next in-dialog request (BYE, INFO …), or undefined after `timeoutMs`. */
  nextRequest(timeoutMs: number, method?: string): Promise<SipMessage | undefined> {
    return this.inbox.next((m) => m.isRequest && (method === undefined || m.method === method), timeoutMs);
  }

  /** Send BYE in the dialog (RFC 3261 §15.1.1). */
  bye(opts: RequestOptions = {}): Promise<ClientOutcome> {
    const d = this.dialog;
    if (!d || (this.state !== 'established' && this.state !== 'answered')) {
      return Promise.reject(new StateError('ERR_DIALOG_STATE', `cannot send BYE: call is ${this.state}`));
    }
    this.stop2xx();
    const outcome = this.host.sendInDialog(d, 'BYE', opts);
    d.state = 'terminated';
    this.state = 'terminated';
    this.host.forgetDialog(d);
    return outcome;
  }

  /** The peer CANCELled before we answered (RFC 3261 §9.2): the core already sent 200 and 487. */
  onCancelled(cancel: SipMessage): void {
    this.state = 'cancelled';
    if (this.dialog) this.host.forgetDialog(this.dialog);
    this.inbox.push(cancel);
  }

  /** ACK or an in-dialog request from the peer (already answered by the core). */
  onDialogRequest(req: SipMessage): void {
    if (req.method === 'ACK') {
      if (this.ackRequest) return; // retransmitted ACK
      this.ackRequest = req;
      this.stop2xx();
      if (this.state === 'answered') this.state = 'established';
    } else if (req.method === 'BYE') {
      this.stop2xx();
      this.state = 'terminated';
    }
    this.inbox.push(req);
  }

  onTimer(kind: number): void {
    if (kind === RETRANSMIT_2XX && this.ok && !this.ackRequest) {
      // RFC 3261 §13.3.1.4: retransmit at T1, doubling up to T2, until the ACK.
      this.okRetransmissions++;
      this.host.layer.stats.retransmissionsSent++;
      this.host.layer.send(this.ok, this.tx.hop);
      this.interval = Math.min(this.interval * 2, this.host.layer.config.t2);
      this.retransmitTimer = this.host.layer.queue.schedule(this, RETRANSMIT_2XX, this.interval);
    } else if (kind === GIVE_UP_2XX && !this.ackRequest) {
      // RFC 3261 §13.3.1.4: no ACK within 64*T1 — the dialog SHOULD be ended with BYE.
      this.ackTimedOut = true;
      this.stop2xx();
      if (this.dialog && this.state === 'answered') {
        void this.bye().catch(() => undefined);
      }
      this.inbox.close();
    }
  }

  private stop2xx(): void {
    this.host.layer.queue.cancel(this.retransmitTimer);
    this.host.layer.queue.cancel(this.giveUpTimer);
    this.retransmitTimer = undefined;
    this.giveUpTimer = undefined;
  }
}
