// Blocks waiting for their mkfile count against the user's free space (src/upload/pending.ts):
// mkblk charges the whole block before reading it, so nobody parks more block data on the
// server than their drive has room for; mkfile, a failed block and the sweep give it back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyUploadToken } from '../../src/upload/upload-token.js';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { BLOCK, MiB, assertUploadError, blockFiles, blockUpload, bput, bytes, fileOf, formUpload, mkblk, octet, ticket } from '../support/upload.js';

async function userWithQuota(server: TestServer, name: string, quota: number): Promise<Client> {
  const client = await server.newUser(name);
  await server.openpan.users.setQuota(name, quota);
  return client;
}

function waitingBytes(server: TestServer, token: string): number {
  return server.openpan.uploads.pending.of(verifyUploadToken(token, server.openpan.config.secret).userId);
}

/** A mkblk whose body is streamed (no Content-Length), so only reading it can find it too long. */
async function streamedMkblk(uploadUrl: string, token: string, blockSize: number, body: Uint8Array, order?: number) {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < body.length; at += MiB) controller.enqueue(body.subarray(at, at + MiB));
      controller.close();
    },
  });
  const res = await fetch(`${uploadUrl}/mkblk/${blockSize}${order === undefined ? '' : `/${order}`}`, {
    method: 'POST',
    headers: octet(token),
    body: stream,
    duplex: 'half',
  } as RequestInit);
  return { status: res.status, json: (await res.json()) as any, headers: res.headers };
}

test("the review's loop: blocks sent with one token stop at the free space, whole blocks counted before their bytes", async () => {
  const server = await startServer();
  try {
    const carol = await userWithQuota(server, 'carol', 10 * MiB);
    const t = await ticket(carol, { name: 'parked.bin' });
    // The first chunk of a block charges all of it: 1 MiB sent, 4 MiB counted.
    assert.equal((await mkblk(t.uploadUrl, t.token, BLOCK, bytes(MiB, 1))).status, 200);
    assert.equal((await mkblk(t.uploadUrl, t.token, BLOCK, bytes(BLOCK, 2), 1)).status, 200);
    assert.equal(waitingBytes(server, t.token), 2 * BLOCK);
    assertUploadError(await mkblk(t.uploadUrl, t.token, BLOCK, bytes(BLOCK, 3)), 413, 'SPACE_EXCEEDED');
    // The limit is the user's, not the token's.
    const other = await ticket(carol, { name: 'other.bin' });
    assertUploadError(await mkblk(other.uploadUrl, other.token, BLOCK, bytes(10, 4)), 413, 'SPACE_EXCEEDED');
    assertUploadError(await mkblk(t.uploadUrl, t.token, 32 * MiB, bytes(1, 5)), 413, 'SPACE_EXCEEDED');
    assert.equal((await mkblk(other.uploadUrl, other.token, 2 * MiB, bytes(2 * MiB, 6))).status, 200, 'what is left still fits');
    // Written: two blocks in files of their own, one in the first token's assembly (data and map).
    assert.equal((await blockFiles(server.dataDir)).length, 4, 'refused blocks were not written');
    assert.equal((await carol.call('/v1/user/info')).spaceUsed, 0, 'waiting blocks are counted, not charged');
    // Another user's space is their own.
    const dave = await userWithQuota(server, 'dave', 10 * MiB);
    const td = await ticket(dave, { name: 'd.bin' });
    assert.equal((await mkblk(td.uploadUrl, td.token, BLOCK, bytes(BLOCK, 7))).status, 200);
  } finally {
    await server.close();
  }
});

test('a form upload must fit beside the blocks waiting on the server', async () => {
  const server = await startServer();
  try {
    const erin = await userWithQuota(server, 'erin', 8 * MiB + 512 * 1024);
    const t = await ticket(erin, { name: 'blocks.bin' });
    assert.equal((await mkblk(t.uploadUrl, t.token, BLOCK, bytes(BLOCK, 1), 0)).status, 200);
    assert.equal((await mkblk(t.uploadUrl, t.token, BLOCK, bytes(BLOCK, 2), 1)).status, 200);
    const f = await ticket(erin, { name: 'form.bin' });
    for (const fileFirst of [false, true]) {
      assertUploadError(await formUpload(f.uploadUrl, f.token, bytes(512 * 1024 + 1, 3), { fileFirst }), 413, 'SPACE_EXCEEDED');
    }
    assert.equal(fileOf(await formUpload(f.uploadUrl, f.token, bytes(512 * 1024, 3))).size, 512 * 1024);
  } finally {
    await server.close();
  }
});

test('blocks stop counting when mkfile makes them a file, when a block fails, and when the sweep deletes them', async () => {
  const server = await startServer();
  try {
    const fay = await userWithQuota(server, 'fay', 10 * MiB);
    const data = bytes(2 * BLOCK, 1);
    const t = await ticket(fay, { name: 'done.bin' });
    fileOf(await blockUpload(t.uploadUrl, t.token, data, { order: 'parallel' }));
    assert.equal(waitingBytes(server, t.token), 0, 'the file holds the bytes now, charged as spaceUsed');

    // 2 MiB free. A block cut short in a file of its own is deleted, and so is its charge.
    const u = await ticket(fay, { name: 'next.bin' });
    const tooLong = await streamedMkblk(u.uploadUrl, u.token, 2 * MiB, bytes(2 * MiB + 1, 2));
    assertUploadError(tooLong, 400, 'UPLOAD_INVALID');
    assert.equal(waitingBytes(server, u.token), 0);
    const kept = await mkblk(u.uploadUrl, u.token, 2 * MiB, bytes(MiB, 3));
    assert.equal(kept.status, 200);
    assertUploadError(await mkblk(u.uploadUrl, u.token, 1, bytes(1, 4)), 413, 'SPACE_EXCEEDED');

    // The sweep deletes abandoned blocks and forgets them; a later bput of one finds it gone.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await server.openpan.uploads.sweepBlocks(0);
    assert.deepEqual(await blockFiles(server.dataDir), []);
    assert.equal(waitingBytes(server, u.token), 0);
    assertUploadError(await bput(u.uploadUrl, u.token, kept.json.ctx, MiB, bytes(MiB, 5)), 400, 'UPLOAD_INVALID');
    assert.equal(waitingBytes(server, u.token), 0, 'a bput of a swept block charges nothing');
    assert.equal((await mkblk(u.uploadUrl, u.token, 2 * MiB, bytes(2 * MiB, 6))).status, 200);
  } finally {
    await server.close();
  }
});

test('a block cut short in the assembly file stays counted until its upload goes: its bytes stay there', async () => {
  const server = await startServer();
  try {
    const gil = await userWithQuota(server, 'gil', 8 * MiB);
    const t = await ticket(gil, { name: 'placed.bin' });
    // Cut short at order 5 (the bytes written before the refusal stay in the assembly file),
    // then again at order 6: the loop would otherwise park bytes for free.
    assertUploadError(await streamedMkblk(t.uploadUrl, t.token, BLOCK, bytes(BLOCK + 1, 1), 5), 400, 'UPLOAD_INVALID');
    assertUploadError(await streamedMkblk(t.uploadUrl, t.token, BLOCK, bytes(BLOCK + 1, 2), 6), 400, 'UPLOAD_INVALID');
    assert.equal(waitingBytes(server, t.token), 2 * BLOCK);
    assertUploadError(await mkblk(t.uploadUrl, t.token, BLOCK, bytes(BLOCK, 3), 0), 413, 'SPACE_EXCEEDED');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await server.openpan.uploads.sweepBlocks(0);
    assert.equal(waitingBytes(server, t.token), 0);
    assert.deepEqual(await blockFiles(server.dataDir), [], 'the assembly file went with them');
  } finally {
    await server.close();
  }
});

test('after a restart, the first bput of a block charges it again', async () => {
  const first = await startServer();
  let second: TestServer | null = null;
  try {
    const hal = await userWithQuota(first, 'hal', 10 * MiB);
    const t = await ticket(hal, { name: 'restart.bin' });
    const half = await mkblk(t.uploadUrl, t.token, BLOCK, bytes(MiB, 1), 0);
    assert.equal(half.status, 200);
    await first.stop();

    second = await startServer({}, first.dataDir);
    const u = `${second.url}/upload`;
    assert.equal(waitingBytes(second, t.token), 0, 'a new process knows no blocks');
    assert.equal((await bput(u, t.token, half.json.ctx, MiB, bytes(MiB, 2))).status, 200);
    assert.equal(waitingBytes(second, t.token), BLOCK);
    assert.equal((await mkblk(u, t.token, BLOCK, bytes(BLOCK, 3), 1)).status, 200);
    assertUploadError(await mkblk(u, t.token, BLOCK, bytes(BLOCK, 4), 2), 413, 'SPACE_EXCEEDED');
  } finally {
    if (second) await second.close();
    else await first.close();
  }
});
