import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { errnoOf } from '../store/fs-util.js';
import { dataDirLayout } from './layout.js';

// One process at a time works on a data directory: the server while it runs, `fsck` while it
// checks and repairs. The holder writes `<dataDir>/openpan.lock` with its pid; a lock whose
// process is gone (kill -9, a crash, a reboot) is stale and simply taken over.

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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return errnoOf(err) === 'EPERM';
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

/** The live process (other than this one) holding the directory, or null when it is free. */
export async function lockHolder(dataDir: string): Promise<LockHolder | null> {
  let text: string;
  try {
    text = await readFile(dataDirLayout(dataDir).lock, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return null;
    throw err;
  }
  const holder = parse(text);
  if (holder === null || holder.pid === process.pid) return null;
  // A pid from another machine (a shared filesystem) cannot be probed: trust the file.
  if (holder.host === hostname() && !alive(holder.pid)) return null;
  return holder;
}

export interface DataDirLock {
  release(): Promise<void>;
}

/** Takes the directory for this process; throws DataDirBusyError when a live process holds it. */
export async function acquireDataDirLock(dataDir: string, by: string): Promise<DataDirLock> {
  const path = dataDirLayout(dataDir).lock;
  const me: LockHolder = { pid: process.pid, by, host: hostname(), since: Date.now() };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      try {
        await handle.writeFile(JSON.stringify(me) + '\n');
        await handle.sync();
      } catch (err) {
        await handle.close().catch(() => undefined);
        await unlink(path).catch(() => undefined);
        throw err;
      }
      await handle.close();
      break;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST' || attempt > 3) throw err;
      const holder = await lockHolder(dataDir);
      if (holder !== null) throw new DataDirBusyError(holder, dataDir);
      // Stale (or our own from an earlier lock in this process): replace it.
      await unlink(path).catch((e: unknown) => {
        if (errnoOf(e) !== 'ENOENT') throw e;
      });
    }
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      const text = await readFile(path, 'utf8').catch(() => '');
      if (parse(text)?.pid === process.pid) await unlink(path).catch(() => undefined);
    },
  };
}
