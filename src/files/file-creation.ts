// File entries for content already in the store (uploads, instant uploads, offline imports):
// one at a time or a batch in one transaction; space is charged and the blob gains a reference
// in the transaction that makes the entry.
import type { Db } from '../db/database.js';
import { isUniqueViolation } from '../db/database.js';
import { GroupCommit } from '../db/group-commit.js';
import { AppError, isAppError } from '../errors.js';
import { FILE, ROOT_DIR, fileObject, type DirRef, type FileObject, type FileRowWithParent } from './file-object.js';
import type { FilesRepo } from './files.repo.js';
import { type FileTree, mimeOf, newUuid } from './tree.js';
import { assertName, extOf, isTorrentAlias, numberedName } from '../names/file-names.js';

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

/** Creates file entries for stored content. */
export class FileCreation {
  private readonly db: Db;
  private readonly repo: FilesRepo;
  /** Concurrent single creations (instant uploads) share a commit: see db/group-commit.ts. */
  private readonly writes: GroupCommit;

  constructor(private readonly tree: FileTree) {
    this.db = tree.db;
    this.repo = tree.repo;
    this.writes = new GroupCommit(tree.db);
  }

  /**
   * Creates a file entry for content already in the store: space is charged, the blob gains a
   * reference. A same-named file with the same content is returned as is (idempotent).
   */
  async createFile(userId: number, input: CreateFileInput): Promise<{ file: FileObject; created: boolean }> {
    const baseName = assertName(input.name);
    try {
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
    if (!(await this.tree.hasEntryRoom(trx, userId, inputs.length))) return null;
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
      const clash = await this.tree.clashOf(trx, userId, input.dir, name);
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
    if (!replaced) await this.tree.assertEntryRoom(trx, userId, 1);
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
      // The entry as written: no second query to read it back.
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
}
