// The WebTorrent engine against real peers on loopback: selection of files in a multi-file
// torrent, an independent seeder (aria2c), magnet links, web seeds, HTTP and UDP trackers,
// and the global limit on active jobs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebTorrentEngine, type EngineMetadata } from '../../src/engines/index.js';
import { parseTorrent } from '../../src/torrent/index.js';
import { makeTorrent, startAria2Seeder, startTracker, startWebSeed, startWebTorrentSeeder, writePayload, type Tracker } from '../support/swarm.js';
import { assertFiles, waitFor } from '../support/engine-conformance.js';

const TIMEOUT = 90_000;
const KiB = 1024;
const MiB = 1024 * KiB;

interface World {
  root: string;
  tracker: Tracker;
  engine: WebTorrentEngine;
  /** Runs at teardown, last registered first. */
  defer(fn: () => Promise<void>): void;
}

async function withWorld(body: (w: World) => Promise<void>, engineOpts: Partial<ConstructorParameters<typeof WebTorrentEngine>[0]> = {}): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'openpan-bt-'));
  const tracker = await startTracker();
  const engine = new WebTorrentEngine({ dht: false, pex: false, ...engineOpts });
  const deferred: Array<() => Promise<void>> = [];
  try {
    await body({ root, tracker, engine, defer: (fn) => deferred.push(fn) });
  } finally {
    await engine.close();
    for (const fn of deferred.reverse()) await fn();
    await tracker.close();
    await rm(root, { recursive: true, force: true });
  }
}

test('multi-file torrent with nested folders: only the 2 selected files of 3 are downloaded (UDP tracker)', { timeout: TIMEOUT }, () =>
  withWorld(async ({ root, tracker, engine, defer }) => {
    const files = [
      { path: 'docs/read me.txt', bytes: randomBytes(100 * KiB + 13) },
      { path: 'video/season 1/ep1.bin', bytes: randomBytes(MiB + 777) },
      { path: 'video/season 1/ep2.bin', bytes: randomBytes(1.5 * MiB + 5) },
    ];
    const built = makeTorrent(files, { announce: [tracker.udpUrl], pieceLength: 32 * KiB, name: 'My Show' });
    const seeder = await startWebTorrentSeeder(built, join(root, 'seed'), tracker);
    defer(seeder.close);

    const dir = join(root, 'job');
    const handle = engine.start({ id: 'multi', dir, source: { kind: 'torrent', torrent: built.torrent }, selectedFiles: [0, 2] });
    const final = await handle.settled;
    await assertFiles(
      final,
      new Map([
        [0, files[0].bytes],
        [2, files[2].bytes],
      ]),
      dir,
    );

    assert.equal(final.selectedSize, files[0].bytes.length + files[2].bytes.length);
    assert.equal(final.downloaded, final.selectedSize);
    assert.deepEqual(
      final.files.map((f) => [f.index, f.selected]),
      [
        [0, true],
        [1, false],
        [2, true],
      ],
    );
    assert.equal(final.files[0].path, join(dir, 'data', 'My Show', 'docs', 'read me.txt'), 'the torrent folder and nested folders are kept');
    assert.equal(final.files[2].path, join(dir, 'data', 'My Show', 'video', 'season 1', 'ep2.bin'));

    // The unselected file: not done, and its bytes are not all on disk (at most the pieces it
    // shares with its selected neighbours were written).
    const skipped = final.files[1];
    assert.equal(skipped.done, false);
    assert.ok(skipped.downloaded < files[1].bytes.length);
    const onDisk = await readFile(skipped.path).catch(() => Buffer.alloc(0));
    assert.ok(!onDisk.equals(files[1].bytes), 'the unselected file is not complete on disk');
    assert.ok(final.received < files[1].bytes.length + final.selectedSize, 'the unselected file was not transferred');
  }),
);

test('downloads from an aria2c seeder (an independent implementation), byte for byte', { timeout: TIMEOUT }, () =>
  withWorld(async ({ root, tracker, engine, defer }) => {
    const files = [
      { path: 'a/one.bin', bytes: randomBytes(2 * MiB + 1) },
      { path: 'b/c/two.bin', bytes: randomBytes(MiB - 3) },
    ];
    const built = makeTorrent(files, { announce: [tracker.httpUrl], pieceLength: 64 * KiB, name: 'from-aria2' });
    await writePayload(join(root, 'aria2'), built);
    const seeder = await startAria2Seeder(built, join(root, 'aria2'), tracker);
    defer(seeder.close);

    const dir = join(root, 'job');
    const handle = engine.start({ id: 'aria', dir, source: { kind: 'torrent', torrent: built.torrent } });
    const final = await handle.settled;
    await assertFiles(
      final,
      new Map([
        [0, files[0].bytes],
        [1, files[1].bytes],
      ]),
      dir,
    );
    assert.equal(final.resumedBytes, 0);
  }),
);

test('a magnet link: metadata from the swarm, the .torrent handed back, then the download', { timeout: TIMEOUT }, () =>
  withWorld(async ({ root, tracker, engine, defer }) => {
    const files = [
      { path: 'x/first.bin', bytes: randomBytes(300 * KiB) },
      { path: 'second.bin', bytes: randomBytes(700 * KiB + 1) },
    ];
    const built = makeTorrent(files, { announce: [tracker.httpUrl], pieceLength: 16 * KiB, name: 'magnetic' });
    const seeder = await startWebTorrentSeeder(built, join(root, 'seed'), tracker);
    defer(seeder.close);

    const dir = join(root, 'job');
    const magnet = `magnet:?xt=urn:btih:${built.infoHash}&dn=magnetic&tr=${encodeURIComponent(tracker.httpUrl)}`;
    const handle = engine.start({ id: 'magnet', dir, source: { kind: 'magnet', uri: magnet }, selectedFiles: [1] });
    assert.equal(handle.status().files.length, 0, 'no file list before the metadata');
    const metadata = new Promise<EngineMetadata>((res) => handle.on('metadata', res));
    const final = await handle.settled;
    const meta = await metadata;

    assert.ok(meta.torrent, 'the .torrent is handed back');
    const parsed = parseTorrent(meta.torrent);
    assert.equal(parsed.infoHash, built.infoHash);
    assert.deepEqual(parsed.announce, [tracker.httpUrl], "with the magnet link's tracker");
    assert.deepEqual(
      meta.status.files.map((f) => f.size),
      [300 * KiB, 700 * KiB + 1],
    );
    await assertFiles(final, new Map([[1, files[1].bytes]]), dir);
    assert.equal(final.files[0].done, false);
  }),
);

test('a torrent whose only source is an HTTP web seed (BEP 19) completes', { timeout: TIMEOUT }, () =>
  withWorld(async ({ root, engine, defer }) => {
    const bytes = randomBytes(2 * MiB + 99);
    const webRoot = join(root, 'www');
    const web = await startWebSeed(webRoot);
    defer(web.close);
    const built = makeTorrent([{ path: 'web.bin', bytes }], { announce: [], urlList: [`${web.baseUrl}files/web.bin`], pieceLength: 64 * KiB });
    await writePayload(join(webRoot, 'files'), built);

    const dir = join(root, 'job');
    const handle = engine.start({ id: 'web', dir, source: { kind: 'torrent', torrent: built.torrent } });
    const final = await handle.settled;
    await assertFiles(final, new Map([[0, bytes]]), dir);
    assert.ok(web.requests > 0, 'the web seed served the bytes');
  }),
);

test('maxActive: 1 — the second job waits in "queued" until the first ends, then runs', { timeout: TIMEOUT }, () =>
  withWorld(
    async ({ root, tracker, engine, defer }) => {
      const a = makeTorrent([{ path: 'a.bin', bytes: randomBytes(2 * MiB) }], { announce: [tracker.httpUrl], pieceLength: 64 * KiB });
      const b = makeTorrent([{ path: 'b.bin', bytes: randomBytes(MiB) }], { announce: [tracker.httpUrl], pieceLength: 64 * KiB });
      const seedA = await startWebTorrentSeeder(a, join(root, 'seed-a'), tracker);
      defer(seedA.close);
      const seedB = await startWebTorrentSeeder(b, join(root, 'seed-b'), tracker);
      defer(seedB.close);

      const first = engine.start({ id: 'first', dir: join(root, 'job-a'), source: { kind: 'torrent', torrent: a.torrent } });
      const second = engine.start({ id: 'second', dir: join(root, 'job-b'), source: { kind: 'torrent', torrent: b.torrent } });
      await waitFor(first, (s) => s.downloaded > 0, 'the first job downloading');
      assert.equal(second.status().state, 'queued');
      assert.equal(await stat(join(root, 'job-b')).catch(() => null), null, 'a queued job touches nothing');
      await first.pause();
      await waitFor(second, (s) => s.state === 'downloading' || s.state === 'done', 'the second job taking the free slot');
      await first.resume();
      assert.equal(first.status().state, 'queued', 'the resumed job waits for the slot');
      assert.equal((await second.settled).state, 'done');
      await assertFiles(await first.settled, new Map([[0, a.files[0].bytes]]), join(root, 'job-a'));
    },
    { maxActive: 1, downloadLimit: 1 * MiB },
  ),
);
