/**
 * The scenario engine from TypeScript, as a vitest user writes it: a Party places a call and
 * awaits its responses; a failed expectation throws ExpectationFailed with the same one-line
 * message a YAML scenario reports. Against real SIPp peers on loopback.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExpectationFailed, Party } from '../../src/index.js';
import { startSipp, type SippRun } from '../support/sipp.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'sipp');
const SDP_OFFER = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

async function sipp(opts: Parameters<typeof startSipp>[0]): Promise<SippRun> {
  const run = await startSipp(opts);
  cleanup.push(() => run.stop());
  return run;
}

async function party(opts: Parameters<typeof Party.start>[0]): Promise<Party> {
  const p = await Party.start(opts);
  cleanup.push(() => p.close());
  return p;
}

describe('Party and Call from TypeScript', () => {
  it('phone.invite → expect(180) → expect(200) → hangup() against `sipp -sn uas`', async () => {
    const peer = await sipp({ scenario: 'uas' });
    const target = { host: '127.0.0.1', port: peer.port };
    const phone = await party({ name: 'phone', target });

    const call = phone.invite(`sip:service@127.0.0.1:${peer.port}`, { body: SDP_OFFER, contentType: 'application/sdp' });
    const ringing = await call.expect(180);
    const ok = await call.expect(200);
    const bye = await call.hangup();

    expect(ringing?.status).toBe(180);
    expect(ok?.status).toBe(200);
    expect(ok?.get('content-type')).toBe('application/sdp');
    expect(bye?.status).toBe(200);
    expect(call.uac?.state).toBe('terminated');
    // The party's ladder holds the whole exchange; SIPp completed its call.
    const lines = phone.ladder.map((e) => `${e.direction} ${e.bytes.toString().split('\r\n')[0]}`);
    expect(lines.filter((l) => l.startsWith('out ')).map((l) => l.split(' ')[1])).toEqual(['INVITE', 'ACK', 'BYE']);
    expect((await peer.exited).code).toBe(0);
  });

  it('expect(486) against the busy fixture', async () => {
    const peer = await sipp({ scenarioFile: join(fixtures, 'uas-busy.xml') });
    const phone = await party({ name: 'phone', target: { host: '127.0.0.1', port: peer.port } });

    const call = phone.invite(`sip:service@127.0.0.1:${peer.port}`);
    const busy = await call.expect(486);

    expect(busy?.reason).toBe('Busy Here');
    expect(call.uac?.state).toBe('failed');
    expect((await peer.exited).code).toBe(0);
  });

  it('expect(200) at a busy peer throws ExpectationFailed: expected 200, received 486 Busy Here', async () => {
    const peer = await sipp({ scenarioFile: join(fixtures, 'uas-busy.xml') });
    const phone = await party({ name: 'phone', target: { host: '127.0.0.1', port: peer.port } });

    const call = phone.invite(`sip:service@127.0.0.1:${peer.port}`);
    const err = await call.expect(200).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ExpectationFailed);
    expect((err as ExpectationFailed).message).toBe('expected 200, received 486 Busy Here');
    expect(err).toMatchObject({ expected: '200', received: '486 Busy Here' });
  });

  it('expect(200) from a peer that stays silent throws after the timeout given', async () => {
    const silent = await party({ name: 'silent', auto: { trying: false } });
    const phone = await party({ name: 'phone', target: silent.local });
    const call = phone.invite(`sip:service@127.0.0.1:${silent.local.port}`);
    await expect(call.expect(200, { timeoutMs: 300 })).rejects.toThrow(new ExpectationFailed('expected 200, received nothing within 0.3 s', { expected: '200', received: 'nothing within 0.3 s' }));
  });

  it('expect accepts a class and a list, and a timeout', async () => {
    const peer = await sipp({ scenario: 'uas' });
    const phone = await party({ name: 'phone', target: { host: '127.0.0.1', port: peer.port } });
    const call = phone.invite(`sip:service@127.0.0.1:${peer.port}`);
    expect((await call.expect([180, 183], { timeoutMs: 2000 }))?.status).toBe(180);
    expect((await call.expect('2xx', { timeoutMs: 2000 }))?.status).toBe(200);
    await call.hangup(2000);
  });

  it('the answering side: nextIncoming INVITE, respond 180 and 200, expectRequest ACK and BYE, against `sipp -sn uac`', async () => {
    const pbx = await party({ name: 'pbx' });
    const peer = await sipp({ scenario: 'uac', remote: `127.0.0.1:${pbx.local.port}` });

    const incoming = await pbx.nextIncoming('INVITE', 5000);
    expect(incoming?.msg.method).toBe('INVITE');
    const call = incoming!.call!;
    call.respond(180);
    call.respond(200, { body: SDP_OFFER, contentType: 'application/sdp' });
    expect((await call.expectRequest('ACK', { timeoutMs: 5000 }))?.method).toBe('ACK');
    expect((await call.expectRequest('BYE', { timeoutMs: 5000 }))?.method).toBe('BYE');
    expect((await peer.exited).code).toBe(0);
  });
});
