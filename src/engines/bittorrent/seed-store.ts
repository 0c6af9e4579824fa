import { open, type FileHandle } from 'node:fs/promises';
import type { WtStoreConstructor, WtStoreOptions } from './webtorrent-api.js';

// The chunk store of a seed: reads pieces from files someone else owns (hard links to the
// content store's blobs) and refuses every write, so a seed can never change stored content,
// whatever a peer sends. Files named `null` (BEP 47 pad files) read as zeros.

type Callback<T> = (err: Error | null, value?: T) => void;

interface Span {
  path: string | null;
  offset: number;
  length: number;
}

/** A chunk store constructor over `paths` (by WebTorrent file index; null: zeros). */
export function readOnlyStore(paths: ReadonlyArray<string | null>): WtStoreConstructor {
  return class ReadOnlyChunkStore {
    readonly chunkLength: number;
    readonly #files: Span[];
    readonly #length: number;
    readonly #handles = new Map<string, Promise<FileHandle>>();
    #closed = false;

    constructor(chunkLength: number, opts: WtStoreOptions) {
      this.chunkLength = chunkLength;
      this.#files = opts.files.map((f, i) => ({ path: paths[i] ?? null, offset: f.offset, length: f.length }));
      this.#length = opts.length;
    }

    get(index: number, opts: { offset?: number; length?: number } | null | Callback<Buffer>, cb?: Callback<Buffer>): void {
      if (typeof opts === 'function') return this.get(index, null, opts);
      const done = cb ?? (() => {});
      const chunkStart = index * this.chunkLength;
      const chunkLength = Math.min(this.chunkLength, this.#length - chunkStart);
      const from = opts?.offset ?? 0;
      const length = opts?.length ?? chunkLength - from;
      if (this.#closed) return queueMicrotask(() => done(new Error('Storage is closed')));
      if (chunkLength <= 0 || from < 0 || length < 0 || from + length > chunkLength) return queueMicrotask(() => done(new Error('Invalid offset and/or length')));
      this.#read(chunkStart + from, length).then(
        (buf) => done(null, buf),
        (err: Error) => done(err),
      );
    }

    put(_index: number, _buf: Buffer, cb?: Callback<void>): void {
      queueMicrotask(() => cb?.(new Error('This store is read-only: a seed never writes.')));
    }

    close(cb?: Callback<void>): void {
      this.#closed = true;
      const handles = [...this.#handles.values()];
      this.#handles.clear();
      void Promise.allSettled(handles.map(async (h) => (await h).close())).then(() => cb?.(null));
    }

    /** Never deletes anything: the files are not the engine's. */
    destroy(cb?: Callback<void>): void {
      this.close(cb);
    }

    async #read(start: number, length: number): Promise<Buffer> {
      const buf = Buffer.alloc(length);
      const end = start + length;
      for (const f of this.#files) {
        const lo = Math.max(start, f.offset);
        const hi = Math.min(end, f.offset + f.length);
        if (hi <= lo || f.path === null) continue; // outside the range, or a pad file (zeros)
        const handle = await this.#handle(f.path);
        const { bytesRead } = await handle.read(buf, lo - start, hi - lo, lo - f.offset);
        if (bytesRead !== hi - lo) throw new Error(`Short read from ${f.path}`);
      }
      return buf;
    }

    #handle(path: string): Promise<FileHandle> {
      let handle = this.#handles.get(path);
      if (handle === undefined) {
        handle = open(path, 'r');
        handle.catch(() => this.#handles.delete(path));
        this.#handles.set(path, handle);
      }
      return handle;
    }
  } as unknown as WtStoreConstructor;
}
