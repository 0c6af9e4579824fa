import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { statementSlices, subtreeBounds } from '../db/sql.js';

// The `blobs` table — one row per stored content, with how many drive entries use it — is
// written here and nowhere else (fsck's repairs aside). Files, uploads, the offline import and
// the collector each call these with their own transaction.

/** One more file uses this content; creates the blob row on first use. */
export async function addBlobRef(q: Db, etag: string, size: number, now: number): Promise<void> {
  await q
    .insertInto('blobs')
    .values({ id: etag, size, refs: 1, created_at: now, unreferenced_at: null })
    .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ refs: eb('blobs.refs', '+', 1), unreferenced_at: null })))
    .execute();
}

/** addBlobRef for many blobs: `refs` more references to each (etag → count). */
export async function addBlobRefs(q: Db, refs: ReadonlyMap<string, { size: number; count: number }>, now: number): Promise<void> {
  const rows = [...refs].map(([id, r]) => ({ id, size: r.size, refs: r.count, created_at: now, unreferenced_at: null }));
  for (const part of statementSlices(rows)) {
    await q
      .insertInto('blobs')
      .values(part)
      .onConflict((oc) => oc.column('id').doUpdateSet({ refs: sql<number>`blobs.refs + excluded.refs`, unreferenced_at: null }))
      .execute();
  }
}

/** One file fewer uses this content; at zero the collector's grace period starts. */
export async function dropBlobRef(q: Db, etag: string, now: number): Promise<void> {
  await sql`UPDATE blobs SET refs = refs - 1, unreferenced_at = CASE WHEN refs - 1 <= 0 THEN CAST(${now} AS bigint) ELSE NULL END WHERE id = ${etag}`.execute(
    q,
  );
}

/**
 * Stored bytes nobody references yet get a blob row with no reference, so the collector frees
 * them after its grace period if no file takes them; a row that exists is left alone.
 */
/** dropBlobRef for many blobs: `count` fewer references to each (etag → count). */
export async function dropBlobRefs(q: Db, counts: ReadonlyMap<string, number>, now: number): Promise<void> {
  for (const [etag, count] of counts) {
    await sql`UPDATE blobs SET refs = refs - ${count}, unreferenced_at = CASE WHEN refs - ${count} <= 0 THEN CAST(${now} AS bigint) ELSE NULL END WHERE id = ${etag}`.execute(
      q,
    );
  }
}

export async function recordUnreferencedBlobs(q: Db, blobs: readonly { etag: string; size: number }[], now: number): Promise<void> {
  for (const part of statementSlices(blobs)) {
    await q
      .insertInto('blobs')
      .values(part.map((b) => ({ id: b.etag, size: b.size, refs: 0, created_at: now, unreferenced_at: now })))
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }
}

/** Blobs unreferenced since `cutoff` or longer, oldest first. */
export async function collectableBlobs(q: Db, cutoff: number, limit: number): Promise<{ id: string; size: number }[]> {
  const rows = await q
    .selectFrom('blobs')
    .select(['id', 'size'])
    .where('refs', '<=', 0)
    .where('unreferenced_at', '<=', cutoff)
    .orderBy('unreferenced_at')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: r.id, size: Number(r.size) }));
}

/** Deletes the blob's row if nothing references it (re-checked: another process may have since). */
export async function deleteUnreferencedBlob(q: Db, etag: string): Promise<boolean> {
  const result = await q.deleteFrom('blobs').where('id', '=', etag).where('refs', '<=', 0).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Deletes the blob's row whatever its references (fsck: the content is missing or damaged, its entries gone). */
export async function deleteBlobRow(q: Db, etag: string): Promise<void> {
  await q.deleteFrom('blobs').where('id', '=', etag).execute();
}

/**
 * Recounts every blob's references from the file entries (fsck); content used by entries but
 * without a row gets one. Newly unreferenced content gets the full grace from `now`.
 */
export async function recountBlobRefs(q: Db, now: number): Promise<void> {
  // Content used by entries but without a row: its size is the entries' (checked against the store before).
  await sql`
    INSERT INTO blobs (id, size, refs, created_at, unreferenced_at)
    SELECT store_id, max(size), 0, ${now}, NULL FROM files f
    WHERE type = 0 AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = f.store_id) GROUP BY store_id`.execute(q);
  await sql`
    UPDATE blobs SET
      refs = coalesce((SELECT count(*) FROM files f WHERE f.type = 0 AND f.store_id = blobs.id), 0)`.execute(q);
  await sql`UPDATE blobs SET unreferenced_at = NULL WHERE refs > 0 AND unreferenced_at IS NOT NULL`.execute(q);
  // Newly unreferenced content gets the full grace from now, as if its last file was just removed.
  await sql`UPDATE blobs SET unreferenced_at = ${now} WHERE refs <= 0 AND unreferenced_at IS NULL`.execute(q);
}

/** Adds `sign` references to every blob a file in the user's subtree at `path` uses (one statement). */
export async function adjustSubtreeBlobRefs(q: Db, userId: number, path: string, sign: 1 | -1, now: number): Promise<void> {
  const { low, high } = subtreeBounds(path);
  await sql`
    UPDATE blobs SET
      refs = refs + ${sign} * c.n,
      unreferenced_at = CASE WHEN refs + ${sign} * c.n <= 0 THEN CAST(${now} AS bigint) ELSE NULL END
    FROM (
      SELECT store_id, count(*) AS n FROM files
      WHERE user_id = ${userId} AND type = 0
        AND (path = ${path} OR (path > ${low} AND path < ${high}))
      GROUP BY store_id
    ) AS c
    WHERE blobs.id = c.store_id`.execute(q);
}
