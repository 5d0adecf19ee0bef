/**
 * An outgoing INVITE and the dialog(s) it creates (RFC 3261 §13.2, §12.1.2): provisional and
 * final responses into the inbox, the ACK for a 2xx sent by the core (§13.2.2.4) and re-sent
 * for each 2xx retransmission, CANCEL (§9.1), BYE (§15.1.1), re-sending with credentials.
 */
import { StateError } from '../errors.js';
import { createCancel, createRequest } from '../sip/builders.js';
import type { SipMessage } from '../sip/message.js';
import type { ClientTransaction } from '../transaction/client-transaction.js';
import type { Hop } from '../transaction/transaction-host.js';
import type { ClientTransactionUser } from '../transaction/transaction-user.js';
import { Dialog } from './dialog.js';
import { Inbox } from './inbox.js';
import type { CallHost } from './call-host.js';
import type { ClientOutcome, RequestOptions } from './client-outcome.js';

export type UacCallState = 'calling' | 'early' | 'established' | 'failed' | 'terminated';

export class UacCall implements ClientTransactionUser {
  state: UacCallState = 'calling';
  /** The INVITE most recently sent (a retry with credentials replaces it). */
  invite: SipMessage;
  tx: ClientTransaction | undefined = undefined;
  /** Confirmed dialog after a 2xx. */
  dialog: Dialog | undefined = undefined;
  /** Final response of the current INVITE, or undefined while pending / after a timeout. */
  final: SipMessage | undefined = undefined;
  /** 'timeout' (Timer B) or 'transport' when the INVITE failed without a response. */
  failure: 'timeout' | 'transport' | undefined = undefined;
  failureMessage = '';
  readonly inbox: Inbox;
  /** The ACK bytes sent for the 2xx, re-sent on each retransmitted 2xx (RFC 3261 §13.2.2.4). */
  private ackBytes: Buffer | undefined = undefined;
  private cancelWanted = false;
  /** To tags of other forks that answered 2xx (ACKed and sent BYE). */
  private readonly forked = new Set<string>();
  private readonly byeSentTo = new Set<string>();
  private readonly hop: Hop;
  private readonly host: CallHost;
  private readonly autoAck: boolean;

  constructor(host: CallHost, invite: SipMessage, hop: Hop, opts: { autoAck?: boolean } = {}) {
    this.host = host;
    this.invite = invite;
    this.hop = hop;
    this.inbox = new Inbox(host.layer.queue);
    this.autoAck = opts.autoAck ?? true;
  }

  get callId(): string {
    return this.invite.callId;
  }

  /** Send the INVITE (called once by the UA). */
  start(): void {
    this.tx = this.host.layer.sendRequest(this.invite, this.hop, this);
  }

  /**
   * Send the INVITE again with extra headers (e.g. Proxy-Authorization after a 407): same
   * Call-ID and From tag, CSeq + 1, new branch (RFC 3261 §22.2, seen in the seed trace 102 → 103).
   */
  resend(extraHeaders: Array<[string, string]>): void {
    const next = this.invite.clone();
    next.set('CSeq', `${this.invite.cseq.seq + 1} INVITE`);
    next.set('Via', this.host.via(this.hop));
    for (const [name, value] of extraHeaders) next.set(name, value);
    this.invite = next;
    this.final = undefined;
    this.failure = undefined;
    this.state = 'calling';
    this.start();
  }

  /** The next response (any, or matching `status`/class), or undefined after `timeoutMs`. */
  nextResponse(timeoutMs: number, filter?: (res: SipMessage) => boolean): Promise<SipMessage | undefined> {
    return this.inbox.next((m) => m.isResponse && (filter ? filter(m) : true), timeoutMs);
  }

  /** The final response to the current INVITE (provisionals are skipped), or undefined on timeout. */
  async waitFinal(timeoutMs: number): Promise<SipMessage | undefined> {
    if (this.final) return this.final;
    const res = await this.inbox.next((m) => m.isResponse && m.status >= 200 && m.cseq.seq === this.invite.cseq.seq, timeoutMs);
    return res;
  }

  /** RFC 3261 §9.1: CANCEL the INVITE; held back until a provisional response has arrived. */
  cancel(): void {
    if (this.state !== 'calling' && this.state !== 'early') {
      throw new StateError('ERR_DIALOG_STATE', `cannot CANCEL a call that is ${this.state}`);
    }
    if (this.state === 'calling' && !this.host.cancelBeforeProvisional) {
      this.cancelWanted = true;
      return;
    }
    this.sendCancel();
  }

  /** Send BYE in the confirmed dialog (RFC 3261 §15.1.1); resolves with the outcome. */
  bye(opts: RequestOptions = {}): Promise<ClientOutcome> {
    const d = this.dialog;
    if (!d || this.state !== 'established') {
      return Promise.reject(new StateError('ERR_DIALOG_STATE', `cannot send BYE: call is ${this.state}`));
    }
    const outcome = this.host.sendInDialog(d, 'BYE', opts);
    d.state = 'terminated';
    this.state = 'terminated';
    this.host.forgetDialog(d);
    return outcome;
  }

  /** Send the ACK for the 2xx by hand (when created with autoAck false). */
  ack(headers: Array<[string, string]> = [], body?: Buffer | string, contentType?: string): void {
    const d = this.dialog;
    if (!d || !this.final) throw new StateError('ERR_DIALOG_STATE', 'no 2xx to acknowledge');
    const ack = d.createRequest('ACK', { via: this.host.via(d.hop), cseq: this.invite.cseq.seq, headers, body, contentType });
    this.ackBytes = this.host.layer.sendStateless(ack, d.hop);
  }

  // ---- ClientTransactionUser ----

  onResponse(res: SipMessage, _tx: ClientTransaction): void {
    const s = res.status;
    if (s < 200) {
      if (this.state === 'calling') this.state = 'early';
      this.inbox.push(res);
      if (this.cancelWanted) {
        this.cancelWanted = false;
        this.sendCancel();
      }
      return;
    }
    if (s < 300) {
      if (this.dialog && this.final && this.final.status < 300) {
        if (res.toTag === this.dialog.remoteTag) {
          // Retransmitted 2xx: the ACK goes again (RFC 3261 §13.2.2.4); not a new event.
          if (this.ackBytes) this.host.layer.send(this.ackBytes, this.dialog.hop);
        } else {
          this.endForkedDialog(res);
        }
        return;
      }
      this.final = res;
      this.state = 'established';
      this.dialog = Dialog.fromResponse(this.invite, res, this.hop);
      this.host.rememberDialog(this.dialog, this);
      if (this.autoAck) this.ack();
      this.inbox.push(res);
      return;
    }
    this.final = res;
    this.state = 'failed';
    this.inbox.push(res);
  }

  onTimeout(_tx: ClientTransaction): void {
    this.state = 'failed';
    this.failure = 'timeout';
    this.failureMessage = `no final response to INVITE within Timer B (${this.host.layer.timerValues(this.hop.transport.reliable).B / 1000} s)`;
    this.inbox.close();
  }

  onTransportError(_tx: ClientTransaction, err: Error): void {
    this.state = 'failed';
    this.failure = 'transport';
    this.failureMessage = err.message;
    this.inbox.close();
  }

  /** A 2xx retransmitted after the INVITE transaction ended: send the same ACK again (§13.2.2.4). */
  onRetransmitted2xx(_res: SipMessage): void {
    if (this.ackBytes && this.dialog) this.host.layer.send(this.ackBytes, this.dialog.hop);
  }

  /** An in-dialog request from the peer (BYE, re-INVITE, INFO …), after the core answered it. */
  onDialogRequest(req: SipMessage): void {
    if (req.method === 'BYE') this.state = 'terminated';
    this.inbox.push(req);
  }

  /**
   * A 2xx from a second fork (another To tag) after the call was answered: RFC 3261 §13.2.2.4
   * says the UAC MUST ACK it; we keep the first dialog and end this one with BYE.
   */
  private endForkedDialog(res: SipMessage): void {
    this.forked.add(res.toTag ?? '');
    const d = Dialog.fromResponse(this.invite, res, this.hop);
    const ack = d.createRequest('ACK', { via: this.host.via(d.hop), cseq: this.invite.cseq.seq });
    this.host.layer.sendStateless(ack, d.hop);
    if (this.forked.size <= 16 && !this.byeSentTo.has(d.remoteTag)) {
      this.byeSentTo.add(d.remoteTag);
      const bye = d.createRequest('BYE', { via: this.host.via(d.hop) });
      this.host.layer.sendRequest(bye, d.hop, this.host.ignoreResponses);
    }
  }

  private sendCancel(): void {
    const cancel = createCancel(this.invite);
    this.host.layer.sendRequest(cancel, this.hop, this.host.ignoreResponses);
  }
}

/** Build the INVITE for a new call. */
export function buildInvite(init: {
  uri: string;
  from: string;
  to: string;
  callId: string;
  via: string;
  contact: string;
  cseq?: number;
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  contentType?: string;
}): SipMessage {
  return createRequest({ method: 'INVITE', cseq: init.cseq ?? 1, ...init });
}

