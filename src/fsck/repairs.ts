import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { isAppError } from '../errors.js';
import { join } from 'node:path';
import { deleteFileEntry, rebuildDirStats, rebuildPaths, setContentSize } from '../files/files.repo.js';
import { deleteBlobRow, deleteUnreferencedBlob, recountBlobRefs } from '../store/blobs.repo.js';
import { isEtag } from '../store/etag.js';
import { errnoOf, unlinkIfExists } from '../store/fs-util.js';
import { chargeContentResize, recountSpaceAndEntries, releaseSpace } from '../users/users.repo.js';
import type { CheckContext } from './context.js';
import type { Problem, Repair } from './problems.js';

// Applies the repairs the checks asked for, each once, in an order where later ones see what
// earlier ones did: entries are removed or resized first, then paths, then the counters are
// recomputed from the tree, then files on disk go. Each table is written by its own repository
// (files.repo, users.repo, store/blobs.repo); this decides what runs, in which transaction.

/** A file entry fsck removed because its content was missing or damaged. */
export interface LostEntry {
  user: string;
  path: string;
  size: number;
  etag: string;
}

export interface RepairResult {
  /** Repairs that threw, by their key, with the error message. */
  failed: Map<string, string>;
  lost: LostEntry[];
  /** Where the removed entries were recorded, when any were. */
  lostRecord: string | null;
}

const ORDER: Repair['kind'][] = [
  'drop-content',
  'fix-entry-size',
  'rebuild-paths',
  'recount-refs',
  'recount-space',
  'rebuild-dir-stats',
  'delete-blob-row',
  'delete-path',
  'delete-content',
];

export function repairKey(r: Repair): string {
  return JSON.stringify(r);
}

export async function applyRepairs(ctx: CheckContext, problems: Problem[]): Promise<RepairResult> {
  const unique = new Map<string, Repair>();
  for (const p of problems) if (p.repair) unique.set(repairKey(p.repair), p.repair);
  const repairs = [...unique.values()].sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
  const result: RepairResult = { failed: new Map(), lost: [], lostRecord: null };
  const stamp = new Date(ctx.now).toISOString().replace(/[:.]/g, '-');
  for (const repair of repairs) {
    try {
      await apply(ctx, repair, result, stamp);
    } catch (err) {
      result.failed.set(repairKey(repair), err instanceof Error ? err.message : String(err));
    }
  }
  if (result.lost.length > 0) {
    await mkdir(ctx.layout.lostFound, { recursive: true });
    result.lostRecord = join(ctx.layout.lostFound, `fsck-${stamp}.json`);
    await writeFile(result.lostRecord, JSON.stringify({ removedAt: ctx.now, entries: result.lost }, null, 2) + '\n');
  }
  return result;
}

async function apply(ctx: CheckContext, repair: Repair, result: RepairResult, stamp: string): Promise<void> {
  const { db } = ctx;
  switch (repair.kind) {
    case 'drop-content': {
      const lost = await db.transaction().execute(async (trx) => {
        const rows = await trx
          .selectFrom('files as f')
          .innerJoin('users as u', 'u.id', 'f.user_id')
          .select(['f.id', 'f.user_id', 'u.name', 'f.path', 'f.size'])
          .where('f.type', '=', 0)
          .where('f.store_id', '=', repair.etag)
          .execute();
        for (const r of rows) {
          await deleteFileEntry(trx, r.id);
          await releaseSpace(trx, r.user_id, Number(r.size));
        }
        await deleteBlobRow(trx, repair.etag);
        return rows.map((r) => ({ user: r.name, path: r.path, size: Number(r.size), etag: repair.etag }));
      });
      result.lost.push(...lost);
      if (isEtag(repair.etag)) {
        // Damaged bytes are set aside, not deleted: someone may still want to look at them.
        await mkdir(ctx.layout.lostFound, { recursive: true });
        await setAside(ctx, repair.etag, join(ctx.layout.lostFound, `${repair.etag}.damaged-${stamp}`));
      }
      return;
    }
    case 'fix-entry-size':
      await db.transaction().execute(async (trx) => {
        await chargeContentResize(trx, repair.etag, repair.size);
        await setContentSize(trx, repair.etag, repair.size);
      });
      return;
    case 'rebuild-paths':
      await db.transaction().execute((trx) => rebuildPaths(trx));
      return;
    case 'recount-refs':
      await db.transaction().execute((trx) => recountBlobRefs(trx, ctx.now));
      return;
    case 'recount-space':
      await recountSpaceAndEntries(db);
      return;
    case 'rebuild-dir-stats':
      await db.transaction().execute((trx) => rebuildDirStats(trx));
      return;
    case 'delete-blob-row':
      await deleteUnreferencedBlob(db, repair.etag);
      return;
    case 'delete-path':
      await rm(repair.path, { recursive: true, force: true, maxRetries: 3 });
      return;
    case 'delete-content':
      await ctx.store.delete(repair.etag);
      return;
  }
}

/**
 * Moves damaged content out of the store into `target`: a rename on local disk (a copy and a
 * delete across filesystems), a download and a delete from a bucket.
 */
async function setAside(ctx: CheckContext, etag: string, target: string): Promise<void> {
  const store = ctx.store;
  if (store.localPath !== undefined) {
    try {
      await rename(store.localPath(etag), target);
    } catch (err) {
      if (errnoOf(err) === 'EXDEV') await unlinkIfExists(store.localPath(etag));
      else if (errnoOf(err) !== 'ENOENT') throw err;
    }
    return;
  }
  try {
    await pipeline(await store.read(etag), createWriteStream(target));
  } catch (err) {
    if (!(isAppError(err) && err.code === 'FILE_NOT_FOUND')) throw err;
  }
  await store.delete(etag);
}
