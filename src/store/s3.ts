import { randomBytes } from 'node:crypto';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AppError, fromFsError } from '../errors.js';
import { mapInParallel } from '../parallel.js';
import { abortAbandonedUploads, errorName, httpStatusOf, isNotFound, MiB, putFileAsObject, type PutTarget } from './s3-put.js';
import { EtagMismatch, type AdoptRequest, type BlobInfo, type BlobStore, type BlobWriter } from './blob-store.js';
import { EtagHasher, isEtag } from './etag.js';
import { SpoolWriter } from './spool-writer.js';
import type { S3Location } from './store-config.js';
import { sweepOldFiles } from './fs-util.js';

/** Parts of a multipart upload: above S3's 5 MiB minimum, small enough that a few in flight stay cheap. */
const DEFAULT_PART_SIZE = 8 * MiB;
/** Parts of one object in flight at once: memory per upload is this × the part size. */
const DEFAULT_PART_PARALLEL = 4;
/** Files of an adoptFiles batch uploading at once (each with its own parts in flight). */
const ADOPT_PARALLEL = 4;
/** Objects of the store live under `<prefix>blobs/`, so the bucket (or prefix) can hold other things too. */
const BLOBS_DIR = 'blobs/';
const READ_CHUNK = MiB;
export function s3ClientFor(location: S3Location): S3Client {
  return new S3Client({
    region: location.region,
    endpoint: location.endpoint,
    forcePathStyle: location.forcePathStyle,
    credentials: location.credentials,
    // Checksums only where S3 requires them: the default (a CRC trailer on aws-chunked bodies)
    // is not understood by every S3-compatible server, and each part carries a Content-MD5 anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface S3StoreOptions {
  client: S3Client;
  bucket: string;
  prefix: string;
  /** Local scratch space in the data directory: a writer's bytes wait here until commit. */
  scratchDir: string;
  partSize?: number;
  partParallel?: number;
}

/** Refuses anything that is not an etag before it can become part of a key. */
function checkedEtag(etag: string): string {
  if (!isEtag(etag)) throw new AppError('HASH_INVALID', 'Not a well-formed content hash.');
  return etag;
}

function rangeRefused(start: number, end: number, size: number | null): AppError {
  return new AppError('RANGE_NOT_SATISFIABLE', `Bytes ${start}-${end} are outside the content${size === null ? '' : ` (${size} bytes)`}.`);
}

/**
 * A BlobStore in an S3-compatible bucket: one object per content at `<prefix>blobs/<etag>`.
 * The etag must be known before the key is, so bytes are hashed locally first — a writer
 * spools to a scratch file in the data directory, a file to import is read once to hash it —
 * and then sent up under their final key: one PUT for small contents, a multipart upload
 * (parts in parallel, each read from the file and checked by Content-MD5) for large ones.
 * S3 makes an object visible only once it is complete, so a key only ever names whole bytes.
 */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly scratchDir: string;
  /** How objects go up (s3-put.ts). */
  private readonly uploads: PutTarget;
  private scratchReady: Promise<void> | null = null;

  constructor(options: S3StoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.scratchDir = options.scratchDir;
    this.uploads = {
      client: this.client,
      bucket: this.bucket,
      scratchDir: this.scratchDir,
      partSize: options.partSize ?? DEFAULT_PART_SIZE,
      partParallel: options.partParallel ?? DEFAULT_PART_PARALLEL,
    };
  }

  close(): void {
    this.client.destroy();
  }

  /** Fails with a message an operator can act on when the bucket cannot be reached (checked at start). */
  async checkReachable(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const why = httpStatusOf(err) === 404 ? 'it does not exist' : httpStatusOf(err) === 403 ? 'access is denied' : (err as Error).message || errorName(err);
      throw new Error(`The S3 bucket ${this.bucket} (OPENPAN_STORE) cannot be used: ${why}. Check AWS_ENDPOINT_URL_S3, AWS_REGION and the credentials.`, {
        cause: err,
      });
    }
  }

  /** The object key of `etag`. Throws HASH_INVALID for anything that is not an etag. */
  keyOf(etag: string): string {
    return `${this.prefix}${BLOBS_DIR}${checkedEtag(etag)}`;
  }

  async createWriter(): Promise<BlobWriter> {
    const path = await this.newScratchPath();
    try {
      const handle = await open(path, 'wx');
      return new SpoolWriter(path, handle, { sync: false, store: (p, info) => this.storeFile(p, info) });
    } catch (err) {
      throw fromFsError(err, 'starting to store a file');
    }
  }

  async importFile(path: string): Promise<BlobInfo> {
    const hasher = new EtagHasher();
    const handle = await open(path, 'r');
    try {
      for await (const chunk of handle.createReadStream({ highWaterMark: READ_CHUNK, autoClose: false })) hasher.update(chunk as Buffer);
    } finally {
      await handle.close();
    }
    const info: BlobInfo = { etag: hasher.digest(), size: hasher.size };
    await this.storeFile(path, info);
    return info;
  }

  async adoptFile(path: string, info: BlobInfo): Promise<BlobInfo> {
    checkedEtag(info.etag);
    if (!Number.isSafeInteger(info.size) || info.size < 0) throw new TypeError(`size out of range: ${info.size}`);
    const { size } = await stat(path);
    if (size !== info.size) throw new AppError('INTERNAL_ERROR', `The file to store has ${size} bytes, not ${info.size}.`);
    await this.storeFile(path, info);
    return { etag: info.etag, size: info.size };
  }

  adoptFiles(files: readonly AdoptRequest[]): Promise<Array<BlobInfo | Error>> {
    return mapInParallel(files, ADOPT_PARALLEL, (f) =>
      this.adoptFile(f.path, f.info).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
    );
  }

  async exists(etag: string): Promise<boolean> {
    return (await this.size(etag)) !== null;
  }

  async size(etag: string): Promise<number | null> {
    return (await this.head(etag))?.size ?? null;
  }

  async modifiedAt(etag: string): Promise<number | null> {
    return (await this.head(etag))?.modifiedAt ?? null;
  }

  private async head(etag: string): Promise<{ size: number; modifiedAt: number } | null> {
    const Key = this.keyOf(etag);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { size: head.ContentLength ?? 0, modifiedAt: head.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(etag: string, range?: { start: number; end: number }): Promise<Readable> {
    const Key = this.keyOf(etag);
    if (range) {
      const { start, end } = range;
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) throw rangeRefused(start, end, null);
    }
    let answer: GetObjectCommandOutput;
    try {
      answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }));
    } catch (err) {
      if (isNotFound(err)) throw new AppError('FILE_NOT_FOUND', 'The file content is not stored on this server.');
      if (range && (errorName(err) === 'InvalidRange' || httpStatusOf(err) === 416)) throw rangeRefused(range.start, range.end, null);
      throw err;
    }
    const body = answer.Body as Readable;
    if (range === undefined) return body;
    // S3 shortens a range that runs past the end; the interface refuses it, as a file would.
    const answered = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(answer.ContentRange ?? '');
    const total = answered === null ? null : Number(answered[3]);
    if (answered === null || Number(answered[1]) !== range.start || !(range.end < (total as number))) {
      body.destroy();
      if (answered === null || total === null || range.end < total)
        throw new AppError('INTERNAL_ERROR', `The object store answered bytes ${answer.ContentRange} for ${range.start}-${range.end}.`);
      throw rangeRefused(range.start, range.end, total);
    }
    // Some S3-compatible servers answer more than was asked (s3rver reads `bytes=0-0` as `0-`).
    const wanted = range.end - range.start + 1;
    return Number(answered[2]) - Number(answered[1]) + 1 > wanted ? Readable.from(firstBytes(body, wanted), { objectMode: false }) : body;
  }

  async delete(etag: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(etag) }));
  }

  async *list(): AsyncIterable<string> {
    const Prefix = `${this.prefix}${BLOBS_DIR}`;
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken }));
      for (const object of page.Contents ?? []) {
        const name = object.Key?.slice(Prefix.length) ?? '';
        if (isEtag(name)) yield name;
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken !== undefined);
  }

  /**
   * Scratch files of writers idle for maxAgeMs, and multipart uploads left open that long (by a
   * crash: each one in flight has a record in the scratch directory, touched as its parts go up;
   * the records go first, so that the scratch sweep after them does not drop one unaborted).
   */
  async sweepTemp(maxAgeMs: number): Promise<number> {
    const aborted = await abortAbandonedUploads(this.client, this.bucket, this.scratchDir, Date.now() - maxAgeMs);
    return aborted + (await sweepOldFiles(this.scratchDir, maxAgeMs));
  }

  /**
   * A GET of the content signed for `ttlSeconds`: whoever holds it reads the bytes from the
   * bucket directly (downloads that bypass the server, ffmpeg's input).
   */
  async presignedGet(etag: string, ttlSeconds: number, response: { contentDisposition?: string; contentType?: string } = {}): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.keyOf(etag),
      ResponseContentDisposition: response.contentDisposition,
      ResponseContentType: response.contentType,
    });
    return getSignedUrl(this.client, command, { expiresIn: ttlSeconds });
  }

  /**
   * Sends the file at `path` up as the content `info` names, then removes it. Same etag means
   * same bytes, so content already stored with that size is kept and the file dropped; stored
   * content of another size is hashed: when it hashes to the etag the offered file lies
   * (EtagMismatch, the file stays), otherwise the stored copy is damaged and replaced.
   */
  private async storeFile(path: string, info: BlobInfo): Promise<void> {
    const stored = await this.size(info.etag);
    if (stored !== null) {
      if (stored === info.size) {
        await unlink(path);
        return;
      }
      if (await this.storedHashesTo(info.etag)) throw new EtagMismatch(info.etag, info.size);
    }
    await putFileAsObject(this.uploads, this.keyOf(info.etag), path, info.size);
    await unlink(path);
  }

  private async storedHashesTo(etag: string): Promise<boolean> {
    const hasher = new EtagHasher();
    for await (const chunk of await this.read(etag)) hasher.update(chunk as Buffer);
    return hasher.digest() === etag;
  }

  private async newScratchPath(): Promise<string> {
    this.scratchReady ??= mkdir(this.scratchDir, { recursive: true }).then(
      () => undefined,
      (err: unknown) => {
        this.scratchReady = null;
        throw fromFsError(err, 'creating the temporary directory');
      },
    );
    await this.scratchReady;
    return join(this.scratchDir, `${randomBytes(16).toString('hex')}.part`);
  }
}

/** The first `count` bytes of `body`; the rest is not read (the body is destroyed when done). */
async function* firstBytes(body: Readable, count: number): AsyncGenerator<Buffer> {
  let left = count;
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      if (bytes.length >= left) {
        yield bytes.subarray(0, left);
        return;
      }
      left -= bytes.length;
      yield bytes;
    }
  } finally {
    body.destroy();
  }
}
