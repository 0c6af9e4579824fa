import type { DataDirLayout } from '../data-dir/index.js';
import type { BlobStore } from './blob-store.js';
import { LocalDiskBlobStore } from './local-disk.js';
import type { StoreConfig } from './store-config.js';

/**
 * The store the configuration names: the data directory's `blobs/` (the default), or an S3
 * bucket, whose writers spool to the data directory's store temp dir. The SDK is loaded only
 * for a bucket, which must be reachable: a wrong endpoint, bucket or key stops the start.
 */
export async function openBlobStore(config: StoreConfig, layout: DataDirLayout): Promise<BlobStore> {
  if (config.kind === 'local') return new LocalDiskBlobStore(layout.blobs);
  const { S3BlobStore, s3ClientFor } = await import('./s3.js');
  const store = new S3BlobStore({
    client: s3ClientFor(config.location),
    bucket: config.location.bucket,
    prefix: config.location.prefix,
    scratchDir: layout.blobTemp,
  });
  try {
    await store.checkReachable();
  } catch (err) {
    store.close();
    throw err;
  }
  return store;
}

/** Presigned addresses handed to ffmpeg outlive the longest transcode of one session. */
const SUBPROCESS_URL_TTL_SECONDS = 24 * 3600;

/**
 * Where a program of its own (ffmpeg, ffprobe) reads a content from, with seeking: the file on
 * local disk, or a presigned GET of the bucket (ffmpeg reads HTTP with ranges), so no copy is made.
 */
export async function subprocessInput(store: BlobStore, etag: string): Promise<string> {
  if (store.localPath !== undefined) return store.localPath(etag);
  if (store.presignedGet !== undefined) return store.presignedGet(etag, SUBPROCESS_URL_TTL_SECONDS);
  throw new Error('This content store gives programs no way to read its content.');
}
