/**
 * What a transaction needs from the layer that owns it: time, timers, a way to send, the ACK
 * builder, counters, and removal from the matching tables. Keeps transactions free of the
 * layer's other business.
 */
import type { SipMessage } from '../sip/message.js';
import type { Transport, Address } from '../transport/transport.js';
import type { Clock } from './clock.js';
import type { TimerQueue } from './timer-queue.js';
import type { TimerConfig, TimerValues } from './timers.js';
import type { ClientTransaction } from './client-transaction.js';
import type { ServerTransaction } from './server-transaction.js';

/** Where a message goes: the transport, the address, and for streams the connection to reuse. */
export interface Hop {
  transport: Transport;
  dest: Address;
  connectionId?: number;
}

/** Counters kept by the transaction layer, additive across layers, workers and machines. */
export interface TransactionStats {
  clientTransactions: number;
  serverTransactions: number;
  retransmissionsSent: number;
  retransmissionsReceived: number;
  timeouts: number;
  /** Requests refused because the pending-transaction cap was reached. */
  overCapacity: number;
  /** Received messages dropped or answered 400 for missing or broken essential headers. */
  malformed: number;
  strayResponses: number;
}

export function emptyTransactionStats(): TransactionStats {
  return {
    clientTransactions: 0,
    serverTransactions: 0,
    retransmissionsSent: 0,
    retransmissionsReceived: 0,
    timeouts: 0,
    overCapacity: 0,
    malformed: 0,
    strayResponses: 0,
  };
}

export interface TransactionHost {
  readonly clock: Clock;
  readonly queue: TimerQueue;
  readonly config: TimerConfig;
  readonly stats: TransactionStats;
  timerValues(reliable: boolean): TimerValues;
  send(bytes: Buffer, hop: Hop): void;
  /** RFC 3261 §17.1.1.3: the ACK a client transaction sends for a non-2xx final response. */
  ackForNonSuccess(invite: SipMessage, res: SipMessage): SipMessage;
  /** Timer H fired on an INVITE server transaction: the ACK never came. */
  ackTimeout(tx: ServerTransaction): void;
  removeClient(tx: ClientTransaction): void;
  removeServer(tx: ServerTransaction): void;
}
