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
    await this.db
      .insertInto('blobs')
      .values({ id: etag, size, refs: 0, created_at: now, unreferenced_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }
}
