import { recordUnreferencedBlobs } from '../store/blobs.repo.js';
import type { Db } from '../db/database.js';

/** The one piece of SQL the upload service needs beyond FilesService. */
export class UploadRepo {
  constructor(private readonly db: Db) {}

  /**
   * Content was committed to the store but no file took it (the name was taken, space ran out
   * between the check and the entry). Give it a blob row with no references, so the collector
   * frees the bytes after its grace period; an existing row (content in use) is left alone.
   */
  async adoptUnreferenced(etag: string, size: number, now: number = Date.now()): Promise<void> {
    await recordUnreferencedBlobs(this.db, [{ etag, size }], now);
  }
}
