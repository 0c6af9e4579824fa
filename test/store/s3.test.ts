import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { EtagMismatch } from '../../src/store/blob-store.js';
import { placeContent } from '../../src/store/place-content.js';
import { S3BlobStore, s3ClientFor } from '../../src/store/s3.js';
import { parseS3Url } from '../../src/store/store-config.js';
import { blobStoreConformance, readAll, referenceEtag } from '../support/blob-store-conformance.js';
import { startS3, type TestS3 } from '../support/s3-server.js';

let s3: TestS3;
before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3?.close();
});

/** A store under a prefix of its own in the shared bucket: each test starts empty. */
async function tempStore(options: { partSize?: number } = {}) {
  const scratchDir = await mkdtemp(join(tmpdir(), 'openpan-s3-scratch-'));
  const prefix = `t-${randomUUID()}/`;
  const client = s3ClientFor(s3.location());
  const store = new S3BlobStore({ client, bucket: s3.bucket, prefix, scratchDir, partSize: options.partSize });
  return {
    store,
    client,
    prefix,
    scratchDir,
    tempFiles: async () => readdir(scratchDir).catch(() => []),
    cleanup: async () => {
      for await (const etag of store.list()) await store.delete(etag);
      client.destroy();
      await rm(scratchDir, { recursive: true, force: true });
    },
  };
}

blobStoreConformance('S3BlobStore', () => tempStore());
// Small parts: the conformance contents of 4 MiB and more go up as multipart uploads of several parts.
blobStoreConformance('S3BlobStore (multipart)', () => tempStore({ partSize: 1024 * 1024 }));

test('s3://BUCKET/prefix is parsed into the bucket and a prefix ending in /', () => {
  assert.deepEqual(parseS3Url('s3://media'), { bucket: 'media', prefix: '' });
  assert.deepEqual(parseS3Url('s3://media/openpan/prod/'), { bucket: 'media', prefix: 'openpan/prod/' });
  assert.equal(parseS3Url('/var/lib/openpan'), null);
  assert.equal(parseS3Url('s3://'), null);
});

test('content is stored at <prefix>blobs/<etag> with exactly its bytes', async () => {
  const { store, client, prefix, cleanup } = await tempStore({ partSize: 1024 * 1024 });
  try {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const writer = await store.createWriter();
    await writer.write(data);
    const { etag } = await writer.commit();
    const object = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}blobs/${etag}` }));
    assert.deepEqual(Buffer.from(await (object.Body as NonNullable<typeof object.Body>).transformToByteArray()), data);
  } finally {
    await cleanup();
  }
});

test('adoptFile refuses a file whose size differs from stored content that hashes to the etag, and keeps the file', async () => {
  const { store, cleanup } = await tempStore();
  const dir = await mkdtemp(join(tmpdir(), 'openpan-s3-adopt-'));
  try {
    const data = randomBytes(1000);
    const stored = await store.importFile(await writeTo(join(dir, 'a'), data));
    const liar = await writeTo(join(dir, 'b'), randomBytes(999));
    await assert.rejects(store.adoptFile(liar, { etag: stored.etag, size: 999 }), (err) => err instanceof EtagMismatch);
    assert.equal((await readdir(dir)).includes('b'), true);
    assert.deepEqual(await readAll(await store.read(stored.etag)), data);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await cleanup();
  }
});

test('a damaged object (other size, does not hash to its etag) is replaced by content that does', async () => {
  const { store, client, prefix, cleanup } = await tempStore();
  const dir = await mkdtemp(join(tmpdir(), 'openpan-s3-damaged-'));
  try {
    const data = randomBytes(5000);
    const etag = referenceEtag(data);
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}blobs/${etag}`, Body: data.subarray(0, 100) }));
    assert.deepEqual(await store.adoptFile(await writeTo(join(dir, 'good'), data), { etag, size: data.length }), { etag, size: data.length });
    assert.deepEqual(await readAll(await store.read(etag)), data);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await cleanup();
  }
});

test('sweepTemp aborts a multipart upload a crash left open, once its record is older than the age given', async () => {
  const { store, client, prefix, cleanup, scratchDir } = await tempStore();
  try {
    const key = `${prefix}blobs/${referenceEtag(Buffer.from('interrupted'))}`;
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }));
    await mkdir(scratchDir, { recursive: true });
    await writeFile(join(scratchDir, 'crashed.multipart'), JSON.stringify({ key, uploadId: UploadId }));
    assert.equal(await store.sweepTemp(60 * 60 * 1000), 0);
    const past = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(scratchDir, 'crashed.multipart'), past, past);
    assert.equal(await store.sweepTemp(60 * 60 * 1000), 1);
    assert.deepEqual(await readdir(scratchDir), []);
  } finally {
    await cleanup();
  }
});

test('a presigned GET returns the bytes, ranged too, signed for the time asked, with the headers asked', async () => {
  const { store, cleanup } = await tempStore();
  try {
    const writer = await store.createWriter();
    const data = randomBytes(10_000);
    await writer.write(data);
    const { etag } = await writer.commit();
    const url = await store.presignedGet(etag, 60, { contentDisposition: 'attachment; filename="report.bin"' });
    const res = await fetch(url, { headers: { range: 'bytes=100-199' } });
    assert.equal(res.status, 206);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), data.subarray(100, 200));
    // s3rver does not check query signatures: that the address is signed, for how long, is checked here.
    const signed = new URL(url).searchParams;
    assert.match(signed.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);
    assert.equal(signed.get('X-Amz-Expires'), '60');
    assert.equal(signed.get('response-content-disposition'), 'attachment; filename="report.bin"');
  } finally {
    await cleanup();
  }
});

test('placeContent gives a seed a copy read from the bucket; false for content not stored; an existing file is kept', async () => {
  const { store, cleanup } = await tempStore();
  const dir = await mkdtemp(join(tmpdir(), 'openpan-s3-seed-'));
  try {
    const data = randomBytes(3 * 1024 * 1024 + 1);
    const { etag } = await store.importFile(await writeTo(join(dir, 'source'), data));
    assert.equal(await placeContent(store, etag, join(dir, 'seed.bin')), true);
    assert.deepEqual(await readFile(join(dir, 'seed.bin')), data);
    assert.equal(await placeContent(store, referenceEtag(Buffer.from('absent')), join(dir, 'absent.bin')), false);
    assert.deepEqual((await readdir(dir)).sort(), ['seed.bin']);
    await writeFile(join(dir, 'kept.bin'), 'earlier run');
    assert.equal(await placeContent(store, etag, join(dir, 'kept.bin')), true);
    assert.equal(await readFile(join(dir, 'kept.bin'), 'utf8'), 'earlier run');
  } finally {
    await rm(dir, { recursive: true, force: true });
    await cleanup();
  }
});

async function writeTo(path: string, data: Buffer): Promise<string> {
  await writeFile(path, data);
  return path;
}
