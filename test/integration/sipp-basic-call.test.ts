/**
 * The basic call (INVITE / 100 / 180 / 200 / ACK / BYE / 200) against real SIPp on loopback,
 * both directions, over UDP and TCP (RFC 3261 §13, §15).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UserAgent } from '../../src/dialog/user-agent.js';
import { startSipp, type SippRun } from '../support/sipp.js';

const running: Array<{ stop(): void }> = [];
const agents: UserAgent[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) r.stop();
  for (const a of agents.splice(0)) await a.close();
});

for (const transport of ['udp', 'tcp'] as const) {
  describe(`basic call over ${transport.toUpperCase()}`, () => {
    it('our UAC completes a call to `sipp -sn uas`, which exits 0', async () => {
      const sipp: SippRun = await startSipp({ scenario: 'uas', transport });
      running.push(sipp);
      const ua = await UserAgent.create({ transport });
      agents.push(ua);

      const call = ua.invite(`sip:service@127.0.0.1:${sipp.port}${transport === 'tcp' ? ';transport=tcp' : ''}`, {
        body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n',
      });
      const final = await call.waitFinal(10_000);
      expect(final?.status).toBe(200);
      // SIPp's uas sends 180 before the 200; 100 Trying is optional in its scenario.
      expect(call.inbox.received.map((m) => m.status)).toContain(180);
      expect(call.state).toBe('established');

      const bye = await call.bye();
      expect(bye.status).toBe(200);
      const { code, output } = await sipp.exited;
      expect(code, output).toBe(0);
      expect(ua.dialogCount).toBe(0);
    });

    it('`sipp -sn uac` completes a call to our UAS, which answers and takes its BYE', async () => {
      const ua = await UserAgent.create({ transport });
      agents.push(ua);
      const seen: string[] = [];
      const done = new Promise<void>((resolve) => {
        ua.onInvite = async (call) => {
          seen.push('INVITE');
          call.respond(180);
          call.respond(200, {
            body: 'v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6002 RTP/AVP 0\r\n',
            contentType: 'application/sdp',
          });
          const ack = await call.waitAck(10_000);
          if (ack) seen.push('ACK');
          const bye = await call.nextRequest(10_000, 'BYE');
          if (bye) seen.push('BYE');
          resolve();
        };
      });
      const sipp = await startSipp({ scenario: 'uac', transport, remote: `127.0.0.1:${ua.local.port}` });
      running.push(sipp);
      await done;
      const { code, output } = await sipp.exited;
      expect(code, output).toBe(0);
      expect(seen).toEqual(['INVITE', 'ACK', 'BYE']);
    });
  });
}
