import type { Dirent } from 'node:fs';
import { open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

// Small filesystem helpers shared by everything that writes durable files.

export function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
}

/** Makes a rename or create in `dir` durable: the directory entry itself must reach the disk. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some platforms and filesystems cannot fsync a directory; the data file itself is synced.
    const code = errnoOf(err);
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw err;
  } finally {
    await handle?.close();
  }
}

export async function writeFully(handle: FileHandle, chunk: Uint8Array, position?: number): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const at = position === undefined ? null : position + offset;
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset, at);
    offset += bytesWritten;
  }
}

/** The file's modification time (ms), or null when it does not exist. */
export async function mtimeOrNull(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return null;
    throw err;
  }
}

/** The names in a directory, or none when it does not exist. */
export async function namesInDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Removes the files directly in `dir` not modified for maxAgeMs (temporary files a crash left;
 * mtime moves with every write, so only writers idle that long go). Returns how many.
 */
export async function sweepOldFiles(dir: string, maxAgeMs: number): Promise<number> {
  const cutoff = Date.now() - maxAgeMs;
  let removed = 0;
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return 0;
    throw err;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(dir, entry.name);
    try {
      if ((await stat(path)).mtimeMs >= cutoff) continue;
      await unlink(path);
      removed++;
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
  }
  return removed;
}
