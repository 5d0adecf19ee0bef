/**
 * The carrier/ conformance suite against real Kamailio (sut/kamailio): sipwright plays the
 * customer's PBX and the far ends, Kamailio is the carrier under test.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSuite } from '../support/run-suite.js';
import { CARRIER_ACCOUNTS, startKamailio, type KamailioRun } from '../support/kamailio.js';

let kamailio: KamailioRun;
let profile: string;
const dir = mkdtempSync(join(tmpdir(), 'carrier-suite-'));

beforeAll(async () => {
  kamailio = await startKamailio({ accounts: CARRIER_ACCOUNTS });
  profile = join(dir, 'profile.yaml');
  writeFileSync(profile, readFileSync('sut/kamailio/profile.yaml', 'utf8').replace(/^address: .*$/m, `address: 127.0.0.1:${kamailio.port}`));
}, 60_000);

afterAll(async () => {
  await kamailio?.stop();
});

describe('scenarios/carrier against Kamailio 5.6', () => {
  it('every test passes', async () => {
    const r = await runSuite((process.env.CARRIER_PATHS ?? 'scenarios/carrier').split(','), profile, dir);
    expect(r.notPassed, r.out).toEqual([]);
    expect(r.code).toBe(0);
  }, 240_000);
});
