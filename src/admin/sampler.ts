// The admin console's chart: download and upload speed and active tasks over the last 24
// hours. Speeds are read every few seconds in memory (engine totals, no query) and averaged;
// one row per interval goes to `stats_samples`, and rows older than a day are deleted with it.
import type { Db } from '../db/database.js';
import type { OfflineActivity } from '../offline/index.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface StatsSample {
  at: number;
  downloadSpeed: number;
  uploadSpeed: number;
  activeTasks: number;
  activeJobs: number;
}

export interface SamplerTiming {
  /** Speeds are read this often; default 15 s. */
  readMs: number;
  /** A row is written this often; default 60 s. */
  writeMs: number;
}

const DEFAULT_TIMING: SamplerTiming = { readMs: 15_000, writeMs: 60_000 };

export class ActivitySampler {
  readonly #timing: SamplerTiming;
  #timer: NodeJS.Timeout | null = null;
  #reads = 0;
  #downSum = 0;
  #upSum = 0;
  #lastWrite = 0;
  #writing: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    /** Speeds now (cheap: engine totals). */
    private readonly speeds: () => Pick<OfflineActivity, 'downloadSpeed' | 'uploadSpeed'>,
    /** Everything, counts included (a query): read once per row. */
    private readonly activity: () => Promise<OfflineActivity>,
    private readonly onError: (err: unknown) => void = () => undefined,
    timing: Partial<SamplerTiming> = {},
  ) {
    this.#timing = { ...DEFAULT_TIMING, ...timing };
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#lastWrite = Date.now();
    this.#timer = setInterval(() => this.#read(), this.#timing.readMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#writing;
  }

  #read(): void {
    const now = Date.now();
    const s = this.speeds();
    this.#downSum += s.downloadSpeed;
    this.#upSum += s.uploadSpeed;
    this.#reads++;
    if (now - this.#lastWrite < this.#timing.writeMs || this.#writing !== null) return;
    this.#lastWrite = now;
    this.#writing = this.sample(now)
      .then(() => undefined, this.onError)
      .finally(() => {
        this.#writing = null;
      });
  }

  /** Writes the row of the interval ending `now` (speeds averaged over the reads since the last row) and prunes. */
  async sample(now = Date.now()): Promise<StatsSample> {
    const activity = await this.activity();
    const reads = this.#reads;
    const sample: StatsSample = {
      at: now,
      downloadSpeed: Math.round(reads > 0 ? this.#downSum / reads : activity.downloadSpeed),
      uploadSpeed: Math.round(reads > 0 ? this.#upSum / reads : activity.uploadSpeed),
      activeTasks: activity.activeTasks,
      activeJobs: activity.activeJobs,
    };
    this.#reads = 0;
    this.#downSum = 0;
    this.#upSum = 0;
    await this.db
      .insertInto('stats_samples')
      .values({
        at: sample.at,
        download_speed: sample.downloadSpeed,
        upload_speed: sample.uploadSpeed,
        active_tasks: sample.activeTasks,
        active_jobs: sample.activeJobs,
      })
      .onConflict((oc) => oc.column('at').doNothing())
      .execute();
    await this.db
      .deleteFrom('stats_samples')
      .where('at', '<', now - DAY_MS)
      .execute();
    return sample;
  }

  /** The samples of the last 24 hours, oldest first. */
  async lastDay(now = Date.now()): Promise<StatsSample[]> {
    const rows = await this.db
      .selectFrom('stats_samples')
      .selectAll()
      .where('at', '>=', now - DAY_MS)
      .orderBy('at')
      .execute();
    return rows.map((r) => ({
      at: Number(r.at),
      downloadSpeed: Number(r.download_speed),
      uploadSpeed: Number(r.upload_speed),
      activeTasks: r.active_tasks,
      activeJobs: r.active_jobs,
    }));
  }
}
