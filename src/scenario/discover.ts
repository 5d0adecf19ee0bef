/**
 * Which scenario files a run covers: every `*.yaml` / `*.yml` below a folder (sorted, so runs
 * and reports are in a stable order), or a file named directly.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ScenarioError, type ScenarioProblem } from '../errors.js';
import { closestName } from './schema-values.js';

/** One scenario file to load; `suite` names the test suite it reports under. */
export interface DiscoveredScenario {
  /** Path relative to the current directory (absolute when outside it). */
  file: string;
  /** The folder given (for a folder), or the file's folder (for a file), relative to the current directory; `.` for it. */
  suite: string;
}

const SCENARIO_FILE = /\.ya?ml$/i;

/** Path as messages and reports show it: relative to `cwd` when inside it. */
function shown(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  return rel === '' ? '.' : rel.startsWith('..') ? abs : rel;
}

/** Scenario files below `dir`, depth first, sorted by name; hidden folders and node_modules are skipped. */
function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const path = join(dir, e.name);
    const isDir = e.isDirectory() || (e.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isDirectory());
    if (isDir) {
      if (!e.name.startsWith('.') && e.name !== 'node_modules') out.push(...filesBelow(path));
    } else if (SCENARIO_FILE.test(e.name)) {
      out.push(path);
    }
  }
  return out;
}

/**
 * The scenario files named by `pathsOrFolders`, each once, in the order given (folders
 * expanded in sorted order).
 * @throws ScenarioError naming every path that does not exist and every folder without scenarios.
 */
export function discoverScenarios(pathsOrFolders: string[], cwd: string = process.cwd()): DiscoveredScenario[] {
  const out: DiscoveredScenario[] = [];
  const seen = new Set<string>();
  const problems: ScenarioProblem[] = [];
  const problem = (file: string, message: string) => problems.push({ pos: { file, line: 0, column: 0 }, field: '', message });

  for (const given of pathsOrFolders) {
    const abs = resolve(cwd, given);
    const stat = statSync(abs, { throwIfNoEntry: false });
    if (!stat) {
      const parent = dirname(abs);
      const siblings = statSync(parent, { throwIfNoEntry: false })?.isDirectory() ? readdirSync(parent) : [];
      const near = closestName(abs.slice(parent.length + 1), siblings);
      const hint = near ? ` (did you mean ${shown(join(parent, near), cwd)}?)` : '';
      problem(given, `no such file or folder${hint}, expected a scenario file or a folder of them`);
      continue;
    }
    const files = stat.isDirectory() ? filesBelow(abs) : [abs];
    if (files.length === 0) problem(given, 'no scenario files (*.yaml, *.yml) in this folder, expected at least one');
    for (const f of files) {
      if (seen.has(f)) continue;
      seen.add(f);
      // Each folder is a suite: `run scenarios` reports scenarios/basic, scenarios/pbx … apart.
      out.push({ file: shown(f, cwd), suite: shown(dirname(f), cwd) });
    }
  }
  if (problems.length) throw new ScenarioError(problems);
  return out;
}
