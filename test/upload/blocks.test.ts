// Block upload (docs/spec/UPLOAD.md): mkblk / bput / mkfile, any block order, parallel, chunked, resumable.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { test } from 'node:test';
import { signUploadToken, verifyUploadToken } from '../../src/upload/upload-token.js';
import { startServer } from '../support/server.js';
import {
  BLOCK,
  MiB,
  assertUploadError,
  blobPath,
  blockFiles,
  blockUpload,
  bput,
  bytes,
  etagOf,
  fileOf,
  mkblk,
  mkfile,
  octet,
  post,
  sendBlock,
  sha1Hex,
  tempBlobs,
  ticket,
} from '../support/upload.js';

test('blocks sent in reverse order and in parallel, in 1 MiB chunks, give the right file', async () => {
  const server = await startServer();
  try {
    const data = bytes(9 * MiB + 17, 1);
    for (const order of ['reverse', 'parallel'] as const) {
      // no hash: the second upload of the same bytes must send them again, not be instant
      const t = await ticket(server.admin, { name: `${order}.bin`, path: '/up' });
      const a = await blockUpload(t.uploadUrl, t.token, data, { order, chunk: MiB });
      assert.equal(a.json.hash, etagOf(data));
      assert.equal(a.json.key, `${order}.bin`);
      const file = fileOf(a);
      assert.equal(file.path, `/up/${order}.bin`);
      assert.equal(file.size, data.length);
    }
    // The stored bytes, read where the blob store keeps them, independent of download routes.
    assert.equal(sha1Hex(await readFile(blobPath(server.dataDir, etagOf(data)))), sha1Hex(data));
    assert.deepEqual(await blockFiles(server.dataDir), [], 'block files are deleted once assembled');
    assert.deepEqual(await tempBlobs(server.dataDir), []);
  } finally {
    await server.close();
  }
});

test('8 MiB blocks, "UpToken" authorization, /mkblk without order, query strings and a key path', async () => {
  const server = await startServer();
  try {
    const data = bytes(20 * MiB + 5, 2);
    const t = await ticket(server.admin, { name: 'big.bin', path: '/' });
    const auth = `UpToken ${t.token}`;
    const ctxs: string[] = [];
    for (let o = 0; o < data.length; o += 8 * MiB) {
      const block = data.subarray(o, o + 8 * MiB);
      const a = await post(`${t.uploadUrl}/mkblk/${block.length}?chunk=0&chunks=3`, block, octet(auth));
      assert.equal(a.status, 200, JSON.stringify(a.json));
      assert.equal(a.json.offset, block.length);
      assert.equal(a.json.host, t.uploadUrl);
      assert.ok(a.json.expired_at > Date.now() / 1000);
      ctxs.push(a.json.ctx);
    }
    const key = Buffer.from('dir/名字.bin').toString('base64url');
    const a = await post(`${t.uploadUrl}/mkfile/${data.length}/key/${key}/mimeType/${Buffer.from('x/y').toString('base64url')}?x=1`, ctxs.join(','), {
      authorization: auth,
      'content-type': 'text/plain',
    });
    assert.equal(a.json.key, 'big.bin', 'the answer names the created file, not the key sent');
    assert.equal(fileOf(a).size, data.length);
    assert.equal(fileOf(a).mime, 'application/octet-stream', 'a mimeType of no registered type is ignored');
    assert.equal(a.json.hash, etagOf(data));
  } finally {
    await server.close();
  }
});

test("mkfile's mimeType (path, base64) or MimeType header becomes the file's mime; the answer's key is its name", async () => {
  const server = await startServer();
  try {
    const data = bytes(1000, 30);
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    for (const [name, suffix, headers, expected] of [
      ['a.bin', `/key/${b64('elsewhere/a.mp3')}/mimeType/${b64('audio/mpeg')}`, {}, 'audio/mpeg'],
      ['b.bin', '', { MimeType: 'image/webp' }, 'image/webp'],
      ['c.bin', '', { MimeType: b64('application/pdf') }, 'application/pdf'],
      ['d.txt', `/mimeType/${b64('nonsense')}`, {}, 'text/plain'],
    ] as const) {
      const t = await ticket(server.admin, { name });
      const ctx = (await mkblk(t.uploadUrl, t.token, data.length, data)).json.ctx;
      const a = await post(`${t.uploadUrl}/mkfile/${data.length}${suffix}`, ctx, { authorization: t.token, 'content-type': 'text/plain', ...headers });
      assert.equal(a.json.key, name);
      assert.equal(fileOf(a).mime, expected, name);
    }
  } finally {
    await server.close();
  }
});

test('a blockOrder that is negative, not a number, or beyond the most blocks an upload has is 400 UPLOAD_INVALID', async () => {
  const server = await startServer();
  try {
    const t = await ticket(server.admin, { name: 'order.bin' });
    for (const order of ['-1', '99999999', '10000', 'x', '1e3']) {
      assertUploadError(await post(`${t.uploadUrl}/mkblk/4/${order}`, 'abcd', octet(t.token)), 400, 'UPLOAD_INVALID');
    }
    assert.deepEqual(await blockFiles(server.dataDir), [], 'nothing was received');
    const ctx = (await mkblk(t.uploadUrl, t.token, 4, Buffer.from('abcd'), 9999)).json.ctx;
    assert.equal(fileOf(await mkfile(t.uploadUrl, t.token, 4, [ctx])).size, 4, 'the last allowed order works');
  } finally {
    await server.close();
  }
});

test('re-sending a chunk or the whole mkfile is harmless and answered the same', async () => {
  const server = await startServer();
  try {
    const data = bytes(5 * MiB, 3);
    const t = await ticket(server.admin, { name: 'retry.bin', path: '/' });
    const first = await mkblk(t.uploadUrl, t.token, BLOCK, data.subarray(0, MiB), 0);
    const second = await bput(t.uploadUrl, t.token, first.json.ctx, MiB, data.subarray(MiB, 2 * MiB));
    // the answer was "lost": the client sends the same chunk again with the same ctx
    const again = await bput(t.uploadUrl, t.token, first.json.ctx, MiB, data.subarray(MiB, 2 * MiB));
    assert.equal(again.status, 200);
    assert.equal(again.json.ctx, second.json.ctx);
    assert.equal(again.json.crc32, second.json.crc32);
    const ctx0 = await sendRest(t.uploadUrl, t.token, again.json.ctx, data.subarray(0, BLOCK), 2 * MiB);
    const ctx1 = await sendBlock(t.uploadUrl, t.token, data.subarray(BLOCK), MiB, 1);
    const done = await mkfile(t.uploadUrl, t.token, data.length, [ctx0, ctx1]);
    const file = fileOf(done);
    assert.equal(done.json.hash, etagOf(data));
    // mkfile again (its answer was lost): the blocks are gone, the same file is answered
    const replay = await mkfile(t.uploadUrl, t.token, data.length, [ctx0, ctx1]);
    assert.equal(fileOf(replay).uuid, file.uuid);
    assert.equal(replay.json.hash, done.json.hash);
    // two mkfile calls at once: both answer the same file
    const t2 = await ticket(server.admin, { name: 'twice.bin', path: '/' });
    const c0 = await sendBlock(t2.uploadUrl, t2.token, data.subarray(0, BLOCK), BLOCK, 0);
    const c1 = await sendBlock(t2.uploadUrl, t2.token, data.subarray(BLOCK), BLOCK, 1);
    const [x, y] = await Promise.all([mkfile(t2.uploadUrl, t2.token, data.length, [c0, c1]), mkfile(t2.uploadUrl, t2.token, data.length, [c0, c1])]);
    assert.equal(fileOf(x).uuid, fileOf(y).uuid);
    assert.equal((await server.admin.call('/v1/files/page', { path: '/' })).totalCount, 2);
  } finally {
    await server.close();
  }
});

async function sendRest(uploadUrl: string, token: string, ctx: string, block: Buffer, from: number): Promise<string> {
  for (let off = from; off < block.length; off += MiB) {
    const a = await bput(uploadUrl, token, ctx, off, block.subarray(off, off + MiB));
    assert.equal(a.status, 200, JSON.stringify(a.json));
    ctx = a.json.ctx;
  }
  return ctx;
}

test('wrong offsets, foreign ctxs, missing, short or oversized blocks and size mismatches are 400 UPLOAD_INVALID', async () => {
  const server = await startServer();
  try {
    const data = bytes(9 * MiB, 4);
    const t = await ticket(server.admin, { name: 'v.bin', path: '/' });
    const other = await ticket(server.admin, { name: 'other.bin', path: '/' });
    const u = t.uploadUrl;
    const start = await mkblk(u, t.token, BLOCK, data.subarray(0, MiB), 0);
    assert.equal(start.status, 200);

    // bput at an offset other than the ctx's
    assertUploadError(await bput(u, t.token, start.json.ctx, 12345, data.subarray(MiB, 2 * MiB)), 400, 'UPLOAD_INVALID');
    assertUploadError(await bput(u, t.token, start.json.ctx, 0, data.subarray(0, MiB)), 400, 'UPLOAD_INVALID');
    assertUploadError(await bput(u, t.token, start.json.ctx, 2 * MiB, data.subarray(MiB, 2 * MiB)), 400, 'UPLOAD_INVALID');
    // a ctx used with another token (another upload)
    assertUploadError(await bput(u, other.token, start.json.ctx, MiB, data.subarray(MiB, 2 * MiB)), 400, 'UPLOAD_INVALID');
    // an altered ctx
    const altered = start.json.ctx.slice(0, 20) + (start.json.ctx[20] === 'A' ? 'B' : 'A') + start.json.ctx.slice(21);
    assertUploadError(await bput(u, t.token, altered, MiB, data.subarray(MiB, 2 * MiB)), 400, 'UPLOAD_INVALID');
    // a chunk running past the end of its block
    assertUploadError(await bput(u, t.token, start.json.ctx, MiB, data.subarray(MiB, BLOCK + 1)), 400, 'UPLOAD_INVALID');
    assertUploadError(await mkblk(u, t.token, 10, Buffer.alloc(11)), 400, 'UPLOAD_INVALID');
    // block sizes: zero, over the limit, not a number
    assertUploadError(await mkblk(u, t.token, 0, Buffer.alloc(0)), 400, 'UPLOAD_INVALID');
    assertUploadError(await mkblk(u, t.token, 32 * MiB + BLOCK, Buffer.alloc(1)), 400, 'UPLOAD_INVALID');
    assertUploadError(await post(`${u}/mkblk/abc`, Buffer.alloc(1), octet(t.token)), 400, 'UPLOAD_INVALID');
    assertUploadError(await post(`${u}/bput/${start.json.ctx}/-1`, Buffer.alloc(1), octet(t.token)), 400, 'UPLOAD_INVALID');

    // mkfile with an incomplete (short) block
    assertUploadError(await mkfile(u, t.token, BLOCK, [start.json.ctx]), 400, 'UPLOAD_INVALID');
    // complete blocks, then every kind of bad list
    const b0 = await sendRest(u, t.token, start.json.ctx, data.subarray(0, BLOCK), MiB);
    const b1 = await sendBlock(u, t.token, data.subarray(BLOCK, 2 * BLOCK), 2 * MiB, 1);
    const b2 = await sendBlock(u, t.token, data.subarray(2 * BLOCK), MiB, 2);
    assertUploadError(await mkfile(u, t.token, data.length + 1, [b0, b1, b2]), 400, 'UPLOAD_INVALID');
    assertUploadError(await mkfile(u, t.token, data.length - 1, [b0, b1, b2]), 400, 'UPLOAD_INVALID');
    assertUploadError(await mkfile(u, t.token, 2 * BLOCK + MiB, [b0, b2, b1]), 400, 'UPLOAD_INVALID'); // last block larger than the others
    assertUploadError(await mkfile(u, t.token, 2 * BLOCK, [b0, b0]), 400, 'UPLOAD_INVALID'); // the same block twice
    assertUploadError(await mkfile(u, t.token, data.length, [b0, '', b1, b2]), 400, 'UPLOAD_INVALID');
    assertUploadError(await mkfile(u, other.token, data.length, [b0, b1, b2]), 400, 'UPLOAD_INVALID'); // another upload's ctxs
    assertUploadError(await mkfile(u, t.token, data.length, [b0, b1, b2 + 'x']), 400, 'UPLOAD_INVALID');
    // first block not a multiple of 4 MiB
    const odd = await sendBlock(u, t.token, data.subarray(0, 1000), 1000, 0);
    assertUploadError(await mkfile(u, t.token, 1000 + MiB, [odd, b2]), 400, 'UPLOAD_INVALID');
    // a middle block of another size
    const small = await sendBlock(u, t.token, data.subarray(0, MiB), MiB, 1);
    assertUploadError(await mkfile(u, t.token, 2 * BLOCK + 2 * MiB, [b0, small, b1]), 400, 'UPLOAD_INVALID');

    // a block whose file is gone (expired) is missing
    const files = await blockFiles(server.dataDir);
    assert.ok(files.length >= 3);
    await server.openpan.uploads.sweepBlocks(-1000);
    assert.deepEqual(await blockFiles(server.dataDir), []);
    assertUploadError(await mkfile(u, t.token, data.length, [b0, b1, b2]), 400, 'UPLOAD_INVALID');
    assertUploadError(await bput(u, t.token, start.json.ctx, MiB, data.subarray(MiB, 2 * MiB)), 400, 'UPLOAD_INVALID');
    assert.equal((await server.admin.call('/v1/files/page', { path: '/' })).totalCount, 0);
  } finally {
    await server.close();
  }
});

test('a token is bound to its user and refused when forged or expired (401)', async () => {
  const server = await startServer();
  try {
    const bob = await server.newUser('bob');
    const data = bytes(5 * MiB, 5);
    const t = await ticket(server.admin, { name: 'mine.bin', path: '/' });
    const secret = server.openpan.config.secret;
    const policy = verifyUploadToken(t.token, secret);

    // bob (or anyone) holding admin's token uploads into admin's tree
    const a = await blockUpload(t.uploadUrl, t.token, data);
    assert.equal(fileOf(a).userId, policy.userId);
    assert.equal((await bob.call('/v1/files/page', { path: '/' })).totalCount, 0);
    assert.equal((await server.admin.call('/v1/files/page', { path: '/' })).totalCount, 1);

    // a token changed to name bob is forged
    const bobId = (await bob.call('/v1/user/info')).identity ?? 2;
    const [ak, sign] = t.token.split(':');
    const forgedPolicy = Buffer.from(JSON.stringify({ ...policy, userId: bobId })).toString('base64url');
    const forged = `${ak}:${sign}:${forgedPolicy}`;
    const expired = signUploadToken({ ...policy, deadline: Date.now() - 1 }, secret);
    const foreign = signUploadToken(policy, 'some-other-server-secret');
    const good = await mkblk(t.uploadUrl, t.token, BLOCK, data.subarray(0, MiB));
    for (const bad of [forged, expired, foreign, '', 'UpToken', 'a:b:c']) {
      const headers = bad === '' ? { 'content-type': 'application/octet-stream' } : octet(bad);
      assertUploadError(await post(`${t.uploadUrl}/mkblk/${BLOCK}`, data.subarray(0, MiB), headers), 401, 'UNAUTHORIZED');
      assertUploadError(await post(`${t.uploadUrl}/bput/${good.json.ctx}/${MiB}`, data.subarray(MiB, 2 * MiB), headers), 401, 'UNAUTHORIZED');
      assertUploadError(await post(`${t.uploadUrl}/mkfile/${MiB}`, good.json.ctx, headers), 401, 'UNAUTHORIZED');
    }
    // an expired token's upload cannot be finished either, even with valid ctxs
    assert.equal((await bob.call('/v1/files/page', { path: '/' })).totalCount, 0);
  } finally {
    await server.close();
  }
});

test('bodies larger than the largest block are refused with 413', async () => {
  const server = await startServer();
  try {
    const t = await ticket(server.admin, { name: 'huge.bin', path: '/' });
    // Content-Length says more than any block may hold: refused before the body is read.
    const early = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(`${t.uploadUrl}/mkblk/${32 * MiB}`, { method: 'POST', headers: { ...octet(t.token), 'content-length': String(33 * MiB) } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1000));
    });
    assert.equal(early.status, 413);
    assert.equal(early.body.code, 'PAYLOAD_TOO_LARGE');
    const big = 'x'.repeat(server.openpan.uploads.maxBlocks * 64 + 2048);
    const a = await post(`${t.uploadUrl}/mkfile/10`, big, { authorization: t.token, 'content-type': 'text/plain' });
    assertUploadError(a, 413, 'PAYLOAD_TOO_LARGE');
  } finally {
    await server.close();
  }
});
