// Jobs driven by several workers through leases (src/offline/job-leases.ts), on one real SQLite
// file opened by several connections, as processes would: the claim race, the heartbeat, expiry
// and takeover, and whole workers (the offline module with the fake engine) handing a job over
// when one of them dies mid-download. Leases of a few hundred milliseconds keep each case short.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { dataDirLayout, ensureDataDir } from '../../src/data-dir/index.js';
import type { Db } from '../../src/db/database.js';
import { FilesRepo } from '../../src/files/files.repo.js';
import { FilesService } from '../../src/files/files.service.js';
import { createOffline, type Offline, type OfflineCluster } from '../../src/offline/index.js';
import { JobLeases, LeaseLost } from '../../src/offline/job-leases.js';
import { TASK_DONE, TASK_PAUSED } from '../../src/offline/offline.repo.js';
import { ContentLock } from '../../src/store/content-lock.js';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';
import { UsersRepo } from '../../src/users/users.repo.js';
import { dropDatabaseFor, openTestDatabase } from '../support/postgres.js';
import { FakeCatalogue, FakeEngine } from '../support/fake-engine.js';
import { offlineJobRow } from '../support/job-rows.js';
import { buildV1, KiB } from '../support/torrent-builder.js';
import { etagOf } from '../support/upload.js';

const ALBUM = buildV1({
  name: 'Album',
  pieceLength: 16 * KiB,
  files: [
    { path: ['a.bin'], size: 64 * KiB },
    { path: ['b.bin'], size: 64 * KiB },
  ],
  seed: 11,
});
const CONTENT = [ALBUM.data.subarray(0, 64 * KiB), ALBUM.data.subarray(64 * KiB)];
const LEASE_MS = 300;

/** A job row as the offline service inserts it. */
async function insertJob(db: Db, id: string, phase = 'queued'): Promise<void> {
  await db
    .insertInto('offline_jobs')
    .values(offlineJobRow(id, Date.now(), { phase }))
    .execute();
}

async function jobRow(db: Db, id: string) {
  return db.selectFrom('offline_jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** A shared data directory and `n` connections to its database (the first one migrated it). */
async function withConnections(n: number, body: (dbs: Db[], dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'openpan-leases-'));
  ensureDataDir(dir);
  const dbs: Db[] = [];
  try {
    for (let i = 0; i < n; i++) dbs.push(await openTestDatabase(dir));
    await body(dbs, dir);
  } finally {
    for (const db of dbs) await db.destroy().catch(() => undefined);
    await dropDatabaseFor(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

function leases(db: Db, workerId: string, opts: { now?: () => number; capacity?: number } = {}): JobLeases {
  return new JobLeases({ db, workerId, leaseMs: LEASE_MS, tempRoot: `/scratch/${workerId}`, capacity: opts.capacity ?? 100, now: opts.now });
}

test('claim race: of two workers claiming the same jobs at once, exactly one wins each job', async () => {
  await withConnections(2, async ([dbA, dbB]) => {
    const ids = Array.from({ length: 40 }, (_, i) => `job${String(i).padStart(2, '0')}`);
    for (const id of ids) await insertJob(dbA, id);
    const a = leases(dbA, 'worker-a');
    const b = leases(dbB, 'worker-b');
    const results = await Promise.all(
      ids.flatMap((id) => [a.claim(id).then((won) => ({ id, who: 'worker-a', won })), b.claim(id).then((won) => ({ id, who: 'worker-b', won }))]),
    );
    for (const id of ids) {
      const winners = results.filter((r) => r.id === id && r.won).map((r) => r.who);
      assert.equal(winners.length, 1, `one winner of ${id}: ${winners.join(', ')}`);
      const row = await jobRow(dbA, id);
      assert.equal(row.owner, winners[0]);
      // The working directory is the claimer's own.
      assert.equal(row.temp_dir, `/scratch/${winners[0]}/${id}`);
    }
    assert.equal(a.held.size + b.held.size, ids.length);
    assert.deepEqual(
      [...a.held].filter((id) => b.held.has(id)),
      [],
    );
  });
});

test('heartbeat: renewing keeps the job; the other worker cannot claim it while the lease holds', async () => {
  await withConnections(2, async ([dbA, dbB]) => {
    let now = 1_000_000;
    const clock = () => now;
    await insertJob(dbA, 'j1');
    const a = leases(dbA, 'worker-a', { now: clock });
    const b = leases(dbB, 'worker-b', { now: clock });
    assert.equal(await a.claim('j1'), true);
    assert.equal((await jobRow(dbA, 'j1')).lease_until, now + LEASE_MS);
    // Renewed at two thirds of the lease, it holds past the first lease's end.
    now += (LEASE_MS * 2) / 3;
    assert.deepEqual(await a.renew(), { lost: [], changed: [] });
    now += (LEASE_MS * 2) / 3;
    assert.equal(await b.claim('j1'), false);
    assert.deepEqual(await b.candidates(), []);
    assert.equal((await jobRow(dbA, 'j1')).owner, 'worker-a');
    // A change an API process signals reaches the owner at its next heartbeat.
    await dbB.updateTable('offline_jobs').set({ changes: 1 }).where('id', '=', 'j1').execute();
    assert.deepEqual(await a.renew(), { lost: [], changed: ['j1'] });
    // Claiming again (the reconcile it triggers) acknowledges it.
    assert.equal(await a.claim('j1'), true);
    assert.equal((await jobRow(dbA, 'j1')).changes, 0);
  });
});

test('expiry and takeover: a worker that stops renewing loses the job to another, and its hand-outs are refused', async () => {
  await withConnections(2, async ([dbA, dbB]) => {
    let now = 1_000_000;
    const clock = () => now;
    await insertJob(dbA, 'j1', 'downloading');
    await insertJob(dbA, 'j2', 'paused');
    await insertJob(dbA, 'j3', 'done');
    const a = leases(dbA, 'worker-a', { now: clock });
    const b = leases(dbB, 'worker-b', { now: clock });
    assert.equal(await a.claim('j1'), true);
    // Paused and finished jobs want no driver; j1 is held.
    assert.deepEqual(await b.candidates(), []);
    now += LEASE_MS + 1;
    // Its lease ran out: the next look claims it.
    assert.deepEqual(await b.candidates(), ['j1']);
    assert.equal(await b.claim('j1'), true);
    const row = await jobRow(dbB, 'j1');
    assert.equal(row.owner, 'worker-b');
    assert.equal(row.temp_dir, '/scratch/worker-b/j1');
    // The stalled worker wakes up: its heartbeat says the job is lost, and a hand-out fails.
    assert.deepEqual(await a.renew(), { lost: ['j1'], changed: [] });
    await assert.rejects(
      dbA.transaction().execute((trx) => a.fence(trx, 'j1')),
      (err) => err instanceof LeaseLost && err.jobId === 'j1',
    );
    await dbB.transaction().execute((trx) => b.fence(trx, 'j1'));
    // Released, it is anyone's again at once.
    await b.release('j1');
    assert.equal((await jobRow(dbA, 'j1')).owner, null);
    assert.equal(await a.claim('j1'), true);
  });
});

test('capacity: a look claims the oldest runnable jobs the worker has room for, and no more', async () => {
  await withConnections(1, async ([db]) => {
    for (const id of ['j1', 'j2', 'j3', 'j4']) await insertJob(db, id);
    const a = leases(db, 'worker-a', { capacity: 2 });
    assert.equal(await a.claim('j3'), true);
    assert.deepEqual((await a.candidates()).sort(), ['j1', 'j3']);
    assert.equal((await jobRow(db, 'j1')).owner, 'worker-a');
    assert.equal((await jobRow(db, 'j1')).temp_dir, '/scratch/worker-a/j1');
    // Full: a second look claims nothing more.
    assert.deepEqual((await a.candidates()).sort(), ['j1', 'j3']);
    assert.equal((await jobRow(db, 'j2')).owner, null);
  });
});

test('looks at once: workers claiming batches side by side never hold the same job, and hold them all', async () => {
  await withConnections(3, async (dbs) => {
    const ids = Array.from({ length: 60 }, (_, i) => `job${String(i).padStart(2, '0')}`);
    for (const id of ids) await insertJob(dbs[0], id);
    const workers = dbs.map((db, i) => leases(db, `worker-${i}`, { capacity: 25 }));
    const seen = await Promise.all(workers.map((w) => w.candidates()));
    const all = seen.flat();
    assert.equal(new Set(all).size, all.length, 'no job held twice');
    assert.equal(all.length, ids.length);
    for (const [i, held] of seen.entries()) {
      assert.ok(held.length <= 25);
      for (const id of held) assert.equal((await jobRow(dbs[0], id)).owner, `worker-${i}`);
    }
  });
});

// ---- whole workers over the fake engine ----

interface Node {
  offline: Offline;
  engine: FakeEngine;
  db: Db;
  errors: string[];
}

interface Cluster {
  db: Db;
  files: FilesService;
  store: LocalDiskBlobStore;
  api: Node;
  workers: Node[];
}

/** An API process and `n` workers on one database and content store, each with its own scratch directory. */
async function withCluster(n: number, body: (c: Cluster, catalogue: FakeCatalogue) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'openpan-lease-cluster-'));
  const shared = join(root, 'shared');
  const config = loadConfig({ OPENPAN_DATA_DIR: shared, OPENPAN_BT_DHT: '0', OPENPAN_LOG_LEVEL: 'silent' });
  const sharedLayout = dataDirLayout(shared);
  const catalogue = new FakeCatalogue();
  catalogue.addTorrent(ALBUM.torrent, ALBUM.data);
  const nodes: Node[] = [];
  const node = async (name: string, cluster: OfflineCluster): Promise<Node> => {
    const layout = ensureDataDir(join(root, name));
    const db = await openTestDatabase(shared);
    const engine = new FakeEngine({ catalogue, manual: true });
    const errors: string[] = [];
    const offline = createOffline({
      db,
      files: new FilesService(db, new FilesRepo()),
      store: new LocalDiskBlobStore(sharedLayout.blobs),
      lock: new ContentLock(),
      secret: config.secret,
      layout,
      config: config.offline,
      engine,
      schedulerTiming: { tickMs: 10, retryDelayMs: 10 },
      onError: (err, what) => errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`),
      cluster,
    });
    await offline.start();
    const made = { offline, engine, db, errors };
    nodes.push(made);
    return made;
  };
  try {
    const api = await node('api', { role: 'api', leaseMs: LEASE_MS, processId: 'api' });
    const workers: Node[] = [];
    for (let i = 0; i < n; i++) workers.push(await node(`worker${i}`, { role: 'worker', leaseMs: LEASE_MS, processId: `worker${i}` }));
    await body({ db: api.db, files: new FilesService(api.db, new FilesRepo()), store: new LocalDiskBlobStore(sharedLayout.blobs), api, workers }, catalogue);
  } finally {
    for (const n of nodes) {
      await n.offline.close().catch(() => undefined);
      await n.db.destroy().catch(() => undefined);
    }
    await dropDatabaseFor(shared);
    await rm(root, { recursive: true, force: true });
  }
}

async function until(pred: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Puts the album's `.torrent` in the user's drive and starts a task of both files through the API node. */
async function startAlbum(c: Cluster, userId: number): Promise<{ taskId: string; jobId: string }> {
  const writer = await c.store.createWriter();
  await writer.write(ALBUM.torrent);
  const blob = await writer.commit();
  const dir = await c.files.ensureDir(userId, { path: '/torrents' });
  const { file } = await c.files.createFile(userId, { dir, name: 'album.torrent', etag: blob.etag, size: blob.size, onConflict: 'rename' });
  const parsed = await c.api.offline.service.parseTorrent(userId, { uuid: file.uuid });
  const task = await c.api.offline.service.start(userId, { taskHash: parsed.taskHash, files: [0, 1], savePath: '/dl' });
  const row = await c.db.selectFrom('offline_tasks').select('job_id').where('task_id', '=', task.taskId).executeTakeFirstOrThrow();
  return { taskId: task.taskId, jobId: row.job_id };
}

async function newUser(db: Db, name: string): Promise<number> {
  return (await new UsersRepo(db).insert({ name, nameKey: name, passwordHash: 'x', isAdmin: false, spaceCapacity: 2 ** 40, now: Date.now() })).id;
}

/** The user's files under /dl: path → etag, each path once. */
async function drive(db: Db, userId: number): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('files')
    .select(['path', 'store_id'])
    .where('user_id', '=', userId)
    .where('type', '=', 0)
    .where('path', 'like', '/dl/%')
    .execute();
  const out = new Map<string, string>();
  for (const r of rows) {
    assert.ok(!out.has(r.path), `${r.path} is in the drive once`);
    out.set(r.path, r.store_id);
  }
  return out;
}

/** Which worker's engine runs the job. */
async function runner(c: Cluster, jobId: string): Promise<Node> {
  let found: Node | undefined;
  await until(async () => {
    found = c.workers.find((w) => w.engine.job(jobId) !== undefined && w.engine.job(jobId)!.status().state === 'downloading');
    return found !== undefined;
  }, 'a worker downloading the job');
  return found!;
}

test('a task started through the API runs on one worker; its progress reaches the API; pausing there stops it on the worker', async () => {
  await withCluster(2, async (c) => {
    const alice = await newUser(c.db, 'alice');
    const { taskId, jobId } = await startAlbum(c, alice);
    const worker = await runner(c, jobId);
    const other = c.workers.find((w) => w !== worker)!;
    assert.equal(other.engine.job(jobId), undefined, 'the other worker runs nothing');
    assert.equal((await jobRow(c.db, jobId)).owner, worker === c.workers[0] ? 'worker0' : 'worker1');
    await worker.engine.stepPieces(jobId, 2);
    // The API process runs no engine, yet shows the worker's progress.
    await until(async () => {
      const tasks = await c.api.offline.service.page(alice, {});
      return tasks.list[0]?.finishedSize === 32 * KiB && tasks.list[0].status === 20;
    }, 'the progress seen through the API');
    await c.api.offline.service.pause(alice, taskId);
    await until(async () => (await jobRow(c.db, jobId)).phase === 'paused', 'the job paused by its worker');
    const row = await jobRow(c.db, jobId);
    assert.equal(row.owner, null, 'a paused job is given up');
    assert.equal((await c.db.selectFrom('offline_tasks').select('status').where('task_id', '=', taskId).executeTakeFirstOrThrow()).status, TASK_PAUSED);
    assert.deepEqual(worker.errors, []);
  });
});

test('takeover: when the worker holding a job dies mid-download, another finishes it, with one set of files', async () => {
  await withCluster(2, async (c) => {
    const alice = await newUser(c.db, 'alice');
    const { taskId, jobId } = await startAlbum(c, alice);
    const dead = await runner(c, jobId);
    const survivor = c.workers.find((w) => w !== dead)!;
    await dead.engine.stepPieces(jobId, 4); // a.bin complete: imported while b.bin downloads
    await until(async () => (await drive(c.db, alice)).size === 1, 'a.bin imported by the first worker');
    await dead.engine.stepPieces(jobId, 1);
    // The worker dies: it writes nothing more (its database is gone) and renews no lease.
    await dead.db.destroy();
    const job = await survivor.engine.downloading(jobId, 5000);
    // What the store holds is not fetched again: only b.bin is downloaded.
    assert.deepEqual(job.spec.selectedFiles, [1]);
    await survivor.engine.step(jobId);
    await until(async () => (await jobRow(c.db, jobId)).phase === 'done', 'the job done on the other worker');
    const task = await c.db.selectFrom('offline_tasks').selectAll().where('task_id', '=', taskId).executeTakeFirstOrThrow();
    assert.equal(task.status, TASK_DONE);
    assert.deepEqual(
      await drive(c.db, alice),
      new Map([
        ['/dl/Album/a.bin', etagOf(CONTENT[0])],
        ['/dl/Album/b.bin', etagOf(CONTENT[1])],
      ]),
    );
    for (const content of CONTENT) assert.equal(await c.store.exists(etagOf(content)), true);
    assert.deepEqual(survivor.errors, []);
  });
});

test('one download per content: two users starting the same torrent through the API share one job', async () => {
  await withCluster(2, async (c) => {
    const alice = await newUser(c.db, 'alice');
    const bob = await newUser(c.db, 'bob');
    const first = await startAlbum(c, alice);
    const second = await startAlbum(c, bob);
    assert.equal(first.jobId, second.jobId);
    const worker = await runner(c, first.jobId);
    await worker.engine.step(first.jobId);
    await until(async () => (await drive(c.db, alice)).size === 2 && (await drive(c.db, bob)).size === 2, 'both drives filled');
    for (const w of c.workers) assert.ok(w === worker || w.engine.lastStart(first.jobId) === undefined, 'one worker downloaded it');
  });
});

test('a magnet link parsed through the API answers metadataPending at once; the worker fetches the metadata and downloads the selection', async () => {
  await withCluster(1, async (c, catalogue) => {
    const infoHash = catalogue.addTorrent(ALBUM.torrent, ALBUM.data);
    const alice = await newUser(c.db, 'alice');
    // The API process runs no engine: it cannot look the metadata up itself.
    const parsed = await c.api.offline.service.parseMagnet(alice, `magnet:?xt=urn:btih:${infoHash}&dn=Album`);
    assert.equal(parsed.metadataPending, true);
    const started = await c.api.offline.service.start(alice, { taskHash: parsed.taskHash, files: '1', savePath: '/dl' });
    const row = await c.db.selectFrom('offline_tasks').select('job_id').where('task_id', '=', started.taskId).executeTakeFirstOrThrow();
    const [worker] = c.workers;
    const job = await worker.engine.downloading(row.job_id, 5000);
    assert.deepEqual(job.spec.selectedFiles, [1]);
    await worker.engine.step(row.job_id);
    await until(async () => (await drive(c.db, alice)).size === 1, 'b.bin in the drive');
    assert.deepEqual(await drive(c.db, alice), new Map([['/dl/Album/b.bin', etagOf(CONTENT[1])]]));
    assert.deepEqual(worker.errors, []);
  });
});

test('a worker stopped on purpose gives its jobs up as it stops, and another takes them over', async () => {
  await withCluster(2, async (c) => {
    const alice = await newUser(c.db, 'alice');
    const { jobId } = await startAlbum(c, alice);
    const first = await runner(c, jobId);
    const second = c.workers.find((w) => w !== first)!;
    await first.engine.stepPieces(jobId, 2);
    await first.offline.close();
    // Released as it stopped, not left to run out.
    const owner = (await jobRow(c.db, jobId)).owner;
    assert.ok(owner === null || owner === (second === c.workers[0] ? 'worker0' : 'worker1'), `owned by ${owner} after the stop`);
    const job = await second.engine.downloading(jobId, 5000);
    assert.equal((await jobRow(c.db, jobId)).owner, second === c.workers[0] ? 'worker0' : 'worker1');
    await second.engine.step(job.id);
    await until(async () => (await drive(c.db, alice)).size === 2, 'both files in the drive');
    assert.deepEqual(second.errors, []);
  });
});
