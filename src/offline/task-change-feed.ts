import type { Db } from '../db/database.js';
import type { TaskChange } from './offline.repo.js';

// Task changes across processes. Alone, a process's event streams hear of every write to a task
// from its own repository (task-events.ts). With several processes on one database (OPENPAN_ROLE
// api and worker) a task finishes on a worker while its owner watches through an API process:
// every process appends its writes to `offline_task_changes`, and each API process reads what
// the others appended, every second, into its own streams. Rows older than a minute go.
//
// PostgreSQL numbers a row when it is inserted, not when it commits: a row can become visible
// after one with a higher `seq`. A read that skips numbers keeps them as gaps and looks for them
// again at the next reads, for a while (a gap that never fills is an insert that failed).

/** How often an API process reads the feed, and how long rows are kept. */
const FOLLOW_MS = 1000;
const KEEP_MS = 60_000;
/** Rows read at most per look (the rest at the next). */
const READ_LIMIT = 1000;
/** How long a skipped `seq` is looked for: far longer than an insert takes to commit. */
const GAP_WAIT_MS = 10_000;
/** A jump larger than this is not a run of uncommitted rows (a sequence restarted, rows pruned): no gaps kept. */
const MAX_GAP = READ_LIMIT;

export class TaskChangeFeed {
  readonly #db: Db;
  /** This process, as `origin` of its rows. */
  readonly #origin: string;
  #last = 0;
  /** Skipped seqs not seen yet → when first skipped. */
  readonly #gaps = new Map<number, number>();
  #timer: NodeJS.Timeout | null = null;
  #reading = false;
  #lastPrune = 0;

  constructor(db: Db, origin: string) {
    this.#db = db;
    this.#origin = origin;
  }

  /** Appends a change this process made (a failure to record it is reported, not thrown). */
  record(change: TaskChange, onError: (err: unknown) => void): void {
    this.#db
      .insertInto('offline_task_changes')
      .values({
        origin: this.#origin,
        user_id: change.userId,
        task_row_id: change.id,
        task_id: change.taskId,
        removed: change.removed ? 1 : 0,
        created_at: Date.now(),
      })
      .execute()
      .catch(onError);
  }

  /** Starts telling `publish` of the changes other processes make from now on. */
  async follow(publish: (change: TaskChange) => void, onError: (err: unknown) => void): Promise<void> {
    const row = await this.#db
      .selectFrom('offline_task_changes')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst();
    this.#last = Number(row?.seq ?? 0);
    this.#timer = setInterval(() => {
      if (this.#reading) return;
      this.#reading = true;
      this.read(publish)
        .catch(onError)
        .finally(() => (this.#reading = false));
    }, FOLLOW_MS);
    this.#timer.unref();
  }

  /** Tells `publish` of the changes other processes appended since the last read. */
  async read(publish: (change: TaskChange) => void): Promise<void> {
    const gaps = [...this.#gaps.keys()];
    const rows = await this.#db
      .selectFrom('offline_task_changes')
      .selectAll()
      .where((eb) => (gaps.length === 0 ? eb('seq', '>', this.#last) : eb.or([eb('seq', '>', this.#last), eb('seq', 'in', gaps)])))
      .orderBy('seq')
      .limit(READ_LIMIT)
      .execute();
    const readAt = Date.now();
    for (const row of rows) {
      if (row.seq > this.#last) {
        if (row.seq - this.#last <= MAX_GAP) for (let seq = this.#last + 1; seq < row.seq; seq++) this.#gaps.set(seq, readAt);
        this.#last = row.seq;
      } else {
        this.#gaps.delete(row.seq);
      }
      if (row.origin !== this.#origin) publish({ userId: row.user_id, id: row.task_row_id, taskId: row.task_id, removed: row.removed === 1 });
    }
    for (const [seq, since] of this.#gaps) if (readAt - since > GAP_WAIT_MS) this.#gaps.delete(seq);
    const now = Date.now();
    if (now - this.#lastPrune > KEEP_MS) {
      this.#lastPrune = now;
      await this.#db
        .deleteFrom('offline_task_changes')
        .where('created_at', '<', now - KEEP_MS)
        .execute();
    }
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
