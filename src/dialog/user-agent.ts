/**
 * The UA core (RFC 3261 §8, §12-§15): a transport, the transaction layer, the dialog store, and
 * the rules that sit above transactions — dialog matching of in-dialog requests (§12.2.2), 481
 * for unknown dialogs, CANCEL → 200 + 487 (§9.2), BYE → 200 (§15.1.2), ACK for 2xx.
 *
 * What to do with new out-of-dialog requests is the caller's (roles, scenarios): set
 * `onInvite` and `onNewRequest`.
 */
import { UsageError } from '../errors.js';
import { createRequest, createResponse } from '../sip/builders.js';
import { newCallId, newTag } from '../sip/ids.js';
import type { SipMessage } from '../sip/message.js';
import { parseUri } from '../sip/uri.js';
import type { Clock } from '../transaction/clock.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import { InviteServerTransaction } from '../transaction/server-transaction.js';
import type { Hop } from '../transaction/transaction-host.js';
import { TransactionLayer } from '../transaction/transaction-layer.js';
import type { ClientTransactionUser, ServerTransactionUser } from '../transaction/transaction-user.js';
import type { TimerConfig } from '../transaction/timers.js';
import { TcpTransport } from '../transport/tcp.js';
import { uriHost, type Address, type Transport, type TransportProtocol } from '../transport/transport.js';
import { UdpTransport } from '../transport/udp.js';
import type { CallHost, DialogOwner } from './call-host.js';
import { OutcomeCollector, type ClientOutcome, type RequestOptions } from './client-outcome.js';
import { Dialog, dialogKey, viaFor } from './dialog.js';
import { UacCall } from './uac-call.js';
import { UasCall } from './uas-call.js';

/** Options for {@link UserAgent.create}. */
export interface UserAgentOptions {
  transport?: 'udp' | 'tcp';
  /** Address to bind (default 127.0.0.1; sipwright binds loopback unless told otherwise). */
  host?: string;
  /** Port to bind (default 0: any free port). */
  port?: number;
  /** User part of our Contact and default From (default `sipwright`). */
  user?: string;
  timers?: Partial<TimerConfig>;
  clock?: Clock;
  /** Send 100 Trying for new INVITEs at once (default true). */
  autoTrying?: boolean;
  /** Allow CANCEL before a provisional response (default false, RFC 3261 §9.1). */
  cancelBeforeProvisional?: boolean;
}

/** Options for an out-of-dialog request or INVITE. */
export interface OutgoingOptions extends RequestOptions {
  /** Full From value; default `<sip:user@local>` with a new tag. A tag is added when missing. */
  from?: string;
  /** Full To value; default the target URI in brackets. */
  to?: string;
  callId?: string;
  cseq?: number;
  /** Where to send, when not the Request-URI's host:port (an outbound proxy). */
  dest?: Address;
  /** Contact value; default ours. */
  contact?: string;
  /** INVITE only: send the ACK for the 2xx automatically (default true). */
  autoAck?: boolean;
}

const ignore: ClientTransactionUser = {
  onResponse() {},
  onTimeout() {},
  onTransportError() {},
};

export class UserAgent implements ServerTransactionUser, CallHost {
  readonly layer: TransactionLayer;
  readonly transport: Transport;
  readonly user: string;
  readonly cancelBeforeProvisional: boolean;
  readonly ignoreResponses = ignore;
  /** New INVITEs. Default: 486 Busy Here is NOT assumed; without a handler the call gets 480. */
  onInvite: ((call: UasCall) => void) | undefined = undefined;
  /** New out-of-dialog requests other than INVITE; return false to let the core answer (OPTIONS 200, else 405). */
  onNewRequest: ((req: SipMessage, tx: ServerTransaction) => boolean) | undefined = undefined;
  /** Responses that match no transaction and no dialog (e.g. answers to raw bytes a scenario sent). */
  onUnmatchedResponse: ((res: SipMessage) => void) | undefined = undefined;
  /** ACKs and in-dialog requests that match no dialog (for reports). */
  onOrphan: ((req: SipMessage) => void) | undefined = undefined;
  private readonly dialogs = new Map<string, { dialog: Dialog; owner: DialogOwner }>();
  private readonly calls = new Map<string, UasCall>();

  private constructor(layer: TransactionLayer, transport: Transport, opts: UserAgentOptions) {
    this.layer = layer;
    this.transport = transport;
    this.user = opts.user ?? 'sipwright';
    this.cancelBeforeProvisional = opts.cancelBeforeProvisional ?? false;
    layer.user = this;
    layer.addTransport(transport);
  }

  /** Bind a transport and start a UA on it. */
  static async create(opts: UserAgentOptions = {}): Promise<UserAgent> {
    const proto = opts.transport ?? 'udp';
    if (proto !== 'udp' && proto !== 'tcp') throw new UsageError(`transport "${proto}" is not supported; use udp or tcp`);
    const transport =
      proto === 'udp'
        ? await UdpTransport.open({ host: opts.host, port: opts.port })
        : await TcpTransport.open({ host: opts.host, port: opts.port });
    const layer = new TransactionLayer({ clock: opts.clock, timers: opts.timers, autoTrying: opts.autoTrying });
    return new UserAgent(layer, transport, opts);
  }

  /**
   * A UA over a transport and transaction layer the caller already built (tests: an in-memory
   * transport and a layer on a FakeClock). The UA becomes the layer's TU and the transport is
   * added to the layer. Transport and timer options in `opts` are ignored: they belong to the
   * objects passed in. {@link close} closes both.
   */
  static fromTransport(transport: Transport, layer: TransactionLayer, opts: UserAgentOptions = {}): UserAgent {
    return new UserAgent(layer, transport, opts);
  }

  /** Where we listen. */
  get local(): Address {
    return this.transport.local;
  }

  get protocol(): TransportProtocol {
    return this.transport.protocol;
  }

  /** `<sip:user@host:port>` (with `;transport=tcp` over TCP). */
  get contact(): string {
    const t = this.transport.protocol === 'udp' ? '' : `;transport=${this.transport.protocol}`;
    return `<sip:${this.user}@${uriHost(this.local.host)}:${this.local.port}${t}>`;
  }

  /** `sip:user@host:port`, our address of record for default From headers. */
  get aor(): string {
    return `sip:${this.user}@${uriHost(this.local.host)}:${this.local.port}`;
  }

  contactFor(_hop: Hop): string {
    return this.contact;
  }

  via(hop: Hop): string {
    return viaFor(hop.transport.protocol, this.local.host, this.local.port);
  }

  /** The hop for a Request-URI (its host and port; default port 5060, RFC 3263 without DNS). */
  hopFor(uri: string, dest?: Address): Hop {
    if (dest) return { transport: this.transport, dest };
    const u = parseUri(uri);
    const host = u.host.startsWith('[') ? u.host.slice(1, -1) : u.host;
    return { transport: this.transport, dest: { host, port: u.port ?? 5060 } };
  }

  /** Send an out-of-dialog request (REGISTER, OPTIONS, MESSAGE …) and wait for its outcome. */
  request(method: string, uri: string, opts: OutgoingOptions = {}): Promise<ClientOutcome> {
    const req = this.buildRequest(method, uri, opts);
    return this.send(req, this.hopFor(uri, opts.dest));
  }

  /** Send a built request in its own client transaction; resolves with the outcome. */
  send(req: SipMessage, hop: Hop): Promise<ClientOutcome> {
    const c = new OutcomeCollector(req);
    this.layer.sendRequest(req, hop, c);
    return c.done;
  }

  /** A request as {@link request} would send it, to modify before {@link send}. */
  buildRequest(method: string, uri: string, opts: OutgoingOptions = {}): SipMessage {
    const hop = this.hopFor(uri, opts.dest);
    let from = opts.from ?? `<${this.aor}>`;
    if (!/;\s*tag=/i.test(from)) from = `${from};tag=${newTag()}`;
    return createRequest({
      method,
      uri,
      from,
      to: opts.to ?? `<${uri}>`,
      callId: opts.callId ?? newCallId(uriHost(this.local.host)),
      cseq: opts.cseq ?? 1,
      via: this.via(hop),
      contact: opts.contact ?? (method === 'INVITE' || method === 'REGISTER' || method === 'SUBSCRIBE' ? this.contact : undefined),
      headers: opts.headers,
      body: opts.body,
      contentType: opts.contentType ?? (opts.body !== undefined ? 'application/sdp' : undefined),
    });
  }

  /** Place a call: send an INVITE and return the call at once. */
  invite(uri: string, opts: OutgoingOptions = {}): UacCall {
    const req = this.buildRequest('INVITE', uri, opts);
    const call = new UacCall(this, req, this.hopFor(uri, opts.dest), { autoAck: opts.autoAck });
    call.start();
    return call;
  }

  sendInDialog(d: Dialog, method: string, opts: RequestOptions): Promise<ClientOutcome> {
    const req = d.createRequest(method, { via: this.via(d.hop), ...opts });
    return this.send(req, d.hop);
  }

  rememberDialog(d: Dialog, owner: DialogOwner): void {
    this.dialogs.set(d.key, { dialog: d, owner });
  }

  forgetDialog(d: Dialog): void {
    // Keep terminated dialogs reachable for a late BYE retransmission; drop after the layer's 64*T1.
    const key = d.key;
    const entry = this.dialogs.get(key);
    if (entry && entry.dialog === d) this.dialogs.delete(key);
  }

  inviteAnswered(call: UasCall): void {
    if (this.calls.get(call.tx.key) === call) this.calls.delete(call.tx.key);
  }

  /** Active dialogs (for tests and leak checks). */
  get dialogCount(): number {
    return this.dialogs.size;
  }

  /** Stop taking messages, let the last datagrams leave, then stop every timer. */
  async close(): Promise<void> {
    this.transport.user = undefined;
    await this.transport.close();
    this.layer.close();
  }

  // ---- ServerTransactionUser ----

  onRequest(req: SipMessage, tx: ServerTransaction | undefined): void {
    const toTag = req.toTag;
    if (toTag !== undefined) {
      this.inDialog(req, tx, toTag);
      return;
    }
    if (req.method === 'ACK') {
      // ACK for a 2xx whose To tag we gave: it has a tag, so this one is an orphan.
      this.onOrphan?.(req);
      return;
    }
    if (!tx) return;
    if (req.method === 'CANCEL') {
      this.cancel(req, tx);
      return;
    }
    if (req.method === 'INVITE' && tx instanceof InviteServerTransaction) {
      const call = new UasCall(this, req, tx);
      this.calls.set(tx.key, call);
      if (this.onInvite) this.onInvite(call);
      else call.respond(480, { reason: 'Temporarily Unavailable (no handler)' });
      return;
    }
    if (this.onNewRequest && this.onNewRequest(req, tx)) return;
    // RFC 3261 §11.2: OPTIONS answered as an INVITE would be; other methods: 405 with Allow.
    const status = req.method === 'OPTIONS' ? 200 : 405;
    tx.respond(createResponse(req, status, { headers: [['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS']] }));
  }

  onStrayResponse(res: SipMessage): void {
    // A 2xx retransmitted after the INVITE transaction ended (RFC 6026): re-ACK through the call.
    if (res.status >= 200 && res.status < 300 && res.cseq.method === 'INVITE') {
      const e = this.dialogs.get(dialogKey(res.callId, res.fromTag ?? '', res.toTag ?? ''));
      if (e && e.owner instanceof UacCall) {
        e.owner.onRetransmitted2xx(res);
        return;
      }
    }
    this.onUnmatchedResponse?.(res);
  }

  private inDialog(req: SipMessage, tx: ServerTransaction | undefined, toTag: string): void {
    const entry = this.dialogs.get(dialogKey(req.callId, toTag, req.fromTag ?? ''));
    if (!entry) {
      // RFC 3261 §12.2.2: a request for an unknown dialog gets 481; an ACK is dropped.
      if (tx) tx.respond(createResponse(req, 481));
      else this.onOrphan?.(req);
      return;
    }
    const { dialog, owner } = entry;
    if (tx) {
      if (!dialog.acceptRemoteSeq(req)) {
        tx.respond(createResponse(req, 500, { reason: 'Server Internal Error (CSeq out of order)' }));
        return;
      }
      if (req.method === 'BYE') {
        // RFC 3261 §15.1.2: the UAS MUST answer BYE with 2xx and end the dialog.
        tx.respond(createResponse(req, 200));
        dialog.state = 'terminated';
        this.forgetDialog(dialog);
      } else if (req.method !== 'INVITE' && req.method !== 'UPDATE') {
        tx.respond(createResponse(req, 200));
      } else {
        // re-INVITE: accept keeping the session as is (the owner may inspect the offer).
        tx.respond(createResponse(req, 200, { toTag, headers: [['Contact', dialog.localContact || this.contact]] }));
      }
    }
    owner.onDialogRequest(req);
  }

  private cancel(req: SipMessage, tx: ServerTransaction): void {
    const invite = this.layer.findInviteFor(req);
    if (!invite) {
      tx.respond(createResponse(req, 481)); // RFC 3261 §9.2: no matching transaction
      return;
    }
    tx.respond(createResponse(req, 200));
    const call = this.calls.get(invite.key);
    if (!invite.answered) {
      // RFC 3261 §9.2: the UAS SHOULD answer the INVITE with 487.
      if (call) call.respond(487);
      else invite.respond(createResponse(invite.request, 487));
    }
    if (call) {
      call.onCancelled(req);
      this.calls.delete(invite.key);
    }
  }
}
