/**
 * The transaction layer (RFC 3261 §17): matches every received message to its transaction,
 * creates server transactions for new requests, owns the one timer queue, and sends.
 *
 * It is the TransportUser of every transport added to it and the TransactionHost of every
 * transaction it creates. Messages go up to one {@link ServerTransactionUser} (the UA core)
 * and to the {@link ClientTransactionUser} given with each request.
 */
import { SipwrightError } from '../errors.js';
import { createNonSuccessAck, createResponse } from '../sip/builders.js';
import { SipMessage } from '../sip/message.js';
import { serializeMessage } from '../sip/serialize.js';
import { essentialProblem } from '../sip/validate.js';
import { hasMagicCookie } from '../sip/via.js';
import type { Address, Transport, TransportUser } from '../transport/transport.js';
import { realClock, type Clock } from './clock.js';
import { ClientTransaction, InviteClientTransaction, NonInviteClientTransaction } from './client-transaction.js';
import { InviteServerTransaction, NonInviteServerTransaction, ServerTransaction } from './server-transaction.js';
import { TimerQueue } from './timer-queue.js';
import { timerConfig, timerValues, type TimerConfig, type TimerValues } from './timers.js';
import {
  emptyTransactionStats,
  type Hop,
  type TransactionHost,
  type TransactionStats,
} from './transaction-host.js';
import type { ClientTransactionUser, ServerTransactionUser } from './transaction-user.js';

/** Options for {@link TransactionLayer}. */
export interface TransactionLayerOptions {
  /** Time source; a FakeClock runs every timer in fake time. */
  clock?: Clock;
  /** T1/T2/T4 in ms (RFC 3261 §17.1.1.1 defaults 500/4000/5000). */
  timers?: Partial<TimerConfig>;
  /**
   * Send 100 Trying for a new INVITE at once (RFC 3261 §17.2.1 says the server transaction MUST
   * when the TU will not answer within 200 ms). Default true; scripted scenarios may turn it off.
   */
  autoTrying?: boolean;
  /** Pending server transactions allowed at once; over the cap new requests get 503 (default 100,000). */
  maxServerTransactions?: number;
  /** Keep the process alive for pending timers (default false: the sockets do that). */
  keepAlive?: boolean;
}

export class TransactionLayer implements TransportUser, TransactionHost {
  readonly clock: Clock;
  readonly queue: TimerQueue;
  readonly config: TimerConfig;
  readonly stats: TransactionStats = emptyTransactionStats();
  readonly transports: Transport[] = [];
  user: ServerTransactionUser | undefined = undefined;
  autoTrying: boolean;
  private readonly unreliableValues: TimerValues;
  private readonly reliableValues: TimerValues;
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly maxServers: number;
  private closed = false;

  constructor(opts: TransactionLayerOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.queue = new TimerQueue({ clock: this.clock, unref: !(opts.keepAlive ?? false) });
    this.config = timerConfig(opts.timers);
    this.unreliableValues = timerValues(this.config, false);
    this.reliableValues = timerValues(this.config, true);
    this.autoTrying = opts.autoTrying ?? true;
    this.maxServers = opts.maxServerTransactions ?? 100_000;
  }

  /** Route a transport's messages to this layer. */
  addTransport(t: Transport): void {
    t.user = this;
    this.transports.push(t);
  }

  /** Pending transactions (client, server). */
  get pending(): { client: number; server: number } {
    return { client: this.clients.size, server: this.servers.size };
  }

  // ---- sending ----

  /**
   * Start a client transaction for `req` (RFC 3261 §17.1). The request's top Via must carry a
   * fresh branch. ACK is never sent this way: an ACK for a 2xx is sent with {@link sendStateless}.
   */
  sendRequest(req: SipMessage, hop: Hop, user: ClientTransactionUser): ClientTransaction {
    if (req.method === 'ACK') {
      throw new SipwrightError('ERR_TRANSACTION_STATE', 'ACK has no client transaction: use sendStateless');
    }
    const branch = req.topVia.branch;
    if (!branch) throw new SipwrightError('ERR_TRANSACTION_STATE', `${req.method} has no Via branch`);
    const key = clientKey(branch, req.method);
    if (this.clients.has(key)) {
      throw new SipwrightError('ERR_TRANSACTION_STATE', `a ${req.method} transaction with branch ${branch} is already pending`);
    }
    const tx =
      req.method === 'INVITE'
        ? new InviteClientTransaction(this, req, hop, user, key)
        : new NonInviteClientTransaction(this, req, hop, user, key);
    this.clients.set(key, tx);
    this.stats.clientTransactions++;
    tx.start();
    return tx;
  }

  /** Send a message outside any transaction (ACK for 2xx, 2xx retransmissions by the UAS core). */
  sendStateless(msg: SipMessage, hop: Hop): Buffer {
    const bytes = serializeMessage(msg);
    this.send(bytes, hop);
    return bytes;
  }

  /** Raw bytes, exactly as given (reproducing broken peers). */
  send(bytes: Buffer, hop: Hop): void {
    hop.transport.send(bytes, hop.dest, hop.connectionId);
  }

  /** The INVITE server transaction a CANCEL refers to (RFC 3261 §9.2), if still there. */
  findInviteFor(cancel: SipMessage): InviteServerTransaction | undefined {
    const key = serverKey(cancel, 'INVITE');
    const tx = this.servers.get(key);
    return tx instanceof InviteServerTransaction ? tx : undefined;
  }

  /** Stop every timer; pending transactions are dropped (used at shutdown). */
  close(): void {
    this.closed = true;
    this.queue.close();
    this.clients.clear();
    this.servers.clear();
  }

  // ---- TransportUser ----

  onMessage(msg: SipMessage, transport: Transport): void {
    if (this.closed) return; // a datagram that arrived while the transport was closing
    if (msg.isRequest) this.receiveRequest(msg, transport);
    else this.receiveResponse(msg);
  }

  onSendError(err: Error, dest: Address, transport: Transport): void {
    // RFC 3261 §8.1.3.1: a transport failure ends every client transaction that used that hop.
    for (const tx of [...this.clients.values()]) {
      if (tx.hop.transport === transport && (dest.port === 0 || sameAddress(tx.hop.dest, dest))) tx.transportError(err);
    }
  }

  // ---- TransactionHost ----

  timerValues(reliable: boolean): TimerValues {
    return reliable ? this.reliableValues : this.unreliableValues;
  }

  ackForNonSuccess(invite: SipMessage, res: SipMessage): SipMessage {
    return createNonSuccessAck(invite, res);
  }

  ackTimeout(tx: ServerTransaction): void {
    this.user?.onAckTimeout?.(tx);
  }

  removeClient(tx: ClientTransaction): void {
    if (this.clients.get(tx.key) === tx) this.clients.delete(tx.key);
  }

  removeServer(tx: ServerTransaction): void {
    if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
  }

  // ---- receiving ----

  private receiveRequest(req: SipMessage, transport: Transport): void {
    const problem = essentialProblem(req);
    if (problem) {
      this.stats.malformed++;
      // RFC 3261 §8.2 / §21.4.1: a request we cannot process gets 400 with the reason in the
      // reason phrase. A Via (where the client matches it, §17.1.3) and a CSeq are enough to
      // answer; a missing Call-ID, From or To is exactly what the 400 is about. Never for ACK.
      if (req.method !== 'ACK' && req.get('via') !== undefined && req.get('cseq') !== undefined) {
        this.respondStateless(req, transport, 400, `Bad Request (${problem})`);
      }
      this.user?.onRejected?.(req, 400, problem);
      return;
    }
    const method = req.method === 'ACK' ? 'INVITE' : req.method;
    const key = serverKey(req, method);
    const existing = this.servers.get(key);
    if (existing) {
      // An ACK in Accepted is not absorbed: it goes to the TU (RFC 6026 §7.1).
      if (existing.receive(req)) this.user?.onRequest(req, undefined);
      return;
    }
    if (req.method === 'ACK') {
      // An ACK for a 2xx (or for a transaction already gone) belongs to the TU (§17.2.3, §13.3.1.4).
      this.user?.onRequest(req, undefined);
      return;
    }
    if (this.servers.size >= this.maxServers) {
      this.stats.overCapacity++;
      this.respondStateless(req, transport, 503, 'Service Unavailable');
      this.user?.onRejected?.(req, 503, `more than ${this.maxServers} pending server transactions`);
      return;
    }
    const hop = hopFor(req, transport);
    const tx =
      req.method === 'INVITE'
        ? new InviteServerTransaction(this, req, hop, key)
        : new NonInviteServerTransaction(this, req, hop, key);
    this.servers.set(key, tx);
    this.stats.serverTransactions++;
    if (req.method === 'INVITE' && this.autoTrying) tx.respond(createResponse(req, 100));
    // No TU: nobody will ever answer, so answer 501 now rather than leave the transaction
    // pending (an INVITE in Proceeding has no timer that would end it, §17.2.1).
    if (this.user) this.user.onRequest(req, tx);
    else tx.respond(createResponse(req, 501));
  }

  private receiveResponse(res: SipMessage): void {
    let key: string;
    try {
      const branch = res.topVia.branch;
      key = clientKey(branch ?? '', res.cseq.method);
    } catch {
      this.stats.malformed++;
      return; // RFC 3261 §18.1.2: a response that cannot be matched is discarded
    }
    const tx = this.clients.get(key);
    if (tx) {
      tx.receive(res);
      return;
    }
    this.stats.strayResponses++;
    this.user?.onStrayResponse?.(res);
  }

  private respondStateless(req: SipMessage, transport: Transport, status: number, reason: string): void {
    this.sendStateless(rejection(req, status, reason), hopFor(req, transport));
  }
}

/** Headers a response copies from its request (RFC 3261 §8.2.6.2). */
const COPIED = new Set(['via', 'from', 'to', 'call-id', 'cseq']);

/**
 * A response the layer sends on its own (400, 503). Built like any response when the request
 * allows it; when its To or top Via does not parse, the headers are copied as received. A header
 * the request lacked is left out rather than sent empty. CR and LF cannot be in a reason phrase
 * (RFC 3261 §25.1 Reason-Phrase).
 */
function rejection(req: SipMessage, status: number, reason: string): SipMessage {
  const phrase = reason.replace(/[\r\n]+/g, ' ');
  let res: SipMessage;
  try {
    res = createResponse(req, status, { reason: phrase });
  } catch {
    res = new SipMessage();
    res.status = status;
    res.reason = phrase;
    for (const h of req.headers) if (COPIED.has(h.key)) res.headers.push({ ...h });
  }
  for (const key of COPIED) if (req.get(key) === undefined) res.remove(key);
  return res;
}

/** Client matching, RFC 3261 §17.1.3: top Via branch and CSeq method. */
function clientKey(branch: string, method: string): string {
  return `${branch}\n${method}`;
}

/**
 * Server matching, RFC 3261 §17.2.3: branch + sent-by + method (an ACK is looked up under INVITE;
 * so is a CANCEL by {@link TransactionLayer.findInviteFor}, §9.2) when the branch has the magic
 * cookie; otherwise the RFC 2543 fields: Request-URI,
 * Call-ID, From tag, CSeq number and top Via (sent-by and branch). The To tag, which §17.2.3 also
 * compares, is left out: the INVITE has none and its ACK carries ours.
 */
function serverKey(req: SipMessage, method: string): string {
  const via = req.topVia;
  const branch = via.branch;
  const sentBy = `${via.host}:${via.port ?? ''}`;
  if (branch && hasMagicCookie(branch)) return `${branch}\n${sentBy}\n${method}`;
  return `2543\n${req.requestUri}\n${req.callId}\n${req.fromTag ?? ''}\n${req.cseq.seq}\n${sentBy}\n${branch ?? ''}\n${method}`;
}

/** Responses go back where the request came from (RFC 3581 §4 symmetric; §18.2.2 same connection). */
function hopFor(req: SipMessage, transport: Transport): Hop {
  const o = req.origin;
  if (!o) throw new SipwrightError('ERR_TRANSACTION_STATE', 'received request has no origin');
  return { transport, dest: { host: o.remoteHost, port: o.remotePort }, connectionId: o.connectionId || undefined };
}

function sameAddress(a: Address, b: Address): boolean {
  return a.port === b.port && a.host === b.host;
}
