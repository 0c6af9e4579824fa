// Resumable uploads: ctxs and block files survive a restart; abandoned blocks are swept.
import assert from 'node:assert/strict';
import { readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeCtx } from '../../src/upload/ctx.js';
import { startServer } from '../support/server.js';
import {
  BLOCK,
  MiB,
  assertUploadError,
  blobPath,
  blockFiles,
  bput,
  bytes,
  etagOf,
  fileOf,
  mkblk,
  mkfile,
  sendBlock,
  sha1Hex,
  storedBlobs,
  ticket,
} from '../support/upload.js';

test('an upload started before a restart is finished after it with the old ctxs', async () => {
  const first = await startServer();
  const dataDir = first.dataDir;
  let second: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    const data = bytes(10 * MiB + 11, 1);
    const t = await ticket(first.admin, { name: 'resumed.bin', hash: etagOf(data), path: '/r' });
    // block 2 complete, block 0 half-way, block 1 not started
    const c2 = await sendBlock(t.uploadUrl, t.token, data.subarray(2 * BLOCK), MiB, 2);
    const half = await mkblk(t.uploadUrl, t.token, BLOCK, data.subarray(0, 2 * MiB), 0);
    assert.equal(half.status, 200);
    await first.stop();

    second = await startServer({}, dataDir);
    const u = `${second.url}/upload`;
    let ctx0 = half.json.ctx as string;
    for (let off = 2 * MiB; off < BLOCK; off += MiB) {
      const a = await bput(u, t.token, ctx0, off, data.subarray(off, off + MiB));
      assert.equal(a.status, 200, JSON.stringify(a.json));
      ctx0 = a.json.ctx;
    }
    const c1 = await sendBlock(u, t.token, data.subarray(BLOCK, 2 * BLOCK), 3 * MiB, 1);
    const done = await mkfile(u, t.token, data.length, [ctx0, c1, c2]);
    const file = fileOf(done);
    assert.equal(done.json.hash, etagOf(data));
    assert.equal(file.path, '/r/resumed.bin');
    assert.equal(file.size, data.length);
    assert.deepEqual(await storedBlobs(dataDir), [etagOf(data)]);
    const stored = await readFile(blobPath(dataDir, etagOf(data)));
    assert.equal(sha1Hex(stored), sha1Hex(data));
  } finally {
    if (second) await second.close();
    else await first.close();
  }
});

test('abandoned blocks are swept after the expiry; fresh ones are kept', async () => {
  const server = await startServer();
  try {
    const t = await ticket(server.admin, { name: 'abandoned.bin' });
    const old = await mkblk(t.uploadUrl, t.token, BLOCK, bytes(MiB, 2));
    const fresh = await mkblk(t.uploadUrl, t.token, BLOCK, bytes(MiB, 3));
    assert.equal((await blockFiles(server.dataDir)).length, 2);
    // The ctx is opaque to clients; the test, knowing the secret, finds the block's file.
    const blockOf = (ctx: string) => decodeCtx(ctx, t.token, server.openpan.config.secret).blockId;
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    await utimes(join(server.dataDir, 'uploads', blockOf(old.json.ctx)), dayAgo, dayAgo);

    assert.equal(await server.openpan.uploads.sweepBlocks(), 1, 'a day is the default expiry');
    assert.deepEqual(await blockFiles(server.dataDir), [blockOf(fresh.json.ctx)]);
    assertUploadError(await bput(t.uploadUrl, t.token, old.json.ctx, MiB, bytes(MiB, 4)), 400, 'UPLOAD_INVALID');
    assert.equal((await bput(t.uploadUrl, t.token, fresh.json.ctx, MiB, bytes(MiB, 4))).status, 200);
    assert.equal(await server.openpan.uploads.sweepBlocks(), 0);
  } finally {
    await server.close();
  }
});

test('the sweep timer runs by itself and stops on close', async () => {
  // OPENPAN_UPLOAD_EXPIRY is in seconds; a 4 s expiry sweeps every second.
  const server = await startServer({ OPENPAN_UPLOAD_EXPIRY: '4' });
  try {
    const t = await ticket(server.admin, { name: 'timer.bin' });
    await mkblk(t.uploadUrl, t.token, BLOCK, bytes(1000, 5));
    const [name] = await blockFiles(server.dataDir);
    const past = new Date(Date.now() - 60_000);
    await utimes(join(server.dataDir, 'uploads', name), past, past);
    const deadline = Date.now() + 10_000;
    while ((await blockFiles(server.dataDir)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await blockFiles(server.dataDir), []);
  } finally {
    await server.close();
  }
});
