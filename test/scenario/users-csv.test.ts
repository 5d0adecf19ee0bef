import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { loadUsersCsv, parseUsersCsv } from '../../src/scenario/users-csv.js';

function errorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError, nothing was thrown');
}

const ALICE_BOB = [
  { username: 'alice', password: 'pa55', did: '+15550100' },
  { username: 'bob', password: 'w0rd', did: '+15550101' },
];

describe('parseUsersCsv: accepted files', () => {
  it.each([
    ['comma separated', 'username,password,did\nalice,pa55,+15550100\nbob,w0rd,+15550101\n', ALICE_BOB],
    ['semicolon separated (SIPp style)', 'username;password;did\nalice;pa55;+15550100\nbob;w0rd;+15550101\n', ALICE_BOB],
    ['CRLF line ends, no final line end', 'username,password,did\r\nalice,pa55,+15550100\r\nbob,w0rd,+15550101', ALICE_BOB],
    ['a UTF-8 byte order mark', '\uFEFFusername,password,did\nalice,pa55,+15550100\nbob,w0rd,+15550101\n', ALICE_BOB],
    [
      'comment lines and blank lines anywhere',
      '# accounts for the load test\n\n  # indented comment\nusername;password;did\n\nalice;pa55;+15550100\n   \n# bob next\nbob;w0rd;+15550101\n\n',
      ALICE_BOB,
    ],
    [
      'SIPp trailing separators on every line',
      'username;password;did;\nalice;pa55;+15550100;\nbob;w0rd;+15550101;\n',
      ALICE_BOB,
    ],
    [
      'whitespace around fields is dropped',
      ' username , password , did \n alice ,\tpa55 , +15550100\nbob,w0rd,+15550101\n',
      ALICE_BOB,
    ],
    [
      'a trailing separator on a row whose last field is empty',
      'username;password;did\nalice;pa55;\n',
      [{ username: 'alice', password: 'pa55', did: '' }],
    ],
    [
      'empty fields in the middle',
      'username,password,did\nalice,,+15550100\n',
      [{ username: 'alice', password: '', did: '+15550100' }],
    ],
    [
      'quoted fields holding separators, quotes and spaces',
      'username;password;display\n"alice";"p;a,s""s";"  Alice ""A"" Smith  "\n',
      [{ username: 'alice', password: 'p;a,s"s', display: '  Alice "A" Smith  ' }],
    ],
    [
      'an empty quoted field, and spaces around quotes',
      'username,password,did\nalice, "" ,"+1"  \n',
      [{ username: 'alice', password: '', did: '+1' }],
    ],
    [
      'a quoted last field followed by a trailing separator',
      'username;password\nalice;"x;y";\n',
      [{ username: 'alice', password: 'x;y' }],
    ],
  ])('%s', (_name, text, rows) => {
    const csv = parseUsersCsv(text, 'users.csv');
    expect(csv.rows).toEqual(rows);
    expect(csv.columns).toEqual(Object.keys(rows[0]));
    expect(csv.file).toBe('users.csv');
  });

  it.each([
    ['`;` first: commas in rows are data', 'username;password\nalice;a,b\n', { username: 'alice', password: 'a,b' }],
    ['`,` first: semicolons in rows are data', 'username,password\nalice,a;b\n', { username: 'alice', password: 'a;b' }],
  ])('auto-detects the separator from the column line: %s', (_name, text, row) => {
    expect(parseUsersCsv(text, 'users.csv').rows).toEqual([row]);
  });

  it('a single column uses `;`, so a comma is part of the value', () => {
    const csv = parseUsersCsv('did\n+1,555\n', 'users.csv');
    expect(csv.columns).toEqual(['did']);
    expect(csv.rows).toEqual([{ did: '+1,555' }]);
  });

  it('a column named __proto__ is an ordinary own field', () => {
    const csv = parseUsersCsv('__proto__;x\na;b\n', 'users.csv');
    expect(Object.keys(csv.rows[0])).toEqual(['__proto__', 'x']);
    expect(Object.getPrototypeOf(csv.rows[0])).toBe(Object.prototype);
  });
});

describe('rowFor: SIPp SEQUENTIAL order', () => {
  const csv = parseUsersCsv('username\nu0\nu1\nu2\n', 'users.csv');

  it.each([
    [0, 'u0'],
    [1, 'u1'],
    [2, 'u2'],
    [3, 'u0'],
    [7, 'u1'],
    [3000, 'u0'],
  ])('call %i uses row %s (cycling when calls outnumber rows)', (index, username) => {
    expect(csv.rowFor(index)).toEqual({ username });
  });

  it.each([-1, 1.5, Number.NaN])('rejects index %s', (index) => {
    expect(errorOf(() => csv.rowFor(index)).message).toBe(`users.csv: row index must be a whole number >= 0, got ${index}`);
  });
});

describe('parseUsersCsv: errors name file:line', () => {
  it.each([
    ['an empty file', '', 'users.csv:1: empty accounts file: the first line must name the columns, e.g. username;password'],
    ['only comments and blank lines', '# nothing\n\n# here\n', 'users.csv:1: empty accounts file: the first line must name the columns, e.g. username;password'],
    ['column names but no rows', '# header next\nusername;password\n\n# none\n', 'users.csv:2: no accounts after the column names'],
    ['too few fields', 'username;password;did\nalice;pa55;+1\n\nbob;w0rd\n', 'users.csv:4: 2 fields, expected 3 (username;password;did)'],
    ['too many fields', 'username,password\nalice,pa55,extra\n', 'users.csv:2: 3 fields, expected 2 (username,password)'],
    ['one field for two columns', 'username,password\nalice\n', 'users.csv:2: 1 field, expected 2 (username,password)'],
    ['two trailing separators', 'username;password\nalice;pa55;;\n', 'users.csv:2: 4 fields, expected 2 (username;password)'],
    ['an unterminated quote', 'username;password\nalice;"pa55\n', 'users.csv:2: unterminated quote starting at column 7'],
    ['an unterminated quote in the column line', '"username;password\n', 'users.csv:1: unterminated quote starting at column 1'],
    [
      'text after a closing quote',
      'username;password\n"alice"x;pa55\n',
      'users.csv:2: unexpected "x" after the closing quote at column 8; expected ";"',
    ],
    [
      'a quote inside an unquoted field',
      'username;password\nalice;pa"55\n',
      'users.csv:2: quote inside an unquoted field "pa\\"55": quote the whole field and double the quote',
    ],
    ['an empty column name', 'username;;did\n', 'users.csv:1: column 2 has no name'],
    ['a repeated column', 'username;password;username\n', 'users.csv:1: column "username" appears twice'],
    [
      'a column that is not a variable name',
      'username;pass word\n',
      'users.csv:1: column name "pass word" is not a variable name (letters, digits, _ . -, starting with a letter or _)',
    ],
    [
      'a column that would shadow the environment',
      'env.HOME\n',
      'users.csv:1: column name "env.HOME" is not a variable name (letters, digits, _ . -, starting with a letter or _)',
    ],
    [
      "SIPp's SEQUENTIAL line",
      'SEQUENTIAL\nalice;pa55\n',
      'users.csv:1: "SEQUENTIAL" is SIPp\'s ordering line; sipwright reads rows in order, so replace it with the column names, e.g. username;password',
    ],
  ])('%s', (_name, text, message) => {
    expect(errorOf(() => parseUsersCsv(text, 'users.csv')).message).toBe(message);
  });
});

describe('loadUsersCsv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipwright-users-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file and names it in errors', () => {
    const good = join(dir, 'accounts.csv');
    writeFileSync(good, 'username;password;did\nalice;pa55;+15550100\nbob;w0rd;+15550101\n');
    const csv = loadUsersCsv(good);
    expect(csv.file).toBe(good);
    expect(csv.columns).toEqual(['username', 'password', 'did']);
    expect(csv.rows).toEqual(ALICE_BOB);
    expect(csv.rowFor(2)).toEqual(ALICE_BOB[0]);

    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'username;password\nalice\n');
    expect(errorOf(() => loadUsersCsv(bad)).message).toBe(`${bad}:2: 1 field, expected 2 (username;password)`);
  });

  it('a missing file is a usage error naming it', () => {
    const missing = join(dir, 'nope.csv');
    expect(errorOf(() => loadUsersCsv(missing)).message).toBe(`${missing}: cannot read the accounts file: ENOENT`);
  });
});
