/**
 * The pbx/ conformance suite against real Asterisk 16 (sut/asterisk): sipwright plays the
 * carrier and the phones, Asterisk is the PBX under test.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/run.js';
import { startAsterisk, type AsteriskRun } from '../support/asterisk.js';
import { freePort } from '../support/ports.js';

let asterisk: AsteriskRun;
let profile: string;
const dir = mkdtempSync(join(tmpdir(), 'pbx-suite-'));

beforeAll(async () => {
  const carrierPort = await freePort();
  asterisk = await startAsterisk({ carrierPort, noAnswerSeconds: 10 });
  profile = join(dir, 'profile.yaml');
  writeFileSync(
    profile,
    readFileSync('sut/asterisk/profile.yaml', 'utf8')
      .replace(/^address: .*$/m, `address: 127.0.0.1:${asterisk.sipPort}`)
      .replace(/^  address: 127\.0\.0\.1:5070$/m, `  address: 127.0.0.1:${carrierPort}`)
      .replace(/^  expires: 120 .*$/m, '  expires: 30')
      .replace(/^no_answer_seconds: .*$/m, 'no_answer_seconds: 10'),
  );
  process.env.TRUNK_PASSWORD = 'password';
}, 60_000);

afterAll(async () => {
  await asterisk?.stop();
});

describe('scenarios/pbx against Asterisk 16', () => {
  it('every test passes', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d.toString()));
    const code = await runCommand(
      { paths: (process.env.PBX_PATHS ?? 'scenarios/pbx').split(','), profile, var: [], concurrency: 2, junit: join(dir, 'junit.xml'), json: join(dir, 'results.json') },
      out,
    );
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    const failed = results.tests.filter((t: { verdict: string }) => t.verdict !== 'passed');
    expect(failed.map((t: { name: string; failure?: { message: string }; error?: { message: string } }) => `${t.name}: ${t.failure?.message ?? t.error?.message}`), text).toEqual([]);
    expect(code).toBe(0);
  }, 240_000);
});
