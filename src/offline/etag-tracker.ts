import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { ETAG_BLOCK } from '../store/etag.js';
import type { BlobInfo } from '../store/blob-store.js';
import type { HashReply, HashRequest } from './etag-worker.js';

// Each downloaded file's etag (docs/spec/UPLOAD.md: SHA-1 per 4 MiB block of the file, combined), computed
// while the download runs, so that the import is a move (`BlobStore.adoptFile`) instead of a
// second read of every byte on the main thread.
//
// The engine reports each piece once it is verified and written (`PieceVerifyingHandle`); the
// tracker maps pieces to the 4 MiB blocks of the wanted files (files sit at arbitrary offsets of
// the piece stream; a piece can span several files, a block several pieces). Once every piece
// covering a block has been reported, the block's bytes are final on disk: one hashing thread
// reads them back (from the page cache, usually) and hashes them. Blocks are hashed in any
// order; the etag combines their digests in block order. A file with a block that was never
// reported (data verified at a restart's check, a handle replaced mid-way, a hash that failed)
// has no etag here: the importer then hashes it the old way.
//
// The store takes an etag from here only for one clean pass (src/store/README.md): once the
// engine says it discarded data it had reported (a transfer started over), every digest is
// void, and the tracker answers no etag at all, so the import hashes the final file itself.

const SMALL_PREFIX = 0x16;
const LARGE_PREFIX = 0x96;

/** A file of the job, as the tracker sees it. */
export interface TrackedFile {
  /** Engine file index. */
  index: number;
  /** Where the engine writes it. */
  path: string;
  size: number;
  /** Offset of its first byte in the torrent's piece stream (pad files included). */
  offset: number;
}

/** Number of etag blocks of a file of `size` bytes (an empty file has none). */
export function blockCount(size: number): number {
  return Math.ceil(size / ETAG_BLOCK);
}

/** Bytes [start, end) of the file that block `block` covers. */
export function blockRange(size: number, block: number): [start: number, end: number] {
  return [block * ETAG_BLOCK, Math.min((block + 1) * ETAG_BLOCK, size)];
}

/** Inclusive range of the pieces holding block `block` of the file. */
export function piecesOfBlock(file: Pick<TrackedFile, 'offset' | 'size'>, pieceLength: number, block: number): [first: number, last: number] {
  const [start, end] = blockRange(file.size, block);
  return [Math.floor((file.offset + start) / pieceLength), Math.floor((file.offset + end - 1) / pieceLength)];
}

/** Inclusive range of the file's blocks that piece `piece` touches; null when it touches none. */
export function blocksOfPiece(file: Pick<TrackedFile, 'offset' | 'size'>, pieceLength: number, piece: number): [first: number, last: number] | null {
  const from = Math.max(file.offset, piece * pieceLength) - file.offset;
  const to = Math.min(file.offset + file.size, (piece + 1) * pieceLength) - file.offset;
  if (to <= from) return null;
  return [Math.floor(from / ETAG_BLOCK), Math.floor((to - 1) / ETAG_BLOCK)];
}

/** The etag from the SHA-1 of every block, in block order (none: the empty file). */
export function combineBlockDigests(digests: readonly Uint8Array[]): string {
  if (digests.length <= 1) {
    const digest = digests.length === 1 ? digests[0] : createHash('sha1').digest();
    return Buffer.concat([Buffer.from([SMALL_PREFIX]), digest]).toString('base64url');
  }
  const combined = createHash('sha1').update(Buffer.concat(digests)).digest();
  return Buffer.concat([Buffer.from([LARGE_PREFIX]), combined]).toString('base64url');
}

/** SHA-1 of byte ranges of files, on one long-lived worker thread (started on first use). */
export class BlockHasher {
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (d: Buffer) => void; reject: (e: Error) => void }>();
  #closed = false;

  /** SHA-1 of bytes [start, end) of the file at `path`. */
  hash(path: string, start: number, end: number): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Error('The hasher is closed.'));
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) worker.ref();
      worker.postMessage({ id, path, start, end } satisfies HashRequest);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = null;
    this.#failAll(new Error('The hasher is closed.'));
    if (worker !== null) await worker.terminate();
  }

  #ensureWorker(): Worker {
    if (this.#worker !== null) return this.#worker;
    // Under tsx (tests, bench scripts) this module is a .ts file and so is its worker, which needs
    // tsx too. Node 20 does not apply `--import tsx` hooks to a worker's own modules: a stub
    // registers tsx in the worker, then imports the worker file. Compiled (dist/): the .js file.
    const fromTs = import.meta.url.endsWith('.ts');
    const worker = fromTs
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./etag-worker.ts', import.meta.url).href)}); });`,
          { eval: true, execArgv: [] },
        )
      : new Worker(new URL('./etag-worker.js', import.meta.url), { execArgv: [] });
    worker.unref();
    worker.on('message', (reply: HashReply) => {
      const waiter = this.#pending.get(reply.id);
      if (waiter === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if ('error' in reply) waiter.reject(new Error(reply.error));
      else waiter.resolve(Buffer.from(reply.digest.buffer, reply.digest.byteOffset, reply.digest.byteLength));
    });
    const lost = (err: Error): void => {
      if (this.#worker !== worker) return;
      this.#worker = null; // the next request starts a new one
      this.#failAll(err);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`The hashing thread exited with code ${code}.`)));
    this.#worker = worker;
    return worker;
  }

  #failAll(err: Error): void {
    const waiters = [...this.#pending.values()];
    this.#pending.clear();
    for (const w of waiters) w.reject(err);
  }
}

interface FileState {
  file: TrackedFile;
  blocks: number;
  /** Pieces still unreported per block, for the blocks some piece was reported for. */
  missing: Map<number, number>;
  /** Per block: its digest once hashed, null if hashing failed; undefined while not started. */
  digests: Array<Promise<Buffer | null> | undefined>;
  queued: number;
}

/** One engine job's files: their etags, from the pieces it reports. */
export class EtagTracker {
  readonly #pieceLength: number;
  readonly #hasher: Pick<BlockHasher, 'hash'>;
  /** Non-empty files, by offset. */
  readonly #byOffset: FileState[];
  readonly #byIndex = new Map<number, FileState>();
  readonly #seen = new Set<number>();
  /** The engine rewrote data it had reported: nothing hashed here may name the final bytes. */
  #discarded = false;

  constructor(files: readonly TrackedFile[], pieceLength: number, hasher: Pick<BlockHasher, 'hash'>) {
    if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`piece length out of range: ${pieceLength}`);
    this.#pieceLength = pieceLength;
    this.#hasher = hasher;
    for (const file of files) {
      const blocks = blockCount(file.size);
      this.#byIndex.set(file.index, { file, blocks, missing: new Map(), digests: new Array(blocks).fill(undefined), queued: 0 });
    }
    this.#byOffset = [...this.#byIndex.values()].filter((s) => s.file.size > 0).sort((a, b) => a.file.offset - b.file.offset);
  }

  /** A piece is verified and on disk, for good. Repeats are ignored. */
  pieceVerified(piece: number): void {
    if (this.#discarded || !Number.isSafeInteger(piece) || piece < 0 || this.#seen.has(piece)) return;
    this.#seen.add(piece);
    const start = piece * this.#pieceLength;
    const end = start + this.#pieceLength;
    // The first file ending after the piece's start, then every file starting before its end.
    let lo = 0;
    let hi = this.#byOffset.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const f = this.#byOffset[mid].file;
      if (f.offset + f.size <= start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#byOffset.length && this.#byOffset[i].file.offset < end; i++) {
      const state = this.#byOffset[i];
      const blocks = blocksOfPiece(state.file, this.#pieceLength, piece);
      if (blocks === null) continue;
      for (let k = blocks[0]; k <= blocks[1]; k++) this.#pieceOfBlock(state, k);
    }
  }

  #pieceOfBlock(state: FileState, block: number): void {
    if (state.digests[block] !== undefined) return;
    let missing = state.missing.get(block);
    if (missing === undefined) {
      const [first, last] = piecesOfBlock(state.file, this.#pieceLength, block);
      missing = last - first + 1;
    }
    missing--;
    if (missing > 0) {
      state.missing.set(block, missing);
      return;
    }
    state.missing.delete(block);
    const [from, to] = blockRange(state.file.size, block);
    state.digests[block] = this.#hasher.hash(state.file.path, from, to).catch(() => null);
    state.queued++;
  }

  /**
   * The engine threw away bytes it had reported (its data starts over): every digest is void,
   * and from now on the tracker answers no etag — the import hashes the final files in one pass.
   */
  discard(): void {
    this.#discarded = true;
    this.#seen.clear();
    for (const state of this.#byIndex.values()) {
      state.missing.clear();
      state.digests.fill(undefined);
      state.queued = 0;
    }
  }

  /** Whether every block of the file is hashed or being hashed. */
  complete(index: number): boolean {
    const state = this.#byIndex.get(index);
    return !this.#discarded && state !== undefined && state.queued === state.blocks;
  }

  /**
   * The file's etag and size, once every block is hashed; null when some block was never
   * reported or could not be hashed (the caller then hashes the file itself).
   */
  async etag(index: number): Promise<BlobInfo | null> {
    const state = this.#byIndex.get(index);
    if (this.#discarded || state === undefined || state.queued !== state.blocks) return null;
    const digests = await Promise.all(state.digests);
    // A discard while the last hashes ran voids them too.
    if (this.#discarded || digests.some((d) => d === null || d === undefined)) return null;
    return { etag: combineBlockDigests(digests as Buffer[]), size: state.file.size };
  }
}
