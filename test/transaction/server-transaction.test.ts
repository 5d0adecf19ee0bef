/**
 * RFC 3261 §17.2 server transactions (with RFC 6026 Accepted) over an in-memory transport on a
 * fake clock. Requests come in through the fake transport from a peer address; the TU records.
 */
import { describe, expect, it } from 'vitest';
import { StateError } from '../../src/errors.js';
import { createNonSuccessAck, createRequest, createResponse } from '../../src/sip/builders.js';
import { newBranch } from '../../src/sip/ids.js';
import type { SipMessage } from '../../src/sip/message.js';
import { FakeClock } from '../../src/transaction/clock.js';
import type { ServerTransaction } from '../../src/transaction/server-transaction.js';
import { retransmitSchedule } from '../../src/transaction/timers.js';
import { TransactionLayer } from '../../src/transaction/transaction-layer.js';
import type { ServerTransactionUser } from '../../src/transaction/transaction-user.js';
import type { Address } from '../../src/transport/transport.js';
import { FakeTransport } from '../support/fake-transport.js';

const UAS: Address = { host: '192.0.2.20', port: 5060 };
const PEER: Address = { host: '192.0.2.10', port: 5060 };

/** The UA core stand-in: records requests and Timer H reports; answers nothing by itself. */
class RecordingServerUser implements ServerTransactionUser {
  readonly requests: Array<{ req: SipMessage; tx: ServerTransaction | undefined }> = [];
  readonly ackTimeouts: ServerTransaction[] = [];
  onRequest(req: SipMessage, tx: ServerTransaction | undefined): void {
    this.requests.push({ req, tx });
  }
  onAckTimeout(tx: ServerTransaction): void {
    this.ackTimeouts.push(tx);
  }
  get methods(): string[] {
    return this.requests.map((r) => r.req.method);
  }
  /** The server transaction of the first request received. */
  get tx(): ServerTransaction {
    const tx = this.requests[0]?.tx;
    if (!tx) throw new Error('no server transaction was created');
    return tx;
  }
}

function setup(opts: { reliable?: boolean; autoTrying?: boolean } = {}) {
  const clock = new FakeClock();
  const layer = new TransactionLayer({ clock, autoTrying: opts.autoTrying });
  const transport = new FakeTransport({ clock, reliable: opts.reliable ?? false, local: UAS });
  layer.addTransport(transport);
  const tu = new RecordingServerUser();
  layer.user = tu;
  const proto = opts.reliable ? 'TCP' : 'UDP';
  /** A request as the peer at PEER would send it. */
  const build = (method: string, via?: string): SipMessage =>
    createRequest({
      method,
      uri: 'sip:bob@192.0.2.20',
      from: '<sip:alice@192.0.2.10>;tag=a1',
      to: '<sip:bob@192.0.2.20>',
      callId: 'call-1@192.0.2.10',
      cseq: 1,
      via: via ?? `SIP/2.0/${proto} 192.0.2.10:5060;branch=${newBranch()};rport`,
      contact: method === 'INVITE' ? '<sip:alice@192.0.2.10:5060>' : undefined,
    });
  const receive = (req: SipMessage, from: Address = PEER): SipMessage => {
    const got = transport.deliver(req, from);
    if (!got) throw new Error('request did not parse');
    return got;
  };
  /** The TU answers the first request. */
  const respond = (status: number): SipMessage => {
    const { req, tx } = tu.requests[0];
    const res = createResponse(req, status, { toTag: 'b1' });
    tx!.respond(res);
    return res;
  };
  const sendTimes = (status: number): number[] => transport.responses(status).map((d) => d.at);
  return { clock, layer, transport, tu, build, receive, respond, sendTimes };
}

describe('INVITE server transaction (RFC 3261 §17.2.1)', () => {
  it('MUST send 100 Trying at once when the TU may not answer within 200 ms (autoTrying); the TU gets the INVITE', () => {
    const { transport, tu, build, receive } = setup();
    receive(build('INVITE'));
    expect(transport.sent.map((d) => [d.at, d.msg.status])).toEqual([[0, 100]]);
    expect(transport.sent[0].msg.toTag).toBeUndefined(); // §8.2.6.2: no To tag needed on 100
    expect(tu.methods).toEqual(['INVITE']);
    expect(tu.tx.state).toBe('proceeding');
  });

  it('without autoTrying nothing is sent until the TU answers', () => {
    const { transport, tu, build, receive } = setup({ autoTrying: false });
    receive(build('INVITE'));
    expect(transport.sent).toHaveLength(0);
    expect(tu.methods).toEqual(['INVITE']);
  });

  it('a retransmitted INVITE is absorbed and answered with the last provisional; the TU sees the INVITE only once', () => {
    const { layer, transport, tu, build, receive, respond } = setup();
    const invite = build('INVITE');
    receive(invite);
    receive(invite);
    expect(transport.sent.map((d) => d.msg.status)).toEqual([100, 100]);
    respond(180);
    receive(invite);
    expect(transport.sent.map((d) => d.msg.status)).toEqual([100, 100, 180, 180]);
    expect(transport.sent[3].bytes.equals(transport.sent[2].bytes)).toBe(true);
    expect(tu.methods).toEqual(['INVITE']);
    expect(tu.tx.requestRetransmissions).toBe(2);
    expect(layer.stats.retransmissionsReceived).toBe(2);
  });

  it('Timer G retransmits a 486 at 500, 1500, 3500, 7500, 11500 … (capped at T2) until the ACK; the ACK moves to Confirmed', () => {
    const { clock, tu, build, receive, respond, sendTimes } = setup();
    const invite = build('INVITE');
    receive(invite);
    const res = respond(486);
    expect(tu.tx.state).toBe('completed');
    clock.advance(12_000);
    expect(sendTimes(486)).toEqual([0, 500, 1500, 3500, 7500, 11500]);
    receive(createNonSuccessAck(invite, res));
    expect(tu.tx.state).toBe('confirmed');
    clock.advance(30_000);
    expect(sendTimes(486)).toHaveLength(6); // the ACK stopped Timer G
    expect(tu.ackTimeouts).toHaveLength(0); // and Timer H
    expect(tu.methods).toEqual(['INVITE']); // the ACK for a non-2xx is the transaction's, not the TU's
  });

  it('without an ACK, Timer G runs its full schedule and Timer H (64*T1) fires onAckTimeout once', () => {
    const { clock, layer, tu, build, receive, respond, sendTimes } = setup();
    receive(build('INVITE'));
    clock.advance(1000); // the final is sent 1 s after the INVITE; G and H count from the final
    respond(486);
    clock.advance(31_999);
    expect(sendTimes(486)).toEqual([0, ...retransmitSchedule('G')].map((t) => t + 1000));
    expect(retransmitSchedule('G')).toEqual([500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(tu.ackTimeouts).toHaveLength(0);
    clock.advance(1);
    expect(tu.ackTimeouts).toEqual([tu.tx]);
    expect(tu.tx.state).toBe('terminated');
    expect(layer.pending.server).toBe(0);
    expect(layer.stats.timeouts).toBe(1);
    clock.advance(60_000);
    expect(tu.ackTimeouts).toHaveLength(1);
    expect(sendTimes(486)).toHaveLength(11);
  });

  it('Timer I (T4 = 5 s) ends Confirmed; ACK retransmissions in Confirmed are absorbed', () => {
    const { clock, layer, tu, build, receive, respond } = setup();
    const invite = build('INVITE');
    receive(invite);
    const res = respond(603);
    receive(createNonSuccessAck(invite, res));
    receive(createNonSuccessAck(invite, res));
    expect(tu.methods).toEqual(['INVITE']);
    expect(layer.stats.retransmissionsReceived).toBe(1);
    clock.advance(4999);
    expect(tu.tx.state).toBe('confirmed');
    clock.advance(1);
    expect(tu.tx.state).toBe('terminated');
    expect(layer.pending.server).toBe(0);
  });

  it('a retransmitted INVITE in Completed gets the final response again', () => {
    const { tu, build, receive, respond, sendTimes } = setup();
    const invite = build('INVITE');
    receive(invite);
    respond(486);
    receive(invite);
    expect(sendTimes(486)).toEqual([0, 0]);
    expect(tu.methods).toEqual(['INVITE']);
  });

  it('over a reliable transport Timer G is not started and Timer I is zero: the ACK terminates at once', () => {
    const { clock, tu, build, receive, respond, sendTimes } = setup({ reliable: true });
    const invite = build('INVITE');
    receive(invite);
    const res = respond(486);
    clock.advance(10_000);
    expect(sendTimes(486)).toEqual([0]);
    receive(createNonSuccessAck(invite, res));
    expect(tu.tx.state).toBe('terminated');
  });

  it('over a reliable transport Timer H still fires when the ACK never comes', () => {
    const { clock, tu, build, receive, respond } = setup({ reliable: true });
    receive(build('INVITE'));
    respond(486);
    clock.advance(32_000);
    expect(tu.ackTimeouts).toHaveLength(1);
  });

  it('a 2xx moves to Accepted (RFC 6026 §7.1): no Timer G, retransmitted INVITEs absorbed without a response, Timer L ends it', () => {
    const { clock, layer, transport, tu, build, receive, respond } = setup();
    const invite = build('INVITE');
    receive(invite);
    respond(200);
    expect(tu.tx.state).toBe('accepted');
    transport.clearSent();
    receive(invite);
    clock.advance(31_999);
    expect(transport.sent).toHaveLength(0); // the 2xx is the TU's to retransmit (§13.3.1.4)
    expect(tu.methods).toEqual(['INVITE']);
    expect(tu.tx.requestRetransmissions).toBe(1);
    expect(tu.tx.state).toBe('accepted');
    clock.advance(1);
    expect(tu.tx.state).toBe('terminated');
    expect(layer.pending.server).toBe(0);
  });

  it('in Accepted a 2xx retransmission passed by the TU MUST be sent (RFC 6026 §8.7)', () => {
    const { tu, build, receive, respond, sendTimes } = setup();
    receive(build('INVITE'));
    const ok = respond(200);
    tu.tx.respond(ok);
    expect(sendTimes(200)).toEqual([0, 0]);
    expect(tu.tx.state).toBe('accepted');
  });

  it('in Accepted an ACK matching the transaction is passed to the TU, not absorbed (RFC 6026 §7.1)', () => {
    const { tu, build, receive, respond } = setup();
    const invite = build('INVITE');
    receive(invite);
    const ok = respond(200);
    // A peer that reuses the INVITE's branch for the ACK of the 2xx (or an RFC 2543 peer).
    const ack = createNonSuccessAck(invite, ok);
    receive(ack);
    expect(tu.methods).toEqual(['INVITE', 'ACK']);
    expect(tu.requests[1].tx).toBeUndefined();
    expect(tu.tx.state).toBe('accepted');
  });

  it('responses go back to the source address and port of the request even when the Via says otherwise (RFC 3581 §4)', () => {
    const { transport, tu, build, receive, respond } = setup();
    const natted: Address = { host: '198.51.100.7', port: 40_123 };
    receive(build('INVITE', `SIP/2.0/UDP 10.0.0.9:5099;branch=${newBranch()};rport`), natted);
    respond(486);
    expect(transport.sent.map((d) => d.dest)).toEqual([natted, natted]);
    for (const d of transport.sent) {
      const via = d.msg.topVia;
      expect(via.received).toBe('198.51.100.7');
      expect(via.rport).toBe(40_123);
      expect(via.host).toBe('10.0.0.9'); // sent-by is left as the client wrote it
    }
    expect(tu.requests[0].tx!.hop.dest).toEqual(natted);
  });

  it('without rport, received is still added when sent-by differs from the source address (RFC 3261 §18.2.1)', () => {
    const { transport, build, receive } = setup();
    receive(build('INVITE', `SIP/2.0/UDP 10.0.0.9:5099;branch=${newBranch()}`), { host: '198.51.100.7', port: 5099 });
    const via = transport.sent[0].msg.topVia;
    expect(via.received).toBe('198.51.100.7');
    expect(via.rport).toBeUndefined();
  });

  it('an illegal transition throws StateError: no response after a final, no non-2xx after a 2xx', () => {
    const a = setup();
    a.receive(a.build('INVITE'));
    a.respond(486);
    expect(() => a.respond(486)).toThrow(StateError);
    expect(() => a.respond(180)).toThrow(StateError);
    expect(() => a.respond(200)).toThrow(StateError);

    const b = setup();
    b.receive(b.build('INVITE'));
    b.respond(200);
    expect(() => b.respond(486)).toThrow(StateError);
    expect(() => b.respond(183)).toThrow(StateError);
  });
});

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  it('a retransmitted request in Trying is absorbed: no response, the TU sees it once', () => {
    const { layer, transport, tu, build, receive } = setup();
    const options = build('OPTIONS');
    receive(options);
    receive(options);
    expect(transport.sent).toHaveLength(0);
    expect(tu.methods).toEqual(['OPTIONS']);
    expect(tu.tx.state).toBe('trying');
    expect(layer.stats.retransmissionsReceived).toBe(1);
  });

  it('in Proceeding a retransmission gets the last provisional response', () => {
    const { tu, build, receive, respond, sendTimes } = setup();
    const req = build('REGISTER');
    receive(req);
    respond(100);
    expect(tu.tx.state).toBe('proceeding');
    receive(req);
    expect(sendTimes(100)).toEqual([0, 0]);
  });

  it('after a final response (Completed) a retransmission gets the final again', () => {
    const { clock, tu, build, receive, respond, sendTimes } = setup();
    const req = build('OPTIONS');
    receive(req);
    respond(200);
    expect(tu.tx.state).toBe('completed');
    clock.advance(3000);
    receive(req);
    expect(sendTimes(200)).toEqual([0, 3000]);
    expect(tu.methods).toEqual(['OPTIONS']);
  });

  it('Timer J is 64*T1 over UDP: the same request after J is a new transaction for the TU', () => {
    const { clock, layer, tu, build, receive, respond } = setup();
    const req = build('OPTIONS');
    receive(req);
    respond(200);
    clock.advance(31_999);
    expect(tu.tx.state).toBe('completed');
    clock.advance(1);
    expect(tu.tx.state).toBe('terminated');
    expect(layer.pending.server).toBe(0);
    receive(req);
    expect(tu.methods).toEqual(['OPTIONS', 'OPTIONS']);
  });

  it('Timer J is zero over TCP: the final response terminates the transaction', () => {
    const { layer, tu, build, receive, respond } = setup({ reliable: true });
    receive(build('OPTIONS'));
    respond(200);
    expect(tu.tx.state).toBe('terminated');
    expect(layer.pending.server).toBe(0);
  });

  it('a server transaction never retransmits a non-INVITE response on its own', () => {
    const { clock, build, receive, respond, sendTimes } = setup();
    receive(build('OPTIONS'));
    respond(200);
    clock.advance(40_000);
    expect(sendTimes(200)).toEqual([0]);
  });

  it('an illegal transition throws StateError: a second final response', () => {
    const { build, receive, respond } = setup();
    receive(build('BYE'));
    respond(200);
    expect(() => respond(200)).toThrow(StateError);
    expect(() => respond(100)).toThrow(StateError);
  });
});
