/**
 * Write a report file so that a reader (a CI job collecting `junit.xml`, a person tailing
 * `results.json`) never sees it half written: write a temporary file next to it, flush it,
 * then rename it over the target. A rename within one directory is atomic on POSIX file
 * systems and replaces an existing file on Windows too.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Distinguishes concurrent writes to the same path from one process. */
let sequence = 0;

/**
 * Write `data` to `path` atomically, creating missing parent directories. The temporary file
 * is `<path>.tmp-<pid>-<n>` in the same directory (so the rename never crosses a file system);
 * it is removed again when anything fails.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${sequence++}`;
  try {
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(data, typeof data === 'string' ? 'utf8' : undefined);
      // Flush before the rename: otherwise a crash can leave an empty file under the final name.
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
