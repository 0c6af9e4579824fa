// Reading the tree: a directory's children a page or a window at a time (directories first),
// search by name, and the entries of a selection for an archive.
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { DIRECTORY, FILE, ROOT_DIR, fileObject, rootObject, type DirRef, type FileObject, type FileRowWithParent } from './file-object.js';
import type { FilesRepo, SortField } from './files.repo.js';
import { kindFilter, searchText } from './search.js';
import { type DirSelector, type FileTree, dirRef, notADirectory } from './tree.js';
import { numberedName } from '../names/file-names.js';

/** One entry of an archive of a selection (files/zip, shares): its path inside the archive. */
export interface ArchiveItem {
  /** Relative: the selected entry's name, then the path below it (`Photos/2024/a.jpg`). */
  path: string;
  kind: 'file' | 'directory';
  size: number;
  /** The content's etag ("" for a directory). */
  etag: string;
  mtime: number;
}

export interface PageResult {
  list: FileObject[];
  page: number;
  pageSize: number;
  totalCount: number;
  totalPage: number;
  info: FileObject;
}

export interface ListResult {
  list: FileObject[];
  start: number;
  size: number;
  totalCount: number;
}

export const MAX_PAGE_SIZE = 999;

/** Search results counted at most (a broad query on a huge drive stays fast); totalCountCapped says when more matched. */
const SEARCH_COUNT_CAP = 1_000;

export interface SearchResult {
  list: FileObject[];
  page: number;
  pageSize: number;
  totalCount: number;
  totalPage: number;
  totalCountCapped: boolean;
}

/** A listing's order: `orderBy` (see parseOrder) and, when given, a direction that overrides its own. */
export interface ListingOrder {
  orderBy?: string;
  order?: 'asc' | 'desc';
}

/** Parses `name`, `size desc`, `mtime:asc`, `-ctime`; directories always come first. */
export function parseOrder(orderBy: string | undefined): { sort: SortField; desc: boolean } {
  if (!orderBy) return { sort: 'name', desc: false };
  const m = /^\s*(-)?\s*(name|size|ctime|mtime)(?:\s*[\s,:]\s*(asc|desc))?\s*$/i.exec(orderBy);
  if (!m) throw new AppError('BAD_REQUEST', 'Field "orderBy" must be name, size, ctime or mtime, optionally followed by asc or desc.');
  return { sort: m[2].toLowerCase() as SortField, desc: m[1] === '-' || m[3]?.toLowerCase() === 'desc' };
}

/** The per-user listings of the tree: pages, windows, search and archive selections. */
export class FileListing {
  private readonly db: Db;
  private readonly repo: FilesRepo;

  constructor(private readonly tree: FileTree) {
    this.db = tree.db;
    this.repo = tree.repo;
  }

  /**
   * One window of a directory's children, directories first: the directory part and the file
   * part are read separately, each along its own index, so deep pages cost no sort.
   */
  private async window(userId: number, dir: DirRef, offset: number, limit: number, opts: ListingOrder & { type?: number }) {
    const { type } = opts;
    const order = parseOrder(opts.orderBy);
    if (opts.order) order.desc = opts.order === 'desc';
    const counts = await this.repo.childCounts(this.db, userId, dir.id);
    const dirs = type === FILE ? 0 : counts.dirs;
    const files = type === DIRECTORY ? 0 : counts.files;
    const rows: FileRowWithParent[] = [];
    if (offset < dirs) {
      rows.push(...(await this.repo.childrenOfType(this.db, userId, dir, DIRECTORY, { offset, limit: Math.min(limit, dirs - offset), ...order })));
    }
    if (rows.length < limit && files > 0) {
      rows.push(...(await this.repo.childrenOfType(this.db, userId, dir, FILE, { offset: Math.max(0, offset - dirs), limit: limit - rows.length, ...order })));
    }
    return { list: rows.map(fileObject), totalCount: dirs + files };
  }

  async page(userId: number, sel: DirSelector, opts: ListingOrder & { page?: number; pageSize?: number; type?: number }): Promise<PageResult> {
    const page = Math.max(1, opts.page ?? 1);
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, opts.pageSize ?? 100));
    const row = await this.tree.findEntry(this.db, userId, sel);
    if (row && row.type !== DIRECTORY) throw notADirectory(row);
    const dir = row ? dirRef(row) : ROOT_DIR;
    const { list, totalCount } = await this.window(userId, dir, (page - 1) * pageSize, pageSize, opts);
    return { list, page, pageSize, totalCount, totalPage: Math.ceil(totalCount / pageSize), info: row ? fileObject(row) : rootObject(userId) };
  }

  async list(userId: number, sel: DirSelector, opts: ListingOrder & { start?: number; size?: number; type?: number }): Promise<ListResult> {
    const start = Math.max(0, opts.start ?? 0);
    const size = Math.min(MAX_PAGE_SIZE, Math.max(1, opts.size ?? 100));
    const dir = await this.tree.resolveDir(userId, sel);
    const { list, totalCount } = await this.window(userId, dir, start, size, opts);
    return { list, start, size, totalCount };
  }

  /**
   * Files and directories of the user whose name contains `query` (any case), newest first;
   * `type` keeps files of one kind (search.ts). Entries in the recycle bin are not found.
   */
  async search(userId: number, opts: { query?: string; type?: string; page?: number; pageSize?: number }): Promise<SearchResult> {
    const text = searchText(opts.query);
    const kind = kindFilter(opts.type);
    const page = Math.max(1, opts.page ?? 1);
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, opts.pageSize ?? 100));
    const { rows, count } = await this.repo.searchByName(this.db, userId, {
      text,
      kind,
      offset: (page - 1) * pageSize,
      limit: pageSize,
      countCap: SEARCH_COUNT_CAP,
    });
    const capped = count > SEARCH_COUNT_CAP;
    const totalCount = Math.min(count, SEARCH_COUNT_CAP);
    return { list: rows.map(fileObject), page, pageSize, totalCount, totalPage: Math.ceil(totalCount / pageSize), totalCountCapped: capped };
  }

  /**
   * The entries `uuids` name and everything under them, as they are now, for an archive: each
   * selected entry is a top-level name of the archive (numbered when two share a name); the
   * root ("") stands for its children. Entries that no longer exist are left out; `within`,
   * when given, keeps only entries at or below one of those paths (a share's folders).
   */
  async archiveItems(userId: number, uuids: readonly string[], within?: readonly string[]): Promise<ArchiveItem[]> {
    const tops: Array<{ path: string; name: string }> = [];
    for (const uuid of uuids) {
      if (uuid === '') {
        for (const row of await this.db
          .selectFrom('files')
          .select(['path', 'name'])
          .where('user_id', '=', userId)
          .where('parent_id', '=', 0)
          .orderBy('name')
          .execute())
          tops.push(row);
        continue;
      }
      const row = /^[0-9a-f]{32}$/.test(uuid) ? await this.repo.byUuid(this.db, userId, uuid) : undefined;
      if (row && (within === undefined || within.some((w) => row.path === w || row.path.startsWith(`${w}/`)))) tops.push(row);
    }
    const items: ArchiveItem[] = [];
    const taken = new Set<string>();
    const seen = new Set<string>();
    for (const top of tops) {
      // Named twice, or inside another selected folder: it is in the archive once.
      if (seen.has(top.path) || tops.some((o) => top.path.startsWith(`${o.path}/`))) continue;
      seen.add(top.path);
      let name = top.name;
      for (let n = 1; taken.has(name); n++) name = numberedName(top.name, n);
      taken.add(name);
      for (const row of await this.repo.subtreeRows(this.db, userId, top.path)) {
        items.push({
          path: name + row.path.slice(top.path.length),
          kind: row.type === DIRECTORY ? 'directory' : 'file',
          size: row.type === DIRECTORY ? 0 : Number(row.size),
          etag: row.type === DIRECTORY ? '' : row.store_id,
          mtime: Number(row.mtime),
        });
      }
    }
    return items;
  }
}
