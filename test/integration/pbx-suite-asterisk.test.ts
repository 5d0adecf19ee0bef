/**
 * The pbx/ conformance suite against real Asterisk 16 (sut/asterisk): sipwright plays the
 * carrier and the phones, Asterisk is the PBX under test.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSuite } from '../support/run-suite.js';
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
    const r = await runSuite((process.env.PBX_PATHS ?? 'scenarios/pbx').split(','), profile, dir);
    expect(r.notPassed, r.out).toEqual([]);
    expect(r.code).toBe(0);
  }, 240_000);
});
