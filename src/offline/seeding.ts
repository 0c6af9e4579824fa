import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { canSeed, type DownloadEngine, type SeedHandle } from '../engines/index.js';
import type { SeedingRepo, SeedRow } from './seeding.repo.js';

// Seeding after the import, as configured (OPENPAN_SEED_RATIO, OPENPAN_SEED_TIME; default off).
//
// The downloaded files have been moved into the content store, so there is no second copy to
// seed from and none is made: the seeding directory `<root>/<jobId>` is the torrent's layout
// (as the engine expects it) made of hard links to the blob files — link(2) costs no space and
// needs the same filesystem, which the data directory gives. The engine re-adds the torrent
// there read-only, verifies, and uploads. The seed stops when the ratio (bytes uploaded after
// the import / bytes seeded) or the time limit is reached, when no user task is left on the job,
// or when the job downloads again; then the links are deleted. A blob freed meanwhile stays
// readable through its link until then (the inode lives on), which is fine. A store in an S3
// bucket has no files to link: its seeds are copies read from the bucket, deleted the same way.
//
// Persisted in `offline_seeds` (one row per seeding job, counters every few seconds), so a
// restart resumes a seed with the counters it had, or drops it and its links cleanly when
// seeding was switched off, the job is gone, or its limit was already reached.

export interface SeedingConfig {
  /** Seed after the import at all: true when OPENPAN_SEED_RATIO or OPENPAN_SEED_TIME is set. */
  enabled: boolean;
  /** Stop once uploaded / size ≥ ratio; 0: no ratio limit. */
  ratio: number;
  /** Stop after this long seeding (summed over restarts); 0: no time limit. */
  timeMs: number;
}

/** What the scheduler tells the seeding policy (each call made in the job's queue). */
export interface SeedingHooks {
  /** The job has just become done after downloading: seed it if configured. */
  jobDone(job: { id: string; info_hash: string; torrent: Uint8Array | null }): Promise<void>;
  /** The job has no open task any more: stop seeding if no task at all is left on it. */
  jobIdle(jobId: string): Promise<void>;
  /** The job is about to download again: stop seeding it (the engine takes one torrent once). */
  stop(jobId: string): Promise<void>;
}

export interface SeedingDeps {
  repo: SeedingRepo;
  engine: DownloadEngine;
  /**
   * Puts a stored content's bytes at `target` (a hard link on local disk, a copy from a bucket);
   * false when the content is gone. An existing `target` (an earlier run's) is kept.
   */
  placeContent: ((etag: string, target: string) => Promise<boolean>) | null;
  /** Where seeding directories go: on the blobs' filesystem. */
  root: string;
  config: SeedingConfig;
  /** Drops the trackers and web seeds a seed must not contact (the address policy); none: keeps all. */
  guardTorrent?: (torrent: Buffer) => Promise<Buffer>;
  onError?: (err: unknown, what: string) => void;
}

interface LiveSeed {
  handle: SeedHandle;
  size: number;
  /** Counters of earlier runs, and when this run's seed started. */
  uploadedBefore: number;
  seededMsBefore: number;
  since: number;
}

const TICK_MS = 1000;
const PERSIST_TICKS = 5;

export function limitReached(config: SeedingConfig, size: number, uploaded: number, seededMs: number): boolean {
  if (config.ratio > 0 && uploaded >= config.ratio * size) return true;
  return config.timeMs > 0 && seededMs >= config.timeMs;
}

export class Seeding implements SeedingHooks {
  readonly #d: SeedingDeps;
  readonly #live = new Map<string, LiveSeed>();
  readonly #stopping = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  #ticks = 0;
  #closing = false;

  constructor(deps: SeedingDeps) {
    this.#d = deps;
  }

  /** Directory of a job's seed. */
  dirOf(jobId: string): string {
    return join(this.#d.root, jobId);
  }

  /** Live counters of the job's seed, or null when it is not seeding. */
  status(jobId: string): { uploaded: number; seededMs: number; size: number; peers: number } | null {
    const seed = this.#live.get(jobId);
    if (seed === undefined) return null;
    return { ...this.#totals(seed, Date.now()), size: seed.size, peers: seed.handle.status().peers };
  }

  get #possible(): boolean {
    return this.#d.config.enabled && this.#d.placeContent !== null && canSeed(this.#d.engine);
  }

  /** Recovery: resumes the seeds of the previous run that may go on, drops the others and stray directories. */
  async start(): Promise<void> {
    const rows = await this.#d.repo.seeds();
    for (const row of rows) {
      try {
        const job = this.#possible ? await this.#d.repo.job(row.job_id) : undefined;
        const resume =
          job !== undefined &&
          job.phase === 'done' &&
          (await this.#d.repo.hasTasks(job.id)) &&
          !limitReached(this.#d.config, Number(row.size), Number(row.uploaded), Number(row.seeded_ms));
        if (resume) await this.#begin(job, row);
        else await this.stop(row.job_id);
      } catch (err) {
        this.#error(err, `resuming the seed of offline job ${row.job_id}`);
      }
    }
    const known = new Set(rows.map((r) => r.job_id));
    for (const entry of await readdir(this.#d.root).catch(() => [] as string[])) {
      if (!known.has(entry)) await rm(join(this.#d.root, entry), { recursive: true, force: true });
    }
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /** Stops every seed, keeping rows and links for the next start. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#persist().catch((err) => this.#error(err, 'persisting seeding counters'));
    await Promise.allSettled([...this.#stopping.values()]);
    await Promise.allSettled([...this.#live.values()].map((s) => s.handle.stop()));
    this.#live.clear();
  }

  async jobDone(job: { id: string; info_hash: string; torrent: Uint8Array | null }): Promise<void> {
    if (this.#closing || !this.#possible || this.#live.has(job.id)) return;
    try {
      await this.#stopping.get(job.id); // a seed of this job ending at its limit: let it finish
      await this.#begin(job, null);
    } catch (err) {
      this.#error(err, `starting the seed of offline job ${job.id}`);
      await this.stop(job.id);
    }
  }

  async jobIdle(jobId: string): Promise<void> {
    if (!(await this.#d.repo.hasTasks(jobId))) await this.stop(jobId);
  }

  /** Ends the job's seed, deletes its links and its row. Idempotent; concurrent calls share one stop. */
  stop(jobId: string): Promise<void> {
    let stopping = this.#stopping.get(jobId);
    if (stopping === undefined) {
      const seed = this.#live.get(jobId);
      this.#live.delete(jobId);
      stopping = (async () => {
        if (seed !== undefined) await seed.handle.stop();
        await rm(this.dirOf(jobId), { recursive: true, force: true, maxRetries: 3 });
        await this.#d.repo.deleteSeed(jobId);
      })().finally(() => this.#stopping.delete(jobId));
      this.#stopping.set(jobId, stopping);
    }
    return stopping;
  }

  /** Lays out the hard links, records the seed, hands it to the engine. */
  async #begin(job: { id: string; info_hash: string; torrent: Uint8Array | null }, row: SeedRow | null): Promise<void> {
    const engine = this.#d.engine;
    const placeContent = this.#d.placeContent;
    if (!canSeed(engine) || placeContent === null || job.torrent === null) return;
    const torrent = Buffer.from(job.torrent);
    const dir = this.dirOf(job.id);
    const layout = engine.seedLayout(torrent, dir);
    let size = 0;
    let files = 0;
    for (const c of await this.#d.repo.content(job.info_hash)) {
      const target = layout[c.engine_index];
      if (target === undefined) continue;
      await mkdir(dirname(target), { recursive: true });
      // Gone, and no earlier run's link kept its bytes: that file is not seeded.
      if (!(await placeContent(c.etag, target))) continue;
      size += Number(c.size);
      files++;
    }
    if (files === 0) {
      await this.stop(job.id);
      return;
    }
    const now = Date.now();
    const base: SeedRow = row ?? { job_id: job.id, dir, size, uploaded: 0, seeded_ms: 0, created_at: now, updated_at: now };
    await this.#d.repo.saveSeed({ ...base, dir, size, updated_at: now });
    const handle = engine.seed({ id: job.id, dir, torrent: this.#d.guardTorrent ? await this.#d.guardTorrent(torrent) : torrent });
    const seed: LiveSeed = { handle, size, uploadedBefore: Number(base.uploaded), seededMsBefore: Number(base.seeded_ms), since: now };
    this.#live.set(job.id, seed);
    void handle.settled.then((status) => {
      if (this.#closing || this.#live.get(job.id) !== seed) return; // stopped on purpose
      this.#error(new Error(status.error?.message ?? 'The seed stopped unexpectedly.'), `seeding offline job ${job.id}`);
      void this.stop(job.id).catch((err) => this.#error(err, `dropping the seed of offline job ${job.id}`));
    });
  }

  #totals(seed: LiveSeed, now: number): { uploaded: number; seededMs: number } {
    return { uploaded: seed.uploadedBefore + seed.handle.status().uploaded, seededMs: seed.seededMsBefore + (now - seed.since) };
  }

  #tick(): void {
    if (this.#closing) return;
    this.#ticks++;
    const now = Date.now();
    for (const [jobId, seed] of this.#live) {
      const t = this.#totals(seed, now);
      if (limitReached(this.#d.config, seed.size, t.uploaded, t.seededMs)) {
        this.stop(jobId).catch((err) => this.#error(err, `stopping the seed of offline job ${jobId}`));
      }
    }
    if (this.#ticks % PERSIST_TICKS === 0) this.#persist().catch((err) => this.#error(err, 'persisting seeding counters'));
  }

  async #persist(): Promise<void> {
    const now = Date.now();
    for (const [jobId, seed] of [...this.#live]) {
      const t = this.#totals(seed, now);
      await this.#d.repo.updateCounters(jobId, t.uploaded, t.seededMs);
    }
  }

  #error(err: unknown, what: string): void {
    this.#d.onError?.(err, what);
  }
}
