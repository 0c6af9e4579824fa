// Deduplication and space: one copy of shared content, every user charged, quotas enforced at
// token time and again when the bytes arrive.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signUploadToken, verifyUploadToken } from '../../src/upload/upload-token.js';
import { startServer } from '../support/server.js';
import {
  BLOCK,
  MiB,
  assertUploadError,
  blockFiles,
  blockUpload,
  bytes,
  etagOf,
  fileOf,
  formUpload,
  mkfile,
  sendBlock,
  storedBlobs,
  tempBlobs,
  ticket,
} from '../support/upload.js';

test('two users uploading the same bytes share one stored copy and are both charged', async () => {
  const server = await startServer();
  try {
    const bob = await server.newUser('bob');
    const data = bytes(6 * MiB + 3, 1);
    // Both ask before either has uploaded: no instant upload, both send the bytes.
    const ta = await ticket(server.admin, { name: 'a.bin', hash: etagOf(data), path: '/' });
    const tb = await ticket(bob, { name: 'b.bin', hash: etagOf(data), path: '/' });
    const [fa, fb] = await Promise.all([blockUpload(ta.uploadUrl, ta.token, data, { order: 'parallel' }), blockUpload(tb.uploadUrl, tb.token, data)]);
    assert.equal(fileOf(fa).storeId, etagOf(data));
    assert.equal(fileOf(fb).storeId, etagOf(data));
    assert.deepEqual(await storedBlobs(server.dataDir), [etagOf(data)]);
    assert.deepEqual(await tempBlobs(server.dataDir), []);
    assert.equal((await server.admin.call('/v1/user/info')).spaceUsed, data.length);
    assert.equal((await bob.call('/v1/user/info')).spaceUsed, data.length);
    const row = await server.openpan.db.selectFrom('blobs').selectAll().where('id', '=', etagOf(data)).executeTakeFirstOrThrow();
    assert.equal(Number(row.refs), 2);
    assert.equal(Number(row.size), data.length);
  } finally {
    await server.close();
  }
});

test('SPACE_EXCEEDED at token time: announced size over the free space, or no space at all', async () => {
  const server = await startServer();
  try {
    const carol = await server.newUser('carol');
    await server.openpan.users.setQuota('carol', 1000);
    const big = await carol.raw('/v1/store/token', { name: 'big.bin', size: 1001 });
    assert.equal(big.status, 413);
    assert.equal(big.json.code, 'SPACE_EXCEEDED');
    const fits = await ticket(carol, { name: 'fits.bin', size: 1000 });
    fileOf(await formUpload(fits.uploadUrl, fits.token, bytes(1000, 2)));
    const full = await carol.raw('/v1/store/token', { name: 'more.bin' });
    assert.equal(full.status, 413);
    assert.equal(full.json.code, 'SPACE_EXCEEDED');
    // replacing the file frees its bytes: the same size fits again with override
    const replace = await carol.raw('/v1/store/token', { name: 'fits.bin', size: 1000, override: 1 });
    assert.equal(replace.status, 200, JSON.stringify(replace.json));
    // instant upload is charged too
    const known = bytes(2000, 3);
    const t = await ticket(server.admin, { name: 'known.bin' });
    fileOf(await formUpload(t.uploadUrl, t.token, known));
    const instant = await carol.raw('/v1/store/token', { name: 'known.bin', hash: etagOf(known) });
    assert.equal(instant.status, 413);
    assert.equal(instant.json.code, 'SPACE_EXCEEDED');
  } finally {
    await server.close();
  }
});

test('SPACE_EXCEEDED when the bytes arrive: mkfile and form upload re-check the free space', async () => {
  const server = await startServer();
  try {
    const dave = await server.newUser('dave');
    await server.openpan.users.setQuota('dave', 20 * MiB);
    const data = bytes(5 * MiB, 4);
    const t = await ticket(dave, { name: 'late.bin', size: data.length });
    const c0 = await sendBlock(t.uploadUrl, t.token, data.subarray(0, BLOCK), MiB, 0);
    const c1 = await sendBlock(t.uploadUrl, t.token, data.subarray(BLOCK), MiB, 1);
    await server.openpan.users.setQuota('dave', MiB);
    assertUploadError(await mkfile(t.uploadUrl, t.token, data.length, [c0, c1]), 413, 'SPACE_EXCEEDED');
    // the blocks stay for a retry once space is freed
    assert.equal((await blockFiles(server.dataDir)).length, 2);
    await server.openpan.users.setQuota('dave', 20 * MiB);
    assert.equal(fileOf(await mkfile(t.uploadUrl, t.token, data.length, [c0, c1])).size, data.length);

    await server.openpan.users.setQuota('dave', 6 * MiB);
    const f = await ticket(dave, { name: 'form.bin' });
    await server.openpan.users.setQuota('dave', 5 * MiB + 100);
    for (const fileFirst of [false, true]) {
      assertUploadError(await formUpload(f.uploadUrl, f.token, bytes(200, 5), { fileFirst }), 413, 'SPACE_EXCEEDED');
    }
    assert.deepEqual(await tempBlobs(server.dataDir), []);
    assert.equal((await dave.call('/v1/files/page', { path: '/' })).totalCount, 1);
    assert.equal((await dave.call('/v1/user/info')).spaceUsed, data.length);
  } finally {
    await server.close();
  }
});

test("a form upload over the free space is refused naming the file's size, not the bytes received so far", async () => {
  const server = await startServer();
  try {
    const erin = await server.newUser('erin');
    const t = await ticket(erin, { name: 'big.bin' });
    await server.openpan.users.setQuota('erin', MiB);
    const data = bytes(3 * MiB + 7, 9);
    const a = await formUpload(t.uploadUrl, t.token, data);
    assertUploadError(a, 413, 'SPACE_EXCEEDED');
    assert.match(a.json.message, new RegExp(`needs ${data.length} bytes and ${MiB} are free`));
    assert.deepEqual(await tempBlobs(server.dataDir), []);
  } finally {
    await server.close();
  }
});

test('fsizeLimit in the token caps the file (413)', async () => {
  const server = await startServer();
  try {
    const t = await ticket(server.admin, { name: 'limited.bin' });
    const secret = server.openpan.config.secret;
    const limited = signUploadToken({ ...verifyUploadToken(t.token, secret), fsizeLimit: 100 }, secret);
    assertUploadError(await formUpload(t.uploadUrl, limited, bytes(101, 6)), 413, 'PAYLOAD_TOO_LARGE');
    assertUploadError(await formUpload(t.uploadUrl, limited, bytes(101, 6), { fileFirst: true }), 413, 'PAYLOAD_TOO_LARGE');
    assert.equal(fileOf(await formUpload(t.uploadUrl, limited, bytes(100, 6))).size, 100);
  } finally {
    await server.close();
  }
});

test('same name, different content at mkfile: 409, and the unused content is left for the collector', async () => {
  const server = await startServer();
  try {
    const a = bytes(5 * MiB, 7);
    const b = bytes(5 * MiB, 8);
    const ta = await ticket(server.admin, { name: 'same.bin', hash: etagOf(a), path: '/' });
    const tb = await ticket(server.admin, { name: 'same.bin', hash: etagOf(b), path: '/' });
    fileOf(await blockUpload(ta.uploadUrl, ta.token, a));
    assertUploadError(await blockUpload(tb.uploadUrl, tb.token, b), 409, 'FILE_ALREADY_EXISTS');
    const rows = await server.openpan.db.selectFrom('blobs').select(['id', 'refs', 'unreferenced_at']).orderBy('id').execute();
    const orphan = rows.find((r) => r.id === etagOf(b));
    assert.ok(orphan, 'the unused content has a blob row');
    assert.equal(Number(orphan.refs), 0);
    assert.ok(orphan.unreferenced_at !== null);
    assert.equal(Number(rows.find((r) => r.id === etagOf(a))!.refs), 1);
    // same name and same content again through the bytes path: idempotent, no second charge
    const again = await ticket(server.admin, { name: 'other.bin' });
    fileOf(await blockUpload(again.uploadUrl, again.token, a));
    const replay = signUploadToken({ ...verifyUploadToken(ta.token, server.openpan.config.secret) }, server.openpan.config.secret);
    assert.equal(fileOf(await blockUpload(ta.uploadUrl, replay, a)).name, 'same.bin');
    assert.equal((await server.admin.call('/v1/user/info')).spaceUsed, 2 * a.length);
  } finally {
    await server.close();
  }
});
