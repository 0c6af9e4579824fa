// The per-user file tree behind one face. The work lives in its parts, each one job:
// tree.ts (lookups and guards shared by all), listing.ts, tree-changes.ts, recycle-bin.ts and
// file-creation.ts; this class wires them and keeps the API the routes and other modules use.
import type { Db } from '../db/database.js';
import type { AppError } from '../errors.js';
import type { DirRef, FileObject } from './file-object.js';
import { type BatchFileInput, type CreatedFile, type CreateFileInput, FileCreation } from './file-creation.js';
import type { FilesRepo } from './files.repo.js';
import { type ArchiveItem, FileListing, type ListingOrder, type ListResult, type PageResult, type SearchResult } from './listing.js';
import { type BinPage, RecycleBin } from './recycle-bin.js';
import { TreeChanges } from './tree-changes.js';
import { type DirSelector, type EntryRef, FileTree, type FilesServiceOptions } from './tree.js';

export type { BatchFileInput, ConflictPolicy, CreatedFile, CreateFileInput } from './file-creation.js';
export type { ArchiveItem, ListingOrder, ListResult, PageResult, SearchResult } from './listing.js';
export { parseOrder } from './listing.js';
export type { BinEntry, BinPage } from './recycle-bin.js';
export type { DirSelector, EntryRef, FilesServiceOptions } from './tree.js';
export { mimeOf, newUuid } from './tree.js';

/** OPENPAN_RECYCLE_DAYS's default (config/schema.ts). */
const DEFAULT_RECYCLE_DAYS = 30;

/**
 * The per-user file tree: lookups, listing, directories, rename/move/copy/remove, and the
 * creation of file entries for content already in the store. Space accounting and blob
 * reference counts change in the same transaction as the tree.
 */
export class FilesService {
  /** Days an entry stays in the recycle bin; 0: removed entries skip the bin. */
  readonly recycleDays: number;
  readonly #tree: FileTree;
  readonly #listing: FileListing;
  readonly #changes: TreeChanges;
  readonly #bin: RecycleBin;
  readonly #creation: FileCreation;

  constructor(
    private readonly db: Db,
    private readonly repo: FilesRepo,
    options: FilesServiceOptions = {},
  ) {
    this.recycleDays = options.recycleDays ?? DEFAULT_RECYCLE_DAYS;
    this.#tree = new FileTree(db, repo, options);
    this.#listing = new FileListing(this.#tree);
    this.#changes = new TreeChanges(this.#tree);
    this.#bin = new RecycleBin(this.#tree, this.recycleDays);
    this.#creation = new FileCreation(this.#tree);
  }

  // ---- lookups ------------------------------------------------------------------------------

  get(userId: number, ref: EntryRef): Promise<FileObject> {
    return this.#tree.get(userId, ref);
  }

  /** Resolves an existing directory; `missing` decides the code when it does not exist. */
  resolveDir(userId: number, sel: DirSelector, missing: 'FILE_NOT_FOUND' | 'PARENT_NOT_FOUND' = 'FILE_NOT_FOUND', q: Db = this.db): Promise<DirRef> {
    return this.#tree.resolveDir(userId, sel, missing, q);
  }

  /** A file (not directory) entry for downloading. */
  fileForDownload(userId: number, ref: EntryRef): Promise<FileObject> {
    return this.#tree.fileForDownload(userId, ref);
  }

  /** Whether the user's file `uuid` still holds content `etag` (a download address is good only while it does). */
  fileHolds(userId: number, uuid: string, etag: string): Promise<boolean> {
    return this.repo.fileHolds(this.db, userId, uuid, etag);
  }

  // ---- listings (listing.ts) ----------------------------------------------------------------

  page(userId: number, sel: DirSelector, opts: ListingOrder & { page?: number; pageSize?: number; type?: number }): Promise<PageResult> {
    return this.#listing.page(userId, sel, opts);
  }

  list(userId: number, sel: DirSelector, opts: ListingOrder & { start?: number; size?: number; type?: number }): Promise<ListResult> {
    return this.#listing.list(userId, sel, opts);
  }

  /** Entries whose name contains `query` (any case), newest first; the bin is not searched. */
  search(userId: number, opts: { query?: string; type?: string; page?: number; pageSize?: number }): Promise<SearchResult> {
    return this.#listing.search(userId, opts);
  }

  /** The entries `uuids` name and everything under them, as archive paths (files/zip, shares). */
  archiveItems(userId: number, uuids: readonly string[], within?: readonly string[]): Promise<ArchiveItem[]> {
    return this.#listing.archiveItems(userId, uuids, within);
  }

  // ---- directories, rename, move, copy (tree-changes.ts) ------------------------------------

  createDirectory(userId: number, input: { path?: string; parent?: string; name?: string }): Promise<FileObject> {
    return this.#changes.createDirectory(userId, input);
  }

  /** Resolves a destination directory; a path is created when it does not exist yet. */
  ensureDir(userId: number, sel: DirSelector): Promise<DirRef> {
    return this.#tree.ensureDir(userId, sel);
  }

  rename(userId: number, ref: EntryRef, newName: string): Promise<FileObject> {
    return this.#changes.rename(userId, ref, newName);
  }

  /** Moves the entries into the directory every selector of `dest` names. */
  move(userId: number, refs: { uuids?: string[]; paths?: string[] }, dest: readonly DirSelector[]): Promise<void> {
    return this.#changes.move(userId, refs, dest);
  }

  /** Copies the entries into the directory every selector of `dest` names. */
  copy(userId: number, refs: { uuids?: string[]; paths?: string[] }, dest: readonly DirSelector[]): Promise<void> {
    return this.#changes.copy(userId, refs, dest);
  }

  /** Moves one entry into `dest` under `newName` (WebDAV's MOVE). */
  moveAs(userId: number, ref: EntryRef, dest: DirSelector, newName: string): Promise<FileObject> {
    return this.#changes.moveAs(userId, ref, dest, newName);
  }

  /** Copies one entry into `dest` under `newName` (WebDAV's COPY); `shallow`: a directory without its contents. */
  copyAs(userId: number, ref: EntryRef, dest: DirSelector, newName: string, shallow = false): Promise<FileObject> {
    return this.#changes.copyAs(userId, ref, dest, newName, shallow);
  }

  /** Copies another user's entries into `toUserId`'s directory `dest` (a share saved to a drive). */
  copyFromUser(fromUserId: number, uuids: readonly string[], toUserId: number, dest: DirSelector): Promise<string[]> {
    return this.#changes.copyFromUser(fromUserId, uuids, toUserId, dest);
  }

  // ---- removal and the recycle bin (recycle-bin.ts) -----------------------------------------

  /** Removes entries: into the recycle bin, or for good with `permanent` or when there is no bin. */
  remove(userId: number, refs: { uuids?: string[]; paths?: string[] }, opts: { permanent?: boolean } = {}): Promise<void> {
    return this.#bin.remove(userId, refs, opts);
  }

  binPage(userId: number, opts: { page?: number; pageSize?: number }): Promise<BinPage> {
    return this.#bin.binPage(userId, opts);
  }

  /** Puts bin entries back where they were. All or nothing. */
  restore(userId: number, uuids: readonly string[]): Promise<FileObject[]> {
    return this.#bin.restore(userId, uuids);
  }

  /** Deletes bin entries for good. */
  purge(userId: number, uuids: readonly string[]): Promise<void> {
    return this.#bin.purge(userId, uuids);
  }

  /** Empties the user's recycle bin; returns how many entries it held. */
  clearBin(userId: number): Promise<number> {
    return this.#bin.clearBin(userId);
  }

  /** Purges every bin entry older than the bin keeps them; returns how many. */
  purgeExpired(now: number = Date.now()): Promise<number> {
    return this.#bin.purgeExpired(now);
  }

  /** Removes a directory only if no file is left anywhere under it: true when removed. */
  removeIfNoFiles(userId: number, uuid: string): Promise<boolean> {
    return this.#bin.removeIfNoFiles(userId, uuid);
  }

  // ---- file entries for stored content (file-creation.ts) -----------------------------------

  /** The size of stored content, or null when the system does not hold it. */
  knownContentSize(etag: string): Promise<number | null> {
    return this.repo.blobSize(this.db, etag);
  }

  /** Creates a file entry for content already in the store (idempotent for identical content). */
  createFile(userId: number, input: CreateFileInput): Promise<{ file: FileObject; created: boolean }> {
    return this.#creation.createFile(userId, input);
  }

  /** createFile for many files of one user in one transaction; the first refusal ends the batch. */
  createFiles(
    userId: number,
    inputs: readonly BatchFileInput[],
    onCreated?: (q: Db, created: readonly CreatedFile[]) => Promise<void>,
  ): Promise<{ created: CreatedFile[]; error: AppError | null }> {
    return this.#creation.createFiles(userId, inputs, onCreated);
  }

  // ---- space --------------------------------------------------------------------------------

  /** The user's space: bytes used and bytes they may use in all. */
  space(userId: number): Promise<{ used: number; capacity: number }> {
    return this.repo.space(this.db, userId);
  }

  /** Free space of the user, in bytes. */
  freeSpace(userId: number): Promise<number> {
    return this.repo.freeSpace(this.db, userId);
  }
}
