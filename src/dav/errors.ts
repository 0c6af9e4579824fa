import { AppError, isAppError, type ErrorCode } from '../errors.js';

/** A WebDAV answer that is not a success: its status, and the precondition element RFC 4918 names, if any. */
export class DavError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** A DAV: precondition or postcondition code (`propfind-finite-depth`, `lock-token-submitted`, …). */
    readonly condition?: string,
  ) {
    super(message);
    this.name = 'DavError';
  }
}

/** WebDAV's statuses for the file tree's errors (RFC 4918 §9). */
const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  FILE_NOT_FOUND: 404,
  PARENT_NOT_FOUND: 409,
  NOT_A_DIRECTORY: 409,
  IS_A_DIRECTORY: 405,
  FILE_ALREADY_EXISTS: 412,
  MOVE_INTO_SELF: 403,
  // The torrent folder cannot be renamed, moved or removed; the root cannot be moved.
  BAD_REQUEST: 400,
  NAME_INVALID: 400,
  PATH_INVALID: 400,
  SPACE_EXCEEDED: 507,
  DISK_FULL: 507,
  PAYLOAD_TOO_LARGE: 413,
};

/** The status and message a WebDAV client gets for an error of the domain. */
export function davStatusOf(err: unknown): { status: number; message: string; condition?: string } | null {
  if (err instanceof DavError) return { status: err.status, message: err.message, condition: err.condition };
  if (isAppError(err)) return { status: STATUS_OF[err.code] ?? err.status, message: err.message };
  return null;
}

/** An AppError of `code` as WebDAV answers it with another status where a method needs one. */
export function asDav(err: unknown, code: ErrorCode, status: number): unknown {
  return err instanceof AppError && err.code === code ? new DavError(status, err.message) : err;
}
