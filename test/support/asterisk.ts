/**
 * Runs real Asterisk 16 (chan_sip) with the seed-000 PBX configuration of sut/asterisk/ on
 * loopback. The templates there are rendered into a fresh temporary directory per instance
 * (free SIP port, the fake carrier's port, an RTP range); Asterisk keeps everything it writes
 * in that directory (asterisk.conf points every directory there), stays in the foreground
 * (`-f`, no console, stdin ignored) and logs to stdout. Started by root, it runs as `nobody`
 * (setpriv). Ready when it answers an OPTIONS and has printed "Asterisk Ready."; stopped by
 * PID (SIGTERM, then SIGKILL), and the directory is removed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { accessSync, chmodSync, chownSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { readinessProbe, signal } from './peer-process.js';

/** The templates shipped in sut/asterisk/. */
export const ASTERISK_SUT_DIR = fileURLToPath(new URL('../../sut/asterisk/', import.meta.url));

/** The target profile of that configuration (docs/target-profile.md). */
export const ASTERISK_PROFILE = fileURLToPath(new URL('../../sut/asterisk/profile.yaml', import.meta.url));

/** The files render.sh and {@link startAsterisk} fill in. */
export const ASTERISK_TEMPLATES = ['asterisk.conf', 'modules.conf', 'sip.conf', 'extensions.conf', 'rtp.conf', 'logger.conf'] as const;

/** The trunk of sut/asterisk/sip.conf (extensions, DIDs and limits are in profile.yaml). */
export const SEED = {
  realm: 'voip0000.cloudpbx.com',
  trunkUser: '0000123456',
  trunkPassword: 'password',
  /** The trunk REGISTER asks for this many seconds (`~120` in the register line). */
  requestedExpiry: 120,
} as const;

export interface AsteriskOptions {
  /** SIP (UDP) port on 127.0.0.1; default a free one. */
  sipPort?: number;
  /** Where the trunk points: the fake carrier's UDP port on 127.0.0.1. */
  carrierPort: number;
  /** How long an inbound call rings the extension before Dial gives up (default 20 s). */
  noAnswerSeconds?: number;
  /** chan_sip writes every SIP message to the log (default true: failures show the exchange). */
  sipDebug?: boolean;
  /** How long to wait for readiness (default 15 000 ms). */
  readyTimeoutMs?: number;
}

export interface AsteriskRun {
  sipPort: number;
  pid: number;
  /** The rendered configuration and everything Asterisk writes (removed by stop()). */
  dir: string;
  /** RTP ports Asterisk allocates from. */
  rtpRange: readonly [number, number];
  /** Milliseconds from spawn to ready (OPTIONS answered and "Asterisk Ready."). */
  startupMs: number;
  /** SIGTERM, then SIGKILL after a timeout; removes the directory. Idempotent. */
  stop(): Promise<void>;
  /** Everything Asterisk wrote to stdout and stderr so far (still readable after stop). */
  log(): string;
  /** Run a CLI command through the control socket (`asterisk -rx`), e.g. `sip show registry`. */
  cli(command: string): Promise<string>;
}

/** Asterisk's binary: from PATH, else /usr/sbin (not on a normal user's PATH). */
export function asteriskBinary(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, 'asterisk');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error('asterisk not found on PATH or in /usr/sbin; install Asterisk 16 as .ci/run does (Debian bullseye package `asterisk`)');
}

/** Fill `{{NAME}}` placeholders; a placeholder without a value is an error naming it. */
export function renderTemplate(text: string, values: Record<string, string | number>, file = 'template'): string {
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`${file}: no value for placeholder {{${name}}}`);
    return String(v);
  });
}

/** Instances still running, killed if the test process exits without stopping them. */
const running = new Set<number>();
let exitHookInstalled = false;
function trackForExit(pid: number): void {
  running.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of running) signal(p, 'SIGKILL');
  });
}

/** Start Asterisk on a free port and wait until it answers; tries another port if that one was taken. */
export async function startAsterisk(opts: AsteriskOptions): Promise<AsteriskRun> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts, opts.sipPort ?? (await freePort()));
    } catch (err) {
      lastError = err as Error;
      // Another process took the port between freePort() and Asterisk's bind: try another.
      if (opts.sipPort !== undefined || !/Failed to bind|Address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError!;
}

/** nobody/nogroup when we are root (Asterisk needs no privilege here), else undefined. */
function unprivileged(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  return { uid: 65534, gid: 65534 };
}

async function startOnce(opts: AsteriskOptions, sipPort: number): Promise<AsteriskRun> {
  const binary = asteriskBinary();
  const dir = mkdtempSync(join(tmpdir(), 'asterisk-'));
  // Below the kernel's ephemeral range (32768+), where the other peers' ports come from; an even
  // start, 400 ports: RTP ports of ended calls stay held for ~32 s.
  const rtpStart = 10_000 + 2 * Math.floor(Math.random() * 10_000);
  const rtpRange = [rtpStart, rtpStart + 399] as const;
  const values = {
    DIR: dir,
    MODULE_DIR: '/usr/lib/asterisk/modules',
    DATA_DIR: '/usr/share/asterisk',
    SIP_PORT: sipPort,
    CARRIER_PORT: opts.carrierPort,
    RTP_START: rtpRange[0],
    RTP_END: rtpRange[1],
    NO_ANSWER: opts.noAnswerSeconds ?? 20,
    SIP_DEBUG: opts.sipDebug === false ? 'no' : 'yes',
  };
  for (const file of ASTERISK_TEMPLATES) {
    const text = readFileSync(join(ASTERISK_SUT_DIR, file), 'utf8');
    writeFileSync(join(dir, file), renderTemplate(text, values, `sut/asterisk/${file}`), { mode: 0o644 });
  }
  for (const sub of ['lib', 'agi', 'spool', 'run', 'log', 'cache']) mkdirSync(join(dir, sub));
  const user = unprivileged();
  if (user) {
    chmodSync(dir, 0o755);
    chownSync(dir, user.uid, user.gid);
    for (const entry of readdirSync(dir)) chownSync(join(dir, entry), user.uid, user.gid);
  }

  const conf = join(dir, 'asterisk.conf');
  const [command, args] = user
    ? ['setpriv', ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', binary, '-f', '-C', conf]]
    : [binary, ['-f', '-C', conf]];
  const started = Date.now();
  // detached: its own process group, so a SIGKILL reaches anything it started. setpriv execs
  // Asterisk, so the child's PID is Asterisk's.
  const child: ChildProcess = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pid = child.pid ?? 0;
  trackForExit(pid);
  let output = '';
  child.stdout?.on('data', (d) => (output += d.toString()));
  child.stderr?.on('data', (d) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', (err) => {
      output += `\nspawn ${command} failed: ${err.message}\n`;
      resolve(null);
    });
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
    running.delete(pid);
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (!gone && pid) {
        signal(pid, 'SIGTERM');
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000).unref());
        if ((await Promise.race([exited, timer])) === 'timeout') {
          signal(-pid, 'SIGKILL');
          await exited;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    })());

  const cli = (cmd: string): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(binary, ['-C', conf, '-rx', cmd], { timeout: 5000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`asterisk -rx '${cmd}' failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });

  const ready = await waitReady(sipPort, opts.readyTimeoutMs ?? 15_000, () => gone || bindFailed(output), () => output.includes('Asterisk Ready.'));
  if (!ready) {
    await stop();
    const why = bindFailed(output) ? ' (Failed to bind)' : gone ? ' (it exited)' : '';
    throw new Error(`asterisk did not become ready on 127.0.0.1:${sipPort}${why}:\n${output}`);
  }
  return { sipPort, pid, dir, rtpRange, startupMs: Date.now() - started, stop, log: () => output, cli };
}

function bindFailed(output: string): boolean {
  return /Failed to bind to|Address already in use/i.test(output);
}

/**
 * Poll with OPTIONS over UDP until a response comes (any status) and Asterisk has said it is
 * fully booted; false on timeout or when `failed()`.
 */
async function waitReady(port: number, timeoutMs: number, failed: () => boolean, booted: () => boolean): Promise<boolean> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const local = sock.address().port;
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  let answered = false;
  try {
    return await new Promise<boolean>((resolve) => {
      let n = 0;
      sock.on('message', (m) => {
        if (m.toString('latin1').startsWith('SIP/2.0 ')) answered = true;
      });
      const tick = (): void => {
        if (answered && booted()) return resolve(true);
        if (failed() || Date.now() > deadline) return resolve(false);
        if (!answered) sock.send(readinessProbe(port, local, ++n), port, '127.0.0.1');
        timer = setTimeout(tick, 25);
      };
      tick();
    });
  } finally {
    clearTimeout(timer);
    sock.close();
  }
}

