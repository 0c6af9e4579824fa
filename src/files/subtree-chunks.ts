// Copies and removals of huge subtrees, a slice at a time. SQLite runs on the event loop and
// transactions run one at a time, so one statement over 100,000 rows would stall every other
// request of every user for as long as it takes. Here each slice is its own short transaction,
// and the event loop gets a turn between slices.
//
// What each slice does to the tree it also does to the space, the entry count and the content
// references, in the same transaction: after a crash between slices the drive is consistent —
// it holds a partial copy (as an interrupted `cp -r` leaves one) or what a removal had not yet
// reached — and nothing is charged or referenced that is not there.
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { childPath } from '../names/file-names.js';
import { DIRECTORY, FILE, type DirRef, type FileRow } from './file-object.js';
import type { FilesRepo, NewEntry } from './files.repo.js';

/** Directories of more entries than this are copied and removed in slices; no slice holds more. */
export const SLICE_ENTRIES = 250;
/** Smallest slice: below it the work per slice (reads, checks) outweighs the entries moved. */
const MIN_SLICE_ENTRIES = 16;
/**
 * How long one slice may hold the database. Each query of another request waits for at most
 * one slice, and a request makes a few queries (bench/subtree-ops.ts: at 500 entries a slice,
 * about 50 ms each, another user's /v1/user/info waited 50 ms at the median).
 */
const SLICE_BUDGET_MS = 8;

/**
 * Entries for the next slice, sized from the time the slices so far took: the cost of an entry
 * varies with the machine, the tree and the load, so a fixed count cannot hold a time budget.
 */
export class SliceSizer {
  #entries = 64;

  get entries(): number {
    return this.#entries;
  }

  /** Takes in how long a slice of `entries` entries held the database. */
  took(ms: number, entries: number): void {
    const fitting = (SLICE_BUDGET_MS * Math.max(1, entries)) / Math.max(ms, 0.1);
    // Halfway towards what fits: one slow slice (a checkpoint, a busy disk) does not swing it.
    const next = Math.round((this.#entries + fitting) / 2);
    this.#entries = Math.min(SLICE_ENTRIES, Math.max(MIN_SLICE_ENTRIES, next));
  }
}

/**
 * Runs `slice` in a transaction of its own until it says it is done, sized by a SliceSizer from
 * the time spent inside each transaction (not the time waiting for the connection, which grows
 * with the very requests the slicing makes room for).
 */
async function inSlices(db: Db, slice: (trx: Db, entries: number) => Promise<{ done: boolean; entries: number }>): Promise<void> {
  const sizer = new SliceSizer();
  for (;;) {
    let took = 0;
    const { done, entries } = await db.transaction().execute(async (trx) => {
      const started = performance.now();
      const result = await slice(trx, sizer.entries);
      took = performance.now() - started;
      return result;
    });
    if (done) return;
    sizer.took(took, entries);
    await yieldToOthers();
  }
}

/** Gives queued requests their turn between two slices. */
const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface SliceChecks {
  /** Throws (ENTRIES_EXCEEDED) unless the user may have `count` more entries. */
  assertEntryRoom(q: Db, userId: number, count: number): Promise<void>;
  newUuid(): string;
}

/**
 * Copies what is inside the directory `source` into the directory `copy` (already created,
 * empty), slice by slice in path order, so every directory is copied before what it holds.
 * Entries added to the source while the copy runs are copied when the walk has not passed them.
 * Throws FILE_NOT_FOUND when the copy's directory is moved or removed meanwhile, and
 * SPACE_EXCEEDED / ENTRIES_EXCEEDED when a slice no longer fits; the caller removes the partial copy.
 */
export async function copySubtreeInSlices(
  db: Db,
  repo: FilesRepo,
  checks: SliceChecks,
  userId: number,
  source: { id: number; path: string },
  copy: FileRow,
  now: number,
): Promise<void> {
  // Source directory id → the directory made for it: where the next slices put its entries.
  const copied = new Map<number, DirRef>();
  let after = source.path;
  await inSlices(db, async (trx, entries) => {
    const top = await repo.byId(trx, userId, copy.id);
    if (!top || top.path !== copy.path) throw new AppError('FILE_NOT_FOUND', `The copy "${copy.path}" was moved or removed while it was being made.`);
    const slice = await repo.subtreeSlice(trx, userId, source.path, { after }, entries);
    if (slice.length === 0) return { done: true, entries: 0 };
    after = slice[slice.length - 1].path;
    const files: NewEntry[] = [];
    let bytes = 0;
    const refs = new Map<string, { size: number; count: number }>();
    for (const row of slice) {
      if (row.type !== FILE) continue;
      bytes += Number(row.size);
      const ref = refs.get(row.store_id) ?? { size: Number(row.size), count: 0 };
      ref.count++;
      refs.set(row.store_id, ref);
    }
    await checks.assertEntryRoom(trx, userId, slice.length);
    if (!(await repo.addSpace(trx, userId, bytes))) {
      throw new AppError('SPACE_EXCEEDED', `Not enough space left to copy "${copy.name}".`);
    }
    for (const row of slice) {
      const parent = row.parent_id === source.id ? dirRefOf(copy) : copied.get(row.parent_id);
      // A directory made in the source after the walk passed it: what it holds is not copied.
      if (!parent) {
        if (row.type === FILE) await repo.releaseSpace(trx, userId, Number(row.size));
        const ref = refs.get(row.store_id);
        if (ref && row.type === FILE) ref.count--;
        continue;
      }
      const entry: NewEntry = {
        uuid: checks.newUuid(),
        userId,
        parent,
        name: row.name,
        ext: row.ext,
        type: row.type,
        size: Number(row.size),
        storeId: row.store_id,
        mime: row.mime,
        now,
      };
      if (row.type === FILE) {
        files.push(entry);
        continue;
      }
      // Directories one by one: what they hold, later in this slice, needs their ids.
      await repo.insert(trx, entry);
      const made = await repo.byPath(trx, userId, childPath(parent.path, row.name));
      if (made) copied.set(row.id, dirRefOf(made));
    }
    for (const [etag, ref] of refs) if (ref.count <= 0) refs.delete(etag);
    await repo.addBlobRefs(trx, refs, now);
    await repo.insertMany(trx, files);
    return { done: false, entries: slice.length };
  });
}

/**
 * Removes the entry `topId` and everything under it, slice by slice, what a directory holds
 * before the directory. Follows the entry if it is moved meanwhile, and removes what is added
 * under it meanwhile too.
 */
export async function removeSubtreeInSlices(db: Db, repo: FilesRepo, userId: number, topId: number, now: number): Promise<void> {
  await inSlices(db, async (trx, entries) => {
    const top = await repo.byId(trx, userId, topId);
    if (!top) return { done: true, entries: 0 };
    let slice: FileRow[] = [];
    if (top.type === DIRECTORY) slice = await repo.subtreeSlice(trx, userId, top.path, { before: '\uffff' }, entries);
    // The top entry goes last, in the slice that finds nothing left under it.
    if (slice.length === 0) slice = [top];
    let bytes = 0;
    const refs = new Map<string, number>();
    for (const row of slice) {
      if (row.type !== FILE) continue;
      bytes += Number(row.size);
      refs.set(row.store_id, (refs.get(row.store_id) ?? 0) + 1);
    }
    await repo.dropBlobRefs(trx, refs, now);
    await repo.deleteByIds(
      trx,
      slice.map((r) => r.id),
    );
    await repo.releaseSpace(trx, userId, bytes);
    return { done: slice[slice.length - 1].id === topId, entries: slice.length };
  });
}

function dirRefOf(row: FileRow): DirRef {
  return { id: row.id, uuid: row.uuid, path: row.path, depth: row.depth };
}
