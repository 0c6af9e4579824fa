// The HTTP engine against a real HTTP server on loopback: segments, single streams, failures,
// retries, redirects under the address policy, pieces, and resuming from a job directory.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSettings } from '../../src/config/index.js';
import { HTTP_DEFAULTS } from '../../src/engines/http/options.js';
import { HttpEngine, reportsPieces, type EngineStatus, type HttpEngineOptions } from '../../src/engines/index.js';
import { offlineConfigFrom } from '../../src/config/offline.js';
import { AddressPolicy, parseCidrList } from '../../src/net/index.js';
import { ETAG_BLOCK } from '../../src/store/etag.js';
import { startTestServer, type TestServer } from '../support/http-fixture.js';
import { waitFor } from '../support/engine-conformance.js';

const MiB = 1024 * 1024;
const policy = new AddressPolicy(parseCidrList('127.0.0.1/32'));
const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

async function world(body: (w: { server: TestServer; engine: (o?: Partial<HttpEngineOptions>) => HttpEngine; root: string }) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'openpan-http-'));
  const server = await startTestServer();
  const engines: HttpEngine[] = [];
  try {
    const engine = (o: Partial<HttpEngineOptions> = {}) => {
      const made = new HttpEngine({ policy, retryDelayMs: 20, ...o });
      engines.push(made);
      return made;
    };
    await body({ server, root, engine });
  } finally {
    await Promise.all(engines.map((e) => e.close()));
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}

async function assertDone(final: EngineStatus, bytes: Buffer): Promise<void> {
  assert.equal(final.state, 'done', final.error?.message);
  assert.equal(final.files.length, 1);
  assert.equal(final.files[0].size, bytes.length);
  assert.equal(final.downloaded, bytes.length);
  assert.equal(final.selectedSize, bytes.length);
  assert.equal(sha1(await readFile(final.files[0].path)), sha1(bytes));
}

test('ranges: several concurrent range requests, every byte right, each 4 MiB piece reported once its bytes are on disk', () =>
  world(async ({ server, engine, root }) => {
    const bytes = randomBytes(14 * MiB + 123);
    // Throttled per response, so the segments are certainly in flight together.
    server.resources.set('/big.bin', { bytes, etag: '"a"', rate: 8 * MiB });
    const handle = engine({ segments: 4 }).start({ id: 'j', dir: join(root, 'j'), source: { kind: 'url', url: `${server.origin}/big.bin` } });
    assert.ok(reportsPieces(handle));
    const pieces: number[] = [];
    const wrong: number[] = [];
    let metadata: EngineStatus | null = null;
    handle.on('metadata', (m) => (metadata = m.status));
    handle.onPieceVerified((p) => {
      pieces.push(p);
      const path = handle.status().files[0].path;
      const onDisk = readFileSync(path).subarray(p * ETAG_BLOCK, (p + 1) * ETAG_BLOCK);
      if (!onDisk.equals(bytes.subarray(p * ETAG_BLOCK, (p + 1) * ETAG_BLOCK))) wrong.push(p);
    });
    const final = await handle.settled;
    await assertDone(final, bytes);
    assert.equal((metadata as EngineStatus | null)?.files[0]?.size, bytes.length);
    assert.deepEqual(
      [...pieces].sort((a, b) => a - b),
      [0, 1, 2, 3],
    );
    assert.deepEqual(wrong, [], 'each reported piece was complete on disk');
    const ranged = server.requests.filter((r) => r.path === '/big.bin' && r.range !== 'bytes=0-0');
    assert.ok(ranged.length >= 4, `${ranged.length} range requests`);
    assert.ok(ranged.every((r) => r.range !== undefined && r.ifRange === '"a"'));
    assert.ok(server.maxConcurrent >= 2, `at most ${server.maxConcurrent} responses at once`);
  }));

test('no range support: one plain GET after the probe', () =>
  world(async ({ server, engine, root }) => {
    const bytes = randomBytes(3 * MiB);
    server.resources.set('/plain', { bytes, ranges: false });
    const final = await engine().start({ id: 'p', dir: join(root, 'p'), source: { kind: 'url', url: `${server.origin}/plain` } }).settled;
    await assertDone(final, bytes);
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[1].range, undefined);
  }));

test('chunked without a length: the size is what arrived; pieces are reported once the length is known', () =>
  world(async ({ server, engine, root }) => {
    const bytes = randomBytes(5 * MiB + 7);
    server.resources.set('/chunked', { bytes, chunked: true, ranges: false });
    const handle = engine().start({ id: 'c', dir: join(root, 'c'), source: { kind: 'url', url: `${server.origin}/chunked` } });
    const pieces: number[] = [];
    if (reportsPieces(handle)) handle.onPieceVerified((p) => pieces.push(p));
    const final = await handle.settled;
    await assertDone(final, bytes);
    assert.deepEqual(pieces.sort(), [0, 1]);
  }));

test('a connection dropped mid-body is retried from where it stopped (ranges) or from zero (a plain stream)', () =>
  world(async ({ server, engine, root }) => {
    const bytes = randomBytes(4 * MiB);
    server.resources.set('/drop', { bytes, etag: '"d"', drop: { after: 300_000, times: 3 } });
    server.resources.set('/drop-plain', { bytes, ranges: false, drop: { after: 300_000, times: 2 } });
    const e = engine({ segments: 2 });
    await assertDone(await e.start({ id: 'd1', dir: join(root, 'd1'), source: { kind: 'url', url: `${server.origin}/drop` } }).settled, bytes);
    await assertDone(await e.start({ id: 'd2', dir: join(root, 'd2'), source: { kind: 'url', url: `${server.origin}/drop-plain` } }).settled, bytes);
  }));

test('404 fails at once with HTTP_404; 500 is retried and recovers; 500 for good ends as HTTP_500', () =>
  world(async ({ server, engine, root }) => {
    const bytes = randomBytes(MiB);
    server.resources.set('/flaky', { bytes, fail: { status: 500, times: 2 } });
    server.resources.set('/broken', { bytes, fail: { status: 503, times: 1000 } });
    const e = engine({ retries: 2 });
    const missing = await e.start({ id: 'm', dir: join(root, 'm'), source: { kind: 'url', url: `${server.origin}/nope` } }).settled;
    assert.equal(missing.state, 'failed');
    assert.deepEqual(missing.error && { code: missing.error.code, retryable: missing.error.retryable }, { code: 'HTTP_404', retryable: false });
    assert.equal(server.requests.filter((r) => r.path === '/nope').length, 1, 'a 404 is not retried');
    await assertDone(await e.start({ id: 'f', dir: join(root, 'f'), source: { kind: 'url', url: `${server.origin}/flaky` } }).settled, bytes);
    const broken = await e.start({ id: 'b', dir: join(root, 'b'), source: { kind: 'url', url: `${server.origin}/broken` } }).settled;
    assert.deepEqual(broken.error && { code: broken.error.code, retryable: broken.error.retryable }, { code: 'HTTP_503', retryable: true });
    assert.equal(server.requests.filter((r) => r.path === '/broken').length, 3, 'the first try and 2 retries');
  }));

test('redirects: followed; too many is REDIRECT_INVALID; to a refused address is URL_FORBIDDEN with nothing sent there', () =>
  world(async ({ server, engine, root }) => {
    const target = await startTestServer('127.0.0.2');
    try {
      const bytes = randomBytes(MiB);
      server.resources.set('/real', { bytes });
      target.resources.set('/real', { bytes });
      server.redirects.set('/a', '/b');
      server.redirects.set('/b', '/real');
      server.redirects.set('/loop', '/loop');
      server.redirects.set('/away', `${target.origin}/real`);
      const e = engine();
      await assertDone(await e.start({ id: 'r', dir: join(root, 'r'), source: { kind: 'url', url: `${server.origin}/a` } }).settled, bytes);
      const loop = await e.start({ id: 'l', dir: join(root, 'l'), source: { kind: 'url', url: `${server.origin}/loop` } }).settled;
      assert.deepEqual(loop.error && { code: loop.error.code, retryable: loop.error.retryable }, { code: 'REDIRECT_INVALID', retryable: false });
      const away = await e.start({ id: 'x', dir: join(root, 'x'), source: { kind: 'url', url: `${server.origin}/away` } }).settled;
      assert.deepEqual(away.error && { code: away.error.code, retryable: away.error.retryable }, { code: 'URL_FORBIDDEN', retryable: false });
      const direct = await e.start({ id: 'y', dir: join(root, 'y'), source: { kind: 'url', url: `http://0x7f.0.0.2:${target.port}/real` } }).settled;
      assert.equal(direct.error?.code, 'URL_FORBIDDEN');
      assert.equal(target.requests.length, 0, 'nothing reached the refused address');
    } finally {
      await target.close();
    }
  }));

test('after a hard stop, a new engine on the same directory fetches only the missing ranges', () =>
  world(async ({ server, engine, root }) => {
    const bytes = randomBytes(12 * MiB);
    server.resources.set('/resume.bin', { bytes, etag: '"r"', rate: 4 * MiB });
    const dir = join(root, 'first');
    const first = engine({ segments: 4 });
    const handle = first.start({ id: 'r', dir, source: { kind: 'url', url: `${server.origin}/resume.bin` } });
    // Wait for a saved state listing some bytes, then copy the directory as a crash would leave
    // it: the state file first (it never lists bytes the data file lacks), then the data file.
    const crashed = join(root, 'crashed');
    await waitFor(handle, (s) => s.downloaded >= 3 * MiB, '3 MiB');
    let saved: Array<[number, number]> = [];
    for (;;) {
      const state = JSON.parse(await readFile(join(dir, 'download.state.json'), 'utf8').catch(() => '{"done":[]}')) as { done: Array<[number, number]> };
      if (state.done.length > 0) {
        await mkdir(crashed);
        await copyFile(join(dir, 'download.state.json'), join(crashed, 'download.state.json'));
        await copyFile(join(dir, 'download'), join(crashed, 'download'));
        saved = state.done;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await first.close();
    const savedBytes = saved.reduce((n, [s, e]) => n + (e - s), 0);
    assert.ok(savedBytes > 0 && savedBytes < bytes.length);

    const before = server.requests.length;
    const servedBefore = server.bytesServed;
    const second = engine({ segments: 4 }).start({ id: 'r', dir: crashed, source: { kind: 'url', url: `${server.origin}/resume.bin` } });
    const final = await second.settled;
    await assertDone(final, bytes);
    assert.equal(final.resumedBytes, savedBytes);
    const requests = server.requests.slice(before).filter((r) => r.range !== 'bytes=0-0');
    for (const r of requests) {
      const start = Number(/^bytes=(\d+)-/.exec(r.range ?? '')?.[1]);
      assert.ok(!saved.some(([s, e]) => s <= start && start < e), `request ${r.range} starts in a saved range`);
      assert.equal(r.ifRange, '"r"');
    }
    // Bytes sent after the restart: the missing ones, plus the probe's byte and what a cut-short
    // response had in flight when its range was split (a few throttled chunks at most).
    const served = server.bytesServed - servedBefore;
    assert.ok(served >= bytes.length - savedBytes, `${served} bytes served`);
    assert.ok(served < bytes.length - savedBytes + 2 * MiB, `${served} bytes served for ${bytes.length - savedBytes} missing`);
  }));

test('changed content (new ETag) on restart: the saved ranges are dropped and the file downloaded again', () =>
  world(async ({ server, engine, root }) => {
    const old = randomBytes(2 * MiB);
    const bytes = randomBytes(2 * MiB);
    server.resources.set('/v', { bytes: old, etag: '"old"' });
    const dir = join(root, 'v');
    await assertDone(await engine().start({ id: 'v1', dir, source: { kind: 'url', url: `${server.origin}/v` } }).settled, old);
    server.resources.set('/v', { bytes, etag: '"new"' });
    const again = await engine().start({ id: 'v2', dir, source: { kind: 'url', url: `${server.origin}/v` } }).settled;
    await assertDone(again, bytes);
    assert.equal(again.resumedBytes, 0);
  }));

test('sources and selections the engine cannot take fail at start with stable codes', () =>
  world(async ({ server, engine, root }) => {
    server.resources.set('/x', { bytes: randomBytes(1000) });
    const e = engine();
    const code = async (job: Parameters<HttpEngine['start']>[0]): Promise<string | undefined> => (await e.start(job).settled).error?.code;
    assert.equal(
      await code({ id: 't', dir: join(root, 't'), source: { kind: 'magnet', uri: 'magnet:?xt=urn:btih:' + '0'.repeat(40) } }),
      'PROTOCOL_UNSUPPORTED',
    );
    assert.equal(await code({ id: 'f', dir: join(root, 'f'), source: { kind: 'url', url: 'ftp://127.0.0.1/x' } }), 'PROTOCOL_UNSUPPORTED');
    assert.equal(await code({ id: 's', dir: join(root, 's'), source: { kind: 'url', url: `${server.origin}/x` }, selectedFiles: [1] }), 'SELECTION_INVALID');
    const none = await e.start({ id: 'n', dir: join(root, 'n'), source: { kind: 'url', url: `${server.origin}/x` }, selectedFiles: [] }).settled;
    assert.equal(none.state, 'done');
    assert.equal(none.selectedSize, 0);
    assert.equal(server.requests.length, 1, 'only the probe');
  }));

test('the options from OPENPAN_HTTP_* reach the engine, checked; unset, the engine defaults', () => {
  const options = (env: Record<string, string>) => {
    const { policy: _policy, ...rest } = offlineConfigFrom(readSettings(env)).http;
    return rest;
  };
  const { segments, maxActive, retries, idleTimeoutMs, connectTimeoutMs } = HTTP_DEFAULTS;
  assert.deepEqual(options({}), { segments, maxActive, retries, idleTimeoutMs, connectTimeoutMs });
  assert.deepEqual(options({ OPENPAN_HTTP_SEGMENTS: '4', OPENPAN_HTTP_MAX_ACTIVE: '2', OPENPAN_HTTP_RETRIES: '0', OPENPAN_HTTP_TIMEOUT: '60' }), {
    segments: 4,
    maxActive: 2,
    retries: 0,
    idleTimeoutMs: 60_000,
    connectTimeoutMs: 15_000,
  });
  for (const [name, value] of [
    ['OPENPAN_HTTP_SEGMENTS', '0'],
    ['OPENPAN_HTTP_SEGMENTS', 'many'],
    ['OPENPAN_HTTP_MAX_ACTIVE', '-1'],
    ['OPENPAN_HTTP_RETRIES', '1.5'],
    ['OPENPAN_HTTP_TIMEOUT', '0'],
  ]) {
    assert.throws(() => readSettings({ [name]: value }), new RegExp(name), `${name}=${value}`);
  }
});
