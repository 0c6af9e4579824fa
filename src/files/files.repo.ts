// Over 400 lines, whole on purpose: the only SQL writing files and dir_stats (one writer per
// table, test/architecture/table-writers.test.ts), in both dialects.
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { nameSearchSql } from '../db/name-search.js';
import { BIN_PATH_PREFIX, binPath, randomUuidSql, statementSlices, subtreeBounds } from '../db/sql.js';
import { DIRECTORY, FILE, fileObject, type DirRef, type FileObject, type FileRow, type FileRowWithParent } from './file-object.js';
import type { KindFilter } from './search.js';
import { childPath } from '../names/file-names.js';
import { addBlobRef, addBlobRefs, adjustSubtreeBlobRefs, dropBlobRef, dropBlobRefs } from '../store/blobs.repo.js';
import { chargeSpace, releaseSpace } from '../users/users.repo.js';
import { nameSortKey } from '../names/sort-key.js';

export type SortField = 'name' | 'size' | 'ctime' | 'mtime';

export interface NewEntry {
  uuid: string;
  userId: number;
  parent: DirRef;
  name: string;
  ext: string;
  type: number;
  size: number;
  storeId: string;
  mime: string;
  now: number;
}

export interface SubtreeStats {
  files: number;
  bytes: number;
  maxDepth: number;
  /** Files and directories, the subtree's root included. */
  entries: number;
}

/**
 * SQL for the file tree. Every method takes the executor (the database or a transaction) so
 * the service decides what runs atomically. Whole-subtree operations are single statements
 * over a path range, never per-file round trips.
 */
export class FilesRepo {
  private selectWithParent(q: Db) {
    return q.selectFrom('files as f').leftJoin('files as p', 'p.id', 'f.parent_id').selectAll('f').select('p.uuid as parent_uuid');
  }

  /** A live entry (not in the recycle bin) by its uuid. */
  byUuid(q: Db, userId: number, uuid: string): Promise<FileRowWithParent | undefined> {
    return this.selectWithParent(q).where('f.uuid', '=', uuid).where('f.user_id', '=', userId).where('f.path', '<', BIN_PATH_PREFIX).executeTakeFirst();
  }

  /** Whether the user's file `uuid` holds content `etag` (one lookup on the uuid index). */
  async fileHolds(q: Db, userId: number, uuid: string, etag: string): Promise<boolean> {
    const row = await q
      .selectFrom('files')
      .select('id')
      .where('uuid', '=', uuid)
      .where('user_id', '=', userId)
      .where('type', '=', FILE)
      .where('store_id', '=', etag)
      .where('path', '<', BIN_PATH_PREFIX)
      .executeTakeFirst();
    return row !== undefined;
  }

  byPath(q: Db, userId: number, path: string): Promise<FileRowWithParent | undefined> {
    return this.selectWithParent(q).where('f.user_id', '=', userId).where('f.path', '=', path).executeTakeFirst();
  }

  byName(q: Db, userId: number, parentId: number, name: string): Promise<FileRowWithParent | undefined> {
    return this.selectWithParent(q).where('f.user_id', '=', userId).where('f.parent_id', '=', parentId).where('f.name', '=', name).executeTakeFirst();
  }

  /** How many directories and files `dirId` holds (kept by triggers, see the migrations). */
  async childCounts(q: Db, userId: number, dirId: number): Promise<{ dirs: number; files: number }> {
    const row = await q.selectFrom('dir_stats').select(['dirs', 'files']).where('user_id', '=', userId).where('dir_id', '=', dirId).executeTakeFirst();
    return { dirs: Number(row?.dirs ?? 0), files: Number(row?.files ?? 0) };
  }

  /** Children of one type in the order asked for, read along the matching index. */
  childrenOfType(
    q: Db,
    userId: number,
    parent: DirRef,
    type: number,
    opts: { offset: number; limit: number; sort: SortField; desc: boolean },
  ): Promise<FileRowWithParent[]> {
    const direction = opts.desc ? 'desc' : 'asc';
    // Names sort by their key, names equal by it by code point (files_by_name_key).
    const columns = opts.sort === 'name' ? (['f.name_key', 'f.name'] as const) : ([`f.${opts.sort}`] as const);
    let query = q
      .selectFrom('files as f')
      .selectAll('f')
      .select(sql<string>`${parent.uuid}`.as('parent_uuid'))
      .where('f.user_id', '=', userId)
      .where('f.parent_id', '=', parent.id)
      .where('f.type', '=', type);
    for (const column of columns) query = query.orderBy(column, direction);
    return query.orderBy('f.id', direction).limit(opts.limit).offset(opts.offset).execute();
  }

  private values(e: NewEntry) {
    return {
      uuid: e.uuid,
      user_id: e.userId,
      parent_id: e.parent.id,
      path: childPath(e.parent.path, e.name),
      name: e.name,
      name_key: nameSortKey(e.name),
      ext: e.ext,
      type: e.type,
      size: e.size,
      store_id: e.storeId,
      mime: e.mime,
      depth: e.parent.depth + 1,
      ctime: e.now,
      mtime: e.now,
      atime: e.now,
      version: 0,
      locking: 0,
    };
  }

  /** Inserts the entry and returns it as a re-read would, from the values written (no second query). */
  async insert(q: Db, e: NewEntry): Promise<FileObject> {
    const row = this.values(e);
    await q.insertInto('files').values(row).execute();
    return fileObject({ ...row, parent_uuid: e.parent.uuid });
  }

  /** Inserts many entries, a few hundred per statement. */
  async insertMany(q: Db, entries: readonly NewEntry[]): Promise<void> {
    for (const part of statementSlices(entries)) {
      await q
        .insertInto('files')
        .values(part.map((e) => this.values(e)))
        .execute();
    }
  }

  /** Which of `names` are taken in the directory `parentId`. */
  async takenNames(q: Db, userId: number, parentId: number, names: readonly string[]): Promise<Set<string>> {
    const taken = new Set<string>();
    for (const part of statementSlices(names)) {
      const rows = await q
        .selectFrom('files')
        .select('name')
        .where('user_id', '=', userId)
        .where('parent_id', '=', parentId)
        .where('name', 'in', part)
        .execute();
      for (const r of rows) taken.add(r.name);
    }
    return taken;
  }

  /** Inserts a directory unless the name is taken; true when this call created it. */
  async insertDirectoryIfAbsent(q: Db, e: Omit<NewEntry, 'type' | 'size' | 'storeId' | 'mime' | 'ext'>): Promise<boolean> {
    const result = await q
      .insertInto('files')
      .values(this.values({ ...e, type: DIRECTORY, size: 0, storeId: '', mime: '', ext: '' }))
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /** Gives a file new content in place: same uuid, path and ctime, the next version. */
  async replaceContent(q: Db, id: number, c: { storeId: string; size: number; mime: string; now: number }): Promise<void> {
    await q
      .updateTable('files')
      .set((eb) => ({ store_id: c.storeId, size: c.size, mime: c.mime, mtime: c.now, atime: c.now, version: eb('version', '+', 1) }))
      .where('id', '=', id)
      .where('type', '=', FILE)
      .execute();
  }

  /** A renamed file's extension and MIME type. */
  async setType(q: Db, id: number, t: { ext: string; mime: string }): Promise<void> {
    await q.updateTable('files').set(t).where('id', '=', id).execute();
  }

  async deleteRow(q: Db, id: number): Promise<void> {
    await q.deleteFrom('files').where('id', '=', id).execute();
  }

  /** Files (not directories) in the subtree of `path`, including `path` itself when it is a file. */
  async subtreeStats(q: Db, userId: number, path: string): Promise<SubtreeStats> {
    const { low, high } = subtreeBounds(path);
    const row = await q
      .selectFrom('files')
      .select([
        sql<number>`coalesce(sum(case when type = ${FILE} then 1 else 0 end), 0)`.as('files'),
        sql<number>`coalesce(sum(case when type = ${FILE} then size else 0 end), 0)`.as('bytes'),
        sql<number>`coalesce(max(depth), 0)`.as('maxDepth'),
        sql<number>`count(*)`.as('entries'),
      ])
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('path', '=', path), eb.and([eb('path', '>', low), eb('path', '<', high)])]))
      .executeTakeFirstOrThrow();
    return { files: Number(row.files), bytes: Number(row.bytes), maxDepth: Number(row.maxDepth), entries: Number(row.entries) };
  }

  /** The entry at `path` and everything under it, parents before children (for archives). */
  subtreeRows(q: Db, userId: number, path: string): Promise<Array<{ path: string; type: number; size: number; store_id: string; mtime: number }>> {
    const { low, high } = subtreeBounds(path);
    return q
      .selectFrom('files')
      .select(['path', 'type', 'size', 'store_id', 'mtime'])
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('path', '=', path), eb.and([eb('path', '>', low), eb('path', '<', high)])]))
      .orderBy('path')
      .execute();
  }

  /** Adds `delta` references to every blob used in the subtree (one statement). */
  async adjustSubtreeRefs(q: Db, userId: number, path: string, sign: 1 | -1, now: number): Promise<void> {
    await adjustSubtreeBlobRefs(q, userId, path, sign, now);
  }

  /**
   * Up to `limit` entries strictly inside the subtree at `path`, in path order after `after`
   * (ascending: every directory before what it holds) or before `before` (descending: what a
   * directory holds before the directory). A walk through a huge subtree a slice at a time.
   */
  subtreeSlice(q: Db, userId: number, path: string, from: { after: string } | { before: string }, limit: number): Promise<FileRow[]> {
    const { low, high } = subtreeBounds(path);
    // One bound on each side, the tighter one: given `path > low AND path > after`, the planner
    // seeks to `low` and steps over every entry before `after`, so each slice would cost more
    // than the one before it. Paths compare byte-wise in both databases, so here too.
    const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    const lower = 'after' in from && byteOrder(from.after, low) > 0 ? from.after : low;
    const upper = 'before' in from && byteOrder(from.before, high) < 0 ? from.before : high;
    return q
      .selectFrom('files')
      .selectAll()
      .where('user_id', '=', userId)
      .where('path', '>', lower)
      .where('path', '<', upper)
      .orderBy('path', 'after' in from ? 'asc' : 'desc')
      .limit(limit)
      .execute();
  }

  async deleteByIds(q: Db, ids: readonly number[]): Promise<void> {
    for (const part of statementSlices(ids)) await q.deleteFrom('files').where('id', 'in', part).execute();
  }

  byId(q: Db, userId: number, id: number): Promise<FileRow | undefined> {
    return q.selectFrom('files').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  }

  async deleteSubtree(q: Db, userId: number, path: string): Promise<void> {
    const { low, high } = subtreeBounds(path);
    await q
      .deleteFrom('files')
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('path', '=', path), eb.and([eb('path', '>', low), eb('path', '<', high)])]))
      .execute();
  }

  /** Moves/renames one entry and rewrites the paths and depths of all its descendants. */
  async relocate(q: Db, userId: number, row: { id: number; path: string; depth: number }, to: DirRef, name: string, now: number): Promise<void> {
    await this.reparent(
      q,
      userId,
      row,
      { parentId: to.id, path: childPath(to.path, name), depth: to.depth + 1 },
      { name, name_key: nameSortKey(name), mtime: now },
    );
  }

  /**
   * Puts an entry and its subtree in the recycle bin: the entry's parent becomes -id and its path
   * `~<id>`, so its name and every path below it are free at once. Blob references and space are
   * untouched (the bin's content stays charged until purged). Two statements, as a move.
   */
  async moveToBin(q: Db, userId: number, row: { id: number; path: string; depth: number }, size: number, now: number): Promise<void> {
    await this.reparent(q, userId, row, { parentId: -row.id, path: binPath(row.id), depth: 1 }, { trashed_at: now, trash_origin: row.path, trash_size: size });
  }

  /** Takes a bin entry out of the bin into `to` as `name` (its subtree follows); mtimes are kept. */
  async restoreFromBin(q: Db, userId: number, row: { id: number; path: string; depth: number }, to: DirRef, name: string): Promise<void> {
    await this.reparent(
      q,
      userId,
      row,
      { parentId: to.id, path: childPath(to.path, name), depth: to.depth + 1 },
      { name, name_key: nameSortKey(name), trashed_at: 0, trash_origin: '', trash_size: 0 },
    );
    await this.dropBinCounts(q, userId, row.id);
  }

  /** The dir_stats row the move triggers keep for a bin entry's pseudo-parent (-id): gone with the entry. */
  async dropBinCounts(q: Db, userId: number, topId: number): Promise<void> {
    await q.deleteFrom('dir_stats').where('user_id', '=', userId).where('dir_id', '=', -topId).execute();
  }

  private async reparent(
    q: Db,
    userId: number,
    row: { id: number; path: string; depth: number },
    to: { parentId: number; path: string; depth: number },
    set: Partial<{ name: string; name_key: string; mtime: number; trashed_at: number; trash_origin: string; trash_size: number }>,
  ): Promise<void> {
    const { low, high } = subtreeBounds(row.path);
    await q
      .updateTable('files')
      .set({ ...set, parent_id: to.parentId, path: to.path, depth: to.depth })
      .where('id', '=', row.id)
      .execute();
    await sql`
      UPDATE files SET
        path = ${to.path} || substr(path, length(${row.path}) + 1),
        depth = depth + ${to.depth - row.depth}
      WHERE user_id = ${userId} AND path > ${low} AND path < ${high}`.execute(q);
  }

  /** A top entry of the user's recycle bin by its uuid. */
  binEntry(q: Db, userId: number, uuid: string): Promise<FileRowWithParent | undefined> {
    return q
      .selectFrom('files as f')
      .selectAll('f')
      .select(sql<string>`''`.as('parent_uuid'))
      .where('f.uuid', '=', uuid)
      .where('f.user_id', '=', userId)
      .where('f.parent_id', '<', 0)
      .executeTakeFirst();
  }

  /** The top entries of the user's recycle bin, the most recently removed first. */
  binEntries(q: Db, userId: number, opts: { offset: number; limit: number }): Promise<FileRowWithParent[]> {
    return q
      .selectFrom('files as f')
      .selectAll('f')
      .select(sql<string>`''`.as('parent_uuid'))
      .where('f.user_id', '=', userId)
      .where('f.parent_id', '<', 0)
      .orderBy('f.trashed_at', 'desc')
      .orderBy('f.id', 'desc')
      .limit(opts.limit)
      .offset(opts.offset)
      .execute();
  }

  /** How many entries the user's bin holds at its top, and the bytes of the files in it. */
  async binTotals(q: Db, userId: number): Promise<{ entries: number; bytes: number }> {
    const row = await q
      .selectFrom('files')
      .select([sql<number>`count(*)`.as('entries'), sql<number>`coalesce(sum(trash_size), 0)`.as('bytes')])
      .where('user_id', '=', userId)
      .where('parent_id', '<', 0)
      .executeTakeFirstOrThrow();
    return { entries: Number(row.entries), bytes: Number(row.bytes) };
  }

  /** Bin entries (of any user) removed at or before `before`, the oldest first. */
  expiredBinEntries(q: Db, before: number, limit: number): Promise<Array<{ id: number; user_id: number; uuid: string }>> {
    return q
      .selectFrom('files')
      .select(['id', 'user_id', 'uuid'])
      .where('trashed_at', '>', 0)
      .where('trashed_at', '<=', before)
      .orderBy('trashed_at')
      .limit(limit)
      .execute();
  }

  /**
   * Copies the descendants of `fromPath` under `toPath` (whose own row already exists), one
   * statement per depth level so each level finds its freshly copied parents by path. The copy
   * belongs to `toUserId` (another user, when a share is saved to a drive).
   */
  async copyDescendants(
    q: Db,
    userId: number,
    from: { path: string; depth: number },
    to: { path: string; depth: number },
    maxDepth: number,
    now: number,
    toUserId: number = userId,
  ): Promise<void> {
    const { low, high } = subtreeBounds(from.path);
    const fromPath = from.path;
    const toPath = to.path;
    for (let depth = from.depth + 1; depth <= maxDepth; depth++) {
      await sql`
        INSERT INTO files (uuid, user_id, parent_id, path, name, name_key, ext, type, size, store_id, mime, depth, ctime, mtime, atime, version, locking)
        SELECT ${randomUuidSql(q)}, CAST(${toUserId} AS integer),
          (SELECT np.id FROM files np WHERE np.user_id = ${toUserId}
             AND np.path = ${toPath} || substr(f.path, length(${fromPath}) + 1, length(f.path) - length(f.name) - 1 - length(${fromPath}))),
          ${toPath} || substr(f.path, length(${fromPath}) + 1),
          f.name, f.name_key, f.ext, f.type, f.size, f.store_id, f.mime, f.depth + CAST(${to.depth - from.depth} AS integer),
          CAST(${now} AS bigint), CAST(${now} AS bigint), CAST(${now} AS bigint), 0, 0
        FROM files f
        WHERE f.user_id = ${userId} AND f.path > ${low} AND f.path < ${high} AND f.depth = ${depth}`.execute(q);
    }
  }

  /**
   * Live entries of the user whose name contains `text` (any case), newest first, and how many
   * there are up to `countCap` (+1 when there are more); db/name-search.ts picks the index.
   */
  async searchByName(
    q: Db,
    userId: number,
    opts: { text: string; kind: KindFilter | null; offset: number; limit: number; countCap: number },
  ): Promise<{ rows: FileRowWithParent[]; count: number }> {
    const kind = opts.kind
      ? sql`AND f.type = ${FILE} AND (lower(f.ext) IN (${sql.join(opts.kind.exts)})${opts.kind.mimePrefix ? sql` OR f.mime LIKE ${`${opts.kind.mimePrefix}%`}` : sql``})`
      : sql``;
    const also = sql<boolean>`f.path < ${BIN_PATH_PREFIX} ${kind}`;
    const plan = await nameSearchSql(q, { userId, text: opts.text, also, pageEnd: opts.offset + opts.limit, countEnd: opts.countCap + 1 });
    if (plan === null) return { rows: [], count: 0 };
    const { page, count } = plan;
    const rows = await sql<FileRowWithParent>`
      SELECT f.*, (SELECT p.uuid FROM files p WHERE p.id = f.parent_id) AS parent_uuid
      FROM ${page.from} WHERE ${page.where} AND ${also} ORDER BY ${page.order} LIMIT ${opts.limit} OFFSET ${opts.offset}`.execute(q);
    const counted = await sql<{ n: number }>`
      SELECT count(*) AS n FROM (SELECT 1 FROM ${count.from} WHERE ${count.where} AND ${also} LIMIT ${opts.countCap + 1}) AS matches`.execute(q);
    return { rows: rows.rows, count: Number(counted.rows[0]?.n ?? 0) };
  }

  /** Charges `bytes` to the user's drive if they fit (users.repo.ts owns the table). */
  addSpace(q: Db, userId: number, bytes: number): Promise<boolean> {
    return chargeSpace(q, userId, bytes);
  }

  releaseSpace(q: Db, userId: number, bytes: number): Promise<void> {
    return releaseSpace(q, userId, bytes);
  }

  /** Entries the user has (files and directories), as the triggers on `files` count them. */
  async entryCount(q: Db, userId: number): Promise<number> {
    const row = await q.selectFrom('users').select('entry_count').where('id', '=', userId).executeTakeFirst();
    return Number(row?.entry_count ?? 0);
  }

  async freeSpace(q: Db, userId: number): Promise<number> {
    const row = await q.selectFrom('users').select(['space_used', 'space_capacity']).where('id', '=', userId).executeTakeFirstOrThrow();
    return Number(row.space_capacity) - Number(row.space_used);
  }

  async space(q: Db, userId: number): Promise<{ used: number; capacity: number }> {
    const row = await q.selectFrom('users').select(['space_used', 'space_capacity']).where('id', '=', userId).executeTakeFirstOrThrow();
    return { used: Number(row.space_used), capacity: Number(row.space_capacity) };
  }

  async blobSize(q: Db, etag: string): Promise<number | null> {
    const row = await q.selectFrom('blobs').select('size').where('id', '=', etag).executeTakeFirst();
    return row ? Number(row.size) : null;
  }

  /** One more file uses this content (store/blobs.repo.ts owns the table). */
  addBlobRef(q: Db, etag: string, size: number, now: number): Promise<void> {
    return addBlobRef(q, etag, size, now);
  }

  /** addBlobRef for many blobs: `refs` more references to each (etag → count). */
  addBlobRefs(q: Db, refs: ReadonlyMap<string, { size: number; count: number }>, now: number): Promise<void> {
    return addBlobRefs(q, refs, now);
  }

  /** dropBlobRef for many blobs: `count` fewer references to each (etag → count). */
  dropBlobRefs(q: Db, counts: ReadonlyMap<string, number>, now: number): Promise<void> {
    return dropBlobRefs(q, counts, now);
  }

  dropBlobRef(q: Db, etag: string, now: number): Promise<void> {
    return dropBlobRef(q, etag, now);
  }
}

// ---- repairs of the whole table (fsck) ------------------------------------------------------

/** Passes of rebuildPaths: one per level of the deepest tree, with room to spare. */
const MAX_DEPTH_PASSES = 300;

/** Deletes one entry (fsck drops the entries of content that is missing or damaged). */
export async function deleteFileEntry(q: Db, id: number): Promise<void> {
  await q.deleteFrom('files').where('id', '=', id).execute();
}

/** Every file entry of content `etag` gets the content's real size. */
export async function setContentSize(q: Db, etag: string, size: number): Promise<void> {
  await q.updateTable('files').set({ size }).where('type', '=', 0).where('store_id', '=', etag).execute();
}

/** Recomputes every entry's path and depth from its parent, top-down. */
export async function rebuildPaths(q: Db): Promise<void> {
  await sql`UPDATE files SET path = '/' || name, depth = 1 WHERE parent_id = 0 AND (path <> '/' || name OR depth <> 1)`.execute(q);
  await sql`UPDATE files SET path = ${BIN_PATH_PREFIX} || id, depth = 1 WHERE parent_id < 0 AND parent_id = -id AND (path <> ${BIN_PATH_PREFIX} || id OR depth <> 1)`.execute(
    q,
  );
  // Top-down: each pass fixes the entries whose parent is right; their children follow.
  for (let pass = 0; pass < MAX_DEPTH_PASSES; pass++) {
    const r = await sql`
      UPDATE files SET path = p.path || '/' || files.name, depth = p.depth + 1
      FROM files AS p
      WHERE p.id = files.parent_id AND p.user_id = files.user_id AND p.type = 1
        AND (files.path <> p.path || '/' || files.name OR files.depth <> p.depth + 1)`.execute(q);
    if (Number(r.numAffectedRows ?? 0n) === 0) break;
  }
}

/** Recomputes the per-directory counts (dir_stats) from the tree. */
export async function rebuildDirStats(q: Db): Promise<void> {
  await sql`DELETE FROM dir_stats`.execute(q);
  await sql`
    INSERT INTO dir_stats (user_id, dir_id, dirs, files)
    SELECT user_id, parent_id, sum(CASE WHEN type = 1 THEN 1 ELSE 0 END), sum(CASE WHEN type = 0 THEN 1 ELSE 0 END) FROM files GROUP BY user_id, parent_id`.execute(
    q,
  );
}
