// Seeding after the import (OPENPAN_SEED_RATIO / OPENPAN_SEED_TIME, default off), against a real
// loopback swarm with DHT off: the seed is made of hard links to the stored blobs (no second
// copy), a fresh leecher can download the torrent from openpan alone, and the seed ends — links
// deleted — at its limit, when the task is removed, or after a restart with seeding switched off.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebTorrentEngine } from '../../src/engines/index.js';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';
import { type Client, startServer, type TestServer } from '../support/server.js';
import { makeTorrent, startTracker, startWebTorrentSeeder, type BuiltTorrent, type Seeder, type Tracker } from '../support/swarm.js';
import { bytes, etagOf, fileOf, formUpload } from '../support/upload.js';

const KiB = 1024;
const TIMEOUT = 60_000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = TIMEOUT): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Uploads the torrent, starts every file into /dl, waits until the task is done; returns its taskId. */
async function download(client: Client, built: BuiltTorrent): Promise<string> {
  const t = await client.call('/v1/store/token', { name: 'x.torrent', hash: etagOf(built.torrent), path: ':torrent' });
  const tf = 'uuid' in t ? t : fileOf(await formUpload(t.uploadUrl, t.token, built.torrent));
  const parsed = await client.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
  const { taskId } = await client.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/dl' });
  await waitFor('the task to finish', async () => {
    const task = (await client.call('/v1/offline/page', { page: 1, pageSize: 100 })).list.find((x: any) => x.taskId === taskId);
    if (task?.status === -1) throw new Error(`task failed: ${task.error} ${task.message}`);
    return task?.status === 100;
  });
  return taskId;
}

function seedingRoot(server: TestServer): string {
  return join(server.dataDir, 'seeding');
}

function seedDirs(server: TestServer): string[] {
  return existsSync(seedingRoot(server)) ? readdirSync(seedingRoot(server)) : [];
}

function seedRows(server: TestServer): Promise<Array<{ job_id: string; uploaded: number; seeded_ms: number }>> {
  return server.openpan.db.selectFrom('offline_seeds').selectAll().execute() as never;
}

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('seeding after the import', () => {
  let tracker: Tracker;
  let built: BuiltTorrent;
  const a = bytes(300 * KiB + 123, 11);
  const b = bytes(200 * KiB + 7, 12);

  before(async () => {
    tracker = await startTracker({ intervalMs: 1000 });
    built = makeTorrent(
      [
        { path: 'a.bin', bytes: a },
        { path: 'sub/b.bin', bytes: b },
      ],
      { announce: [tracker.httpUrl], name: 'Seed Me' },
    );
  });

  after(async () => {
    await tracker?.close();
  });

  /** A seeder for `built` that stops once openpan is done with it. */
  async function withOriginalSeeder<T>(fn: () => Promise<T>): Promise<T> {
    const dir = mkdtempSync(join(tmpdir(), 'openpan-seed-src-'));
    let seeder: Seeder | undefined;
    try {
      seeder = await startWebTorrentSeeder(built, dir, tracker);
      return await fn();
    } finally {
      await seeder?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('with OPENPAN_SEED_TIME, a fresh leecher downloads the torrent from openpan alone; the seed is hard links to the blobs', {
    timeout: 180_000,
  }, async () => {
    const server = await startServer({ OPENPAN_SEED_TIME: '60' });
    const leechDir = mkdtempSync(join(tmpdir(), 'openpan-leech-'));
    const leecher = new WebTorrentEngine({ dht: false, pex: false });
    try {
      const alice = await server.newUser('alice');
      const taskId = await withOriginalSeeder(() => download(alice, built));
      // The original seeder is gone: openpan is the only seeder left.

      // The seed's links are made one by one after its directory appears: wait for the seed itself.
      const jobId = await waitFor('the seed', () => {
        const dirs = seedDirs(server);
        return dirs.length === 1 && filesUnder(join(seedingRoot(server), dirs[0])).length >= 2 ? dirs[0] : null;
      });
      const blobs = new LocalDiskBlobStore(join(server.dataDir, 'blobs'));
      const seeded = filesUnder(join(seedingRoot(server), jobId));
      assert.equal(seeded.length, 2, `two files seeded: ${seeded.join(', ')}`);
      for (const [name, data] of [
        ['a.bin', a],
        ['b.bin', b],
      ] as const) {
        const path = seeded.find((p) => p.endsWith(`/${name}`));
        assert.ok(path, `${name} is in the seeding directory`);
        const link = statSync(path);
        const blob = statSync(blobs.contentPath(etagOf(data)));
        assert.ok(link.nlink >= 2, `${name} is a hard link (nlink ${link.nlink})`);
        assert.equal(link.ino, blob.ino, `${name} is the blob's inode`);
        assert.equal(link.dev, blob.dev);
      }
      assert.deepEqual(
        (await seedRows(server)).map((r) => r.job_id),
        [jobId],
      );

      const handle = leecher.start({ id: 'leech', dir: leechDir, source: { kind: 'torrent', torrent: built.torrent } });
      const status = await Promise.race([handle.settled, sleep(TIMEOUT, null, { ref: false })]);
      assert.ok(status !== null, 'the leecher finished in time');
      assert.equal(status.state, 'done', status.error?.message);
      const got = new Map(status.files.map((f) => [f.path.endsWith('a.bin') ? 'a' : 'b', readFileSync(f.path)]));
      assert.ok(got.get('a')?.equals(a), 'a.bin from openpan');
      assert.ok(got.get('b')?.equals(b), 'b.bin from openpan');
      assert.ok(status.received >= a.length + b.length);
      await waitFor('the upload to be counted', () => (server.openpan.offline.seeding.status(jobId)?.uploaded ?? 0) >= a.length + b.length);

      // Removing the task (the job's only one) ends the seed and deletes the links, not the files.
      await alice.call('/v1/offline/remove', { taskId });
      assert.deepEqual(seedDirs(server), [], 'links deleted when the task is removed');
      assert.deepEqual(await seedRows(server), []);
      assert.equal(statSync(blobs.contentPath(etagOf(a))).nlink, 1, 'the blob is back to one link');
      assert.equal((await alice.call('/v1/files/get', { path: '/dl/Seed Me/a.bin' })).size, a.length);
    } finally {
      await leecher.close();
      rmSync(leechDir, { recursive: true, force: true });
      await server.close();
    }
  });

  test('default (seeding off): no seeding directory remains after the import', { timeout: 120_000 }, async () => {
    const server = await startServer();
    try {
      const alice = await server.newUser('alice');
      await withOriginalSeeder(() => download(alice, built));
      await sleep(500);
      assert.deepEqual(seedDirs(server), []);
      assert.deepEqual(await seedRows(server), []);
    } finally {
      await server.close();
    }
  });

  test('the seed ends at OPENPAN_SEED_TIME and its links go', { timeout: 120_000 }, async () => {
    const server = await startServer({ OPENPAN_SEED_TIME: '2' });
    try {
      const alice = await server.newUser('alice');
      await withOriginalSeeder(() => download(alice, built));
      const started = Date.now();
      await waitFor('the seed to end', () => seedDirs(server).length === 0, 20_000);
      assert.ok(Date.now() - started < 15_000);
      assert.deepEqual(await seedRows(server), []);
      assert.equal((await alice.call('/v1/files/get', { path: '/dl/Seed Me/sub/b.bin' })).size, b.length);
    } finally {
      await server.close();
    }
  });

  test('a restart resumes the seed with its counters; a restart with seeding off drops it and its links', { timeout: 120_000 }, async () => {
    let server = await startServer({ OPENPAN_SEED_TIME: '600' });
    const dataDir = server.dataDir;
    try {
      const alice = await server.newUser('alice');
      await withOriginalSeeder(() => download(alice, built));
      const [jobId] = await waitFor('the seeding directory', () => (seedDirs(server).length === 1 ? seedDirs(server) : null));
      await sleep(1500);
      await server.stop();
      const [row] = await (async () => {
        server = await startServer({ OPENPAN_SEED_TIME: '600' }, dataDir);
        return seedRows(server);
      })();
      assert.equal(row.job_id, jobId);
      assert.ok(Number(row.seeded_ms) >= 1000, `seeded time kept over the restart: ${row.seeded_ms} ms`);
      assert.ok(server.openpan.offline.seeding.status(jobId) !== null, 'seeding again after the restart');
      assert.deepEqual(seedDirs(server), [jobId]);
      await server.stop();

      server = await startServer({}, dataDir);
      assert.deepEqual(seedDirs(server), [], 'seeding off: links dropped at start');
      assert.deepEqual(await seedRows(server), []);
    } finally {
      await server.close();
    }
  });
});
