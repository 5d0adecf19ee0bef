/**
 * Dialog state (RFC 3261 §12): identity, sequence numbers, remote target, route set, and the
 * building of in-dialog requests (§12.2.1.1).
 */
import { StateError } from '../errors.js';
import { createRequest } from '../sip/builders.js';
import { newBranch } from '../sip/ids.js';
import type { SipMessage } from '../sip/message.js';
import { formatUri } from '../sip/uri.js';
import type { Hop } from '../transaction/transaction-host.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

/** Dialog ID (RFC 3261 §12): Call-ID, local tag, remote tag. */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

export class Dialog {
  state: DialogState;
  readonly role: 'uac' | 'uas';
  readonly callId: string;
  readonly localTag: string;
  remoteTag: string;
  /** Local and remote party as name-addr values with tags (our From/To in requests we send). */
  readonly localParty: string;
  readonly remoteParty: string;
  localSeq: number;
  remoteSeq: number;
  /** Remote target URI from the peer's Contact (§12.1.1, §12.1.2); updated by target refreshes. */
  remoteTarget: string;
  /** Route set from Record-Route (§12.1.1: as received for UAS; §12.1.2: reversed for UAC). */
  routeSet: string[];
  /** Our Contact for requests in this dialog. */
  readonly localContact: string;
  /** Where in-dialog requests go: the hop the dialog was made on (symmetric, like most trunks expect). */
  hop: Hop;

  constructor(init: {
    role: 'uac' | 'uas';
    state: DialogState;
    callId: string;
    localTag: string;
    remoteTag: string;
    localParty: string;
    remoteParty: string;
    localSeq: number;
    remoteSeq: number;
    remoteTarget: string;
    routeSet: string[];
    localContact: string;
    hop: Hop;
  }) {
    this.role = init.role;
    this.state = init.state;
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.localParty = init.localParty;
    this.remoteParty = init.remoteParty;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localContact = init.localContact;
    this.hop = init.hop;
  }

  get key(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }

  /**
   * UAC side: a dialog from a 1xx with a To tag (early) or a 2xx (confirmed) to our INVITE
   * (RFC 3261 §12.1.2). Route set = Record-Route in reverse order; remote target = Contact.
   */
  static fromResponse(invite: SipMessage, res: SipMessage, hop: Hop): Dialog {
    const rr = res.getAll('record-route').reverse();
    const contact = res.contacts[0];
    return new Dialog({
      role: 'uac',
      state: res.status >= 200 ? 'confirmed' : 'early',
      callId: invite.callId,
      localTag: invite.fromTag ?? '',
      remoteTag: res.toTag ?? '',
      localParty: invite.get('from') ?? '',
      remoteParty: res.get('to') ?? '',
      localSeq: invite.cseq.seq,
      remoteSeq: 0, // §12.1.2: remote sequence number is empty
      remoteTarget: contact ? formatUri(contact.uri) : invite.requestUri,
      routeSet: rr,
      localContact: invite.get('contact') ?? '',
      hop,
    });
  }

  /**
   * UAS side: a dialog from a request and the response we sent (RFC 3261 §12.1.1). Route set =
   * Record-Route in order; remote target = the request's Contact.
   */
  static fromRequest(req: SipMessage, res: SipMessage, hop: Hop): Dialog {
    const contact = req.contacts[0];
    return new Dialog({
      role: 'uas',
      state: res.status >= 200 ? 'confirmed' : 'early',
      callId: req.callId,
      localTag: res.toTag ?? '',
      remoteTag: req.fromTag ?? '',
      localParty: res.get('to') ?? '',
      remoteParty: req.get('from') ?? '',
      localSeq: 0,
      remoteSeq: req.cseq.seq,
      remoteTarget: contact ? formatUri(contact.uri) : '',
      routeSet: req.getAll('record-route'),
      localContact: res.get('contact') ?? '',
      hop,
    });
  }

  /**
   * A request within the dialog (RFC 3261 §12.2.1.1): To = remote party with remote tag, From =
   * local party with local tag, Call-ID, CSeq = local sequence + 1 (ACK and CANCEL reuse the
   * INVITE's number), Request-URI = remote target, Route = route set (loose routing, §16.12).
   */
  createRequest(method: string, opts: { via: string; headers?: Array<[string, string]>; body?: Buffer | string; contentType?: string; cseq?: number }): SipMessage {
    if (this.state === 'terminated' && method !== 'ACK') {
      throw new StateError('ERR_DIALOG_STATE', `cannot send ${method} in a terminated dialog (Call-ID ${this.callId})`);
    }
    let seq = opts.cseq;
    if (seq === undefined) {
      if (this.localSeq === 0) this.localSeq = Math.floor(Math.random() * 10000) + 1;
      else this.localSeq++;
      seq = this.localSeq;
    }
    const headers: Array<[string, string]> = this.routeSet.map((r) => ['Route', r]);
    if (opts.headers) headers.push(...opts.headers);
    return createRequest({
      method,
      uri: this.remoteTarget,
      from: this.localParty,
      to: this.remoteParty,
      callId: this.callId,
      cseq: seq,
      via: opts.via,
      contact: method === 'INVITE' || method === 'UPDATE' ? this.localContact : undefined,
      headers,
      body: opts.body,
      contentType: opts.contentType,
    });
  }

  /**
   * Check a request received in this dialog (RFC 3261 §12.2.2): a CSeq lower than the remote
   * sequence number is out of order and gets 500. Returns false for such a request.
   */
  acceptRemoteSeq(req: SipMessage): boolean {
    const seq = req.cseq.seq;
    if (req.method === 'ACK' || req.method === 'CANCEL') return true;
    if (this.remoteSeq !== 0 && seq <= this.remoteSeq) return seq === this.remoteSeq ? true : false;
    this.remoteSeq = seq;
    return true;
  }
}

/** A fresh Via value for a request sent from `local` over `protocol`. */
export function viaFor(protocol: string, localHost: string, localPort: number): string {
  const host = localHost.includes(':') ? `[${localHost}]` : localHost;
  return `SIP/2.0/${protocol.toUpperCase()} ${host}:${localPort};branch=${newBranch()};rport`;
}
