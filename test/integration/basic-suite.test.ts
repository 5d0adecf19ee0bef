/**
 * The shipped `scenarios/basic/` suite, run through `sipwright run` against real SIPp on
 * loopback over UDP and TCP; one failing run proves the failure names what the peer did.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand, type RunCommandOptions } from '../../src/cli/run.js';
import { freePort } from '../support/ports.js';
import { startSipp, type SippRun } from '../support/sipp.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'sipp');
const running: SippRun[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.stop();
});

function reportPaths(): { junit: string; json: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sipwright-run-'));
  return { junit: join(dir, 'junit.xml'), json: join(dir, 'results.json') };
}

async function run(paths: string[], extra: Partial<RunCommandOptions>): Promise<{ code: number; out: string; junit: string; json: any }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d.toString()));
  const files = reportPaths();
  const code = await runCommand({ paths, transport: 'udp', var: [], concurrency: 2, ...files, ...extra }, out);
  return { code, out: text, junit: readFileSync(files.junit, 'utf8'), json: JSON.parse(readFileSync(files.json, 'utf8')) };
}

for (const transport of ['udp', 'tcp'] as const) {
  describe(`scenarios/basic over ${transport.toUpperCase()}`, () => {
    it('uac-call.yaml passes against `sipp -sn uas`', async () => {
      const sipp = await startSipp({ scenario: 'uas', transport });
      running.push(sipp);
      const r = await run(['scenarios/basic/uac-call.yaml'], { target: `127.0.0.1:${sipp.port}`, transport });
      expect(r.code, r.out).toBe(0);
      expect(r.json.summary.passed).toBe(1);
      expect((await sipp.exited).code).toBe(0);
    });

    it('uas-answer.yaml answers `sipp -sn uac`, which exits 0', async () => {
      const port = await freePort();
      const pending = run(['scenarios/basic/uas-answer.yaml'], { listen: `127.0.0.1:${port}`, transport });
      await new Promise((r) => setTimeout(r, 300));
      const sipp = await startSipp({ scenario: 'uac', transport, remote: `127.0.0.1:${port}` });
      running.push(sipp);
      const r = await pending;
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(`listening on ${transport} 127.0.0.1:${port}`);
      expect((await sipp.exited).code).toBe(0);
    });

    it('register-auth.yaml answers the 401 of a SIPp registrar that verifies the digest', async () => {
      const sipp = await startSipp({ scenarioFile: join(fixtures, 'uas-register-auth.xml'), transport, args: ['-set', 'password', 's3cret-pw'] });
      running.push(sipp);
      process.env.SIPWRIGHT_PASSWORD = 's3cret-pw';
      const r = await run(['scenarios/basic/register-auth.yaml'], { target: `127.0.0.1:${sipp.port}`, transport });
      expect(r.code, r.out).toBe(0);
      expect((await sipp.exited).code).toBe(0);
      expect(JSON.stringify(r.json)).not.toContain('s3cret-pw');
    });

    it('options-ping.yaml gets 200', async () => {
      const sipp = await startSipp({ scenarioFile: join(fixtures, 'uas-options.xml'), transport });
      running.push(sipp);
      const r = await run(['scenarios/basic/options-ping.yaml'], { target: `127.0.0.1:${sipp.port}`, transport });
      expect(r.code, r.out).toBe(0);
      expect((await sipp.exited).code).toBe(0);
    });

    it('cancel.yaml CANCELs after 180 and gets 487', async () => {
      const sipp = await startSipp({ scenarioFile: join(fixtures, 'uas-ring-cancel.xml'), transport });
      running.push(sipp);
      const r = await run(['scenarios/basic/cancel.yaml'], { target: `127.0.0.1:${sipp.port}`, transport });
      expect(r.code, r.out).toBe(0);
      expect((await sipp.exited).code).toBe(0);
    });
  });
}

describe('a failing run', () => {
  it('uac-call.yaml against a busy peer fails, and the JUnit failure names 486 with the ladder', async () => {
    const sipp = await startSipp({ scenarioFile: join(fixtures, 'uas-busy.xml') });
    running.push(sipp);
    process.env.SIPWRIGHT_PASSWORD = 'unused';
    const r = await run(['scenarios/basic/uac-call.yaml'], { target: `127.0.0.1:${sipp.port}` });
    expect(r.code).toBe(1);
    const xml = new XMLParser({ ignoreAttributes: false }).parse(r.junit);
    const suites = [xml.testsuites.testsuite].flat();
    const tc = [suites[0].testcase].flat()[0];
    expect(tc.failure['@_message']).toBe('expected 200, received 486 Busy Here');
    expect(String(tc['system-out'])).toContain('SIP/2.0 486 Busy Here');
    expect(r.json.summary.failed).toBe(1);
  });
});
