// Over 400 lines, whole on purpose: one pool of file descriptors (the limit, the waiters, the
// retries on EMFILE and the idle closing) whose invariants hold only together.
import { constants } from 'node:fs';
import { mkdir, open as fsOpen, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// A bounded pool of open files for the engines' job files, so that the number of files in a
// torrent never decides how many descriptors the server holds. Before it, fs-chunk-store kept
// one descriptor open per file until the torrent closed: a 100,000-file torrent took the
// process's whole limit (20,000), and every new connection — any user's, any route — was then
// refused with an empty reply.
//
// * A job's store asks for a `PooledFile` per torrent file; nothing is opened until a read or a
//   write needs it. Every descriptor the pool holds — open, being opened or being closed —
//   counts toward `max`. A use that needs a slot when none is free queues (first come, first
//   served) and the least recently used idle file is closed for it (its next use reopens it);
//   with no idle file, it waits for one. A freed slot is handed to one waiter, never broadcast:
//   with a 3,000-file torrent and a pool of 32, waking every waiter on every release cost
//   millions of wake-ups and made the download 7× slower.
// * A file in use (a read or write in flight) is never closed, by eviction or by its store: a
//   close waits for the last use to end. One use holds one file, so uses cannot deadlock each
//   other whatever `max` is.
// * EMFILE / ENFILE from `open` (the process or the system ran out, because of sockets, other
//   stores, anything): the pool closes one of its idle files and tries again, else waits and
//   tries again, for about 4 s in all; then it fails that one use with a
//   `DescriptorsExhaustedError`, which fails that one job (IO_ERROR, with this message) and
//   leaves the server and the other jobs alone.

/** OPENPAN_MAX_OPEN_FILES's default: descriptors the pool may hold for job files at once. */
export const DEFAULT_MAX_OPEN_FILES = 256;

/** Waits between attempts when `open` fails with EMFILE/ENFILE and nothing of ours can be closed (~4 s in all). */
export const EXHAUSTED_RETRY_DELAYS_MS: readonly number[] = [10, 25, 50, 100, 250, 500, 1000, 1000, 1000];

/** The process (EMFILE) or the system (ENFILE) has no descriptor left. */
export function isDescriptorExhaustion(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * A job file could not be opened because descriptors stayed exhausted through the retries.
 * Carries the errno code and `syscall: 'open'`, so callers that sort errors by them (a
 * filesystem error, not the network's) need nothing new.
 */
export class DescriptorsExhaustedError extends Error {
  readonly code: 'EMFILE' | 'ENFILE';
  readonly syscall = 'open';
  readonly path: string;

  constructor(code: 'EMFILE' | 'ENFILE', path: string, waitedMs: number, options?: { cause?: unknown }) {
    const who = code === 'EMFILE' ? 'the server process' : 'the system';
    super(
      `Too many open files in ${who} (${code}): a file of this download could not be opened, still after ${Math.round(waitedMs / 100) / 10} s of retries. ` +
        'Raise the open-file limit (ulimit -n, LimitNOFILE) or lower OPENPAN_MAX_OPEN_FILES.',
      options,
    );
    this.name = 'DescriptorsExhaustedError';
    this.code = code;
    this.path = path;
  }
}

export type FileOpener = (path: string, flags: number) => Promise<FileHandle>;

const defaultOpen: FileOpener = (path, flags) => fsOpen(path, flags, 0o666);

export interface OpenRetryingOptions {
  /** The open call (tests replace it). */
  open?: FileOpener;
  delaysMs?: readonly number[];
  /** Before each retry: free a descriptor of the caller's own; true if one was freed (retry at once). */
  freeOne?: () => Promise<boolean>;
}

/**
 * `open`, retried while it fails with EMFILE/ENFILE: for job files opened outside a pool (the
 * HTTP engine's one data file per job). Other errors are thrown as they are.
 */
export async function openRetrying(path: string, flags: number | string, opts: OpenRetryingOptions = {}): Promise<FileHandle> {
  const open = opts.open ?? defaultOpen;
  const delays = opts.delaysMs ?? EXHAUSTED_RETRY_DELAYS_MS;
  const numeric = typeof flags === 'number' ? flags : stringFlags(flags);
  let waited = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await open(path, numeric);
    } catch (err) {
      if (!isDescriptorExhaustion(err)) throw err;
      if (attempt >= delays.length)
        throw new DescriptorsExhaustedError((err as NodeJS.ErrnoException).code as 'EMFILE' | 'ENFILE', path, waited, { cause: err });
      if (opts.freeOne !== undefined && (await opts.freeOne())) continue;
      await sleep(delays[attempt]);
      waited += delays[attempt];
    }
  }
}

function stringFlags(flags: string): number {
  const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_TRUNC, O_APPEND, O_EXCL } = constants;
  const table: Record<string, number> = {
    r: O_RDONLY,
    'r+': O_RDWR,
    w: O_WRONLY | O_CREAT | O_TRUNC,
    'w+': O_RDWR | O_CREAT | O_TRUNC,
    wx: O_WRONLY | O_CREAT | O_TRUNC | O_EXCL,
    a: O_WRONLY | O_CREAT | O_APPEND,
  };
  const n = table[flags];
  if (n === undefined) throw new TypeError(`openRetrying: unsupported flags ${JSON.stringify(flags)}`);
  return n;
}

/** The descriptor state of one PooledFile while the pool holds (or is getting) a descriptor for it. */
interface Entry {
  readonly file: PooledFile;
  handle: FileHandle | null;
  opening: Promise<FileHandle> | null;
  /** Whether the open in flight creates the file (a write's open may follow a read's failed one). */
  openingCreates: boolean;
  /** Reads and writes in flight. */
  users: number;
  /** Resolves once the descriptor is closed (for `PooledFile.close`). */
  retired: { promise: Promise<void>; resolve: () => void } | null;
}

export interface FdPoolOptions {
  /** Most descriptors held at once (OPENPAN_MAX_OPEN_FILES). Default 256. */
  max?: number;
  /** The open call (tests replace it to simulate EMFILE). */
  open?: FileOpener;
  /** Waits between EMFILE/ENFILE retries. */
  retryDelaysMs?: readonly number[];
}

/** A process-wide LRU of open job files, at most `max` descriptors. */
export class FdPool {
  readonly max: number;
  readonly #open: FileOpener;
  readonly #delays: readonly number[];
  /** Files that hold a slot: open, being opened, or in use. */
  readonly #entries = new Map<PooledFile, Entry>();
  /** Open files with no use in flight, least recently used first (Set keeps insertion order). */
  readonly #idle = new Set<Entry>();
  /**
   * Slots nobody holds. A slot is held by an entry, by a descriptor being closed (until the
   * close completes), or by a waiter it was handed to.
   */
  #free: number;
  /** Uses waiting for a slot, first come first served; a freed slot is handed to the first. */
  readonly #waiters = new Fifo<() => void>();
  /** Closes started to make room for waiters and not yet complete. */
  #evicting = 0;
  #peak = 0;
  #evictions = 0;

  constructor(opts: FdPoolOptions = {}) {
    const max = opts.max ?? DEFAULT_MAX_OPEN_FILES;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`FdPool: max must be a positive integer, got ${max}`);
    this.max = max;
    this.#free = max;
    this.#open = opts.open ?? defaultOpen;
    this.#delays = opts.retryDelaysMs ?? EXHAUSTED_RETRY_DELAYS_MS;
  }

  /** A file of a store: `writable` opens it read-write (created, with its folder, on the first write), else read-only. */
  file(path: string, opts: { writable: boolean }): PooledFile {
    return new PooledFile(this, path, opts.writable);
  }

  /** Descriptors held now (open, being opened or being closed). Never above `max`. */
  get held(): number {
    return this.max - this.#free;
  }

  /** The most descriptors held at once since the pool was made. */
  get peak(): number {
    return this.#peak;
  }

  /** Files closed to make room for others. */
  get evictions(): number {
    return this.#evictions;
  }

  /** Runs `fn` with the file's descriptor; the file stays open (and un-evictable) until `fn` settles. */
  async use<T>(file: PooledFile, create: boolean, fn: (handle: FileHandle) => Promise<T>): Promise<T> {
    const entry = await this.#claim(file);
    try {
      return await fn(await this.#handleOf(entry, create));
    } finally {
      this.#release(entry);
    }
  }

  /** Closes the file's descriptor once no use is in flight; later uses fail. */
  closeFile(file: PooledFile): Promise<void> {
    const entry = this.#entries.get(file);
    if (entry === undefined) return Promise.resolve();
    if (entry.users === 0) return this.#retire(entry);
    if (entry.retired === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((res) => (resolve = res));
      entry.retired = { promise, resolve };
    }
    return entry.retired.promise;
  }

  /** The file's entry, with this use counted: the file's own if it has one, else one in a free slot. */
  async #claim(file: PooledFile): Promise<Entry> {
    if (file.closed) throw closedError(file);
    const existing = this.#joined(file);
    if (existing !== null) return existing;
    if (this.#free > 0 && this.#waiters.length === 0) {
      this.#free--;
    } else {
      const slot = new Promise<void>((res) => this.#waiters.push(res));
      this.#evictForWaiters();
      await slot; // handed over: ours now
      const joined = file.closed ? null : this.#joined(file);
      if (file.closed || joined !== null) {
        this.#giveSlot(); // closed meanwhile, or another use of this file opened it
        if (joined !== null) return joined;
        throw closedError(file);
      }
    }
    const entry: Entry = { file, handle: null, opening: null, openingCreates: false, users: 1, retired: null };
    this.#entries.set(file, entry);
    this.#peak = Math.max(this.#peak, this.held);
    return entry;
  }

  /** The file's entry with one more use, if it has one. */
  #joined(file: PooledFile): Entry | null {
    const entry = this.#entries.get(file);
    if (entry === undefined) return null;
    entry.users++;
    this.#idle.delete(entry);
    return entry;
  }

  async #handleOf(entry: Entry, create: boolean): Promise<FileHandle> {
    for (;;) {
      if (entry.handle !== null) return entry.handle;
      if (entry.opening === null) {
        entry.openingCreates = create;
        entry.opening = this.#openFile(entry.file, create).then(
          (handle) => {
            entry.opening = null;
            entry.handle = handle;
            return handle;
          },
          (err: unknown) => {
            entry.opening = null;
            throw err;
          },
        );
      }
      const creates = entry.openingCreates;
      try {
        return await entry.opening;
      } catch (err) {
        // A read's open found no file; this write creates it.
        if (create && !creates && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
    }
  }

  async #openFile(file: PooledFile, create: boolean): Promise<FileHandle> {
    const { O_RDONLY, O_RDWR, O_CREAT } = constants;
    const flags = !file.writable ? O_RDONLY : create ? O_RDWR | O_CREAT : O_RDWR;
    const retrying = (): Promise<FileHandle> => openRetrying(file.path, flags, { open: this.#open, delaysMs: this.#delays, freeOne: () => this.#freeOne() });
    try {
      return await retrying();
    } catch (err) {
      if (!create || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dirname(file.path), { recursive: true });
      return retrying();
    }
  }

  /** Under EMFILE: closes the least recently used idle file, if there is one. */
  async #freeOne(): Promise<boolean> {
    const victim = this.#idle.values().next();
    if (victim.done) return false;
    this.#evictions++;
    await this.#retire(victim.value);
    return true;
  }

  /** While some waiters have no close under way for them, closes idle files, least recently used first. */
  #evictForWaiters(): void {
    while (this.#waiters.length > this.#evicting && this.#idle.size > 0) {
      const victim = this.#idle.values().next().value as Entry;
      this.#evictions++;
      this.#evicting++;
      void this.#retire(victim, true);
    }
  }

  #release(entry: Entry): void {
    entry.users--;
    if (entry.users > 0) return;
    if (entry.handle === null) {
      // Never opened (the open failed): give the slot back.
      this.#entries.delete(entry.file);
      entry.retired?.resolve();
      this.#giveSlot();
    } else if (entry.file.closed) {
      void this.#retire(entry);
    } else {
      this.#idle.add(entry); // most recently used: last
      this.#evictForWaiters();
    }
  }

  /** Closes an idle entry's descriptor; its slot is given on once the close completes. */
  #retire(entry: Entry, forWaiters = false): Promise<void> {
    this.#entries.delete(entry.file);
    this.#idle.delete(entry);
    const handle = entry.handle;
    entry.handle = null;
    const done = (): void => {
      if (forWaiters) this.#evicting--;
      entry.retired?.resolve();
      this.#giveSlot();
    };
    if (handle === null) {
      done();
      return Promise.resolve();
    }
    return handle
      .close()
      .catch(() => {}) // a close error leaves nothing to do: the descriptor is gone either way
      .finally(done);
  }

  /** A slot was freed: to the first waiter, or back to the free ones. */
  #giveSlot(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next();
    else this.#free++;
  }
}

/**
 * A first-in first-out queue whose shift costs O(1): a 100,000-file job can queue a use per file
 * at once, and Array#shift moves every element each time.
 */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

function closedError(file: PooledFile): Error {
  return new Error(`Storage is closed (${file.path})`);
}

/** One file of a store, opened through the pool on use. */
export class PooledFile {
  #closed = false;

  constructor(
    private readonly pool: FdPool,
    readonly path: string,
    readonly writable: boolean,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Reads exactly `length` bytes at `position` into `buf` at `offset`; a file too short is an error. */
  read(buf: Buffer, offset: number, length: number, position: number): Promise<void> {
    return this.pool.use(this, false, async (fh) => {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, offset + done, length - done, position + done);
        if (bytesRead === 0) throw Object.assign(new Error(`Could not satisfy length: ${this.path} ends before byte ${position + length}`), { code: 'EOF' });
        done += bytesRead;
      }
    });
  }

  /** Writes all of `buf` at `position`, creating the file (and its folder) if needed. */
  write(buf: Buffer, position: number): Promise<void> {
    if (!this.writable) return Promise.reject(new Error(`${this.path} is read-only here`));
    return this.pool.use(this, true, async (fh) => {
      let done = 0;
      while (done < buf.length) {
        const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
        done += bytesWritten;
      }
    });
  }

  /** Closes the descriptor once the uses in flight end; later reads and writes fail. */
  close(): Promise<void> {
    this.#closed = true;
    return this.pool.closeFile(this);
  }
}
