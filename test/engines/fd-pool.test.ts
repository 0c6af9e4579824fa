// The descriptor pool (src/engines/fd-pool.ts) and the chunk store over it
// (src/engines/bittorrent/pooled-store.ts): the number of files in a torrent never decides how
// many descriptors the server holds, a file in use is never closed under its user, and running
// out of descriptors fails one job, not the server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { readSettings } from '../../src/config/index.js';
import { PooledChunkStore } from '../../src/engines/bittorrent/pooled-store.js';
import { DEFAULT_MAX_OPEN_FILES, DescriptorsExhaustedError, FdPool, type FileOpener } from '../../src/engines/fd-pool.js';
import { WebTorrentEngine } from '../../src/engines/index.js';
import { offlineConfigFrom } from '../../src/config/offline.js';
import { makeTorrent, startAria2Seeder, startTracker, startWebTorrentSeeder, writePayload } from '../support/swarm.js';
import { assertFiles } from '../support/engine-conformance.js';

const KiB = 1024;

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'openpan-fdpool-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An opener that records what it opens and how many of its descriptors are open right now. */
function countingOpener(inner: FileOpener = (path, flags) => open(path, flags)): FileOpener & { opened: string[]; live: number; maxLive: number } {
  const opener = Object.assign(
    async (path: string, flags: number): Promise<FileHandle> => {
      const handle = await inner(path, flags);
      opener.opened.push(path);
      opener.live++;
      opener.maxLive = Math.max(opener.maxLive, opener.live);
      const close = handle.close.bind(handle);
      handle.close = async () => {
        opener.live--;
        return close();
      };
      return handle;
    },
    { opened: [] as string[], live: 0, maxLive: 0 },
  );
  return opener;
}

function emfile(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EMFILE: too many open files, open '${path}'`), { code: 'EMFILE', errno: -24, syscall: 'open', path });
}

/** Open descriptors of this process (the readdir's own descriptor included). */
function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

test('200 files written and read back concurrently through a pool of 8: never more than 8 open', async () =>
  withDir(async (dir) => {
    const opener = countingOpener();
    const pool = new FdPool({ max: 8, open: opener });
    const files = Array.from({ length: 200 }, (_, i) => ({
      file: pool.file(join(dir, `d${i % 7}`, `f${i}`), { writable: true }),
      bytes: randomBytes(100 + i),
    }));
    await Promise.all(files.map(({ file, bytes }) => file.write(bytes, 0)));
    assert.ok(pool.held <= 8);
    await Promise.all(
      files.map(async ({ file, bytes }) => {
        const back = Buffer.alloc(bytes.length);
        await file.read(back, 0, bytes.length, 0);
        assert.ok(back.equals(bytes), `${file.path} reads back what was written`);
      }),
    );
    assert.ok(opener.maxLive <= 8, `at most 8 descriptors open at once, saw ${opener.maxLive}`);
    assert.ok(pool.peak <= 8 && pool.peak >= 2, `peak ${pool.peak}`);
    assert.ok(pool.evictions >= 192, `files were closed to make room (${pool.evictions} evictions)`);
    await Promise.all(files.map(({ file }) => file.close()));
    assert.equal(pool.held, 0);
    assert.equal(opener.live, 0, 'closing the files closes every descriptor');
    for (const { file, bytes } of files) assert.ok((await readFile(file.path)).equals(bytes));
  }));

test('LRU: the least recently used idle file is the one closed; an evicted file reopens on its next use', async () =>
  withDir(async (dir) => {
    const opener = countingOpener();
    const pool = new FdPool({ max: 2, open: opener });
    const [a, b, c] = ['a', 'b', 'c'].map((n) => pool.file(join(dir, n), { writable: true }));
    await a.write(Buffer.from('aaaa'), 0);
    await b.write(Buffer.from('bbbb'), 0);
    await a.write(Buffer.from('A'), 0); // a is now the most recently used
    await c.write(Buffer.from('cccc'), 0); // evicts b, not a
    assert.deepEqual(
      opener.opened.map((p) => p.slice(dir.length + 1)),
      ['a', 'b', 'c'],
    );
    await a.write(Buffer.from('AA'), 0);
    assert.equal(opener.opened.length, 3, 'a was still open');
    const back = Buffer.alloc(4);
    await b.read(back, 0, 4, 0);
    assert.equal(back.toString(), 'bbbb', 'b reopened on use, with its bytes');
    assert.deepEqual(
      opener.opened.map((p) => p.slice(dir.length + 1)),
      ['a', 'b', 'c', 'b'],
    );
    assert.equal(opener.live, 2);
    assert.equal(pool.evictions, 2);
    await Promise.all([a, b, c].map((f) => f.close()));
    assert.equal(opener.live, 0);
  }));

test('a file in use is never closed: eviction and close wait for the read or write in flight', async () =>
  withDir(async (dir) => {
    const opener = countingOpener();
    const pool = new FdPool({ max: 1, open: opener });
    const a = pool.file(join(dir, 'a'), { writable: true });
    const b = pool.file(join(dir, 'b'), { writable: true });
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    let inFlight: FileHandle | null = null;
    const slow = pool.use(a, true, async (fh) => {
      inFlight = fh;
      await gate;
      // Still open: this write would fail with EBADF had the descriptor been closed.
      await fh.write(Buffer.from('written while b waited'), 0, 22, 0);
    });
    await sleep(20);
    assert.ok(inFlight !== null);
    let bDone = false;
    const bWrite = b.write(Buffer.from('b'), 0).then(() => (bDone = true));
    let aClosed = false;
    const aClose = a.close().then(() => (aClosed = true));
    await sleep(50);
    assert.equal(bDone, false, 'b waits for the only slot');
    assert.equal(aClosed, false, "a's close waits for its use");
    assert.deepEqual(
      opener.opened.map((p) => p.slice(dir.length + 1)),
      ['a'],
      'b was not opened beside a',
    );
    release();
    await slow;
    await Promise.all([bWrite, aClose]);
    assert.equal(await readFile(join(dir, 'a'), 'utf8'), 'written while b waited');
    assert.equal(opener.maxLive, 1);
    await assert.rejects(a.write(Buffer.from('x'), 0), /closed/, 'a closed file refuses further use');
    await b.close();
    assert.equal(opener.live, 0);
  }));

test('concurrent users of one file share one descriptor', async () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'shared'), randomBytes(64 * KiB));
    const opener = countingOpener();
    const pool = new FdPool({ max: 4, open: opener });
    const file = pool.file(join(dir, 'shared'), { writable: false });
    await Promise.all(Array.from({ length: 32 }, (_, i) => file.read(Buffer.alloc(KiB), 0, KiB, i * KiB)));
    assert.equal(opener.opened.length, 1);
    assert.equal(pool.held, 1);
    await file.close();
    assert.equal(pool.held, 0);
  }));

test('reads never create a file; a write creates its file and folder; a read-only file refuses writes', async () =>
  withDir(async (dir) => {
    const pool = new FdPool({ max: 4 });
    const missing = pool.file(join(dir, 'no', 'such', 'file'), { writable: true });
    await assert.rejects(missing.read(Buffer.alloc(1), 0, 1, 0), { code: 'ENOENT' });
    assert.equal(await stat(join(dir, 'no')).catch(() => null), null, 'no folder made by a read');
    await missing.write(Buffer.from('xyz'), 5);
    assert.equal((await stat(missing.path)).size, 8);
    await assert.rejects(missing.read(Buffer.alloc(4), 0, 4, 6), /ends before byte 10/, 'a short read is an error');
    const ro = pool.file(missing.path, { writable: false });
    await assert.rejects(ro.write(Buffer.from('no'), 0), /read-only/);
    assert.equal(pool.held, 1, 'the failed opens gave their slots back');
    await missing.close();
  }));

test('EMFILE: the pool closes an idle file of its own and retries; still failing, that use fails with a clear error', async () =>
  withDir(async (dir) => {
    let refusals = 0;
    const opener = countingOpener(async (path, flags) => {
      if (path.endsWith('hopeless') || (path.endsWith('tight') && refusals++ < 1)) throw emfile(path);
      return open(path, flags);
    });
    const pool = new FdPool({ max: 8, open: opener, retryDelaysMs: [1, 2, 5] });
    const idle = pool.file(join(dir, 'idle'), { writable: true });
    await idle.write(Buffer.from('x'), 0);
    const tight = pool.file(join(dir, 'tight'), { writable: true });
    await tight.write(Buffer.from('ok'), 0);
    assert.equal(pool.evictions, 1, 'the idle file was closed to free a descriptor');
    assert.equal(opener.live, 1);

    const hopeless = pool.file(join(dir, 'hopeless'), { writable: true });
    const err = await hopeless.write(Buffer.from('never'), 0).then(
      () => assert.fail('the write cannot succeed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DescriptorsExhaustedError);
    assert.equal(err.code, 'EMFILE');
    assert.equal(err.syscall, 'open');
    assert.match(err.message, /Too many open files in the server process \(EMFILE\).*OPENPAN_MAX_OPEN_FILES/);
    assert.equal(pool.evictions, 2, 'trying, it closed the idle file it had');
    assert.equal(pool.held, 0, 'the failed open gave its slot back');
    await tight.write(Buffer.from('!'), 2);
    assert.equal(await readFile(tight.path, 'utf8'), 'ok!', 'other files go on working');
    await Promise.all([idle, tight, hopeless].map((f) => f.close()));
    assert.equal(opener.live, 0);
  }));

test('chunk store: pieces span files (empty ones included), pad files of a read-only store read as zeros', async () =>
  withDir(async (dir) => {
    const pool = new FdPool({ max: 2 });
    const sizes = [5, 0, 3, 9, 0, 7];
    let offset = 0;
    const files = sizes.map((length, i) => {
      const f = { path: join(dir, 'data', `f${i}`), offset, length };
      offset += length;
      return f;
    });
    const payload = randomBytes(offset); // 24 bytes, chunks of 8
    const puts: number[] = [];
    const store = new PooledChunkStore(8, { pool, files, length: offset, writable: true, onPut: (i) => puts.push(i) });
    const put = (i: number, buf: Buffer) => new Promise<void>((res, rej) => store.put(i, buf, (err) => (err ? rej(err) : res())));
    const get = (s: PooledChunkStore, i: number, opts: { offset?: number; length?: number } | null = null) =>
      new Promise<Buffer>((res, rej) => s.get(i, opts, (err, buf) => (err ? rej(err) : res(buf as Buffer))));
    await Promise.all([0, 1, 2].map((i) => put(i, payload.subarray(i * 8, i * 8 + 8))));
    assert.deepEqual(puts.sort(), [0, 1, 2]);
    await assert.rejects(put(1, Buffer.alloc(7)), /must be 8 bytes/);
    assert.ok((await get(store, 1)).equals(payload.subarray(8, 16)));
    assert.ok((await get(store, 2, { offset: 3, length: 4 })).equals(payload.subarray(19, 23)));
    for (const [i, f] of files.entries()) {
      if (f.length > 0) assert.ok((await readFile(f.path)).equals(payload.subarray(f.offset, f.offset + f.length)), `file ${i}`);
      else assert.equal(await stat(f.path).catch(() => null), null, 'an empty file is never written');
    }
    assert.ok(pool.held <= 2);
    await new Promise((res) => store.close(res));
    assert.equal(pool.held, 0);

    // A seed's store: file 3 is a pad file (zeros, never opened); writes are refused.
    const seed = new PooledChunkStore(8, { pool, files: files.map((f, i) => ({ ...f, path: i === 3 ? null : f.path })), length: offset, writable: false });
    const expected = Buffer.from(payload);
    expected.fill(0, files[3].offset, files[3].offset + files[3].length);
    const all = Buffer.concat(await Promise.all([0, 1, 2].map((i) => get(seed, i))));
    assert.ok(all.equals(expected));
    await assert.rejects(new Promise<void>((res, rej) => seed.put(0, payload.subarray(0, 8), (err) => (err ? rej(err) : res()))), /read-only/);
    await new Promise((res) => seed.destroy(res));
    assert.ok((await readFile(files[0].path)).length === 5, 'destroying a read-only store deletes nothing');
  }));

test('OPENPAN_MAX_OPEN_FILES reaches the BitTorrent engine; 0 or garbage stops the start', async () => {
  const maxOpenFiles = (env: Record<string, string>) => offlineConfigFrom(readSettings(env)).engine.maxOpenFiles;
  assert.equal(maxOpenFiles({ OPENPAN_MAX_OPEN_FILES: '32' }), 32);
  assert.equal(maxOpenFiles({}), DEFAULT_MAX_OPEN_FILES, 'unset: the engine default (256)');
  assert.throws(() => readSettings({ OPENPAN_MAX_OPEN_FILES: '0' }), /OPENPAN_MAX_OPEN_FILES/);
  assert.throws(() => readSettings({ OPENPAN_MAX_OPEN_FILES: 'many' }), /OPENPAN_MAX_OPEN_FILES/);
  const engine = new WebTorrentEngine({ dht: false, pex: false });
  assert.equal(engine.fdPool.max, 256);
  await engine.close();
  assert.throws(() => new WebTorrentEngine({ dht: false, pex: false, maxOpenFiles: 0 }), /maxOpenFiles/);
});

test('a torrent of 3,000 files downloads through a pool of 32: the descriptor count stays bounded, the files are identical', { timeout: 180_000 }, async () =>
  withDir(async (root) => {
    const tracker = await startTracker();
    // Small files of varied sizes in 30 folders; 16 KiB pieces each span several files.
    const files = Array.from({ length: 3000 }, (_, i) => ({
      path: `folder-${String(i % 30).padStart(2, '0')}/file-${i}.bin`,
      bytes: randomBytes(200 + ((i * 397) % 2500)),
    }));
    const built = makeTorrent(files, { announce: [tracker.httpUrl], pieceLength: 16 * KiB, name: 'many files' });
    let seeder: { close(): Promise<void> } | undefined;
    let engine: WebTorrentEngine | undefined;
    let sampler: NodeJS.Timeout | undefined;
    // Everything in the try: a seeder that fails to start must not leave the tracker keeping the process alive.
    try {
      // aria2c seeds from its own process, so only the engine's descriptors are counted here.
      await writePayload(join(root, 'seed'), built);
      seeder = await startAria2Seeder(built, join(root, 'seed'), tracker);
      engine = new WebTorrentEngine({ dht: false, pex: false, maxOpenFiles: 32 });
      const baseline = openDescriptors();
      let highest = baseline;
      let samples = 0;
      sampler = setInterval(() => {
        highest = Math.max(highest, openDescriptors());
        samples++;
      }, 10);
      const dir = join(root, 'job');
      const handle = engine.start({ id: 'many', dir, source: { kind: 'torrent', torrent: built.torrent } });
      const final = await handle.settled;
      clearInterval(sampler);
      // The client's listening socket, the tracker's and the seeder's connections: a handful.
      const margin = 16;
      assert.ok(samples > 10, `the count was sampled during the download (${samples} samples)`);
      assert.ok(highest <= baseline + 32 + margin, `at most ${baseline} + 32 + ${margin} descriptors during the download, saw ${highest}`);
      assert.ok(engine.fdPool.peak <= 32, `the pool held at most 32 (peak ${engine.fdPool.peak})`);
      assert.ok(engine.fdPool.evictions > 0, 'files were closed and reopened to stay within the pool');
      await assertFiles(final, new Map(files.map((f, i) => [i, f.bytes])), dir);
    } finally {
      clearInterval(sampler);
      await engine?.close();
      await seeder?.close();
      await tracker.close();
    }
  }),
);

test('a job whose files cannot be opened (EMFILE) fails alone with IO_ERROR; the engine goes on with the next job', { timeout: 60_000 }, async () =>
  withDir(async (root) => {
    const tracker = await startTracker();
    const starved = makeTorrent(
      [
        { path: 'a.bin', bytes: randomBytes(100 * KiB) },
        { path: 'b.bin', bytes: randomBytes(50 * KiB) },
      ],
      { announce: [tracker.httpUrl], name: 'starved' },
    );
    const fine = makeTorrent([{ path: 'c.bin', bytes: randomBytes(120 * KiB) }], { announce: [tracker.httpUrl] });
    const seeders: Array<{ close(): Promise<void> }> = [];
    const starvedDir = join(root, 'job-starved');
    // The system has no descriptor for the starved job's files, whatever the pool closes.
    const pool = new FdPool({
      max: 16,
      retryDelaysMs: [1, 5, 10],
      open: (path, flags) => (path.startsWith(starvedDir) ? Promise.reject(emfile(path)) : open(path, flags)),
    });
    const engine = new WebTorrentEngine({ dht: false, pex: false, fdPool: pool });
    try {
      seeders.push(await startWebTorrentSeeder(starved, join(root, 'seed-1'), tracker));
      seeders.push(await startWebTorrentSeeder(fine, join(root, 'seed-2'), tracker));
      await mkdir(starvedDir, { recursive: true });
      const failed = await engine.start({ id: 'starved', dir: starvedDir, source: { kind: 'torrent', torrent: starved.torrent } }).settled;
      assert.equal(failed.state, 'failed');
      assert.equal(failed.error?.code, 'IO_ERROR');
      assert.equal(failed.error?.retryable, true);
      assert.match(failed.error?.message ?? '', /Too many open files in the server process \(EMFILE\)/);

      const dir = join(root, 'job-fine');
      const done = await engine.start({ id: 'fine', dir, source: { kind: 'torrent', torrent: fine.torrent } }).settled;
      await assertFiles(done, new Map([[0, fine.files[0].bytes]]), dir);
      assert.equal(pool.held, 0, 'both jobs gave their descriptors back');
    } finally {
      await engine.close();
      for (const s of seeders) await s.close();
      await tracker.close();
    }
  }),
);
