import type { Generated } from 'kysely';

export interface UsersTable {
  id: Generated<number>;
  name: string;
  /** The name as logins and uniqueness compare it (names/user-names.ts): NFKC, case-folded; null for a row written without one (found by its exact name only). */
  name_key: string | null;
  /**
   * 0; or, for an account whose name already folded onto an older account's when name keys
   * came (migration 0006), its own id: such accounts keep their names, and (name_key,
   * legacy_clash) stays unique while every later name is unique by its key alone.
   */
  legacy_clash: Generated<number>;
  password_hash: string;
  is_admin: number;
  space_used: number;
  space_capacity: number;
  /** Offline tasks this user may start per day; 0: the server's default. */
  offline_quota: number;
  /** The day (days since the epoch, UTC) `offline_used` counts tasks started on. */
  offline_day: Generated<number>;
  offline_used: Generated<number>;
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
  /** In NFC (names/file-names.ts). */
  name: string;
  /** What listings sort names by (names/sort-key.ts); ties are ordered by `name`. */
  name_key: string;
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
  /** The content's etag (docs/spec/UPLOAD.md). */
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

/** A system task: one download per content, shared by every user task that wants it. */
export interface OfflineJobsTable {
  /** 32 hex chars; also the engine job id. */
  id: string;
  /** Task type of docs/spec/API.md (0 BitTorrent file). */
  type: number;
  /** What makes two starts the same download: `bt:<infoHash>` (later `url:<url>`). */
  content_key: string;
  info_hash: string;
  name: string;
  /** The `.torrent` bytes, kept so a restart can add the job again; null while a magnet link's metadata is unknown. */
  torrent: Buffer | null;
  /** A magnet link (its trackers and peers help fetch the metadata) or the URL of a URL job; "" for a `.torrent`. */
  source: Generated<string>;
  /** A URL job: JSON `{name, size}` from the probe (size null when the server did not say). */
  manifest: Generated<string>;
  /** queued, downloading, importing, paused, done, failed (see offline/scheduler.ts). */
  phase: string;
  /** JSON list of the engine file indices given to the engine. */
  selected: string;
  /** Absolute path of the engine's working directory. */
  temp_dir: string;
  /** Bytes selected in the engine, and verified bytes of them (persisted every few seconds). */
  size: number;
  downloaded: number;
  /** Engine restarts after a retryable failure or a lost engine state. */
  attempts: number;
  error_code: string;
  message: string;
  created_at: number;
  updated_at: number;
  finished_at: number;
}

/** A user task: one user's selection of a system task's files and where they go. */
export interface OfflineTasksTable {
  id: Generated<number>;
  /** The API's taskId (32 hex chars). */
  task_id: string;
  user_id: number;
  job_id: string;
  type: number;
  name: string;
  /** Where the task came from: `etag:<storeId of the .torrent>` (later `magnet:...`, a URL). */
  source: string;
  info_hash: string;
  /** JSON list of the selected API file indices, and the same files as engine indices. */
  files: string;
  engine_files: string;
  /** The selection as given ("*", "0,2,5") while the file list is unknown (a magnet link); null once applied. */
  pending_selection: string | null;
  /** The destination directory ("" and "/" for the root). */
  save_uuid: string;
  save_path: string;
  /** Stored status: -1 failed, 0 active, 5 paused, 100 done (10/20/50 are derived live). */
  status: number;
  error_code: string;
  message: string;
  size: number;
  finished_size: number;
  /** Bytes of the selected files already in the drive (what the task no longer reserves). */
  saved_size: Generated<number>;
  /** The folder the task created for a multi-file download; "" when none. */
  folder_uuid: Generated<string>;
  created_at: number;
  finished_at: number;
}

/** A file entry an import created for a task (makes a re-run of an import idempotent). */
export interface OfflineImportsTable {
  task_id: number;
  engine_index: number;
  file_uuid: string;
  etag: string;
  created_at: number;
}

/** Content downloaded before: (info hash, engine file index) → etag in the blob store. */
export interface OfflineMetadataTable {
  info_hash: string;
  torrent: Buffer;
  created_at: number;
}

export interface OfflineContentTable {
  info_hash: string;
  engine_index: number;
  etag: string;
  size: number;
  created_at: number;
}

/** A job seeding after its import: its directory of hard links and its counters so far. */
export interface OfflineSeedsTable {
  job_id: string;
  /** Absolute path of the seeding directory (hard links to the blobs, in the engine's layout). */
  dir: string;
  /** Bytes of the files seeded: the denominator of the ratio limit. */
  size: number;
  /** Bytes uploaded and milliseconds seeded after the import, over every run (persisted every few seconds). */
  uploaded: number;
  seeded_ms: number;
  created_at: number;
  updated_at: number;
}

/** Offline tasks per user (kept by triggers): the page's totalCount without a count(*). */
export interface OfflineTaskCountsTable {
  user_id: number;
  tasks: number;
}

export interface Database {
  offline_jobs: OfflineJobsTable;
  offline_seeds: OfflineSeedsTable;
  offline_task_counts: OfflineTaskCountsTable;
  offline_tasks: OfflineTasksTable;
  offline_imports: OfflineImportsTable;
  offline_content: OfflineContentTable;
  offline_metadata: OfflineMetadataTable;
  dir_stats: DirStatsTable;
  users: UsersTable;
  sessions: SessionsTable;
  files: FilesTable;
  blobs: BlobsTable;
}
