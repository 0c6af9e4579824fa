// The tree's shared lookups and guards: naming entries, resolving and creating directories, the
// entry limit and the removal of a subtree. The parts of FilesService (listing, tree changes,
// the recycle bin, file creation) build on these; each runs in the caller's transaction `q`.
import { randomUUID } from 'node:crypto';
import mime from 'mime-types';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { DIRECTORY, FILE, ROOT_DIR, fileObject, rootObject, type DirRef, type FileObject, type FileRowWithParent } from './file-object.js';
import type { FilesRepo } from './files.repo.js';
import { MAX_DEPTH, TORRENT_FOLDER, isTorrentAlias, pathSegments } from '../names/file-names.js';

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

export function newUuid(): string {
  return randomUUID().replace(/-/g, '');
}

export function mimeOf(name: string): string {
  return mime.lookup(name) || 'application/octet-stream';
}

export function dirRef(row: FileRowWithParent): DirRef {
  return { id: row.id, uuid: row.uuid, path: row.path, depth: row.depth };
}

/** The system folder `/:torrent` itself (not a folder of another case a user made before it was reserved). */
export function isTorrentFolder(row: { parent_id: number; name: string; type: number }): boolean {
  return row.parent_id === ROOT_DIR.id && row.type === DIRECTORY && row.name === TORRENT_FOLDER;
}

export function notADirectory(row: { path: string }): AppError {
  return new AppError('NOT_A_DIRECTORY', `"${row.path}" is a file, not a directory.`);
}

export function torrentFolderFixed(what: 'renamed' | 'moved' | 'removed'): AppError {
  return new AppError('BAD_REQUEST', `The torrent folder "/${TORRENT_FOLDER}" cannot be ${what}: offline downloads keep their torrents there.`);
}

export interface FilesServiceOptions {
  /** Entries (files and directories) one user may have; 0: no limit. */
  maxEntries?: number;
  /** Days an entry stays in the recycle bin; 0: no bin, removals are final. */
  recycleDays?: number;
}

/** What every part of the files service shares: the database, the repository and the tree's guards. */
export class FileTree {
  constructor(
    readonly db: Db,
    readonly repo: FilesRepo,
    private readonly options: FilesServiceOptions = {},
  ) {}

  /**
   * ENTRIES_EXCEEDED unless the user may have `count` more entries. In the transaction that
   * makes them: transactions run one at a time, so the check and the insert cannot interleave.
   */
  async assertEntryRoom(q: Db, userId: number, count: number): Promise<void> {
    const max = this.options.maxEntries ?? 0;
    if (max <= 0 || count <= 0) return;
    const have = await this.repo.entryCount(q, userId);
    if (have + count > max) {
      throw new AppError('ENTRIES_EXCEEDED', `A drive holds at most ${max} files and folders; this one has ${have}, and this needs ${count} more.`);
    }
  }

  /** Whether `count` more entries fit under the limit (a batch that does not fit goes one by one, to stop at the first that does not). */
  async hasEntryRoom(q: Db, userId: number, count: number): Promise<boolean> {
    const max = this.options.maxEntries ?? 0;
    return max <= 0 || (await this.repo.entryCount(q, userId)) + count <= max;
  }

  async get(userId: number, ref: EntryRef): Promise<FileObject> {
    const row = await this.findEntry(this.db, userId, ref);
    return row ? fileObject(row) : rootObject(userId);
  }

  /** The entry a ref names; null means the root. Throws FILE_NOT_FOUND for anything unknown. */
  async findEntry(q: Db, userId: number, ref: EntryRef, field = 'path'): Promise<FileRowWithParent | null> {
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
  async torrentFolderRow(q: Db, userId: number): Promise<FileRowWithParent> {
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
  async resolveDestination(q: Db, userId: number, selectors: readonly DirSelector[]): Promise<DirRef> {
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

  /** Creates `segments` below `base` as needed (like mkdir -p) and returns the last one. */
  async mkdirs(q: Db, userId: number, base: DirRef, segments: readonly string[]): Promise<DirRef> {
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
        await this.assertEntryRoom(q, userId, 1);
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
  async mkdirPath(q: Db, userId: number, path: string): Promise<DirRef> {
    const segments = pathSegments(path);
    if (segments.length === 0) return ROOT_DIR;
    const torrentFirst = segments[0] === TORRENT_FOLDER;
    const base = torrentFirst ? dirRef(await this.torrentFolderRow(q, userId)) : ROOT_DIR;
    return this.mkdirs(q, userId, base, torrentFirst ? segments.slice(1) : segments);
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

  async parentRow(q: Db, userId: number, row: FileRowWithParent): Promise<FileRowWithParent> {
    const parent = await this.repo.byUuid(q, userId, row.parent_uuid ?? '');
    if (!parent) throw new AppError('INTERNAL_ERROR', `The parent of "${row.path}" is missing.`);
    return parent;
  }

  /** The entry that takes `name` in `dir`: one of that name, or at the root the torrent folder for `:torrent` in any case. */
  async clashOf(q: Db, userId: number, dir: DirRef, name: string): Promise<FileRowWithParent | undefined> {
    if (dir.id === ROOT_DIR.id && isTorrentAlias(name)) return this.torrentFolderRow(q, userId);
    return this.repo.byName(q, userId, dir.id, name);
  }

  async assertFree(q: Db, userId: number, dir: DirRef, name: string): Promise<void> {
    const clash = await this.clashOf(q, userId, dir, name);
    if (clash) throw new AppError('FILE_ALREADY_EXISTS', `"${clash.path}" already exists.`);
  }

  async entries(q: Db, userId: number, refs: { uuids?: string[]; paths?: string[] }): Promise<FileRowWithParent[]> {
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

  async removeSubtree(trx: Db, userId: number, row: { path: string }, now: number): Promise<void> {
    const stats = await this.repo.subtreeStats(trx, userId, row.path);
    await this.repo.adjustSubtreeRefs(trx, userId, row.path, -1, now);
    await this.repo.deleteSubtree(trx, userId, row.path);
    await this.repo.releaseSpace(trx, userId, stats.bytes);
  }

  /** A file (not directory) entry for downloading. */
  async fileForDownload(userId: number, ref: EntryRef): Promise<FileObject> {
    const row = await this.findEntry(this.db, userId, ref);
    if (!row || row.type !== FILE) throw new AppError('IS_A_DIRECTORY', 'Only files can be downloaded, not directories.');
    return fileObject(row);
  }
}
