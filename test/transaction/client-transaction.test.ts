/**
 * RFC 3261 §17.1 client transactions (with RFC 6026 Accepted) over an in-memory transport on a
 * fake clock: every retransmission time is asserted to the millisecond, nothing waits.
 */
import { describe, expect, it } from 'vitest';
import { StateError } from '../../src/errors.js';
import { createRequest, createResponse } from '../../src/sip/builders.js';
import { newBranch } from '../../src/sip/ids.js';
import type { SipMessage } from '../../src/sip/message.js';
import type { ClientTransaction } from '../../src/transaction/client-transaction.js';
import { FakeClock } from '../../src/transaction/clock.js';
import { retransmitSchedule } from '../../src/transaction/timers.js';
import { TransactionLayer } from '../../src/transaction/transaction-layer.js';
import type { ClientTransactionUser, ServerTransactionUser } from '../../src/transaction/transaction-user.js';
import type { Address } from '../../src/transport/transport.js';
import { FakeTransport } from '../support/fake-transport.js';

const UAC: Address = { host: '192.0.2.10', port: 5060 };
const UAS: Address = { host: '192.0.2.20', port: 5060 };

/** A TU that records everything a client transaction tells it. */
class RecordingClientUser implements ClientTransactionUser {
  readonly responses: SipMessage[] = [];
  timeouts = 0;
  readonly transportErrors: Error[] = [];
  onResponse(res: SipMessage): void {
    this.responses.push(res);
  }
  onTimeout(): void {
    this.timeouts++;
  }
  onTransportError(_tx: ClientTransaction, err: Error): void {
    this.transportErrors.push(err);
  }
  get statuses(): number[] {
    return this.responses.map((r) => r.status);
  }
}

function setup(opts: { reliable?: boolean } = {}) {
  const clock = new FakeClock();
  const layer = new TransactionLayer({ clock });
  const transport = new FakeTransport({ clock, reliable: opts.reliable ?? false, local: UAC });
  layer.addTransport(transport);
  const strays: SipMessage[] = [];
  const serverUser: ServerTransactionUser = { onRequest() {}, onStrayResponse: (r) => strays.push(r) };
  layer.user = serverUser;
  const tu = new RecordingClientUser();
  const proto = opts.reliable ? 'TCP' : 'UDP';
  const send = (method: string): { tx: ClientTransaction; req: SipMessage } => {
    const req = createRequest({
      method,
      uri: 'sip:bob@192.0.2.20',
      from: '<sip:alice@192.0.2.10>;tag=a1',
      to: '<sip:bob@192.0.2.20>',
      callId: 'call-1@192.0.2.10',
      cseq: 1,
      via: `SIP/2.0/${proto} 192.0.2.10:5060;branch=${newBranch()};rport`,
      contact: method === 'INVITE' ? '<sip:alice@192.0.2.10:5060>' : undefined,
      headers: [['Route', '<sip:proxy.example.com;lr>']],
    });
    const tx = layer.sendRequest(req, { transport, dest: UAS }, tu);
    return { tx, req };
  };
  /** The peer answers `req` (the message comes in from UAS). */
  const answer = (req: SipMessage, status: number, toTag = 'b1'): void => {
    transport.deliver(createResponse(req, status, { toTag }), UAS);
  };
  const sendTimes = (method: string): number[] => transport.requests(method).map((d) => d.at);
  return { clock, layer, transport, tu, send, answer, sendTimes, strays };
}

describe('INVITE client transaction (RFC 3261 §17.1.1)', () => {
  it('over UDP retransmits the INVITE at 500, 1500, 3500, 7500, 15500 and 31500 ms (Timer A doubles, §17.1.1.2)', () => {
    const { clock, send, sendTimes, tu } = setup();
    const { tx } = send('INVITE');
    clock.advance(31_999);
    expect(sendTimes('INVITE')).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(sendTimes('INVITE').slice(1)).toEqual(retransmitSchedule('A'));
    expect(tx.retransmissions).toBe(6);
    expect(tx.state).toBe('calling');
    expect(tu.timeouts).toBe(0);
  });

  it('Timer B fires at 64*T1 = 32 s: the transaction terminates and the TU is told of the timeout once', () => {
    const { clock, layer, send, sendTimes, tu } = setup();
    const { tx } = send('INVITE');
    clock.advance(32_000);
    expect(tu.timeouts).toBe(1);
    expect(tx.state).toBe('terminated');
    expect(layer.pending.client).toBe(0);
    expect(layer.stats.timeouts).toBe(1);
    clock.advance(120_000);
    expect(tu.timeouts).toBe(1);
    expect(sendTimes('INVITE')).toHaveLength(7); // nothing after Timer B
  });

  it('over a reliable transport MUST NOT start Timer A (no retransmissions), and Timer B still fires at 32 s', () => {
    const { clock, send, sendTimes, tu } = setup({ reliable: true });
    const { tx } = send('INVITE');
    clock.advance(31_999);
    expect(sendTimes('INVITE')).toEqual([0]);
    expect(tu.timeouts).toBe(0);
    clock.advance(1);
    expect(tu.timeouts).toBe(1);
    expect(tx.state).toBe('terminated');
  });

  it('a provisional response moves Calling to Proceeding and stops retransmissions (§17.1.1.2)', () => {
    const { clock, send, answer, sendTimes, tu } = setup();
    const { tx, req } = send('INVITE');
    clock.advance(600); // one retransmission at 500
    answer(req, 100);
    answer(req, 180);
    expect(tx.state).toBe('proceeding');
    clock.advance(100_000);
    expect(sendTimes('INVITE')).toEqual([0, 500]);
    // Every provisional goes to the TU; Timer B bounds Calling only, so no timeout in Proceeding.
    expect(tu.statuses).toEqual([100, 180]);
    expect(tu.timeouts).toBe(0);
    expect(tx.state).toBe('proceeding');
  });

  it('a 486 is acknowledged by the transaction: ACK on the same branch, To with the response tag, CSeq method ACK (§17.1.1.3)', () => {
    const { transport, send, answer, tu } = setup();
    const { tx, req } = send('INVITE');
    answer(req, 180);
    answer(req, 486, 'busy-tag');
    expect(tx.state).toBe('completed');
    expect(tu.statuses).toEqual([180, 486]);
    const acks = transport.requests('ACK');
    expect(acks).toHaveLength(1);
    const ack = acks[0].msg;
    expect(acks[0].dest).toEqual(UAS); // same address as the INVITE
    expect(ack.requestUri).toBe(req.requestUri);
    expect(ack.getAll('via')).toHaveLength(1);
    expect(ack.topVia.branch).toBe(req.topVia.branch);
    expect(ack.toTag).toBe('busy-tag');
    expect(ack.get('from')).toBe(req.get('from'));
    expect(ack.callId).toBe(req.callId);
    expect(ack.cseq).toEqual({ seq: req.cseq.seq, method: 'ACK' });
    expect(ack.getAll('route')).toEqual(req.getAll('route')); // §17.1.1.3: the INVITE's Route headers
  });

  it('a retransmitted 486 gets the ACK again and is NOT passed to the TU (Completed, §17.1.1.2)', () => {
    const { layer, transport, send, answer, tu } = setup();
    const { tx, req } = send('INVITE');
    answer(req, 486);
    answer(req, 486);
    answer(req, 486);
    expect(transport.requests('ACK')).toHaveLength(3);
    const [first, ...again] = transport.requests('ACK').map((d) => d.bytes.toString());
    for (const b of again) expect(b).toBe(first);
    expect(tu.statuses).toEqual([486]);
    expect(tx.state).toBe('completed');
    expect(layer.stats.retransmissionsReceived).toBe(2);
  });

  it('a final response stops INVITE retransmissions and Timer B', () => {
    const { clock, send, answer, sendTimes, tu } = setup();
    const { req } = send('INVITE');
    clock.advance(2000);
    answer(req, 603);
    clock.advance(100_000);
    expect(sendTimes('INVITE')).toEqual([0, 500, 1500]);
    expect(tu.timeouts).toBe(0);
  });

  it('Timer D (32 s over UDP) ends Completed; a 486 after that is a stray response', () => {
    const { clock, layer, transport, send, answer, strays } = setup();
    const { tx, req } = send('INVITE');
    answer(req, 486);
    clock.advance(31_999);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(layer.pending.client).toBe(0);
    answer(req, 486);
    expect(transport.requests('ACK')).toHaveLength(1); // no transaction left to ACK it
    expect(layer.stats.strayResponses).toBe(1);
    expect(strays.map((r) => r.status)).toEqual([486]);
  });

  it('over a reliable transport Timer D is zero: Completed ends as soon as the ACK is sent', () => {
    const { transport, send, answer, tu } = setup({ reliable: true });
    const { tx, req } = send('INVITE');
    answer(req, 404);
    expect(transport.requests('ACK')).toHaveLength(1);
    expect(tu.statuses).toEqual([404]);
    expect(tx.state).toBe('terminated');
  });

  it('a 2xx moves to Accepted (RFC 6026 §8.4): the transaction sends no ACK, and every retransmitted 2xx IS passed to the TU', () => {
    const { clock, transport, send, answer, sendTimes, tu } = setup();
    const { tx, req } = send('INVITE');
    clock.advance(700);
    answer(req, 200);
    expect(tx.state).toBe('accepted');
    answer(req, 200);
    answer(req, 200);
    expect(tu.statuses).toEqual([200, 200, 200]);
    expect(transport.requests('ACK')).toHaveLength(0); // the ACK for a 2xx is the TU's (§13.2.2.4)
    clock.advance(50_000);
    expect(sendTimes('INVITE')).toEqual([0, 500]); // the 2xx stopped Timer A
    expect(tu.timeouts).toBe(0); // and Timer B
  });

  it('a 2xx from another fork in Accepted is passed to the TU as well (RFC 6026 §8.4)', () => {
    const { send, answer, tu } = setup();
    const { req } = send('INVITE');
    answer(req, 200, 'fork-1');
    answer(req, 200, 'fork-2');
    expect(tu.responses.map((r) => r.toTag)).toEqual(['fork-1', 'fork-2']);
  });

  it('Timer M (64*T1) ends Accepted; a 2xx after that goes to the core as a stray response', () => {
    const { clock, layer, send, answer, tu, strays } = setup();
    const { tx, req } = send('INVITE');
    answer(req, 200);
    clock.advance(31_999);
    expect(tx.state).toBe('accepted');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    answer(req, 200);
    expect(tu.statuses).toEqual([200]);
    expect(strays.map((r) => r.status)).toEqual([200]);
    expect(layer.stats.strayResponses).toBe(1);
  });

  it('a transport error in Calling ends the transaction and tells the TU once (§8.1.3.1)', () => {
    const { clock, layer, transport, send, tu, sendTimes } = setup();
    const { tx } = send('INVITE');
    layer.onSendError(new Error('ICMP port unreachable'), UAS, transport);
    expect(tx.state).toBe('terminated');
    expect(tu.transportErrors.map((e) => e.message)).toEqual(['ICMP port unreachable']);
    clock.advance(40_000);
    expect(sendTimes('INVITE')).toEqual([0]);
    expect(tu.timeouts).toBe(0);
  });

  it('an illegal transition throws StateError: a transaction cannot be started twice', () => {
    const { send } = setup();
    const { tx } = send('INVITE');
    expect(() => tx.start()).toThrow(StateError);
  });
});

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  it('Timer E: retransmits at 500, 1500, 3500, 7500, then every T2 = 4 s (11500 … 31500); Timer F at 32 s times out', () => {
    const { clock, send, sendTimes, tu, layer } = setup();
    const { tx } = send('OPTIONS');
    clock.advance(31_999);
    const expected = [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500];
    expect(sendTimes('OPTIONS')).toEqual([0, ...expected]);
    expect(expected).toEqual(retransmitSchedule('E'));
    expect(tu.timeouts).toBe(0);
    clock.advance(1);
    expect(tu.timeouts).toBe(1);
    expect(tx.state).toBe('terminated');
    expect(layer.stats.timeouts).toBe(1);
    clock.advance(60_000);
    expect(sendTimes('OPTIONS')).toHaveLength(11);
    expect(tu.timeouts).toBe(1);
  });

  it('over a reliable transport Timer E is not started; Timer F still fires at 64*T1', () => {
    const { clock, send, sendTimes, tu } = setup({ reliable: true });
    send('REGISTER');
    clock.advance(32_000);
    expect(sendTimes('REGISTER')).toEqual([0]);
    expect(tu.timeouts).toBe(1);
  });

  it('after a provisional response (Proceeding), Timer E MUST be reset with T2: retransmissions every 4 s (§17.1.2.2)', () => {
    const { clock, send, answer, sendTimes, tu } = setup();
    const { tx, req } = send('OPTIONS');
    clock.advance(600);
    answer(req, 100);
    expect(tx.state).toBe('proceeding');
    clock.advance(31_399); // to 31999
    // The E armed in Trying still fires at 1500; from then on T2.
    expect(sendTimes('OPTIONS')).toEqual([0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500]);
    expect(sendTimes('OPTIONS').slice(1)).toEqual(retransmitSchedule('E', undefined, undefined, { provisionalAt: 600 }));
    // Timer F still bounds Proceeding.
    clock.advance(1);
    expect(tu.statuses).toEqual([100]);
    expect(tu.timeouts).toBe(1);
  });

  it('a final response moves to Completed; retransmitted finals are absorbed; Timer K (T4 = 5 s) terminates', () => {
    const { clock, layer, send, answer, sendTimes, tu } = setup();
    const { tx, req } = send('OPTIONS');
    clock.advance(1000);
    answer(req, 200);
    expect(tx.state).toBe('completed');
    answer(req, 200);
    answer(req, 200);
    expect(tu.statuses).toEqual([200]);
    expect(layer.stats.retransmissionsReceived).toBe(2);
    clock.advance(4999);
    expect(tx.state).toBe('completed');
    expect(sendTimes('OPTIONS')).toEqual([0, 500]); // no retransmission in Completed
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(layer.pending.client).toBe(0);
    expect(tu.timeouts).toBe(0);
  });

  it('over a reliable transport Timer K is zero: the final response terminates the transaction', () => {
    const { send, answer, tu } = setup({ reliable: true });
    const { tx, req } = send('BYE');
    answer(req, 200);
    expect(tu.statuses).toEqual([200]);
    expect(tx.state).toBe('terminated');
  });

  it('a response matches by top Via branch and CSeq method (§17.1.3): a CANCEL response does not reach the INVITE', () => {
    const { layer, send, tu, transport } = setup();
    const { req } = send('INVITE');
    const res = createResponse(req, 200, { toTag: 'x' });
    res.set('CSeq', `${req.cseq.seq} CANCEL`);
    transport.deliver(res, UAS);
    expect(tu.responses).toHaveLength(0);
    expect(layer.stats.strayResponses).toBe(1);
  });

  it('sending an ACK or a second request on a pending branch is refused', () => {
    const { layer, transport, send, tu } = setup();
    const { req } = send('OPTIONS');
    expect(() => layer.sendRequest(req, { transport, dest: UAS }, tu)).toThrow(/already pending/);
    const ack = req.clone();
    ack.method = 'ACK';
    ack.set('CSeq', '1 ACK');
    expect(() => layer.sendRequest(ack, { transport, dest: UAS }, tu)).toThrow(/sendStateless/);
  });
});
