// Sending a local file up to the bucket as one object — a single PUT, or a multipart upload of
// parts read from the file in parallel — and aborting the multipart uploads a crash left open.
// Every body carries a Content-MD5, so the store refuses bytes damaged on the way.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AppError } from '../errors.js';
import { mapInParallel } from '../parallel.js';
import { mtimeOrNull, namesInDir, unlinkIfExists } from './fs-util.js';

export const MiB = 1024 * 1024;
/** S3 accepts at most this many parts per object: larger objects get larger parts. */
const MAX_PARTS = 10_000;
/** In the scratch directory: one record per multipart upload in flight, so a crash's can be aborted. */
const MULTIPART_RECORD = '.multipart';

/** Where and how objects go up. */
export interface PutTarget {
  client: S3Client;
  bucket: string;
  /** Holds the records of multipart uploads in flight. */
  scratchDir: string;
  /** Parts of a multipart upload (at least; larger for objects of more than MAX_PARTS parts). */
  partSize: number;
  /** Parts of one object in flight at once: memory per upload is this × the part size. */
  partParallel: number;
}

export function errorName(err: unknown): string | undefined {
  return (err as { name?: string } | undefined)?.name;
}

export function httpStatusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export function isNotFound(err: unknown): boolean {
  const name = errorName(err);
  return name === 'NotFound' || name === 'NoSuchKey' || httpStatusOf(err) === 404;
}

function md5Base64(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}

/** Reads exactly `buffer.length` bytes at `position`, or fails: the file must not be shorter than its size says. */
async function readFully(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) throw new AppError('INTERNAL_ERROR', 'The file to store ended before its size.');
    done += bytesRead;
  }
}

function parseMultipartRecord(text: string): { key: string; uploadId: string } | null {
  try {
    const record = JSON.parse(text) as { key?: unknown; uploadId?: unknown };
    return typeof record.key === 'string' && typeof record.uploadId === 'string' ? { key: record.key, uploadId: record.uploadId } : null;
  } catch {
    return null;
  }
}

/** Sends the `size` bytes of the file at `path` up as the object `Key`; the file stays. */
export async function putFileAsObject(t: PutTarget, Key: string, path: string, size: number): Promise<void> {
  const { client, bucket: Bucket } = t;
  const partSize = Math.max(t.partSize, Math.ceil(size / MAX_PARTS / MiB) * MiB);
  const handle = await open(path, 'r');
  try {
    if (size <= partSize) {
      const body = Buffer.allocUnsafe(size);
      await readFully(handle, body, 0);
      await client.send(
        new PutObjectCommand({ Bucket, Key, Body: body, ContentLength: body.length, ContentMD5: md5Base64(body), ContentType: 'application/octet-stream' }),
      );
      return;
    }
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: 'application/octet-stream' }));
    if (UploadId === undefined) throw new AppError('INTERNAL_ERROR', 'The object store started no multipart upload.');
    const record = join(t.scratchDir, `${randomBytes(16).toString('hex')}${MULTIPART_RECORD}`);
    await mkdir(t.scratchDir, { recursive: true });
    await writeFile(record, JSON.stringify({ key: Key, uploadId: UploadId }));
    try {
      const numbers = Array.from({ length: Math.ceil(size / partSize) }, (_, i) => i + 1);
      // Each part is read when its turn comes: at most partParallel parts are in memory.
      const parts = await mapInParallel(numbers, t.partParallel, async (PartNumber): Promise<CompletedPart> => {
        const offset = (PartNumber - 1) * partSize;
        const body = Buffer.allocUnsafe(Math.min(partSize, size - offset));
        await readFully(handle, body, offset);
        const sent = await client.send(
          new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: body, ContentLength: body.length, ContentMD5: md5Base64(body) }),
        );
        // The upload is alive: the sweep leaves it alone.
        const now = new Date();
        await utimes(record, now, now);
        return { PartNumber, ETag: sent.ETag };
      });
      await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
      throw err;
    } finally {
      await unlinkIfExists(record);
    }
  } finally {
    await handle.close();
  }
}

/** Aborts the multipart uploads whose record was last touched before `cutoff` (a crash's); returns how many records went. */
export async function abortAbandonedUploads(client: S3Client, bucket: string, scratchDir: string, cutoff: number): Promise<number> {
  let removed = 0;
  for (const name of await namesInDir(scratchDir)) {
    if (!name.endsWith(MULTIPART_RECORD)) continue;
    const path = join(scratchDir, name);
    const modified = await mtimeOrNull(path);
    if (modified === null || modified >= cutoff) continue;
    const record = parseMultipartRecord(await readFile(path, 'utf8').catch(() => ''));
    if (record !== null) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: record.key, UploadId: record.uploadId })).catch((err: unknown) => {
        // Gone already; or a server that cannot abort (s3rver): its lifecycle rules must (docs/scale-out.md).
        const name = errorName(err);
        if (!isNotFound(err) && name !== 'NoSuchUpload' && name !== 'MethodNotAllowed' && name !== 'NotImplemented') throw err;
      });
    }
    await unlinkIfExists(path);
    removed++;
  }
  return removed;
}
