import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { BIN_PATH_PREFIX } from '../db/sql.js';
import type { SharesTable } from '../db/schema.js';
import type { Selectable } from 'kysely';

export type ShareRow = Selectable<SharesTable>;

/** A share's item as it is now: the entry's current path and name (moves and renames follow). */
export interface ShareItemRow {
  file_id: number;
  uuid: string;
  path: string;
  name: string;
  type: number;
  size: number;
  ext: string;
  mime: string;
  mtime: number;
}

/** SQL for shares; every method takes the executor, as FilesRepo does. */
export class SharesRepo {
  async insert(q: Db, row: Omit<ShareRow, 'views' | 'downloads'>, fileIds: readonly number[]): Promise<void> {
    await q.insertInto('shares').values(row).execute();
    await q
      .insertInto('share_items')
      .values(fileIds.map((file_id) => ({ share_id: row.id, file_id })))
      .execute();
  }

  /** The row ids of the user's entries `uuids` (for share_items). */
  async fileIds(q: Db, userId: number, uuids: readonly string[]): Promise<number[]> {
    const rows = await q
      .selectFrom('files')
      .select('id')
      .where('user_id', '=', userId)
      .where('uuid', 'in', uuids)
      .where('path', '<', BIN_PATH_PREFIX)
      .execute();
    return rows.map((r) => r.id);
  }

  /** The share, while its owner's account exists. */
  byId(q: Db, id: string): Promise<(ShareRow & { owner: string }) | undefined> {
    return q
      .selectFrom('shares as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .selectAll('s')
      .select('u.name as owner')
      .where('s.id', '=', id)
      .executeTakeFirst();
  }

  items(q: Db, shareId: string): Promise<ShareItemRow[]> {
    return (
      q
        .selectFrom('share_items as i')
        .innerJoin('files as f', 'f.id', 'i.file_id')
        .select(['i.file_id', 'f.uuid', 'f.path', 'f.name', 'f.type', 'f.size', 'f.ext', 'f.mime', 'f.mtime'])
        .where('i.share_id', '=', shareId)
        // An entry in the recycle bin is gone from the share (and is back when restored).
        .where('f.path', '<', BIN_PATH_PREFIX)
        .orderBy('f.type', 'desc')
        .orderBy('f.name')
        .execute()
    );
  }

  /** A page of the user's shares, newest first, with how many of their items still exist. */
  async page(q: Db, userId: number, offset: number, limit: number): Promise<{ rows: Array<ShareRow & { items: number }>; total: number }> {
    const rows = await q
      .selectFrom('shares as s')
      .selectAll('s')
      .select(
        sql<number>`(SELECT count(*) FROM share_items i JOIN files f ON f.id = i.file_id WHERE i.share_id = s.id AND f.path < ${BIN_PATH_PREFIX})`.as('items'),
      )
      .where('s.user_id', '=', userId)
      .orderBy('s.created_at', 'desc')
      .orderBy('s.id')
      .limit(limit)
      .offset(offset)
      .execute();
    const total = await q.selectFrom('shares').select(sql<number>`count(*)`.as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
    return { rows: rows.map((r) => ({ ...r, items: Number(r.items) })), total: Number(total.n) };
  }

  async remove(q: Db, userId: number, ids: readonly string[]): Promise<number> {
    const result = await q.deleteFrom('shares').where('user_id', '=', userId).where('id', 'in', ids).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async countView(q: Db, id: string): Promise<void> {
    await q
      .updateTable('shares')
      .set((eb) => ({ views: eb('views', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }

  /** Counts a download unless the limit is reached: false when it is. */
  async countDownload(q: Db, id: string): Promise<boolean> {
    const result = await q
      .updateTable('shares')
      .set((eb) => ({ downloads: eb('downloads', '+', 1) }))
      .where('id', '=', id)
      .where((eb) => eb.or([eb('max_downloads', '=', 0), eb('downloads', '<', eb.ref('max_downloads'))]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
