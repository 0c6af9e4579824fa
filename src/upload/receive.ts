import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { fromFsError } from '../errors.js';
import { ETAG_BLOCK } from '../store/etag.js';
import type { SubblockHasher } from './assembly.js';
import { Crc32 } from './crc32.js';
import { invalid } from './invalid.js';

/** A request body: the raw HTTP stream in production, any async iterable in tests. */
export type Body = AsyncIterable<Uint8Array>;

/** Received bytes are written to disk in slices of this size: few syscalls, flat memory. */
const WRITE_SLICE = 1024 * 1024;

/** What `receive` wrote: its length, and the CRC-32 and SHA-1 (URL-safe base64) of the chunk. */
export interface Received {
  size: number;
  crc: number;
  checksum: string;
}

/**
 * Writes `body` into a block from `start` (the file holds the block from `base`),
 * positionally (a re-sent chunk lands on the same bytes), in slices of WRITE_SLICE. With a
 * `hasher` (which must have hashed exactly the block's bytes before `start`) the bytes are
 * fed to it as well. The caller syncs before answering.
 */
export async function receive(
  handle: FileHandle,
  base: number,
  start: number,
  blockSize: number,
  body: Body,
  hasher: SubblockHasher | null,
): Promise<Received> {
  const crc = new Crc32();
  // The chunk's own SHA-1 (the answer's checksum): when the chunk starts a sub-block, its
  // first 4 MiB are hashed by the sub-block hasher anyway, so it is taken from there.
  let sha1: Hash | null = hasher?.atBoundary ? null : createHash('sha1');
  let received = 0;
  let position = base + start;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const slices = pending;
    const total = pendingBytes;
    pending = [];
    pendingBytes = 0;
    // One pwritev per slice of socket chunks: no copy into a joint buffer.
    let done = (await handle.writev(slices, position)).bytesWritten;
    if (done < total) {
      // A short write (rare): the rest, joined, until it is all written.
      const rest = Buffer.concat(slices, total).subarray(done);
      for (let at = 0; at < rest.length; ) at += (await handle.write(rest, at, rest.length - at, position + done + at)).bytesWritten;
      done = total;
    }
    position += total;
  };
  try {
    for await (const chunk of body) {
      if (start + received + chunk.length > blockSize) {
        throw invalid(`The chunk goes beyond the end of the block (${blockSize} bytes).`);
      }
      crc.update(chunk);
      if (sha1) {
        sha1.update(chunk);
        hasher?.update(chunk);
      } else {
        const room = ETAG_BLOCK - received;
        if (chunk.length <= room) {
          hasher!.update(chunk);
        } else {
          hasher!.update(chunk.subarray(0, room));
          sha1 = hasher!.copySub();
          const rest = chunk.subarray(room);
          hasher!.update(rest);
          sha1.update(rest);
        }
      }
      received += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_SLICE) await flush();
    }
    await flush();
  } catch (err) {
    throw fromFsError(err, 'receiving a block');
  }
  const checksum = sha1 ? sha1.digest('base64url') : received === 0 ? createHash('sha1').digest('base64url') : hasher!.copySub().digest('base64url');
  return { size: received, crc: crc.value, checksum };
}

/** Makes received bytes (and assembly records) durable before their ctx is answered. */
export async function syncReceived(...handles: FileHandle[]): Promise<void> {
  try {
    await Promise.all(handles.map((h) => h.datasync()));
  } catch (err) {
    throw fromFsError(err, 'receiving a block');
  }
}
