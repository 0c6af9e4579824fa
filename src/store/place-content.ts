import { createWriteStream } from 'node:fs';
import { link, rename } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { isAppError } from '../errors.js';
import type { BlobStore } from './blob-store.js';
import { errnoOf, mtimeOrNull, unlinkIfExists } from './fs-util.js';

/**
 * Puts the bytes of stored content at `target`, for a program that wants a file of its own (a
 * seed): a hard link to the store's file when it has files, else a copy read from the store,
 * written beside the target and renamed into place whole. An existing `target` is kept (an
 * earlier run's link may be all that keeps a freed content's bytes). False when the content
 * is not stored.
 */
export async function placeContent(store: BlobStore, etag: string, target: string): Promise<boolean> {
  if (store.localPath !== undefined) {
    try {
      await link(store.localPath(etag), target);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return true;
      if (errnoOf(err) === 'ENOENT') return false;
      throw err;
    }
  }
  if ((await mtimeOrNull(target)) !== null) return true;
  const partial = `${target}.copying`;
  try {
    await pipeline(await store.read(etag), createWriteStream(partial));
    await rename(partial, target);
    return true;
  } catch (err) {
    await unlinkIfExists(partial);
    if (isAppError(err) && err.code === 'FILE_NOT_FOUND') return false;
    throw err;
  }
}
