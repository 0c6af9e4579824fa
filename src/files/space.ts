import { AppError } from '../errors.js';

/** What is to fit in a user's drive. */
export interface RoomNeeded {
  /** Bytes needed; null: an unknown length, which fits while any room is left. */
  size: number | null;
  /** The drive's free space (plus what the new entry replaces), in bytes. */
  room: number;
  /** Says what needs the bytes, with its verb ("the file needs"). Default: the file. */
  what?: string;
  /** Bytes of the room already promised to unfinished work, and what that work is. */
  reserved?: { bytes: number; by: string };
}

/**
 * The one space check of uploads and offline tasks: SPACE_EXCEEDED unless `size` bytes fit in
 * `room` beside what is reserved. It refuses early, with a message that says why; the drive's
 * count itself is charged atomically where the entry is written (FilesRepo.addSpace).
 */
export function assertRoom(need: RoomNeeded): void {
  const reserved = Math.max(0, need.reserved?.bytes ?? 0);
  const fits = need.size === null ? need.room - reserved > 0 : need.size + reserved <= need.room;
  if (fits) return;
  const free = Math.max(0, need.room - reserved);
  if (need.size === null) throw new AppError('SPACE_EXCEEDED', 'No space is left in this drive.');
  const what = need.what ?? 'the file needs';
  const besides = reserved > 0 && need.reserved !== undefined ? ` besides the ${reserved} bytes of ${need.reserved.by}` : '';
  throw new AppError('SPACE_EXCEEDED', `Not enough space left: ${what} ${need.size} bytes and ${free} are free${besides}.`);
}
