import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

// The layout of a data directory: every path the server, the CLI and fsck use inside it is
// named here and nowhere else. It is an on-disk contract: data directories written by earlier
// versions must keep working, so a name here never changes.
//
//   <root>/openpan.db (-wal, -shm)          the database
//   <root>/secret                           the signing key, unless OPENPAN_SECRET is set
//   <root>/blobs/<e[0..2]>/<e[2..4]>/<etag> the content store (sharding: store/local-disk.ts)
//   <root>/blobs/tmp/                       the store's temporary files (`*.part`)
//   <root>/uploads/                         partial uploads: block files, assembly files and maps
//   <root>/uploads/done/                    records of finished mkfiles
//   <root>/offline/<jobId>/                 working directories of offline jobs (and metadata fetches)
//   <root>/offline/.staging/                links of verified files on their way into the store
//   <root>/seeding/<jobId>/                 seeding directories of hard links
//   <root>/lost+found/                      what fsck set aside
//   <root>/media-cache/<etag>/              HLS segments, subtitles and thumbnails made from a content (a cache)
//   <root>/openpan.lock                     who holds the directory (information only)
//   <root>/openpan.lock.db                  the lock itself (lock.ts)
//
// Below a component's own directory the names of entries are the component's (an etag, a
// blockId, a job id); the fixed subdirectories are named here, for the components that are
// given only their own directory (the store, the upload directory, the scheduler).

/** The store's temporary files, below the store's root: same filesystem, so the final rename is atomic. */
export const STORE_TEMP_DIR = 'tmp';
/** Records of finished mkfiles, below the uploads directory. */
export const UPLOADS_DONE_DIR = 'done';
/** Links on their way into the store, below the offline working root; emptied at every start. */
export const OFFLINE_STAGING_DIR = '.staging';

/** Where a data directory keeps each kind of data. */
export interface DataDirLayout {
  root: string;
  database: string;
  /** The signing key generated on the first start (when OPENPAN_SECRET is not set). */
  secret: string;
  /** The content store: `<blobs>/<e[0..2]>/<e[2..4]>/<etag>`. */
  blobs: string;
  /** The store's temporary files (`*.part`), renamed into place when complete. */
  blobTemp: string;
  /** Partial block uploads: block files, assembly files and maps. */
  uploads: string;
  /** Records of finished mkfiles, so that a retry answers the same. */
  uploadsDone: string;
  /** Working directories of offline jobs, `<offline>/<jobId>`. */
  offline: string;
  /** Links of verified files on their way into the store (inside `offline`: same filesystem). */
  offlineStaging: string;
  /** Seeding directories of hard links, `<seeding>/<jobId>`. */
  seeding: string;
  /** What fsck set aside: records of removed entries, quarantined corrupt content. */
  lostFound: string;
  /** HLS segments, subtitles and thumbnails per content etag: a cache, safe to delete. */
  mediaCache: string;
  /** Who holds the directory (pid, what, since): information only. */
  lock: string;
  /** The lock itself: an exclusive SQLite lock the kernel releases when its holder dies. */
  lockDb: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  const blobs = join(root, 'blobs');
  const uploads = join(root, 'uploads');
  const offline = join(root, 'offline');
  return {
    root,
    database: join(root, 'openpan.db'),
    secret: join(root, 'secret'),
    blobs,
    blobTemp: join(blobs, STORE_TEMP_DIR),
    uploads,
    uploadsDone: join(uploads, UPLOADS_DONE_DIR),
    offline,
    offlineStaging: join(offline, OFFLINE_STAGING_DIR),
    seeding: join(root, 'seeding'),
    lostFound: join(root, 'lost+found'),
    mediaCache: join(root, 'media-cache'),
    lock: join(root, 'openpan.lock'),
    lockDb: join(root, 'openpan.lock.db'),
  };
}

/**
 * Creates the directory when it does not exist yet (the server's first start). It holds every
 * user's files and the secret: nobody else may look in.
 */
export function ensureDataDir(root: string): DataDirLayout {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  return dataDirLayout(root);
}

/** Whether `root` holds an openpan database (a server has started on it). */
export function hasDatabase(root: string): boolean {
  return existsSync(dataDirLayout(root).database);
}
