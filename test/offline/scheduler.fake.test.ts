// The scheduler and the offline service (src/offline/README.md) on a real database and data
// directory, with the fake engine of test/support/ in place of the BitTorrent one: restarts,
// lost and failing engine jobs, the union of selections, a removal during an import. The fake
// moves only when a test steps it and the scheduler ticks every few milliseconds
// (`schedulerTiming`), so each case takes milliseconds and touches no network.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { dataDirLayout } from '../../src/data-dir/index.js';
import type { Db } from '../../src/db/database.js';
import { openTestDatabase } from '../support/postgres.js';
import { FilesRepo } from '../../src/files/files.repo.js';
import { FilesService } from '../../src/files/files.service.js';
import { createOffline, type Offline } from '../../src/offline/index.js';
import { TASK_DONE, TASK_FAILED } from '../../src/offline/offline.repo.js';
import { ContentLock } from '../../src/store/content-lock.js';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';
import { UsersRepo } from '../../src/users/users.repo.js';
import { FakeCatalogue, FakeEngine, fakeFailure } from '../support/fake-engine.js';
import { etagOf } from '../support/upload.js';
import { buildV1, KiB } from '../support/torrent-builder.js';

/** The scheduler's MAX_ATTEMPTS: engine restarts after retryable failures before a job fails. */
const MAX_ATTEMPTS = 5;

/** Three files over 16 KiB pieces: a.bin and b.bin are four pieces each, c.bin shares none with them. */
const ALBUM = buildV1({
  name: 'Album',
  pieceLength: 16 * KiB,
  files: [
    { path: ['a.bin'], size: 64 * KiB },
    { path: ['b.bin'], size: 64 * KiB },
    { path: ['c.bin'], size: 40 * KiB },
  ],
  seed: 7,
});
const CONTENT = [ALBUM.data.subarray(0, 64 * KiB), ALBUM.data.subarray(64 * KiB, 128 * KiB), ALBUM.data.subarray(128 * KiB)];
const NAMES = ['a.bin', 'b.bin', 'c.bin'];

interface World {
  dir: string;
  db: Db;
  files: FilesService;
  store: LocalDiskBlobStore;
  lock: ContentLock;
  offline: Offline;
  engine: FakeEngine;
  errors: string[];
  /** Closes the offline module and the database; the data directory stays. */
  close(): Promise<void>;
}

/** The offline module as src/app.ts wires it, over `dir`, with a manual fake engine. */
async function openWorld(dir: string, catalogue: FakeCatalogue): Promise<World> {
  const config = loadConfig({ OPENPAN_DATA_DIR: dir, OPENPAN_BT_DHT: '0', OPENPAN_LOG_LEVEL: 'silent' });
  const layout = dataDirLayout(dir);
  const db = await openTestDatabase(dir);
  const files = new FilesService(db, new FilesRepo());
  const store = new LocalDiskBlobStore(layout.blobs);
  const lock = new ContentLock();
  const engine = new FakeEngine({ catalogue, manual: true });
  const errors: string[] = [];
  const offline = createOffline({
    db,
    files,
    store,
    lock,
    secret: config.secret,
    layout,
    config: config.offline,
    engine,
    schedulerTiming: { tickMs: 10, retryDelayMs: 10 },
    onError: (err, what) => errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`),
  });
  await offline.start();
  return {
    dir,
    db,
    files,
    store,
    lock,
    offline,
    engine,
    errors,
    async close() {
      await offline.close();
      await db.destroy();
    },
  };
}

async function withWorld(body: (w: World, catalogue: FakeCatalogue) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'openpan-sched-'));
  const catalogue = new FakeCatalogue();
  catalogue.addTorrent(ALBUM.torrent, ALBUM.data);
  const w = await openWorld(dir, catalogue);
  try {
    await body(w, catalogue);
  } finally {
    await w.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

async function newUser(w: World, name: string): Promise<number> {
  const row = await new UsersRepo(w.db).insert({ name, nameKey: name, passwordHash: 'x', isAdmin: false, spaceCapacity: 2 ** 40, now: Date.now() });
  return row.id;
}

/** Puts the album's `.torrent` in the user's drive, parses it and starts a task of `files` into /dl. */
async function startTask(w: World, userId: number, files: number[]): Promise<{ taskId: string; jobId: string }> {
  const writer = await w.store.createWriter();
  await writer.write(ALBUM.torrent);
  const blob = await writer.commit();
  const dir = await w.files.ensureDir(userId, { path: '/torrents' });
  const { file } = await w.files.createFile(userId, { dir, name: 'album.torrent', etag: blob.etag, size: blob.size, onConflict: 'rename' });
  const parsed = await w.offline.service.parseTorrent(userId, { uuid: file.uuid });
  const task = await w.offline.service.start(userId, { taskHash: parsed.taskHash, files, savePath: '/dl' });
  return { taskId: task.taskId, jobId: await jobOf(w, task.taskId) };
}

async function jobOf(w: World, taskId: string): Promise<string> {
  const row = await w.db.selectFrom('offline_tasks').select('job_id').where('task_id', '=', taskId).executeTakeFirstOrThrow();
  return row.job_id;
}

async function taskRow(w: World, taskId: string) {
  return w.db.selectFrom('offline_tasks').selectAll().where('task_id', '=', taskId).executeTakeFirst();
}

async function jobRow(w: World, jobId: string) {
  return w.db.selectFrom('offline_jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
}

/** Polls `pred` every few milliseconds; fails after `timeoutMs` (a deadline for a loaded machine, not a speed). */
async function until(pred: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function taskStatus(w: World, taskId: string, status: number): Promise<void> {
  await until(async () => (await taskRow(w, taskId))?.status === status, `task ${taskId} in status ${status}`);
}

/** The user's entries under /dl: path → etag. */
async function drive(w: World, userId: number): Promise<Map<string, string>> {
  const rows = await w.db
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

/** Exactly the album's files `indices` are in the user's /dl, with their bytes. */
async function assertDrive(w: World, userId: number, indices: number[]): Promise<void> {
  const expected = new Map(indices.map((i) => [`/dl/Album/${NAMES[i]}`, etagOf(CONTENT[i])]));
  assert.deepEqual(await drive(w, userId), expected);
  for (const etag of expected.values()) assert.equal(await w.store.exists(etag), true);
}

test('restart: a job closed mid-download resumes from its data on the next start and imports each file once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'openpan-sched-'));
  const catalogue = new FakeCatalogue();
  catalogue.addTorrent(ALBUM.torrent, ALBUM.data);
  let w = await openWorld(dir, catalogue);
  try {
    const alice = await newUser(w, 'alice');
    const { taskId, jobId } = await startTask(w, alice, [0, 1, 2]);
    await w.engine.downloading(jobId);
    await w.engine.stepPieces(jobId, 4); // a.bin complete
    await until(async () => (await drive(w, alice)).size === 1, 'a.bin imported while the rest downloads');
    await w.engine.stepPieces(jobId, 2); // half of b.bin
    await w.close();

    w = await openWorld(dir, catalogue);
    const job = await w.engine.downloading(jobId);
    // a.bin is in the store: the engine is given the rest, and finds half of b.bin on disk.
    assert.deepEqual(job.spec.selectedFiles, [1, 2]);
    assert.equal(job.status().resumedBytes, 32 * KiB);
    await w.engine.step(jobId);
    await until(async () => (await jobRow(w, jobId)).phase === 'done', 'the job done');
    assert.equal((await taskRow(w, taskId))?.status, TASK_DONE);
    await assertDrive(w, alice, [0, 1, 2]);
    assert.deepEqual(w.errors, []);
  } finally {
    await w.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});

test('an engine job that vanishes is started again and finishes', () =>
  withWorld(async (w) => {
    const alice = await newUser(w, 'alice');
    const { taskId, jobId } = await startTask(w, alice, [0, 1]);
    await w.engine.downloading(jobId);
    const first = await w.engine.stepPieces(jobId, 2);
    w.engine.vanish(jobId);
    await until(async () => w.engine.started.length === 2 && w.engine.job(jobId)?.state === 'downloading', 'the job started again');
    // The data on disk is the engine's to verify again: nothing is fetched twice.
    assert.equal(w.engine.job(jobId)?.status().resumedBytes, first.downloaded);
    await w.engine.step(jobId);
    await taskStatus(w, taskId, TASK_DONE);
    await assertDrive(w, alice, [0, 1]);
    assert.equal((await jobRow(w, jobId)).attempts, 1);
  }));

test('the watchdog drives again a job that nothing drives', () =>
  withWorld(async (w) => {
    const alice = await newUser(w, 'alice');
    w.engine.throwOnNextStarts(1);
    const { taskId, jobId } = await startTask(w, alice, [0]);
    // The reconcile that should have started the engine threw (the start's caller swallows it):
    // no engine job, no retry timer. Only the watchdog (every 10 ticks) looks at the job again.
    await until(async () => w.engine.thrown === 1, 'the start that throws');
    assert.equal(w.engine.started.length, 0);
    await w.engine.downloading(jobId);
    await w.engine.step(jobId);
    await taskStatus(w, taskId, TASK_DONE);
    await assertDrive(w, alice, [0]);
    assert.equal(w.engine.started.length, 1, 'one start, after the one that threw');
  }));

test('a job whose engine job keeps failing retryably fails for good after its attempts, with the engine code', () =>
  withWorld(async (w) => {
    const alice = await newUser(w, 'alice');
    w.engine.failNext(fakeFailure('IO_ERROR', 'the disk went away'), Number.POSITIVE_INFINITY);
    const { taskId, jobId } = await startTask(w, alice, [0]);
    await taskStatus(w, taskId, TASK_FAILED);
    const job = await jobRow(w, jobId);
    assert.equal(job.phase, 'failed');
    assert.equal(job.error_code, 'IO_ERROR');
    assert.equal(job.attempts, MAX_ATTEMPTS);
    assert.equal(w.engine.started.length, 1 + MAX_ATTEMPTS);
    const task = await taskRow(w, taskId);
    assert.equal(task?.error_code, 'IO_ERROR');
    assert.match(task?.message ?? '', /the disk went away/);
    await assertDrive(w, alice, []);
  }));

test('a job without peers fails at once: NO_PEERS_TIMEOUT is not retried', () =>
  withWorld(async (w) => {
    const alice = await newUser(w, 'alice');
    const { taskId, jobId } = await startTask(w, alice, [0]);
    await w.engine.downloading(jobId);
    w.engine.fail(jobId, fakeFailure('NO_PEERS_TIMEOUT'));
    await taskStatus(w, taskId, TASK_FAILED);
    assert.equal((await taskRow(w, taskId))?.error_code, 'NO_PEERS_TIMEOUT');
    assert.equal(w.engine.started.length, 1);
  }));

test('union: two users select different files of one torrent; the engine downloads both, each drive gets its own', () =>
  withWorld(async (w) => {
    const alice = await newUser(w, 'alice');
    const bob = await newUser(w, 'bob');
    const a = await startTask(w, alice, [0]);
    await w.engine.downloading(a.jobId);
    const b = await startTask(w, bob, [2]);
    assert.equal(b.jobId, a.jobId, 'one job per info hash');
    await until(
      async () => w.engine.job(a.jobId)?.state === 'downloading' && String(w.engine.job(a.jobId)?.spec.selectedFiles) === '0,2',
      'the engine on the union',
    );
    assert.deepEqual(
      w.engine.started.map((j) => j.spec.selectedFiles),
      [[0], [0, 2]],
    );
    await w.engine.step(a.jobId);
    await taskStatus(w, a.taskId, TASK_DONE);
    await taskStatus(w, b.taskId, TASK_DONE);
    await assertDrive(w, alice, [0]);
    await assertDrive(w, bob, [2]);
    // b.bin nobody wanted: never downloaded, never stored.
    assert.equal(await w.store.exists(etagOf(CONTENT[1])), false);
    assert.equal(
      w.engine.started
        .at(-1)
        ?.status()
        .files.find((f) => f.index === 1)?.downloaded,
      0,
    );
  }));

test('union: pausing a task takes its files out of the engine at once', () =>
  withWorld(async (w) => {
    const alice = await newUser(w, 'alice');
    const bob = await newUser(w, 'bob');
    const a = await startTask(w, alice, [0]);
    const b = await startTask(w, bob, [1]);
    await until(
      async () => w.engine.job(a.jobId)?.state === 'downloading' && String(w.engine.job(a.jobId)?.spec.selectedFiles) === '0,1',
      'the engine on the union',
    );
    await w.offline.service.pause(bob, b.taskId);
    const job = await w.engine.downloading(a.jobId);
    assert.deepEqual(job.spec.selectedFiles, [0]);
    await w.engine.step(a.jobId);
    await taskStatus(w, a.taskId, TASK_DONE);
    await assertDrive(w, alice, [0]);
    await assertDrive(w, bob, []);
  }));

test('a task removed for good while its files are imported leaves no entry; the task sharing the job is unaffected', () =>
  withWorld(async (w) => {
    const alice = await newUser(w, 'alice');
    const bob = await newUser(w, 'bob');
    const a = await startTask(w, alice, [0, 1, 2]);
    const b = await startTask(w, bob, [0, 1, 2]);
    await w.engine.downloading(a.jobId);
    // The import waits for the content lock: the test holds it until the removal is queued.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const locked = w.lock.exclusive(() => held);
    let removed: Promise<true>;
    try {
      await w.engine.step(a.jobId);
      // Whether the tick or the job's end got there first, the files' import is under way.
      await until(async () => w.lock.state.waiting > 0, 'the import waiting for the lock');
      removed = w.offline.service.remove(alice, a.taskId, true, { permanent: true });
    } finally {
      release();
    }
    await locked;
    await removed;
    await taskStatus(w, b.taskId, TASK_DONE);
    assert.equal(await taskRow(w, a.taskId), undefined);
    await assertDrive(w, alice, []);
    await assertDrive(w, bob, [0, 1, 2]);
    const folder = await w.db.selectFrom('files').select('id').where('user_id', '=', alice).where('path', '=', '/dl/Album').executeTakeFirst();
    assert.equal(folder, undefined, "alice's task folder went with its files");
    const space = await w.db.selectFrom('users').select('space_used').where('id', '=', alice).executeTakeFirstOrThrow();
    assert.equal(Number(space.space_used), ALBUM.torrent.length, 'alice is charged for her .torrent alone');
    assert.equal((await jobRow(w, a.jobId)).phase, 'done');
  }));

test("a task's saved files and bytes count what of its selection is in its drive", () =>
  withWorld(async (w) => {
    const alice = await newUser(w, 'alice');
    const a = await startTask(w, alice, [0, 2]);
    const before = w.offline.service.taskObject((await taskRow(w, a.taskId))!);
    assert.deepEqual([before.fileCount, before.savedFiles, before.savedSize], [2, 0, 0]);
    await w.engine.downloading(a.jobId);
    await w.engine.step(a.jobId);
    await taskStatus(w, a.taskId, TASK_DONE);
    const done = w.offline.service.taskObject((await taskRow(w, a.taskId))!);
    assert.deepEqual([done.fileCount, done.savedFiles, done.savedSize], [2, 2, CONTENT[0].length + CONTENT[2].length]);
  }));
