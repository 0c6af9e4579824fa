import { resolve } from 'node:path';
import { openDatabase } from '../db/database.js';
import { isDiskFullError } from '../errors.js';
import type { StoreConfig } from '../store/store-config.js';
import { openBlobStore } from '../store/open-store.js';
import { checkContent } from './checks/content.js';
import { checkOfflineDirs, checkSeedingDirs, checkStoreTemp, checkUploads } from './checks/leftovers.js';
import { checkDirStats, checkPaths, checkSpace } from './checks/tree.js';
import { DEFAULT_UPLOAD_EXPIRY_MS, emptyChecked, type Checked, type CheckContext } from './context.js';
import { acquireDataDirLock, DataDirBusyError, dataDirLayout, hasDatabase, lockHolder, type DataDirLock, type LockHolder } from '../data-dir/index.js';
import { problemKey, type Problem, type ReportedProblem } from './problems.js';
import { applyRepairs, repairKey, type LostEntry } from './repairs.js';

export interface FsckOptions {
  dataDir: string;
  /** Recompute every content's etag (reads every stored byte). */
  verify?: boolean;
  /** Fix what can be fixed. */
  repair?: boolean;
  /** Run although a server holds the directory (results may include work in flight). */
  force?: boolean;
  /** OPENPAN_UPLOAD_EXPIRY of the server, ms. */
  uploadExpiryMs?: number;
  /** Where the server keeps content (OPENPAN_STORE); default: the data directory. */
  store?: StoreConfig;
  /** The server's PostgreSQL database (OPENPAN_DATABASE_URL); default: SQLite in the data directory. */
  databaseUrl?: string | null;
  now?: number;
}

export interface FsckReport {
  dataDir: string;
  verify: boolean;
  repair: boolean;
  /** The server that held the directory while fsck ran (--force), or null. */
  server: LockHolder | null;
  checked: Checked;
  problems: ReportedProblem[];
  /** File entries removed because their content was missing or damaged. */
  lost: LostEntry[];
  lostRecord: string | null;
  /** Nothing was wrong. */
  clean: boolean;
}

export class NotADataDirError extends Error {
  constructor(dir: string) {
    super(`no openpan database in ${dir}: give the server's data directory (--data-dir or OPENPAN_DATA_DIR)`);
    this.name = 'NotADataDirError';
  }
}

export { DataDirBusyError };

async function runChecks(ctx: CheckContext, checked: Checked): Promise<Problem[]> {
  const problems: Problem[] = [];
  problems.push(...(await checkPaths(ctx)));
  problems.push(...(await checkContent(ctx, checked)));
  problems.push(...(await checkSpace(ctx, checked)));
  problems.push(...(await checkDirStats(ctx, checked)));
  problems.push(...(await checkStoreTemp(ctx)));
  problems.push(...(await checkUploads(ctx)));
  problems.push(...(await checkOfflineDirs(ctx)));
  problems.push(...(await checkSeedingDirs(ctx)));
  return problems;
}

/** The directory's lock; a check (not a repair) of a full disk goes on without one. */
async function lockUnlessDiskFull(dataDir: string, repair: boolean): Promise<DataDirLock | null> {
  try {
    return await acquireDataDirLock(dataDir, 'fsck');
  } catch (err) {
    if (!repair && isDiskFullError(err)) return null;
    throw err;
  }
}

/**
 * Checks a data directory (and with `repair`, fixes it) while no server runs on it: the
 * database against the tree's own rules, the store against the database, and leftovers.
 */
export async function runFsck(options: FsckOptions): Promise<FsckReport> {
  const dataDir = resolve(options.dataDir);
  const layout = dataDirLayout(dataDir);
  const databaseUrl = options.databaseUrl ?? null;
  if (databaseUrl === null && !hasDatabase(dataDir)) throw new NotADataDirError(dataDir);
  const server = await lockHolder(dataDir);
  if (server !== null && !options.force) throw new DataDirBusyError(server, dataDir);
  // Held for the whole run, so a server cannot start in the middle of a repair.
  const lock = server === null ? await lockUnlessDiskFull(dataDir, options.repair ?? false) : null;
  const db = await openDatabase({ dataDir, databaseUrl });
  const store = await openBlobStore(options.store ?? { kind: 'local' }, layout);
  try {
    const ctx: CheckContext = {
      db,
      store,
      layout,
      verify: options.verify ?? false,
      live: server !== null,
      now: options.now ?? Date.now(),
      uploadExpiryMs: options.uploadExpiryMs ?? DEFAULT_UPLOAD_EXPIRY_MS,
    };
    const checked = emptyChecked();
    // Beside a running server the database is read in one snapshot, so that a change committed
    // meanwhile cannot make the tree and its counters look out of step (on PostgreSQL a
    // transaction takes one snapshot only from REPEATABLE READ up).
    const snapshot = databaseUrl === null ? db.transaction() : db.transaction().setIsolationLevel('repeatable read');
    // A database several processes share may be in use by any of them: read as beside a server.
    const found = ctx.live || databaseUrl !== null ? await snapshot.execute((trx) => runChecks({ ...ctx, db: trx }, checked)) : await runChecks(ctx, checked);
    const report: FsckReport = {
      dataDir,
      verify: ctx.verify,
      repair: options.repair ?? false,
      server,
      checked,
      problems: found.map((p) => ({ ...p, outcome: 'found' })),
      lost: [],
      lostRecord: null,
      clean: found.length === 0,
    };
    if (!options.repair || found.length === 0) return report;

    const result = await applyRepairs(ctx, found);
    report.lost = result.lost;
    report.lostRecord = result.lostRecord;
    // What is still wrong after the repairs, found by checking again (hashing only what was flagged).
    const after = await runChecks({ ...ctx, verify: false }, emptyChecked());
    const remaining = new Set(after.map(problemKey));
    report.problems = found.map((p): ReportedProblem => {
      const failed = p.repair === null ? undefined : result.failed.get(repairKey(p.repair));
      const fixed = p.repair !== null && failed === undefined && !remaining.has(problemKey(p));
      return { ...p, message: failed ? `${p.message} (repair failed: ${failed})` : p.message, outcome: fixed ? 'repaired' : 'not repaired' };
    });
    const known = new Set(found.map(problemKey));
    for (const p of after)
      if (!known.has(problemKey(p))) report.problems.push({ ...p, message: `${p.message} (appeared after the repairs)`, outcome: 'not repaired' });
    return report;
  } finally {
    store.close?.();
    await db.destroy();
    await lock?.release();
  }
}
