import type { Readable } from 'node:stream';
import { mapInParallel } from '../parallel.js';

/** What the store knows of one stored content. */
export interface BlobInfo {
  etag: string;
  size: number;
}

/** An in-progress write: bytes go in, the store computes the etag, commit makes it durable. */
export interface BlobWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes, fsyncs and moves the bytes to their content address. Idempotent per content. */
  commit(): Promise<BlobInfo>;
  /** Drops the partial bytes. Safe to call after a failed write or twice. */
  abort(): Promise<void>;
}

/**
 * Content-addressed bytes keyed by etag. Reference counting lives in the database (blobs table):
 * drivers only keep bytes. The local-disk driver is the default; the S3 driver (s3.ts) keeps
 * them in a bucket. Both pass the same conformance suite.
 */
export interface BlobStore {
  createWriter(): Promise<BlobWriter>;
  /** Moves a finished file (same filesystem) into the store after hashing it; no copy. */
  importFile(path: string): Promise<BlobInfo>;
  /**
   * Moves a finished file into the store under `info` without reading it: no copy, no hash.
   * Only for a caller that computed the etag itself from the very bytes of the file, in one
   * pass over the final file (the upload service, from the sub-block digests it took while
   * receiving them; an offline job's tracker, when its engine never rewrote what it hashed) —
   * never from a client's claim, never from digests of an earlier attempt, and with nobody
   * writing the file any more (src/store/README.md). The file is made durable and then belongs
   * to the store (it is gone from `path` when this resolves, also when the content was already
   * stored). When content stored under the etag has another size and does hash to it, the
   * claim is false: EtagMismatch, and the file stays at `path`. Optional: drivers without it
   * are given importFile instead.
   */
  adoptFile?(path: string, info: BlobInfo): Promise<BlobInfo>;
  /**
   * adoptFile for many files at once, with the same promise for each, made durable together
   * (a directory that gains many entries is synced once, not once per file). Each result is the
   * file's BlobInfo or the error adoptFile would have thrown for it (EtagMismatch: that file
   * stays at its path). Rejects only when the batch as a whole could not be made durable.
   */
  adoptFiles?(files: readonly AdoptRequest[]): Promise<Array<BlobInfo | Error>>;
  exists(etag: string): Promise<boolean>;
  size(etag: string): Promise<number | null>;
  /** Streams bytes [start, end] inclusive (the whole content when omitted). */
  read(etag: string, range?: { start: number; end: number }): Promise<Readable>;
  delete(etag: string): Promise<void>;
  /** Every etag the driver holds (for fsck and the collector). */
  list(): AsyncIterable<string>;
  /** Removes temporary files older than maxAgeMs (left by crashes). */
  sweepTemp(maxAgeMs: number): Promise<number>;
  /** When the content was last written (ms since the epoch), or null when it is not stored. */
  modifiedAt(etag: string): Promise<number | null>;
  /** Where the content's file is on this machine: drivers that keep files (local disk) only. */
  localPath?(etag: string): string;
  /**
   * An address that GETs the content (ranges too) without the server, valid for ttlSeconds:
   * drivers in front of an HTTP object store only. `response` sets the answer's headers.
   */
  presignedGet?(etag: string, ttlSeconds: number, response?: { contentDisposition?: string; contentType?: string }): Promise<string>;
  /** Lets go of what the driver holds open (an S3 client's connections); nothing is used after it. */
  close?(): void;
}

/** A file for adoptFiles: where it is, and the etag and size its caller computed from its bytes. */
export interface AdoptRequest {
  path: string;
  info: BlobInfo;
}

/** A file offered under an etag that stored content of another size provably has: the offer lies. */
export class EtagMismatch extends Error {
  constructor(
    readonly etag: string,
    readonly size: number,
  ) {
    super(`A file of ${size} bytes was offered as ${etag}, whose stored content has another size and hashes to it.`);
    this.name = 'EtagMismatch';
  }
}

/**
 * Moves a file hashed in one pass by its caller into the store (`adoptFile`); hashes it anew
 * (`importFile`) when the driver cannot adopt, or when the store proves the claim false.
 */
export async function adoptOrImport(store: BlobStore, path: string, info: BlobInfo): Promise<BlobInfo> {
  if (store.adoptFile === undefined) return store.importFile(path);
  try {
    return await store.adoptFile(path, info);
  } catch (err) {
    if (err instanceof EtagMismatch) return store.importFile(path);
    throw err;
  }
}

/** How many files a batch keeps in flight: each is a few syscalls on libuv's thread pool. */
const BATCH_PARALLEL = 16;

/**
 * adoptOrImport for many files: those with a claim (`info`) are adopted together; those without
 * one, or whose claim the store proves false, are hashed anew. Each result is the stored
 * BlobInfo or the error storing that one file met.
 */
export async function storeFiles(store: BlobStore, files: readonly { path: string; info: BlobInfo | null }[]): Promise<Array<BlobInfo | Error>> {
  const results = new Array<BlobInfo | Error>(files.length);
  const claimed = files.flatMap((f, i) => (f.info === null || store.adoptFiles === undefined ? [] : [{ at: i, path: f.path, info: f.info }]));
  if (claimed.length > 0) {
    const adopted = await (store.adoptFiles as NonNullable<BlobStore['adoptFiles']>)(claimed);
    for (const [k, c] of claimed.entries()) results[c.at] = adopted[k];
  }
  const rest = files.flatMap((_, i) => (results[i] === undefined || results[i] instanceof EtagMismatch ? [i] : []));
  await mapInParallel(rest, BATCH_PARALLEL, async (i) => {
    results[i] = await store.importFile(files[i].path).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  });
  return results;
}
