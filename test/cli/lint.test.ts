/**
 * `sipwright lint <file>` through the built command: exit 0 for a valid message, 1 for one that
 * breaks RFC 3261 (every violation on its own line, then a verdict), 2 for a file it cannot
 * read. Fixtures in test/fixtures/lint/ are written with LF line ends; lint reads them as CRLF.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const FIXTURES = 'test/fixtures/lint';

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
});

function lint(file: string, input?: string | Buffer): { code: number | null; lines: string[]; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'lint', file], { cwd: ROOT, input, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
}

const CASES: Array<{ file: string; code: number; lines: string[] }> = [
  {
    file: 'clean-invite.sip',
    code: 0,
    lines: ['valid: INVITE sip:bob@example.com SIP/2.0'],
  },
  {
    // Seed 000 §3.5.3: the PBX answers 486 without a To tag.
    file: '486-without-to-tag.sip',
    code: 1,
    lines: ['violation: missing-to-tag: 486 response without To tag [RFC 3261 §8.2.6.2]', 'invalid: 1 violation(s)'],
  },
  {
    file: 'bad-content-length.sip',
    code: 1,
    lines: ['invalid: Content-Length 300 is larger than the 134 body bytes received (line 10); a server would answer 400'],
  },
  {
    file: 'not-sip.sip',
    code: 1,
    lines: ['invalid: not a SIP start line: "hello world" (line 1); a server would answer 400'],
  },
];

describe('sipwright lint', () => {
  it('486-without-to-tag.sip is the seed 3.5.3 message, byte for byte', () => {
    expect(readFileSync(join(ROOT, FIXTURES, '486-without-to-tag.sip'))).toEqual(
      readFileSync(join(ROOT, 'test/fixtures/seeds/000/3.5.3-486-busy-here.sip')),
    );
  });

  for (const c of CASES) {
    it(`${c.file}: exit ${c.code}, prints exactly ${c.lines.length} line(s)`, () => {
      const r = lint(`${FIXTURES}/${c.file}`);
      expect(r.lines).toEqual(c.lines);
      expect(r.code).toBe(c.code);
      expect(r.stderr).toBe('');
    });

    it(`${c.file} on stdin (-): the same lines and exit code`, () => {
      const r = lint('-', readFileSync(join(ROOT, FIXTURES, c.file)));
      expect(r.lines).toEqual(c.lines);
      expect(r.code).toBe(c.code);
    });
  }

  it('a message with CRLF line ends is read as it is', () => {
    const crlf = readFileSync(join(ROOT, FIXTURES, 'clean-invite.sip'), 'utf8').replace(/\n/g, '\r\n');
    const r = lint('-', crlf);
    expect(r.lines).toEqual(['valid: INVITE sip:bob@example.com SIP/2.0']);
    expect(r.code).toBe(0);
  });

  it('a missing file: exit 2, one line `sipwright: cannot read …`, no stack', () => {
    const r = lint(`${FIXTURES}/no-such-message.sip`);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([]);
    expect(r.stderr).toBe(`sipwright: cannot read ${FIXTURES}/no-such-message.sip: no such file (ENOENT)\n`);
  });

  it('a folder instead of a file: exit 2, one line', () => {
    const r = lint(FIXTURES);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`sipwright: cannot read ${FIXTURES}: it is a folder, expected a file with one SIP message (EISDIR)\n`);
  });

  it('no file named: exit 2, one line', () => {
    const r = spawnSync(process.execPath, [CLI, 'lint'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^sipwright: /);
  });
});
