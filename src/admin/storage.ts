// The storage figures of the admin console: contents and their bytes, what deduplication saves,
// the disk's free space, and what the collector and the sweeps did last.
import { statfs } from 'node:fs/promises';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { CollectorRun } from '../store/collector.js';

/** What the hourly sweep of temporary files and expired sessions did last. */
export interface SweepRun {
  at: number;
  /** Temporary files (uploads a crash left) removed. */
  tempFilesRemoved: number;
  error: string | null;
}

export interface StorageReport {
  /** Contents in the store (each stored once, whoever has it), and their bytes. */
  contents: number;
  storedBytes: number;
  /** Bytes every file entry of every user adds up to: what the store would hold without deduplication. */
  referencedBytes: number;
  /** referencedBytes ÷ storedBytes (1 when nothing is stored). */
  dedupRatio: number;
  /** Contents no entry references any more, waiting for the collector, and their bytes. */
  unreferenced: number;
  unreferencedBytes: number;
  /** The filesystem of the store; null where statfs is not available. */
  disk: { totalBytes: number; freeBytes: number } | null;
  collector: CollectorRun | null;
  sweep: SweepRun | null;
}

export interface StorageReportDeps {
  db: Db;
  /** The blob store's directory (its filesystem is the one reported). */
  storeDir: string;
  collector: () => CollectorRun | null;
  sweep: () => SweepRun | null;
}

/** One pass over `blobs` (a row per content, far fewer than entries) and one statfs. */
export async function storageReport(d: StorageReportDeps): Promise<StorageReport> {
  const row = await d.db
    .selectFrom('blobs')
    .select([
      sql<number>`count(*)`.as('contents'),
      sql<number>`coalesce(sum(size), 0)`.as('stored'),
      sql<number>`coalesce(sum(CASE WHEN refs > 0 THEN size * refs ELSE 0 END), 0)`.as('referenced'),
      sql<number>`coalesce(sum(CASE WHEN refs <= 0 THEN 1 ELSE 0 END), 0)`.as('unreferenced'),
      sql<number>`coalesce(sum(CASE WHEN refs <= 0 THEN size ELSE 0 END), 0)`.as('unreferencedBytes'),
    ])
    .executeTakeFirstOrThrow();
  const storedBytes = Number(row.stored);
  const referencedBytes = Number(row.referenced);
  return {
    contents: Number(row.contents),
    storedBytes,
    referencedBytes,
    dedupRatio: storedBytes > 0 ? referencedBytes / storedBytes : 1,
    unreferenced: Number(row.unreferenced),
    unreferencedBytes: Number(row.unreferencedBytes),
    disk: await diskOf(d.storeDir),
    collector: d.collector(),
    sweep: d.sweep(),
  };
}

async function diskOf(dir: string): Promise<StorageReport['disk']> {
  try {
    const fs = await statfs(dir);
    return { totalBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize };
  } catch {
    return null;
  }
}
