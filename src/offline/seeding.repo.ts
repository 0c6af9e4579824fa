import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { OfflineSeedsTable } from '../db/schema.js';

export type SeedRow = Selectable<OfflineSeedsTable>;

/** The SQL of seeding after the import (offline/seeding.ts). */
export class SeedingRepo {
  constructor(private readonly db: Db) {}

  seeds(): Promise<SeedRow[]> {
    return this.db.selectFrom('offline_seeds').selectAll().execute();
  }

  async saveSeed(row: SeedRow): Promise<void> {
    const { job_id: _id, created_at: _created, ...rest } = row;
    await this.db
      .insertInto('offline_seeds')
      .values(row)
      .onConflict((oc) => oc.column('job_id').doUpdateSet(rest))
      .execute();
  }

  async updateCounters(jobId: string, uploaded: number, seededMs: number): Promise<void> {
    await this.db.updateTable('offline_seeds').set({ uploaded, seeded_ms: seededMs, updated_at: Date.now() }).where('job_id', '=', jobId).execute();
  }

  async deleteSeed(jobId: string): Promise<void> {
    await this.db.deleteFrom('offline_seeds').where('job_id', '=', jobId).execute();
  }

  /** What seeding needs of a system task. */
  job(jobId: string) {
    return this.db.selectFrom('offline_jobs').select(['id', 'info_hash', 'phase', 'torrent']).where('id', '=', jobId).executeTakeFirst();
  }

  /** User tasks (any status) still attached to the job: a job nobody has any more stops seeding. */
  async hasTasks(jobId: string): Promise<boolean> {
    const row = await this.db.selectFrom('offline_tasks').select('id').where('job_id', '=', jobId).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** The stored content of a torrent: engine file index → etag and size. */
  content(infoHash: string) {
    return this.db.selectFrom('offline_content').select(['engine_index', 'etag', 'size']).where('info_hash', '=', infoHash).execute();
  }
}
