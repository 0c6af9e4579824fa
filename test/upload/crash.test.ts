import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../support/server.js';
import { removeDataDir, spawnServer, tempDataDir } from '../support/process-server.js';
import { BLOCK, MiB, bytes, etagOf, sha1Hex } from '../support/upload.js';

/** A request body that sends `head` and then stalls forever: the server dies mid-body. */
function stalledBody(head: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(head);
    },
  });
}

async function mkblk(uploadUrl: string, token: string, block: Uint8Array, order: number): Promise<string> {
  const res = await fetch(`${uploadUrl}/mkblk/${block.length}/${order}`, {
    method: 'POST',
    headers: { authorization: token, 'content-type': 'application/octet-stream' },
    body: block,
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { ctx: string }).ctx;
}

test('kill -9 in the middle of uploads leaves no file and no space charged, and the upload resumes after restart', async () => {
  const dataDir = tempDataDir();
  let server = await spawnServer(dataDir);
  try {
    const admin = await new Client(server.url).login('admin', 'secret');
    const data = bytes(2 * BLOCK + 17, 7);
    const blocks = [data.subarray(0, BLOCK), data.subarray(BLOCK, 2 * BLOCK), data.subarray(2 * BLOCK)];
    const ticket = await admin.call('/v1/store/token', { name: 'big.bin', hash: etagOf(data), path: '/crash' });
    const ctx0 = await mkblk(ticket.uploadUrl, ticket.token, blocks[0], 0);
    const ctx1 = await mkblk(ticket.uploadUrl, ticket.token, blocks[1], 1);

    // Two requests in flight when the process dies: the last block and a form upload.
    const inFlight = [
      fetch(`${ticket.uploadUrl}/mkblk/${blocks[2].length}/2`, {
        method: 'POST',
        headers: { authorization: ticket.token, 'content-type': 'application/octet-stream', 'content-length': String(blocks[2].length) },
        body: stalledBody(blocks[2].subarray(0, 8)),
        duplex: 'half',
      } as RequestInit),
      (async () => {
        const small = await admin.call('/v1/store/token', { name: 'form.bin', path: '/crash' });
        const boundary = 'crashboundary';
        const head = Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="token"\r\n\r\n${small.token}\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="form.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        );
        return fetch(`${small.uploadUrl}/file/upload`, {
          method: 'POST',
          headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
          body: stalledBody(Buffer.concat([head, bytes(2 * MiB, 9)])),
          duplex: 'half',
        } as RequestInit);
      })(),
    ].map((p) =>
      p.then(
        () => 'answered',
        () => 'cut off',
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
    await server.kill9();
    assert.deepEqual(await Promise.all(inFlight), ['cut off', 'cut off']);

    server = await spawnServer(dataDir);
    const again = new Client(server.url, admin.token);
    const page = await again.call('/v1/files/page', { path: '/crash' });
    assert.equal(page.totalCount, 0, 'no half file is visible');
    assert.equal((await again.call('/v1/user/info')).spaceUsed, 0, 'no space is charged for unfinished uploads');

    // The client resumes: the acknowledged blocks survived, only the cut-off one is re-sent.
    // (The restarted server listens on another port, hence the new upload URL.)
    const uploadUrl = `${server.url}/upload`;
    const ctx2 = await mkblk(uploadUrl, ticket.token, blocks[2], 2);
    const res = await fetch(`${uploadUrl}/mkfile/${data.length}`, {
      method: 'POST',
      headers: { authorization: ticket.token, 'content-type': 'text/plain' },
      body: [ctx0, ctx1, ctx2].join(','),
    });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { hash: string; response: string };
    assert.equal(answer.hash, etagOf(data));
    const file = JSON.parse(answer.response).result;
    const { downloadAddress } = await again.call('/v1/files/download', { uuid: file.uuid });
    const got = Buffer.from(await (await fetch(downloadAddress)).arrayBuffer());
    assert.equal(sha1Hex(got), sha1Hex(data));
    assert.equal((await again.call('/v1/user/info')).spaceUsed, data.length);
    const stored = await readdir(join(dataDir, 'blobs'), { recursive: true });
    assert.ok(stored.some((p) => p.endsWith(etagOf(data))));
  } finally {
    await server.stop().catch(() => undefined);
    removeDataDir(dataDir);
  }
});

test('the leftovers of an assembly a crash cut short are removed at start; a resumable upload keeps its assembly', async () => {
  const dataDir = tempDataDir();
  let server = await spawnServer(dataDir);
  try {
    const admin = await new Client(server.url).login('admin', 'secret');
    const data = bytes(BLOCK + 5, 11);
    const ticket = await admin.call('/v1/store/token', { name: 'kept.bin', hash: etagOf(data), path: '/crash' });
    const ctx0 = await mkblk(ticket.uploadUrl, ticket.token, data.subarray(0, BLOCK), 0);
    await server.stop();

    // What a kill -9 can leave: a data file created before its map was written (or whose map
    // mkfile had dropped), a map without data, a record of a finished upload half written.
    const uploads = join(dataDir, 'uploads');
    const kept = (await readdir(uploads)).filter((n) => n.startsWith('asm-')).sort();
    assert.equal(kept.length, 2, 'the live upload has its data file and its map');
    const planted = [`asm-${'a'.repeat(32)}`, `asm-${'b'.repeat(32)}.map`, join('done', `${'c'.repeat(64)}.tmp`)];
    for (const name of planted) await writeFile(join(uploads, name), 'cut short');

    server = await spawnServer(dataDir);
    const left = await readdir(uploads, { recursive: true });
    for (const name of planted) assert.ok(!left.includes(name), `${name} was removed at start`);
    assert.deepEqual(left.filter((n) => n.startsWith('asm-')).sort(), kept);

    const uploadUrl = `${server.url}/upload`;
    const ctx1 = await mkblk(uploadUrl, ticket.token, data.subarray(BLOCK), 1);
    const res = await fetch(`${uploadUrl}/mkfile/${data.length}`, {
      method: 'POST',
      headers: { authorization: ticket.token, 'content-type': 'text/plain' },
      body: `${ctx0},${ctx1}`,
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { hash: string }).hash, etagOf(data));
  } finally {
    await server.stop().catch(() => undefined);
    removeDataDir(dataDir);
  }
});
