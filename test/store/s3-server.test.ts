// A whole server on the S3 store (OPENPAN_STORE=s3://…), against s3rver on 127.0.0.1: uploads
// go to the bucket, instant uploads find them there, downloads stream ranges out of it (or
// redirect to it with OPENPAN_S3_PRESIGN), a URL offline task imports into it, fsck checks it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { storeConfigFrom } from '../../src/config/index.js';
import { runFsck } from '../../src/fsck/fsck.js';
import { startTestServer, type TestServer as HttpFixture } from '../support/http-fixture.js';
import { assertFile, waitDone } from '../support/offline-e2e.js';
import { startS3, testS3Client, type TestS3 } from '../support/s3-server.js';
import { ADMIN_PASSWORD, startServer, type Client, type TestServer } from '../support/server.js';
import { blockFiles, blockUpload, etagOf, fileOf, formUpload, MiB, storedBlobs, ticket } from '../support/upload.js';

let s3: TestS3;
let bucket: S3Client;
before(async () => {
  s3 = await startS3();
  bucket = testS3Client(s3);
});
after(async () => {
  bucket?.destroy();
  await s3?.close();
});

async function objectSize(key: string): Promise<number | null> {
  try {
    return (await bucket.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }))).ContentLength ?? 0;
  } catch {
    return null;
  }
}

async function downloadAddress(client: Client, path: string): Promise<string> {
  return (await client.call('/v1/files/download', { path })).downloadAddress;
}

describe('a server on the S3 store', () => {
  let server: TestServer;
  let web: HttpFixture;
  const data = randomBytes(9 * MiB + 5);
  const etag = etagOf(data);

  before(async () => {
    web = await startTestServer('127.0.0.1');
    server = await startServer({ ...s3.env('drive'), OPENPAN_DAV_ACCOUNT_PASSWORD: '1' });
  });
  after(async () => {
    await server?.close();
    await web?.close();
  });

  test('a block upload goes to the bucket at mkfile; nothing stays on the local disk', async () => {
    const t = await ticket(server.admin, { name: 'big.bin', path: '/up' });
    const file = fileOf(await blockUpload(t.uploadUrl, t.token, data, { order: 'parallel' }));
    assert.equal(file.storeId, etag);
    assert.equal(await objectSize(`drive/blobs/${etag}`), data.length);
    assert.deepEqual(await storedBlobs(server.dataDir), []);
    assert.deepEqual(await blockFiles(server.dataDir), []);
    assert.deepEqual(
      (await readdir(join(server.dataDir, 'blobs', 'tmp'), { withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()),
      [],
    );
    await assertFile(server.admin, '/up/big.bin', data);
  });

  test("an instant upload of content in the bucket creates another user's file at once", async () => {
    const bob = await server.newUser('s3-bob');
    const instant = await bob.call('/v1/store/token', { name: 'same.bin', hash: etag, path: '/' });
    assert.equal(instant.storeId, etag);
    await assertFile(bob, '/same.bin', data);
  });

  const small = randomBytes(100_000);
  const fetched = randomBytes(3 * MiB + 1);

  test('a form upload is stored in the bucket', async () => {
    const t = await ticket(server.admin, { name: 'form.bin', path: '/up' });
    const file = fileOf(await formUpload(t.uploadUrl, t.token, small));
    assert.equal(await objectSize(`drive/blobs/${file.storeId}`), small.length);
    await assertFile(server.admin, '/up/form.bin', small);
  });

  test('downloads serve exactly the ranges asked for, streamed from the bucket', async () => {
    const url = await downloadAddress(server.admin, '/up/big.bin');
    for (const [start, end] of [
      [0, 0],
      [100, 4 * MiB + 100],
      [data.length - 10, data.length - 1],
    ]) {
      const res = await fetch(url, { headers: { range: `bytes=${start}-${end}` } });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), data.subarray(start, end + 1));
    }
    const outside = await fetch(url, { headers: { range: `bytes=${data.length}-` } });
    assert.equal(outside.status, 416);
    await outside.arrayBuffer();
  });

  test('WebDAV PUT stores into the bucket and GET reads ranges back; a zip of the folder carries the bytes', async () => {
    const body = randomBytes(2 * MiB + 9);
    const authorization = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
    const put = await fetch(`${server.url}/dav/up/dav.bin`, { method: 'PUT', headers: { authorization }, body });
    assert.equal(put.status, 201);
    assert.equal(await objectSize(`drive/blobs/${etagOf(body)}`), body.length);
    const get = await fetch(`${server.url}/dav/up/dav.bin`, { headers: { authorization, range: 'bytes=5-1048580' } });
    assert.equal(get.status, 206);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), body.subarray(5, 1048581));

    const link = await server.admin.call('/v1/files/zip', { path: '/up' });
    const zip = Buffer.from(await (await fetch(link.downloadAddress)).arrayBuffer());
    for (const content of [body, small, data]) assert.ok(zip.includes(content), 'each file is stored in the zip as it is');
  });

  test('a URL offline task imports its file into the bucket', async () => {
    web.resources.set('/remote.bin', { bytes: fetched });
    const parsed = await server.admin.call('/v1/offline/parseUrl', { url: `${web.origin}/remote.bin` });
    const started = await server.admin.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/web' });
    await waitDone(server.admin, started.taskId);
    assert.equal(await objectSize(`drive/blobs/${etagOf(fetched)}`), fetched.length);
    assert.deepEqual(await storedBlobs(server.dataDir), []);
    await assertFile(server.admin, '/web/remote.bin', fetched);
  });

  test('fsck checks the bucket: clean, then missing, resized and corrupt objects and orphans are found and repaired', async () => {
    await server.stop();
    const store = storeConfigFrom(s3.env('drive'));
    const clean = await runFsck({ dataDir: server.dataDir, store, verify: true });
    assert.deepEqual(
      clean.problems.map((p) => p.code),
      [],
    );
    assert.ok(clean.checked.verifiedBytes >= data.length);

    const orphan = etagOf(Buffer.alloc(0)); // never stored: an orphan once put there
    const corrupt = etagOf(small);
    const resized = etagOf(fetched);
    await bucket.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `drive/blobs/${etag}` }));
    await bucket.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `drive/blobs/${orphan}`, Body: Buffer.alloc(0) }));
    await bucket.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `drive/blobs/${corrupt}`, Body: randomBytes(small.length) }));
    await bucket.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `drive/blobs/${resized}`, Body: fetched.subarray(1) }));
    const later = Date.now() + 60 * 60 * 1000;
    const found = await runFsck({ dataDir: server.dataDir, store, now: later, verify: true });
    const codes = found.problems.map((p) => `${p.code} ${p.subject}`);
    for (const expected of [`content-missing ${etag}`, `orphan-content ${orphan}`, `content-corrupt ${corrupt}`, `content-size ${resized}`]) {
      assert.ok(codes.includes(expected), `${expected} in:\n${codes.join('\n')}`);
    }

    const repaired = await runFsck({ dataDir: server.dataDir, store, now: later, verify: true, repair: true });
    assert.ok(repaired.problems.some((p) => p.code === 'orphan-content' && p.outcome === 'repaired'));
    assert.equal(await objectSize(`drive/blobs/${orphan}`), null);
    // Damaged objects are downloaded into lost+found and deleted from the bucket.
    assert.equal(await objectSize(`drive/blobs/${corrupt}`), null);
    const setAside = await readdir(join(server.dataDir, 'lost+found'));
    assert.ok(
      setAside.some((n) => n.startsWith(`${corrupt}.damaged-`)),
      setAside.join(', '),
    );
    const after = await runFsck({ dataDir: server.dataDir, store, now: later, verify: true });
    assert.deepEqual(
      after.problems.map((p) => p.code),
      [],
    );
  });
});

test('a bucket that does not exist stops the start with a message naming it', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'openpan-s3-refused-'));
  try {
    await assert.rejects(
      startServer({ ...s3.env(), OPENPAN_STORE: 's3://no-such-bucket' }, dataDir),
      /The S3 bucket no-such-bucket \(OPENPAN_STORE\) cannot be used: it does not exist/,
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

describe('a server on the S3 store with OPENPAN_S3_PRESIGN=1', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ ...s3.env('presigned'), OPENPAN_S3_PRESIGN: '1' });
  });
  after(async () => {
    await server?.close();
  });

  test('/dl redirects to a signed GET of the bucket, which gives the bytes, ranged too', async () => {
    const data = randomBytes(5 * MiB + 3);
    const t = await ticket(server.admin, { name: 'r\u00e9sum\u00e9.pdf.bin', path: '/' });
    fileOf(await blockUpload(t.uploadUrl, t.token, data));
    const url = await downloadAddress(server.admin, '/r\u00e9sum\u00e9.pdf.bin');
    const redirect = await fetch(url, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    const location = redirect.headers.get('location') ?? '';
    assert.ok(location.startsWith(`${s3.endpoint}/${s3.bucket}/presigned/blobs/${etagOf(data)}?`), location);
    assert.match(
      new URL(location).searchParams.get('response-content-disposition') ?? '',
      /^attachment; filename="r_sum_.pdf.bin"; filename\*=UTF-8''r%C3%A9sum%C3%A9.pdf.bin$/,
    );

    const whole = await fetch(location);
    assert.equal(whole.status, 200);
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), data);
    const ranged = await fetch(url, { headers: { range: 'bytes=10-19' } }); // the redirect is followed with the Range
    assert.equal(ranged.status, 206);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), data.subarray(10, 20));
  });

  test('the address of a removed file is refused before any redirect', async () => {
    const t = await ticket(server.admin, { name: 'gone.bin', path: '/' });
    fileOf(await formUpload(t.uploadUrl, t.token, randomBytes(1000)));
    const url = await downloadAddress(server.admin, '/gone.bin');
    await server.admin.call('/v1/files/remove', { path: '/gone.bin' });
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 404);
  });
});
