import { AppError } from '../errors.js';
import { FILE, type DirRef, type FileObject } from '../files/file-object.js';
import type { FilesService } from '../files/files.service.js';
import { childPath } from '../names/file-names.js';

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

/** What holds the room of unfinished block uploads, as a space refusal names it. */
export const UNFINISHED_UPLOADS = 'unfinished uploads waiting on the server (finish them, or they are deleted once they expire)';
