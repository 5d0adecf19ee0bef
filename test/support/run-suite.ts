/** Run a conformance suite in-process through `sipwright run` and say what did not pass. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runCommand } from '../../src/cli/run.js';

export interface SuiteOutcome {
  code: number;
  /** `name: failure or error message` for every test that did not pass. */
  notPassed: string[];
  /** Everything the console reporter printed. */
  out: string;
}

export async function runSuite(paths: string[], profile: string, dir: string): Promise<SuiteOutcome> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d.toString()));
  const json = join(dir, 'results.json');
  const code = await runCommand({ paths, profile, var: [], concurrency: 1, junit: join(dir, 'junit.xml'), json }, out);
  const tests: Array<{ name: string; verdict: string; failure?: { message: string }; error?: { message: string } }> = JSON.parse(
    readFileSync(json, 'utf8'),
  ).tests;
  const notPassed = tests.filter((t) => t.verdict !== 'passed').map((t) => `${t.name}: ${t.failure?.message ?? t.error?.message ?? t.verdict}`);
  return { code, notPassed, out: text };
}
