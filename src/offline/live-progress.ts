import type { EngineHandle, EngineState, EngineStatus } from '../engines/index.js';
import { engineFilesOf } from './engine-files.js';
import type { EtagTracker } from './etag-tracker.js';
import type { JobManifests } from './job-manifests.js';
import type { JobProgress } from './job-progress.js';
import { TASK_ACTIVE, TASK_PAUSED, type OfflineRepo, type TaskRow } from './offline.repo.js';

/** Live task statuses of docs/spec/API.md, derived from the job's phase and the engine's state. */
export const STATUS_QUEUED = 0;
export const STATUS_METADATA = 10;
export const STATUS_DOWNLOADING = 20;
export const STATUS_SAVING = 50;

/** A job the engine is running now. */
export interface LiveJob {
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
  /** The job's `downloaded` as last written to the database. */
  persistedDownloaded: number;
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

/**
 * The live side of the jobs: which run in the engine now, which wait for metadata, the phase
 * each was last seen in, and what their tasks show. Requests read it without touching the
 * database; the scheduler polls the engine into it each tick and writes it down every few.
 */
export class LiveProgress {
  /** Jobs the engine runs, by job id. */
  readonly jobs = new Map<string, LiveJob>();
  /** Each job's phase as last read or written. */
  readonly phases = new Map<string, string>();
  /** Jobs waiting for a magnet link's metadata. */
  readonly fetching = new Set<string>();
  /** What the tasks of jobs driven by other processes show, by job id then task row id (OPENPAN_ROLE=api). */
  readonly remote = new Map<string, ReadonlyMap<number, TaskLiveView>>();
  /** The `live` text each job was last published with (OPENPAN_ROLE=worker). */
  readonly #published = new Map<string, string>();
  readonly #repo: Pick<OfflineRepo, 'updateJob' | 'updateTask' | 'openTasks'>;
  readonly #manifests: Pick<JobManifests, 'sizes'>;

  constructor(repo: Pick<OfflineRepo, 'updateJob' | 'updateTask' | 'openTasks'>, manifests: Pick<JobManifests, 'sizes'>) {
    this.#repo = repo;
    this.#manifests = manifests;
  }

  /** Live status, progress, speed and peers of a user task (stored values when its job is idle). */
  view(task: TaskRow): TaskLiveView {
    const stored: TaskLiveView = { status: task.status, finishedSize: Number(task.finished_size), speed: 0, peers: 0 };
    if (task.status !== TASK_ACTIVE) return stored;
    const live = this.jobs.get(task.job_id);
    if (live === undefined) {
      const remote = this.remote.get(task.job_id)?.get(task.id);
      if (remote !== undefined) return remote;
      if (this.fetching.has(task.job_id)) return { ...stored, status: STATUS_METADATA };
      return { ...stored, status: this.phases.get(task.job_id) === 'importing' ? STATUS_SAVING : STATUS_QUEUED };
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
    const live = this.jobs.get(jobId);
    if (live === undefined || !live.selected.has(engineIndex)) return null;
    return live.progress.fileBytes(engineIndex) ?? 0;
  }

  #finishedSize(task: TaskRow, live: LiveJob): number {
    const sizes = this.#manifests.sizes(task.job_id);
    if (sizes === undefined) return Number(task.finished_size);
    // Kept up to date by the poll: a request does not walk the task's files (job-progress.ts).
    const sum = live.progress.taskBytes(task.id, task.engine_files, sizes, () => engineFilesOf(task));
    return Math.min(sum, Number(task.size));
  }

  /** Reads the engine's figures for the job now. */
  poll(live: LiveJob): void {
    live.status = live.handle.status();
    live.progress.update(live.status.files);
  }

  /** Completed files of a running job not stored yet (cheap: the tick asks for every job). */
  hasUnstored(live: LiveJob): boolean {
    return live.storesEachFile && live.status.state === 'downloading' && live.progress.hasDoneOutside(live.stored);
  }

  /**
   * Writes what the active tasks of every job this process drives show now into the job's row
   * (`live`), for the API processes; only what changed since the last time.
   */
  async publish(): Promise<void> {
    const driven = new Set([...this.jobs.keys(), ...this.fetching]);
    for (const jobId of this.#published.keys()) if (!driven.has(jobId)) this.#published.delete(jobId);
    for (const jobId of driven) {
      const views: Record<number, TaskLiveView> = {};
      for (const task of await this.#repo.openTasks(jobId)) if (task.status === TASK_ACTIVE) views[task.id] = this.view(task);
      const text = JSON.stringify(views);
      if (this.#published.get(jobId) === text) continue;
      await this.#repo.updateJob(jobId, { live: text });
      this.#published.set(jobId, text);
    }
  }

  /** Takes in what other processes published of the jobs they drive (rows of `leasedJobs`). */
  receive(rows: readonly { id: string; phase: string; live: string }[]): void {
    this.remote.clear();
    this.phases.clear();
    for (const row of rows) {
      this.phases.set(row.id, row.phase);
      const views = parseLiveViews(row.live);
      if (views !== null) this.remote.set(row.id, views);
    }
  }

  /**
   * Writes down what every running job's tasks show now, for the jobs that moved since the last
   * write: 10,000 waiting jobs would otherwise cost 20,000 queries every few seconds.
   */
  async persist(): Promise<void> {
    for (const [jobId, live] of [...this.jobs]) {
      this.poll(live);
      if (live.status.downloaded !== live.persistedDownloaded) await this.persistJob(jobId, live);
    }
  }

  /** Writes the progress the job's active tasks show now (what the page shows while the job is not running). */
  async persistJob(jobId: string, live: LiveJob): Promise<void> {
    this.poll(live);
    await this.#repo.updateJob(jobId, { downloaded: live.status.downloaded });
    live.persistedDownloaded = live.status.downloaded;
    for (const task of await this.#repo.openTasks(jobId)) {
      if (task.status !== TASK_ACTIVE) continue;
      const finished = this.view(task).finishedSize;
      if (finished !== Number(task.finished_size)) await this.#repo.updateTask(task.id, { finished_size: finished });
    }
  }
}

/** A job's `live` text (task row id → view), checked field by field; null when it is not one. */
export function parseLiveViews(text: string): Map<number, TaskLiveView> | null {
  if (text === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const views = new Map<number, TaskLiveView>();
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const id = Number(key);
    const v = raw as Partial<Record<keyof TaskLiveView, unknown>> | null;
    if (!Number.isSafeInteger(id) || typeof v !== 'object' || v === null) continue;
    const { status, finishedSize, speed, peers, notice, refusedPeers } = v;
    if (typeof status !== 'number' || typeof finishedSize !== 'number' || typeof speed !== 'number' || typeof peers !== 'number') continue;
    views.set(id, {
      status,
      finishedSize,
      speed,
      peers,
      ...(typeof notice === 'string' ? { notice } : {}),
      ...(typeof refusedPeers === 'number' ? { refusedPeers } : {}),
    });
  }
  return views;
}
