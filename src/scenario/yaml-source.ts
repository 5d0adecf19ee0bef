/**
 * Reading YAML with positions, shared by every file sipwright loads (scenarios, profiles,
 * persona configs): phone numbers kept as text, `file:line:column` of any key path, problems
 * collected and reported together in file order, duplicate keys found.
 */
import { isAlias, isMap as isYamlMap, isScalar, isSeq, type Document, type LineCounter, type ScalarTag } from 'yaml';
import type * as z from 'zod';
import { ScenarioError, type ScenarioProblem } from '../errors.js';
import type { SourcePos } from './model.js';
import type { Path } from './schema-values.js';

/**
 * A plain scalar with a leading zero or plus (`0312345678`, `+81312345678`) stays text: YAML 1.2
 * would read it as a number and drop the zero, and in SIP such values are phone numbers.
 */
export const PHONE_NUMBER_TEXT: ScalarTag = {
  tag: 'tag:yaml.org,2002:str',
  default: true,
  test: /^(?:[-+]?0[0-9]+|\+[0-9]+)$/,
  resolve: (s: string) => s,
};

/** `a.b[2].c`, the way messages name a field. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[\w-]+$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Finds where a path of keys and indexes stands in the YAML document. */
export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    readonly file: string,
  ) {}

  posOf(offset: number): SourcePos {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  /** Position of the value at `path` (or its key), else of the nearest enclosing node that exists. */
  at(path: Path, at: 'key' | 'value' = 'value'): SourcePos {
    let node: unknown = this.doc.contents;
    let key: unknown;
    let found = true;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      const next = isYamlMap(node)
        ? node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg))
        : isSeq(node) && typeof seg === 'number' && seg < node.items.length
          ? { key: undefined, value: node.items[seg] }
          : undefined;
      if (!next) {
        found = false;
        break;
      }
      [key, node] = [next.key, next.value];
    }
    const rangeOf = (n: unknown) => (n && typeof n === 'object' && 'range' in n ? (n.range as number[] | undefined) : undefined);
    const emptyValue = isScalar(node) && node.value === null && !node.source;
    const offset =
      found && (at === 'key' || emptyValue || !rangeOf(node)) && rangeOf(key) ? rangeOf(key)![0] : (rangeOf(node)?.[0] ?? 0);
    return this.posOf(offset);
  }
}

/** Collects problems; `error()` sorts them into file order. */
export class Problems {
  readonly list: ScenarioProblem[] = [];
  constructor(private readonly loc: Locator) {}
  add(path: Path, message: string, at: 'key' | 'value' = 'value'): void {
    this.addAt(this.loc.at(path, at), formatPath(path), message);
  }
  addAt(pos: SourcePos, field: string, message: string): void {
    this.list.push({ pos, field, message });
  }
  /** zod issues under `prefix`; an unknown-keys issue becomes one problem per key, at the key. */
  addIssues(issues: z.core.$ZodIssue[], prefix: Path): void {
    for (const iss of issues) {
      const path = [...prefix, ...(iss.path as Path)];
      if (iss.code === 'unrecognized_keys') {
        const lines = iss.message.split('\n');
        iss.keys.forEach((k, i) => this.add([...path, k], lines[i] ?? iss.message, 'key'));
      } else {
        this.add(path, iss.message, iss.code === 'custom' && iss.params?.at === 'key' ? 'key' : 'value');
      }
    }
  }
  error(): ScenarioError {
    const seen = new Set<string>();
    const unique = this.list.filter((p) => {
      const id = `${p.pos.line}:${p.pos.column}:${p.field}:${p.message}`;
      return seen.has(id) ? false : (seen.add(id), true);
    });
    unique.sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column);
    return new ScenarioError(unique);
  }
}

/** A key written twice in one map (YAML 1.2 §3.2.1.1: keys are unique); toJS would keep the last silently. */
export function checkDuplicateKeys(node: unknown, path: Path, loc: Locator, problems: Problems): void {
  if (isYamlMap(node)) {
    const first = new Map<string, number>();
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const offset = (pair.key as { range?: number[] } | null)?.range?.[0] ?? 0;
      const before = first.get(key);
      if (before === undefined) first.set(key, offset);
      else {
        const line = loc.posOf(before).line;
        const message = `duplicate key "${key}" (first at line ${line}), expected each key once in a map`;
        problems.addAt(loc.posOf(offset), formatPath([...path, key]), message);
      }
      checkDuplicateKeys(pair.value, [...path, key], loc, problems);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => checkDuplicateKeys(item, [...path, i], loc, problems));
  }
}

/** The object without its undefined properties (so optional fields are absent, not undefined). */
export function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
