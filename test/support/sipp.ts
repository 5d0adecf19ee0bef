/**
 * Runs real SIPp (Debian's sip-tester) as a peer on loopback. Every instance gets its own
 * SIP, control (-cp) and media (-mp) ports and binds media to 127.0.0.1 (-mi), so tests run
 * side by side without colliding. Stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './ports.js';

export interface SippOptions {
  /** Built-in scenario (`uac`, `uas`, `regexp` …) or an XML file via `scenarioFile`. */
  scenario?: string;
  scenarioFile?: string;
  /** Remote host:port for UAC scenarios. */
  remote?: string;
  transport?: 'udp' | 'tcp';
  /** Calls to make / handle before exiting (-m). */
  calls?: number;
  /** Extra arguments. */
  args?: string[];
  /** SIPp's global timeout, seconds (-timeout). */
  timeoutS?: number;
}

export interface SippRun {
  port: number;
  pid: number;
  /** Resolves with SIPp's exit code (0 = every call succeeded) and its output. */
  exited: Promise<{ code: number | null; output: string }>;
  stop(): void;
}

/** Start SIPp; for a UAS, wait until it has bound its port. */
export async function startSipp(opts: SippOptions): Promise<SippRun> {
  const [port, cp] = await freePorts(2);
  const mp = await freeMediaBase();
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const args = [
    ...(opts.scenarioFile ? ['-sf', opts.scenarioFile] : ['-sn', opts.scenario ?? 'uas']),
    ...(opts.remote ? [opts.remote] : []),
    '-i', '127.0.0.1',
    '-p', String(port),
    '-cp', String(cp),
    '-mp', String(mp),
    '-mi', '127.0.0.1',
    '-t', opts.transport === 'tcp' ? 't1' : 'u1',
    '-m', String(opts.calls ?? 1),
    '-timeout', `${opts.timeoutS ?? 30}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err',
    '-error_file', join(dir, 'errors.log'),
    // Over TCP, SIPp fails a call whose connection the peer closes during its final timewait;
    // a harness closing its socket after a completed call is legal (RFC 3261 §18), so keep the call.
    ...(opts.transport === 'tcp' ? ['-reconnect_close', 'false'] : []),
    ...(opts.args ?? []),
  ];
  const child: ChildProcess = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += d.toString()));
  child.stderr?.on('data', (d) => (output += d.toString()));
  let done = false;
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => {
    child.on('exit', (code) => {
      done = true;
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output });
    });
  });
  // Wait until SIPp has bound its SIP port (our own bind then fails), or has exited.
  for (let i = 0; i < 60 && !done; i++) {
    if (await portTaken(port, opts.transport ?? 'udp')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (done) {
    const { code } = await exited;
    throw new Error(`sipp exited (${code}) before it was ready:\n${output}`);
  }
  return {
    port,
    pid: child.pid ?? 0,
    exited,
    stop() {
      if (child.exitCode === null && child.pid) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    },
  };
}

/** True when something is bound to 127.0.0.1:port for this protocol. */
function portTaken(port: number, transport: 'udp' | 'tcp'): Promise<boolean> {
  return new Promise((resolve) => {
    if (transport === 'udp') {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(true));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)));
    } else {
      const srv = net.createServer();
      srv.once('error', () => resolve(true));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(false)));
    }
  });
}

/**
 * A base for SIPp's media ports (-mp): SIPp binds base..base+3 (audio and video RTP/RTCP), so
 * take four consecutive free ports below Linux's ephemeral range (32768+), where port-0 binds of
 * other tests cannot land on them.
 */
async function freeMediaBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 24000 + 4 * Math.floor(Math.random() * 2000); // clear of the port-pool tests (23000-23600)
    let ok = true;
    for (let p = base; p < base + 4 && ok; p++) ok = !(await portTaken(p, 'udp'));
    if (ok) return base;
  }
  throw new Error('no four consecutive free UDP ports for SIPp media');
}
