import { randomUUID } from 'node:crypto';
import { copyFile, link } from 'node:fs/promises';
import { join } from 'node:path';

// Verified files on their way from a job's working directory into the blob store. The store
// takes a file by moving it; the engine must keep its own copy (it still reads it to verify
// neighbouring pieces and to upload), so the store is given a second name for the same bytes.

/** A hard link to `path` in `stagingDir` (a copy where links are not allowed), for the store to take. */
export async function stageFile(path: string, stagingDir: string): Promise<string> {
  const staged = join(stagingDir, randomUUID());
  try {
    await link(path, staged);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EXDEV' && code !== 'ENOTSUP' && code !== 'EMLINK') throw err;
    await copyFile(path, staged);
  }
  return staged;
}
