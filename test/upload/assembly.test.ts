// Blocks sent with a blockOrder are written once, into the upload's assembly file, and mkfile
// moves that file into the store (no copy, no re-hash when the server hashed each block as it
// arrived). These tests check that the fast path is really taken (the stored blob is the very
// inode the blocks were written into) and that no client can make it store a wrong etag.
import assert from 'node:assert/strict';
import { readFile, readdir, stat, utimes } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeCtx, encodeCtx } from '../../src/upload/ctx.js';
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
  sendBlock,
  sha1Hex,
  storedBlobs,
  tempBlobs,
  ticket,
} from '../support/upload.js';

type Server = Awaited<ReturnType<typeof startServer>>;

async function assemblies(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, 'uploads'))).filter((n) => /^asm-[0-9a-f]{32}$/.test(n));
}

function stats(server: Server) {
  return { ...server.openpan.uploads.stats };
}

/** Sends `data` in blocks of blockSize, each whole in one mkblk with its order, in the given order. */
async function sendWhole(
  server: Server,
  token: string,
  uploadUrl: string,
  data: Buffer,
  blockSize: number,
  order: 'forward' | 'reverse' | 'parallel' = 'forward',
): Promise<string[]> {
  const n = Math.max(1, Math.ceil(data.length / blockSize));
  const ctxs: string[] = new Array(n);
  const send = async (i: number) => {
    const a = await mkblk(uploadUrl, token, Math.min(blockSize, data.length - i * blockSize), data.subarray(i * blockSize, (i + 1) * blockSize), i);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    ctxs[i] = a.json.ctx;
  };
  const indices = [...Array(n).keys()];
  if (order === 'parallel') await Promise.all(indices.map(send));
  else for (const i of order === 'reverse' ? indices.reverse() : indices) await send(i);
  void server;
  return ctxs;
}

/** mkfile that must take the fast path: the stored blob is the assembly file itself (same inode). */
async function mkfileInPlace(server: Server, uploadUrl: string, token: string, data: Buffer, ctxs: string[]) {
  const [asm] = await assemblies(server.dataDir);
  assert.ok(asm, 'the blocks were written into an assembly file');
  const inode = (await stat(join(server.dataDir, 'uploads', asm))).ino;
  const before = stats(server);
  const a = await mkfile(uploadUrl, token, data.length, ctxs);
  const file = fileOf(a);
  assert.equal(a.json.hash, etagOf(data));
  assert.equal(file.size, data.length);
  const stored = blobPath(server.dataDir, a.json.hash);
  assert.equal((await stat(stored)).ino, inode, 'the assembly file was moved into the store, not copied');
  assert.equal(sha1Hex(await readFile(stored)), sha1Hex(data));
  const after = stats(server);
  assert.equal(after.inPlace, before.inPlace + 1);
  assert.equal(after.copied, before.copied);
  assert.deepEqual(await blockFiles(server.dataDir), [], 'nothing left in the uploads directory');
  assert.deepEqual(await tempBlobs(server.dataDir), [], 'no blob writer was used');
  return { answer: a, before, after };
}

test('whole blocks with an order: 1, 2 and 3 blocks, short last blocks, 8 MiB blocks — moved into the store with digests taken on arrival', async () => {
  const server = await startServer();
  try {
    const cases: Array<[number, number]> = [
      [1000, BLOCK], // one short block
      [BLOCK, BLOCK], // exactly one sub-block: the 0x16 kind
      [BLOCK + 5, BLOCK], // two blocks, a 5-byte last one
      [2 * BLOCK + 3 * MiB, BLOCK], // three blocks
      [3 * BLOCK, BLOCK], // three full blocks
      [2 * 8 * MiB + 3 * MiB + 1, 8 * MiB], // 8 MiB blocks, short last
      [8 * MiB + BLOCK, 8 * MiB], // 8 MiB blocks, a last block of one full sub-block
    ];
    for (const [k, [size, blockSize]] of cases.entries()) {
      const data = bytes(size, 10 + k);
      const t = await ticket(server.admin, { name: `f${k}.bin`, path: '/a' });
      const ctxs = await sendWhole(server, t.token, t.uploadUrl, data, blockSize);
      for (const c of ctxs) assert.match(c, /^[A-Za-z0-9_-]{62}$/, 'a placed block has a v2 ctx (62 characters)');
      const { before, after } = await mkfileInPlace(server, t.uploadUrl, t.token, data, ctxs);
      assert.equal(after.blocksFromDigests - before.blocksFromDigests, ctxs.length, 'no block was re-read');
      assert.equal(after.blocksRehashed, before.blocksRehashed);
    }
    assert.equal((await storedBlobs(server.dataDir)).length, cases.length);
  } finally {
    await server.close();
  }
});

test('blocks in reverse order and in parallel land in their places', async () => {
  const server = await startServer();
  try {
    for (const [k, order] of (['reverse', 'parallel'] as const).entries()) {
      const data = bytes(5 * BLOCK + 12345, 20 + k);
      const t = await ticket(server.admin, { name: `${order}.bin`, path: '/' });
      const ctxs = await sendWhole(server, t.token, t.uploadUrl, data, BLOCK, order);
      const { before, after } = await mkfileInPlace(server, t.uploadUrl, t.token, data, ctxs);
      assert.equal(after.blocksFromDigests - before.blocksFromDigests, 6);
    }
  } finally {
    await server.close();
  }
});

test('blocks sent in chunks (mkblk + bput) keep a running hash; the same content stored twice is stored once', async () => {
  const server = await startServer();
  try {
    const data = bytes(9 * MiB + 17, 21);
    const t = await ticket(server.admin, { name: 'chunked.bin', path: '/' });
    const a = await blockUpload(t.uploadUrl, t.token, data, { order: 'parallel', chunk: MiB + 3 });
    assert.equal(a.json.hash, etagOf(data));
    // The same bytes again in whole blocks: the content exists, the assembly file is dropped.
    const t2 = await ticket(server.admin, { name: 'again.bin', path: '/' });
    const before = stats(server);
    const ctxs = await sendWhole(server, t2.token, t2.uploadUrl, data, BLOCK);
    const b = await mkfile(t2.uploadUrl, t2.token, data.length, ctxs);
    assert.equal(b.json.hash, etagOf(data));
    assert.equal(stats(server).inPlace, before.inPlace + 1);
    assert.deepEqual(await storedBlobs(server.dataDir), [etagOf(data)]);
    assert.deepEqual(await blockFiles(server.dataDir), []);
    assert.equal(stats(server).blocksFromDigests >= 6, true, 'chunked blocks got their digests from the running hash');
    assert.equal(stats(server).blocksRehashed, 0);
  } finally {
    await server.close();
  }
});

test('a block sent twice at the same order with different bytes: whichever ctx is listed, the etag is that of the stored bytes', async () => {
  const server = await startServer();
  try {
    const data = bytes(3 * BLOCK, 30);
    const other = bytes(BLOCK, 31);
    const withOther = Buffer.concat([data.subarray(0, BLOCK), other, data.subarray(2 * BLOCK)]);
    for (const listed of ['first', 'second'] as const) {
      const t = await ticket(server.admin, { name: `twice-${listed}.bin`, path: '/' });
      const ctxs = await sendWhole(server, t.token, t.uploadUrl, data, BLOCK);
      // block 1 again, other bytes, same order (sequentially, then both at once)
      const again = await mkblk(t.uploadUrl, t.token, BLOCK, other, 1);
      assert.equal(again.status, 200);
      const list = listed === 'first' ? ctxs : [ctxs[0], again.json.ctx, ctxs[2]];
      const expected = listed === 'first' ? data : withOther;
      const a = await mkfile(t.uploadUrl, t.token, expected.length, list);
      assert.equal(a.json.hash, etagOf(expected));
      assert.equal(sha1Hex(await readFile(blobPath(server.dataDir, a.json.hash))), sha1Hex(expected));
    }
    // Two different sends of the same block at the same time.
    const t = await ticket(server.admin, { name: 'race.bin', path: '/' });
    const ctxs = await sendWhole(server, t.token, t.uploadUrl, data, BLOCK);
    const [x, y] = await Promise.all([mkblk(t.uploadUrl, t.token, BLOCK, other, 2), mkblk(t.uploadUrl, t.token, BLOCK, bytes(BLOCK, 32), 2)]);
    const expected = Buffer.concat([data.subarray(0, 2 * BLOCK), other]);
    const a = await mkfile(t.uploadUrl, t.token, expected.length, [ctxs[0], ctxs[1], x.json.ctx]);
    assert.equal(a.json.hash, etagOf(expected));
    assert.equal(sha1Hex(await readFile(blobPath(server.dataDir, a.json.hash))), sha1Hex(expected));
    void y;
  } finally {
    await server.close();
  }
});

test('a chunk re-sent with other bytes after its block completed: the etag is that of the bytes stored, never the first digests', async () => {
  const server = await startServer();
  try {
    const data = bytes(2 * BLOCK, 40);
    const t = await ticket(server.admin, { name: 'rewrite.bin', path: '/' });
    const first = await mkblk(t.uploadUrl, t.token, BLOCK, data.subarray(0, 3 * MiB), 0);
    const done = await bput(t.uploadUrl, t.token, first.json.ctx, 3 * MiB, data.subarray(3 * MiB, BLOCK));
    assert.equal(done.json.offset, BLOCK);
    // The last chunk again, with other bytes, from the same (older) ctx.
    const changed = bytes(MiB, 41);
    const redone = await bput(t.uploadUrl, t.token, first.json.ctx, 3 * MiB, changed);
    assert.equal(redone.status, 200);
    const c1 = await sendBlock(t.uploadUrl, t.token, data.subarray(BLOCK), BLOCK, 1);
    const onDisk = Buffer.concat([data.subarray(0, 3 * MiB), changed, data.subarray(BLOCK)]);
    // The client lists the ctx of the first completion: the digests recorded then must not count.
    const before = stats(server);
    const a = await mkfile(t.uploadUrl, t.token, data.length, [done.json.ctx, c1]);
    assert.equal(a.status, 200);
    assert.equal(a.json.hash, etagOf(onDisk));
    assert.equal(sha1Hex(await readFile(blobPath(server.dataDir, a.json.hash))), sha1Hex(onDisk));
    assert.equal(stats(server).blocksRehashed, before.blocksRehashed + 1);
  } finally {
    await server.close();
  }
});

test('blocks without an order use block files and the copy path; a mixed list moves the assembly and copies the rest in', async () => {
  const server = await startServer();
  try {
    const data = bytes(2 * BLOCK + 100, 50);
    const t = await ticket(server.admin, { name: 'plain.bin', path: '/' });
    const ctxs: string[] = [];
    for (let o = 0; o < data.length; o += BLOCK)
      ctxs.push((await mkblk(t.uploadUrl, t.token, Math.min(BLOCK, data.length - o), data.subarray(o, o + BLOCK))).json.ctx);
    for (const c of ctxs) assert.match(c, /^[A-Za-z0-9_-]{60}$/, 'a block without order keeps the v1 ctx');
    assert.equal((await assemblies(server.dataDir)).length, 0);
    const before = stats(server);
    const a = await mkfile(t.uploadUrl, t.token, data.length, ctxs);
    assert.equal(a.json.hash, etagOf(data));
    assert.equal(stats(server).copied, before.copied + 1);

    const t2 = await ticket(server.admin, { name: 'mixed.bin', path: '/' });
    const m0 = (await mkblk(t2.uploadUrl, t2.token, BLOCK, data.subarray(0, BLOCK))).json.ctx; // no order
    const m1 = (await mkblk(t2.uploadUrl, t2.token, BLOCK, data.subarray(BLOCK, 2 * BLOCK), 1)).json.ctx;
    const m2 = (await mkblk(t2.uploadUrl, t2.token, 100, data.subarray(2 * BLOCK), 2)).json.ctx;
    const mid = stats(server);
    const b = await mkfile(t2.uploadUrl, t2.token, data.length, [m0, m1, m2]);
    assert.equal(b.json.hash, etagOf(data));
    const end = stats(server);
    assert.equal(end.inPlace, mid.inPlace + 1);
    assert.equal(end.blocksCopiedIn, mid.blocksCopiedIn + 1);
    assert.deepEqual(await blockFiles(server.dataDir), []);
  } finally {
    await server.close();
  }
});

test('placed blocks survive a restart; old-format (v1) ctxs and placed ones mix in one mkfile', async () => {
  const first = await startServer();
  const dataDir = first.dataDir;
  let second: Server | null = null;
  try {
    const data = bytes(3 * BLOCK + 7, 60);
    const t = await ticket(first.admin, { name: 'restart.bin', path: '/' });
    const c0 = (await mkblk(t.uploadUrl, t.token, BLOCK, data.subarray(0, BLOCK), 0)).json.ctx;
    const half = await mkblk(t.uploadUrl, t.token, BLOCK, data.subarray(BLOCK, BLOCK + MiB), 1);
    // A v1 ctx (as a server before this change answered): a block file of its own.
    const v1 = (await mkblk(t.uploadUrl, t.token, BLOCK, data.subarray(2 * BLOCK, 3 * BLOCK))).json.ctx;
    assert.match(v1, /^[A-Za-z0-9_-]{60}$/);
    await first.stop();

    second = await startServer({}, dataDir);
    const u = `${second.url}/upload`;
    let c1 = half.json.ctx as string;
    for (let off = MiB; off < BLOCK; off += MiB) c1 = (await bput(u, t.token, c1, off, data.subarray(BLOCK + off, BLOCK + off + MiB))).json.ctx;
    const c3 = (await mkblk(u, t.token, 7, data.subarray(3 * BLOCK), 3)).json.ctx;
    const a = await mkfile(u, t.token, data.length, [c0, c1, v1, c3]);
    assert.equal(a.json.hash, etagOf(data));
    const s = second.openpan.uploads.stats;
    assert.equal(s.inPlace, 1);
    assert.equal(s.blocksFromDigests, 2, 'block 0 (recorded before the restart) and block 3');
    assert.equal(s.blocksRehashed, 1, 'block 1: its running hash was lost with the restart');
    assert.equal(s.blocksCopiedIn, 1, 'the v1 block');
    assert.equal(sha1Hex(await readFile(blobPath(dataDir, a.json.hash))), sha1Hex(data));
  } finally {
    if (second) await second.close();
    else await first.close();
  }
});

test('placed ctxs are bound to their token, their claim and their assembly; abandoned assemblies are swept', async () => {
  const server = await startServer();
  try {
    const data = bytes(2 * BLOCK, 70);
    const t = await ticket(server.admin, { name: 'bound.bin', path: '/' });
    const other = await ticket(server.admin, { name: 'other.bin', path: '/' });
    const c0 = (await mkblk(t.uploadUrl, t.token, BLOCK, data.subarray(0, BLOCK), 0)).json.ctx;
    const half = (await mkblk(t.uploadUrl, t.token, BLOCK, data.subarray(BLOCK, BLOCK + MiB), 1)).json.ctx;
    assertUploadError(await mkfile(t.uploadUrl, other.token, BLOCK, [c0]), 400, 'UPLOAD_INVALID');
    assertUploadError(await bput(t.uploadUrl, other.token, half, MiB, data.subarray(BLOCK + MiB, BLOCK + 2 * MiB)), 400, 'UPLOAD_INVALID');
    // A ctx forged with the right MAC but another block id at a claimed position (only the
    // secret's holder can make one): the claim names another block, so it is refused.
    const secret = server.openpan.config.secret;
    const forged = encodeCtx({ ...decodeCtx(c0, t.token, secret), blockId: 'ab'.repeat(16) }, t.token, secret);
    assertUploadError(await mkfile(t.uploadUrl, t.token, BLOCK, [forged]), 400, 'UPLOAD_INVALID');

    const [asm] = await assemblies(server.dataDir);
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    await utimes(join(server.dataDir, 'uploads', asm), dayAgo, dayAgo);
    assert.equal(await server.openpan.uploads.sweepBlocks(), 0, 'the map was touched recently: the assembly stays');
    await utimes(join(server.dataDir, 'uploads', asm + '.map'), dayAgo, dayAgo);
    assert.equal(await server.openpan.uploads.sweepBlocks(), 2);
    assert.deepEqual(await blockFiles(server.dataDir), []);
    assertUploadError(await bput(t.uploadUrl, t.token, half, MiB, data.subarray(BLOCK + MiB, BLOCK + 2 * MiB)), 400, 'UPLOAD_INVALID');
    assertUploadError(await mkfile(t.uploadUrl, t.token, BLOCK, [c0]), 400, 'UPLOAD_INVALID');
    // The upload starts again in a fresh assembly: the old ctx does not come back to life.
    const n0 = (await mkblk(t.uploadUrl, t.token, BLOCK, bytes(BLOCK, 71), 0)).json.ctx;
    assertUploadError(await mkfile(t.uploadUrl, t.token, BLOCK, [c0]), 400, 'UPLOAD_INVALID');
    const a = await mkfile(t.uploadUrl, t.token, BLOCK, [n0]);
    assert.equal(a.json.hash, etagOf(bytes(BLOCK, 71)));
  } finally {
    await server.close();
  }
});

test('an interrupted placed block gives its position back, so the retry is placed too', async () => {
  const server = await startServer();
  try {
    const data = bytes(2 * BLOCK, 80);
    const t = await ticket(server.admin, { name: 'retry.bin', path: '/' });
    // A chunked body (no Content-Length) that turns out longer than the block: refused after
    // the position was claimed and written to; the claim must be released.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${t.uploadUrl}/mkblk/${BLOCK}/0`,
        { method: 'POST', headers: { authorization: t.token, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(bytes(BLOCK, 81));
      req.end(Buffer.alloc(1));
    });
    assert.equal(status, 400);
    const ctxs = await sendWhole(server, t.token, t.uploadUrl, data, BLOCK);
    await mkfileInPlace(server, t.uploadUrl, t.token, data, ctxs);
  } finally {
    await server.close();
  }
});
