import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { test } from 'node:test';
import { publicEtag, signDownload, type DownloadClaims } from '../../src/files/download-url.js';
import { contentDisposition, contentTypeFor, parseRange, registerDownloadRoutes } from '../../src/http/download.routes.js';
import { createHttpServer } from '../../src/http/server.js';
import type { BlobStore } from '../../src/store/blob-store.js';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';

const SECRET = 'route-test-secret';
const SIZE = 9 * 1024 * 1024;

interface Fixture {
  base: string;
  data: Buffer;
  etag: string;
  emptyEtag: string;
  /** Every stream the route asked the store for, to check none is left open. */
  streams: Readable[];
  /** uuids of files the fixture treats as removed from the drive. */
  removed: Set<string>;
  url(over?: Partial<DownloadClaims>): string;
}

async function withServer(body: (f: Fixture) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'openpan-dl-'));
  const disk = new LocalDiskBlobStore(root);
  const streams: Readable[] = [];
  const store: BlobStore = Object.assign(Object.create(disk) as LocalDiskBlobStore, {
    async read(etag: string, range?: { start: number; end: number }) {
      const s = await disk.read(etag, range);
      streams.push(s);
      return s;
    },
  });
  const data = randomBytes(SIZE);
  const put = async (bytes: Buffer) => {
    const w = await disk.createWriter();
    await w.write(bytes);
    return (await w.commit()).etag;
  };
  const etag = await put(data);
  const emptyEtag = await put(Buffer.alloc(0));

  const removed = new Set<string>();
  const app = createHttpServer({ logLevel: 'silent' });
  registerDownloadRoutes(app, { secret: SECRET, store, fileHolds: async (_userId, uuid) => !removed.has(uuid) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const url = (over: Partial<DownloadClaims> = {}) =>
    base +
    signDownload(SECRET, {
      etag,
      name: 'big.bin',
      size: SIZE,
      userId: 1,
      fileUuid: '0123456789abcdef0123456789abcdef',
      expires: Date.now() + 3600_000,
      ...over,
    });
  try {
    await body({ base, data, etag, emptyEtag, streams, removed, url });
  } finally {
    // fetch keeps connections alive; one whose last response the server has not yet marked
    // finished is not "idle" and would hold close() for the 72 s keep-alive timeout.
    const closing = app.close();
    app.server.closeAllConnections();
    await closing;
    await rm(root, { recursive: true, force: true });
  }
}

async function bytesOf(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

test('GET serves the whole content with length, type, etag, ranges and caching headers', async () => {
  await withServer(async ({ url, data, etag }) => {
    const res = await fetch(url());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(SIZE));
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(res.headers.get('etag'), publicEtag(SECRET, etag));
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.match(res.headers.get('cache-control') ?? '', /^private, max-age=(3599|3600)$/);
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="big.bin"; filename*=UTF-8''big.bin`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok((await bytesOf(res)).equals(data));
  });
});

for (const [range, start, end] of [
  ['bytes=100-199', 100, 199],
  ['bytes=-10', SIZE - 10, SIZE - 1],
  ['bytes=5-', 5, SIZE - 1],
  ['bytes=0-0', 0, 0],
  [`bytes=${SIZE - 3}-${SIZE + 1000}`, SIZE - 3, SIZE - 1],
  [`bytes=-${SIZE * 2}`, 0, SIZE - 1],
] as const) {
  test(`Range ${range} is a 206 with bytes ${start}-${end} exactly`, async () => {
    await withServer(async ({ url, data }) => {
      const res = await fetch(url(), { headers: { Range: range } });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${SIZE}`);
      assert.equal(res.headers.get('content-length'), String(end - start + 1));
      assert.ok((await bytesOf(res)).equals(data.subarray(start, end + 1)));
    });
  });
}

test('a range starting past the end is 416 with Content-Range bytes */size', async () => {
  await withServer(async ({ url }) => {
    const res = await fetch(url(), { headers: { Range: `bytes=${SIZE + 5}-` } });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('content-range'), `bytes */${SIZE}`);
    const body = (await res.json()) as { code: string; success: boolean };
    assert.equal(body.code, 'RANGE_NOT_SATISFIABLE');
    assert.equal(body.success, false);
  });
});

test('a zero-length suffix range is 416', async () => {
  await withServer(async ({ url }) => {
    const res = await fetch(url(), { headers: { Range: 'bytes=-0' } });
    assert.equal(res.status, 416);
    await res.body?.cancel();
  });
});

for (const range of ['bytes=0-1,5-6', 'bytes=abc', 'items=0-1', 'bytes=9-3', 'bytes=-']) {
  test(`Range "${range}" (several ranges or malformed) is ignored: 200 with the whole content`, async () => {
    await withServer(async ({ url, data }) => {
      const res = await fetch(url(), { headers: { Range: range } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-range'), null);
      assert.ok((await bytesOf(res)).equals(data));
    });
  });
}

test('an empty file is 200 with length 0, and 416 for any range that starts at a byte', async () => {
  await withServer(async ({ url, emptyEtag }) => {
    const whole = await fetch(url({ etag: emptyEtag, size: 0, name: 'empty.txt' }));
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-length'), '0');
    assert.equal((await bytesOf(whole)).length, 0);
    for (const range of ['bytes=0-', 'bytes=0-0', 'bytes=-0']) {
      const res = await fetch(url({ etag: emptyEtag, size: 0, name: 'empty.txt' }), { headers: { Range: range } });
      assert.equal(res.status, 416, range);
      assert.equal(res.headers.get('content-range'), 'bytes */0');
      await res.body?.cancel();
    }
  });
});

test('an empty file answers a non-zero suffix range (bytes=-1) with 200 and its empty content (RFC 9110 §14.1.1)', async () => {
  await withServer(async ({ url, emptyEtag }) => {
    for (const range of ['bytes=-1', 'bytes=-500']) {
      const res = await fetch(url({ etag: emptyEtag, size: 0, name: 'empty.txt' }), { headers: { Range: range } });
      assert.equal(res.status, 200, range);
      assert.equal(res.headers.get('content-range'), null);
      assert.equal(res.headers.get('content-length'), '0');
      assert.equal((await bytesOf(res)).length, 0);
    }
  });
});

test('a Chinese name with quotes gets an ASCII fallback and an RFC 5987 filename*', async () => {
  await withServer(async ({ url }) => {
    const res = await fetch(url({ name: '幸运星 "a".torrent' }), { headers: { Range: 'bytes=0-0' } });
    assert.equal(res.status, 206);
    assert.equal(
      res.headers.get('content-disposition'),
      `attachment; filename="___ _a_.torrent"; filename*=UTF-8''%E5%B9%B8%E8%BF%90%E6%98%9F%20%22a%22.torrent`,
    );
    assert.equal(res.headers.get('content-type'), 'application/x-bittorrent');
    await res.body?.cancel();
  });
});

test('Content-Type follows the name, with charset=utf-8 for text', async () => {
  await withServer(async ({ url }) => {
    const expectations: Array<[string, string]> = [
      ['notes.txt', 'text/plain; charset=utf-8'],
      ['page.html', 'text/html; charset=utf-8'],
      ['movie.mp4', 'video/mp4'],
      ['no-extension', 'application/octet-stream'],
    ];
    for (const [name, type] of expectations) {
      const res = await fetch(url({ name }), { method: 'HEAD' });
      assert.equal(res.headers.get('content-type'), type, name);
    }
  });
});

test('If-None-Match with the etag is 304 with no body', async () => {
  await withServer(async ({ url, etag }) => {
    for (const header of [publicEtag(SECRET, etag), `"other", W/${publicEtag(SECRET, etag)}`, '*']) {
      const res = await fetch(url(), { headers: { 'If-None-Match': header } });
      assert.equal(res.status, 304, header);
      assert.equal(res.headers.get('etag'), publicEtag(SECRET, etag));
      assert.equal((await bytesOf(res)).length, 0);
    }
    const stale = await fetch(url(), { headers: { 'If-None-Match': '"something-else"', Range: 'bytes=0-1' } });
    assert.equal(stale.status, 206);
    await stale.body?.cancel();
  });
});

test('If-Match with another etag is 412 PRECONDITION_FAILED and no bytes; ours or * serves (RFC 9110 §13.1.1)', async () => {
  await withServer(async ({ url, etag, streams }) => {
    for (const header of ['"not-the-etag"', `W/${publicEtag(SECRET, etag)}`]) {
      const res = await fetch(url(), { headers: { 'If-Match': header, Range: 'bytes=0-9' } });
      assert.equal(res.status, 412, header);
      const body = (await res.json()) as { code: string; status: number };
      assert.equal(body.code, 'PRECONDITION_FAILED');
      assert.equal(body.status, 412);
    }
    assert.equal(streams.length, 0, 'nothing was read from the store');
    for (const header of [publicEtag(SECRET, etag), `"other", ${publicEtag(SECRET, etag)}`, '*']) {
      const res = await fetch(url(), { headers: { 'If-Match': header, Range: 'bytes=0-9' } });
      assert.equal(res.status, 206, header);
      assert.equal((await bytesOf(res)).length, 10);
    }
  });
});

test('an address whose file was removed (or whose content was replaced) is 404 FILE_NOT_FOUND at once', async () => {
  await withServer(async ({ url, removed, streams }) => {
    const address = url();
    const before = await fetch(address, { headers: { Range: 'bytes=0-0' } });
    assert.equal(before.status, 206);
    await before.body?.cancel();
    removed.add('0123456789abcdef0123456789abcdef');
    for (const method of ['GET', 'HEAD']) {
      const after = await fetch(address, { method });
      assert.equal(after.status, 404, method);
      if (method === 'GET') assert.equal(((await after.json()) as { code: string }).code, 'FILE_NOT_FOUND');
    }
    assert.equal(streams.length, 1, 'only the first request read content');
  });
});

test('If-Range with another etag ignores the range (200 whole); with ours it keeps it (206)', async () => {
  await withServer(async ({ url, etag }) => {
    const other = await fetch(url(), { headers: { Range: 'bytes=0-9', 'If-Range': '"not-it"' } });
    assert.equal(other.status, 200);
    assert.equal((await bytesOf(other)).length, SIZE);
    const same = await fetch(url(), { headers: { Range: 'bytes=0-9', 'If-Range': publicEtag(SECRET, etag) } });
    assert.equal(same.status, 206);
    assert.equal((await bytesOf(same)).length, 10);
  });
});

test('a tampered address is 403 FORBIDDEN in the 6pan failure envelope', async () => {
  await withServer(async ({ url }) => {
    const good = url({ name: 'mine.bin' });
    for (const tampered of [good.replace('mine.bin', 'yours.bin'), good.replace(/u=1/, 'u=2'), good.replace(/sig=[^&]+/, 'sig=' + 'A'.repeat(43))]) {
      const res = await fetch(tampered);
      assert.equal(res.status, 403, tampered);
      const body = (await res.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'result', 'status', 'success']);
      assert.equal(body.status, 403);
      assert.equal(body.success, false);
      assert.equal(body.code, 'FORBIDDEN');
      assert.equal(body.result, null);
    }
  });
});

test('an expired address is 403 FORBIDDEN saying it expired', async () => {
  await withServer(async ({ url }) => {
    const res = await fetch(url({ expires: Date.now() - 1000 }));
    assert.equal(res.status, 403);
    const body = (await res.json()) as { code: string; message: string };
    assert.equal(body.code, 'FORBIDDEN');
    assert.match(body.message, /expired/);
  });
});

test('content that is no longer stored is 404 FILE_NOT_FOUND', async () => {
  await withServer(async ({ url }) => {
    // The seed's example hash: well-formed, never stored in this fixture.
    const missing = await fetch(url({ etag: 'lgYD1AjrK5Daxq-Dt0qemSPKdNbh' }));
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, 'FILE_NOT_FOUND');
  });
});

test('HEAD answers the same headers as GET and no body, without opening the content', async () => {
  await withServer(async ({ url, etag, streams }) => {
    const res = await fetch(url(), { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(SIZE));
    assert.equal(res.headers.get('etag'), publicEtag(SECRET, etag));
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment;/);
    assert.equal((await bytesOf(res)).length, 0);
    const partial = await fetch(url(), { method: 'HEAD', headers: { Range: 'bytes=10-19' } });
    assert.equal(partial.status, 206);
    assert.equal(partial.headers.get('content-length'), '10');
    assert.equal(partial.headers.get('content-range'), `bytes 10-19/${SIZE}`);
    assert.equal(streams.length, 0);
  });
});

test('a client that disconnects mid-download gets its file stream destroyed (no fd leak)', async () => {
  await withServer(async ({ url, streams }) => {
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(url(), (res) => {
        res.once('data', () => {
          // One chunk in, hang up.
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end();
    });
    assert.equal(streams.length, 1);
    const stream = streams[0];
    if (!stream.closed) await new Promise((resolve) => stream.once('close', resolve));
    assert.equal(stream.destroyed, true);
    assert.equal(stream.readableEnded, false, 'the stream was cut short, not read to the end');
  });
});

test('parseRange reads one range and ignores the rest (unit)', () => {
  assert.deepEqual(parseRange(undefined, 10), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=2-4', 10), { kind: 'partial', start: 2, end: 4 });
  assert.deepEqual(parseRange('BYTES=2-4', 10), { kind: 'partial', start: 2, end: 4 });
  assert.deepEqual(parseRange('bytes=2-', 10), { kind: 'partial', start: 2, end: 9 });
  assert.deepEqual(parseRange('bytes=-3', 10), { kind: 'partial', start: 7, end: 9 });
  assert.deepEqual(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-0', 0), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-5', 0), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=-0', 0), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=1-2, 4-5', 10), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=5-2', 10), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=x-2', 10), { kind: 'whole' });
});

test('contentDisposition and contentTypeFor (unit)', () => {
  assert.equal(contentDisposition("it's (1)*.txt"), `attachment; filename="it's (1)*.txt"; filename*=UTF-8''it%27s%20%281%29%2A.txt`);
  assert.equal(contentDisposition('a\\b%c.txt'), `attachment; filename="a_b_c.txt"; filename*=UTF-8''a%5Cb%25c.txt`);
  assert.equal(contentDisposition('😀.png'), `attachment; filename="_.png"; filename*=UTF-8''%F0%9F%98%80.png`);
  assert.equal(contentTypeFor('a.css'), 'text/css; charset=utf-8');
  assert.equal(contentTypeFor('a.json'), 'application/json');
});
