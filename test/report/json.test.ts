import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildResultsJson, jsonReporter } from '../../src/report/json.js';
import {
  AUTHORIZATION,
  BUSY,
  CALL_ID,
  failedTest,
  INVITE,
  PASSWORD,
  PASSWORD_QUOTED,
  PASSWORD_URLENCODED,
  sampleRun,
  T0,
} from './fixtures.js';

describe('buildResultsJson', () => {
  const doc = buildResultsJson(sampleRun());

  it('summarises the run: counts by verdict, duration in seconds, ISO start, interrupted', () => {
    expect(doc.summary).toEqual({
      total: 4,
      passed: 1,
      failed: 1,
      error: 1,
      skipped: 1,
      durationSeconds: 2.5,
      startedAt: '2025-01-15T10:00:00.000Z',
      interrupted: false,
    });
    expect(buildResultsJson(sampleRun({ interrupted: true })).summary.interrupted).toBe(true);
  });

  it('has one entry per test with its verdict and only the fields that apply', () => {
    expect(doc.tests.map((t) => [t.suite, t.name, t.file, t.verdict, t.durationMs])).toEqual([
      ['basic', 'Basic call', 'basic/uac-call.yaml', 'passed', 1234],
      ['basic', 'Busy callee', 'basic/uac-busy.yaml', 'failed', 1352],
      ['transport', 'TCP bind', 'transport/tcp-bind.yaml', 'error', 12],
      ['transport', 'TLS call', 'transport/tls.yaml', 'skipped', 0],
    ]);
    const [passed, failed, error, skipped] = doc.tests;
    expect(Object.keys(passed!)).toEqual(['suite', 'name', 'file', 'verdict', 'durationMs', 'findings', 'ladder']);
    expect(failed!.failure).toEqual(failedTest().failure);
    expect(failed!.findings).toEqual(failedTest().findings);
    expect(error!.error).toMatchObject({ code: 'ERR_TRANSPORT_BIND' });
    expect(skipped!.skipReason).toBe('interrupted');
    expect(doc.tests.some((t) => 'secrets' in t || 'startedAt' in t)).toBe(false);
  });

  it('gives each ladder entry as plain data: at, direction, party, protocol, addresses, first line, text', () => {
    const ladder = doc.tests[1]!.ladder;
    expect(ladder).toHaveLength(5);
    expect(Object.keys(ladder[0]!)).toEqual(['at', 'direction', 'party', 'protocol', 'local', 'remote', 'firstLine', 'text']);
    expect(ladder.map((e) => [e.at - T0, e.direction, e.firstLine])).toEqual([
      [1000, 'out', 'INVITE sip:bob@127.0.0.1:5070 SIP/2.0'],
      [1004, 'in', 'SIP/2.0 100 Trying'],
      [1120, 'in', 'SIP/2.0 180 Ringing'],
      [2350, 'in', 'SIP/2.0 486 Busy Here'],
      [2352, 'out', 'ACK sip:bob@127.0.0.1:5070 SIP/2.0'],
    ]);
    expect(ladder[3]).toMatchObject({ party: 'alice', protocol: 'UDP', local: '127.0.0.1:5060', remote: '127.0.0.1:5070' });
    expect(ladder[3]!.text).toBe(BUSY.toString('utf8'));
  });

  it('holds no Buffers: it survives a JSON round trip unchanged', () => {
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it('redacts the password from the ladder text and keeps the Authorization header', () => {
    const text = doc.tests[1]!.ladder[0]!.text;
    expect(text).toContain(AUTHORIZATION);
    expect(text).toContain(`Call-ID: ${CALL_ID}`);
    expect(text).toContain('X-Debug: pass=*** quoted="***" uri=sip:alice:***@example.com');
    const expected = INVITE.toString('utf8')
      .replace(`pass=${PASSWORD}`, 'pass=***')
      .replace(`quoted=${PASSWORD_QUOTED}`, 'quoted="***"')
      .replace(`alice:${PASSWORD_URLENCODED}@`, 'alice:***@');
    expect(text).toBe(expected); // nothing else changed, line endings included
    expect(JSON.stringify(doc)).not.toContain('sw0rd');
  });

  it('redacts failure, error and finding strings too', () => {
    const t = failedTest();
    t.failure!.received = `401 with password ${PASSWORD}`;
    t.findings[0]!.message = `echoed ${PASSWORD}`;
    const out = buildResultsJson(sampleRun({ tests: [t] })).tests[0]!;
    expect(out.failure!.received).toBe('401 with password ***');
    expect(out.findings[0]!.message).toBe('echoed ***');
  });
});

describe('jsonReporter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sipwright-json-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes results.json atomically on run end', async () => {
    const outputFile = join(dir, 'out', 'results.json');
    await jsonReporter({ outputFile }).onRunEnd!(sampleRun());
    expect(JSON.parse(await readFile(outputFile, 'utf8'))).toEqual(buildResultsJson(sampleRun()));
    expect(await readdir(join(dir, 'out'))).toEqual(['results.json']);
  });
});
