// Removal and the recycle bin: removed entries keep their space until restored or purged (by the
// user, or by the hourly purge once older than OPENPAN_RECYCLE_DAYS).
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { DIRECTORY, FILE, fileObject, type FileObject, type FileRowWithParent } from './file-object.js';
import type { FilesRepo } from './files.repo.js';
import { MAX_PAGE_SIZE } from './listing.js';
import { removeSubtreeInSlices, SLICE_ENTRIES } from './subtree-chunks.js';
import { type FileTree, isTorrentFolder, mimeOf, torrentFolderFixed } from './tree.js';
import { MAX_DEPTH, extOf, numberedName, pathSegments } from '../names/file-names.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Bin entries purged per transaction by the hourly purge. */
const PURGE_BATCH = 100;

/** An entry at the top of the recycle bin, as recycle/page lists it. */
export interface BinEntry {
  uuid: string;
  name: string;
  ext: string;
  mime: string;
  type: number;
  /** Bytes of the files it holds (its own size for a file): still charged to the user. */
  size: number;
  /** Where it was, and where a restore puts it back. */
  originalPath: string;
  /** When it was removed, and when the hourly purge deletes it for good (ms since the epoch). */
  trashedAt: number;
  expiresAt: number;
}

export interface BinPage {
  list: BinEntry[];
  page: number;
  pageSize: number;
  totalCount: number;
  totalPage: number;
  /** Bytes of every file in the bin: part of the user's space used until purged. */
  totalSize: number;
  /** Days an entry stays in the bin. */
  recycleDays: number;
}

/** Removes entries into the recycle bin (or for good), and lists, restores and purges the bin. */
export class RecycleBin {
  private readonly db: Db;
  private readonly repo: FilesRepo;

  constructor(
    private readonly tree: FileTree,
    /** Days an entry stays in the recycle bin; 0: removed entries skip the bin. */
    readonly recycleDays: number,
  ) {
    this.db = tree.db;
    this.repo = tree.repo;
  }

  /**
   * Removes entries: into the recycle bin (names free at once, space still charged), or for good
   * with `permanent` or when the server keeps no bin (OPENPAN_RECYCLE_DAYS=0). Checked in one
   * transaction; removed for good, a directory of more than SLICE_ENTRIES entries then goes in
   * slices (subtree-chunks.ts).
   */
  async remove(userId: number, refs: { uuids?: string[]; paths?: string[] }, opts: { permanent?: boolean } = {}): Promise<void> {
    const permanent = opts.permanent === true || this.recycleDays === 0;
    const now = Date.now();
    const inSlices: number[] = [];
    await this.db.transaction().execute(async (trx) => {
      const rows = await this.tree.entries(trx, userId, refs);
      if (rows.some(isTorrentFolder)) throw torrentFolderFixed('removed');
      // Removing a directory removes what is inside it: skip entries already covered.
      const tops = rows.filter((r) => !rows.some((o) => o !== r && r.path.startsWith(o.path + '/')));
      for (const row of tops) {
        const stats = await this.repo.subtreeStats(trx, userId, row.path);
        if (!permanent) await this.repo.moveToBin(trx, userId, row, stats.bytes, now);
        else if (row.type === DIRECTORY && stats.entries > SLICE_ENTRIES) inSlices.push(row.id);
        else await this.tree.removeSubtree(trx, userId, row, now);
      }
    });
    for (const id of inSlices) await removeSubtreeInSlices(this.db, this.repo, userId, id, now);
  }

  async binPage(userId: number, opts: { page?: number; pageSize?: number }): Promise<BinPage> {
    const page = Math.max(1, opts.page ?? 1);
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, opts.pageSize ?? 100));
    const totals = await this.repo.binTotals(this.db, userId);
    const rows = await this.repo.binEntries(this.db, userId, { offset: (page - 1) * pageSize, limit: pageSize });
    return {
      list: rows.map((row) => this.binEntry(row)),
      page,
      pageSize,
      totalCount: totals.entries,
      totalPage: Math.ceil(totals.entries / pageSize),
      totalSize: totals.bytes,
      recycleDays: this.recycleDays,
    };
  }

  private binEntry(row: FileRowWithParent): BinEntry {
    const trashedAt = Number(row.trashed_at);
    return {
      uuid: row.uuid,
      name: row.name,
      ext: row.ext,
      mime: row.mime,
      type: row.type,
      size: Number(row.trash_size),
      originalPath: row.trash_origin,
      trashedAt,
      expiresAt: trashedAt + this.recycleDays * DAY_MS,
    };
  }

  private async binRows(q: Db, userId: number, uuids: readonly string[]): Promise<FileRowWithParent[]> {
    if (uuids.length === 0) throw new AppError('BAD_REQUEST', 'Name at least one recycle bin entry in "uuid".');
    const rows: FileRowWithParent[] = [];
    for (const uuid of new Set(uuids)) {
      const row = /^[0-9a-f]{32}$/.test(uuid) ? await this.repo.binEntry(q, userId, uuid) : undefined;
      if (!row) throw new AppError('RECYCLE_ENTRY_NOT_FOUND', `No entry with uuid "${uuid}" in the recycle bin.`);
      rows.push(row);
    }
    return rows;
  }

  /**
   * Puts bin entries back where they were, re-creating missing parent directories; a name taken
   * there meanwhile gets a number ("a (1).txt"), as uploads with `rename` do. All or nothing.
   */
  async restore(userId: number, uuids: readonly string[]): Promise<FileObject[]> {
    return this.db.transaction().execute(async (trx) => {
      const restored: FileObject[] = [];
      for (const row of await this.binRows(trx, userId, uuids)) {
        const segments = pathSegments(row.trash_origin);
        const dir = await this.tree.mkdirPath(trx, userId, '/' + segments.slice(0, -1).join('/'));
        let name = row.name;
        for (let n = 1; await this.tree.clashOf(trx, userId, dir, name); n++) name = numberedName(row.name, n);
        const stats = await this.repo.subtreeStats(trx, userId, row.path);
        if (stats.maxDepth - row.depth + dir.depth + 1 > MAX_DEPTH)
          throw new AppError('PATH_INVALID', `Restoring "${row.trash_origin}" would nest deeper than ${MAX_DEPTH} levels.`);
        await this.repo.restoreFromBin(trx, userId, row, dir, name);
        if (row.type === FILE && name !== row.name) await this.repo.setType(trx, row.id, { ext: extOf(name), mime: mimeOf(name) });
        restored.push(fileObject((await this.repo.byUuid(trx, userId, row.uuid))!));
      }
      return restored;
    });
  }

  /** Deletes bin entries for good: their space is freed, their content once nothing else uses it. */
  async purge(userId: number, uuids: readonly string[]): Promise<void> {
    const now = Date.now();
    const large = await this.db.transaction().execute(async (trx) => {
      const deferred: number[] = [];
      for (const row of await this.binRows(trx, userId, uuids)) await this.#purgeBinEntry(trx, userId, row, now, deferred);
      return deferred;
    });
    await this.#purgeInSlices(userId, large, now);
  }

  /** Empties the user's recycle bin; returns how many entries it held. */
  async clearBin(userId: number): Promise<number> {
    const now = Date.now();
    const { count, large } = await this.db.transaction().execute(async (trx) => {
      const count = (await this.repo.binTotals(trx, userId)).entries;
      const deferred: number[] = [];
      let offset = 0;
      for (;;) {
        const rows = await this.repo.binEntries(trx, userId, { offset, limit: PURGE_BATCH });
        for (const row of rows) await this.#purgeBinEntry(trx, userId, row, now, deferred);
        // Large entries stay listed until their slices remove them: page past them.
        offset = deferred.length;
        if (rows.length < PURGE_BATCH) return { count, large: deferred };
      }
    });
    await this.#purgeInSlices(userId, large, now);
    return count;
  }

  /** Purges every bin entry older than the bin keeps them (the hourly collection runs it); returns how many. */
  async purgeExpired(now: number = Date.now()): Promise<number> {
    if (this.recycleDays === 0) return 0;
    const cutoff = now - this.recycleDays * DAY_MS;
    let count = 0;
    for (;;) {
      const expired = await this.repo.expiredBinEntries(this.db, cutoff, PURGE_BATCH);
      const large = await this.db.transaction().execute(async (trx) => {
        const deferred: { userId: number; id: number }[] = [];
        for (const { user_id, uuid } of expired) {
          // Read again in the transaction: a restore (and a new removal) may have come meanwhile.
          const row = await this.repo.binEntry(trx, user_id, uuid);
          if (!row || Number(row.trashed_at) > cutoff) continue;
          const ids: number[] = [];
          await this.#purgeBinEntry(trx, user_id, row, now, ids);
          for (const id of ids) deferred.push({ userId: user_id, id });
        }
        return deferred;
      });
      for (const entry of large) await this.#purgeInSlices(entry.userId, [entry.id], now);
      count += expired.length;
      if (expired.length < PURGE_BATCH) return count;
    }
  }

  /**
   * Purges a bin entry in `trx`, or, when it is a directory of more than SLICE_ENTRIES entries,
   * adds its id to `deferred` for #purgeInSlices once the transaction is over: one transaction
   * over 100,000 entries would hold every other request for seconds.
   */
  async #purgeBinEntry(trx: Db, userId: number, row: { id: number; type: number; path: string }, now: number, deferred: number[]): Promise<void> {
    if (row.type === DIRECTORY && (await this.repo.subtreeStats(trx, userId, row.path)).entries > SLICE_ENTRIES) {
      deferred.push(row.id);
      return;
    }
    await this.tree.removeSubtree(trx, userId, row, now);
    await this.repo.dropBinCounts(trx, userId, row.id);
  }

  /** Purges large bin entries slice by slice (subtree-chunks.ts); each slice frees its own space and references. */
  async #purgeInSlices(userId: number, ids: readonly number[], now: number): Promise<void> {
    for (const id of ids) {
      await removeSubtreeInSlices(this.db, this.repo, userId, id, now);
      await this.repo.dropBinCounts(this.db, userId, id);
    }
  }

  /**
   * Removes a directory only if no file is left anywhere under it (a folder an offline task
   * created, once its files are deleted): true when removed.
   */
  async removeIfNoFiles(userId: number, uuid: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const row = await this.repo.byUuid(trx, userId, uuid);
      if (!row || row.type !== DIRECTORY || (await this.repo.subtreeStats(trx, userId, row.path)).files > 0) return false;
      await this.tree.removeSubtree(trx, userId, row, Date.now());
      return true;
    });
  }
}
