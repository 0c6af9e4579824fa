// What the admin console reads and does across every user's downloads: the system jobs with
// their users' tasks and live figures, the engines' totals, and cancelling a job. Read-only
// queries over the same tables and live views the users' own calls read; the one write,
// cancel, goes through the job's queue like every other change to a job.
import type { Db } from '../db/database.js';
import { reportsStats, type DownloadEngine, type EngineStats } from '../engines/index.js';
import { AppError } from '../errors.js';
import { TASK_ACTIVE, TASK_FAILED, type OfflineRepo, type TaskRow } from './offline.repo.js';
import type { OfflineService } from './offline.service.js';
import { engineFilesOf, type Scheduler } from './scheduler.js';
import type { Seeding } from './seeding.js';

/** The error code of every task of a job an administrator cancelled. */
export const JOB_CANCELLED = 'JOB_CANCELLED';
const CANCELLED_MESSAGE = 'An administrator cancelled this download.';
/** Tasks listed per job (the count says how many there are). */
const TASKS_PER_JOB = 100;
const PAGE_SIZE_MAX = 200;

export interface AdminTaskView {
  taskId: string;
  userId: number;
  userName: string;
  status: number;
  size: number;
  finishedSize: number;
  progress: number;
  errorCode: string;
  createTime: number;
}

export interface AdminJobView {
  jobId: string;
  type: number;
  name: string;
  infoHash: string;
  /** queued, downloading, importing, paused, done, failed (offline/scheduler.ts). */
  phase: string;
  /** Bytes the engine was given and verified bytes of them (persisted every few seconds). */
  size: number;
  downloaded: number;
  /** Live, from the engine while it runs; 0 otherwise. */
  speed: number;
  peers: number;
  /** Bytes uploaded after the import, and peers of the seed, while it seeds; null when not seeding. */
  seeding: { uploaded: number; peers: number } | null;
  errorCode: string;
  message: string;
  createTime: number;
  updateTime: number;
  finishTime: number;
  taskCount: number;
  tasks: AdminTaskView[];
}

export interface AdminEngineView extends Partial<EngineStats> {
  name: string;
}

/** Figures of one moment, for the chart's sampler. */
export interface OfflineActivity {
  downloadSpeed: number;
  uploadSpeed: number;
  activeTasks: number;
  activeJobs: number;
}

export interface OfflineAdminDeps {
  db: Db;
  repo: OfflineRepo;
  scheduler: Scheduler;
  service: OfflineService;
  seeding: Seeding;
  /** Every engine under the router, each once. */
  engines: readonly DownloadEngine[];
}

export class OfflineAdmin {
  constructor(private readonly d: OfflineAdminDeps) {}

  /** Jobs newest first; `unfinished`: only those not done or failed. */
  async jobs(opts: { page?: number; pageSize?: number; unfinished?: boolean }): Promise<{ list: AdminJobView[]; totalCount: number }> {
    const pageSize = Math.min(Math.max(1, opts.pageSize ?? 50), PAGE_SIZE_MAX);
    const page = Math.max(1, opts.page ?? 1);
    let base = this.d.db.selectFrom('offline_jobs');
    if (opts.unfinished) base = base.where('phase', 'not in', ['done', 'failed']);
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const jobs = await base
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(pageSize)
      .offset((page - 1) * pageSize)
      .execute();
    const list: AdminJobView[] = [];
    for (const job of jobs) {
      const tasks = await this.d.db
        .selectFrom('offline_tasks')
        .innerJoin('users', 'users.id', 'offline_tasks.user_id')
        .selectAll('offline_tasks')
        .select('users.name as user_name')
        .where('offline_tasks.job_id', '=', job.id)
        .orderBy('offline_tasks.id')
        .limit(TASKS_PER_JOB)
        .execute();
      const taskCount =
        tasks.length < TASKS_PER_JOB
          ? tasks.length
          : Number(
              (
                await this.d.db
                  .selectFrom('offline_tasks')
                  .select((eb) => eb.fn.countAll<number>().as('n'))
                  .where('job_id', '=', job.id)
                  .executeTakeFirstOrThrow()
              ).n,
            );
      const views = tasks.map((row) => this.#taskView(row, row.user_name));
      // Speed and peers are the job's: every active task of it shows the same.
      const active = tasks.find((t) => t.status === TASK_ACTIVE);
      const live = active === undefined ? null : this.d.scheduler.view(active);
      const seed = this.d.seeding.status(job.id);
      list.push({
        jobId: job.id,
        type: job.type,
        name: job.name,
        infoHash: job.info_hash,
        phase: job.phase,
        size: Number(job.size),
        downloaded: Number(job.downloaded),
        speed: live?.speed ?? 0,
        peers: live?.peers ?? 0,
        seeding: seed === null ? null : { uploaded: seed.uploaded, peers: seed.peers },
        errorCode: job.error_code,
        message: job.message,
        createTime: Number(job.created_at),
        updateTime: Number(job.updated_at),
        finishTime: Number(job.finished_at),
        taskCount,
        tasks: views,
      });
    }
    return { list, totalCount: Number(total.n) };
  }

  #taskView(row: TaskRow, userName: string): AdminTaskView {
    const task = this.d.service.taskObject(row);
    return {
      taskId: task.taskId,
      userId: row.user_id,
      userName,
      status: task.status,
      size: task.size,
      finishedSize: task.finishedSize,
      progress: task.progress,
      errorCode: task.errorCode,
      createTime: task.createTime,
    };
  }

  /**
   * Cancels a job: every open task of it (active or paused) fails with JOB_CANCELLED, saying how
   * many of its files are already in its drive (they stay); the engine stops and the partial
   * download is deleted. Answers how many tasks it failed.
   */
  async cancel(jobId: string): Promise<number> {
    const job = await this.d.repo.jobById(jobId);
    if (job === undefined) throw new AppError('JOB_NOT_FOUND', `No offline job ${jobId}.`);
    return this.d.scheduler.update(jobId, async () => {
      const now = Date.now();
      const open = await this.d.repo.openTasks(jobId);
      for (const task of open) {
        const mine = engineFilesOf(task);
        const imports = await this.d.repo.imports(task.id);
        const saved = mine.filter((i) => imports.has(i)).length;
        const note = saved > 0 ? ` (${saved} of ${mine.length} files saved)` : '';
        await this.d.repo.updateTask(task.id, { status: TASK_FAILED, error_code: JOB_CANCELLED, message: CANCELLED_MESSAGE + note, finished_at: now });
      }
      const current = await this.d.repo.jobById(jobId);
      if (current !== undefined && current.phase !== 'done' && current.phase !== 'failed') {
        await this.d.repo.updateJob(jobId, { phase: 'failed', error_code: JOB_CANCELLED, message: CANCELLED_MESSAGE, finished_at: now });
      }
      // With no open task left, the reconcile that follows stops the engine and frees the data.
      return open.length;
    });
  }

  /** Each engine's totals now. */
  engines(): AdminEngineView[] {
    return this.d.engines.map((engine) => (reportsStats(engine) ? { name: engine.name, ...engine.stats() } : { name: engine.name }));
  }

  /** Every engine's speeds and running jobs together, now: no query, cheap enough for every few seconds. */
  speeds(): Omit<OfflineActivity, 'activeTasks'> {
    const totals = { downloadSpeed: 0, uploadSpeed: 0, activeJobs: 0 };
    for (const engine of this.d.engines) {
      if (!reportsStats(engine)) continue;
      const stats = engine.stats();
      totals.downloadSpeed += stats.downloadSpeed;
      totals.uploadSpeed += stats.uploadSpeed;
      totals.activeJobs += stats.activeJobs;
    }
    return totals;
  }

  /** The speeds, and the user tasks active now (one count). */
  async activity(): Promise<OfflineActivity> {
    const { downloadSpeed, uploadSpeed, activeJobs } = this.speeds();
    const row = await this.d.db
      .selectFrom('offline_tasks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', TASK_ACTIVE)
      .executeTakeFirstOrThrow();
    return { downloadSpeed, uploadSpeed, activeTasks: Number(row.n), activeJobs };
  }
}
