import { join } from 'node:path';

/** Where a data directory keeps each kind of data (the server's own layout, see app.ts). */
export interface DataDirLayout {
  root: string;
  database: string;
  /** The content store: `<blobs>/<e[0..2]>/<e[2..4]>/<etag>`. */
  blobs: string;
  /** The store's temporary files (`*.part`), renamed into place when complete. */
  blobTemp: string;
  /** Partial block uploads: block files, assembly files and maps, `done/` records. */
  uploads: string;
  /** Working directories of offline jobs, `<offline>/<jobId>`. */
  offline: string;
  /** Seeding directories of hard links, `<seeding>/<jobId>`. */
  seeding: string;
  /** What fsck set aside: records of removed entries, quarantined corrupt content. */
  lostFound: string;
  /** Who holds the directory (pid, what, since): information only. */
  lock: string;
  /** The lock itself: an exclusive SQLite lock the kernel releases when its holder dies. */
  lockDb: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  return {
    root,
    database: join(root, 'openpan.db'),
    blobs: join(root, 'blobs'),
    blobTemp: join(root, 'blobs', 'tmp'),
    uploads: join(root, 'uploads'),
    offline: join(root, 'offline'),
    seeding: join(root, 'seeding'),
    lostFound: join(root, 'lost+found'),
    lock: join(root, 'openpan.lock'),
    lockDb: join(root, 'openpan.lock.db'),
  };
}
