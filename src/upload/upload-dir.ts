import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UPLOADS_DONE_DIR } from '../data-dir/layout.js';
import { fromFsError } from '../errors.js';
import type { BlobInfo } from '../store/blob-store.js';
import { isEtag } from '../store/etag.js';

// The uploads directory (`<dataDir>/uploads`): a file per block sent without a place in an
// assembly, named by its blockId, the assembly files (assembly.ts), and in `done/` a record
// per finished mkfile, named by the SHA-256 of its request, so that a retry answers the same.

/** A finished-upload record (the SHA-256 of its request), or its temporary file while written. */
export const DONE_RECORD_RE = /^[0-9a-f]{64}(\.tmp)?$/;

export class UploadDir {
  private ready: Promise<unknown> | null = null;

  constructor(readonly path: string) {}

  /** The file of a block; the directories are created on first use. */
  async blockPath(blockId: string): Promise<string> {
    this.ready ??= mkdir(join(this.path, UPLOADS_DONE_DIR), { recursive: true }).catch((err: unknown) => {
      this.ready = null;
      throw fromFsError(err, 'preparing the upload directory');
    });
    await this.ready;
    return join(this.path, blockId);
  }

  /** Records a finished mkfile so that a retry of it answers the same (until swept). */
  async remember(id: string, info: BlobInfo): Promise<void> {
    const path = this.donePath(id);
    try {
      await writeFile(path + '.tmp', JSON.stringify({ etag: info.etag, size: info.size }));
      await rename(path + '.tmp', path);
    } catch {
      // Only a retry's convenience is lost.
    }
  }

  /** The content a finished mkfile stored, or null when there is no (valid) record of it. */
  async recall(id: string): Promise<BlobInfo | null> {
    let record: { etag?: unknown; size?: unknown };
    try {
      record = JSON.parse(await readFile(this.donePath(id), 'utf8'));
    } catch {
      return null;
    }
    const { etag, size } = record;
    if (!isEtag(etag) || typeof size !== 'number') return null;
    return { etag, size };
  }

  private donePath(id: string): string {
    return join(this.path, UPLOADS_DONE_DIR, id);
  }
}
