// One registry of every error code openpan answers with. Codes are stable identifiers that
// clients and tests assert on; the status is the HTTP status the code always travels with.
// The web UI's type check reads this file (through http/sixpan/schemas.ts): no Node types here.
export const ERRORS = {
  BAD_REQUEST: 400,
  /** The gateway's codes for an empty login field, which 6pan's clients turn into messages. */
  '{VALUE}_REQUIRED': 400,
  '{PASSWORD}_REQUIRED': 400,
  NAME_INVALID: 400,
  PATH_INVALID: 400,
  HASH_INVALID: 400,
  MOVE_INTO_SELF: 400,
  NOT_A_DIRECTORY: 400,
  IS_A_DIRECTORY: 400,
  TOKEN_INVALID: 400,
  UPLOAD_INVALID: 400,
  TORRENT_INVALID: 400,
  TASK_HASH_INVALID: 400,
  URL_INVALID: 400,
  URL_FORBIDDEN: 400,
  UNAUTHORIZED: 401,
  USER_LOGIN_FAILED: 401,
  FORBIDDEN: 403,
  /** The share has an extraction code and none was given. */
  SHARE_CODE_REQUIRED: 403,
  SHARE_CODE_WRONG: 403,
  REGISTRATION_CLOSED: 403,
  /** An administrator disabled the account. */
  USER_DISABLED: 403,
  NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  PARENT_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  /** No such share, or it was removed, or everything it gave is gone. */
  SHARE_NOT_FOUND: 404,
  /** recycle/restore or recycle/purge named an entry that is not in the user's recycle bin. */
  RECYCLE_ENTRY_NOT_FOUND: 404,
  FILE_ALREADY_EXISTS: 409,
  /** The user already has a task of this torrent: the answer's `result.taskId` names it. */
  TASK_EXISTS: 409,
  USER_ALREADY_EXISTS: 409,
  /** The change would leave no enabled administrator. */
  LAST_ADMIN: 409,
  /** A task's file is neither in the drive nor being downloaded by this process now (paused, waiting, failed). */
  TASK_FILE_UNAVAILABLE: 409,
  /** qBittorrent API: a category of that name exists already / does not exist (qBittorrent answers both with 409). */
  CATEGORY_EXISTS: 409,
  CATEGORY_NOT_FOUND: 409,
  /** A download's `If-Match` names another version of the content. */
  PRECONDITION_FAILED: 412,
  /** The share's expiry passed or its download limit is reached. */
  SHARE_EXPIRED: 410,
  SPACE_EXCEEDED: 413,
  /** The user has as many files and folders as OPENPAN_MAX_ENTRIES allows. */
  ENTRIES_EXCEEDED: 413,
  PAYLOAD_TOO_LARGE: 413,
  RANGE_NOT_SATISFIABLE: 416,
  PROTOCOL_UNSUPPORTED: 422,
  /** A thumbnail of a file that is not the picture its name says (corrupt, truncated, too many pixels). */
  MEDIA_UNREADABLE: 422,
  URL_UNREACHABLE: 422,
  TOO_MANY_REQUESTS: 429,
  OFFLINE_QUOTA_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  SMS_UNAVAILABLE: 501,
  DISK_FULL: 503,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** What a client needs to act on the error (e.g. the existing task's id); the answer's `result`. */
  readonly details: Readonly<Record<string, string | number>> | null;

  /** `status` overrides the code's usual status where the contract names another (docs/spec/API.md). */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; status?: number; details?: Record<string, string | number> }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.status = options?.status ?? ERRORS[code];
    this.details = options?.details ?? null;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Whether an operating system error means "the disk is full" (no space, or the user's disk quota). */
export function isDiskFullError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Errors from the operating system that mean "the disk is full" become DISK_FULL. */
export function fromFsError(err: unknown, what: string): unknown {
  if (isDiskFullError(err)) {
    return new AppError('DISK_FULL', `The server's disk is full while ${what}.`, { cause: err });
  }
  return err;
}
