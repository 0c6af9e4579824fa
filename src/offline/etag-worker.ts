import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

// The hashing thread of etag-tracker.ts: SHA-1 of a byte range of a file, one request at a time.
// Synchronous reads are fine here: this thread does nothing else, and the main one never waits
// on it except for a promise.
//
// It also flushes each file to disk as it goes (fdatasync every SYNC_EVERY hashed bytes), so the
// fsync of the import (`adoptFile`) finds little left to write instead of the whole file.

export interface HashRequest {
  id: number;
  path: string;
  start: number;
  end: number;
}

export type HashReply = { id: number; digest: Uint8Array } | { id: number; error: string };

const CHUNK = 1024 * 1024;
const SYNC_EVERY = 64 * 1024 * 1024;
/** Bytes hashed since the last flush, per path. */
const unsynced = new Map<string, number>();
const buffer = Buffer.allocUnsafe(CHUNK);

function hashRange({ path, start, end }: HashRequest): Buffer {
  const hash = createHash('sha1');
  const fd = openSync(path, 'r');
  try {
    let at = start;
    while (at < end) {
      const n = readSync(fd, buffer, 0, Math.min(CHUNK, end - at), at);
      if (n === 0) throw new Error(`${path} ends at ${at}, before ${end}`);
      hash.update(buffer.subarray(0, n));
      at += n;
    }
    const pending = (unsynced.get(path) ?? 0) + (end - start);
    if (pending >= SYNC_EVERY) {
      unsynced.delete(path);
      try {
        fdatasyncSync(fd);
      } catch {
        // Only an optimisation: the import syncs the file anyway.
      }
    } else {
      unsynced.set(path, pending);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest();
}

parentPort?.on('message', (req: HashRequest) => {
  let reply: HashReply;
  try {
    reply = { id: req.id, digest: hashRange(req) };
  } catch (err) {
    reply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
