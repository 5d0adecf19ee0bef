/**
 * The built `sipwright` command (`node dist/cli/main.js`, built by `npm test` first): help, and
 * user mistakes. A mistake prints ONE line on stderr starting `sipwright: `, exits 2, and never
 * shows a stack trace.
 */
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
});

/** Run the built CLI from the repository root; reports go to a temp folder unless given. */
function cli(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const reports = mkdtempSync(join(tmpdir(), 'sipwright-cli-'));
  const withReports = args[0] === 'run' ? [...args, '--junit', join(reports, 'junit.xml'), '--json', join(reports, 'results.json')] : args;
  const r = spawnSync(process.execPath, [CLI, ...withReports], { cwd: ROOT, input, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2, nothing on stdout, exactly one line on stderr, no stack trace. */
function expectUsageError(r: { code: number | null; stdout: string; stderr: string }, line: string | RegExp): void {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  if (typeof line === 'string') expect(lines[0]).toBe(line);
  else expect(lines[0]).toMatch(line);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('sipwright --help and the command line itself', () => {
  it('--help lists the run and lint commands and exits 0', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\s*sipwright run <paths\.\.\.>/m);
    expect(r.stdout).toMatch(/^\s*sipwright lint <file>/m);
    expect(r.stderr).toBe('');
  });

  it('run --help describes its options', () => {
    const r = cli(['run', '--help']);
    expect(r.code).toBe(0);
    for (const opt of ['--target', '--listen', '--transport', '--var', '--junit', '--concurrency']) expect(r.stdout).toContain(opt);
  });

  it('no command: exit 2 with one line', () => {
    expectUsageError(cli([]), 'sipwright: name a command: see sipwright --help');
  });

  it('an unknown option before any command: exit 2, one line naming it', () => {
    expectUsageError(cli(['--bogus']), 'sipwright: Unknown argument: bogus; name a command: see sipwright --help');
  });

  it('an unknown option after a command: exit 2, one line naming it', () => {
    expectUsageError(cli(['run', 'scenarios/basic/uac-call.yaml', '--bogus']), 'sipwright: Unknown argument: bogus');
  });

  it('an unknown command: exit 2, one line', () => {
    expectUsageError(cli(['frobnicate']), 'sipwright: Unknown argument: frobnicate');
  });

  it('a choice yargs reports on several lines is printed on one', () => {
    expectUsageError(
      cli(['run', 'scenarios/basic/uac-call.yaml', '--transport', 'sctp']),
      'sipwright: Invalid values: Argument: transport, Given: "sctp", Choices: "udp", "tcp"',
    );
  });
});

describe('sipwright run: usage errors are one line, exit 2, before anything is sent', () => {
  it('--target with a bad port', () => {
    expectUsageError(
      cli(['run', 'scenarios/basic/uac-call.yaml', '--target', 'nonsense:99999']),
      'sipwright: --target: "nonsense:99999" has a bad port "99999", expected 0-65535',
    );
  });

  it('--concurrency 0', () => {
    expectUsageError(
      cli(['run', 'scenarios/basic/uac-call.yaml', '--concurrency', '0']),
      'sipwright: --concurrency must be a whole number of at least 1, got 0',
    );
  });

  it('--concurrency that is not a number', () => {
    expectUsageError(
      cli(['run', 'scenarios/basic/uac-call.yaml', '--concurrency', 'many']),
      'sipwright: --concurrency must be a whole number of at least 1, got something that is not a number',
    );
  });

  it('a scenario path that does not exist', () => {
    expectUsageError(cli(['run', 'test/fixtures/cli/no-such-scenario.yaml']), /^sipwright: test\/fixtures\/cli\/no-such-scenario\.yaml: no such file/);
  });

  it('a scenario file with an error: the file:line:column: field: message line', () => {
    expectUsageError(
      cli(['run', 'test/fixtures/cli/bad-status.yaml']),
      /^sipwright: test\/fixtures\/cli\/bad-status\.yaml:7:13: steps\[1\]\.expect: .*"2xy"/,
    );
  });

  it('--var without a value', () => {
    expectUsageError(cli(['run', 'scenarios/basic/uac-call.yaml', '--var', 'novalue']), 'sipwright: --var "novalue": expected name=value');
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`--listen on a ${transport.toUpperCase()} port in use: names the port and the fix before any test starts`, async () => {
      let port: number;
      if (transport === 'udp') {
        const s = dgram.createSocket('udp4');
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
        port = s.address().port;
        closers.push(() => new Promise((r) => s.close(() => r())));
      } else {
        const srv = net.createServer();
        await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
        port = (srv.address() as net.AddressInfo).port;
        closers.push(() => new Promise((r) => srv.close(() => r())));
      }
      const r = cli(['run', 'scenarios/basic/uas-answer.yaml', '--listen', `127.0.0.1:${port}`, '--transport', transport]);
      expectUsageError(
        r,
        `sipwright: --listen: cannot listen on ${transport} 127.0.0.1:${port}: the port is in use by another program: choose another port, or 0 for any free one (EADDRINUSE)`,
      );
    });
  }

  it('--listen on an address that is not on this machine', () => {
    expectUsageError(
      cli(['run', 'scenarios/basic/uas-answer.yaml', '--listen', '192.0.2.1:5060']),
      'sipwright: --listen: cannot listen on udp 192.0.2.1:5060: that address is not on this machine: use 127.0.0.1 or one of its own addresses (EADDRNOTAVAIL)',
    );
  });
});
