import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/report/atomic-write.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sipwright-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a new file, creating missing parent directories, and leaves no temporary file', async () => {
    const path = join(dir, 'a', 'b', 'report.xml');
    await writeFileAtomic(path, '<x/>\n');
    expect(await readFile(path, 'utf8')).toBe('<x/>\n');
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['report.xml']);
  });

  it('replaces an existing file whole', async () => {
    const path = join(dir, 'results.json');
    await writeFile(path, 'old content that is longer than the new one');
    await writeFileAtomic(path, '{}');
    expect(await readFile(path, 'utf8')).toBe('{}');
    expect(await readdir(dir)).toEqual(['results.json']);
  });

  it('writes bytes as they are', async () => {
    const path = join(dir, 'bin');
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe]);
    await writeFileAtomic(path, bytes);
    expect(await readFile(path)).toEqual(bytes);
  });

  it('writes UTF-8', async () => {
    const path = join(dir, 'ladder.txt');
    await writeFileAtomic(path, 'alice → bob ✓');
    expect(await readFile(path)).toEqual(Buffer.from('alice → bob ✓', 'utf8'));
  });

  it('survives concurrent writes to the same path: one of them wins, no temporary file left', async () => {
    const path = join(dir, 'junit.xml');
    const contents = Array.from({ length: 10 }, (_, i) => `version ${i}`);
    await Promise.all(contents.map((c) => writeFileAtomic(path, c)));
    expect(contents).toContain(await readFile(path, 'utf8'));
    expect(await readdir(dir)).toEqual(['junit.xml']);
  });

  it('rejects and cleans up when the target cannot be written, keeping the old file', async () => {
    // The target is a directory: the rename fails after the temporary file was written.
    const target = join(dir, 'occupied');
    await writeFileAtomic(join(target, 'inside'), 'x');
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['occupied']);
    expect(await readFile(join(target, 'inside'), 'utf8')).toBe('x');
  });

  it('rejects when a parent is a file', async () => {
    await writeFile(join(dir, 'file'), '');
    await expect(writeFileAtomic(join(dir, 'file', 'x.json'), '{}')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['file']);
  });
});
