/**
 * The carrier/ conformance suite against real Kamailio (sut/kamailio): sipwright plays the
 * customer's PBX and the far ends, Kamailio is the carrier under test.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/run.js';
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
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d.toString()));
    const code = await runCommand(
      { paths: (process.env.CARRIER_PATHS ?? 'scenarios/carrier').split(','), profile, var: [], concurrency: 1, junit: join(dir, 'junit.xml'), json: join(dir, 'results.json') },
      out,
    );
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    const failed = results.tests.filter((t: { verdict: string }) => t.verdict !== 'passed');
    expect(failed.map((t: { name: string; failure?: { message: string }; error?: { message: string } }) => `${t.name}: ${t.failure?.message ?? t.error?.message}`), text).toEqual([]);
    expect(code).toBe(0);
  }, 240_000);
});
