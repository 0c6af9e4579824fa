import SQLite from 'better-sqlite3';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dataDirLayout } from './layout.js';

// One process at a time works on a data directory: the server while it runs, `fsck` while it
// checks and repairs. What decides is a lock the kernel releases when its process dies, however
// it dies: an exclusive SQLite lock on `<dataDir>/openpan.lock.db`. So a supervisor restarting
// the server right after kill -9, or a container whose pids repeat, never finds the directory
// held by a ghost. Beside it the holder writes `<dataDir>/openpan.lock` with its pid, only to say
// who holds it.

export interface LockHolder {
  pid: number;
  /** What holds it: "server" or "fsck". */
  by: string;
  host: string;
  since: number;
}

export class DataDirBusyError extends Error {
  constructor(
    readonly holder: LockHolder,
    dataDir: string,
  ) {
    super(`${dataDir} is in use by ${holder.by} (pid ${holder.pid} on ${holder.host}, since ${new Date(holder.since).toISOString()})`);
    this.name = 'DataDirBusyError';
  }
}

function parse(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || !Number.isSafeInteger(v.pid) || v.pid <= 0) return null;
    return { pid: v.pid, by: String(v.by ?? '?'), host: String(v.host ?? '?'), since: Number(v.since ?? 0) };
  } catch {
    return null;
  }
}

/** Takes the kernel lock, or answers null when another process (or connection) holds it. */
function tryKernelLock(path: string): SQLite.Database | null {
  const db = new SQLite(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // Held until the connection closes, or the process ends.
    db.exec('BEGIN EXCLUSIVE');
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return null;
    throw err;
  }
}

async function pidFileHolder(dataDir: string): Promise<LockHolder | null> {
  try {
    return parse(await readFile(dataDirLayout(dataDir).lock, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Who holds the directory when the pid file cannot say (it was being written, or is gone). */
function unknownHolder(): LockHolder {
  return { pid: 0, by: 'another process', host: hostname(), since: 0 };
}

/** The process holding the directory, or null when it is free. */
export async function lockHolder(dataDir: string): Promise<LockHolder | null> {
  const named = await pidFileHolder(dataDir);
  // A pid from another machine (a shared filesystem, where locks are not to be trusted) cannot
  // be probed: trust the file.
  if (named !== null && named.host !== hostname() && named.pid !== process.pid) return named;
  const probe = tryKernelLock(dataDirLayout(dataDir).lockDb);
  if (probe !== null) {
    probe.close();
    return null;
  }
  return named ?? unknownHolder();
}

export interface DataDirLock {
  release(): Promise<void>;
}

/** Takes the directory for this process; throws DataDirBusyError when another process holds it. */
export async function acquireDataDirLock(dataDir: string, by: string): Promise<DataDirLock> {
  const layout = dataDirLayout(dataDir);
  const named = await pidFileHolder(dataDir);
  if (named !== null && named.host !== hostname()) throw new DataDirBusyError(named, dataDir);
  const held = tryKernelLock(layout.lockDb);
  if (held === null) throw new DataDirBusyError((await pidFileHolder(dataDir)) ?? unknownHolder(), dataDir);
  const me: LockHolder = { pid: process.pid, by, host: hostname(), since: Date.now() };
  try {
    await writeFile(layout.lock, JSON.stringify(me) + '\n', { mode: 0o644 });
  } catch (err) {
    held.close();
    throw err;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      const text = await readFile(layout.lock, 'utf8').catch(() => '');
      if (parse(text)?.pid === process.pid) await unlink(layout.lock).catch(() => undefined);
      held.close();
    },
  };
}
