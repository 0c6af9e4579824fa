import { tryWithAdvisoryLock, type Db } from '../db/database.js';
import type { BlobStore } from './blob-store.js';
import { collectableBlobs, deleteUnreferencedBlob } from './blobs.repo.js';
import type { ContentLock } from './content-lock.js';

/** Rows handled per exclusive section: uploads wait at most one batch for the collector. */
const BATCH = 500;

/** What the last pass did (the admin console shows it). */
export interface CollectorRun {
  startedAt: number;
  finishedAt: number;
  /** Contents freed, and their bytes. */
  freed: number;
  freedBytes: number;
  /** The error that ended the pass early, if one did. */
  error: string | null;
}

/**
 * Frees content no file references any more, once it has stayed unreferenced for `graceMs`
 * (the grace lets an undo, a copy racing a remove, or an instant upload find it again).
 *
 * The row goes first, then the bytes: a crash in between leaves orphan bytes (harmless, found
 * by listing the store), never a row pointing at missing bytes.
 */
export class BlobCollector {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  /** The last pass, or null before the first. */
  lastRun: CollectorRun | null = null;

  constructor(
    private readonly db: Db,
    private readonly store: BlobStore,
    private readonly lock: ContentLock,
    private readonly graceMs: number,
  ) {}

  /** Deletes every blob unreferenced since before `now - graceMs`; returns how many were freed. */
  async collect(now: number = Date.now()): Promise<number> {
    const cutoff = now - this.graceMs;
    const run: CollectorRun = { startedAt: Date.now(), finishedAt: 0, freed: 0, freedBytes: 0, error: null };
    try {
      // On PostgreSQL several processes may share the database: one pass at a time among them
      // (an advisory lock); a process that finds a pass running skips its turn.
      const done = await tryWithAdvisoryLock(this.db, 'collector', async () => {
        for (;;) {
          // Exclusive per batch, not per pass, so uploads interleave with a long collection.
          const { selected, deleted, bytes } = await this.lock.exclusive(() => this.collectBatch(cutoff));
          run.freed += deleted;
          run.freedBytes += bytes;
          if (selected < BATCH) return run.freed;
        }
      });
      return done ?? 0;
    } catch (err) {
      run.error = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      run.finishedAt = Date.now();
      this.lastRun = run;
    }
  }

  /** Runs `collect` every `intervalMs` in the background; errors go to `onError`. */
  start(intervalMs: number, onError: (err: unknown) => void = () => undefined): void {
    this.clearTimer();
    this.timer = setInterval(() => {
      if (this.running !== null) return; // the previous pass is still going
      this.running = this.collect();
      this.running.catch(onError).finally(() => {
        this.running = null;
      });
    }, intervalMs);
    // The collector alone must never keep the process alive.
    this.timer.unref();
  }

  /** Stops the timer and waits for a pass in progress, so callers can close the db after. */
  async stop(): Promise<void> {
    this.clearTimer();
    await this.running?.catch(() => undefined);
  }

  private clearTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async collectBatch(cutoff: number): Promise<{ selected: number; deleted: number; bytes: number }> {
    const rows = await collectableBlobs(this.db, cutoff, BATCH);
    let deleted = 0;
    let bytes = 0;
    for (const { id, size } of rows) {
      if (!(await deleteUnreferencedBlob(this.db, id))) continue;
      await this.store.delete(id);
      deleted++;
      bytes += Number(size);
    }
    return { selected: rows.length, deleted, bytes };
  }
}
