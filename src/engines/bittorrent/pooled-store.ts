import { rm } from 'node:fs/promises';
import type { FdPool, PooledFile } from '../fd-pool.js';
import type { WtStoreOptions } from './webtorrent-api.js';

// The chunk store the engine gives WebTorrent (abstract-chunk-store: put, get, close, destroy),
// in place of fs-chunk-store. The same bytes at the same paths, with two differences:
//
// * Files are opened through the engine's FdPool, on use, and closed when the pool needs the
//   room: fs-chunk-store kept every file it touched open until the torrent closed (and on close
//   opened every file of the torrent just to close it), so a 100,000-file torrent held 100,000
//   descriptors. Here a job holds at most what the pool allows, shared with every other job.
// * Piece → file spans are found by binary search over the file offsets instead of a table per
//   piece, which for 100,000 files was another large allocation.
//
// Reads of a file that is missing or too short fail (WebTorrent's verification on resume takes
// such a piece as missing); reads never create a file or a folder. A write creates its file and
// folder. A read-only store refuses every write, for seeds (seed-store.ts), whose files are hard
// links to stored content; `path: null` is a pad file there, read as zeros and never opened.

type Callback<T> = (err: Error | null, value?: T) => void;

export interface PooledStoreFile {
  /** Absolute path; null: zeros, nothing on disk (read-only stores only). */
  path: string | null;
  offset: number;
  length: number;
}

export interface PooledStoreOptions {
  pool: FdPool;
  files: ReadonlyArray<PooledStoreFile>;
  /** The torrent's length (the sum of the files'). */
  length: number;
  writable: boolean;
  /** Called after a put's callback, once the piece is written in every file it touches. */
  onPut?: (index: number) => void;
}

interface Span {
  offset: number;
  length: number;
  path: string | null;
  file: PooledFile | null;
}

export class PooledChunkStore {
  readonly chunkLength: number;
  readonly #pool: FdPool;
  readonly #writable: boolean;
  readonly #length: number;
  readonly #onPut: ((index: number) => void) | undefined;
  /** Non-empty files, in torrent order (their offsets increase). */
  readonly #spans: Span[];
  /** Spans whose PooledFile was made (the only ones close has to close). */
  readonly #used = new Set<Span>();
  #closed = false;

  constructor(chunkLength: number, opts: PooledStoreOptions) {
    this.chunkLength = Number(chunkLength);
    if (!(this.chunkLength > 0)) throw new Error('First argument must be a chunk length');
    this.#pool = opts.pool;
    this.#writable = opts.writable;
    this.#length = opts.length;
    this.#onPut = opts.onPut;
    this.#spans = opts.files.filter((f) => f.length > 0).map((f) => ({ offset: f.offset, length: f.length, path: f.path, file: null }));
    for (const s of this.#spans) {
      if (s.path === null && this.#writable) throw new Error('A writable store needs a path for every file');
    }
  }

  put(index: number, buf: Buffer, cb?: Callback<void>): void {
    const done = cb ?? (() => {});
    if (!this.#writable) {
      fail(done, new Error('This store is read-only: a seed never writes.'));
      return;
    }
    if (this.#closed) {
      fail(done, new Error('Storage is closed'));
      return;
    }
    const expected = this.#chunkSize(index);
    if (expected <= 0 || buf.length !== expected) {
      fail(done, new Error(`Chunk ${index} must be ${expected} bytes long, not ${buf.length}`));
      return;
    }
    const start = index * this.chunkLength;
    const writes: Array<Promise<void>> = [];
    for (const [span, lo, hi] of this.#overlapping(start, start + buf.length)) {
      writes.push(this.#fileOf(span).write(buf.subarray(lo - start, hi - start), lo - span.offset));
    }
    Promise.all(writes).then(
      () => {
        done(null);
        this.#onPut?.(index);
      },
      (err: Error) => done(err),
    );
  }

  get(index: number, opts: { offset?: number; length?: number } | null | Callback<Buffer>, cb?: Callback<Buffer>): void {
    if (typeof opts === 'function') {
      this.get(index, null, opts);
      return;
    }
    const done = cb ?? (() => {});
    if (this.#closed) {
      fail(done, new Error('Storage is closed'));
      return;
    }
    const size = this.#chunkSize(index);
    const from = opts?.offset ?? 0;
    const to = opts?.length ? from + opts.length : size;
    if (size <= 0 || from < 0 || to > size || to < from) {
      fail(done, new Error('Invalid offset and/or length'));
      return;
    }
    const start = index * this.chunkLength + from;
    const end = index * this.chunkLength + to;
    const parts = this.#overlapping(start, end);
    // Every byte is read or the get fails, except pad files: those read as zeros.
    const buf = parts.some(([s]) => s.path === null) ? Buffer.alloc(end - start) : Buffer.allocUnsafe(end - start);
    const reads: Array<Promise<void>> = [];
    for (const [span, lo, hi] of parts) {
      if (span.path !== null) reads.push(this.#fileOf(span).read(buf, lo - start, hi - lo, lo - span.offset));
    }
    Promise.all(reads).then(
      () => done(null, buf),
      (err: Error) => done(err),
    );
  }

  close(cb?: Callback<void>): void {
    this.#closed = true;
    const files = [...this.#used].map((s) => s.file as PooledFile);
    this.#used.clear();
    void Promise.all(files.map((f) => f.close())).then(() => cb?.(null));
  }

  /** Closes, then deletes the files of a writable store; a read-only store's files are not its own. */
  destroy(cb?: Callback<void>): void {
    this.close(() => {
      if (!this.#writable) return cb?.(null);
      const paths = this.#spans.map((s) => s.path as string);
      Promise.all(paths.map((p) => rm(p, { force: true, maxRetries: 3 }))).then(
        () => cb?.(null),
        (err: Error) => cb?.(err),
      );
    });
  }

  #chunkSize(index: number): number {
    if (!Number.isSafeInteger(index) || index < 0) return 0;
    return Math.min(this.chunkLength, this.#length - index * this.chunkLength);
  }

  /** The spans that [start, end) touches, each with the overlap as torrent offsets. */
  #overlapping(start: number, end: number): Array<[Span, number, number]> {
    const spans = this.#spans;
    // The first span that ends after `start`.
    let lo = 0;
    let hi = spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (spans[mid].offset + spans[mid].length <= start) lo = mid + 1;
      else hi = mid;
    }
    const out: Array<[Span, number, number]> = [];
    for (let i = lo; i < spans.length && spans[i].offset < end; i++) {
      const s = spans[i];
      out.push([s, Math.max(start, s.offset), Math.min(end, s.offset + s.length)]);
    }
    return out;
  }

  #fileOf(span: Span): PooledFile {
    if (span.file === null) {
      span.file = this.#pool.file(span.path as string, { writable: this.#writable });
      this.#used.add(span);
    }
    return span.file;
  }
}

/** The options WebTorrent passes, as the files of a pooled store (paths by WebTorrent file index). */
export function storeFiles(opts: Pick<WtStoreOptions, 'files'>, pathOf: (index: number) => string | null): PooledStoreFile[] {
  return opts.files.map((f, i) => ({ path: pathOf(i), offset: f.offset, length: f.length }));
}

function fail<T>(cb: Callback<T>, err: Error): void {
  queueMicrotask(() => cb(err));
}
