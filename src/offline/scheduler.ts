import { mkdir, readdir, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FINAL_STATES,
  reportsPieces,
  type DownloadEngine,
  type EngineFileStatus,
  type EngineHandle,
  type EngineSource,
  type EngineState,
  type EngineStatus,
} from '../engines/index.js';
import { AppError, isAppError } from '../errors.js';
import type { DirRef } from '../files/file-object.js';
import type { FilesService } from '../files/files.service.js';
import { numberedName } from '../names/file-names.js';
import { forEachInParallel, mapInParallel } from '../parallel.js';
import { storeFiles, type BlobStore } from '../store/blob-store.js';
import { errnoOf } from '../store/fs-util.js';
import type { ContentLock } from '../store/content-lock.js';
import { BlockHasher, EtagTracker, type TrackedFile } from './etag-tracker.js';
import { JobProgress } from './job-progress.js';
import { KeyedQueue } from './keyed-queue.js';
import { offlineRoom } from './quota.js';
import { destinationPath, parseTorrentOnce, type TorrentFile } from '../torrent/index.js';
import { parseUrlJobInfo, TYPE_URL, urlManifest, type Manifest } from './manifest.js';
import { MetadataUnavailable, type MetadataFetcher } from './metadata-fetcher.js';
import { parseSelection } from './selection.js';
import { stageFile } from './staging.js';
import { parseIndexList, SELECTION_MEMO_LIMITS, TextMemo } from './text-memo.js';
import { TASK_ACTIVE, TASK_DONE, TASK_FAILED, TASK_PAUSED, type JobRow, type OfflineRepo, type TaskRow } from './offline.repo.js';
import type { SeedingHooks } from './seeding.js';

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
// is serialised (`run`); different jobs run concurrently.
//
// The engine downloads the union of the files the job's active tasks want (paused, removed and
// failed tasks want nothing); when that union loses a file, the engine starts again without it.
//
// Import, file by file as each completes (not when the whole job does): the verified file is
// hard-linked out of the working directory and the link moved into the blob store (the engine
// keeps its copy: it still reads it to verify neighbouring pieces and to upload), recorded as
// (info hash, engine file index) → etag; then every active task wanting it gets its own file
// entry (`createFile`, never taking over an entry the user already has: clashing names are
// numbered), recorded per task and file so an import re-run after a crash creates nothing
// twice. A task is done when its own files are in its drive. Both steps hold the content lock
// shared, so the collector never frees content between "stored" and "referenced". Because the
// working directory keeps every file until the job ends, a crash during the import leaves the
// engine all it needs to verify the data again without a single peer.

export type JobPhase = 'queued' | 'downloading' | 'importing' | 'paused' | 'done' | 'failed';

/** Live task statuses of API.md, derived from the job's phase and the engine's state. */
export const STATUS_QUEUED = 0;
export const STATUS_METADATA = 10;
export const STATUS_DOWNLOADING = 20;
export const STATUS_SAVING = 50;

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
/** Files stored (and recorded) together: one transaction and one sync per directory for each batch. */
const STORE_BATCH = 1000;
/** Entries created in the user's drive per transaction. */
const IMPORT_BATCH = 1000;
/** Filesystem operations of a batch in flight at once. */
const STORE_PARALLEL = 16;

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
}

interface LiveJob {
  handle: EngineHandle;
  /** Engine file indices given to the engine. */
  selected: Set<number>;
  status: EngineStatus;
  /** Per file and per task figures of the last poll, kept up to date as files change. */
  progress: JobProgress;
  /** Etags hashed during the download, when the engine reports verified pieces. */
  etags: EtagTracker | null;
  /** Stops the piece reports to `etags`. */
  untrack: () => void;
  /** Engine file indices stored by this run of the engine (only ever added to). */
  stored: Set<number>;
  /** Engine file indices the store held when the engine started (not given to it). */
  cached: ReadonlySet<number>;
  /**
   * Whether files are stored as each completes. BitTorrent: a file whose pieces all verified is
   * final. A URL's one file is stored when the engine has checked it end to end.
   */
  storesEachFile: boolean;
}

/** What the task page shows of a task right now. */
export interface TaskLiveView {
  status: number;
  finishedSize: number;
  speed: number;
  peers: number;
  /** What the engine says of a running job that is not a failure (e.g. every tracker refused). */
  notice?: string;
  /** Peer addresses the address policy refused. */
  refusedPeers?: number;
}

/** Tasks' engine file lists, parsed once per `engine_files` text (text-memo.ts). */
const engineFileLists = new TextMemo<number, readonly number[]>(parseIndexList, SELECTION_MEMO_LIMITS);

/** The task's engine file indices (shared: never modify the array). */
export function engineFilesOf(task: Pick<TaskRow, 'id' | 'engine_files'>): readonly number[] {
  return engineFileLists.get(task.id, task.engine_files);
}

/** Engine states before the data on disk is counted. */
const NOT_YET_CHECKED: ReadonlySet<EngineState> = new Set(['queued', 'metadata', 'checking']);

function engineStateStatus(state: EngineState): number {
  switch (state) {
    case 'metadata':
      return STATUS_METADATA;
    case 'checking':
    case 'downloading':
      return STATUS_DOWNLOADING;
    case 'done':
      return STATUS_SAVING;
    case 'paused':
      return TASK_PAUSED;
    default:
      return STATUS_QUEUED;
  }
}

/** SQLite's "database or disk is full", or the filesystem's. */
function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Where each of a task's files goes, relative to its destination: the torrent's (safe) path,
 * with a file numbered (`name (1).ext`) when an earlier file of the task or one of its folders
 * has that path — so names do not depend on which file completes first.
 */
function plannedPaths(meta: Manifest, engineFiles: readonly number[]): Map<number, string[]> {
  const byEngine = new Map<number, TorrentFile>(meta.files.map((f) => [f.engineIndex, f]));
  const paths = new Map<number, string[]>();
  for (const i of engineFiles) {
    const file = byEngine.get(i);
    if (file !== undefined) paths.set(i, destinationPath(meta, file));
  }
  const taken = new Set<string>();
  for (const segments of paths.values()) for (let d = 1; d < segments.length; d++) taken.add(segments.slice(0, d).join('/'));
  for (const [i, segments] of [...paths].sort((x, y) => x[0] - y[0])) {
    const dir = segments.slice(0, -1);
    const name = segments[segments.length - 1];
    let candidate = name;
    for (let n = 1; taken.has([...dir, candidate].join('/')); n++) candidate = numberedName(name, n);
    taken.add([...dir, candidate].join('/'));
    paths.set(i, [...dir, candidate]);
  }
  return paths;
}

export class Scheduler {
  readonly #d: SchedulerDeps;
  readonly #timing: SchedulerTiming;
  readonly #live = new Map<string, LiveJob>();
  readonly #queues = new KeyedQueue<string>();
  readonly #phases = new Map<string, string>();
  readonly #manifests = new Map<string, Manifest>();
  /** Jobs waiting for a magnet link's metadata. */
  readonly #fetching = new Set<string>();
  /** Engine file index → size, per job (the page reads it for every task it shows). */
  readonly #sizes = new Map<string, Map<number, number>>();
  /** Each task's planned file paths, for the selection they were planned for (a torrent may have 100,000 files). */
  readonly #plans = new Map<number, { jobId: string; selection: string; paths: Map<number, string[]> }>();
  /** The hashing thread of every job's EtagTracker. */
  readonly #hasher = new BlockHasher();
  #timer: NodeJS.Timeout | null = null;
  #ticks = 0;
  #closing = false;

  constructor(deps: SchedulerDeps) {
    this.#d = deps;
    this.#timing = { ...DEFAULT_TIMING, ...deps.timing };
  }

  // ---- lifecycle ----

  /** Recovery: frees working directories of jobs at rest, then continues every other job. */
  async start(): Promise<void> {
    await mkdir(this.#d.tempRoot, { recursive: true });
    const keep = await this.#d.repo.jobIdsWithTemp();
    for (const entry of await readdir(this.#d.tempRoot)) {
      if (!keep.has(entry)) await rm(join(this.#d.tempRoot, entry), { recursive: true, force: true });
    }
    await mkdir(this.#stagingDir, { recursive: true });
    for (const id of await this.#d.repo.unfinishedJobIds()) this.kick(id);
    this.#timer = setInterval(() => this.#tick(), this.#timing.tickMs);
    this.#timer.unref();
  }

  /** Stops driving jobs (their phases stay as they are, for the next start) and closes the engine. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#queues.idle();
    await this.#persist().catch((err) => this.#error(err, 'persisting progress'));
    for (const live of this.#live.values()) live.untrack();
    this.#live.clear();
    await this.#d.metadata.close();
    await this.#d.engine.close();
    await this.#hasher.close();
  }

  /** Runs `fn` in the job's queue: nothing else happens to that job meanwhile. */
  run<T>(jobId: string, fn: () => Promise<T>): Promise<T> {
    return this.#queues.run(jobId, () => {
      if (this.#closing) throw new AppError('SERVICE_UNAVAILABLE', 'The server is shutting down.');
      return fn();
    });
  }

  /** Reconciles the job in its queue, in the background. */
  kick(jobId: string): void {
    if (this.#closing) return;
    this.run(jobId, () => this.#reconcile(jobId)).catch((err) => {
      if (!this.#closing) this.#error(err, `driving offline job ${jobId}`);
    });
  }

  /** Runs `change` (a task was added, removed, paused, resumed) then reconciles the job, in its queue. */
  update<T>(jobId: string, change: () => Promise<T>): Promise<T> {
    return this.run(jobId, async () => {
      const result = await change();
      await this.#reconcile(jobId);
      return result;
    });
  }

  // ---- what clients read ----

  /** The files of a job (its torrent parsed once, or its URL's one file); null while a magnet link's metadata is unknown. */
  manifestOf(job: Pick<JobRow, 'id' | 'type' | 'torrent' | 'manifest'>): Manifest | null {
    let manifest = this.#manifests.get(job.id);
    if (manifest === undefined) {
      if (job.type === TYPE_URL) manifest = urlManifest(parseUrlJobInfo(job.manifest));
      else if (job.torrent !== null) manifest = parseTorrentOnce(Buffer.from(job.torrent));
      else return null;
      this.#manifests.set(job.id, manifest);
      this.#sizes.set(job.id, new Map(manifest.files.map((f) => [f.engineIndex, f.size])));
    }
    return manifest;
  }

  /** Links to verified files on their way into the store; emptied at every start. */
  get #stagingDir(): string {
    return this.#d.stagingDir;
  }

  #forgetManifest(jobId: string): void {
    this.#manifests.delete(jobId);
    this.#sizes.delete(jobId);
  }

  /** Engine file indices (of `indices`) whose content the store holds, with its etag. */
  async cachedFiles(infoHash: string, indices?: Iterable<number>): Promise<Map<number, { etag: string; size: number }>> {
    const content = await this.#d.repo.content(infoHash, indices === undefined ? undefined : [...indices]);
    const out = new Map<number, { etag: string; size: number }>();
    await forEachInParallel([...content], STORE_PARALLEL, async ([i, c]) => {
      if (await this.#d.store.exists(c.etag)) out.set(i, c);
    });
    return out;
  }

  /** Live status, progress, speed and peers of a user task (stored values when its job is idle). */
  view(task: TaskRow): TaskLiveView {
    const stored: TaskLiveView = { status: task.status, finishedSize: Number(task.finished_size), speed: 0, peers: 0 };
    if (task.status !== TASK_ACTIVE) return stored;
    const live = this.#live.get(task.job_id);
    if (live === undefined) {
      if (this.#fetching.has(task.job_id)) return { ...stored, status: STATUS_METADATA };
      return { ...stored, status: this.#phases.get(task.job_id) === 'importing' ? STATUS_SAVING : STATUS_QUEUED };
    }
    const finishedSize = this.#finishedSize(task, live);
    const checking = NOT_YET_CHECKED.has(live.status.state) && live.status.state !== 'metadata';
    return {
      // A job the engine starts again (a task joined, another left) keeps downloading in the
      // user's eyes: its data is still there.
      status: checking && Number(task.finished_size) > 0 ? STATUS_DOWNLOADING : engineStateStatus(live.status.state),
      // Until the engine has looked at what is on disk (after a restart, a resume), the stored
      // progress stands: a task never shows 0% for data it still has.
      finishedSize: NOT_YET_CHECKED.has(live.status.state) ? Math.max(finishedSize, stored.finishedSize) : finishedSize,
      speed: live.status.speed,
      peers: live.status.peers,
      notice: live.status.notice,
      refusedPeers: live.status.refusedPeers,
    };
  }

  /** Verified bytes of one engine file of a running job, or null when the job is not running. */
  fileProgress(jobId: string, engineIndex: number): number | null {
    const live = this.#live.get(jobId);
    if (live === undefined || !live.selected.has(engineIndex)) return null;
    return live.progress.fileBytes(engineIndex) ?? 0;
  }

  #finishedSize(task: TaskRow, live: LiveJob): number {
    const sizes = this.#sizes.get(task.job_id);
    if (sizes === undefined) return Number(task.finished_size);
    // Kept up to date by the poll: a request does not walk the task's files (job-progress.ts).
    const sum = live.progress.taskBytes(task.id, task.engine_files, sizes, () => engineFilesOf(task));
    return Math.min(sum, Number(task.size));
  }

  // ---- the state machine ----

  async #setPhase(jobId: string, phase: JobPhase, extra: Parameters<OfflineRepo['updateJob']>[1] = {}): Promise<void> {
    this.#phases.set(jobId, phase);
    await this.#d.repo.updateJob(jobId, { ...extra, phase });
  }

  /** Looks at what the job's open tasks want and takes the next step. */
  async #reconcile(jobId: string): Promise<void> {
    const job = await this.#d.repo.jobById(jobId);
    if (job === undefined) return;
    this.#phases.set(jobId, job.phase);
    const open = await this.#d.repo.openTasks(jobId);
    const running = open.filter((t) => t.status === TASK_ACTIVE);
    if (running.length === 0) {
      if (open.length === 0) {
        // Nobody wants anything any more: stop and free the temporary data at once.
        await this.#stopEngine(job, true);
        if (job.phase !== 'done' && job.phase !== 'failed') await this.#setPhase(jobId, 'done', { finished_at: Date.now() });
        await this.#d.seeding?.jobIdle(jobId);
      } else {
        await this.#live.get(jobId)?.handle.pause();
        if (job.phase !== 'paused') await this.#setPhase(jobId, 'paused');
      }
      this.#stopFetching(job);
      return;
    }

    const meta = this.manifestOf(job);
    if (meta === null) {
      await this.#awaitMetadata(job);
      return;
    }
    if (running.some((t) => t.pending_selection !== null)) {
      await this.#applySelections(job, meta, running);
      return this.#reconcile(jobId);
    }
    const wanted = new Set(running.flatMap(engineFilesOf));
    const cached = await this.cachedFiles(job.info_hash, wanted);
    for (const task of running) await this.#importInto(task, meta, cached);
    const needed = [...wanted].filter((i) => !cached.has(i)).sort((a, b) => a - b);
    if (needed.length === 0) {
      await this.#stopEngine(job, true);
      if (job.phase !== 'done') {
        await this.#setPhase(jobId, 'done', { finished_at: Date.now(), error_code: '', message: '' });
        await this.#d.seeding?.jobDone(job);
      }
      return;
    }

    const live = this.#live.get(jobId);
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
    if (this.#fetching.has(job.id)) return;
    if (job.phase !== 'downloading') await this.#setPhase(job.id, 'downloading', { error_code: '', message: '' });
    this.#fetching.add(job.id);
    this.#d.metadata.fetch(job.info_hash, job.source, job.id, Infinity).then(
      (torrent) => {
        this.#fetching.delete(job.id);
        this.run(job.id, async () => {
          // The name stays the placeholder until the waiting selections are applied (#applySelections).
          await this.#d.repo.updateJob(job.id, { torrent });
          this.#forgetManifest(job.id);
          await this.#reconcile(job.id);
        }).catch((err) => this.#error(err, `storing the metadata of offline job ${job.id}`));
      },
      (err: unknown) => {
        const wasFetching = this.#fetching.delete(job.id);
        if (this.#closing || !wasFetching) return; // released on purpose (paused, removed)
        const failure = err instanceof MetadataUnavailable ? err.failure : { code: 'ENGINE_ERROR', message: String(err) };
        this.run(job.id, async () => {
          const row = await this.#d.repo.jobById(job.id);
          if (row !== undefined) await this.#failJob(row, failure.code, failure.message);
        }).catch((e) => this.#error(e, `failing offline job ${job.id}`));
      },
    );
  }

  #stopFetching(job: JobRow): void {
    if (this.#fetching.delete(job.id)) this.#d.metadata.release(job.info_hash, job.id);
  }

  /** Applies the selections made before the file list was known; a task whose selection does not fit fails. */
  async #applySelections(job: JobRow, meta: Manifest, running: TaskRow[]): Promise<void> {
    const placeholder = job.name;
    for (const task of running) {
      if (task.pending_selection === null) continue;
      try {
        const selection = parseSelection(task.pending_selection, meta.files.length);
        const chosen = selection.map((i) => meta.files[i]);
        const size = chosen.reduce((sum, f) => sum + f.size, 0);
        const free = await this.#d.files.freeSpace(task.user_id);
        if (free < size)
          throw new AppError('SPACE_EXCEEDED', `Not enough space left in the drive: the selected files need ${size} bytes, ${Math.max(0, free)} are free.`);
        await this.#d.repo.updateTask(task.id, {
          files: JSON.stringify(selection),
          engine_files: JSON.stringify(chosen.map((f) => f.engineIndex)),
          size,
          pending_selection: null,
          ...(task.name === placeholder || task.name === '' ? { name: meta.name } : {}),
        });
      } catch (err) {
        if (!isAppError(err)) throw err;
        await this.#d.repo.updateTask(task.id, {
          status: TASK_FAILED,
          error_code: err.code,
          message: err.message,
          pending_selection: null,
          finished_at: Date.now(),
        });
      }
    }
    if (job.name !== meta.name) await this.#d.repo.updateJob(job.id, { name: meta.name });
  }

  // ---- the engine ----

  #sourceOf(job: JobRow): EngineSource {
    if (job.type === TYPE_URL) return { kind: 'url', url: job.source };
    return { kind: 'torrent', torrent: Buffer.from(job.torrent as Uint8Array) };
  }

  /** The least room among the job's users (free space less other unfinished tasks) and on the disk. */
  async #roomForUnknownLength(job: JobRow): Promise<number> {
    let room = Number.MAX_SAFE_INTEGER;
    for (const task of await this.#d.repo.openTasks(job.id)) {
      room = Math.min(room, (await offlineRoom(this.#d.files, this.#d.repo, task.user_id)).room);
    }
    const disk = await statfs(this.#d.tempRoot).catch(() => null);
    if (disk !== null) room = Math.min(room, disk.bavail * disk.bsize);
    return Math.max(0, room);
  }

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
    // A URL of unknown length may write only what its users have room for, and what the disk has.
    const maxBytes = job.type === TYPE_URL && parseUrlJobInfo(job.manifest).size === null ? await this.#roomForUnknownLength(job) : undefined;
    const handle = this.#d.engine.start({ id: job.id, dir: job.temp_dir, source: this.#sourceOf(job), selectedFiles: needed, maxBytes });
    const selected = new Set(needed);
    const live: LiveJob = {
      handle,
      selected,
      status: handle.status(),
      progress: new JobProgress(selected, cached),
      etags: null,
      untrack: () => {},
      stored: new Set(),
      storesEachFile: job.type !== TYPE_URL,
      cached,
    };
    live.progress.update(live.status.files);
    if (job.type === TYPE_URL) handle.on('metadata', ({ status }) => this.#urlSizeKnown(job.id, status));
    // A URL of unknown length has no block layout to hash along: it is hashed at the import.
    const layoutKnown = job.type !== TYPE_URL || parseUrlJobInfo(job.manifest).size !== null;
    if (layoutKnown && reportsPieces(handle) && this.#d.store.adoptFile !== undefined) {
      // Hash each file while it downloads: the import is then a move. An engine that lists its
      // files only once it has looked at the source (HTTP) gets its tracker then, before any
      // piece is written.
      const track = (files: EngineStatus['files']) => {
        if (live.etags !== null || files.length === 0) return;
        const etags = this.#etagTracker(meta, live.selected, files);
        live.etags = etags;
        const untrackPieces = handle.onPieceVerified((piece) => etags.pieceVerified(piece));
        const untrackDiscards = handle.onDataDiscarded(() => etags.discard());
        live.untrack = () => {
          untrackPieces();
          untrackDiscards();
        };
      };
      track(live.status.files);
      if (live.etags === null) handle.on('metadata', ({ status }) => track(status.files));
    }
    this.#live.set(job.id, live);
    void handle.settled.then((status) => {
      if (this.#closing) return;
      this.run(job.id, () => this.#onSettled(job.id, handle, status)).catch((err) => {
        if (!this.#closing) this.#error(err, `finishing offline job ${job.id}`);
      });
    });
  }

  #etagTracker(meta: Manifest, selected: ReadonlySet<number>, engineFiles: EngineStatus['files']): EtagTracker {
    const paths = new Map(engineFiles.map((f) => [f.index, f.path]));
    const files: TrackedFile[] = [];
    for (const f of meta.files) {
      const path = paths.get(f.engineIndex);
      if (selected.has(f.engineIndex) && path !== undefined) files.push({ index: f.engineIndex, path, size: f.size, offset: f.offset });
    }
    return new EtagTracker(files, meta.pieceLength, this.#hasher);
  }

  /** Stops the job's engine job, if any; with `deleteData` its working directory goes too. */
  async #stopEngine(job: JobRow, deleteData: boolean): Promise<void> {
    const live = this.#live.get(job.id);
    // Kept for a restart: the tasks go on showing what they showed, not an older figure.
    if (live !== undefined && !deleteData) await this.#persistJob(job.id, live).catch((err) => this.#error(err, 'persisting progress'));
    this.#live.delete(job.id);
    live?.untrack();
    if (live !== undefined) await live.handle.stop({ deleteData });
    if (deleteData) {
      await rm(job.temp_dir, { recursive: true, force: true, maxRetries: 3 });
      // The job is over: its tasks' plans are not needed again.
      for (const [taskId, plan] of this.#plans) if (plan.jobId === job.id) this.#plans.delete(taskId);
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
    this.#forgetManifest(jobId);
    for (const task of await this.#d.repo.openTasks(jobId)) await this.#d.repo.updateTask(task.id, { size });
  }

  async #onSettled(jobId: string, handle: EngineHandle, status: EngineStatus): Promise<void> {
    const live = this.#live.get(jobId);
    if (live === undefined || live.handle !== handle) return; // stopped on purpose, or replaced
    // What the tasks showed last stays while the files are saved (or the job retries). Best
    // effort: on a full disk the write fails, and the failure below must still be recorded.
    await this.#persistJob(jobId, live).catch((err) => this.#error(err, 'persisting progress'));
    this.#live.delete(jobId);
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
    const retry = failure.retryable && failure.code !== 'NO_PEERS_TIMEOUT' && failure.code !== 'DISK_FULL' && job.attempts < MAX_ATTEMPTS;
    if (retry) {
      // The engine lost the job (stopped behind our back) or a retryable error: try again.
      await this.#d.repo.updateJob(jobId, { attempts: job.attempts + 1 });
      setTimeout(() => this.kick(jobId), this.#timing.retryDelayMs).unref();
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
      if (task.status === TASK_ACTIVE) await this.#failTask(task, code, message);
    }
  }

  /** Stores every finished file the job's tasks still want, recording its etag. */
  async #importFinished(job: JobRow, status: EngineStatus, live: LiveJob): Promise<void> {
    const wanted = new Set((await this.#d.repo.openTasks(job.id)).filter((t) => t.status === TASK_ACTIVE).flatMap(engineFilesOf));
    const files = status.files.filter((f) => f.selected && f.done && wanted.has(f.index) && !live.stored.has(f.index));
    await this.#storeFiles(job, files, live);
  }

  /** While the job runs: stores the files completed since the last look, then gives them to their tasks. */
  async #importCompleted(jobId: string, handle: EngineHandle): Promise<void> {
    const live = this.#live.get(jobId);
    if (live === undefined || live.handle !== handle || FINAL_STATES.has(handle.status().state)) return;
    const job = await this.#d.repo.jobById(jobId);
    if (job === undefined) return;
    const files = handle.status().files.filter((f) => f.done && live.selected.has(f.index) && !live.stored.has(f.index));
    if (files.length === 0) return;
    if (!(await this.#storeFiles(job, files, live))) return;
    // Only the files just stored are handed out (a full reconcile would look at every file of
    // the job again, each second): earlier ones are in every task that wanted them already.
    const meta = this.manifestOf(job);
    if (meta === null) return;
    const content = await this.#d.repo.content(
      job.info_hash,
      files.map((f) => f.index),
    );
    const fresh = new Map<number, { etag: string; size: number }>();
    for (const f of files) {
      const c = content.get(f.index);
      if (c !== undefined) fresh.set(f.index, c);
    }
    for (const task of await this.#d.repo.openTasks(jobId)) {
      if (task.status === TASK_ACTIVE && engineFilesOf(task).some((i) => fresh.has(i))) await this.#importInto(task, meta, fresh);
    }
  }

  /** Completed files of a running job not stored yet (cheap: the tick asks for every job). */
  #hasUnstored(live: LiveJob): boolean {
    return live.storesEachFile && live.status.state === 'downloading' && live.progress.hasDoneOutside(live.stored);
  }

  /** Stores `files` (verified, complete) in the blob store, a batch at a time; false when the job failed meanwhile. */
  async #storeFiles(job: JobRow, files: EngineFileStatus[], live: LiveJob): Promise<boolean> {
    const known = await this.cachedFiles(
      job.info_hash,
      files.map((f) => f.index),
    );
    for (const f of files) if (known.has(f.index)) live.stored.add(f.index);
    const todo = files.filter((f) => !known.has(f.index));
    for (let at = 0; at < todo.length; at += STORE_BATCH) {
      const diskFull = await this.#storeBatch(job, todo.slice(at, at + STORE_BATCH), live);
      if (diskFull !== null) {
        await this.#failJob(job, 'DISK_FULL', diskFull.message);
        return false;
      }
    }
    return true;
  }

  /**
   * Stores a batch of files under their etags, leaving the engine's own copies where they are:
   * staged (hard links), moved into the store together (one sync per directory), recorded in
   * one transaction. A file gone from the working directory is skipped: the next reconcile
   * downloads it again. Returns the DISK_FULL error that stopped the batch, or null.
   */
  async #storeBatch(job: JobRow, batch: EngineFileStatus[], live: LiveJob): Promise<AppError | null> {
    // Hashed during the download: a move. Anything else (a restart, an engine that does not
    // report pieces, a failed hash) is hashed now.
    const claims = await Promise.all(
      batch.map(async (f) => {
        const hashed = live.etags === null ? null : await live.etags.etag(f.index);
        return hashed !== null && hashed.size === f.size ? hashed : null;
      }),
    );
    const staged = await mapInParallel(batch, STORE_PARALLEL, (f) =>
      stageFile(f.path, this.#stagingDir).catch((err: unknown) => {
        if (errnoOf(err) === 'ENOENT') return null;
        throw err;
      }),
    );
    try {
      return await this.#d.lock.shared(async () => {
        const present = batch.flatMap((_, i) => (staged[i] === null ? [] : [i]));
        const results = await storeFiles(
          this.#d.store,
          present.map((i) => ({ path: staged[i] as string, info: claims[i] })),
        );
        const stored: { engineIndex: number; etag: string; size: number }[] = [];
        let failure: unknown = null;
        results.forEach((result, k) => {
          if (!(result instanceof Error)) stored.push({ engineIndex: batch[present[k]].index, etag: result.etag, size: result.size });
          else if (errnoOf(result) !== 'ENOENT') failure ??= result;
        });
        await this.#d.repo.recordContents(job.info_hash, stored);
        for (const f of stored) live.stored.add(f.engineIndex);
        if (failure === null) return null;
        if (isAppError(failure) && failure.code === 'DISK_FULL') return failure;
        throw failure;
      });
    } finally {
      await forEachInParallel(staged, STORE_PARALLEL, (path) => (path === null ? Promise.resolve() : rm(path, { force: true })));
    }
  }

  /** The task's destination directory: its folder by uuid, or by path when that is gone. */
  async #saveDir(task: TaskRow): Promise<DirRef> {
    if (task.save_uuid !== '') {
      try {
        return await this.#d.files.resolveDir(task.user_id, { uuid: task.save_uuid }, 'PARENT_NOT_FOUND');
      } catch (err) {
        if (!isAppError(err) || (err.code !== 'PARENT_NOT_FOUND' && err.code !== 'FILE_NOT_FOUND')) throw err;
      }
    }
    return this.#d.files.ensureDir(task.user_id, { path: task.save_path || '/' });
  }

  /**
   * The directory `name` in `parent`, created when missing. A file standing there gives the
   * directory a numbered name (`name (1)`), the same one every time. The task's own top folder
   * is recorded when the task creates it.
   */
  async #taskDir(task: TaskRow, parent: DirRef, name: string, top: boolean): Promise<DirRef> {
    for (let n = 0; ; n++) {
      const path = `${parent.path === '/' ? '' : parent.path}/${n === 0 ? name : numberedName(name, n)}`;
      try {
        const existed =
          top && task.folder_uuid === ''
            ? await this.#d.files.get(task.user_id, { path }).then(
                () => true,
                () => false,
              )
            : true;
        const dir = await this.#d.files.ensureDir(task.user_id, { path });
        if (!existed) {
          task.folder_uuid = dir.uuid;
          await this.#d.repo.updateTask(task.id, { folder_uuid: dir.uuid });
        }
        return dir;
      } catch (err) {
        if (!isAppError(err) || (err.code !== 'FILE_ALREADY_EXISTS' && err.code !== 'NOT_A_DIRECTORY')) throw err;
      }
    }
  }

  /**
   * Creates the task's entries for its stored files not in its drive yet (each once); the task
   * is done once all of its own files are there, whatever else the job still downloads.
   */
  async #importInto(task: TaskRow, meta: Manifest, cached: Map<number, { etag: string; size: number }>): Promise<void> {
    const imports = await this.#d.repo.imports(task.id);
    const mine = engineFilesOf(task);
    const todo = mine.filter((i) => !imports.has(i) && cached.has(i));
    const complete = mine.every((i) => imports.has(i) || cached.has(i));
    if (todo.length === 0 && !complete) return;
    const byEngine = new Map<number, TorrentFile>(meta.files.map((f) => [f.engineIndex, f]));
    const plan = this.#planOf(task, meta, mine);
    try {
      const base = await this.#saveDir(task);
      const dirs = new Map<string, DirRef>();
      const entries: { index: number; dir: DirRef; name: string; content: { etag: string; size: number } }[] = [];
      for (const i of todo) {
        const segments = plan.get(i);
        const content = cached.get(i);
        if (segments === undefined || content === undefined) continue;
        let dir = base;
        for (let depth = 1; depth < segments.length; depth++) {
          const sub = segments.slice(0, depth).join('/');
          let found = dirs.get(sub);
          if (found === undefined) {
            found = await this.#taskDir(task, dir, segments[depth - 1], depth === 1);
            dirs.set(sub, found);
          }
          dir = found;
        }
        entries.push({ index: i, dir, name: segments[segments.length - 1], content });
      }
      for (let at = 0; at < entries.length; at += IMPORT_BATCH) {
        const batch = entries.slice(at, at + IMPORT_BATCH);
        const complete = await this.#d.lock.shared(async () => {
          // Content freed meanwhile is not given out: the next reconcile downloads it again.
          const held = await mapInParallel(batch, STORE_PARALLEL, (e) => this.#d.store.exists(e.content.etag));
          const usable = held.indexOf(false) === -1 ? batch : batch.slice(0, held.indexOf(false));
          const { created, error } = await this.#d.files.createFiles(
            task.user_id,
            usable.map((e) => ({ dir: e.dir, name: e.name, etag: e.content.etag, size: e.content.size, onConflict: 'rename' as const, reuseIdentical: false })),
            // A crash between the entries and their records would give second entries at the re-run.
            (q, made) =>
              this.#d.repo.recordImports(
                q,
                task.id,
                made.map((c) => ({ engineIndex: usable[c.index].index, fileUuid: c.uuid, etag: usable[c.index].content.etag })),
              ),
          );
          for (const c of created) imports.set(usable[c.index].index, { fileUuid: c.uuid, etag: usable[c.index].content.etag });
          if (error !== null) throw error;
          return usable.length === batch.length;
        });
        if (!complete) return;
      }
      const saved = mine.reduce((sum, i) => sum + (imports.has(i) ? (byEngine.get(i)?.size ?? 0) : 0), 0);
      const done = mine.every((i) => imports.has(i));
      await this.#d.repo.updateTask(
        task.id,
        done
          ? { status: TASK_DONE, saved_size: saved, finished_size: Number(task.size), finished_at: Date.now(), error_code: '', message: '' }
          : { saved_size: saved },
      );
    } catch (err) {
      if (!isAppError(err) || err.status >= 500) throw err;
      // A destination that became a file, a drive that shrank below the reservation...: this
      // task fails, keeping what it saved; the others go on.
      await this.#failTask(task, err.code, err.message);
    }
  }

  #planOf(task: TaskRow, meta: Manifest, mine: readonly number[]): Map<number, string[]> {
    const cached = this.#plans.get(task.id);
    if (cached !== undefined && cached.selection === task.engine_files) return cached.paths;
    const paths = plannedPaths(meta, mine);
    this.#plans.set(task.id, { jobId: task.job_id, selection: task.engine_files, paths });
    return paths;
  }

  /** Fails an open task with `message`, saying how many of its files are in the drive. */
  async #failTask(task: TaskRow, code: string, message: string): Promise<void> {
    const mine = engineFilesOf(task);
    const imports = await this.#d.repo.imports(task.id);
    const saved = mine.filter((i) => imports.has(i)).length;
    const note = saved > 0 ? ` (${saved} of ${mine.length} files saved)` : '';
    await this.#d.repo.updateTask(task.id, { status: TASK_FAILED, error_code: code, message: `${message}${note}`, finished_at: Date.now() });
  }

  // ---- every second ----

  #tick(): void {
    this.#ticks++;
    for (const [jobId, live] of this.#live) {
      this.#poll(live);
      if (!this.#queues.busy(jobId) && this.#hasUnstored(live)) {
        const handle = live.handle;
        this.run(jobId, () => this.#importCompleted(jobId, handle)).catch((err) => {
          if (!this.#closing) this.#error(err, `importing completed files of offline job ${jobId}`);
        });
      }
    }
    if (this.#ticks % PERSIST_TICKS === 0) this.#persist().catch((err) => this.#error(err, 'persisting progress'));
    if (this.#ticks % WATCHDOG_TICKS === 0) this.#watchdog().catch((err) => this.#error(err, 'offline watchdog'));
  }

  #poll(live: LiveJob): void {
    live.status = live.handle.status();
    live.progress.update(live.status.files);
  }

  async #persist(): Promise<void> {
    for (const [jobId, live] of [...this.#live]) await this.#persistJob(jobId, live);
  }

  /** Writes the progress the job's active tasks show now (what the page shows while the job is not running). */
  async #persistJob(jobId: string, live: LiveJob): Promise<void> {
    this.#poll(live);
    await this.#d.repo.updateJob(jobId, { downloaded: live.status.downloaded });
    for (const task of await this.#d.repo.openTasks(jobId)) {
      if (task.status !== TASK_ACTIVE) continue;
      const finished = this.view(task).finishedSize;
      if (finished !== Number(task.finished_size)) await this.#d.repo.updateTask(task.id, { finished_size: finished });
    }
  }

  /**
   * Status never lies: a job that should be moving but that nothing drives (its engine job is
   * gone, an import was interrupted by an error) is reconciled again — resumed, or failed once
   * its attempts are spent.
   */
  async #watchdog(): Promise<void> {
    if (this.#closing) return;
    for (const id of await this.#d.repo.unfinishedJobIds()) {
      if (this.#queues.busy(id)) continue; // being worked on
      // A live engine job reports its end through `settled`, which is queued as work.
      if (this.#live.has(id) || this.#phases.get(id) === 'paused') continue;
      this.kick(id);
    }
  }

  #error(err: unknown, what: string): void {
    this.#d.onError?.(err, what);
  }
}
