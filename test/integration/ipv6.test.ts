/**
 * A basic call over the IPv6 loopback `::1`, UDP and TCP: between two sipwright UAs, and against
 * real SIPp bound to `::1`. IPv6 references are bracketed wherever SIP writes a host — Via
 * sent-by, Contact, Request-URI, From/To (RFC 3261 §19.1.1 / §25.1 `IPv6reference`, RFC 5118
 * §4.1) — and never in the socket address.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserAgent } from '../../src/dialog/user-agent.js';
import type { UasCall } from '../../src/dialog/uas-call.js';
import { freePorts } from '../support/ports.js';

/** True when this machine has the IPv6 loopback (a container may have IPv6 turned off). */
const hasV6Loopback = Object.values(networkInterfaces())
  .flat()
  .some((i) => i !== undefined && i.family === 'IPv6' && i.internal && i.address === '::1');
const SKIPPED = hasV6Loopback ? '' : ' (SKIPPED: this machine has no IPv6 loopback ::1)';

const SDP6 = 'v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

const open: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function ua(transport: 'udp' | 'tcp', user: string): Promise<UserAgent> {
  const a = await UserAgent.create({ transport, host: '::1', user });
  open.push(a);
  return a;
}

interface Sipp6 {
  port: number;
  exited: Promise<{ code: number | null; output: string }>;
}

/**
 * SIPp bound to ::1 (`-i ::1`, media on `-mi ::1`); a UAC gets `[::1]:port` as its remote.
 * Stopped by PID after the test.
 */
async function startSipp6(opts: { scenario: 'uas' | 'uac'; transport: 'udp' | 'tcp'; remote?: string }): Promise<Sipp6> {
  const [port, cp, mp] = await freePorts(3, '::1');
  const dir = mkdtempSync(join(tmpdir(), 'sipp6-'));
  const args = [
    '-sn', opts.scenario,
    ...(opts.remote ? [opts.remote] : []),
    '-i', '::1',
    '-p', String(port),
    '-cp', String(cp),
    '-mp', String(mp),
    '-mi', '::1',
    '-t', opts.transport === 'tcp' ? 't1' : 'u1',
    '-m', '1',
    '-timeout', '20s',
    '-timeout_error',
    '-nostdin',
    '-trace_err',
    '-error_file', join(dir, 'errors.log'),
    ...(opts.transport === 'tcp' ? ['-reconnect_close', 'false'] : []),
  ];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d.toString()));
  child.stderr.on('data', (d) => (output += d.toString()));
  let done = false;
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => {
    child.on('exit', (code) => {
      done = true;
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output });
    });
  });
  open.push({
    close: () => {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
    },
  });
  if (opts.scenario === 'uas') {
    for (let i = 0; i < 60 && !done && !(await taken6(port, opts.transport)); i++) await new Promise((r) => setTimeout(r, 50));
    if (done) throw new Error(`sipp exited before it was ready:\n${(await exited).output}`);
  }
  return { port, exited };
}

/** True when something is bound to [::1]:port for this protocol. */
function taken6(port: number, transport: 'udp' | 'tcp'): Promise<boolean> {
  return new Promise((resolve) => {
    if (transport === 'udp') {
      const s = dgram.createSocket({ type: 'udp6', ipv6Only: true });
      s.once('error', () => resolve(true));
      s.bind(port, '::1', () => s.close(() => resolve(false)));
    } else {
      const srv = net.createServer();
      srv.once('error', () => resolve(true));
      srv.listen(port, '::1', () => srv.close(() => resolve(false)));
    }
  });
}

for (const transport of ['udp', 'tcp'] as const) {
  const T = transport.toUpperCase();
  const tp = transport === 'tcp' ? ';transport=tcp' : '';

  describe.skipIf(!hasV6Loopback)(`a basic call over ${T} on ::1 (RFC 5118)${SKIPPED}`, () => {
    it('between two UAs: INVITE/200/ACK/BYE with [::1] in the Request-URI, Via sent-by and Contact', async () => {
      const alice = await ua(transport, 'alice');
      const bob = await ua(transport, 'bob');
      expect(alice.local.host).toBe('::1'); // the socket address is bare
      const bobCall = new Promise<UasCall>((resolve) => {
        bob.onInvite = (call) => {
          call.respond(180);
          call.respond(200, { body: SDP6, contentType: 'application/sdp' });
          resolve(call);
        };
      });
      const uri = `sip:bob@[::1]:${bob.local.port}${tp}`;
      const call = alice.invite(uri, { body: SDP6 });
      const final = await call.waitFinal(5_000);
      expect(final?.status).toBe(200);
      expect(call.state).toBe('established');

      const inv = (await bobCall).invite;
      expect(inv.requestUri).toBe(uri);
      expect(inv.get('via')).toMatch(new RegExp(`^SIP/2\\.0/${T} \\[::1\\]:${alice.local.port};branch=z9hG4bK`));
      expect(inv.get('contact')).toBe(`<sip:alice@[::1]:${alice.local.port}${tp}>`);
      expect(inv.get('from')).toMatch(new RegExp(`^<sip:alice@\\[::1\\]:${alice.local.port}>;tag=`));
      expect(inv.origin).toMatchObject({ protocol: transport, remoteHost: '::1', localHost: '::1', localPort: bob.local.port });
      expect(final?.get('contact')).toBe(`<sip:bob@[::1]:${bob.local.port}${tp}>`);
      // The ACK goes to bob's Contact: the remote target parsed out of an IPv6 reference (§12.1.2).
      const ack = await (await bobCall).waitAck(5_000);
      expect(ack?.requestUri).toBe(`sip:bob@[::1]:${bob.local.port}${tp}`);

      const bye = await call.bye();
      expect(bye.status).toBe(200);
      expect(bye.request.get('via')).toContain(`[::1]:${alice.local.port}`);
      expect([alice.dialogCount, bob.dialogCount]).toEqual([0, 0]);
    });
  });

  describe.skipIf(!hasV6Loopback)(`against SIPp 3.6 bound to ::1 over ${T}${SKIPPED}`, () => {
    it('our UAC completes a call to `sipp -sn uas -i ::1`, which exits 0', async () => {
      const sipp = await startSipp6({ scenario: 'uas', transport });
      const alice = await ua(transport, 'alice');
      const call = alice.invite(`sip:service@[::1]:${sipp.port}${tp}`, { body: SDP6 });
      const final = await call.waitFinal(10_000);
      expect(final?.status).toBe(200);
      expect(final?.origin?.remoteHost).toBe('::1');
      const bye = await call.bye();
      expect(bye.status).toBe(200);
      const { code, output } = await sipp.exited;
      expect(code, output).toBe(0);
    });

    it('`sipp -sn uac [::1]:port -i ::1` completes a call to our UAS, which exits 0', async () => {
      const bob = await ua(transport, 'bob');
      const seen: string[] = [];
      const done = new Promise<void>((resolve) => {
        bob.onInvite = async (call) => {
          seen.push(`INVITE via ${call.invite.topVia.host}`);
          call.respond(180);
          call.respond(200, { body: SDP6, contentType: 'application/sdp' });
          if (await call.waitAck(10_000)) seen.push('ACK');
          if (await call.nextRequest(10_000, 'BYE')) seen.push('BYE');
          resolve();
        };
      });
      const sipp = await startSipp6({ scenario: 'uac', transport, remote: `[::1]:${bob.local.port}` });
      await done;
      const { code, output } = await sipp.exited;
      expect(code, output).toBe(0);
      expect(seen).toEqual(['INVITE via [::1]', 'ACK', 'BYE']);
    });
  });
}
