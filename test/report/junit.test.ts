import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildJunitXml, junitReporter } from '../../src/report/junit.js';
import type { TestResult } from '../../src/scenario/result.js';
import {
  AUTHORIZATION,
  entry,
  errorTest,
  failedTest,
  passedTest,
  PASSWORD,
  PASSWORD_URLENCODED,
  sampleRun,
  sip,
} from './fixtures.js';

interface XmlCase {
  classname: string;
  name: string;
  file: string;
  time: string;
  failure?: { message: string; type: string; '#text'?: string };
  error?: { message: string; type: string; '#text'?: string } | '';
  skipped?: { message?: string } | '';
  'system-out'?: string;
}
interface XmlSuite {
  name: string;
  tests: string;
  failures: string;
  errors: string;
  skipped: string;
  time: string;
  timestamp: string;
  testcase: XmlCase[];
}
interface XmlDoc {
  testsuites: { name: string; tests: string; failures: string; errors: string; skipped: string; testsuite: XmlSuite[] };
}

function parse(xml: string): XmlDoc {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    isArray: (name) => name === 'testsuite' || name === 'testcase',
  });
  return parser.parse(xml) as XmlDoc;
}

function cases(doc: XmlDoc): XmlCase[] {
  return doc.testsuites.testsuite.flatMap((s) => s.testcase);
}

function byName(doc: XmlDoc, name: string): XmlCase {
  const c = cases(doc).find((x) => x.name === name);
  if (!c) throw new Error(`no testcase ${name}`);
  return c;
}

describe('buildJunitXml', () => {
  const xml = buildJunitXml(sampleRun());
  const doc = parse(xml);

  it('counts tests, failures, errors and skipped on <testsuites>', () => {
    expect(doc.testsuites).toMatchObject({ name: 'sipwright', tests: '4', failures: '1', errors: '1', skipped: '1' });
  });

  it('has one <testsuite> per suite, in order of first appearance, with its counts, time and timestamp', () => {
    const suites = doc.testsuites.testsuite;
    expect(suites.map((s) => [s.name, s.tests, s.failures, s.errors, s.skipped])).toEqual([
      ['basic', '2', '1', '0', '0'],
      ['transport', '2', '0', '1', '1'],
    ]);
    expect(suites[0]).toMatchObject({ time: '2.586', timestamp: '2025-01-15T10:00:00.000Z' });
    expect(suites[1]).toMatchObject({ time: '0.012', timestamp: '2025-01-15T10:00:02.500Z' });
  });

  it('has one <testcase> per test: classname = suite, name = scenario name, file, time in seconds', () => {
    expect(cases(doc).map((c) => [c.classname, c.name, c.file, c.time])).toEqual([
      ['basic', 'Basic call', 'basic/uac-call.yaml', '1.234'],
      ['basic', 'Busy callee', 'basic/uac-busy.yaml', '1.352'],
      ['transport', 'TCP bind', 'transport/tcp-bind.yaml', '0.012'],
      ['transport', 'TLS call', 'transport/tls.yaml', '0'],
    ]);
  });

  it('reports an unmet expectation as <failure type="expectation"> with step, expected, received and header', () => {
    const c = byName(doc, 'Busy callee');
    expect(c.failure).toMatchObject({ message: 'expected 200, received 486 Busy Here', type: 'expectation' });
    expect(c.failure!['#text']).toBe(
      [
        'basic/uac-busy.yaml:14:7: expect: 200',
        'expected: 200',
        'received: 486 Busy Here',
        'first differing header: To',
      ].join('\n'),
    );
    expect(c.error).toBeUndefined();
  });

  it('puts the ladder of the failing test in <system-out>, redacted, Authorization kept', () => {
    const out = byName(doc, 'Busy callee')['system-out']!;
    expect(out).toContain('+0.000s  alice → 127.0.0.1:5070  UDP  INVITE sip:bob@127.0.0.1:5070 SIP/2.0');
    expect(out).toContain('+1.350s  alice ← 127.0.0.1:5070  UDP  SIP/2.0 486 Busy Here');
    expect(out).toContain('CSeq: 2 ACK');
    expect(out).toContain(AUTHORIZATION);
    expect(out).toContain('X-Debug: pass=*** quoted="***" uri=sip:alice:***@example.com');
    expect(out).toContain('violation contact-missing: 180 Ringing creates an early dialog but has no Contact header');
  });

  it('never contains the password, in any form, anywhere in the file', () => {
    expect(xml).not.toContain('sw0rd');
    expect(xml).not.toContain(PASSWORD_URLENCODED);
  });

  it('reports a harness failure as <error type="<code>"> with the stack as body', () => {
    const c = byName(doc, 'TCP bind');
    expect(c.error).toMatchObject({
      message: 'cannot bind 127.0.0.1:5060/TCP: address already in use',
      type: 'ERR_TRANSPORT_BIND',
    });
    expect((c.error as { '#text': string })['#text']).toContain('at TcpTransport.listen (src/transport/tcp.ts:88:13)');
    expect(c.failure).toBeUndefined();
    expect(c['system-out']).toBe('(no SIP messages on the wire)\n');
  });

  it('writes no error body when there is neither stack nor position', () => {
    const t: TestResult = { ...errorTest(), error: { message: 'worker died' } };
    const c = byName(parse(buildJunitXml(sampleRun({ tests: [t] }))), 'TCP bind');
    expect(c.error).toEqual({ message: 'worker died', type: 'error' });
  });

  it('reports a skipped test as <skipped message="reason">', () => {
    const c = byName(doc, 'TLS call');
    expect(c.skipped).toEqual({ message: 'interrupted' });
    expect(c['system-out']).toBeUndefined();
  });

  it('writes nothing to <system-out> for passing tests by default', () => {
    expect(byName(doc, 'Basic call')['system-out']).toBeUndefined();
    expect(xml.match(/<system-out>/g)).toHaveLength(2);
  });

  it('writes the ladder of every test with messages when ladderFor is "all"', () => {
    const all = parse(buildJunitXml(sampleRun(), { ladderFor: 'all' }));
    expect(byName(all, 'Basic call')['system-out']).toContain('SIP/2.0 200 OK');
    expect(byName(all, 'TLS call')['system-out']).toBeUndefined(); // no messages, nothing to show
  });

  it('redacts a secret of one test from the ladder of another (same account, other scenario)', () => {
    const pass = passedTest();
    pass.ladder.push(entry(40, 'out', sip(['MESSAGE sip:bob@b SIP/2.0', `X-Pw: ${PASSWORD}`])));
    const out = buildJunitXml(sampleRun({ tests: [pass, failedTest()] }), { ladderFor: 'all' });
    expect(out).toContain('X-Pw: ***');
    expect(out).not.toContain('sw0rd');
  });

  it('stays well-formed with several `]]>` and characters XML forbids in a message', () => {
    const t = failedTest();
    const body = 'a]]>b]]>c\u0000d';
    t.ladder = [entry(0, 'in', sip(['MESSAGE sip:a@b SIP/2.0', 'Content-Type: text/plain'], body))];
    const out = buildJunitXml(sampleRun({ tests: [t] }));
    const c = byName(parse(out), 'Busy callee');
    expect(c['system-out']).toContain('a]]&gt;b]]&gt;cd');
  });

  it('builds an empty <testsuites> for a run without tests', () => {
    const empty = parse(buildJunitXml(sampleRun({ tests: [] })));
    expect(empty.testsuites).toMatchObject({ tests: '0', failures: '0', errors: '0', skipped: '0' });
  });

  it('matches the snapshot (times normalised)', async () => {
    const normalised = xml.replace(/ time="[^"]*"/g, ' time="…"').replace(/ timestamp="[^"]*"/g, ' timestamp="…"');
    await expect(normalised).toMatchFileSnapshot('./__snapshots__/junit.xml');
  });
});

describe('junitReporter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sipwright-junit-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the file on run end, creating parent directories, leaving no temporary file', async () => {
    const outputFile = join(dir, 'reports', 'ci', 'junit.xml');
    const reporter = junitReporter({ outputFile });
    await reporter.onRunEnd!(sampleRun());
    const written = await readFile(outputFile, 'utf8');
    expect(written).toBe(buildJunitXml(sampleRun()));
    expect(await readdir(join(dir, 'reports', 'ci'))).toEqual(['junit.xml']);
  });
});
