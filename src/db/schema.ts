import type { Generated } from 'kysely';

export interface UsersTable {
  id: Generated<number>;
  name: string;
  password_hash: string;
  is_admin: number;
  space_used: number;
  space_capacity: number;
  offline_quota: number;
  created_at: number;
}

export interface SessionsTable {
  /** SHA-256 of the bearer token: a leaked database does not leak usable tokens. */
  token_hash: string;
  user_id: number;
  created_at: number;
  expires_at: number;
}

export interface FilesTable {
  id: Generated<number>;
  uuid: string;
  user_id: number;
  /** Row id of the parent directory; 0 for entries directly under the root. */
  parent_id: number;
  /** Full path from the user's root, e.g. "/Movies/a.mkv". */
  path: string;
  name: string;
  ext: string;
  /** 0 file, 1 directory. */
  type: number;
  size: number;
  store_id: string;
  mime: string;
  /** Number of path segments: 1 for entries directly under the root. */
  depth: number;
  ctime: number;
  mtime: number;
  atime: number;
  version: number;
  locking: number;
}

export interface BlobsTable {
  /** The content's etag (UPLOAD.md). */
  id: string;
  size: number;
  /** Number of file entries, across all users, whose content this is. */
  refs: number;
  created_at: number;
  /** When refs last dropped to zero (the collector waits a grace period after it). */
  unreferenced_at: number | null;
}

export interface DirStatsTable {
  user_id: number;
  /** The directory's files.id; 0 for the user's root. */
  dir_id: number;
  dirs: number;
  files: number;
}

export interface Database {
  dir_stats: DirStatsTable;
  users: UsersTable;
  sessions: SessionsTable;
  files: FilesTable;
  blobs: BlobsTable;
}
