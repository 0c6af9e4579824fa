// Offline download of a .torrent over the real HTTP API, against a real swarm on loopback:
// an in-process tracker and an in-process WebTorrent seeder (test/support/swarm.ts), DHT off.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { signTaskHash } from '../../src/offline/task-hash.js';
import { Client, startServer, type TestServer } from '../support/server.js';
import type { Seeder } from '../support/swarm.js';
import { bytes, etagOf } from '../support/upload.js';
import { assertFile, offlineDirs, startSwarm, task, uploadTorrent, type Swarm } from '../support/offline-e2e.js';

const KiB = 1024;
// Waits here give up sooner than e2e-helpers' (180 s).
const TIMEOUT = 120_000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = TIMEOUT): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function waitDone(client: Client, taskId: string): Promise<any> {
  return waitFor(`task ${taskId} to finish`, async () => {
    const t = await task(client, taskId);
    if (t?.status === -1) throw new Error(`task failed: ${t.error} ${t.message}`);
    return t?.status === 100 ? t : undefined;
  });
}

async function names(client: Client, path: string): Promise<string[]> {
  const list = await client.call('/v1/files/list', { path, size: 999 });
  return list.map((f: any) => f.name).sort();
}

describe('offline download of a torrent file', () => {
  let swarm: Swarm<Seeder>;
  const a = bytes(300 * KiB + 123, 1);
  const b = bytes(200 * KiB + 7, 2);
  const c = bytes(50 * KiB + 1, 3);

  before(async () => {
    swarm = await startSwarm(
      [
        { path: 'a.bin', bytes: a },
        { path: 'sub/b.bin', bytes: b },
        { path: 'sub/deep/c.txt', bytes: c },
      ],
      { name: 'My Payload', seedFromDisk: true },
    );
  });

  after(() => swarm?.close());

  test('parse, start a selection, files land in the drive; a second user gets them from the store', async () => {
    const server = await startServer();
    try {
      const alice = await server.newUser('alice');
      const bob = await server.newUser('bob');
      const tf = await uploadTorrent(alice, 'payload.torrent', swarm.built.torrent);

      const parsed = await alice.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      assert.equal(parsed.type, 0);
      assert.equal(parsed.name, 'My Payload');
      assert.equal(parsed.infoHash, swarm.built.infoHash);
      assert.equal(parsed.size, a.length + b.length + c.length);
      assert.deepEqual(parsed.files, [
        { index: 0, path: 'a.bin', size: a.length, cached: false },
        { index: 1, path: 'sub/b.bin', size: b.length, cached: false },
        { index: 2, path: 'sub/deep/c.txt', size: c.length, cached: false },
      ]);
      assert.equal(parsed.server, false);
      assert.equal(typeof parsed.taskHash, 'string');
      // By path too.
      assert.equal((await alice.call('/v1/offline/parseTorrent', { path: ':torrent/payload.torrent' })).infoHash, swarm.built.infoHash);

      const started = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, files: '0,2', savePath: '/dl' });
      assert.match(started.taskId, /^[0-9a-f]{32}$/);
      assert.equal(started.type, 0);
      assert.equal(started.infoHash, swarm.built.infoHash);
      assert.equal(started.size, a.length + c.length);
      assert.deepEqual(started.files, [0, 2]);
      assert.equal(started.savePath, '/dl');
      assert.ok(started.status >= 0 && started.status < 100);

      const done = await waitDone(alice, started.taskId);
      assert.equal(done.progress, 100);
      assert.equal(done.finishedSize, a.length + c.length);
      assert.ok(done.finishTime >= done.createTime);
      assert.deepEqual(await names(alice, '/dl'), ['My Payload']);
      assert.deepEqual(await names(alice, '/dl/My Payload'), ['a.bin', 'sub']);
      assert.deepEqual(await names(alice, '/dl/My Payload/sub'), ['deep']);
      await assertFile(alice, '/dl/My Payload/a.bin', a);
      await assertFile(alice, '/dl/My Payload/sub/deep/c.txt', c);

      const detail = await alice.call('/v1/offline/get', { taskId: started.taskId });
      assert.equal(detail.status, 100);
      assert.deepEqual(
        detail.detail.map((f: any) => [f.index, f.path, f.size, f.status, f.storeId]),
        [
          [0, 'a.bin', a.length, 100, etagOf(a)],
          [2, 'sub/deep/c.txt', c.length, 100, etagOf(c)],
        ],
      );
      // The working directory is gone once everything is imported.
      await waitFor('the temporary data to go', async () => offlineDirs(server.dataDir).length === 0);

      // Another user's task does not exist for bob.
      const foreign = await bob.raw('/v1/offline/get', { taskId: started.taskId });
      assert.equal(foreign.status, 404);
      assert.equal(foreign.json.code, 'TASK_NOT_FOUND');
      for (const path of ['/v1/offline/remove', '/v1/offline/pause', '/v1/offline/resume']) {
        assert.equal((await bob.raw(path, { taskId: started.taskId })).json.code, 'TASK_NOT_FOUND', path);
      }

      // Bob: the same torrent; the two files alice downloaded are cached and arrive at once.
      const btf = await uploadTorrent(bob, 'same.torrent', swarm.built.torrent);
      const bparsed = await bob.call('/v1/offline/parseTorrent', { uuid: btf.uuid });
      assert.deepEqual(
        bparsed.files.map((f: any) => f.cached),
        [true, false, true],
      );
      assert.equal(bparsed.server, false);
      const instant = await bob.call('/v1/offline/start', { taskHash: bparsed.taskHash, files: [0, 2] });
      assert.equal(instant.status, 100);
      assert.equal(instant.progress, 100);
      assert.equal(instant.savePath, '/');
      await assertFile(bob, '/My Payload/a.bin', a);
      await assertFile(bob, '/My Payload/sub/deep/c.txt', c);

      // Bob again, for everything into /all: he has a task of this torrent, so the start names it.
      const twice = await bob.raw('/v1/offline/start', { taskHash: bparsed.taskHash, files: '*', savePath: 'all/' });
      assert.equal(twice.status, 409);
      assert.equal(twice.json.code, 'TASK_EXISTS');
      assert.equal(twice.json.result.taskId, instant.taskId);
      // He edits the task instead: only the missing file is downloaded.
      const edited = await bob.call('/v1/offline/edit', { taskId: instant.taskId, files: '*' });
      assert.equal(edited.size, a.length + b.length + c.length);
      await waitDone(bob, instant.taskId);
      await assertFile(bob, '/My Payload/a.bin', a);
      await assertFile(bob, '/My Payload/sub/b.bin', b);
      await assertFile(bob, '/My Payload/sub/deep/c.txt', c);
      const again = await alice.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      assert.deepEqual(
        again.files.map((f: any) => f.cached),
        [true, true, true],
      );
      assert.equal(again.server, true);

      const page = await bob.call('/v1/offline/page', { page: 1, pageSize: 1 });
      assert.deepEqual([page.totalCount, page.totalPage, page.list[0].taskId], [1, 1, instant.taskId]);
      const list = await bob.call('/v1/offline/list', { start: 0, size: 500 });
      assert.deepEqual([list.start, list.totalCount, list.list.length], [0, 1, 1]);

      // Remove with deleteFiles: the task, its entries and the folder it made go; alice's files stay.
      assert.equal(await bob.call('/v1/offline/remove', { taskId: [instant.taskId], deleteFiles: true }), true);
      assert.equal((await bob.raw('/v1/files/get', { path: '/My Payload' })).json.code, 'FILE_NOT_FOUND');
      await assertFile(alice, '/dl/My Payload/a.bin', a);
      assert.equal((await bob.raw('/v1/offline/get', { taskId: instant.taskId })).json.code, 'TASK_NOT_FOUND');
      assert.equal((await bob.call('/v1/offline/page', {})).totalCount, 0);
    } finally {
      await server.close();
    }
  });

  test('forged, foreign and expired taskHash: 400 TASK_HASH_INVALID; malformed torrent: 400 TORRENT_INVALID', async () => {
    const server = await startServer();
    try {
      const alice = await server.newUser('alice');
      const bob = await server.newUser('bob');
      const tf = await uploadTorrent(alice, 'payload.torrent', swarm.built.torrent);
      const { taskHash } = await alice.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      const [v, body, sig] = taskHash.split('.');
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
      const forgedBody = Buffer.from(JSON.stringify({ ...claims, h: 'b'.repeat(40) })).toString('base64url');
      const expired = signTaskHash(server.openpan.config.secret, { userId: claims.u, source: claims.s, infoHash: claims.h }, { ttlMs: -1000 });
      for (const [who, hash] of [
        [alice, `${v}.${forgedBody}.${sig}`],
        [alice, `${v}.${body}.${sig.slice(0, -2)}AA`],
        [alice, 'nonsense'],
        [alice, expired],
        [bob, taskHash],
      ] as const) {
        const r = await who.raw('/v1/offline/start', { taskHash: hash });
        assert.equal(r.status, 400, hash);
        assert.equal(r.json.code, 'TASK_HASH_INVALID', hash);
      }
      assert.equal((await alice.raw('/v1/offline/start', {})).json.code, 'BAD_REQUEST');
      assert.equal((await alice.raw('/v1/offline/start', { taskHash, files: '7' })).json.code, 'BAD_REQUEST');
      assert.equal(offlineDirs(server.dataDir).length, 0, 'nothing started');

      for (const [name, data] of [
        ['garbage.torrent', Buffer.from('this is not bencode')],
        ['truncated.torrent', swarm.built.torrent.subarray(0, swarm.built.torrent.length - 10)],
      ] as const) {
        const bad = await uploadTorrent(alice, name, data);
        const r = await alice.raw('/v1/offline/parseTorrent', { uuid: bad.uuid });
        assert.equal(r.status, 400, name);
        assert.equal(r.json.code, 'TORRENT_INVALID', name);
      }
      assert.equal((await alice.raw('/v1/offline/parseTorrent', { path: '/nope.torrent' })).json.code, 'FILE_NOT_FOUND');
      assert.equal((await bob.raw('/v1/offline/parseTorrent', { uuid: tf.uuid })).status, 404, "another user's torrent");
      assert.equal((await alice.raw('/v1/offline/get', { taskId: 'f'.repeat(32) })).json.code, 'TASK_NOT_FOUND');
    } finally {
      await server.close();
    }
  });

  test('a start that needs more than the free space: 413 SPACE_EXCEEDED', async () => {
    const server = await startServer({ OPENPAN_DEFAULT_QUOTA: String(100 * KiB) });
    try {
      const alice = await server.newUser('alice');
      const tf = await uploadTorrent(alice, 'payload.torrent', swarm.built.torrent);
      const { taskHash } = await alice.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      const r = await alice.raw('/v1/offline/start', { taskHash, files: [0] });
      assert.equal(r.status, 413);
      assert.equal(r.json.code, 'SPACE_EXCEEDED');
      assert.equal((await alice.call('/v1/offline/page', {})).totalCount, 0);
    } finally {
      await server.close();
    }
  });
});

describe('offline download, slow swarm: remove and restart mid-download', () => {
  let swarm: Swarm<Seeder>;
  const big = bytes(3 * 1024 * KiB + 5, 11);
  const small = bytes(40 * KiB, 12);

  before(async () => {
    swarm = await startSwarm(
      [
        { path: 'big.bin', bytes: big },
        { path: 'small.bin', bytes: small },
      ],
      { name: 'Slow', seedFromDisk: true },
    );
  });

  after(() => swarm?.close());

  async function startSlow(server: TestServer, user: Client): Promise<any> {
    const tf = await uploadTorrent(user, 'slow.torrent', swarm.built.torrent);
    const { taskHash } = await user.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
    const started = await user.call('/v1/offline/start', { taskHash, savePath: '/dl' });
    // Mid-download: some bytes verified, far from all.
    await waitFor('the download to be under way', async () => {
      const t = await task(user, started.taskId);
      return t.status === 20 && t.finishedSize > 0 && t.finishedSize < t.size / 2 ? t : undefined;
    });
    assert.equal(offlineDirs(server.dataDir).length, 1, 'one working directory');
    return started;
  }

  test('remove mid-download stops it and frees the temporary data at once', async () => {
    const server = await startServer({ OPENPAN_BT_DOWNLOAD_LIMIT: String(256 * KiB) });
    try {
      const alice = await server.newUser('alice');
      const started = await startSlow(server, alice);
      assert.equal(await alice.call('/v1/offline/remove', { taskId: started.taskId }), true);
      assert.deepEqual(offlineDirs(server.dataDir), [], 'temporary data removed before the answer');
      assert.equal((await alice.call('/v1/offline/page', {})).totalCount, 0);
      await sleep(1500);
      assert.deepEqual(offlineDirs(server.dataDir), [], 'and nothing is written afterwards');
      assert.deepEqual(await names(alice, '/dl'), []);
    } finally {
      await server.close();
    }
  });

  test('pause and resume a task', async () => {
    const server = await startServer({ OPENPAN_BT_DOWNLOAD_LIMIT: String(512 * KiB) });
    try {
      const alice = await server.newUser('alice');
      const started = await startSlow(server, alice);
      assert.equal(await alice.call('/v1/offline/pause', { taskId: started.taskId }), true);
      const paused = await task(alice, started.taskId);
      assert.equal(paused.status, 5);
      const at = paused.finishedSize;
      await sleep(1500);
      assert.equal((await task(alice, started.taskId)).status, 5);
      assert.ok((await task(alice, started.taskId)).finishedSize >= at);
      assert.equal(await alice.call('/v1/offline/resume', { taskId: [started.taskId] }), true);
      await waitDone(alice, started.taskId);
      await assertFile(alice, '/dl/Slow/big.bin', big);
      await assertFile(alice, '/dl/Slow/small.bin', small);
    } finally {
      await server.close();
    }
  });

  test('a restart mid-download resumes and ends with identical files and no duplicate entries', async () => {
    let server = await startServer({ OPENPAN_BT_DOWNLOAD_LIMIT: String(256 * KiB) });
    const dataDir = server.dataDir;
    try {
      const alice = await server.newUser('alice');
      const started = await startSlow(server, alice);
      await sleep(3500); // let progress be persisted once more
      await server.stop();
      assert.equal(offlineDirs(dataDir).length, 1, 'the working directory survives the stop');

      server = await startServer({}, dataDir);
      const again = await new Client(server.url).login('alice', 'alice-Passw0rd');
      const done = await waitDone(again, started.taskId);
      assert.equal(done.finishedSize, big.length + small.length);
      assert.deepEqual(await names(again, '/dl'), ['Slow']);
      assert.deepEqual(await names(again, '/dl/Slow'), ['big.bin', 'small.bin']);
      await assertFile(again, '/dl/Slow/big.bin', big);
      await assertFile(again, '/dl/Slow/small.bin', small);
      const info = await again.call('/v1/user/info');
      assert.equal(info.spaceUsed, big.length + small.length + swarm.built.torrent.length, 'space charged once');
      await waitFor('the temporary data to go', async () => offlineDirs(server.dataDir).length === 0);
    } finally {
      await server.close();
    }
  });
});
