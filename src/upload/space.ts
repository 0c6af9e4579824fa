import { AppError } from '../errors.js';
import { FILE, type DirRef, type FileObject } from '../files/file-object.js';
import type { FilesService } from '../files/files.service.js';
import { childPath } from '../files/names.js';

/** The entry called `name` in `dir`, or null when the name is free. */
export async function existingEntry(files: FilesService, userId: number, dir: DirRef, name: string): Promise<FileObject | null> {
  try {
    return await files.get(userId, { path: childPath(dir.path, name) });
  } catch (err) {
    if (err instanceof AppError && err.code === 'FILE_NOT_FOUND') return null;
    throw err;
  }
}

/** Bytes a new file may take: free space, plus the file it replaces when overwriting. */
export function roomFor(free: number, existing: FileObject | null, overwrite: boolean): number {
  return free + (overwrite && existing && existing.type === FILE ? existing.size : 0);
}

export function spaceExceeded(size: number | null, room: number): AppError {
  const free = Math.max(0, room);
  return new AppError(
    'SPACE_EXCEEDED',
    size === null ? 'No space is left in this drive.' : `Not enough space left: the file needs ${size} bytes and ${free} are free.`,
  );
}
