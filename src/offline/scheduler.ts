import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FINAL_STATES, retriesAtOnce, streams, type DownloadEngine, type EngineHandle, type EngineStatus, type StreamingHandle } from '../engines/index.js';
import { isDiskFullError } from '../errors.js';
import type { FilesService } from '../files/files.service.js';
import type { BlobStore } from '../store/blob-store.js';
import type { ContentLock } from '../store/content-lock.js';
import { engineFilesOf } from './engine-files.js';
import { EngineLauncher } from './engine-launch.js';
import { Importer } from './importer.js';
import { soleOwner, type JobOwnership } from './job-leases.js';
import { JobManifests } from './job-manifests.js';
import { JobQueue } from './job-queue.js';
import { KnownContent, type StoredContent } from './known-content.js';
import { LiveProgress, type LiveJob, type TaskLiveView } from './live-progress.js';
import { parseUrlJobInfo, TYPE_URL, type Manifest } from './manifest.js';
import { MetadataUnavailable, type MetadataFetcher } from './metadata-fetcher.js';
import { TASK_ACTIVE, type JobRow, type OfflineRepo, type TaskRow } from './offline.repo.js';
import { applyPendingSelections } from './pending-selections.js';
import type { SeedingHooks } from './seeding.js';

export { engineFilesOf } from './engine-files.js';
export { STATUS_DOWNLOADING, STATUS_METADATA, STATUS_QUEUED, STATUS_SAVING, type TaskLiveView } from './live-progress.js';

// A little over 400 lines: the state machine below is one piece (reconcile, the engine, failures
// and retries, the tick); what could leave it has (see "The parts").
//
// The offline download as a persisted state machine. A system task (job) is in one phase:
//
//   queued ──▶ downloading ──▶ importing ──▶ done
//      │   (a magnet link: its metadata is fetched first, still "downloading", shown as 10)
//      │            │  ▲            │
//      │            ▼  │            └──▶ (files still missing) downloading
//      └──────▶ paused (no active user task wants it)        failed (not retryable, or retries spent)
//
// Every transition is written to the database before anything else happens, and recovery
// after a crash is "load the jobs not at rest and reconcile each": `reconcile` looks at what
// the job's open user tasks want and what the store already holds, and does the one next step
// (create entries from the store, start / resume / pause / stop the engine job). Work on one job
// is serialised (job-queue.ts); different jobs run concurrently.
//
// The engine downloads the union of the files the job's active tasks want (paused, removed and
// failed tasks want nothing); when that union loses a file, the engine starts again without it.
//
// The parts: job-queue.ts (one piece of work at a time per job), live-progress.ts (what the
// running jobs' tasks show), importer.ts (finished files into the store, then into each task's
// drive), known-content.ts (what the store already holds), job-manifests.ts (each job's file
// list), pending-selections.ts (a magnet task's selection once its files are known). This file
// holds the state machine and drives the engine. Because the working directory keeps every file
// until the job ends, a crash during the import leaves the engine all it needs to verify the
// data again without a single peer.

export type JobPhase = 'queued' | 'downloading' | 'importing' | 'paused' | 'done' | 'failed';

/** How fast the scheduler's clock runs (tests shorten it). */
export interface SchedulerTiming {
  /** Progress is polled and completed files are imported every tick; default 1 s. */
  tickMs: number;
  /** Wait before a job whose engine job failed retryably (or vanished) is driven again; default 2 s. */
  retryDelayMs: number;
}

const DEFAULT_TIMING: SchedulerTiming = { tickMs: 1000, retryDelayMs: 2000 };
/** Progress is persisted every this many ticks. */
const PERSIST_TICKS = 3;
/** The watchdog looks for jobs nobody drives every this many ticks. */
const WATCHDOG_TICKS = 10;
/** Engine restarts after retryable failures or a lost engine job, before the job fails. */
const MAX_ATTEMPTS = 5;
/** Jobs reconciled at once while the jobs a restart found unfinished are resumed. */
const RESUME_CONCURRENCY = 4;

export interface SchedulerDeps {
  repo: OfflineRepo;
  files: FilesService;
  store: BlobStore;
  lock: ContentLock;
  engine: DownloadEngine;
  /** Where the engine's per-job working directories go; same filesystem as the blob store. */
  tempRoot: string;
  /** Links on their way into the store (the data directory's `offlineStaging`, inside `tempRoot`). */
  stagingDir: string;
  onError?: (err: unknown, what: string) => void;
  /** Seeding after the import (seeding.ts); none: never seeds after the import. */
  seeding?: SeedingHooks;
  /** Fetches a magnet link's metadata before its job can start. */
  metadata: MetadataFetcher;
  /** Default: a 1 s tick, retries after 2 s. */
  timing?: Partial<SchedulerTiming>;
  /** Which jobs this process drives (job-leases.ts); default: every job, being the only process. */
  ownership?: JobOwnership;
  /**
   * false (OPENPAN_ROLE=api): this process runs no engine. A change to a job's tasks is signalled
   * to the worker driving it, and what the tasks show is read from the database every second.
   */
  drives?: boolean;
}

/** How often an API process reads what the workers' jobs show. */
const OBSERVE_MS = 1000;

/** SQLite's "database or disk is full", or the filesystem's. */
function isDiskFull(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === 'SQLITE_FULL' || isDiskFullError(err);
}

/** A file of a running download, read through its engine (`StreamingHandle`). */
export interface LiveFile {
  handle: StreamingHandle;
  engineIndex: number;
  /** Where the engine writes it; to be opened once, and kept open while read. */
  path: string;
}

export class Scheduler {
  readonly #d: SchedulerDeps;
  readonly #timing: SchedulerTiming;
  readonly #queue: JobQueue;
  readonly #manifests = new JobManifests();
  readonly #content: KnownContent;
  readonly #live: LiveProgress;
  readonly #importer: Importer;
  readonly #launcher: EngineLauncher;
  readonly #ownership: JobOwnership;
  /** Whether this process runs the engines (not OPENPAN_ROLE=api). */
  readonly #drives: boolean;
  /** Whether jobs are held through leases, other workers driving the rest (OPENPAN_ROLE=worker). */
  readonly #leased: boolean;
  #timer: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #ticks = 0;
  /** True while the jobs found unfinished at start are being resumed (see #resume). */
  #resuming = false;
  /** Jobs whose retry timer is pending: their timer drives them, not the watchdog. */
  readonly #awaitingRetry = new Set<string>();
  #publishing = false;

  constructor(deps: SchedulerDeps) {
    this.#d = deps;
    this.#timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.#ownership = deps.ownership ?? soleOwner(() => deps.repo.unfinishedJobIds());
    this.#drives = deps.drives ?? true;
    this.#leased = this.#ownership.heartbeatMs !== null;
    this.#queue = new JobQueue(this.#drives ? (jobId) => this.#drive(jobId) : (jobId) => deps.repo.nudgeJob(jobId), (err, what) => this.#error(err, what));
    this.#content = new KnownContent(deps.repo, deps.store);
    this.#live = new LiveProgress(deps.repo, this.#manifests);
    this.#importer = new Importer({ ...deps, content: this.#content, fence: (q, jobId) => this.#ownership.fence(q, jobId) });
    this.#launcher = new EngineLauncher(deps);
  }

  // ---- lifecycle ----

  /** Recovery: frees working directories of jobs at rest, then continues every other job. */
  async start(): Promise<void> {
    if (!this.#drives) {
      await this.#observe();
      this.#timer = setInterval(() => void this.#observe(), OBSERVE_MS);
      this.#timer.unref();
      return;
    }
    await mkdir(this.#d.tempRoot, { recursive: true });
    const keep = await this.#d.repo.jobIdsWithTemp();
    for (const entry of await readdir(this.#d.tempRoot)) {
      if (!keep.has(entry)) await rm(join(this.#d.tempRoot, entry), { recursive: true, force: true });
    }
    // Links on their way into the store; emptied at every start.
    await mkdir(this.#d.stagingDir, { recursive: true });
    this.#resume(await this.#ownership.candidates());
    this.#timer = setInterval(() => this.#tick(), this.#timing.tickMs);
    this.#timer.unref();
    const heartbeatMs = this.#ownership.heartbeatMs;
    if (heartbeatMs !== null) {
      this.#heartbeat = setInterval(() => this.#renew().catch((err) => this.#error(err, 'renewing job leases')), heartbeatMs);
      this.#heartbeat.unref();
    }
  }

  /**
   * Resumes the jobs left unfinished, a few at a time, in the background. Kicked all at once,
   * 10,000 of them put some 50,000 queries ahead of every request on the one database connection
   * and the server answered nothing for minutes (bench/startup.ts).
   */
  #resume(jobIds: readonly string[]): void {
    let next = 0;
    let running = 0;
    const worker = async (): Promise<void> => {
      while (next < jobIds.length && !this.#queue.closing) {
        const jobId = jobIds[next++];
        await this.#queue.reconcile(jobId).catch((err) => {
          if (!this.#queue.closing) this.#error(err, `resuming offline job ${jobId}`);
        });
      }
      if (--running === 0) this.#resuming = false;
    };
    for (; running < Math.min(RESUME_CONCURRENCY, jobIds.length); running++) void worker();
    this.#resuming = running > 0;
  }

  /** Stops driving jobs (their phases stay as they are, for the next start) and closes the engine. */
  async close(): Promise<void> {
    if (this.#queue.closing) return;
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
    await this.#queue.close();
    await this.#live.persist().catch((err) => this.#error(err, 'persisting progress'));
    for (const live of this.#live.jobs.values()) live.untrack();
    this.#live.jobs.clear();
    await this.#d.metadata.close();
    await this.#d.engine.close();
    await this.#launcher.close();
    // Stopped on purpose: other workers take the jobs over now rather than after the lease.
    await this.#ownership.releaseAll().catch((err) => this.#error(err, 'releasing job leases'));
  }

  /** Runs `fn` in the job's queue: nothing else happens to that job meanwhile. */
  run<T>(jobId: string, fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(jobId, fn);
  }

  /** Reconciles the job in its queue, in the background. */
  kick(jobId: string): void {
    this.#queue.kick(jobId);
  }

  /** Runs `change` (a task was added, removed, paused, resumed) then reconciles the job, in its queue. */
  update<T>(jobId: string, change: () => Promise<T>): Promise<T> {
    return this.#queue.update(jobId, change);
  }

  // ---- what clients read ----

  /** The files of a job (its torrent parsed once, or its URL's one file); null while a magnet link's metadata is unknown. */
  manifestOf(job: Pick<JobRow, 'id' | 'type' | 'torrent' | 'manifest'>): Manifest | null {
    return this.#manifests.of(job);
  }

  /** Engine file indices (of `indices`) whose content the store holds, with its etag. */
  cachedFiles(infoHash: string, indices?: Iterable<number>): Promise<Map<number, StoredContent>> {
    return this.#content.held(infoHash, indices);
  }

  /** Live status, progress, speed and peers of a user task (stored values when its job is idle). */
  view(task: TaskRow): TaskLiveView {
    return this.#live.view(task);
  }

  /** Verified bytes of one engine file of a running job, or null when the job is not running. */
  fileProgress(jobId: string, engineIndex: number): number | null {
    return this.#live.fileProgress(jobId, engineIndex);
  }

  /**
   * A selected file of a job this process runs, to read while the job downloads it; null when
   * the job does not run here or its engine cannot be read from before it is done.
   */
  liveFile(jobId: string, engineIndex: number): LiveFile | null {
    const handle = this.#live.jobs.get(jobId)?.handle;
    if (handle === undefined || !streams(handle)) return null;
    const file = handle.status().files.find((f) => f.index === engineIndex);
    return file?.selected === true ? { handle, engineIndex, path: file.path } : null;
  }

  // ---- the state machine ----

  async #setPhase(jobId: string, phase: JobPhase, extra: Parameters<OfflineRepo['updateJob']>[1] = {}): Promise<void> {
    this.#live.phases.set(jobId, phase);
    await this.#d.repo.updateJob(jobId, { ...extra, phase });
  }

  /** Takes the job's next step when this process may drive it; gives the job up once nothing runs. */
  async #drive(jobId: string): Promise<void> {
    if (!(await this.#ownership.claim(jobId))) return; // another worker drives it
    await this.#reconcile(jobId);
    await this.#releaseIdle(jobId);
  }

  /** A job with no engine job and no metadata fetch here is free for any worker to take. */
  async #releaseIdle(jobId: string): Promise<void> {
    if (!this.#live.jobs.has(jobId) && !this.#live.fetching.has(jobId)) await this.#ownership.release(jobId);
  }

  /** Looks at what the job's open tasks want and takes the next step. */
  async #reconcile(jobId: string): Promise<void> {
    const job = await this.#d.repo.jobById(jobId);
    if (job === undefined) return;
    this.#live.phases.set(jobId, job.phase);
    const open = await this.#d.repo.openTasks(jobId);
    const running = open.filter((t) => t.status === TASK_ACTIVE);
    if (running.length === 0) {
      if (open.length === 0) {
        // Nobody wants anything any more: stop and free the temporary data at once.
        await this.#stopEngine(job, true);
        if (job.phase !== 'done' && job.phase !== 'failed') await this.#setPhase(jobId, 'done', { finished_at: Date.now() });
        await this.#d.seeding?.jobIdle(jobId);
      } else if (this.#leased) {
        // A worker does not sit on a paused job: it stops (the data stays) and gives the job up.
        await this.#stopEngine(job, false);
        if (job.phase !== 'paused') await this.#setPhase(jobId, 'paused');
      } else {
        await this.#live.jobs.get(jobId)?.handle.pause();
        if (job.phase !== 'paused') await this.#setPhase(jobId, 'paused');
      }
      this.#stopFetching(job);
      return;
    }

    const meta = this.#manifests.of(job);
    if (meta === null) {
      await this.#awaitMetadata(job);
      return;
    }
    if (running.some((t) => t.pending_selection !== null)) {
      await applyPendingSelections(this.#d, job, meta, running);
      return this.#reconcile(jobId);
    }
    const wanted = new Set(running.flatMap(engineFilesOf));
    const cached = await this.#content.held(job.info_hash, wanted);
    for (const task of running) await this.#importer.importInto(task, meta, cached);
    const needed = [...wanted].filter((i) => !cached.has(i)).sort((a, b) => a - b);
    if (needed.length === 0) {
      await this.#stopEngine(job, true);
      if (job.phase !== 'done') {
        await this.#setPhase(jobId, 'done', { finished_at: Date.now(), error_code: '', message: '' });
        await this.#d.seeding?.jobDone(job);
      }
      return;
    }

    const live = this.#live.jobs.get(jobId);
    // Files nobody wants any more (their tasks were paused or removed) must stop downloading.
    const downloadsUnwanted = live !== undefined && [...live.selected].some((i) => !wanted.has(i));
    if (live !== undefined && !FINAL_STATES.has(live.handle.status().state) && !downloadsUnwanted && needed.every((i) => live.selected.has(i))) {
      if (live.handle.status().state === 'paused') await live.handle.resume();
      if (job.phase !== 'downloading') await this.#setPhase(jobId, 'downloading');
      return;
    }
    // Not running, or running without a file someone now wants or with one nobody wants:
    // (re)start with the union.
    // The working directory is the same, so the engine re-verifies what is there.
    await this.#stopEngine(job, false);
    await this.#startEngine(job, meta, needed, new Set(cached.keys()));
  }

  // ---- magnet links: the metadata first ----

  /** Starts (or joins) the fetch of the job's metadata; the job is reconciled again when it ends. */
  async #awaitMetadata(job: JobRow): Promise<void> {
    const fetching = this.#live.fetching;
    if (fetching.has(job.id)) return;
    if (job.phase !== 'downloading') await this.#setPhase(job.id, 'downloading', { error_code: '', message: '' });
    fetching.add(job.id);
    this.#d.metadata.fetch(job.info_hash, job.source, job.id, Infinity).then(
      (torrent) => {
        fetching.delete(job.id);
        this.run(job.id, async () => {
          // The name stays the placeholder until the waiting selections are applied (pending-selections.ts).
          await this.#d.repo.updateJob(job.id, { torrent });
          this.#manifests.forget(job.id);
          await this.#reconcile(job.id);
          await this.#releaseIdle(job.id);
        }).catch((err) => this.#error(err, `storing the metadata of offline job ${job.id}`));
      },
      (err: unknown) => {
        const wasFetching = fetching.delete(job.id);
        if (this.#queue.closing || !wasFetching) return; // released on purpose (paused, removed)
        const failure = err instanceof MetadataUnavailable ? err.failure : { code: 'ENGINE_ERROR', message: String(err) };
        this.run(job.id, async () => {
          const row = await this.#d.repo.jobById(job.id);
          if (row !== undefined) await this.#failJob(row, failure.code, failure.message);
          await this.#releaseIdle(job.id);
        }).catch((e) => this.#error(e, `failing offline job ${job.id}`));
      },
    );
  }

  #stopFetching(job: JobRow): void {
    if (this.#live.fetching.delete(job.id)) this.#d.metadata.release(job.info_hash, job.id);
  }

  // ---- the engine ----

  async #startEngine(job: JobRow, meta: Manifest, needed: number[], cached: ReadonlySet<number>): Promise<void> {
    const sizes = new Map(meta.files.map((f) => [f.engineIndex, f.size]));
    const size = needed.reduce((s, i) => s + (sizes.get(i) ?? 0), 0);
    await this.#setPhase(job.id, 'downloading', { selected: JSON.stringify(needed), size, error_code: '', message: '' });
    await this.#d.seeding?.stop(job.id);
    if (job.type !== TYPE_URL) {
      // A metadata fetch of the same info hash (a parse's, or this job's own before a `.torrent`
      // of it arrived) would make the engine refuse the job as a duplicate.
      this.#stopFetching(job);
      await this.#d.metadata.stop(job.info_hash);
    }
    const live = await this.#launcher.launch(job, meta, needed, cached);
    const handle = live.handle;
    if (job.type === TYPE_URL) handle.on('metadata', ({ status }) => this.#urlSizeKnown(job.id, status));
    this.#live.jobs.set(job.id, live);
    void handle.settled.then((status) => {
      this.#queue.background(job.id, `finishing offline job ${job.id}`, async () => {
        await this.#onSettled(job.id, handle, status);
        await this.#releaseIdle(job.id);
      });
    });
  }

  /** Stops the job's engine job, if any; with `deleteData` its working directory goes too. */
  async #stopEngine(job: JobRow, deleteData: boolean): Promise<void> {
    const live = this.#live.jobs.get(job.id);
    // Kept for a restart: the tasks go on showing what they showed, not an older figure.
    if (live !== undefined && !deleteData) await this.#live.persistJob(job.id, live).catch((err) => this.#error(err, 'persisting progress'));
    this.#live.jobs.delete(job.id);
    live?.untrack();
    if (live !== undefined) await live.handle.stop({ deleteData });
    if (deleteData) {
      await rm(job.temp_dir, { recursive: true, force: true, maxRetries: 3 });
      this.#importer.forgetJob(job.id);
    }
  }

  /** A URL's length as the engine found it: the job's file and its tasks take that size. */
  #urlSizeKnown(jobId: string, status: EngineStatus): void {
    this.run(jobId, () => this.#recordUrlSize(jobId, status)).catch((err) => this.#error(err, `recording the size of offline job ${jobId}`));
  }

  async #recordUrlSize(jobId: string, status: EngineStatus): Promise<void> {
    const size = status.files[0]?.size;
    const job = await this.#d.repo.jobById(jobId);
    if (size === undefined || job === undefined) return;
    const info = parseUrlJobInfo(job.manifest);
    if (info.size === size) return;
    await this.#d.repo.updateJob(jobId, { manifest: JSON.stringify({ ...info, size }) });
    this.#manifests.forget(jobId);
    for (const task of await this.#d.repo.openTasks(jobId)) await this.#d.repo.updateTask(task.id, { size });
  }

  async #onSettled(jobId: string, handle: EngineHandle, status: EngineStatus): Promise<void> {
    const live = this.#live.jobs.get(jobId);
    if (live === undefined || live.handle !== handle) return; // stopped on purpose, or replaced
    // What the tasks showed last stays while the files are saved (or the job retries). Best
    // effort: on a full disk the write fails, and the failure below must still be recorded.
    await this.#live.persistJob(jobId, live).catch((err) => this.#error(err, 'persisting progress'));
    this.#live.jobs.delete(jobId);
    live.untrack();
    const job = await this.#d.repo.jobById(jobId);
    if (job === undefined) return;
    if (status.state === 'done') {
      if (job.type === TYPE_URL) await this.#recordUrlSize(jobId, status);
      await this.#setPhase(jobId, 'importing', { downloaded: status.downloaded });
      await this.#importFinished(job, status, live);
      await this.#reconcile(jobId);
      return;
    }
    const failure = status.error ?? { code: 'ENGINE_ERROR', message: 'The download stopped unexpectedly.', retryable: true };
    const retry = retriesAtOnce(failure) && job.attempts < MAX_ATTEMPTS;
    if (retry) {
      // The engine lost the job (stopped behind our back) or a retryable error: try again.
      await this.#d.repo.updateJob(jobId, { attempts: job.attempts + 1 });
      this.#awaitingRetry.add(jobId);
      setTimeout(() => {
        this.#awaitingRetry.delete(jobId);
        this.kick(jobId);
      }, this.#timing.retryDelayMs).unref();
      return;
    }
    await this.#failJob(job, failure.code, failure.message);
  }

  async #failJob(job: JobRow, code: string, message: string): Promise<void> {
    this.#stopFetching(job);
    await this.#stopEngine(job, false);
    try {
      await this.#recordFailure(job, code, message);
    } catch (err) {
      // The database shares the disk the download filled: the failure cannot even be written
      // while the partial download holds the last bytes, and the task would say "downloading"
      // forever. Give the partial data up (a resume downloads it again) so the task can say why.
      if (code !== 'DISK_FULL' || !isDiskFull(err)) throw err;
      await rm(job.temp_dir, { recursive: true, force: true, maxRetries: 3 });
      await this.#recordFailure(job, code, `${message} (the partial download was deleted to make room)`);
    }
  }

  async #recordFailure(job: JobRow, code: string, message: string): Promise<void> {
    await this.#setPhase(job.id, 'failed', { error_code: code, message, finished_at: Date.now() });
    for (const task of await this.#d.repo.openTasks(job.id)) {
      if (task.status === TASK_ACTIVE) await this.#importer.failTask(task, code, message);
    }
  }

  // ---- the import (importer.ts) ----

  /** Stores every finished file the job's tasks still want, recording its etag. */
  async #importFinished(job: JobRow, status: EngineStatus, live: LiveJob): Promise<void> {
    const diskFull = await this.#importer.storeFinished(job, status, live);
    if (diskFull !== null) await this.#failJob(job, 'DISK_FULL', diskFull.message);
  }

  /** While the job runs: stores the files completed since the last look, then gives them to their tasks. */
  async #importCompleted(jobId: string, handle: EngineHandle): Promise<void> {
    const live = this.#live.jobs.get(jobId);
    if (live === undefined || live.handle !== handle || FINAL_STATES.has(handle.status().state)) return;
    const job = await this.#d.repo.jobById(jobId);
    if (job === undefined) return;
    const diskFull = await this.#importer.importCompleted(job, handle.status(), live, () => this.#manifests.of(job));
    if (diskFull !== null) await this.#failJob(job, 'DISK_FULL', diskFull.message);
  }

  // ---- every second ----

  #tick(): void {
    this.#ticks++;
    for (const [jobId, live] of this.#live.jobs) {
      this.#live.poll(live);
      if (!this.#queue.busy(jobId) && this.#live.hasUnstored(live)) {
        const handle = live.handle;
        this.#queue.background(jobId, `importing completed files of offline job ${jobId}`, () => this.#importCompleted(jobId, handle));
      }
    }
    if (this.#ticks % PERSIST_TICKS === 0) this.#live.persist().catch((err) => this.#error(err, 'persisting progress'));
    if (this.#leased && !this.#publishing) {
      this.#publishing = true;
      this.#live
        .publish()
        .catch((err) => this.#error(err, 'publishing progress'))
        .finally(() => (this.#publishing = false));
    }
    // With leases the heartbeat looks for jobs nobody drives.
    if (!this.#leased && this.#ticks % WATCHDOG_TICKS === 0) this.#watchdog().catch((err) => this.#error(err, 'offline watchdog'));
  }

  /**
   * A worker's heartbeat: renews its leases, stops the jobs another worker took (this one stalled
   * past the lease), looks again at jobs an API process changed, and takes runnable jobs nobody
   * drives — those of a worker that died once their leases ran out.
   */
  async #renew(): Promise<void> {
    if (this.#queue.closing) return;
    const { lost, changed } = await this.#ownership.renew();
    for (const id of lost) this.#queue.background(id, `giving up offline job ${id}`, () => this.#abandon(id));
    for (const id of changed) this.kick(id);
    await this.#watchdog();
  }

  /** Another worker drives the job now: stop ours without writing anything (its data stays for a later claim). */
  async #abandon(jobId: string): Promise<void> {
    const live = this.#live.jobs.get(jobId);
    this.#live.jobs.delete(jobId);
    live?.untrack();
    if (live !== undefined) await live.handle.stop({ deleteData: false });
    const job = await this.#d.repo.jobById(jobId);
    if (job !== undefined) this.#stopFetching(job);
    this.#importer.forgetJob(jobId);
  }

  /** An API process: reads what the jobs the workers drive show. */
  async #observe(): Promise<void> {
    try {
      this.#live.receive(await this.#d.repo.leasedJobs(Date.now()));
    } catch (err) {
      this.#error(err, 'reading offline progress');
    }
  }

  /**
   * Status never lies: a job that should be moving but that nothing drives (its engine job is
   * gone, an import was interrupted by an error) is reconciled again — resumed, or failed once
   * its attempts are spent.
   */
  async #watchdog(): Promise<void> {
    // The jobs not resumed yet are on their way: kicking them here would undo the pacing.
    if (this.#queue.closing || this.#resuming) return;
    for (const id of await this.#ownership.candidates()) {
      if (this.#queue.busy(id) || this.#awaitingRetry.has(id)) continue; // being worked on, or about to be
      // A live engine job reports its end through `settled`, which is queued as work.
      if (this.#live.jobs.has(id) || this.#live.phases.get(id) === 'paused') continue;
      this.kick(id);
    }
  }

  #error(err: unknown, what: string): void {
    this.#d.onError?.(err, what);
  }
}
