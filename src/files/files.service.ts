// Over 400 lines, whole on purpose for now: every method is one transaction over the tree's
// invariants (paths, depths, space, blob references), and the trash, share and WebDAV work under
// way adds to this service; it is split (queries / tree changes / file creation) once those
// have merged, so their changes land in one place.
import { randomUUID } from 'node:crypto';
import mime from 'mime-types';
import type { Db } from '../db/database.js';
import { isUniqueViolation } from '../db/database.js';
import { GroupCommit } from '../db/group-commit.js';
import { AppError, isAppError } from '../errors.js';
import { DIRECTORY, FILE, ROOT_DIR, fileObject, rootObject, type DirRef, type FileObject, type FileRowWithParent } from './file-object.js';
import type { FilesRepo, SortField } from './files.repo.js';
import { copySubtreeInSlices, removeSubtreeInSlices, SLICE_ENTRIES } from './subtree-chunks.js';
import { kindFilter, searchText } from './search.js';
import { MAX_DEPTH, TORRENT_FOLDER, assertName, extOf, isTorrentAlias, numberedName, pathSegments } from '../names/file-names.js';

/** How a client names an entry: by uuid or by path. */
export interface EntryRef {
  uuid?: string;
  path?: string;
}

/** How a client names a directory; `:torrent` is accepted in either field. */
export interface DirSelector {
  uuid?: string;
  path?: string;
}

export type ConflictPolicy = 'error' | 'overwrite' | 'rename';

export interface CreateFileInput {
  dir: DirRef;
  name: string;
  etag: string;
  size: number;
  /** What to do when the name is taken by a different entry. */
  onConflict: ConflictPolicy;
  /** The media type the uploader gave (already checked); none: from the name's extension. */
  mime?: string;
  /**
   * Whether a same-named file with the same content counts as this one (default true: a second
   * upload of a file is the first). False for an entry the caller will own and may delete later
   * (an offline task's file): it never takes over the user's own entry.
   */
  reuseIdentical?: boolean;
  /**
   * Runs in the transaction that creates the entry (not when an identical one is reused): the
   * caller's record of the entry commits with it or not at all.
   */
  onCreated?: (q: Db, file: FileObject) => Promise<void>;
}

/** A file of a createFiles batch: a new name never replaces anything. */
export type BatchFileInput = Omit<CreateFileInput, 'onConflict' | 'onCreated'> & { onConflict: 'error' | 'rename' };

/** What createFiles did for inputs[index]: the entry's uuid and name; `created` false when an identical file was reused. */
export interface CreatedFile {
  index: number;
  uuid: string;
  name: string;
  created: boolean;
}

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

const MAX_PAGE_SIZE = 999;
/** OPENPAN_RECYCLE_DAYS's default (config/schema.ts). */
const DEFAULT_RECYCLE_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Bin entries purged per transaction by the hourly purge. */
const PURGE_BATCH = 100;

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

export function newUuid(): string {
  return randomUUID().replace(/-/g, '');
}

export function mimeOf(name: string): string {
  return mime.lookup(name) || 'application/octet-stream';
}

function dirRef(row: FileRowWithParent): DirRef {
  return { id: row.id, uuid: row.uuid, path: row.path, depth: row.depth };
}

/** The system folder `/:torrent` itself (not a folder of another case a user made before it was reserved). */
function isTorrentFolder(row: { parent_id: number; name: string; type: number }): boolean {
  return row.parent_id === ROOT_DIR.id && row.type === DIRECTORY && row.name === TORRENT_FOLDER;
}

function notADirectory(row: { path: string }): AppError {
  return new AppError('NOT_A_DIRECTORY', `"${row.path}" is a file, not a directory.`);
}

/** A listing's order: `orderBy` (see parseOrder) and, when given, a direction that overrides its own. */
export interface ListingOrder {
  orderBy?: string;
  order?: 'asc' | 'desc';
}

function torrentFolderFixed(what: 'renamed' | 'moved' | 'removed'): AppError {
  return new AppError('BAD_REQUEST', `The torrent folder "/${TORRENT_FOLDER}" cannot be ${what}: offline downloads keep their torrents there.`);
}

/** Parses `name`, `size desc`, `mtime:asc`, `-ctime`; directories always come first. */
export function parseOrder(orderBy: string | undefined): { sort: SortField; desc: boolean } {
  if (!orderBy) return { sort: 'name', desc: false };
  const m = /^\s*(-)?\s*(name|size|ctime|mtime)(?:\s*[\s,:]\s*(asc|desc))?\s*$/i.exec(orderBy);
  if (!m) throw new AppError('BAD_REQUEST', 'Field "orderBy" must be name, size, ctime or mtime, optionally followed by asc or desc.');
  return { sort: m[2].toLowerCase() as SortField, desc: m[1] === '-' || m[3]?.toLowerCase() === 'desc' };
}

/**
 * The per-user file tree: lookups, listing, directories, rename/move/copy/remove, and the
 * creation of file entries for content already in the store. Space accounting and blob
 * reference counts change in the same transaction as the tree.
 */
/** A copy of a large directory, made empty in the copy's transaction and filled in slices after it. */
interface SlicedCopy {
  source: FileRowWithParent;
  copy: FileRowWithParent;
}

export interface FilesServiceOptions {
  /** Entries (files and directories) one user may have; 0: no limit. */
  maxEntries?: number;
  /** Days an entry stays in the recycle bin; 0: no bin, removals are final. */
  recycleDays?: number;
}

export class FilesService {
  /** Days an entry stays in the recycle bin; 0: removed entries skip the bin. */
  readonly recycleDays: number;

  private readonly writes: GroupCommit;

  constructor(
    private readonly db: Db,
    private readonly repo: FilesRepo,
    private readonly options: FilesServiceOptions = {},
  ) {
    this.recycleDays = options.recycleDays ?? DEFAULT_RECYCLE_DAYS;
    this.writes = new GroupCommit(db);
  }

  /**
   * ENTRIES_EXCEEDED unless the user may have `count` more entries. In the transaction that
   * makes them: transactions run one at a time, so the check and the insert cannot interleave.
   */
  async #assertEntryRoom(q: Db, userId: number, count: number): Promise<void> {
    const max = this.options.maxEntries ?? 0;
    if (max <= 0 || count <= 0) return;
    const have = await this.repo.entryCount(q, userId);
    if (have + count > max) {
      throw new AppError('ENTRIES_EXCEEDED', `A drive holds at most ${max} files and folders; this one has ${have}, and this needs ${count} more.`);
    }
  }

  /** Whether `count` more entries fit under the limit (a batch that does not fit goes one by one, to stop at the first that does not). */
  async #hasEntryRoom(q: Db, userId: number, count: number): Promise<boolean> {
    const max = this.options.maxEntries ?? 0;
    return max <= 0 || (await this.repo.entryCount(q, userId)) + count <= max;
  }

  // ---- lookups ------------------------------------------------------------------------------

  async get(userId: number, ref: EntryRef): Promise<FileObject> {
    const row = await this.findEntry(this.db, userId, ref);
    return row ? fileObject(row) : rootObject(userId);
  }

  /** The entry a ref names; null means the root. Throws FILE_NOT_FOUND for anything unknown. */
  private async findEntry(q: Db, userId: number, ref: EntryRef, field = 'path'): Promise<FileRowWithParent | null> {
    if (ref.uuid !== undefined && ref.uuid !== '') {
      if (isTorrentAlias(ref.uuid)) return this.torrentFolderRow(q, userId);
      const row = /^[0-9a-f]{32}$/.test(ref.uuid) ? await this.repo.byUuid(q, userId, ref.uuid) : undefined;
      if (!row) throw new AppError('FILE_NOT_FOUND', `No file or directory with uuid "${ref.uuid}".`);
      return row;
    }
    const segments = pathSegments(ref.path ?? '/', field);
    if (segments.length === 0) return null;
    if (segments.length === 1 && segments[0] === TORRENT_FOLDER) return this.torrentFolderRow(q, userId);
    const path = '/' + segments.join('/');
    const row = await this.repo.byPath(q, userId, path);
    if (!row) throw new AppError('FILE_NOT_FOUND', `No file or directory at "${path}".`);
    return row;
  }

  /** The `:torrent` folder, created on first use. */
  private async torrentFolderRow(q: Db, userId: number): Promise<FileRowWithParent> {
    await this.repo.insertDirectoryIfAbsent(q, { uuid: newUuid(), userId, parent: ROOT_DIR, name: TORRENT_FOLDER, now: Date.now() });
    const row = await this.repo.byPath(q, userId, `/${TORRENT_FOLDER}`);
    if (!row || row.type !== DIRECTORY) throw new AppError('NOT_A_DIRECTORY', `"/${TORRENT_FOLDER}" is not a directory.`);
    return row;
  }

  /** Resolves an existing directory; `missing` decides the code when it does not exist. */
  async resolveDir(userId: number, sel: DirSelector, missing: 'FILE_NOT_FOUND' | 'PARENT_NOT_FOUND' = 'FILE_NOT_FOUND', q: Db = this.db): Promise<DirRef> {
    let row: FileRowWithParent | null;
    try {
      row = await this.findEntry(q, userId, sel);
    } catch (err) {
      if (err instanceof AppError && err.code === 'FILE_NOT_FOUND' && missing !== 'FILE_NOT_FOUND') {
        throw new AppError(missing, err.message.replace('No file or directory', 'No directory'), { cause: err });
      }
      throw err;
    }
    if (!row) return ROOT_DIR;
    if (row.type !== DIRECTORY) throw notADirectory(row);
    return dirRef(row);
  }

  /**
   * A destination named in several fields (move and copy take `parent` and `destPath`): each
   * must name an existing directory, and all the same one.
   */
  private async resolveDestination(q: Db, userId: number, selectors: readonly DirSelector[]): Promise<DirRef> {
    if (selectors.length === 0) throw new AppError('BAD_REQUEST', 'Name the destination directory.');
    const dirs: DirRef[] = [];
    for (const sel of selectors) dirs.push(await this.resolveDir(userId, sel, 'PARENT_NOT_FOUND', q));
    if (dirs.some((d) => d.id !== dirs[0].id)) {
      throw new AppError(
        'BAD_REQUEST',
        `The destination is named twice, as "${dirs[0].path}" and as "${dirs.find((d) => d.id !== dirs[0].id)!.path}": name it once.`,
      );
    }
    return dirs[0];
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
    const row = await this.findEntry(this.db, userId, sel);
    if (row && row.type !== DIRECTORY) throw notADirectory(row);
    const dir = row ? dirRef(row) : ROOT_DIR;
    const { list, totalCount } = await this.window(userId, dir, (page - 1) * pageSize, pageSize, opts);
    return { list, page, pageSize, totalCount, totalPage: Math.ceil(totalCount / pageSize), info: row ? fileObject(row) : rootObject(userId) };
  }

  async list(userId: number, sel: DirSelector, opts: ListingOrder & { start?: number; size?: number; type?: number }): Promise<ListResult> {
    const start = Math.max(0, opts.start ?? 0);
    const size = Math.min(MAX_PAGE_SIZE, Math.max(1, opts.size ?? 100));
    const dir = await this.resolveDir(userId, sel);
    const { list, totalCount } = await this.window(userId, dir, start, size, opts);
    return { list, start, size, totalCount };
  }

  // ---- directories --------------------------------------------------------------------------

  /** Creates `segments` below `base` as needed (like mkdir -p) and returns the last one. */
  private async mkdirs(q: Db, userId: number, base: DirRef, segments: readonly string[]): Promise<DirRef> {
    let dir = base;
    if (base.depth + segments.length > MAX_DEPTH) throw new AppError('PATH_INVALID', `Directories cannot be nested deeper than ${MAX_DEPTH} levels.`);
    for (const name of segments) {
      // `:torrent` in any case at the root is the system folder, never a folder of its own.
      if (dir.id === ROOT_DIR.id && isTorrentAlias(name)) {
        dir = dirRef(await this.torrentFolderRow(q, userId));
        continue;
      }
      let row = await this.repo.byName(q, userId, dir.id, name);
      if (!row) {
        await this.#assertEntryRoom(q, userId, 1);
        await this.repo.insertDirectoryIfAbsent(q, { uuid: newUuid(), userId, parent: dir, name, now: Date.now() });
        row = await this.repo.byName(q, userId, dir.id, name);
      }
      if (!row) throw new AppError('INTERNAL_ERROR', `Directory "${name}" vanished while being created.`);
      if (row.type !== DIRECTORY) throw notADirectory(row);
      dir = dirRef(row);
    }
    return dir;
  }

  /** mkdir -p of a client path, `:torrent` allowed as the first segment. */
  private async mkdirPath(q: Db, userId: number, path: string): Promise<DirRef> {
    const segments = pathSegments(path);
    if (segments.length === 0) return ROOT_DIR;
    const torrentFirst = segments[0] === TORRENT_FOLDER;
    const base = torrentFirst ? dirRef(await this.torrentFolderRow(q, userId)) : ROOT_DIR;
    return this.mkdirs(q, userId, base, torrentFirst ? segments.slice(1) : segments);
  }

  async createDirectory(userId: number, input: { path?: string; parent?: string; name?: string }): Promise<FileObject> {
    return this.db.transaction().execute(async (trx) => {
      let dir: DirRef;
      if (input.name === undefined) {
        if (input.path === undefined) throw new AppError('BAD_REQUEST', 'Give "path", or "parent" and "name".');
        dir = await this.mkdirPath(trx, userId, input.path);
      } else {
        const name = assertName(input.name);
        const parent = await this.resolveDir(userId, input.parent !== undefined ? { uuid: input.parent } : { path: input.path }, 'PARENT_NOT_FOUND', trx);
        dir = await this.mkdirs(trx, userId, parent, [name]);
      }
      if (dir.id === 0) return rootObject(userId);
      return fileObject((await this.repo.byUuid(trx, userId, dir.uuid))!);
    });
  }

  /** Resolves a destination directory; a path is created when it does not exist yet. */
  async ensureDir(userId: number, sel: DirSelector): Promise<DirRef> {
    if (sel.uuid) return this.resolveDir(userId, sel, 'PARENT_NOT_FOUND');
    // Usually the directory exists: a plain read, no write transaction.
    const segments = pathSegments(sel.path ?? '/');
    if (segments.length === 0) return ROOT_DIR;
    const existing = await this.repo.byPath(this.db, userId, '/' + segments.join('/'));
    if (existing?.type === DIRECTORY) return dirRef(existing);
    return this.db.transaction().execute((trx) => this.mkdirPath(trx, userId, sel.path ?? '/'));
  }

  // ---- rename, move, copy, remove -----------------------------------------------------------

  async rename(userId: number, ref: EntryRef, newName: string): Promise<FileObject> {
    const name = assertName(newName);
    return this.db.transaction().execute(async (trx) => {
      const row = await this.findEntry(trx, userId, ref);
      if (!row) throw new AppError('BAD_REQUEST', 'The root directory cannot be renamed.');
      if (row.name !== name) {
        if (isTorrentFolder(row)) throw torrentFolderFixed('renamed');
        const parent = row.parent_id === 0 ? ROOT_DIR : dirRef(await this.parentRow(trx, userId, row));
        await this.assertFree(trx, userId, parent, name);
        await this.repo.relocate(trx, userId, row, parent, name, Date.now());
        if (row.type === FILE) await this.repo.setType(trx, row.id, { ext: extOf(name), mime: mimeOf(name) });
      }
      return fileObject((await this.repo.byUuid(trx, userId, row.uuid))!);
    });
  }

  private async parentRow(q: Db, userId: number, row: FileRowWithParent): Promise<FileRowWithParent> {
    const parent = await this.repo.byUuid(q, userId, row.parent_uuid ?? '');
    if (!parent) throw new AppError('INTERNAL_ERROR', `The parent of "${row.path}" is missing.`);
    return parent;
  }

  /** The entry that takes `name` in `dir`: one of that name, or at the root the torrent folder for `:torrent` in any case. */
  private async clashOf(q: Db, userId: number, dir: DirRef, name: string): Promise<FileRowWithParent | undefined> {
    if (dir.id === ROOT_DIR.id && isTorrentAlias(name)) return this.torrentFolderRow(q, userId);
    return this.repo.byName(q, userId, dir.id, name);
  }

  private async assertFree(q: Db, userId: number, dir: DirRef, name: string): Promise<void> {
    const clash = await this.clashOf(q, userId, dir, name);
    if (clash) throw new AppError('FILE_ALREADY_EXISTS', `"${clash.path}" already exists.`);
  }

  private async entries(q: Db, userId: number, refs: { uuids?: string[]; paths?: string[] }): Promise<FileRowWithParent[]> {
    const list: EntryRef[] = [...(refs.uuids ?? []).map((uuid) => ({ uuid })), ...(refs.paths ?? []).map((path) => ({ path }))];
    if (list.length === 0) throw new AppError('BAD_REQUEST', 'Name at least one entry in "uuid" or "path".');
    const rows: FileRowWithParent[] = [];
    for (const ref of list) {
      const row = await this.findEntry(q, userId, ref);
      if (!row) throw new AppError('BAD_REQUEST', 'The root directory cannot be moved, copied or removed.');
      if (!rows.some((r) => r.id === row.id)) rows.push(row);
    }
    return rows;
  }

  /** Moves the entries into the directory every selector of `dest` names. */
  async move(userId: number, refs: { uuids?: string[]; paths?: string[] }, dest: readonly DirSelector[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const to = await this.resolveDestination(trx, userId, dest);
      for (const row of await this.entries(trx, userId, refs)) {
        if (isTorrentFolder(row)) throw torrentFolderFixed('moved');
        if (to.path === row.path || to.path.startsWith(row.path + '/')) {
          throw new AppError('MOVE_INTO_SELF', `"${row.path}" cannot be moved into itself or one of its subdirectories.`);
        }
        if (row.parent_id === to.id) continue;
        await this.assertFree(trx, userId, to, row.name);
        const stats = await this.repo.subtreeStats(trx, userId, row.path);
        if (stats.maxDepth - row.depth + to.depth + 1 > MAX_DEPTH)
          throw new AppError('PATH_INVALID', `Moving "${row.path}" there would nest deeper than ${MAX_DEPTH} levels.`);
        await this.repo.relocate(trx, userId, row, to, row.name, Date.now());
      }
    });
  }

  /**
   * Copies the entries into the directory every selector of `dest` names. Everything is checked
   * first, in one transaction; a directory of more than SLICE_ENTRIES entries is then filled in
   * slices (subtree-chunks.ts), so other requests never wait for a whole huge copy.
   */
  async copy(userId: number, refs: { uuids?: string[]; paths?: string[] }, dest: readonly DirSelector[]): Promise<void> {
    const now = Date.now();
    const inSlices: SlicedCopy[] = [];
    await this.db.transaction().execute(async (trx) => {
      const to = await this.resolveDestination(trx, userId, dest);
      for (const row of await this.entries(trx, userId, refs)) {
        const made = await this.#copyInto(trx, userId, row, to, row.name, now, false);
        if (made.sliced) inSlices.push(made.sliced);
      }
    });
    for (const sliced of inSlices) await this.#fillInSlices(userId, sliced, now);
  }

  /**
   * Moves one entry into `dest` under `newName` (WebDAV's MOVE: a move and a rename at once).
   * The name must be free there.
   */
  async moveAs(userId: number, ref: EntryRef, dest: DirSelector, newName: string): Promise<FileObject> {
    const name = assertName(newName);
    return this.db.transaction().execute(async (trx) => {
      const row = await this.findEntry(trx, userId, ref);
      if (!row) throw new AppError('BAD_REQUEST', 'The root directory cannot be moved.');
      if (isTorrentFolder(row)) throw torrentFolderFixed('moved');
      const to = await this.resolveDir(userId, dest, 'PARENT_NOT_FOUND', trx);
      if (to.path === row.path || to.path.startsWith(row.path + '/')) {
        throw new AppError('MOVE_INTO_SELF', `"${row.path}" cannot be moved into itself or one of its subdirectories.`);
      }
      if (row.parent_id !== to.id || row.name !== name) {
        const clash = await this.clashOf(trx, userId, to, name);
        if (clash && clash.id !== row.id) throw new AppError('FILE_ALREADY_EXISTS', `"${clash.path}" already exists.`);
        const stats = await this.repo.subtreeStats(trx, userId, row.path);
        if (stats.maxDepth - row.depth + to.depth + 1 > MAX_DEPTH)
          throw new AppError('PATH_INVALID', `Moving "${row.path}" there would nest deeper than ${MAX_DEPTH} levels.`);
        await this.repo.relocate(trx, userId, row, to, name, Date.now());
        if (row.type === FILE && row.name !== name)
          await trx
            .updateTable('files')
            .set({ ext: extOf(name), mime: mimeOf(name) })
            .where('id', '=', row.id)
            .execute();
      }
      return fileObject((await this.repo.byUuid(trx, userId, row.uuid))!);
    });
  }

  /**
   * Copies one entry into `dest` under `newName` (WebDAV's COPY); `shallow` copies a directory
   * without what it holds (Depth: 0). The name must be free there.
   */
  async copyAs(userId: number, ref: EntryRef, dest: DirSelector, newName: string, shallow = false): Promise<FileObject> {
    const name = assertName(newName);
    const now = Date.now();
    const made = await this.db.transaction().execute(async (trx) => {
      const row = await this.findEntry(trx, userId, ref);
      if (!row) throw new AppError('BAD_REQUEST', 'The root directory cannot be copied.');
      const to = await this.resolveDir(userId, dest, 'PARENT_NOT_FOUND', trx);
      return this.#copyInto(trx, userId, row, to, name, now, shallow);
    });
    if (made.sliced) await this.#fillInSlices(userId, made.sliced, now);
    return made.file;
  }

  /**
   * Copies another user's entries (and what they contain) into `toUserId`'s directory `dest`,
   * as files/copy does: no bytes are copied, the content gains references, and the space is
   * charged to `toUserId`. A name already taken there gets a number. All or nothing; answers
   * the copies' names.
   */
  async copyFromUser(fromUserId: number, uuids: readonly string[], toUserId: number, dest: DirSelector): Promise<string[]> {
    const to = await this.ensureDir(toUserId, dest);
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      const names: string[] = [];
      for (const uuid of uuids) {
        const row = await this.repo.byUuid(trx, fromUserId, uuid);
        if (!row) throw new AppError('FILE_NOT_FOUND', `No file or directory with uuid "${uuid}".`);
        let name = row.name;
        for (let n = 1; await this.clashOf(trx, toUserId, to, name); n++) name = numberedName(row.name, n);
        await this.#copyInto(trx, toUserId, row, to, name, now, false, fromUserId);
        names.push(name);
      }
      return names;
    });
  }

  /**
   * Copies one entry (with what it holds, unless `shallow`) into `to` as `name`. A directory of
   * more than SLICE_ENTRIES entries is only created here, empty: `sliced` says what the caller
   * fills in slices after the transaction (#fillInSlices).
   */
  async #copyInto(
    trx: Db,
    userId: number,
    row: FileRowWithParent,
    to: DirRef,
    name: string,
    now: number,
    shallow: boolean,
    fromUserId = userId,
  ): Promise<{ file: FileObject; sliced?: SlicedCopy }> {
    if (fromUserId === userId && !shallow && (to.path === row.path || to.path.startsWith(row.path + '/'))) {
      throw new AppError('MOVE_INTO_SELF', `"${row.path}" cannot be copied into itself or one of its subdirectories.`);
    }
    await this.assertFree(trx, userId, to, name);
    const stats = shallow
      ? { files: 0, bytes: row.type === FILE ? Number(row.size) : 0, maxDepth: row.depth, entries: 1 }
      : await this.repo.subtreeStats(trx, fromUserId, row.path);
    if (stats.maxDepth - row.depth + to.depth + 1 > MAX_DEPTH)
      throw new AppError('PATH_INVALID', `Copying "${row.path}" there would nest deeper than ${MAX_DEPTH} levels.`);
    await this.#assertEntryRoom(trx, userId, stats.entries);
    // Between users (a share saved to a drive) a copy is one transaction: slices walk one tree.
    const sliced = fromUserId === userId && !shallow && row.type === DIRECTORY && stats.entries > SLICE_ENTRIES;
    // A sliced copy charges each slice as it is made; it starts only when all of it fits now.
    const fits = sliced ? (await this.repo.freeSpace(trx, userId)) >= stats.bytes : await this.repo.addSpace(trx, userId, stats.bytes);
    if (!fits) throw new AppError('SPACE_EXCEEDED', `Not enough space to copy "${row.path}" (${stats.bytes} bytes).`);
    const uuid = newUuid();
    await this.repo.insert(trx, {
      uuid,
      userId,
      parent: to,
      name,
      ext: row.type === FILE ? extOf(name) : row.ext,
      type: row.type,
      size: Number(row.size),
      storeId: row.store_id,
      mime: row.type === FILE && name !== row.name ? mimeOf(name) : row.mime,
      now,
    });
    const copyRow = (await this.repo.byUuid(trx, userId, uuid))!;
    if (sliced) return { file: fileObject(copyRow), sliced: { source: row, copy: copyRow } };
    if (row.type === DIRECTORY && !shallow) await this.repo.copyDescendants(trx, fromUserId, row, copyRow, stats.maxDepth, now, userId);
    await this.repo.adjustSubtreeRefs(trx, userId, copyRow.path, 1, now);
    return { file: fileObject(copyRow) };
  }

  /** Fills a copy #copyInto left empty, slice by slice; on failure removes what was made of it. */
  async #fillInSlices(userId: number, { source, copy }: SlicedCopy, now: number): Promise<void> {
    const checks = { assertEntryRoom: (q: Db, id: number, count: number) => this.#assertEntryRoom(q, id, count), newUuid };
    try {
      await copySubtreeInSlices(this.db, this.repo, checks, userId, source, copy, now);
    } catch (err) {
      // All or nothing, as for a small copy: what was made of this copy goes again.
      await removeSubtreeInSlices(this.db, this.repo, userId, copy.id, Date.now());
      throw err;
    }
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
      const rows = await this.entries(trx, userId, refs);
      if (rows.some(isTorrentFolder)) throw torrentFolderFixed('removed');
      // Removing a directory removes what is inside it: skip entries already covered.
      const tops = rows.filter((r) => !rows.some((o) => o !== r && r.path.startsWith(o.path + '/')));
      for (const row of tops) {
        const stats = await this.repo.subtreeStats(trx, userId, row.path);
        if (!permanent) await this.repo.moveToBin(trx, userId, row, stats.bytes, now);
        else if (row.type === DIRECTORY && stats.entries > SLICE_ENTRIES) inSlices.push(row.id);
        else await this.#removeSubtree(trx, userId, row, now);
      }
    });
    for (const id of inSlices) await removeSubtreeInSlices(this.db, this.repo, userId, id, now);
  }

  // ---- search ------------------------------------------------------------------------------

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

  // ---- the recycle bin ----------------------------------------------------------------------

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
        const dir = await this.mkdirPath(trx, userId, '/' + segments.slice(0, -1).join('/'));
        let name = row.name;
        for (let n = 1; await this.clashOf(trx, userId, dir, name); n++) name = numberedName(row.name, n);
        const stats = await this.repo.subtreeStats(trx, userId, row.path);
        if (stats.maxDepth - row.depth + dir.depth + 1 > MAX_DEPTH)
          throw new AppError('PATH_INVALID', `Restoring "${row.trash_origin}" would nest deeper than ${MAX_DEPTH} levels.`);
        await this.repo.restoreFromBin(trx, userId, row, dir, name);
        if (row.type === FILE && name !== row.name)
          await trx
            .updateTable('files')
            .set({ ext: extOf(name), mime: mimeOf(name) })
            .where('id', '=', row.id)
            .execute();
        restored.push(fileObject((await this.repo.byUuid(trx, userId, row.uuid))!));
      }
      return restored;
    });
  }

  /** Deletes bin entries for good: their space is freed, their content once nothing else uses it. */
  async purge(userId: number, uuids: readonly string[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      for (const row of await this.binRows(trx, userId, uuids)) await this.#purgeBinEntry(trx, userId, row, now);
    });
  }

  /** Empties the user's recycle bin; returns how many entries it held. */
  async clearBin(userId: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      let count = 0;
      for (;;) {
        const rows = await this.repo.binEntries(trx, userId, { offset: 0, limit: PURGE_BATCH });
        for (const row of rows) await this.#purgeBinEntry(trx, userId, row, now);
        count += rows.length;
        if (rows.length < PURGE_BATCH) return count;
      }
    });
  }

  /** Purges every bin entry older than the bin keeps them (the hourly collection runs it); returns how many. */
  async purgeExpired(now: number = Date.now()): Promise<number> {
    if (this.recycleDays === 0) return 0;
    const cutoff = now - this.recycleDays * DAY_MS;
    let count = 0;
    for (;;) {
      const expired = await this.repo.expiredBinEntries(this.db, cutoff, PURGE_BATCH);
      await this.db.transaction().execute(async (trx) => {
        for (const { user_id, uuid } of expired) {
          // Read again in the transaction: a restore (and a new removal) may have come meanwhile.
          const row = await this.repo.binEntry(trx, user_id, uuid);
          if (row && Number(row.trashed_at) <= cutoff) await this.#purgeBinEntry(trx, user_id, row, now);
        }
      });
      count += expired.length;
      if (expired.length < PURGE_BATCH) return count;
    }
  }

  async #purgeBinEntry(trx: Db, userId: number, row: { id: number; path: string }, now: number): Promise<void> {
    await this.#removeSubtree(trx, userId, row, now);
    await this.repo.dropBinCounts(trx, userId, row.id);
  }

  /**
   * Removes a directory only if no file is left anywhere under it (a folder an offline task
   * created, once its files are deleted): true when removed.
   */
  async removeIfNoFiles(userId: number, uuid: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const row = await this.repo.byUuid(trx, userId, uuid);
      if (!row || row.type !== DIRECTORY || (await this.repo.subtreeStats(trx, userId, row.path)).files > 0) return false;
      await this.#removeSubtree(trx, userId, row, Date.now());
      return true;
    });
  }

  async #removeSubtree(trx: Db, userId: number, row: { path: string }, now: number): Promise<void> {
    const stats = await this.repo.subtreeStats(trx, userId, row.path);
    await this.repo.adjustSubtreeRefs(trx, userId, row.path, -1, now);
    await this.repo.deleteSubtree(trx, userId, row.path);
    await this.repo.releaseSpace(trx, userId, stats.bytes);
  }

  // ---- file entries for stored content ------------------------------------------------------

  /** The size of stored content, or null when the system does not hold it. */
  knownContentSize(etag: string): Promise<number | null> {
    return this.repo.blobSize(this.db, etag);
  }

  /**
   * Creates a file entry for content already in the store: space is charged, the blob gains a
   * reference. A same-named file with the same content is returned as is (idempotent).
   */
  async createFile(userId: number, input: CreateFileInput): Promise<{ file: FileObject; created: boolean }> {
    const baseName = assertName(input.name);
    try {
      // Concurrent creations (instant uploads) share a commit: see db/group-commit.ts.
      return await this.writes.run((trx) => this.#createIn(trx, userId, input, baseName, Date.now(), new Set()));
    } catch (err) {
      // Two creations of one name racing (another process): the unique index decides.
      if (isUniqueViolation(err)) throw new AppError('FILE_ALREADY_EXISTS', `"${baseName}" already exists.`, { cause: err });
      throw err;
    }
  }

  /**
   * createFile for many files of one user in one transaction (an import of thousands of files).
   * The first file refused (a name taken with `onConflict: 'error'`, a directory gone, no space
   * left) ends the batch: the files before it are created and committed, and its error is
   * returned with them. Nothing is overwritten, so a refusal never leaves a half-made change.
   * `onCreated` runs in the transaction with the entries it made. When every directory exists,
   * no name is taken and the space holds them all — an import into its own folder — the entries
   * are written a few hundred per statement; otherwise one by one, as createFile would.
   */
  async createFiles(
    userId: number,
    inputs: readonly BatchFileInput[],
    onCreated?: (q: Db, created: readonly CreatedFile[]) => Promise<void>,
  ): Promise<{ created: CreatedFile[]; error: AppError | null }> {
    const names = inputs.map((input) => assertName(input.name));
    try {
      return await this.db.transaction().execute(async (trx) => {
        const now = Date.now();
        let created = await this.#createAllAtOnce(trx, userId, inputs, names, now);
        let error: AppError | null = null;
        if (created === null) {
          created = [];
          const dirsSeen = new Set<string>();
          for (let i = 0; i < inputs.length && error === null; i++) {
            try {
              const made = await this.#createIn(trx, userId, { ...inputs[i], onCreated: undefined }, names[i], now, dirsSeen);
              created.push({ index: i, uuid: made.file.uuid, name: made.file.name, created: made.created });
            } catch (err) {
              if (!isAppError(err)) throw err;
              error = err;
            }
          }
        }
        const made = created.filter((c) => c.created);
        if (made.length > 0) await onCreated?.(trx, made);
        return { created, error };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('FILE_ALREADY_EXISTS', 'A file of this import was created meanwhile by another request.', { cause: err });
      throw err;
    }
  }

  /** The batch written in a few statements, or null (nothing written) when it needs createFile's care for some file. */
  async #createAllAtOnce(trx: Db, userId: number, inputs: readonly BatchFileInput[], names: readonly string[], now: number): Promise<CreatedFile[] | null> {
    const byDir = new Map<string, { dir: DirRef; names: string[] }>();
    for (const [i, input] of inputs.entries()) {
      if (input.dir.id === ROOT_DIR.id && isTorrentAlias(names[i])) return null;
      const group = byDir.get(input.dir.uuid) ?? { dir: input.dir, names: [] };
      group.names.push(names[i]);
      byDir.set(input.dir.uuid, group);
    }
    for (const { dir, names: wanted } of byDir.values()) {
      if (new Set(wanted).size !== wanted.length) return null;
      if (dir.id !== ROOT_DIR.id && !(await this.repo.byUuid(trx, userId, dir.uuid))) return null;
      if ((await this.repo.takenNames(trx, userId, dir.id, wanted)).size > 0) return null;
    }
    if (!(await this.#hasEntryRoom(trx, userId, inputs.length))) return null;
    const total = inputs.reduce((sum, input) => sum + input.size, 0);
    if (!(await this.repo.addSpace(trx, userId, total))) return null;
    const refs = new Map<string, { size: number; count: number }>();
    for (const input of inputs) {
      const ref = refs.get(input.etag) ?? { size: input.size, count: 0 };
      ref.count++;
      refs.set(input.etag, ref);
    }
    await this.repo.addBlobRefs(trx, refs, now);
    const entries = inputs.map((input, i) => ({
      uuid: newUuid(),
      userId,
      parent: input.dir,
      name: names[i],
      ext: extOf(names[i]),
      type: FILE,
      size: input.size,
      storeId: input.etag,
      mime: input.mime ?? mimeOf(names[i]),
      now,
    }));
    await this.repo.insertMany(trx, entries);
    return entries.map((e, index) => ({ index, uuid: e.uuid, name: e.name, created: true }));
  }

  /** One entry for stored content, in `trx`. `dirsSeen`: directories already found to exist in it. */
  async #createIn(
    trx: Db,
    userId: number,
    input: CreateFileInput,
    baseName: string,
    now: number,
    dirsSeen: Set<string>,
  ): Promise<{ file: FileObject; created: boolean }> {
    if (input.dir.id !== 0 && !dirsSeen.has(input.dir.uuid)) {
      if (!(await this.repo.byUuid(trx, userId, input.dir.uuid))) {
        throw new AppError('PARENT_NOT_FOUND', `The directory "${input.dir.path}" no longer exists.`);
      }
      dirsSeen.add(input.dir.uuid);
    }
    let name = baseName;
    let replaced: FileRowWithParent | undefined;
    for (let n = 1; ; n++) {
      const clash = await this.clashOf(trx, userId, input.dir, name);
      if (!clash) break;
      if (clash.type === FILE && clash.store_id === input.etag && input.reuseIdentical !== false) return { file: fileObject(clash), created: false };
      if (input.onConflict === 'rename') {
        name = numberedName(baseName, n);
        continue;
      }
      if (input.onConflict === 'overwrite' && clash.type === FILE) {
        replaced = clash;
        break;
      }
      throw new AppError('FILE_ALREADY_EXISTS', `"${clash.path}" already exists.`);
    }
    if (!replaced) await this.#assertEntryRoom(trx, userId, 1);
    if (replaced) {
      await this.repo.dropBlobRef(trx, replaced.store_id, now);
      await this.repo.releaseSpace(trx, userId, Number(replaced.size));
    }
    if (!(await this.repo.addSpace(trx, userId, input.size))) {
      throw new AppError('SPACE_EXCEEDED', `Not enough space left for "${name}" (${input.size} bytes).`);
    }
    await this.repo.addBlobRef(trx, input.etag, input.size, now);
    const mime = input.mime ?? mimeOf(name);
    // An overwritten file keeps its uuid, so a client holding it finds the new content; its version counts the changes.
    const uuid = replaced?.uuid ?? newUuid();
    let file: FileObject;
    if (replaced) {
      await this.repo.replaceContent(trx, replaced.id, { storeId: input.etag, size: input.size, mime, now });
      file = fileObject((await this.repo.byUuid(trx, userId, uuid))!);
    } else {
      file = await this.repo.insert(trx, {
        uuid,
        userId,
        parent: input.dir,
        name,
        ext: extOf(name),
        type: FILE,
        size: input.size,
        storeId: input.etag,
        mime,
        now,
      });
    }
    await input.onCreated?.(trx, file);
    return { file, created: true };
  }

  /** The user's space: bytes used and bytes they may use in all. */
  space(userId: number): Promise<{ used: number; capacity: number }> {
    return this.repo.space(this.db, userId);
  }

  // ---- archives ----------------------------------------------------------------------------

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

  /** Free space of the user, in bytes. */
  freeSpace(userId: number): Promise<number> {
    return this.repo.freeSpace(this.db, userId);
  }

  /** Whether the user's file `uuid` still holds content `etag` (a download address is good only while it does). */
  fileHolds(userId: number, uuid: string, etag: string): Promise<boolean> {
    return this.repo.fileHolds(this.db, userId, uuid, etag);
  }

  /** A file (not directory) entry for downloading. */
  async fileForDownload(userId: number, ref: EntryRef): Promise<FileObject> {
    const row = await this.findEntry(this.db, userId, ref);
    if (!row || row.type !== FILE) throw new AppError('IS_A_DIRECTORY', 'Only files can be downloaded, not directories.');
    return fileObject(row);
  }
}
