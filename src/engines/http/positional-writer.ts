import { write, writev } from 'node:fs';

// Writes one response's body to its place in the data file as it arrives, without copying it:
// received chunks are queued as they are and written by positional `writev` calls, one call in
// flight per writer. A call starts once MIN_BATCH bytes are queued, or FLUSH_MS after the first
// queued byte (so a slow download still shows its progress at once): at loopback speeds this
// keeps the calls, and their threadpool hand-offs, to a few thousand per GiB instead of one per
// 64 KiB socket read. Each completed call is reported, so progress moves with every write rather
// than per block. The queue is bounded: `push` answers false once it is full, and `onDrain`
// tells the caller to read again (it pauses its response meanwhile).

/** Bytes waiting behind the call in flight before the source should pause. */
export const MAX_QUEUED = 4 * 1024 * 1024;
/** Bytes queued before a write starts without waiting for FLUSH_MS. */
export const MIN_BATCH = 512 * 1024;
const FLUSH_MS = 50;
/** Buffers per writev call (Linux' IOV_MAX is 1024). */
const MAX_IOV = 256;

export class PositionalWriter {
  #queue: Buffer[] = [];
  #queued = 0;
  /** File offset of the first queued byte. */
  #at: number;
  #busy = false;
  #error: Error | null = null;
  #blocked = false;
  #timer: NodeJS.Timeout | null = null;
  #idle: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  /** Called after `push` answered false, once the queue has room again. */
  onDrain: () => void = () => {};
  /** Called once, when a write fails; nothing more is written. */
  onError: (err: Error) => void = () => {};

  constructor(
    private readonly fd: number,
    at: number,
    /** Bytes [start, end) are written (called in file order, after each completed call). */
    private readonly onWritten: (start: number, end: number) => void,
  ) {
    this.#at = at;
  }

  /** Queues `chunk` right after the previous one; false: pause the source until `onDrain`. */
  push(chunk: Buffer): boolean {
    if (this.#error !== null || chunk.length === 0) return this.#error === null;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    this.#schedule();
    if (this.#queued < MAX_QUEUED) return true;
    this.#blocked = true;
    return false;
  }

  /** Resolves once every queued byte is written; rejects with the write error if one failed. */
  drained(): Promise<void> {
    if (this.#error !== null) return Promise.reject(this.#error);
    this.#next(); // the rest, however short
    if (!this.#busy && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#idle.push({ resolve, reject }));
  }

  /** Writes now if a batch is full, else soon. */
  #schedule(): void {
    if (this.#busy || this.#queue.length === 0) return;
    if (this.#queued >= MIN_BATCH) this.#next();
    else this.#timer ??= setTimeout(() => this.#next(), FLUSH_MS);
  }

  #next(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#busy || this.#queue.length === 0 || this.#error !== null) return;
    const bufs = this.#queue.length <= MAX_IOV ? this.#queue : this.#queue.slice(0, MAX_IOV);
    this.#queue = bufs === this.#queue ? [] : this.#queue.slice(MAX_IOV);
    let length = 0;
    for (const b of bufs) length += b.length;
    this.#queued -= length;
    const start = this.#at;
    this.#at += length;
    this.#busy = true;
    const done = (err: NodeJS.ErrnoException | null, bytes: number): void => {
      this.#busy = false;
      if (err === null && bytes <= 0) err = Object.assign(new Error(`A write at byte ${start} wrote nothing.`), { code: 'EIO', syscall: 'write' });
      if (err !== null) {
        this.#fail(err);
        return;
      }
      if (bytes < length) this.#requeue(bufs, bytes, start + bytes);
      this.onWritten(start, start + bytes);
      if (this.#blocked && this.#queued < MAX_QUEUED) {
        this.#blocked = false;
        this.onDrain();
      }
      if (this.#idle.length > 0)
        this.#next(); // someone waits for the end: no more batching
      else this.#schedule();
      if (!this.#busy && this.#queue.length === 0) for (const w of this.#idle.splice(0)) w.resolve();
    };
    if (bufs.length === 1) write(this.fd, bufs[0], 0, length, start, done);
    else writev(this.fd, bufs, start, done);
  }

  /** A short write: the unwritten tail of `bufs` goes back to the front of the queue. */
  #requeue(bufs: Buffer[], written: number, at: number): void {
    const rest: Buffer[] = [];
    let skip = written;
    for (const b of bufs) {
      if (skip >= b.length) skip -= b.length;
      else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    for (const b of rest) this.#queued += b.length;
    this.#queue = [...rest, ...this.#queue];
    this.#at = at;
  }

  #fail(err: Error): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#error = err;
    this.#queue = [];
    this.#queued = 0;
    for (const w of this.#idle.splice(0)) w.reject(err);
    this.onError(err);
  }
}
