import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../db/database.js';
import { claimJobLease, claimRunnableJobs, releaseJobLeases, renewJobLeases } from './offline.repo.js';

// Which process drives which job. Alone (OPENPAN_ROLE=all) a process drives every job: SOLE_OWNER.
// With several workers (OPENPAN_ROLE=worker) a job is driven by the worker holding its lease,
// recorded on its row: `owner` and `lease_until`.
//
// - A worker with room takes runnable jobs nobody holds in one statement that claims a batch,
//   passing over rows another worker is claiming at that moment (PostgreSQL's SKIP LOCKED;
//   SQLite runs one writer at a time). Claiming one job by id is a conditional UPDATE that
//   re-checks "nobody owns it, or it is mine, or its lease ran out" as it writes. Two workers can
//   never both win: SQLite serialises writes, and PostgreSQL re-evaluates the WHERE clause on the
//   row's latest version once the first writer committed, so the second UPDATE matches no row.
// - The owner renews its leases every third of the lease time. A worker that stops (kill -9, a
//   lost machine) stops renewing; once its leases ran out another worker claims the jobs and
//   reconciles them from what the database and the store hold.
// - A worker that finds a lease gone (it stalled longer than the lease) stops that job at once,
//   and every hand-out of files into drives first renews the lease in the same transaction
//   (`fence`): a worker that lost the job cannot create a second set of entries.
// - Claiming also sets the job's working directory to one under the claimer's own data
//   directory, and acknowledges the `changes` API processes raised.

/** Which jobs this process may drive. */
export interface JobOwnership {
  /** Renew the leases this often (ms); null: nothing to renew. */
  readonly heartbeatMs: number | null;
  /** Claims the job (free, ours already, or its lease ran out); false: another process drives it. */
  claim(jobId: string): Promise<boolean>;
  /** Gives the job up: any worker may claim it again. */
  release(jobId: string): Promise<void>;
  /** Gives every job held up (a worker stopping on purpose). */
  releaseAll(): Promise<void>;
  /** Inside the transaction `q`: renews the job's lease, or throws LeaseLost when another took it. */
  fence(q: Db, jobId: string): Promise<void>;
  /** Jobs to look at: those this process holds, runnable ones it had room for claimed first. */
  candidates(): Promise<string[]>;
  /** Renews the leases held: which were lost to another worker, and which other processes changed. */
  renew(): Promise<{ lost: string[]; changed: string[] }>;
}

/** The only process: it drives every unfinished job, and nothing is recorded. */
export function soleOwner(unfinishedJobIds: () => Promise<string[]>): JobOwnership {
  return {
    heartbeatMs: null,
    claim: async () => true,
    release: async () => undefined,
    releaseAll: async () => undefined,
    fence: async () => undefined,
    candidates: unfinishedJobIds,
    renew: async () => ({ lost: [], changed: [] }),
  };
}

/** Another worker took the job (this one stalled past its lease). */
export class LeaseLost extends Error {
  constructor(readonly jobId: string) {
    super(`offline job ${jobId} is driven by another worker now`);
    this.name = 'LeaseLost';
  }
}

/** An id for this process among those sharing the database: host, pid and random bytes. */
export function newProcessId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** Phases in which a job wants a driver even when no process changed it. */
const RUNNABLE_PHASES = ['queued', 'downloading', 'importing'];

export interface JobLeasesOptions {
  db: Db;
  /** This worker's id, unique among the processes sharing the database (default: host, pid and random bytes). */
  workerId?: string;
  /** How long a claim holds without a heartbeat, ms. */
  leaseMs: number;
  /** This worker's working directories (its data directory's `offline`). */
  tempRoot: string;
  /** Jobs this worker holds at most. */
  capacity: number;
  /** The clock (tests). */
  now?: () => number;
}

/** A worker's jobs, held through leases in `offline_jobs`. */
export class JobLeases implements JobOwnership {
  readonly workerId: string;
  readonly heartbeatMs: number;
  readonly #o: JobLeasesOptions;
  readonly #now: () => number;
  /** The jobs this worker believes it holds. */
  readonly #held = new Set<string>();

  constructor(options: JobLeasesOptions) {
    this.#o = options;
    this.workerId = options.workerId ?? newProcessId();
    this.heartbeatMs = Math.max(1, Math.floor(options.leaseMs / 3));
    this.#now = options.now ?? Date.now;
  }

  /** The jobs held now. */
  get held(): ReadonlySet<string> {
    return this.#held;
  }

  async claim(jobId: string): Promise<boolean> {
    const now = this.#now();
    const me = this.workerId;
    const won = await claimJobLease(this.#o.db, jobId, { owner: me, now, leaseUntil: now + this.#o.leaseMs, tempDir: join(this.#o.tempRoot, jobId) });
    if (won) this.#held.add(jobId);
    else this.#held.delete(jobId);
    return won;
  }

  async release(jobId: string): Promise<void> {
    this.#held.delete(jobId);
    await releaseJobLeases(this.#o.db, this.workerId, jobId);
  }

  async releaseAll(): Promise<void> {
    this.#held.clear();
    await releaseJobLeases(this.#o.db, this.workerId, null);
  }

  async fence(q: Db, jobId: string): Promise<void> {
    if (!(await renewJobLeases(q, this.workerId, this.#now() + this.#o.leaseMs, jobId))) {
      this.#held.delete(jobId);
      throw new LeaseLost(jobId);
    }
  }

  async candidates(): Promise<string[]> {
    const room = this.#o.capacity - this.#held.size;
    if (room > 0) {
      const now = this.#now();
      const claimed = await claimRunnableJobs(this.#o.db, {
        owner: this.workerId,
        now,
        leaseUntil: now + this.#o.leaseMs,
        tempRoot: join(this.#o.tempRoot, '/'),
        limit: room,
        phases: RUNNABLE_PHASES,
      });
      for (const id of claimed) this.#held.add(id);
    }
    return [...this.#held];
  }

  async renew(): Promise<{ lost: string[]; changed: string[] }> {
    if (this.#held.size === 0) return { lost: [], changed: [] };
    const me = this.workerId;
    await renewJobLeases(this.#o.db, me, this.#now() + this.#o.leaseMs, null);
    const rows = await this.#o.db.selectFrom('offline_jobs').select(['id', 'changes']).where('owner', '=', me).execute();
    const mine = new Set(rows.map((r) => r.id));
    const lost = [...this.#held].filter((id) => !mine.has(id));
    for (const id of lost) this.#held.delete(id);
    return { lost, changed: rows.filter((r) => r.changes > 0 && this.#held.has(r.id)).map((r) => r.id) };
  }
}
