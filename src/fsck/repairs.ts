import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { isAppError } from '../errors.js';
import { join } from 'node:path';
import { sql } from 'kysely';
import { isEtag } from '../store/etag.js';
import { errnoOf, unlinkIfExists } from '../store/fs-util.js';
import { BIN_PATH_PREFIX } from '../db/sql.js';
import type { CheckContext } from './context.js';
import type { Problem, Repair } from './problems.js';

// Applies the repairs the checks asked for, each once, in an order where later ones see what
// earlier ones did: entries are removed or resized first, then paths, then the counters are
// recomputed from the tree, then files on disk go.

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
const MAX_DEPTH_PASSES = 300;

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
          await trx.deleteFrom('files').where('id', '=', r.id).execute();
          await sql`UPDATE users SET space_used = space_used - ${Number(r.size)} WHERE id = ${r.user_id}`.execute(trx);
        }
        await trx.deleteFrom('blobs').where('id', '=', repair.etag).execute();
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
        await sql`
          UPDATE users SET space_used = space_used + c.delta
          FROM (SELECT user_id, sum(${repair.size} - size) AS delta FROM files WHERE type = 0 AND store_id = ${repair.etag} GROUP BY user_id) AS c
          WHERE users.id = c.user_id`.execute(trx);
        await trx.updateTable('files').set({ size: repair.size }).where('type', '=', 0).where('store_id', '=', repair.etag).execute();
      });
      return;
    case 'rebuild-paths':
      await db.transaction().execute(async (trx) => {
        await sql`UPDATE files SET path = '/' || name, depth = 1 WHERE parent_id = 0 AND (path <> '/' || name OR depth <> 1)`.execute(trx);
        await sql`UPDATE files SET path = ${BIN_PATH_PREFIX} || id, depth = 1 WHERE parent_id < 0 AND parent_id = -id AND (path <> ${BIN_PATH_PREFIX} || id OR depth <> 1)`.execute(
          trx,
        );
        // Top-down: each pass fixes the entries whose parent is right; their children follow.
        for (let pass = 0; pass < MAX_DEPTH_PASSES; pass++) {
          const r = await sql`
            UPDATE files SET path = p.path || '/' || files.name, depth = p.depth + 1
            FROM files AS p
            WHERE p.id = files.parent_id AND p.user_id = files.user_id AND p.type = 1
              AND (files.path <> p.path || '/' || files.name OR files.depth <> p.depth + 1)`.execute(trx);
          if (Number(r.numAffectedRows ?? 0n) === 0) break;
        }
      });
      return;
    case 'recount-refs':
      await db.transaction().execute(async (trx) => {
        // Content used by entries but without a row: its size is the entries' (checked against the store before).
        await sql`
          INSERT INTO blobs (id, size, refs, created_at, unreferenced_at)
          SELECT store_id, max(size), 0, ${ctx.now}, NULL FROM files f
          WHERE type = 0 AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = f.store_id) GROUP BY store_id`.execute(trx);
        await sql`
          UPDATE blobs SET
            refs = coalesce((SELECT count(*) FROM files f WHERE f.type = 0 AND f.store_id = blobs.id), 0)`.execute(trx);
        await sql`UPDATE blobs SET unreferenced_at = NULL WHERE refs > 0 AND unreferenced_at IS NOT NULL`.execute(trx);
        // Newly unreferenced content gets the full grace from now, as if its last file was just removed.
        await sql`UPDATE blobs SET unreferenced_at = ${ctx.now} WHERE refs <= 0 AND unreferenced_at IS NULL`.execute(trx);
      });
      return;
    case 'recount-space':
      await sql`
        UPDATE users SET space_used = coalesce((SELECT sum(f.size) FROM files f WHERE f.user_id = users.id AND f.type = 0), 0),
          entry_count = (SELECT count(*) FROM files f WHERE f.user_id = users.id)`.execute(db);
      return;
    case 'rebuild-dir-stats':
      await db.transaction().execute(async (trx) => {
        await sql`DELETE FROM dir_stats`.execute(trx);
        await sql`
          INSERT INTO dir_stats (user_id, dir_id, dirs, files)
          SELECT user_id, parent_id, sum(type = 1), sum(type = 0) FROM files GROUP BY user_id, parent_id`.execute(trx);
      });
      return;
    case 'delete-blob-row':
      await db.deleteFrom('blobs').where('id', '=', repair.etag).where('refs', '<=', 0).execute();
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
