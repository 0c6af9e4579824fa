// Over 400 lines, whole on purpose for now: every method is one transaction over the tree's
// invariants (paths, depths, space, blob references), and the trash, share and WebDAV work under
// way adds to this service; it is split (queries / tree changes / file creation) once those
// have merged, so their changes land in one place.
import { randomUUID } from 'node:crypto';
import mime from 'mime-types';
import type { Db } from '../db/database.js';
import { isUniqueViolation } from '../db/database.js';
import { AppError, isAppError } from '../errors.js';
import { DIRECTORY, FILE, ROOT_DIR, fileObject, rootObject, type DirRef, type FileObject, type FileRowWithParent } from './file-object.js';
import type { FilesRepo, SortField } from './files.repo.js';
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
export class FilesService {
  constructor(
    private readonly db: Db,
    private readonly repo: FilesRepo,
  ) {}

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
      await this.repo.insertDirectoryIfAbsent(q, { uuid: newUuid(), userId, parent: dir, name, now: Date.now() });
      const row = await this.repo.byName(q, userId, dir.id, name);
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

  /** Copies the entries into the directory every selector of `dest` names. */
  async copy(userId: number, refs: { uuids?: string[]; paths?: string[] }, dest: readonly DirSelector[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const to = await this.resolveDestination(trx, userId, dest);
      const now = Date.now();
      for (const row of await this.entries(trx, userId, refs)) {
        if (to.path === row.path || to.path.startsWith(row.path + '/')) {
          throw new AppError('MOVE_INTO_SELF', `"${row.path}" cannot be copied into itself or one of its subdirectories.`);
        }
        await this.assertFree(trx, userId, to, row.name);
        const stats = await this.repo.subtreeStats(trx, userId, row.path);
        if (stats.maxDepth - row.depth + to.depth + 1 > MAX_DEPTH)
          throw new AppError('PATH_INVALID', `Copying "${row.path}" there would nest deeper than ${MAX_DEPTH} levels.`);
        if (!(await this.repo.addSpace(trx, userId, stats.bytes)))
          throw new AppError('SPACE_EXCEEDED', `Not enough space to copy "${row.path}" (${stats.bytes} bytes).`);
        const uuid = newUuid();
        await this.repo.insert(trx, {
          uuid,
          userId,
          parent: to,
          name: row.name,
          ext: row.ext,
          type: row.type,
          size: Number(row.size),
          storeId: row.store_id,
          mime: row.mime,
          now,
        });
        const copyRow = (await this.repo.byUuid(trx, userId, uuid))!;
        if (row.type === DIRECTORY) await this.repo.copyDescendants(trx, userId, row, copyRow, stats.maxDepth, now);
        await this.repo.adjustSubtreeRefs(trx, userId, copyRow.path, 1, now);
      }
    });
  }

  async remove(userId: number, refs: { uuids?: string[]; paths?: string[] }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      const rows = await this.entries(trx, userId, refs);
      if (rows.some(isTorrentFolder)) throw torrentFolderFixed('removed');
      // Removing a directory removes what is inside it: skip entries already covered.
      const tops = rows.filter((r) => !rows.some((o) => o !== r && r.path.startsWith(o.path + '/')));
      for (const row of tops) await this.#removeSubtree(trx, userId, row, now);
    });
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
      return await this.db.transaction().execute((trx) => this.#createIn(trx, userId, input, baseName, Date.now(), new Set()));
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
    if (replaced) await this.repo.replaceContent(trx, replaced.id, { storeId: input.etag, size: input.size, mime, now });
    else await this.repo.insert(trx, { uuid, userId, parent: input.dir, name, ext: extOf(name), type: FILE, size: input.size, storeId: input.etag, mime, now });
    const file = fileObject((await this.repo.byUuid(trx, userId, uuid))!);
    await input.onCreated?.(trx, file);
    return { file, created: true };
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
