// The one BlobWriter of every store: bytes are spooled to a file of the store's own (its temp or
// scratch directory) and hashed as they pass, and only a commit hands the file, with the etag of
// exactly the bytes written, to the store's last step (move into place, send to the bucket).
import type { FileHandle } from 'node:fs/promises';
import { AppError, fromFsError } from '../errors.js';
import type { BlobInfo, BlobWriter } from './blob-store.js';
import { EtagHasher } from './etag.js';
import { unlinkIfExists, writeFully } from './fs-util.js';

export interface SpoolFinish {
  /** Flush the spool file to disk before the last step (a store that keeps this very file). */
  sync: boolean;
  /** Takes the complete spool file, closed, and its etag and size; the file is gone after it. */
  store(path: string, info: BlobInfo): Promise<void>;
}

export class SpoolWriter implements BlobWriter {
  readonly #hasher = new EtagHasher();
  #handle: FileHandle | null;
  /** Writes are chained so that an un-awaited caller cannot interleave chunks. */
  #pending: Promise<void> = Promise.resolve();
  #failed: unknown = null;
  #committed: Promise<BlobInfo> | null = null;
  #aborted = false;

  constructor(
    private readonly path: string,
    handle: FileHandle,
    private readonly finishing: SpoolFinish,
  ) {
    this.#handle = handle;
  }

  write(chunk: Uint8Array): Promise<void> {
    const next = this.#pending.then(async () => {
      if (this.#failed) throw this.#failed;
      const handle = this.#handle;
      if (this.#aborted || this.#committed || !handle) throw new AppError('INTERNAL_ERROR', 'This blob writer is already finished.');
      try {
        await writeFully(handle, chunk);
      } catch (err) {
        this.#failed = fromFsError(err, 'storing a file');
        throw this.#failed;
      }
      this.#hasher.update(chunk);
    });
    this.#pending = next.catch(() => undefined);
    return next;
  }

  commit(): Promise<BlobInfo> {
    this.#committed ??= this.#finish();
    return this.#committed;
  }

  async abort(): Promise<void> {
    if (this.#aborted) return;
    this.#aborted = true;
    await this.#pending;
    // A commit (even one still in flight) keeps what it stored, and cleans up when it fails.
    if (this.#committed !== null) {
      await this.#committed.catch(() => undefined);
      return;
    }
    await this.#discard();
  }

  async #finish(): Promise<BlobInfo> {
    await this.#pending;
    try {
      if (this.#failed) throw this.#failed;
      if (!this.#handle) throw new AppError('INTERNAL_ERROR', 'This blob writer was aborted before commit.');
      if (this.finishing.sync) await this.#handle.sync();
      await this.#closeHandle();
      const info: BlobInfo = { etag: this.#hasher.digest(), size: this.#hasher.size };
      await this.finishing.store(this.path, info);
      return info;
    } catch (err) {
      await this.#discard();
      throw fromFsError(err, 'storing a file');
    }
  }

  async #discard(): Promise<void> {
    await this.#closeHandle().catch(() => undefined);
    await unlinkIfExists(this.path).catch(() => undefined);
  }

  async #closeHandle(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close();
  }
}
