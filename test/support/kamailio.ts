/**
 * Runs real Kamailio with sut/kamailio/kamailio.cfg as the carrier (registrar and proxy) on
 * loopback. Every instance gets its own port (UDP and TCP), its own runtime directory (-Y) and
 * pid file, stays in the foreground (-DD) and logs to stderr (-E); nothing is written outside
 * the temporary directory, so it runs as any user. Ready when it answers an OPTIONS; stopped
 * by PID (SIGTERM, then SIGKILL to its process group).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { readinessProbe, signal } from './peer-process.js';

/** The carrier configuration shipped in sut/kamailio/. */
export const KAMAILIO_CFG = fileURLToPath(new URL('../../sut/kamailio/kamailio.cfg', import.meta.url));

/** The accounts startKamailio passes when none are given (kamailio.cfg's own default is {@link CARRIER_ACCOUNTS}). */
export const DEFAULT_ACCOUNTS: Readonly<Record<string, string>> = {
  '0000123456': 'password',
  '1001': '1001pass',
  '1002': '1002pass',
};

export const DEFAULT_REALM = 'voip0000.cloudpbx.com';

/**
 * The accounts of kamailio.cfg's own ACCOUNTS default and of sut/kamailio/profile.yaml: the
 * defaults above plus 1003 → 1004 → 1005, the caller, forwarded user and forward target of
 * seed 003.
 */
export const CARRIER_ACCOUNTS: Readonly<Record<string, string>> = {
  ...DEFAULT_ACCOUNTS,
  '1003': '1003pass',
  '1004': '1004pass',
  '1005': '1005pass',
};

/**
 * The carrier services of kamailio.cfg (sut/kamailio/README.md, "Carrier services"). A field
 * left out keeps the config's default; `null` turns that service off.
 */
export interface CarrierServices {
  /** Seconds a callee may ring before the call is given up (NOANSWER_SECONDS, default 5). */
  noAnswerSeconds?: number;
  /** What the caller gets when nobody answers: 480 (default) or 408 (NOANSWER_CODE). */
  noAnswerCode?: 408 | 480;
  /** Forward `from`'s calls to `to` on busy and on no answer (FWD_USER, FWD_TARGET; default 1004 → 1005). */
  forward?: { from: string; to: string } | null;
  /** INVITE to `number` → 302 with Contact `<sip:target@realm>` (REDIRECT_NUMBER, REDIRECT_TARGET; default 1300 → 1002). */
  redirect?: { number: string; target: string } | null;
  /** At most `calls` open calls from `account`; the next gets `code` (LIMIT_*; default 0000123456, 2, 486). */
  channelLimit?: { account: string; calls: number; code: 486 | 503 } | null;
}

/** The `-A` defines for {@link CarrierServices}. */
export function carrierDefines(services: CarrierServices): Record<string, string | number> {
  const d: Record<string, string | number> = {};
  if (services.noAnswerSeconds !== undefined) {
    if (!Number.isInteger(services.noAnswerSeconds) || services.noAnswerSeconds < 1) {
      throw new Error(`kamailio noAnswerSeconds must be a whole number of seconds >= 1, not ${services.noAnswerSeconds}`);
    }
    d.NOANSWER_SECONDS = services.noAnswerSeconds;
  }
  if (services.noAnswerCode !== undefined) d.NOANSWER_CODE = services.noAnswerCode;
  if (services.forward !== undefined) {
    d.FWD_USER = quoted(services.forward ? sipUser(services.forward.from) : '', 'forward user');
    if (services.forward) d.FWD_TARGET = quoted(sipUser(services.forward.to), 'forward target');
  }
  if (services.redirect !== undefined) {
    d.REDIRECT_NUMBER = quoted(services.redirect ? sipUser(services.redirect.number) : '', 'redirect number');
    if (services.redirect) d.REDIRECT_TARGET = quoted(sipUser(services.redirect.target), 'redirect target');
  }
  if (services.channelLimit !== undefined) {
    d.LIMIT_USER = quoted(services.channelLimit ? sipUser(services.channelLimit.account) : '', 'limit account');
    if (services.channelLimit) {
      if (!Number.isInteger(services.channelLimit.calls) || services.channelLimit.calls < 0) {
        throw new Error(`kamailio channel limit must be a whole number >= 0, not ${services.channelLimit.calls}`);
      }
      d.LIMIT_CALLS = services.channelLimit.calls;
      d.LIMIT_CODE = services.channelLimit.code;
    }
  }
  return d;
}

export interface KamailioOptions {
  /** Digest realm of the 401/407 challenges (default voip0000.cloudpbx.com). */
  realm?: string;
  /** user → password (default {@link DEFAULT_ACCOUNTS}). */
  accounts?: Record<string, string>;
  /** Busy / no-answer handling, forwarding, redirect, channel limit (default: the config's). */
  carrier?: CarrierServices;
  /** More `-A` defines of kamailio.cfg, e.g. `{ WITH_RECHALLENGE: true, DBGLEVEL: 3 }`. */
  defines?: Record<string, string | number | true>;
  /** How long to wait for the first answer (default 5000 ms). */
  readyTimeoutMs?: number;
  /** Another config file (default {@link KAMAILIO_CFG}). */
  configFile?: string;
}

export interface KamailioRun {
  /** UDP and TCP port on 127.0.0.1. */
  port: number;
  pid: number;
  realm: string;
  /** Milliseconds from spawn to the first answered OPTIONS. */
  startupMs: number;
  /** SIGTERM, then SIGKILL after a timeout; removes the runtime directory. */
  stop(): Promise<void>;
  /** How the last stop went: milliseconds from SIGTERM to exit, and whether SIGKILL was needed. */
  stopped: { ms: number; killed: boolean } | undefined;
  /** Everything Kamailio wrote to stdout and stderr so far. */
  logs(): string;
}

/** Kamailio's binary: from PATH, else /usr/sbin or /usr/local/sbin (not always on a user's PATH). */
export function kamailioBinary(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, 'kamailio');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error('kamailio not found on PATH or in /usr/sbin; install the Debian package `kamailio`');
}

/** Start Kamailio on a free port and wait until it answers; tries another port if that one was taken. */
export async function startKamailio(opts: KamailioOptions = {}): Promise<KamailioRun> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastError = err as Error;
      // Another process took the port between freePort() and Kamailio's bind: try another.
      if (!/Address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError!;
}

async function startOnce(opts: KamailioOptions): Promise<KamailioRun> {
  const realm = opts.realm ?? DEFAULT_REALM;
  const accounts = opts.accounts ?? DEFAULT_ACCOUNTS;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kamailio-'));
  const args = [
    '-f', opts.configFile ?? KAMAILIO_CFG,
    '-DD', // no daemon: this process is Kamailio's main process
    '-E', // log to stderr
    '-n', '1',
    '-m', '32',
    '-M', '4',
    '-Y', dir,
    '-P', join(dir, 'kamailio.pid'),
    '-w', dir,
    '-A', `SIP_PORT=${port}`,
    '-A', `REALM=${quoted(realm, 'realm')}`,
    '-A', `ACCOUNTS=${accountsDefine(accounts)}`,
  ];
  for (const [name, value] of Object.entries({ ...carrierDefines(opts.carrier ?? {}), ...opts.defines })) {
    args.push('-A', value === true ? name : `${name}=${value}`);
  }
  const started = Date.now();
  // detached: its own process group, so a SIGKILL can reach the workers it forked.
  const child: ChildProcess = spawn(kamailioBinary(), args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (d) => (output += d.toString()));
  child.stderr?.on('data', (d) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));

  let stopped: KamailioRun['stopped'];
  const stop = async (): Promise<void> => {
    const pid = child.pid;
    if (!gone && pid) {
      const t0 = Date.now();
      let killed = false;
      signal(pid, 'SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000).unref());
      if ((await Promise.race([exited, timer])) === 'timeout') {
        killed = true;
        signal(-pid, 'SIGKILL');
        await exited;
      }
      stopped = { ms: Date.now() - t0, killed };
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const ready = await waitReady(port, opts.readyTimeoutMs ?? 5000, () => gone);
  if (!ready) {
    await stop();
    throw new Error(`kamailio did not answer OPTIONS on 127.0.0.1:${port}${gone ? ' (it exited)' : ''}:\n${output}`);
  }
  return {
    port,
    pid: child.pid ?? 0,
    realm,
    startupMs: Date.now() - started,
    stop,
    get stopped() {
      return stopped;
    },
    logs: () => output,
  };
}

/** Poll with OPTIONS over UDP until a response comes, then check TCP accepts; false on timeout or exit. */
async function waitReady(port: number, timeoutMs: number, exited: () => boolean): Promise<boolean> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const local = sock.address().port;
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  try {
    const answered = await new Promise<boolean>((resolve) => {
      let n = 0;
      sock.on('message', (m) => {
        if (m.toString('latin1').startsWith('SIP/2.0 ')) resolve(true);
      });
      const tick = (): void => {
        if (exited() || Date.now() > deadline) {
          resolve(false);
          return;
        }
        sock.send(readinessProbe(port, local, ++n), port, '127.0.0.1');
        timer = setTimeout(tick, 25);
      };
      tick();
    });
    clearTimeout(timer);
    return answered && (await tcpAccepts(port));
  } finally {
    clearTimeout(timer);
    sock.close();
  }
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}


/** A user part that goes into a define and a SIP URI as it is (RFC 3261 §25.1 unreserved characters). */
function sipUser(user: string): string {
  if (!/^[A-Za-z0-9\-_.!~*'()+]+$/.test(user)) {
    throw new Error(`kamailio user ${JSON.stringify(user)} needs at least one character, all letters, digits or - _ . ! ~ * ' ( ) +`);
  }
  return user;
}

/** A string define value as Kamailio's preprocessor wants it: in double quotes. */
function quoted(value: string, what: string): string {
  if (/["\\\r\n]/.test(value) || (what === 'realm' && value.trim() === '')) {
    throw new Error(`kamailio ${what} ${JSON.stringify(value)} cannot be passed as a define`);
  }
  return `"${value}"`;
}

/** `"user=password;user=password"`, the format kamailio.cfg's htable:mod-init reads. */
function accountsDefine(accounts: Record<string, string>): string {
  if (Object.keys(accounts).length === 0) throw new Error('kamailio needs at least one account');
  const pairs = Object.entries(accounts).map(([user, password]) => {
    for (const part of [user, password]) {
      if (part === '' || /[;="\\\s]/.test(part)) {
        throw new Error(`kamailio account ${JSON.stringify(user)}: user and password need at least one character and no ; = " \\ or spaces`);
      }
    }
    return `${user}=${password}`;
  });
  return quoted(pairs.join(';'), 'accounts');
}
