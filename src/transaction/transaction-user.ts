/**
 * The callbacks a transaction hands upward (RFC 3261 §17: the "transaction user", TU).
 * Objects, not closures: one handler object serves many transactions.
 */
import type { SipMessage } from '../sip/message.js';
import type { ClientTransaction } from './client-transaction.js';
import type { ServerTransaction } from './server-transaction.js';

/** Receives what happens to one client transaction. */
export interface ClientTransactionUser {
  /**
   * A response for the TU. RFC 3261 §17.1.1.2: every provisional and the first final response;
   * RFC 6026 §7.2: in the Accepted state, every 2xx retransmission too (the TU re-sends its ACK).
   */
  onResponse(res: SipMessage, tx: ClientTransaction): void;
  /** Timer B or F fired: no final response (RFC 3261 §17.1.1.2, §17.1.2.2); a 408 for the TU. */
  onTimeout(tx: ClientTransaction): void;
  /** The transport failed (RFC 3261 §8.1.3.1: treat as 503). */
  onTransportError(tx: ClientTransaction, err: Error): void;
}

/** Receives requests and events of the server side; one per transaction layer (the UA core). */
export interface ServerTransactionUser {
  /**
   * A new request. `tx` is undefined for an ACK, which never has a server transaction of its
   * own: an ACK for a non-2xx is absorbed by the INVITE server transaction (§17.2.1); an ACK
   * for a 2xx is end-to-end and reaches the TU here (§13.3.1.4).
   */
  onRequest(req: SipMessage, tx: ServerTransaction | undefined): void;
  /** A response that matched no client transaction (e.g. a 2xx retransmitted after Timer M). */
  onStrayResponse?(res: SipMessage): void;
  /** Timer H fired: the ACK for our non-2xx final response never came (§17.2.1). */
  onAckTimeout?(tx: ServerTransaction): void;
  /** A received request the layer answered itself (400 for a broken request, 503 over capacity). */
  onRejected?(req: SipMessage, status: number, reason: string): void;
}
