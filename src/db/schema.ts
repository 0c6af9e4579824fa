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
  /** Entries (files and directories) the user has; kept by triggers on `files` (migration 0008). */
  entry_count: Generated<number>;
  /** 1: an administrator disabled the account (no sign-in, no session). */
  disabled: Generated<number>;
}

export interface SessionsTable {
  /** SHA-256 of the bearer token: a leaked database does not leak usable tokens. */
  token_hash: string;
  user_id: number;
  created_at: number;
  expires_at: number;
}

/** A password for programs (WebDAV, the qBittorrent API); users/app-passwords.ts. */
export interface AppPasswordsTable {
  id: Generated<number>;
  user_id: number;
  /** What the user called it ("laptop rclone"). */
  name: string;
  /** SHA-256 (hex) of the password, which is random and shown once. */
  secret_hash: string;
  created_at: number;
  /** Last successful use, ms; written at most once a minute. */
  last_used_at: number | null;
}

export interface FilesTable {
  id: Generated<number>;
  uuid: string;
  user_id: number;
  /** Row id of the parent directory; 0 for entries directly under the root; -id for an entry at the top of the recycle bin. */
  parent_id: number;
  /** Full path from the user's root, e.g. "/Movies/a.mkv"; in the recycle bin `~<id of the top entry>/…` (db/sql.ts). */
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
  /** When the entry went to the recycle bin; 0 for every other row (its descendants in the bin included). */
  trashed_at: Generated<number>;
  /** The path the entry had when it went to the bin (where a restore puts it back); "" for every other row. */
  trash_origin: Generated<string>;
  /** Bytes of the files the entry held when it went to the bin (its own size for a file); 0 for every other row. */
  trash_size: Generated<number>;
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
  /** The worker driving the job (offline/job-leases.ts); null: none. */
  owner: Generated<string | null>;
  /** Until when the owner's claim holds without a heartbeat, ms since the epoch. */
  lease_until: Generated<number>;
  /** Raised when another process changed the job's tasks; the owner resets it as it reconciles. */
  changes: Generated<number>;
  /** What the running job's tasks show, JSON (live-progress.ts, RemoteJob); "" when not running. */
  live: Generated<string>;
}

/** A write to a user task, for the event streams of other processes (offline/task-change-feed.ts). */
export interface OfflineTaskChangesTable {
  seq: Generated<number>;
  /** The process that wrote it. */
  origin: string;
  user_id: number;
  task_row_id: number;
  task_id: string;
  /** 1: the task was removed. */
  removed: number;
  created_at: number;
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
  /** Files of the selection already in the drive ("saving" shows them against the selection's count). */
  saved_files: Generated<number>;
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

/** A WebDAV dead property of an entry (PROPPATCH): the whole property element as XML. */
export interface DavPropertiesTable {
  user_id: number;
  /** The entry's uuid; "" for the user's root. */
  file_uuid: string;
  namespace: string;
  name: string;
  /** The property element, self-contained (its namespaces declared on it). */
  xml: string;
}

/** A setting changed at run time (settings/): its value as JSON text. */
export interface SettingsTable {
  key: string;
  value: string;
  updated_at: number;
}

/** One sampling interval of the admin console's chart (kept 24 hours). */
export interface StatsSamplesTable {
  /** End of the interval, ms since the epoch. */
  at: number;
  /** Average bytes per second over the interval, every offline job together. */
  download_speed: number;
  upload_speed: number;
  /** Active user tasks, and system jobs running in an engine, at the end of the interval. */
  active_tasks: number;
  active_jobs: number;
}

/** A share link (src/shares/). */
export interface SharesTable {
  /** The link's id, the last segment of /s/<id>. */
  id: string;
  user_id: number;
  /** What the visitor sees as the share's name (the first entry's, "and n more"). */
  title: string;
  /** The extraction code a visitor must give; "" for none. */
  code: string;
  /** Ms since the epoch after which the share no longer opens; null: never. */
  expires_at: number | null;
  /** Downloads allowed (files and zips counted alike); 0: no limit. */
  max_downloads: number;
  views: Generated<number>;
  downloads: Generated<number>;
  created_at: number;
}

/** An entry a share gives (the whole subtree of a directory). */
export interface ShareItemsTable {
  share_id: string;
  /** files.id: the item goes when the entry is removed. */
  file_id: number;
}

/** A zip download address's selection (src/zip/). */
export interface ZipLinksTable {
  id: string;
  /** Whose entries. */
  user_id: number;
  /** Through which share, when a visitor asked: the address dies with the share. */
  share_id: string | null;
  /** JSON array of the selected uuids ("" for the root). */
  uuids: string;
  /** The archive's file name. */
  name: string;
  expires_at: number;
}

/** A user's qBittorrent category; `save_path` is a folder of the drive ("" for `/<name>`). */
export interface QbtCategoriesTable {
  user_id: number;
  name: string;
  save_path: Generated<string>;
}

export interface QbtTagsTable {
  user_id: number;
  name: string;
}

/** The qBittorrent API's labels of an offline task (by its `task_id`). */
export interface QbtTorrentsTable {
  task_id: string;
  user_id: number;
  category: Generated<string>;
  /** Comma-separated, as qBittorrent shows them. */
  tags: Generated<string>;
  /** -2: the global limit, -1: none. */
  ratio_limit: Generated<number>;
  /** Minutes; -2: the global limit, -1: none. */
  seeding_time_limit: Generated<number>;
}

export interface Database {
  dav_properties: DavPropertiesTable;
  settings: SettingsTable;
  stats_samples: StatsSamplesTable;
  shares: SharesTable;
  share_items: ShareItemsTable;
  zip_links: ZipLinksTable;
  qbt_categories: QbtCategoriesTable;
  qbt_tags: QbtTagsTable;
  qbt_torrents: QbtTorrentsTable;
  offline_jobs: OfflineJobsTable;
  offline_seeds: OfflineSeedsTable;
  offline_task_counts: OfflineTaskCountsTable;
  offline_tasks: OfflineTasksTable;
  offline_task_changes: OfflineTaskChangesTable;
  offline_imports: OfflineImportsTable;
  offline_content: OfflineContentTable;
  offline_metadata: OfflineMetadataTable;
  dir_stats: DirStatsTable;
  users: UsersTable;
  sessions: SessionsTable;
  app_passwords: AppPasswordsTable;
  files: FilesTable;
  blobs: BlobsTable;
}
