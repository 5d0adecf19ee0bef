/**
 * `sipwright serve` as users run it: the BUILT cli (`npm run build` first) spawned as a child
 * process on loopback, driven by personas hosted in this test. It prints where it listens, one
 * line per registration and call, a summary after SIGINT / SIGTERM, and exits 0; a config
 * mistake is one `file:line:column: field: …` line and exit 2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inviteWithAuth } from '../../src/auth/authenticating-client.js';
import { Carrier } from '../../src/roles/carrier.js';
import { Pbx } from '../../src/roles/pbx.js';
import { Party } from '../../src/scenario/party.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const USER = '0312345678';
const PASSWORD = 'trunk-secret';
const TIMERS = { t1: 100, t2: 400, t4: 500 };

/** A running `sipwright serve`, its output collected line by line. */
class Served {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcess) {
    const collect = (into: string[]) => {
      let rest = '';
      return (chunk: Buffer) => {
        const parts = (rest + chunk.toString('utf8')).split('\n');
        rest = parts.pop()!;
        into.push(...parts);
        for (const w of this.waiters.splice(0)) w();
      };
    };
    child.stdout!.on('data', collect(this.stdout));
    child.stderr!.on('data', collect(this.stderr));
    this.exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
  }

  /** The first stdout line matching `re`, waiting up to `ms`. */
  async line(re: RegExp, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.stdout.find((l) => re.test(l));
      if (found) return found;
      const left = deadline - Date.now();
      const gone = this.child.exitCode !== null || this.child.signalCode !== null;
      if (left <= 0 || gone) throw new Error(`no line matching ${re} ${gone ? 'before serve exited' : `within ${ms} ms`}; stdout:\n${this.stdout.join('\n')}\nstderr:\n${this.stderr.join('\n')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Send `signal` and wait for the exit, at most `ms`. */
  async stop(signal: NodeJS.Signals = 'SIGINT', ms = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null; elapsedMs: number }> {
    const t0 = Date.now();
    this.child.kill(signal);
    const timeout = new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`serve did not exit within ${ms} ms of ${signal}`)), ms).unref());
    const result = await Promise.race([this.exited, timeout]);
    return { ...result, elapsedMs: Date.now() - t0 };
  }
}

const running: Served[] = [];
const parties: Party[] = [];
let dir = '';

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  dir = mkdtempSync(join(tmpdir(), 'sipwright-serve-'));
});

afterEach(async () => {
  await Promise.allSettled(parties.splice(0).map((p) => p.close(200)));
  for (const s of running.splice(0)) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
});

function config(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function serve(args: string[], env: Record<string, string> = {}): Served {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    env: { ...process.env, TRUNK_PASSWORD: PASSWORD, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const s = new Served(child);
  running.push(s);
  return s;
}

/** A port free at the moment of asking (UDP, or TCP). */
async function freePort(transport: 'udp' | 'tcp' = 'udp'): Promise<number> {
  if (transport === 'tcp') {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    return port;
  }
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = sock.address().port;
  await new Promise<void>((r) => sock.close(() => r()));
  return port;
}

async function pbxParty(carrierPort: number, transport: 'udp' | 'tcp' = 'udp'): Promise<{ party: Party; pbx: Pbx }> {
  const pbx = new Pbx({ carrier: { host: '127.0.0.1', port: carrierPort }, username: USER, password: PASSWORD });
  const party = await Party.start({ name: 'pbx', persona: pbx, transport, timers: TIMERS });
  parties.push(party);
  return { party, pbx };
}

const CARRIER_YAML = `realm: trunk.example
accounts:
  ${USER}: \${env.TRUNK_PASSWORD}
grant_expires: 120
channel_limit: { limit: 1, refuse_code: 503 }
answer: { mode: answer, ring_ms: 20 }
`;

describe('sipwright serve carrier', () => {
  it('prints where it listens, logs the pbx registration with the granted seconds, calls and refusals; SIGINT → summary and exit 0', async () => {
    const port = await freePort();
    const s = serve(['carrier', '--config', config('carrier.yaml', CARRIER_YAML), '--listen', `127.0.0.1:${port}`]);
    expect(await s.line(/listening/)).toBe(`carrier listening on udp 127.0.0.1:${port}`);

    const { party, pbx } = await pbxParty(port);
    expect(pbx.registration!.granted).toBe(120);
    expect(await s.line(/^registration /)).toBe(
      `registration sip:${USER}@127.0.0.1 contact sip:sipwright@127.0.0.1:${party.local.port}: granted 120 s (asked 3600 s)`,
    );

    const first = pbx.outboundCall('0901234567', USER);
    const call = party.invite(first.uri, first.opts, 'a');
    expect((await inviteWithAuth(call.uac!, pbx.credentials, 3000)).final?.status).toBe(200);
    expect(await s.line(/^INVITE .*answered/)).toBe(`INVITE from ${USER} to 0901234567 (127.0.0.1:${party.local.port}): 200 OK, answered`);

    const second = pbx.outboundCall('0901234568', USER);
    const refused = party.invite(second.uri, second.opts, 'b');
    expect((await inviteWithAuth(refused.uac!, pbx.credentials, 3000)).final?.status).toBe(503);
    expect(await s.line(/channel limit/)).toBe(
      `INVITE from ${USER} to 0901234568 (127.0.0.1:${party.local.port}): 503 Service Unavailable, refused: channel limit 1 reached`,
    );
    await call.hangup(2000);

    const { code, elapsedMs } = await s.stop('SIGINT');
    expect(code).toBe(0);
    expect(elapsedMs).toBeLessThan(4000);
    expect(s.stdout.at(-1)).toBe(
      'summary: 1 registration (0 refreshes, 0 lapses, 0 unregisters), 2 calls (1 answered), 1 refusal for the channel limit',
    );
    expect(s.stderr).toEqual([]);
  });

  it('logs a refresh and a lapse as they happen (grant 1 s, the pbx never refreshes); SIGTERM also ends it with 0', async () => {
    const port = await freePort();
    const yaml = `realm: trunk.example\naccounts: { "${USER}": "\${env.TRUNK_PASSWORD}" }\ngrant_expires: 1\n`;
    const s = serve(['carrier', '--config', config('lapse.yaml', yaml), '--listen', `127.0.0.1:${port}`]);
    await s.line(/listening/);
    const pbx = new Pbx({ carrier: { host: '127.0.0.1', port }, username: USER, password: PASSWORD, noRefresh: true });
    const party = await Party.start({ name: 'pbx', persona: pbx, timers: TIMERS });
    parties.push(party);
    await s.line(/^registration .*granted 1 s/);
    expect(await s.line(/^lapse /, 3000)).toBe(`lapse sip:${USER}@127.0.0.1: the binding expired without a refresh (granted 1 s)`);
    await pbx.registration!.register();
    expect(await s.line(/after a lapse/)).toMatch(/^registration sip:0312345678@127\.0\.0\.1 .*: granted 1 s \(asked 3600 s\), after a lapse$/);
    const { code } = await s.stop('SIGTERM');
    expect(code).toBe(0);
    expect(s.stdout.at(-1)).toBe('summary: 2 registrations (0 refreshes, 1 lapse, 0 unregisters), 0 calls (0 answered)');
  });

  it('serves over TCP with --transport tcp', async () => {
    const port = await freePort('tcp');
    const s = serve(['carrier', '--config', config('carrier.yaml', CARRIER_YAML), '--listen', `127.0.0.1:${port}`, '--transport', 'tcp']);
    expect(await s.line(/listening/)).toBe(`carrier listening on tcp 127.0.0.1:${port}`);
    const { pbx } = await pbxParty(port, 'tcp');
    expect(pbx.registration!.granted).toBe(120);
    await s.line(/^registration .*granted 120 s/);
    expect((await s.stop()).code).toBe(0);
  });

  it('binds ::1 when told to, without the non-loopback warning', async () => {
    const s = serve(['carrier', '--config', config('carrier.yaml', CARRIER_YAML), '--listen', '[::1]:0']);
    expect(await s.line(/listening/)).toMatch(/^carrier listening on udp \[::1\]:\d+$/);
    expect((await s.stop()).code).toBe(0);
    expect(s.stderr).toEqual([]);
  });
});

describe('sipwright serve pbx and phone', () => {
  it('the pbx registers to a carrier with its account in Contact, answers an inbound call, and unregisters on SIGINT', async () => {
    const carrier = new Carrier({ realm: 'trunk.example', accounts: { [USER]: PASSWORD }, grantExpires: 120 });
    const carrierParty = await Party.start({ name: 'carrier', persona: carrier, timers: TIMERS });
    parties.push(carrierParty);
    const yaml = `carrier: 127.0.0.1:${carrierParty.local.port}\nusername: ${USER}\npassword: \${env.TRUNK_PASSWORD}\nanswer: { mode: busy }\n`;
    const s = serve(['pbx', '--config', config('pbx.yaml', yaml)]);
    const listening = await s.line(/listening/);
    const pbxPort = Number(/^pbx listening on udp 127\.0\.0\.1:(\d+)$/.exec(listening)![1]);
    expect(await s.line(/^registered/)).toBe(`registered sip:${USER}@127.0.0.1 at 127.0.0.1:${carrierParty.local.port}: granted 120 s (asked 3600 s)`);
    expect(carrier.registrar.contacts(`sip:${USER}@127.0.0.1`).map((b) => b.contact)).toEqual([`sip:${USER}@127.0.0.1:${pbxPort}`]);

    const { uri, opts } = carrier.inboundCall(USER, { host: '127.0.0.1', port: pbxPort });
    await carrierParty.invite(uri, opts).expect(486, { timeoutMs: 2000 });
    expect(await s.line(/^INVITE/)).toBe(`INVITE from 0312340000 to ${USER} (127.0.0.1:${carrierParty.local.port}): 486 Busy Here, busy`);

    expect((await s.stop()).code).toBe(0);
    expect(carrier.registrations(USER).at(-1)).toMatchObject({ kind: 'unregister' });
    expect(s.stdout.slice(-2)).toEqual([
      `unregistered sip:${USER}@127.0.0.1 at 127.0.0.1:${carrierParty.local.port}`,
      'summary: 1 registration (0 refreshes, 0 lapses, 1 unregister), 1 call (0 answered, 1 busy)',
    ]);
  });

  it('a phone that cannot register exits 1 naming what it got', async () => {
    const registrar = new Carrier({ realm: 'office.example', accounts: { '201': 'right' } });
    const registrarParty = await Party.start({ name: 'registrar', persona: registrar, timers: TIMERS });
    parties.push(registrarParty);
    const yaml = `pbx: 127.0.0.1:${registrarParty.local.port}\nextension: 201\npassword: wrong\n`;
    const s = serve(['phone', '--config', config('phone.yaml', yaml)]);
    const { code } = await s.exited;
    expect(code).toBe(1);
    expect(s.stderr).toContain(`sipwright: phone 201 could not register at 127.0.0.1:${registrarParty.local.port}: 401 Unauthorized`);
  });
});

describe('sipwright serve: mistakes are one line and exit 2', () => {
  it('a config error: file:line:column: field: what is wrong', async () => {
    const file = config('bad.yaml', 'realm: trunk.example\naccounts: { u: p }\ngrant_expire: 120\n');
    const s = serve(['carrier', '--config', file, '--listen', '127.0.0.1:0']);
    const { code } = await s.exited;
    expect(code).toBe(2);
    expect(s.stderr).toEqual([
      `sipwright: ${file}:3:1: grant_expire: unknown key "grant_expire" in a carrier config (did you mean "grant_expires"?), allowed are: realm, accounts, grant_expires, challenge_invite, channel_limit, answer, quirks, listen, transport`,
    ]);
    expect(s.stdout).toEqual([]);
  });

  it('an unset ${env.NAME} password', async () => {
    const file = config('env.yaml', 'realm: r\naccounts:\n  u: ${env.SIPWRIGHT_TEST_UNSET}\n');
    const s = serve(['carrier', '--config', file, '--listen', '127.0.0.1:0']);
    expect((await s.exited).code).toBe(2);
    expect(s.stderr).toEqual([
      `sipwright: ${file}:3:6: accounts.u: environment variable SIPWRIGHT_TEST_UNSET is not set (\${env.SIPWRIGHT_TEST_UNSET}), expected it set in the environment of sipwright serve`,
    ]);
  });

  it('a missing config file, an unknown persona, a bad --listen', async () => {
    const missing = serve(['carrier', '--config', join(dir, 'nope.yaml')]);
    expect((await missing.exited).code).toBe(2);
    expect(missing.stderr).toEqual([`sipwright: ${join(dir, 'nope.yaml')}: cannot read the file (ENOENT), expected a readable carrier config`]);

    const unknown = serve(['proxy', '--config', join(dir, 'nope.yaml')]);
    expect((await unknown.exited).code).toBe(2);
    expect(unknown.stderr).toHaveLength(1);
    expect(unknown.stderr[0]).toMatch(/^sipwright: .*proxy/);

    const file = config('ok.yaml', 'realm: r\naccounts: { u: p }\n');
    const listen = serve(['carrier', '--config', file, '--listen', '127.0.0.1:99999']);
    expect((await listen.exited).code).toBe(2);
    expect(listen.stderr).toEqual(['sipwright: --listen: "127.0.0.1:99999" has a bad port "99999", expected 0-65535']);
  });

  it('a port in use is one line and exit 2', async () => {
    const holder = await Party.start({ name: 'holder' });
    parties.push(holder);
    const file = config('ok.yaml', 'realm: r\naccounts: { u: p }\n');
    const s = serve(['carrier', '--config', file, '--listen', `127.0.0.1:${holder.local.port}`]);
    expect((await s.exited).code).toBe(2);
    expect(s.stderr).toHaveLength(1);
    expect(s.stderr[0]).toMatch(new RegExp(`^sipwright: .*127\\.0\\.0\\.1:${holder.local.port}`));
  });
});
