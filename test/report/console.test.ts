import { describe, expect, it } from 'vitest';
import {
  consoleReporter,
  consoleStyleFor,
  formatRunSummary,
  formatTestLine,
  type ConsoleReporterOptions,
} from '../../src/report/console.js';
import type { TestResult } from '../../src/scenario/result.js';
import { entry, errorTest, failedTest, INVITE, passedTest, PASSWORD, sampleRun, skippedTest } from './fixtures.js';

/** A stream that records what was written. */
function fakeStream(isTTY: boolean): { isTTY: boolean; chunks: string[]; write(c: string): boolean; text(): string } {
  return {
    isTTY,
    chunks: [],
    write(c: string) {
      this.chunks.push(c);
      return true;
    },
    text() {
      return this.chunks.join('');
    },
  };
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

async function runThrough(opts: ConsoleReporterOptions, run = sampleRun()): Promise<void> {
  const reporter = consoleReporter(opts);
  await reporter.onRunStart?.({ total: run.tests.length, startedAt: run.startedAt });
  for (const t of run.tests) await reporter.onTestEnd!(t);
  await reporter.onRunEnd!(run);
}

describe('consoleReporter, plain (not a TTY)', () => {
  it('prints a PASS/FAIL/ERROR/SKIP line per test as it finishes, in ASCII', async () => {
    const stream = fakeStream(false);
    const reporter = consoleReporter({ stream, env: {} });
    for (const t of sampleRun().tests) await reporter.onTestEnd!(t);
    expect(stream.chunks).toEqual([
      'PASS basic/uac-call.yaml > Basic call (1.23 s)\n',
      'FAIL basic/uac-busy.yaml > Busy callee (1.35 s) - expected 200, received 486 Busy Here (basic/uac-busy.yaml:14:7)\n',
      'ERROR transport/tcp-bind.yaml > TCP bind (0.01 s) - error: cannot bind 127.0.0.1:5060/TCP: address already in use [ERR_TRANSPORT_BIND]\n',
      'SKIP transport/tls.yaml > TLS call - skipped: interrupted\n',
    ]);
    expect(stream.text()).toMatch(/^[\x20-\x7e\n]*$/); // nothing but printable ASCII
  });

  it('ends with the failures (first lines of their ladders) and the counts', async () => {
    const stream = fakeStream(false);
    await runThrough({ stream, env: {} });
    const lines = stream.text().split('\n');
    const summary = lines.slice(lines.indexOf('Failures:'));
    expect(summary).toEqual([
      'Failures:',
      '',
      'FAIL basic/uac-busy.yaml > Busy callee (1.35 s) - expected 200, received 486 Busy Here (basic/uac-busy.yaml:14:7)',
      '    basic/uac-busy.yaml:14:7: expect: 200',
      '    expected: 200',
      '    received: 486 Busy Here',
      '    first differing header: To',
      '    +0.000s  alice -> 127.0.0.1:5070  UDP  INVITE sip:bob@127.0.0.1:5070 SIP/2.0  [a84b4c76...]',
      '    +0.004s  alice <- 127.0.0.1:5070  UDP  SIP/2.0 100 Trying                     [a84b4c76...]',
      '    +0.120s  alice <- 127.0.0.1:5070  UDP  SIP/2.0 180 Ringing                    [a84b4c76...]',
      '    +1.350s  alice <- 127.0.0.1:5070  UDP  SIP/2.0 486 Busy Here                  [a84b4c76...]',
      '    +1.352s  alice -> 127.0.0.1:5070  UDP  ACK sip:bob@127.0.0.1:5070 SIP/2.0     [a84b4c76...]',
      '',
      'ERROR transport/tcp-bind.yaml > TCP bind (0.01 s) - error: cannot bind 127.0.0.1:5060/TCP: address already in use [ERR_TRANSPORT_BIND]',
      '    (no SIP messages on the wire)',
      '',
      '4 tests: 1 passed, 1 failed, 1 error, 1 skipped in 2.50 s',
      '',
    ]);
  });

  it('says so when the run was interrupted', async () => {
    const stream = fakeStream(false);
    await runThrough({ stream, env: {} }, sampleRun({ interrupted: true }));
    expect(stream.text()).toContain('Interrupted: the tests not run are counted as skipped.\n');
  });

  it('prints only the counts when nothing failed', () => {
    const lines = formatRunSummary(sampleRun({ tests: [passedTest()], durationMs: 1234 }), 'plain');
    expect(lines).toEqual(['', '1 test: 1 passed, 0 failed, 0 error, 0 skipped in 1.23 s']);
  });

  it('shows at most 20 lines of a failure with a long ladder, then says how many more', () => {
    const t = failedTest();
    t.ladder = Array.from({ length: 50 }, (_, i) => entry(i * 10, 'out', INVITE));
    const lines = formatRunSummary(sampleRun({ tests: [t] }), 'plain');
    const block = lines.slice(lines.indexOf('Failures:') + 2, lines.lastIndexOf(''));
    expect(block).toHaveLength(20);
    expect(block[19]).toBe('    ... 36 more messages (full ladder in the JUnit/JSON report)');
    expect(formatRunSummary(sampleRun({ tests: [t] }), 'plain', { maxLinesPerFailure: 8 }).filter((l) => l.includes('+0.'))).toHaveLength(2);
  });

  it('never prints the password, though the test line, failure and ladder may carry it', async () => {
    const t = failedTest();
    t.failure!.message = `expected 200, received 403 (bad password ${PASSWORD})`;
    const stream = fakeStream(false);
    await runThrough({ stream, env: {} }, sampleRun({ tests: [t] }));
    expect(stream.text()).toContain('(bad password ***)');
    expect(stream.text()).not.toContain('sw0rd');
  });
});

describe('consoleReporter, fancy (a TTY without NO_COLOR)', () => {
  it('prints ✓ ✗ ! - with colours', async () => {
    const stream = fakeStream(true);
    const reporter = consoleReporter({ stream, env: {} });
    for (const t of sampleRun().tests) await reporter.onTestEnd!(t);
    expect(stream.text()).toContain('\x1b[32m✓\x1b[39m');
    expect(stream.chunks.map(stripAnsi)).toEqual([
      '✓ basic/uac-call.yaml › Basic call (1.23 s)\n',
      '✗ basic/uac-busy.yaml › Busy callee (1.35 s) — expected 200, received 486 Busy Here (basic/uac-busy.yaml:14:7)\n',
      '! transport/tcp-bind.yaml › TCP bind (0.01 s) — error: cannot bind 127.0.0.1:5060/TCP: address already in use [ERR_TRANSPORT_BIND]\n',
      '- transport/tls.yaml › TLS call — skipped: interrupted\n',
    ]);
  });

  it('draws the ladder in the summary with arrows', async () => {
    const stream = fakeStream(true);
    await runThrough({ stream, env: {} });
    expect(stripAnsi(stream.text())).toContain('    +1.350s  alice ← 127.0.0.1:5070  UDP  SIP/2.0 486 Busy Here');
  });
});

describe('consoleStyleFor (https://no-color.org)', () => {
  it.each([
    { isTTY: true, env: {}, style: 'fancy' },
    { isTTY: true, env: { NO_COLOR: '1' }, style: 'plain' },
    { isTTY: true, env: { NO_COLOR: '' }, style: 'fancy' },
    { isTTY: false, env: {}, style: 'plain' },
  ] as const)('isTTY=$isTTY env=$env → $style', ({ isTTY, env, style }) => {
    expect(consoleStyleFor({ isTTY, write: () => true }, env)).toBe(style);
  });

  it('an explicit style wins over the stream and environment', async () => {
    const stream = fakeStream(false);
    await consoleReporter({ stream, style: 'fancy', env: { NO_COLOR: '1' } }).onTestEnd!(passedTest());
    expect(stream.text()).toContain('✓');
  });
});

describe('formatTestLine', () => {
  it('handles missing details and an error position', () => {
    const bare: TestResult = { ...failedTest(), failure: undefined };
    expect(formatTestLine(bare, 'plain')).toBe('FAIL basic/uac-busy.yaml > Busy callee (1.35 s) - failed');
    const withPos: TestResult = {
      ...errorTest(),
      error: { message: 'unknown field "exepct"\n  at line 3', code: 'ERR_SCENARIO', pos: { file: 'a.yaml', line: 3, column: 5 } },
    };
    expect(formatTestLine(withPos, 'plain')).toBe(
      'ERROR transport/tcp-bind.yaml > TCP bind (0.01 s) - error: unknown field "exepct" [ERR_SCENARIO] (a.yaml:3:5)',
    );
    const noReason: TestResult = { ...skippedTest(), skipReason: undefined };
    expect(formatTestLine(noReason, 'plain')).toBe('SKIP transport/tls.yaml > TLS call - skipped');
  });
});
