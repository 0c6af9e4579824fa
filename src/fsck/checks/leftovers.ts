import { join } from 'node:path';
import { errnoOf, mtimeOrNull, namesInDir } from '../../store/fs-util.js';
import { ASM_MAP_RE, ASM_RE } from '../../upload/assembly.js';
import { isBlockId } from '../../upload/ctx.js';
import { DONE_RECORD_RE } from '../../upload/upload-dir.js';
import { TEMP_MAX_AGE_MS, type CheckContext } from '../context.js';
import type { Problem } from '../problems.js';

// Temporary data nothing will ever use again: the store's temp files, upload pieces of uploads
// that no longer exist, working directories of offline jobs at rest, seeding directories of
// seeds that no longer exist. The rules are the server's own (the sweeps in app.ts and the upload
// service, the scheduler's and the seeding's recovery); without a running server, a temporary
// file cannot be a write in flight, so every one of them is a leftover.

/** namesInDir, also when a damaged data directory has a file where a directory belongs. */
async function entries(dir: string): Promise<string[]> {
  return namesInDir(dir).catch((err: unknown) => {
    if (errnoOf(err) === 'ENOTDIR') return [];
    throw err;
  });
}

function leftover(code: Problem['code'], path: string, why: string): Problem {
  return { code, subject: path, message: `${path}: ${why}`, repair: { kind: 'delete-path', path } };
}

export async function checkStoreTemp(ctx: CheckContext): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const name of await entries(ctx.layout.blobTemp)) {
    const path = join(ctx.layout.blobTemp, name);
    const mtime = await mtimeOrNull(path);
    if (mtime === null || (ctx.live && mtime > ctx.now - TEMP_MAX_AGE_MS)) continue;
    problems.push(leftover('store-temp', path, 'a temporary file of the store (an interrupted write)'));
  }
  return problems;
}

export async function checkUploads(ctx: CheckContext): Promise<Problem[]> {
  const dir = ctx.layout.uploads;
  const cutoff = ctx.now - ctx.uploadExpiryMs;
  const names = await entries(dir);
  const present = new Set(names);
  const problems: Problem[] = [];
  const expired = (t: number | null) => t !== null && t < cutoff;
  for (const name of names) {
    const path = join(dir, name);
    if (isBlockId(name)) {
      if (expired(await mtimeOrNull(path))) problems.push(leftover('upload-leftover', path, 'a block file of an upload that expired'));
    } else if (ASM_RE.test(name)) {
      const map = await mtimeOrNull(join(dir, `${name}.map`));
      if (map === null && !ctx.live) problems.push(leftover('upload-leftover', path, 'an assembly file without its map: no block of it can be used any more'));
      else if (expired(Math.max(map ?? 0, (await mtimeOrNull(path)) ?? 0)))
        problems.push(leftover('upload-leftover', path, 'the assembly file of an upload that expired'));
    } else if (ASM_MAP_RE.test(name)) {
      const data = name.slice(0, -'.map'.length);
      if (!present.has(data)) {
        if (!ctx.live || expired(await mtimeOrNull(path))) problems.push(leftover('upload-leftover', path, 'an assembly map without its data file'));
      } else if (expired(Math.max((await mtimeOrNull(path)) ?? 0, (await mtimeOrNull(join(dir, data))) ?? 0))) {
        problems.push(leftover('upload-leftover', path, 'the assembly map of an upload that expired'));
      }
    }
  }
  const doneDir = ctx.layout.uploadsDone;
  for (const name of await entries(doneDir)) {
    if (!DONE_RECORD_RE.test(name)) continue;
    const path = join(doneDir, name);
    const mtime = await mtimeOrNull(path);
    if (name.endsWith('.tmp') && !ctx.live) problems.push(leftover('upload-leftover', path, 'a half-written record of a finished upload'));
    else if (expired(mtime)) problems.push(leftover('upload-leftover', path, 'the record of a finished upload, expired'));
  }
  return problems;
}

export async function checkOfflineDirs(ctx: CheckContext): Promise<Problem[]> {
  // The scheduler's rule (offline.repo jobIdsWithTemp): only jobs not done keep their directory;
  // a failed job keeps it so that a resume continues from the pieces on disk.
  const keep = new Set((await ctx.db.selectFrom('offline_jobs').select('id').where('phase', '<>', 'done').execute()).map((r) => r.id));
  const problems: Problem[] = [];
  for (const name of await entries(ctx.layout.offline)) {
    if (keep.has(name)) continue;
    const path = join(ctx.layout.offline, name);
    if (path === ctx.layout.offlineStaging) {
      // Links of an import that was interrupted; the scheduler empties the directory at start.
      if (!ctx.live) {
        for (const link of await entries(path)) problems.push(leftover('offline-leftover', join(path, link), 'a link left by an import that was interrupted'));
      }
      continue;
    }
    problems.push(leftover('offline-leftover', path, 'the working directory of an offline job that is done or unknown'));
  }
  return problems;
}

export async function checkSeedingDirs(ctx: CheckContext): Promise<Problem[]> {
  const keep = new Set((await ctx.db.selectFrom('offline_seeds').select('job_id').execute()).map((r) => r.job_id));
  const problems: Problem[] = [];
  for (const name of await entries(ctx.layout.seeding)) {
    if (keep.has(name)) continue;
    problems.push(leftover('seeding-leftover', join(ctx.layout.seeding, name), 'the seeding links of a seed that no longer exists'));
  }
  return problems;
}
