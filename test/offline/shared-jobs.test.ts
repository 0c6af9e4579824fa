// The shared job (src/offline/README.md): one download per info hash, many independent tasks
// over it. Each test drives a real server over HTTP against a real swarm on loopback.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { makeTorrent, startTracker, type BuiltTorrent, type Tracker } from '../support/swarm.js';
import { bytes, etagOf, fileOf, formUpload } from '../support/upload.js';
import { assertFile, KiB, names, startCountingSeeder, task, uploadTorrent, waitDone, waitFor, type CountingSeeder } from '../support/offline-e2e.js';

const a = bytes(64 * KiB, 11);
const b = bytes(64 * KiB, 12);
/** Files piece-aligned (16 KiB pieces): a piece never spans two files. */
const FILES = [
  { path: 'a.bin', bytes: a },
  { path: 'b.bin', bytes: b },
];

function corrupted(data: Buffer): Buffer {
  return Buffer.from(data.map((x) => x ^ 0xff));
}

async function startTask(client: Client, torrent: Buffer, input: Record<string, unknown>): Promise<any> {
  const tf = await uploadTorrent(client, 'album.torrent', torrent);
  const parsed = await client.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
  return client.call('/v1/offline/start', { taskHash: parsed.taskHash, ...input });
}

async function upload(client: Client, path: string, data: Buffer): Promise<any> {
  const slash = path.lastIndexOf('/');
  const t = await client.call('/v1/store/token', { name: path.slice(slash + 1), path: path.slice(0, slash) || '/', hash: etagOf(data) });
  return 'uuid' in t ? t : fileOf(await formUpload(t.uploadUrl, t.token, data));
}

async function detail(client: Client, taskId: string): Promise<any> {
  return client.call('/v1/offline/get', { taskId });
}

describe('shared jobs', { timeout: 600_000 }, () => {
  let server: TestServer;
  let tracker: Tracker;
  let seeders: CountingSeeder[] = [];

  /** A fresh torrent of FILES (a new info hash each time: `name` differs). */
  function album(name: string): BuiltTorrent {
    return makeTorrent(FILES, { name, announce: [tracker.httpUrl], pieceLength: 16 * KiB });
  }

  async function seed(built: BuiltTorrent, opts: { partial?: boolean } = {}): Promise<CountingSeeder> {
    const stream = opts.partial ? Buffer.concat([a, corrupted(b)]) : Buffer.concat([a, b]);
    const seeder = await startCountingSeeder(built.torrent, stream, built.infoHash, tracker, opts);
    seeders.push(seeder);
    return seeder;
  }

  async function storeHolds(etag: string): Promise<boolean> {
    return (await server.openpan.db.selectFrom('blobs').select('id').where('id', '=', etag).executeTakeFirst()) !== undefined;
  }

  before(async () => {
    tracker = await startTracker({ intervalMs: 1000 });
    server = await startServer({ OPENPAN_BT_NO_PEERS_TIMEOUT: '4' });
  });

  after(async () => {
    await Promise.all(seeders.map((s) => s.close()));
    await server?.close();
    await tracker?.close();
  });

  test("a task is done when its own files are in its drive, while the job still downloads another user's", async () => {
    const built = album('Mine');
    await seed(built, { partial: true }); // holds a.bin, never b.bin
    const alice = await server.newUser('sj-alice');
    const bob = await server.newUser('sj-bob');
    const bobs = await startTask(bob, built.torrent, { files: [0, 1], savePath: '/dl' });
    const alices = await startTask(alice, built.torrent, { files: [0], savePath: '/dl' });

    const done = await waitDone(alice, alices.taskId);
    assert.equal(done.progress, 100);
    await assertFile(alice, '/dl/Mine/a.bin', a);

    // Bob's a.bin is in his drive as soon as it is complete; his task goes on for b.bin.
    const bobA = await waitFor('bob’s a.bin in his drive', async () => {
      const d = await detail(bob, bobs.taskId);
      return d.detail[0].status === 100 ? d : undefined;
    });
    assert.notEqual(bobA.status, 100);
    assert.equal(bobA.detail[1].status === 100, false);
    assert.ok(bobA.progress >= 50 && bobA.progress < 100, `bob's progress counts his saved file (${bobA.progress})`);
    await assertFile(bob, '/dl/Mine/a.bin', a);
    await bob.call('/v1/offline/remove', { taskId: bobs.taskId });
  });

  test('taking a task away stops its files downloading: content nobody wants never enters the store', async () => {
    const built = album('Union');
    const alice = await server.newUser('sj-carol');
    const bob = await server.newUser('sj-dave');
    // No peer yet: both tasks wait, the job wants the union {a, b}.
    const alices = await startTask(alice, built.torrent, { files: [0], savePath: '/' });
    const bobs = await startTask(bob, built.torrent, { files: [1], savePath: '/' });
    const job = () => server.openpan.db.selectFrom('offline_jobs').select(['selected']).where('info_hash', '=', built.infoHash).executeTakeFirstOrThrow();
    await waitFor('the job to want both files', async () => (await job()).selected === '[0,1]');
    await bob.call('/v1/offline/remove', { taskId: bobs.taskId });
    await waitFor('the job to want only a.bin', async () => (await job()).selected === '[0]');

    await seed(built);
    await waitDone(alice, alices.taskId);
    await assertFile(alice, '/Union/a.bin', a);
    assert.equal(await storeHolds(etagOf(b)), false, 'b.bin was never stored');
  });

  test("a task never takes over the user's own file: it numbers its own, and deleteFiles removes only that", async () => {
    const built = album('Taken');
    await seed(built);
    const erin = await server.newUser('sj-erin');
    const own = await upload(erin, '/dl/Taken/a.bin', a);
    const started = await startTask(erin, built.torrent, { savePath: '/dl' });
    await waitDone(erin, started.taskId);
    assert.deepEqual(await names(erin, '/dl/Taken'), ['a (1).bin', 'a.bin', 'b.bin']);
    assert.equal((await erin.call('/v1/files/get', { path: '/dl/Taken/a.bin' })).uuid, own.uuid);

    await erin.call('/v1/offline/remove', { taskId: started.taskId, deleteFiles: true });
    assert.deepEqual(await names(erin, '/dl/Taken'), ['a.bin'], 'the folder was the user’s: it stays, with the user’s file');
    await assertFile(erin, '/dl/Taken/a.bin', a);
    assert.equal((await erin.call('/v1/files/get', { path: '/dl/Taken/a.bin' })).uuid, own.uuid);
  });

  test('deleteFiles removes the folder the task created once nothing else is in it', async () => {
    const built = album('Folder');
    await seed(built);
    const finn = await server.newUser('sj-finn');
    const first = await startTask(finn, built.torrent, { savePath: '/one' });
    await waitDone(finn, first.taskId);
    await finn.call('/v1/offline/remove', { taskId: first.taskId, deleteFiles: true });
    const gone = await finn.raw('/v1/files/get', { path: '/one/Folder' });
    assert.equal(gone.json.code, 'FILE_NOT_FOUND');
    assert.deepEqual(await names(finn, '/one'), []);

    // The user put a file of their own in the task's folder: the folder stays for it.
    const second = await startTask(finn, built.torrent, { savePath: '/two' });
    await waitDone(finn, second.taskId);
    await upload(finn, '/two/Folder/notes.txt', Buffer.from('mine'));
    await finn.call('/v1/offline/remove', { taskId: second.taskId, deleteFiles: true });
    assert.deepEqual(await names(finn, '/two/Folder'), ['notes.txt']);
  });

  test('starting a torrent again answers TASK_EXISTS naming the task; editing the task changes its files', async () => {
    const built = album('Edit');
    await seed(built);
    const gail = await server.newUser('sj-gail');
    const first = await startTask(gail, built.torrent, { files: [0], savePath: '/' });
    await waitDone(gail, first.taskId);

    const again = await gail.raw('/v1/offline/start', {
      taskHash: (await gail.call('/v1/offline/parseTorrent', { path: ':torrent/album.torrent' })).taskHash,
      files: [1],
    });
    assert.equal(again.json.code, 'TASK_EXISTS');
    assert.equal(again.json.status, 409);
    assert.equal(again.json.result.taskId, first.taskId);

    const grown = await gail.call('/v1/offline/edit', { taskId: first.taskId, files: [0, 1] });
    assert.deepEqual(grown.files, [0, 1]);
    assert.equal(grown.size, a.length + b.length);
    const done = await waitDone(gail, first.taskId);
    assert.equal(done.finishedSize, a.length + b.length);
    await assertFile(gail, '/Edit/a.bin', a);
    await assertFile(gail, '/Edit/b.bin', b);

    // Taking a file out of a finished task leaves it done (the file stays the user's).
    const shrunk = await gail.call('/v1/offline/edit', { taskId: first.taskId, files: [1] });
    assert.equal(shrunk.status, 100);
    assert.equal(shrunk.size, b.length);
    await assertFile(gail, '/Edit/a.bin', a);
  });

  test("a task's savePath follows its folder when the user renames it", async () => {
    const built = album('Moved');
    await seed(built);
    const ivan = await server.newUser('sj-ivan');
    const started = await startTask(ivan, built.torrent, { savePath: '/old' });
    await waitDone(ivan, started.taskId);
    await ivan.call('/v1/files/rename', { path: '/old', name: 'new' });
    assert.equal((await task(ivan, started.taskId)).savePath, '/new');
    assert.equal((await ivan.call('/v1/offline/get', { taskId: started.taskId })).savePath, '/new');
  });

  test('a failed task keeps the files it saved and says how many', async () => {
    const built = album('Half');
    const seeder = await seed(built, { partial: true });
    const hana = await server.newUser('sj-hana');
    const started = await startTask(hana, built.torrent, { savePath: '/' });
    await waitFor('a.bin saved', async () => (await detail(hana, started.taskId)).detail[0].status === 100);
    await seeder.close();
    seeders = seeders.filter((s) => s !== seeder);
    const failed = await waitFor('the task to fail', async () => {
      const t = await task(hana, started.taskId);
      return t?.status === -1 ? t : undefined;
    });
    assert.equal(failed.error, 'NO_PEERS_TIMEOUT');
    assert.match(failed.message, /\(1 of 2 files saved\)$/);
    await assertFile(hana, '/Half/a.bin', a);
  });
});
