// Slow clients hold a socket, and an upload's file, only so long: headers within
// OPENPAN_HEADERS_TIMEOUT, the whole request within OPENPAN_REQUEST_TIMEOUT, and an upload body
// never silent for OPENPAN_BODY_IDLE_TIMEOUT — while a slow body that keeps moving goes through.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { verifyUploadToken } from '../../src/upload/upload-token.js';
import { startServer, type TestServer } from '../support/server.js';
import { blockFiles, bytes, tempBlobs, ticket } from '../support/upload.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RawRequest {
  socket: Socket;
  /** What the server answered so far. */
  answer(): string;
  /** Resolves when the server closes the connection: after how long, and what it answered. */
  closed: Promise<{ ms: number; answer: string }>;
}

/** A hand-written HTTP/1.1 request on a raw socket, so the test decides when each byte goes. */
function rawRequest(server: TestServer, head: string): RawRequest {
  const { port } = new URL(server.url);
  const socket = connect(Number(port), '127.0.0.1');
  const started = Date.now();
  let answer = '';
  socket.on('data', (d) => (answer += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<{ ms: number; answer: string }>((resolve) => socket.on('close', () => resolve({ ms: Date.now() - started, answer })));
  socket.write(head);
  return { socket, answer: () => answer, closed };
}

/** Whether the connection closes within `ms`; closes it anyway afterwards. */
async function closesWithin(req: RawRequest, ms: number): Promise<{ ms: number; answer: string } | null> {
  const result = await Promise.race([req.closed, sleep(ms).then(() => null)]);
  req.socket.destroy();
  return result;
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(what);
    await sleep(50);
  }
}

function mkblkHead(token: string, blockSize: number, length = blockSize): string {
  return `POST /upload/mkblk/${blockSize} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: UpToken ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;
}

test('the timeouts default to 60 s for headers, an hour for a request, 60 s of silence in an upload body; 0 switches one off', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openpan-config-'));
  try {
    const defaults = loadConfig({ OPENPAN_DATA_DIR: dir });
    assert.equal(defaults.headersTimeoutMs, 60_000);
    assert.equal(defaults.requestTimeoutMs, 6 * 3600_000);
    assert.equal(defaults.bodyIdleTimeoutMs, 60_000);
    const set = loadConfig({ OPENPAN_DATA_DIR: dir, OPENPAN_HEADERS_TIMEOUT: '5', OPENPAN_REQUEST_TIMEOUT: '0', OPENPAN_BODY_IDLE_TIMEOUT: '7' });
    assert.deepEqual([set.headersTimeoutMs, set.requestTimeoutMs, set.bodyIdleTimeoutMs], [5000, 0, 7000]);
    assert.throws(() => loadConfig({ OPENPAN_DATA_DIR: dir, OPENPAN_REQUEST_TIMEOUT: '-1' }), /OPENPAN_REQUEST_TIMEOUT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a block body that goes silent is cut off after OPENPAN_BODY_IDLE_TIMEOUT, and its block is not kept', async () => {
  const server = await startServer({ OPENPAN_BODY_IDLE_TIMEOUT: '1' });
  try {
    const t = await ticket(server.admin, { name: 'silent.bin' });
    const userId = verifyUploadToken(t.token, server.openpan.config.secret).userId;
    const req = rawRequest(server, mkblkHead(t.token, 1024 * 1024));
    req.socket.write(bytes(64 * 1024, 1));
    await eventually('the block is charged while it arrives', async () => server.openpan.uploads.pending.of(userId) > 0);
    const closed = await closesWithin(req, 5000);
    assert.ok(closed, 'the connection was closed');
    assert.ok(closed.ms >= 900 && closed.ms < 3000, `closed after ${closed.ms} ms`);
    await eventually('the partial block is deleted', async () => (await blockFiles(server.dataDir)).length === 0);
    // The charge goes just after the file (the failed request unwinds): within moments, for good.
    await eventually('its charge is given back', async () => server.openpan.uploads.pending.of(userId) === 0);
  } finally {
    await server.close();
  }
});

test('a form whose file goes silent is cut off, and its temporary file is deleted', async () => {
  const server = await startServer({ OPENPAN_BODY_IDLE_TIMEOUT: '1' });
  try {
    const t = await ticket(server.admin, { name: 'silent-form.bin' });
    const boundary = 'XXsilentXX';
    const start = `--${boundary}\r\nContent-Disposition: form-data; name="token"\r\n\r\n${t.token}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const req = rawRequest(
      server,
      `POST /upload/file/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${start.length + 1024 * 1024}\r\n\r\n${start}`,
    );
    req.socket.write(bytes(100 * 1024, 2));
    await eventually('the file is being written', async () => (await tempBlobs(server.dataDir)).length === 1);
    const closed = await closesWithin(req, 5000);
    assert.ok(closed, 'the connection was closed');
    assert.ok(closed.ms < 3000, `closed after ${closed.ms} ms`);
    await eventually('the temporary file is deleted', async () => (await tempBlobs(server.dataDir)).length === 0);
    assert.equal((await server.admin.call('/v1/files/page', { path: '/' })).totalCount, 0);
  } finally {
    await server.close();
  }
});

test('a slow body that keeps moving is not cut off, however long it takes within the request timeout', async () => {
  const server = await startServer({ OPENPAN_BODY_IDLE_TIMEOUT: '1' });
  try {
    const t = await ticket(server.admin, { name: 'slow.bin' });
    const block = bytes(32 * 1024, 3);
    const req = rawRequest(server, mkblkHead(t.token, block.length));
    // 8 pieces, 400 ms apart: 2.8 s in all, never 1 s of silence.
    for (let at = 0; at < block.length; at += 4096) {
      req.socket.write(block.subarray(at, at + 4096));
      await sleep(400);
    }
    await eventually('the block is acknowledged', async () => /\r\n\r\n\{.*\}$/s.test(req.answer()));
    assert.match(req.answer(), /^HTTP\/1\.1 200 /);
    assert.match(req.answer(), /"offset":32768/);
    assert.equal(await closesWithin(req, 1500), null, 'the connection stays open for the next request (keep-alive)');
  } finally {
    await server.close();
  }
});

test('headers that never finish get 408 and lose the connection after OPENPAN_HEADERS_TIMEOUT', async () => {
  const server = await startServer({ OPENPAN_HEADERS_TIMEOUT: '1' });
  try {
    const req = rawRequest(server, 'POST /upload/mkblk/1024 HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const closed = await closesWithin(req, 5000);
    assert.ok(closed, 'the connection was closed');
    assert.match(closed.answer, /^HTTP\/1\.1 408 /);
    assert.ok(closed.ms < 3000, `closed after ${closed.ms} ms`);
  } finally {
    await server.close();
  }
});

test('a body trickled just fast enough to stay under the idle timeout is still cut at OPENPAN_REQUEST_TIMEOUT (408)', async () => {
  const server = await startServer({ OPENPAN_REQUEST_TIMEOUT: '2', OPENPAN_HEADERS_TIMEOUT: '1', OPENPAN_BODY_IDLE_TIMEOUT: '1' });
  try {
    const t = await ticket(server.admin, { name: 'trickle.bin' });
    const req = rawRequest(server, mkblkHead(t.token, 1024 * 1024));
    const trickle = setInterval(() => req.socket.write(bytes(16, 4)), 300);
    try {
      const closed = await closesWithin(req, 6000);
      assert.ok(closed, 'the connection was closed');
      assert.match(closed.answer, /^HTTP\/1\.1 408 /);
      assert.ok(closed.ms >= 1900 && closed.ms < 4000, `closed after ${closed.ms} ms`);
    } finally {
      clearInterval(trickle);
    }
  } finally {
    await server.close();
  }
});
