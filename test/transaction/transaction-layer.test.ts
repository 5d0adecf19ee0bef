/**
 * The transaction layer (RFC 3261 §17): matching, the requests it answers itself (400, 503, 501),
 * stray responses, CANCEL matching, and recovery from lost messages between two layers linked
 * by in-memory transports on one fake clock.
 */
import { describe, expect, it } from 'vitest';
import { createCancel, createRequest, createResponse } from '../../src/sip/builders.js';
import { newBranch } from '../../src/sip/ids.js';
import type { SipMessage } from '../../src/sip/message.js';
import type { ClientTransaction } from '../../src/transaction/client-transaction.js';
import { FakeClock } from '../../src/transaction/clock.js';
import type { ServerTransaction } from '../../src/transaction/server-transaction.js';
import { TransactionLayer } from '../../src/transaction/transaction-layer.js';
import type { ClientTransactionUser, ServerTransactionUser } from '../../src/transaction/transaction-user.js';
import type { Address } from '../../src/transport/transport.js';
import { FakeTransport } from '../support/fake-transport.js';

const A: Address = { host: '127.0.0.1', port: 5061 };
const B: Address = { host: '127.0.0.1', port: 5062 };

/** Records every server-side event the layer reports. */
class RecordingCore implements ServerTransactionUser {
  readonly requests: Array<{ req: SipMessage; tx: ServerTransaction | undefined }> = [];
  readonly strays: SipMessage[] = [];
  readonly rejected: Array<{ method: string; status: number; reason: string }> = [];
  /** Answer every new request with this status (0: leave it to the test). */
  answer = 0;
  onRequest(req: SipMessage, tx: ServerTransaction | undefined): void {
    this.requests.push({ req, tx });
    if (tx && this.answer) tx.respond(createResponse(req, this.answer, { toTag: 'srv' }));
  }
  onStrayResponse(res: SipMessage): void {
    this.strays.push(res);
  }
  onRejected(req: SipMessage, status: number, reason: string): void {
    this.rejected.push({ method: req.method, status, reason });
  }
}

class RecordingClientUser implements ClientTransactionUser {
  readonly statuses: number[] = [];
  timeouts = 0;
  onResponse(res: SipMessage): void {
    this.statuses.push(res.status);
  }
  onTimeout(): void {
    this.timeouts++;
  }
  onTransportError(): void {}
}

function request(method: string, from: Address = A, opts: { branch?: string; cseq?: number } = {}): SipMessage {
  return createRequest({
    method,
    uri: `sip:bob@${B.host}:${B.port}`,
    from: `<sip:alice@${from.host}>;tag=a1`,
    to: `<sip:bob@${B.host}>`,
    callId: 'layer-1@127.0.0.1',
    cseq: opts.cseq ?? 1,
    via: `SIP/2.0/UDP ${from.host}:${from.port};branch=${opts.branch ?? newBranch()};rport`,
    contact: method === 'INVITE' ? `<sip:alice@${from.host}:${from.port}>` : undefined,
  });
}

/** One layer with its own fake transport at B. */
function single(opts: { maxServerTransactions?: number; autoTrying?: boolean } = {}) {
  const clock = new FakeClock();
  const layer = new TransactionLayer({ clock, ...opts });
  const transport = new FakeTransport({ clock, local: B });
  layer.addTransport(transport);
  const core = new RecordingCore();
  layer.user = core;
  return { clock, layer, transport, core };
}

/** Two layers, A (client side) and B (server side), linked over UDP-like fake transports. */
function pair() {
  const clock = new FakeClock();
  const a = new TransactionLayer({ clock });
  const b = new TransactionLayer({ clock });
  const ta = new FakeTransport({ clock, local: A });
  const tb = new FakeTransport({ clock, local: B });
  FakeTransport.link(ta, tb, 10);
  a.addTransport(ta);
  b.addTransport(tb);
  const coreA = new RecordingCore();
  const coreB = new RecordingCore();
  a.user = coreA;
  b.user = coreB;
  const tu = new RecordingClientUser();
  const send = (req: SipMessage): ClientTransaction => a.sendRequest(req, { transport: ta, dest: B }, tu);
  return { clock, a, b, ta, tb, coreA, coreB, tu, send };
}

describe('matching and stray responses (RFC 3261 §17.1.3, §18.1.2)', () => {
  it('a response that matches no client transaction is counted as stray and handed to the core', () => {
    const { layer, transport, core } = single();
    const res = createResponse(request('OPTIONS'), 200, { toTag: 'x' });
    transport.deliver(res, A);
    expect(layer.stats.strayResponses).toBe(1);
    expect(core.strays.map((r) => r.status)).toEqual([200]);
  });

  it('a response without a CSeq cannot be matched: discarded and counted malformed', () => {
    const { layer, transport, core } = single();
    const res = createResponse(request('OPTIONS'), 200, { toTag: 'x' });
    res.remove('CSeq');
    transport.deliver(res, A);
    expect(layer.stats.malformed).toBe(1);
    expect(core.strays).toHaveLength(0);
  });

  it('server transactions match on branch, sent-by and method: a new branch is a new transaction', () => {
    const { layer, transport, core } = single();
    transport.deliver(request('OPTIONS', A, { branch: 'z9hG4bK-one' }), A);
    transport.deliver(request('OPTIONS', A, { branch: 'z9hG4bK-one' }), A);
    transport.deliver(request('OPTIONS', A, { branch: 'z9hG4bK-two' }), A);
    // Same branch from another sent-by is another transaction too (§17.2.3).
    transport.deliver(request('OPTIONS', { host: '127.0.0.9', port: 5061 }, { branch: 'z9hG4bK-one' }), A);
    expect(core.requests).toHaveLength(3);
    expect(layer.pending.server).toBe(3);
  });

  it('an RFC 2543 request (branch without the magic cookie) is matched on Request-URI, Call-ID, From tag, CSeq and Via', () => {
    const { layer, transport, core } = single();
    const old = request('OPTIONS', A, { branch: '1234' });
    transport.deliver(old, A);
    transport.deliver(old, A);
    expect(core.requests).toHaveLength(1);
    expect(layer.stats.retransmissionsReceived).toBe(1);
    const next = request('OPTIONS', A, { branch: '1234', cseq: 2 });
    transport.deliver(next, A);
    const otherUri = request('OPTIONS', A, { branch: '1234' });
    otherUri.requestUri = 'sip:carol@127.0.0.1:5062';
    transport.deliver(otherUri, A);
    expect(core.requests).toHaveLength(3);
  });
});

describe('requests the layer answers itself', () => {
  it('a request without Call-ID gets 400 with the reason in the reason phrase, counted in stats.malformed (RFC 3261 §8.2)', () => {
    const { layer, transport, core } = single();
    const req = request('OPTIONS');
    req.remove('Call-ID');
    transport.deliver(req, A);
    expect(layer.stats.malformed).toBe(1);
    expect(core.requests).toHaveLength(0);
    const [res] = transport.responses();
    expect(res.msg.status).toBe(400);
    expect(res.msg.reason).toBe('Bad Request (missing Call-ID header)');
    expect(res.dest).toEqual(A);
    expect(res.msg.has('call-id')).toBe(false); // not sent empty
    expect(res.msg.topVia.branch).toBe(req.topVia.branch); // so the client can match it (§17.1.3)
    expect(res.msg.cseq).toEqual({ seq: 1, method: 'OPTIONS' });
    expect(core.rejected).toEqual([{ method: 'OPTIONS', status: 400, reason: 'missing Call-ID header' }]);
  });

  it.each([
    ['From', 'missing From header'],
    ['To', 'missing To header'],
  ])('a request without %s gets 400 (%s)', (header, reason) => {
    const { layer, transport } = single();
    const req = request('INVITE');
    req.remove(header);
    transport.deliver(req, A);
    expect(layer.stats.malformed).toBe(1);
    const [res] = transport.responses();
    expect([res.msg.status, res.msg.reason]).toEqual([400, `Bad Request (${reason})`]);
    expect(res.msg.has(header)).toBe(false);
  });

  it('a request whose CSeq method differs from its method gets 400 naming both', () => {
    const { transport } = single();
    const req = request('OPTIONS');
    req.set('CSeq', '1 INFO');
    transport.deliver(req, A);
    expect(transport.responses(400)[0].msg.reason).toBe('Bad Request (CSeq method INFO does not match request method OPTIONS)');
  });

  it('a malformed ACK is counted but never answered (§17.2.1: no response to ACK)', () => {
    const { layer, transport } = single();
    const ack = request('ACK');
    ack.remove('Call-ID');
    transport.deliver(ack, A);
    expect(layer.stats.malformed).toBe(1);
    expect(transport.sent).toHaveLength(0);
  });

  it('over maxServerTransactions new requests get 503 and count in stats.overCapacity; pending ones still match', () => {
    const { clock, layer, transport, core } = single({ maxServerTransactions: 2 });
    const first = request('OPTIONS');
    transport.deliver(first, A);
    transport.deliver(request('OPTIONS'), A);
    transport.deliver(request('OPTIONS'), A);
    transport.deliver(request('INVITE'), A);
    expect(core.requests).toHaveLength(2);
    expect(layer.stats.overCapacity).toBe(2);
    expect(transport.responses(503)).toHaveLength(2);
    expect(core.rejected.map((r) => r.status)).toEqual([503, 503]);
    // A retransmission of a pending request is not a new transaction: absorbed, no 503.
    transport.deliver(first, A);
    expect(layer.stats.overCapacity).toBe(2);
    // A completed transaction still holds its place until Timer J ends it; then there is room.
    core.requests[0].tx!.respond(createResponse(first, 200, { toTag: 't' }));
    transport.deliver(request('OPTIONS'), A);
    expect(layer.stats.overCapacity).toBe(3);
    clock.advance(32_000);
    transport.deliver(request('OPTIONS'), A);
    expect(layer.stats.overCapacity).toBe(3);
    expect(core.requests).toHaveLength(3);
  });

  it('with no TU every new request gets 501, an INVITE included (it would otherwise stay in Proceeding forever)', () => {
    const clock = new FakeClock();
    const layer = new TransactionLayer({ clock });
    const transport = new FakeTransport({ clock, local: B });
    layer.addTransport(transport);
    transport.deliver(request('INVITE'), A);
    transport.deliver(request('OPTIONS'), A);
    expect(transport.sent.map((d) => d.msg.status)).toEqual([100, 501, 501]);
  });

  it('CANCEL matches its INVITE server transaction with findInviteFor (same branch, §9.2); other branches do not', () => {
    const { layer, transport, core } = single();
    const invite = request('INVITE');
    transport.deliver(invite, A);
    const cancel = createCancel(invite);
    transport.deliver(cancel, A);
    expect(core.requests.map((r) => r.req.method)).toEqual(['INVITE', 'CANCEL']);
    const [inv, can] = core.requests;
    expect(can.tx).not.toBe(inv.tx); // CANCEL has a server transaction of its own
    expect(layer.findInviteFor(can.req)).toBe(inv.tx);
    const stranger = createCancel(request('INVITE'));
    expect(layer.findInviteFor(stranger)).toBeUndefined();
  });

  it('an ACK that matches no transaction (the ACK for a 2xx) goes to the core without a transaction', () => {
    const { transport, core } = single();
    transport.deliver(request('ACK'), A);
    expect(core.requests).toHaveLength(1);
    expect(core.requests[0].tx).toBeUndefined();
    expect(transport.sent).toHaveLength(0);
  });
});

describe('recovery from lost messages over an unreliable transport', () => {
  it('a lost request is retransmitted at T1 and the retransmission completes the transaction', () => {
    const { clock, ta, coreB, tu, send, a } = pair();
    coreB.answer = 200;
    ta.dropNext((d) => d.msg.method === 'OPTIONS');
    const tx = send(request('OPTIONS'));
    clock.advance(499);
    expect(coreB.requests).toHaveLength(0);
    clock.advance(1 + 10 + 10); // the retransmission at 500, 10 ms there, 10 ms back
    expect(tu.statuses).toEqual([200]);
    expect(tx.state).toBe('completed');
    expect(ta.requests('OPTIONS').map((d) => [d.at, d.dropped])).toEqual([[0, true], [500, false]]);
    clock.advance(5000);
    expect(a.pending.client).toBe(0);
  });

  it('a lost 200 is recovered: the client retransmits, the server transaction re-sends its last response', () => {
    const { clock, tb, coreB, tu, send } = pair();
    coreB.answer = 200;
    tb.dropNext((d) => d.msg.status === 200);
    send(request('OPTIONS'));
    clock.advance(499);
    expect(tu.statuses).toEqual([]);
    clock.advance(30);
    expect(tu.statuses).toEqual([200]);
    expect(coreB.requests).toHaveLength(1); // the server TU answered once
    expect(tb.responses(200).map((d) => [d.at, d.dropped])).toEqual([[10, true], [510, false]]);
  });

  it('a lost 486 is recovered by Timer G, and the ACK for it stops Timer G', () => {
    const { clock, ta, tb, coreB, tu, send } = pair();
    coreB.answer = 486;
    tb.dropNext((d) => d.msg.status === 486);
    const tx = send(request('INVITE'));
    clock.advance(100); // 100 Trying arrives at 20: Timer A stops
    expect(tu.statuses).toEqual([100]);
    clock.advance(10_000);
    expect(tu.statuses).toEqual([100, 486]);
    expect(tx.state).toBe('completed');
    expect(ta.requests('ACK')).toHaveLength(1);
    // Sent at 10 (lost), Timer G at 510 reaches A at 520, ACK reaches B at 530.
    expect(tb.responses(486).map((d) => d.at)).toEqual([10, 510]);
    expect(ta.requests('INVITE')).toHaveLength(1);
  });

  it('a lost ACK for a 486 is recovered: Timer G re-sends the 486 and the client ACKs again without telling its TU', () => {
    const { clock, ta, tb, coreB, tu, send } = pair();
    coreB.answer = 486;
    ta.dropNext((d) => d.msg.method === 'ACK');
    send(request('INVITE'));
    clock.advance(1000);
    expect(tu.statuses).toEqual([100, 486]);
    expect(ta.requests('ACK').map((d) => [d.at, d.dropped])).toEqual([[20, true], [520, false]]);
    expect(coreB.requests[0].tx!.state).toBe('confirmed');
    clock.advance(10_000);
    expect(tb.responses(486).map((d) => d.at)).toEqual([10, 510]);
    expect(coreB.requests[0].tx!.state).toBe('terminated'); // Timer I
  });
});
