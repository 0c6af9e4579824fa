import { defaultOf } from '../config/env.js';
import type { Db } from '../db/database.js';
import type { BlobStore } from '../store/blob-store.js';
import type { DataDirLayout } from '../data-dir/index.js';

/** The collector's grace (app.ts): unreferenced content younger than this may still be taken. */
export const CONTENT_GRACE_MS = 10 * 60 * 1000;
/** The server's temp-file sweep age (app.ts): younger temp files may be writes in flight. */
export const TEMP_MAX_AGE_MS = 6 * 60 * 60 * 1000;
/** The server's default OPENPAN_UPLOAD_EXPIRY. */
export const DEFAULT_UPLOAD_EXPIRY_MS = defaultOf('OPENPAN_UPLOAD_EXPIRY') * 1000;

/** What every check reads from. */
export interface CheckContext {
  db: Db;
  store: BlobStore;
  layout: DataDirLayout;
  /** Recompute every content's etag. */
  verify: boolean;
  /**
   * A server holds the directory (fsck --force): temporary data young enough to be in flight is
   * left alone. Without a server every temporary file is a leftover.
   */
  live: boolean;
  now: number;
  uploadExpiryMs: number;
}

/** What was looked at, for the summary. */
export interface Checked {
  users: number;
  entries: number;
  files: number;
  contents: number;
  verifiedBytes: number;
}

export function emptyChecked(): Checked {
  return { users: 0, entries: 0, files: 0, contents: 0, verifiedBytes: 0 };
}
