import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { QbtTorrentsTable } from '../db/schema.js';
import { statementSlices } from '../db/sql.js';

export type QbtLabels = Selectable<QbtTorrentsTable>;

/** The SQL of the qBittorrent API's own data: categories, tags, and the labels of tasks. */
export class QbtRepo {
  constructor(private readonly db: Db) {}

  // ---- categories ----

  async categories(userId: number): Promise<Map<string, string>> {
    const rows = await this.db.selectFrom('qbt_categories').select(['name', 'save_path']).where('user_id', '=', userId).orderBy('name').execute();
    return new Map(rows.map((r) => [r.name, r.save_path]));
  }

  /** False when the user already has a category of that name. */
  async createCategory(userId: number, name: string, savePath: string): Promise<boolean> {
    const result = await this.db
      .insertInto('qbt_categories')
      .values({ user_id: userId, name, save_path: savePath })
      .onConflict((oc) => oc.columns(['user_id', 'name']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** False when the user has no category of that name. */
  async editCategory(userId: number, name: string, savePath: string): Promise<boolean> {
    const result = await this.db
      .updateTable('qbt_categories')
      .set({ save_path: savePath })
      .where('user_id', '=', userId)
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Removes the categories; the tasks in them keep no category (as in qBittorrent). */
  async removeCategories(userId: number, names: readonly string[]): Promise<void> {
    for (const part of statementSlices(names)) {
      await this.db.deleteFrom('qbt_categories').where('user_id', '=', userId).where('name', 'in', part).execute();
      await this.db.updateTable('qbt_torrents').set({ category: '' }).where('user_id', '=', userId).where('category', 'in', part).execute();
    }
  }

  // ---- tags ----

  async tags(userId: number): Promise<string[]> {
    const rows = await this.db.selectFrom('qbt_tags').select('name').where('user_id', '=', userId).orderBy('name').execute();
    return rows.map((r) => r.name);
  }

  async createTags(userId: number, names: readonly string[]): Promise<void> {
    for (const part of statementSlices(names)) {
      await this.db
        .insertInto('qbt_tags')
        .values(part.map((name) => ({ user_id: userId, name })))
        .onConflict((oc) => oc.columns(['user_id', 'name']).doNothing())
        .execute();
    }
  }

  async deleteTags(userId: number, names: readonly string[]): Promise<void> {
    for (const part of statementSlices(names)) await this.db.deleteFrom('qbt_tags').where('user_id', '=', userId).where('name', 'in', part).execute();
  }

  // ---- the labels of tasks ----

  /** The labels of every task of the user that has any. */
  async labels(userId: number): Promise<Map<string, QbtLabels>> {
    const rows = await this.db.selectFrom('qbt_torrents').selectAll().where('user_id', '=', userId).execute();
    return new Map(rows.map((r) => [r.task_id, r]));
  }

  /** Sets some labels of tasks of the user (rows are created as needed). */
  async setLabels(
    userId: number,
    taskIds: readonly string[],
    patch: Partial<Pick<QbtLabels, 'category' | 'tags' | 'ratio_limit' | 'seeding_time_limit'>>,
  ): Promise<void> {
    if (taskIds.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const part of statementSlices(taskIds)) {
        await trx
          .insertInto('qbt_torrents')
          .values(part.map((taskId) => ({ task_id: taskId, user_id: userId, ...patch })))
          .onConflict((oc) => (Object.keys(patch).length === 0 ? oc.column('task_id').doNothing() : oc.column('task_id').doUpdateSet(patch)))
          .execute();
      }
    });
  }
}
