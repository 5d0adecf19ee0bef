import { it } from 'vitest';
import { readdirSync } from 'node:fs';
import { loadScenario } from '../../src/scenario/loader.js';
it('x', () => {
  for (const f of readdirSync('test/fixtures/scenarios/bad').sort()) {
    try { loadScenario('test/fixtures/scenarios/bad/' + f); console.log(f, 'LOADED?!'); } catch (e) { console.log('## ' + f + '\n' + (e as Error).message); }
  }
});
