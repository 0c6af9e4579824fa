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

export function spaceExceeded(size: number | null, room: number): AppError {
  const free = Math.max(0, room);
  return new AppError(
    'SPACE_EXCEEDED',
    size === null ? 'No space is left in this drive.' : `Not enough space left: the file needs ${size} bytes and ${free} are free.`,
  );
}

/**
 * SPACE_EXCEEDED for `size` more bytes that do not fit in `room` (free space) beside `pending`
 * bytes of the user's unfinished block uploads, which wait on the server for their mkfile.
 */
export function pendingExceeded(size: number, room: number, pending: number): AppError {
  if (pending <= 0) return spaceExceeded(size, room);
  const free = Math.max(0, room - pending);
  return new AppError(
    'SPACE_EXCEEDED',
    `Not enough space left: ${size} more bytes are needed, and ${free} are free besides the ${pending} bytes of unfinished uploads waiting on the server (finish them, or they are deleted once they expire).`,
  );
}

/** SPACE_EXCEEDED unless `size` bytes fit in `room` beside `pending` bytes of unfinished block uploads. */
export function checkRoom(size: number, room: number, pending: number): void {
  if (size + pending > room) throw pendingExceeded(size, room, pending);
}
