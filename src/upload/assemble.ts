import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fromFsError, type AppError } from '../errors.js';
import { adoptOrImport, type BlobInfo, type BlobStore, type BlobWriter } from '../store/blob-store.js';
import { errnoOf } from '../store/fs-util.js';
import { SubblockHasher, etagFromDigests, subblockCount, type Assemblies, type AsmRecord } from './assembly.js';
import type { BlockCtx } from './ctx.js';
import { invalid } from './invalid.js';

// The two ways mkfile turns the blocks of an upload, once located, into content the store can
// take: in place, moving the assembly file (assembly.ts) into the store as it is, or by copying
// every block into a new blob writer. Both end with a commit for the caller to run under the
// content lock.

const READ_SLICE = 1024 * 1024;

/** Where mkfile finds a listed block. */
export type Source = { kind: 'file'; path: string } | { kind: 'asm'; start: number; record: AsmRecord };

/** How the last mkfile was done (for tests and benchmarks: counts, never decisions). */
export interface AssemblyStats {
  /** Uploads moved into the store from their assembly file (no copy). */
  inPlace: number;
  /** Of their blocks: digests taken from the map, re-hashed in place, copied in from a block file. */
  blocksFromDigests: number;
  blocksRehashed: number;
  blocksCopiedIn: number;
  /** Uploads copied block by block into a new blob writer. */
  copied: number;
}

export interface AssembleDeps {
  asm: Assemblies;
  store: BlobStore;
  stats: AssemblyStats;
}

/** Puts the assembled content into the store. */
export type Commit = () => Promise<BlobInfo>;

export function shortBlock(index: number): AppError {
  return invalid(`Block ${index} is short on the server: upload it again.`);
}

function expiredBlock(index: number): AppError {
  return invalid(`Block ${index} expired while the file was being assembled: upload it again.`);
}

/**
 * The fast path: every placed block already sits at its place in the assembly file. Blocks in
 * files of their own are copied into their place; the etag comes from the digests the server
 * recorded while receiving, or from hashing a block's region where it has none; then the
 * file is truncated to its size and moved into the store as it is.
 */
export async function assembleInPlace(
  { asm, store, stats }: AssembleDeps,
  name: string,
  blocks: BlockCtx[],
  sources: Source[],
  fileSize: number,
): Promise<Commit> {
  const size0 = blocks[0].blockSize;
  // From here the data file is this mkfile's alone: no ctx can name a region of it any more.
  await asm.dropMap(name);
  const path = asm.dataPath(name);
  const digests: Buffer[] = [];
  let handle: FileHandle | null = null;
  try {
    handle = await open(path, 'r+');
    for (const [i, src] of sources.entries()) {
      const size = blocks[i].blockSize;
      if (src.kind === 'asm' && src.record.digests && src.record.digests.length === subblockCount(size)) {
        digests.push(...src.record.digests);
        stats.blocksFromDigests++;
      } else if (src.kind === 'asm') {
        digests.push(...(await hashRegion(handle, src.start, size, i)));
        stats.blocksRehashed++;
      } else {
        digests.push(...(await copyIntoRegion(src.path, handle, i * size0, size, i)));
        stats.blocksCopiedIn++;
      }
    }
    await handle.truncate(fileSize);
  } catch (err) {
    throw fromFsError(err, 'assembling an upload');
  } finally {
    await handle?.close().catch(() => undefined);
  }
  const info: BlobInfo = { etag: etagFromDigests(digests), size: fileSize };
  stats.inPlace++;
  return () => adoptOrImport(store, path, info);
}

/** The slow path: every block copied (and hashed by the store) into a new blob writer. */
export async function assembleByCopy({ asm, store, stats }: AssembleDeps, name: string, blocks: BlockCtx[], sources: Source[]): Promise<Commit> {
  const writer = await store.createWriter();
  try {
    for (const [i, src] of sources.entries()) {
      const path = src.kind === 'file' ? src.path : asm.dataPath(name);
      await copyBlock(path, src.kind === 'file' ? 0 : src.start, blocks[i].blockSize, writer, i);
    }
  } catch (err) {
    await writer.abort();
    throw err;
  }
  stats.copied++;
  return () => writer.commit();
}

async function copyBlock(path: string, start: number, blockSize: number, writer: BlobWriter, index: number): Promise<void> {
  let copied = 0;
  try {
    for await (const chunk of createReadStream(path, { start, end: start + blockSize - 1, highWaterMark: READ_SLICE })) {
      copied += (chunk as Buffer).length;
      await writer.write(chunk as Buffer);
    }
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') throw expiredBlock(index);
    throw fromFsError(err, 'assembling an upload');
  }
  if (copied !== blockSize) throw shortBlock(index);
}

/** SHA-1 per 4 MiB sub-block of bytes [start, start + size) of an assembly file. */
async function hashRegion(handle: FileHandle, start: number, size: number, index: number): Promise<Buffer[]> {
  const hasher = new SubblockHasher();
  const buf = Buffer.allocUnsafe(Math.min(READ_SLICE, size));
  while (hasher.offset < size) {
    const want = Math.min(buf.length, size - hasher.offset);
    const { bytesRead } = await handle.read(buf, 0, want, start + hasher.offset);
    if (bytesRead === 0) throw shortBlock(index);
    hasher.update(buf.subarray(0, bytesRead));
  }
  return hasher.finish();
}

/** Copies a block file into its place in the assembly file, hashing it on the way. */
async function copyIntoRegion(path: string, target: FileHandle, start: number, size: number, index: number): Promise<Buffer[]> {
  const hasher = new SubblockHasher();
  try {
    for await (const chunk of createReadStream(path, { start: 0, end: size - 1, highWaterMark: READ_SLICE })) {
      const piece = chunk as Buffer;
      let done = 0;
      while (done < piece.length) done += (await target.write(piece, done, piece.length - done, start + hasher.offset + done)).bytesWritten;
      hasher.update(piece);
    }
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') throw expiredBlock(index);
    throw err;
  }
  if (hasher.offset !== size) throw shortBlock(index);
  return hasher.finish();
}
