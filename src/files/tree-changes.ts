// Changes to the tree: new directories, rename, move and copy (within a drive, and from another
// user's drive for shares). A copy of a large directory is filled in slices after its transaction.
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { DIRECTORY, FILE, ROOT_DIR, fileObject, rootObject, type DirRef, type FileObject, type FileRowWithParent } from './file-object.js';
import type { FilesRepo } from './files.repo.js';
import { copySubtreeInSlices, removeSubtreeInSlices, SLICE_ENTRIES } from './subtree-chunks.js';
import { type DirSelector, type EntryRef, type FileTree, dirRef, isTorrentFolder, mimeOf, newUuid, torrentFolderFixed } from './tree.js';
import { MAX_DEPTH, assertName, extOf, numberedName } from '../names/file-names.js';

/** A copy of a large directory, made empty in the copy's transaction and filled in slices after it. */
interface SlicedCopy {
  source: FileRowWithParent;
  copy: FileRowWithParent;
}

/** Creates, renames, moves and copies entries; space and blob references change with the tree. */
export class TreeChanges {
  private readonly db: Db;
  private readonly repo: FilesRepo;

  constructor(private readonly tree: FileTree) {
    this.db = tree.db;
    this.repo = tree.repo;
  }

  async createDirectory(userId: number, input: { path?: string; parent?: string; name?: string }): Promise<FileObject> {
    return this.db.transaction().execute(async (trx) => {
      let dir: DirRef;
      if (input.name === undefined) {
        if (input.path === undefined) throw new AppError('BAD_REQUEST', 'Give "path", or "parent" and "name".');
        dir = await this.tree.mkdirPath(trx, userId, input.path);
      } else {
        const name = assertName(input.name);
        const parent = await this.tree.resolveDir(userId, input.parent !== undefined ? { uuid: input.parent } : { path: input.path }, 'PARENT_NOT_FOUND', trx);
        dir = await this.tree.mkdirs(trx, userId, parent, [name]);
      }
      if (dir.id === 0) return rootObject(userId);
      return fileObject((await this.repo.byUuid(trx, userId, dir.uuid))!);
    });
  }

  async rename(userId: number, ref: EntryRef, newName: string): Promise<FileObject> {
    const name = assertName(newName);
    return this.db.transaction().execute(async (trx) => {
      const row = await this.tree.findEntry(trx, userId, ref);
      if (!row) throw new AppError('BAD_REQUEST', 'The root directory cannot be renamed.');
      if (row.name !== name) {
        if (isTorrentFolder(row)) throw torrentFolderFixed('renamed');
        const parent = row.parent_id === 0 ? ROOT_DIR : dirRef(await this.tree.parentRow(trx, userId, row));
        await this.tree.assertFree(trx, userId, parent, name);
        await this.repo.relocate(trx, userId, row, parent, name, Date.now());
        if (row.type === FILE) await this.repo.setType(trx, row.id, { ext: extOf(name), mime: mimeOf(name) });
      }
      return fileObject((await this.repo.byUuid(trx, userId, row.uuid))!);
    });
  }

  /** Moves the entries into the directory every selector of `dest` names. */
  async move(userId: number, refs: { uuids?: string[]; paths?: string[] }, dest: readonly DirSelector[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const to = await this.tree.resolveDestination(trx, userId, dest);
      for (const row of await this.tree.entries(trx, userId, refs)) {
        if (isTorrentFolder(row)) throw torrentFolderFixed('moved');
        if (to.path === row.path || to.path.startsWith(row.path + '/')) {
          throw new AppError('MOVE_INTO_SELF', `"${row.path}" cannot be moved into itself or one of its subdirectories.`);
        }
        if (row.parent_id === to.id) continue;
        await this.tree.assertFree(trx, userId, to, row.name);
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
      const to = await this.tree.resolveDestination(trx, userId, dest);
      for (const row of await this.tree.entries(trx, userId, refs)) {
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
      const row = await this.tree.findEntry(trx, userId, ref);
      if (!row) throw new AppError('BAD_REQUEST', 'The root directory cannot be moved.');
      if (isTorrentFolder(row)) throw torrentFolderFixed('moved');
      const to = await this.tree.resolveDir(userId, dest, 'PARENT_NOT_FOUND', trx);
      if (to.path === row.path || to.path.startsWith(row.path + '/')) {
        throw new AppError('MOVE_INTO_SELF', `"${row.path}" cannot be moved into itself or one of its subdirectories.`);
      }
      if (row.parent_id !== to.id || row.name !== name) {
        const clash = await this.tree.clashOf(trx, userId, to, name);
        if (clash && clash.id !== row.id) throw new AppError('FILE_ALREADY_EXISTS', `"${clash.path}" already exists.`);
        const stats = await this.repo.subtreeStats(trx, userId, row.path);
        if (stats.maxDepth - row.depth + to.depth + 1 > MAX_DEPTH)
          throw new AppError('PATH_INVALID', `Moving "${row.path}" there would nest deeper than ${MAX_DEPTH} levels.`);
        await this.repo.relocate(trx, userId, row, to, name, Date.now());
        if (row.type === FILE && row.name !== name) await this.repo.setType(trx, row.id, { ext: extOf(name), mime: mimeOf(name) });
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
      const row = await this.tree.findEntry(trx, userId, ref);
      if (!row) throw new AppError('BAD_REQUEST', 'The root directory cannot be copied.');
      const to = await this.tree.resolveDir(userId, dest, 'PARENT_NOT_FOUND', trx);
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
    const to = await this.tree.ensureDir(toUserId, dest);
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      const names: string[] = [];
      for (const uuid of uuids) {
        const row = await this.repo.byUuid(trx, fromUserId, uuid);
        if (!row) throw new AppError('FILE_NOT_FOUND', `No file or directory with uuid "${uuid}".`);
        let name = row.name;
        for (let n = 1; await this.tree.clashOf(trx, toUserId, to, name); n++) name = numberedName(row.name, n);
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
    await this.tree.assertFree(trx, userId, to, name);
    const stats = shallow
      ? { files: 0, bytes: row.type === FILE ? Number(row.size) : 0, maxDepth: row.depth, entries: 1 }
      : await this.repo.subtreeStats(trx, fromUserId, row.path);
    if (stats.maxDepth - row.depth + to.depth + 1 > MAX_DEPTH)
      throw new AppError('PATH_INVALID', `Copying "${row.path}" there would nest deeper than ${MAX_DEPTH} levels.`);
    await this.tree.assertEntryRoom(trx, userId, stats.entries);
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
    const checks = { assertEntryRoom: (q: Db, id: number, count: number) => this.tree.assertEntryRoom(q, id, count), newUuid };
    try {
      await copySubtreeInSlices(this.db, this.repo, checks, userId, source, copy, now);
    } catch (err) {
      // All or nothing, as for a small copy: what was made of this copy goes again.
      await removeSubtreeInSlices(this.db, this.repo, userId, copy.id, Date.now());
      throw err;
    }
  }
}
