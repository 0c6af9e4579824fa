import { sql } from 'kysely';
import { EtagHasher, isEtag } from '../../store/etag.js';
import { CONTENT_GRACE_MS, type Checked, type CheckContext } from '../context.js';
import type { Problem } from '../problems.js';
import { forEachInParallel } from '../../parallel.js';

// The store against the database: every content a file entry uses is stored with the size (and,
// with --verify, the hash) its etag and blob row say; every blob row counts exactly the entries
// that use it; nothing is stored that no row names (beyond the collector's grace).

const STAT_PARALLEL = 16;

interface BlobUse {
  id: string;
  size: number;
  refs: number;
  unreferenced_at: number | null;
  /** File entries using it, and the smallest and largest size they give. */
  uses: number;
  min_size: number | null;
  max_size: number | null;
}

async function hashOf(ctx: CheckContext, etag: string): Promise<{ etag: string; size: number }> {
  const hasher = new EtagHasher();
  for await (const chunk of await ctx.store.read(etag)) hasher.update(chunk as Buffer);
  return { etag: hasher.digest(), size: hasher.size };
}

async function storedSize(ctx: CheckContext, etag: string): Promise<number | null> {
  return isEtag(etag) ? ctx.store.size(etag) : null;
}

function dropContent(etag: string) {
  return { kind: 'drop-content', etag } as const;
}

/** One blob row and the entries using it. */
async function checkBlob(ctx: CheckContext, b: BlobUse, checked: Checked): Promise<Problem[]> {
  const problems: Problem[] = [];
  const size = await storedSize(ctx, b.id);
  if (size === null) {
    if (b.uses > 0) {
      problems.push({
        code: 'content-missing',
        subject: b.id,
        message: `content ${b.id} (${b.size} bytes) used by ${b.uses} file(s) is not in the store`,
        repair: dropContent(b.id),
      });
    } else {
      problems.push({
        code: 'blob-row-without-content',
        subject: b.id,
        message: `blob row ${b.id} has no reference and no content`,
        repair: { kind: 'delete-blob-row', etag: b.id },
      });
    }
    return problems;
  }
  let intact = true;
  if (size !== Number(b.size)) {
    intact = false;
    problems.push({
      code: 'content-size',
      subject: b.id,
      message: `content ${b.id} has ${size} bytes in the store but ${b.size} in its blob row`,
      repair: dropContent(b.id),
    });
  } else if (ctx.verify) {
    const got = await hashOf(ctx, b.id);
    checked.verifiedBytes += got.size;
    if (got.etag !== b.id) {
      intact = false;
      problems.push({
        code: 'content-corrupt',
        subject: b.id,
        message: `content ${b.id} hashes to ${got.etag}: its bytes are damaged`,
        repair: dropContent(b.id),
      });
    }
  }
  if (intact && b.uses > 0 && (Number(b.min_size) !== size || Number(b.max_size) !== size)) {
    problems.push({
      code: 'entry-size',
      subject: b.id,
      message: `file entries using content ${b.id} give sizes ${b.min_size}..${b.max_size}, the content has ${size} bytes`,
      repair: { kind: 'fix-entry-size', etag: b.id, size },
    });
  }
  if (Number(b.refs) !== b.uses) {
    problems.push({
      code: 'refs',
      subject: b.id,
      message: `blob ${b.id} counts ${b.refs} reference(s) but ${b.uses} file entr${b.uses === 1 ? 'y uses' : 'ies use'} it`,
      repair: { kind: 'recount-refs' },
    });
  }
  const marked = b.unreferenced_at !== null;
  if ((b.uses === 0) !== marked) {
    problems.push({
      code: 'unreferenced-mark',
      subject: b.id,
      message: marked
        ? `blob ${b.id} is in use but marked unreferenced`
        : `blob ${b.id} is unused but not marked unreferenced: the collector would never free it`,
      repair: { kind: 'recount-refs' },
    });
  }
  return problems;
}

export async function checkContent(ctx: CheckContext, checked: Checked): Promise<Problem[]> {
  const blobs = await sql<BlobUse>`
    SELECT b.id, b.size, b.refs, b.unreferenced_at, coalesce(c.n, 0) AS uses, c.min_size, c.max_size
    FROM blobs b LEFT JOIN (
      SELECT store_id, count(*) AS n, min(size) AS min_size, max(size) AS max_size FROM files WHERE type = 0 GROUP BY store_id
    ) c ON c.store_id = b.id`.execute(ctx.db);
  checked.contents = blobs.rows.length;
  const problems: Problem[] = [];
  await forEachInParallel(blobs.rows, ctx.verify ? 2 : STAT_PARALLEL, async (b) => {
    problems.push(...(await checkBlob(ctx, { ...b, uses: Number(b.uses) }, checked)));
  });

  // Entries whose content has no blob row at all.
  const rowless = await sql<{ store_id: string; n: number }>`
    SELECT f.store_id, count(*) AS n FROM files f
    WHERE f.type = 0 AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = f.store_id)
    GROUP BY f.store_id`.execute(ctx.db);
  for (const r of rowless.rows) {
    const size = await storedSize(ctx, r.store_id);
    problems.push(
      size === null
        ? {
            code: 'content-missing',
            subject: r.store_id,
            message: `content ${r.store_id} used by ${r.n} file(s) has neither a blob row nor bytes in the store`,
            repair: dropContent(r.store_id),
          }
        : {
            code: 'blob-row-missing',
            subject: r.store_id,
            message: `content ${r.store_id} used by ${r.n} file(s) is stored but has no blob row`,
            repair: { kind: 'recount-refs' },
          },
    );
  }
  problems.push(...(await checkOrphans(ctx)));
  problems.sort((a, b) => (a.code + a.subject < b.code + b.subject ? -1 : 1));
  return problems;
}

/** Stored content no blob row and no entry names, unreferenced for longer than the collector's grace. */
async function checkOrphans(ctx: CheckContext): Promise<Problem[]> {
  const known = new Set(
    (await sql<{ id: string }>`SELECT id FROM blobs UNION SELECT store_id FROM files WHERE type = 0`.execute(ctx.db)).rows.map((r) => r.id),
  );
  const problems: Problem[] = [];
  for await (const etag of ctx.store.list()) {
    if (known.has(etag)) continue;
    const mtime = await ctx.store.modifiedAt(etag);
    if (mtime === null) continue;
    if (mtime > ctx.now - CONTENT_GRACE_MS) continue;
    problems.push({
      code: 'orphan-content',
      subject: etag,
      message: `content ${etag} is stored but no blob row or file names it`,
      repair: { kind: 'delete-content', etag },
    });
  }
  return problems;
}
