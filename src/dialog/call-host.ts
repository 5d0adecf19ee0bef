/** What call objects need from the UA core that owns them. */
import type { TransactionLayer } from '../transaction/transaction-layer.js';
import type { Hop } from '../transaction/transaction-host.js';
import type { ClientTransactionUser } from '../transaction/transaction-user.js';
import type { SipMessage } from '../sip/message.js';
import type { Dialog } from './dialog.js';
import type { ClientOutcome, RequestOptions } from './client-outcome.js';

/** Receives in-dialog requests for the call that owns a dialog. */
export interface DialogOwner {
  onDialogRequest(req: SipMessage): void;
}

export interface CallHost {
  readonly layer: TransactionLayer;
  /** Allow CANCEL before any provisional (RFC 3261 §9.1 says SHOULD NOT; scenarios may test it). */
  readonly cancelBeforeProvisional: boolean;
  /** A client transaction user that drops everything (CANCEL's own 200). */
  readonly ignoreResponses: ClientTransactionUser;
  /** Our Contact for dialogs made over this hop. */
  contactFor(hop: Hop): string;
  /** A fresh Via (new branch) for a request sent over this hop. */
  via(hop: Hop): string;
  /** An incoming INVITE got its final response: CANCEL can no longer change it. */
  inviteAnswered(call: { readonly tx: { readonly key: string } }): void;
  rememberDialog(d: Dialog, owner: DialogOwner): void;
  forgetDialog(d: Dialog): void;
  sendInDialog(d: Dialog, method: string, opts: RequestOptions): Promise<ClientOutcome>;
}
