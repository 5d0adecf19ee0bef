/**
 * How a non-INVITE request ended: a final response, or a timeout (RFC 3261 §8.1.3.1 treats it
 * as 408) or a transport error (treated as 503). Failures are data, not exceptions.
 */
import type { SipMessage } from '../sip/message.js';
import type { ClientTransaction } from '../transaction/client-transaction.js';
import type { ClientTransactionUser } from '../transaction/transaction-user.js';

/** Extra parts of a request the caller may set. */
export interface RequestOptions {
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  contentType?: string;
}

export interface ClientOutcome {
  request: SipMessage;
  /** Provisional responses, in order. */
  provisional: SipMessage[];
  final: SipMessage | undefined;
  failure: 'timeout' | 'transport' | undefined;
  failureMessage: string;
  /** Status for expectations: the final's, or 408 / 503 per RFC 3261 §8.1.3.1. */
  status: number;
  /** Milliseconds from sending to the final response (or failure). */
  elapsedMs: number;
}

/** Collects one client transaction's responses and resolves a promise at the end. */
export class OutcomeCollector implements ClientTransactionUser {
  private readonly provisional: SipMessage[] = [];
  private resolve!: (o: ClientOutcome) => void;
  readonly done: Promise<ClientOutcome>;
  private readonly started = Date.now();

  constructor(private readonly request: SipMessage) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  onResponse(res: SipMessage, _tx: ClientTransaction): void {
    if (res.status < 200) {
      this.provisional.push(res);
      return;
    }
    this.finish(res, undefined, '');
  }

  onTimeout(_tx: ClientTransaction): void {
    this.finish(undefined, 'timeout', `no final response to ${this.request.method} (timer F/B)`);
  }

  onTransportError(_tx: ClientTransaction, err: Error): void {
    this.finish(undefined, 'transport', err.message);
  }

  private finish(final: SipMessage | undefined, failure: ClientOutcome['failure'], failureMessage: string): void {
    this.resolve({
      request: this.request,
      provisional: this.provisional,
      final,
      failure,
      failureMessage,
      status: final ? final.status : failure === 'timeout' ? 408 : 503,
      elapsedMs: Date.now() - this.started,
    });
  }
}
