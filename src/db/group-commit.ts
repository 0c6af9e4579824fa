import type { Db } from './database.js';

/** One write waiting for its batch. */
interface PendingWrite {
  work: (trx: Db) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

/** A savepoint name for the writes of a batch (one at a time, so one name serves them all). */
const SAVEPOINT = 'group_write';

/**
 * Group commit: small write transactions that arrive together share one transaction. A write
 * waits at most `windowMs` (or until the batch before it has committed) for others to join it;
 * the batch then runs each write in a savepoint of its own, in arrival order, and commits once.
 * Each caller is answered only after that commit, so acknowledging still means durable; a write
 * that throws is rolled back to its savepoint and fails alone, the others still commit.
 *
 * Why: every commit writes the changed pages (the user's counters, the blob's reference count,
 * the index pages of the new rows) to the log. Under many concurrent instant uploads most of
 * them are the same pages, so one commit for many writes costs little more than one for one.
 * Plain Kysely (savepoints exist in SQLite and PostgreSQL alike).
 */
export class GroupCommit {
  private queue: PendingWrite[] = [];
  private scheduled = false;
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly windowMs = 1,
    /** At most this many writes per transaction, so one commit never holds the database for long. */
    private readonly maxBatch = 256,
  ) {}

  /** Runs `work` in a transaction shared with the writes arriving meanwhile; resolves after the commit. */
  run<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** `afterBatch`: the writes queued meanwhile have waited a batch already, so they go at once. */
  private schedule(afterBatch = false): void {
    if (this.scheduled || this.running || this.queue.length === 0) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      void this.flush();
    };
    if (afterBatch) setImmediate(go);
    else setTimeout(go, this.windowMs);
  }

  private async flush(): Promise<void> {
    this.running = true;
    const batch = this.queue.splice(0, this.maxBatch);
    try {
      const outcomes = await this.commitBatch(batch);
      batch.forEach((w, i) => {
        const o = outcomes[i];
        if (o.ok) w.resolve(o.value);
        else w.reject(o.err);
      });
    } catch (err) {
      // The transaction itself failed (begin or commit): nothing of the batch is written.
      for (const w of batch) w.reject(err);
    } finally {
      this.running = false;
      this.schedule(true);
    }
  }

  private async commitBatch(batch: readonly PendingWrite[]): Promise<Outcome[]> {
    if (batch.length === 1) {
      // Alone: no savepoint needed, its error rolls the transaction back.
      try {
        return [{ ok: true, value: await this.db.transaction().execute(batch[0].work) }];
      } catch (err) {
        return [{ ok: false, err }];
      }
    }
    const trx = await this.db.startTransaction().execute();
    const outcomes: Outcome[] = [];
    try {
      for (const w of batch) {
        const sp = await trx.savepoint(SAVEPOINT).execute();
        try {
          const value = await w.work(sp);
          await sp.releaseSavepoint(SAVEPOINT).execute();
          outcomes.push({ ok: true, value });
        } catch (err) {
          await sp.rollbackToSavepoint(SAVEPOINT).execute();
          await sp.releaseSavepoint(SAVEPOINT).execute();
          outcomes.push({ ok: false, err });
        }
      }
      await trx.commit().execute();
    } catch (err) {
      await trx
        .rollback()
        .execute()
        .catch(() => {});
      throw err;
    }
    return outcomes;
  }
}
