// Offline download of magnet links over the real API: the metadata comes from peers (BEP 9) on
// loopback — an in-process WebTorrent seeder and aria2c as an independent one — with an
// in-process tracker named in the link. DHT off.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from '../support/server.js';
import {
  makeTorrent,
  startAria2Seeder,
  startTracker,
  startWebTorrentSeeder,
  writePayload,
  type BuiltTorrent,
  type Seeder,
  type Tracker,
} from '../support/swarm.js';
import { assertFile, KiB, task, waitDone, waitFor } from '../support/offline-e2e.js';

function magnetOf(built: BuiltTorrent, tracker: Tracker, name?: string): string {
  return `magnet:?xt=urn:btih:${built.infoHash}${name ? `&dn=${encodeURIComponent(name)}` : ''}&tr=${encodeURIComponent(tracker.httpUrl)}`;
}

function threeFiles(tracker: Tracker, label: string): BuiltTorrent {
  return makeTorrent(
    [
      { path: 'a.txt', bytes: randomBytes(40 * KiB) },
      { path: 'sub/b.bin', bytes: randomBytes(300 * KiB + 17) },
      { path: 'c.dat', bytes: randomBytes(90 * KiB) },
    ],
    { announce: [tracker.httpUrl], name: label },
  );
}

describe('magnet tasks', () => {
  let server: TestServer;
  /** Waits at most a second for metadata at parse time. */
  let quick: TestServer;
  let tracker: Tracker;
  const seeders: Seeder[] = [];
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'openpan-magnet-'));
    dirs.push(dir);
    return dir;
  };

  before(async () => {
    tracker = await startTracker({ intervalMs: 1000 });
    server = await startServer({ OPENPAN_MAGNET_WAIT: '20', OPENPAN_MAGNET_PREFETCH: '60' });
    quick = await startServer({ OPENPAN_MAGNET_WAIT: '1', OPENPAN_MAGNET_PREFETCH: '1' });
  });
  after(async () => {
    await server?.close();
    await quick?.close();
    await Promise.all(seeders.map((s) => s.close()));
    await tracker?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('parseMagnet fetches the file list from peers; the next parse of it is instant; start downloads the selection', async () => {
    const built = threeFiles(tracker, 'magnet-one');
    seeders.push(await startWebTorrentSeeder(built, tempDir(), tracker));
    const alice = await server.newUser('mag-alice');
    const parsed = await alice.call('/v1/offline/parseMagnet', { url: magnetOf(built, tracker) });
    assert.equal(parsed.type, 10);
    assert.equal(parsed.infoHash, built.infoHash);
    assert.equal(parsed.name, 'magnet-one');
    assert.equal(parsed.metadataPending, undefined);
    assert.deepEqual(
      parsed.files.map((f: { path: string; size: number }) => [f.path, f.size]),
      built.files.map((f) => [f.path, f.bytes.length]),
    );
    const stored = await server.openpan.db.selectFrom('offline_metadata').select('info_hash').where('info_hash', '=', built.infoHash).executeTakeFirst();
    assert.ok(stored, 'the metadata is kept');

    // Another user, with the peers gone: the kept metadata answers.
    await seeders.pop()!.close();
    const bob = await server.newUser('mag-bob');
    const again = await bob.call('/v1/offline/parseUrl', { url: magnetOf(built, tracker) });
    assert.equal(again.files.length, 3);

    seeders.push(await startWebTorrentSeeder(built, tempDir(), tracker));
    const started = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, files: [0, 2], savePath: '/m' });
    assert.equal(started.type, 10);
    assert.deepEqual(started.files, [0, 2]);
    assert.equal(started.url, magnetOf(built, tracker));
    await waitDone(alice, started.taskId);
    await assertFile(alice, '/m/magnet-one/a.txt', built.files[0].bytes);
    await assertFile(alice, '/m/magnet-one/c.dat', built.files[2].bytes);
    await assert.rejects(alice.call('/v1/files/get', { path: '/m/magnet-one/sub/b.bin' }), /FILE_NOT_FOUND/);

    // The content is now held: bob's start of the same two files completes at once.
    const instant = await bob.call('/v1/offline/parseMagnet', { url: magnetOf(built, tracker) });
    assert.deepEqual(
      instant.files.map((f: { cached: boolean }) => f.cached),
      [true, false, true],
    );
    const bobTask = await bob.call('/v1/offline/start', { taskHash: instant.taskHash, files: '0,2' });
    assert.equal(bobTask.status, 100);
    await assertFile(bob, '/magnet-one/c.dat', built.files[2].bytes);
  });

  test('without peers the parse answers metadataPending; a start waits in "fetching metadata" and applies its selection once peers come', async () => {
    const built = threeFiles(tracker, 'magnet-late');
    const carol = await quick.newUser('mag-carol');
    const parsed = await carol.call('/v1/offline/parseMagnet', { url: magnetOf(built, tracker, 'late one') });
    assert.equal(parsed.metadataPending, true);
    assert.equal(parsed.files, undefined);
    assert.equal(parsed.name, 'late one');

    const started = await carol.call('/v1/offline/start', { taskHash: parsed.taskHash, files: '1' });
    assert.equal(started.size, 0, 'size unknown before the metadata');
    assert.deepEqual(started.files, []);
    assert.equal(started.name, 'late one');
    const fetching = await waitFor('the task to fetch metadata', async () => {
      const t = await task(carol, started.taskId);
      return t?.status === 10 ? t : undefined;
    });
    assert.equal(fetching.status, 10);

    seeders.push(await startWebTorrentSeeder(built, tempDir(), tracker));
    const done = await waitDone(carol, started.taskId);
    assert.deepEqual(done.files, [1]);
    assert.equal(done.size, built.files[1].bytes.length);
    assert.equal(done.name, 'magnet-late', 'the placeholder name gives way to the torrent name');
    await assertFile(carol, '/magnet-late/sub/b.bin', built.files[1].bytes);
    await assert.rejects(carol.call('/v1/files/get', { path: '/magnet-late/a.txt' }), /FILE_NOT_FOUND/);
  });

  test('a selection that the metadata shows to be out of range fails the task with BAD_REQUEST', async () => {
    const built = threeFiles(tracker, 'magnet-bad-selection');
    const dave = await quick.newUser('mag-dave');
    const parsed = await dave.call('/v1/offline/parseUrl', { url: magnetOf(built, tracker) });
    assert.equal(parsed.metadataPending, true);
    const started = await dave.call('/v1/offline/start', { taskHash: parsed.taskHash, files: '7' });
    seeders.push(await startWebTorrentSeeder(built, tempDir(), tracker));
    const failed = await waitFor('the task to fail', async () => {
      const t = await task(dave, started.taskId);
      return t?.status === -1 ? t : undefined;
    });
    assert.equal(failed.error, 'BAD_REQUEST');
  });

  test("a task's name is the user's own: never another user's dn for the same torrent, and made a safe name", async () => {
    const built = threeFiles(tracker, 'magnet-names');
    const erin = await quick.newUser('mag-erin');
    const frank = await quick.newUser('mag-frank');
    const secret = await erin.call('/v1/offline/parseMagnet', { url: magnetOf(built, tracker, "erin's private title") });
    const mine = await erin.call('/v1/offline/start', { taskHash: secret.taskHash });
    assert.equal(mine.name, "erin's private title");
    // The same info hash without a dn, while nobody has its metadata: frank sees the hash, not erin's title.
    const bare = await frank.call('/v1/offline/parseMagnet', { url: magnetOf(built, tracker) });
    const theirs = await frank.call('/v1/offline/start', { taskHash: bare.taskHash, name: `evil\u0000\u001b[31m/../${'x'.repeat(5000)}` });
    assert.ok(!theirs.name.includes("erin's private title"));
    assert.ok(!/[\p{Cc}/]/u.test(theirs.name), JSON.stringify(theirs.name.slice(0, 40)));
    assert.ok(Buffer.byteLength(theirs.name) <= 255, `${Buffer.byteLength(theirs.name)} bytes`);
    await frank.call('/v1/offline/remove', { taskId: theirs.taskId });
    const plain = await frank.call('/v1/offline/start', {
      taskHash: (await frank.call('/v1/offline/parseMagnet', { url: magnetOf(built, tracker) })).taskHash,
    });
    assert.equal(plain.name, built.infoHash);
    await erin.call('/v1/offline/remove', { taskId: mine.taskId });
    await frank.call('/v1/offline/remove', { taskId: plain.taskId });
  });

  test('metadata and data from an independent seeder (aria2c)', async () => {
    const built = makeTorrent([{ path: 'aria.bin', bytes: randomBytes(700 * KiB + 3) }], { announce: [tracker.httpUrl] });
    const dir = tempDir();
    await writePayload(dir, built);
    seeders.push(await startAria2Seeder(built, dir, tracker));
    const erin = await server.newUser('mag-erin');
    const parsed = await erin.call('/v1/offline/parseMagnet', { url: magnetOf(built, tracker) });
    assert.equal(parsed.name, 'aria.bin');
    assert.equal(parsed.files.length, 1);
    const started = await erin.call('/v1/offline/start', { taskHash: parsed.taskHash });
    await waitDone(erin, started.taskId);
    await assertFile(erin, '/aria.bin', built.files[0].bytes);
  });

  test('malformed magnet links are URL_INVALID; a v2-only one is PROTOCOL_UNSUPPORTED', async () => {
    const frank = await server.newUser('mag-frank');
    for (const url of [
      'magnet:?dn=nohash',
      'magnet:?xt=urn:btih:1234',
      'magnet:?xt=urn:btih:' + 'a'.repeat(40) + '&xt=urn:btih:' + 'b'.repeat(40),
      'http://x/ is not a magnet',
    ]) {
      const r = await frank.raw('/v1/offline/parseMagnet', { url });
      assert.equal(r.json.code, 'URL_INVALID', url);
    }
    const v2 = await frank.raw('/v1/offline/parseMagnet', { url: `magnet:?xt=urn:btmh:1220${'c'.repeat(64)}` });
    assert.equal(v2.status, 422);
    assert.equal(v2.json.code, 'PROTOCOL_UNSUPPORTED');
  });
});

describe('magnet lookups cannot crowd out downloads', () => {
  test('a user may look up 5 unknown magnet links at once, not 6; lookups hold no download slot', async () => {
    const tracker = await startTracker({ intervalMs: 1000 });
    // One download slot: lookups of links nobody seeds must leave it free.
    const s = await startServer({ OPENPAN_MAGNET_WAIT: '0', OPENPAN_MAGNET_PREFETCH: '120', OPENPAN_BT_MAX_ACTIVE: '1' });
    const dir = mkdtempSync(join(tmpdir(), 'openpan-lookups-'));
    try {
      const flooder = await s.newUser('flooder');
      const unseeded = () => `magnet:?xt=urn:btih:${randomBytes(20).toString('hex')}&tr=${encodeURIComponent(tracker.httpUrl)}`;
      for (let i = 0; i < 5; i++) assert.equal((await flooder.call('/v1/offline/parseMagnet', { url: unseeded() })).metadataPending, true);
      const sixth = await flooder.raw('/v1/offline/parseMagnet', { url: unseeded() });
      assert.deepEqual([sixth.status, sixth.json.code], [429, 'TOO_MANY_REQUESTS']);
      // Another user looks up as usual, and a real download runs beside the five lookups.
      const other = await s.newUser('downloader');
      const built = threeFiles(tracker, 'beside-lookups');
      const seeder = await startWebTorrentSeeder(built, dir, tracker);
      try {
        const parsed = await other.call('/v1/offline/parseMagnet', { url: magnetOf(built, tracker) });
        const started = await other.call('/v1/offline/start', { taskHash: parsed.taskHash });
        await waitDone(other, started.taskId);
      } finally {
        await seeder.close();
      }
    } finally {
      await s.close();
      await tracker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
