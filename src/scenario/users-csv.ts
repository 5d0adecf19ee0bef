/**
 * Accounts for load runs from a CSV file, like SIPp's `-inf` injection file: call N uses row
 * N (0-based) and wraps around when calls outnumber rows (SIPp's SEQUENTIAL order). Each column
 * becomes a variable of the call (`${username}`, `${password}`, `${did}`).
 *
 * Format:
 * - The first line that is not blank or a comment holds the column names (`username,password,did`).
 *   Unlike SIPp there is no `SEQUENTIAL` / `RANDOM` line.
 * - The separator is `;` or `,`, whichever comes first outside quotes in that line (`;` when the
 *   line has a single column); every row uses the same one.
 * - A field may be quoted: `"a;b"`, with `""` for a quote inside (`"say ""hi"""`). A quoted field
 *   ends on its own line. Whitespace around a field is dropped; quote it to keep it.
 * - A line may end with a separator (SIPp files often end their lines with `;`): it is dropped
 *   from the column line, and from a row that would otherwise have one field too many.
 * - Lines starting with `#` (after optional spaces) and blank lines are skipped.
 *
 * Errors are `UsageError`s naming `file:line`: an empty file, a header with no rows, a column
 * name that is empty, repeated or not a variable name, a row with the wrong number of fields, an
 * unterminated quote, text after a closing quote.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { isVariableName } from './variables.js';

/** A loaded accounts file. */
export interface UsersCsv {
  file: string;
  /** Column names, in file order. */
  columns: string[];
  /** One record per account row, keyed by column name. */
  rows: Record<string, string>[];
  /** The row for call `index` (0-based), cycling through the rows (SIPp SEQUENTIAL). */
  rowFor(index: number): Record<string, string>;
}

/** Read and parse an accounts file (synchronously: it is read once, before the run starts). */
export function loadUsersCsv(path: string): UsersCsv {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${path}: cannot read the accounts file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseUsersCsv(text, path);
}

/** Parse accounts CSV text; `file` names it in errors. */
export function parseUsersCsv(text: string, file: string): UsersCsv {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = source.split(/\r\n|\n|\r/);
  let columns: string[] | undefined;
  let separator = ';';
  let headerLine = 0;
  const rows: Record<string, string>[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const lineNo = i + 1;
    const first = firstNonSpace(line);
    if (first < 0 || line.charCodeAt(first) === 35 /* # */) continue;
    if (columns === undefined) {
      separator = detectSeparator(line);
      const header = splitFields(line, separator, file, lineNo);
      if (header.trailing) header.fields.pop();
      columns = parseHeader(header.fields, file, lineNo);
      headerLine = lineNo;
      continue;
    }
    const { fields, trailing } = splitFields(line, separator, file, lineNo);
    if (trailing && fields.length === columns.length + 1) fields.pop();
    if (fields.length !== columns.length) {
      throw new UsageError(
        `${file}:${lineNo}: ${fields.length} ${fields.length === 1 ? 'field' : 'fields'}, expected ${columns.length} (${columns.join(separator)})`,
      );
    }
    rows.push(Object.fromEntries(columns.map((c, k) => [c, fields[k]])));
  }
  if (columns === undefined) throw new UsageError(`${file}:1: empty accounts file: the first line must name the columns, e.g. username;password`);
  if (rows.length === 0) throw new UsageError(`${file}:${headerLine}: no accounts after the column names`);
  const cols = columns;
  return {
    file,
    columns: cols,
    rows,
    rowFor(index: number): Record<string, string> {
      if (!Number.isSafeInteger(index) || index < 0) throw new UsageError(`${file}: row index must be a whole number >= 0, got ${index}`);
      return rows[index % rows.length];
    },
  };
}

function firstNonSpace(line: string): number {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9) return i;
  }
  return -1;
}

/** `;` or `,`, whichever comes first outside quotes; `;` (SIPp's) when neither does. */
function detectSeparator(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ';' || c === ',')) return c;
  }
  return ';';
}

function parseHeader(names: string[], file: string, lineNo: number): string[] {
  if (names.length === 1 && (names[0] === 'SEQUENTIAL' || names[0] === 'RANDOM' || names[0] === 'USER')) {
    throw new UsageError(
      `${file}:${lineNo}: "${names[0]}" is SIPp's ordering line; sipwright reads rows in order, so replace it with the column names, e.g. username;password`,
    );
  }
  const seen = new Set<string>();
  for (let k = 0; k < names.length; k++) {
    const name = names[k];
    if (name === '') throw new UsageError(`${file}:${lineNo}: column ${k + 1} has no name`);
    if (!isVariableName(name) || name.startsWith('env.')) {
      throw new UsageError(`${file}:${lineNo}: column name ${JSON.stringify(name)} is not a variable name (letters, digits, _ . -, starting with a letter or _)`);
    }
    if (seen.has(name)) throw new UsageError(`${file}:${lineNo}: column ${JSON.stringify(name)} appears twice`);
    seen.add(name);
  }
  return names;
}

/**
 * Split one line into fields. `trailing` is true when the line ends with a separator (an
 * unquoted empty last field), which the caller may drop: SIPp files end lines with `;`.
 */
function splitFields(line: string, separator: string, file: string, lineNo: number): { fields: string[]; trailing: boolean } {
  const fields: string[] = [];
  const end = line.length;
  let i = 0;
  for (;;) {
    while (i < end && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i < end && line[i] === '"') {
      const open = i;
      let field = '';
      i++;
      for (;;) {
        const close = line.indexOf('"', i);
        if (close < 0) throw new UsageError(`${file}:${lineNo}: unterminated quote starting at column ${open + 1}`);
        field += line.slice(i, close);
        if (line[close + 1] === '"') {
          field += '"';
          i = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      while (i < end && (line[i] === ' ' || line[i] === '\t')) i++;
      fields.push(field);
      if (i >= end) return { fields, trailing: false };
      if (line[i] !== separator) {
        throw new UsageError(
          `${file}:${lineNo}: unexpected ${JSON.stringify(line[i])} after the closing quote at column ${i + 1}; expected ${JSON.stringify(separator)}`,
        );
      }
      i++;
      continue;
    }
    const next = line.indexOf(separator, i);
    const field = (next < 0 ? line.slice(i) : line.slice(i, next)).trim();
    if (field.includes('"')) {
      throw new UsageError(`${file}:${lineNo}: quote inside an unquoted field ${JSON.stringify(field)}: quote the whole field and double the quote`);
    }
    fields.push(field);
    if (next < 0) return { fields, trailing: field === '' && fields.length > 1 };
    i = next + 1;
  }
}
