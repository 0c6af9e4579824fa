// Offline download end to end over real swarms on loopback (in-process tracker, DHT off):
// an aria2c seeder and a selection in nested folders; a GBK-encoded torrent; hostile paths;
// two users starting the same torrent at the same moment.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseTorrent } from '../../src/torrent/index.js';
import { startServer } from '../support/server.js';
import { makeTorrent, startAria2Seeder, startTracker, writePayload } from '../support/swarm.js';
import { bytes, etagOf } from '../support/upload.js';
import {
  assertFile,
  KiB,
  MiB,
  names,
  offlineDirs,
  rawTorrent,
  startCountingSeeder,
  startSwarm,
  task,
  uploadTorrent,
  waitDone,
  waitFor,
  walkDisk,
  walkDrive,
} from '../support/offline-e2e.js';

describe('offline download end to end', () => {
  test('aria2c seeds nested folders; a selection of 2 of 3 files lands at the right paths', async () => {
    const tracker = await startTracker();
    const seedDir = mkdtempSync(join(tmpdir(), 'openpan-aria2-'));
    const readme = bytes(70 * KiB + 3, 51);
    const clip = bytes(300 * KiB + 17, 52);
    const track = bytes(150 * KiB + 5, 53);
    const built = makeTorrent(
      [
        { path: 'docs/guide/readme.txt', bytes: readme },
        { path: 'media/video/clip.bin', bytes: clip },
        { path: 'media/audio/track.bin', bytes: track },
      ],
      { announce: [tracker.httpUrl], name: 'Nested Set' },
    );
    await writePayload(seedDir, built);
    const seeder = await startAria2Seeder(built, seedDir, tracker);
    const server = await startServer();
    try {
      const alice = await server.newUser('alice');
      const tf = await uploadTorrent(alice, 'nested.torrent', built.torrent);
      const parsed = await alice.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      assert.deepEqual(
        parsed.files.map((f: any) => [f.index, f.path, f.size]),
        [
          [0, 'docs/guide/readme.txt', readme.length],
          [1, 'media/video/clip.bin', clip.length],
          [2, 'media/audio/track.bin', track.length],
        ],
      );
      const started = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, files: [0, 2], savePath: '/from aria2' });
      assert.equal(started.size, readme.length + track.length);
      const done = await waitDone(alice, started.taskId);
      assert.equal(done.finishedSize, readme.length + track.length);

      assert.deepEqual(await names(alice, '/from aria2'), ['Nested Set']);
      assert.deepEqual(await names(alice, '/from aria2/Nested Set'), ['docs', 'media']);
      assert.deepEqual(await names(alice, '/from aria2/Nested Set/media'), ['audio'], 'no folder for the file not selected');
      await assertFile(alice, '/from aria2/Nested Set/docs/guide/readme.txt', readme);
      await assertFile(alice, '/from aria2/Nested Set/media/audio/track.bin', track);
      const tree = (await walkDrive(alice, '/from aria2')).filter((e) => e.type === 0).map((e) => e.path);
      assert.deepEqual(tree.sort(), ['/from aria2/Nested Set/docs/guide/readme.txt', '/from aria2/Nested Set/media/audio/track.bin']);
      assert.equal((await alice.raw('/v1/files/get', { path: '/from aria2/Nested Set/media/video/clip.bin' })).json.code, 'FILE_NOT_FOUND');
      // The unselected file is not in the store either (nobody can get it as "cached").
      const again = await alice.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      assert.deepEqual(
        again.files.map((f: any) => f.cached),
        [true, false, true],
      );
      const info = await alice.call('/v1/user/info');
      assert.equal(info.spaceUsed, readme.length + track.length + built.torrent.length);
      await waitFor('the working directory to go', async () => offlineDirs(server.dataDir).length === 0);
    } finally {
      await server.close();
      await seeder.close();
      await tracker.close();
      rmSync(seedDir, { recursive: true, force: true });
    }
  });

  test('a GBK-encoded torrent: Chinese names in the parse and in the drive', async () => {
    const tracker = await startTracker();
    const gbk = (hex: string) => Buffer.from(hex, 'hex');
    // 中文资料 / 中文/测试.txt, 目录/文件.bin — as GBK bytes, with `encoding: GBK` at the top.
    const a = bytes(40 * KiB + 11, 61);
    const b = bytes(25 * KiB + 2, 62);
    const built = rawTorrent({
      name: gbk('d6d0cec4d7cac1cf'),
      files: [
        { path: [gbk('d6d0cec4'), Buffer.concat([gbk('b2e2cad4'), Buffer.from('.txt')])], bytes: a },
        { path: [gbk('c4bfc2bc'), Buffer.concat([gbk('cec4bcfe'), Buffer.from('.bin')])], bytes: b },
      ],
      announce: tracker.httpUrl,
      root: { encoding: 'GBK' },
    });
    const meta = parseTorrent(built.torrent);
    assert.equal(meta.nameEncoding, 'gbk');
    assert.equal(meta.name, '中文资料');
    assert.deepEqual(
      meta.files.map((f) => f.path),
      [
        ['中文', '测试.txt'],
        ['目录', '文件.bin'],
      ],
    );
    const seeder = await startCountingSeeder(built.torrent, built.stream, built.infoHash, tracker);
    const server = await startServer();
    try {
      const alice = await server.newUser('alice');
      const tf = await uploadTorrent(alice, 'gbk.torrent', built.torrent);
      const parsed = await alice.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      assert.equal(parsed.name, '中文资料');
      assert.equal(parsed.infoHash, built.infoHash);
      assert.deepEqual(
        parsed.files.map((f: any) => [f.index, f.path, f.size]),
        [
          [0, '中文/测试.txt', a.length],
          [1, '目录/文件.bin', b.length],
        ],
      );
      const started = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/下载' });
      assert.equal(started.name, '中文资料');
      await waitDone(alice, started.taskId);
      assert.deepEqual(await names(alice, '/下载'), ['中文资料']);
      assert.deepEqual(await names(alice, '/下载/中文资料'), ['中文', '目录']);
      await assertFile(alice, '/下载/中文资料/中文/测试.txt', a);
      await assertFile(alice, '/下载/中文资料/目录/文件.bin', b);
      const detail = await alice.call('/v1/offline/get', { taskId: started.taskId });
      assert.deepEqual(
        detail.detail.map((f: any) => f.path),
        ['中文/测试.txt', '目录/文件.bin'],
      );
    } finally {
      await server.close();
      await seeder.close();
      await tracker.close();
    }
  });

  test('hostile paths are sanitised: every file stays inside the destination and the data dir', async () => {
    const tracker = await startTracker();
    const tag = Math.random().toString(36).slice(2, 10);
    const files = [
      { path: ['..', '..', '..', `escape-${tag}.txt`], bytes: bytes(20 * KiB + 1, 71) },
      { path: ['', 'tmp', `abs-${tag}.txt`], bytes: bytes(18 * KiB + 5, 72) },
      { path: [`ctl\u0001\u0007\u001fname.txt`], bytes: bytes(3 * KiB, 73) },
      { path: ['a/b', 'c\\d.txt'], bytes: bytes(9 * KiB + 9, 74) },
      { path: ['.', 'dot', '..', 'x.txt'], bytes: bytes(5 * KiB + 4, 75) },
      { path: ['..'], bytes: bytes(2 * KiB + 2, 76) },
      { path: ['', '', '/', `root-${tag}`], bytes: bytes(1 * KiB + 7, 77) },
      // Sanitised into the same path as file 3: the engine keeps both apart, the drive numbers it.
      { path: ['a_b', 'c_d.txt'], bytes: bytes(4 * KiB + 1, 78) },
    ];
    const built = rawTorrent({ name: `../../evil-${tag}`, files, announce: tracker.httpUrl });
    const folder = `.._.._evil-${tag}`;
    const expected = [`_/_/_/escape-${tag}.txt`, `tmp/abs-${tag}.txt`, 'ctl___name.txt', 'a_b/c_d.txt', 'dot/_/x.txt', '_', `_/root-${tag}`, 'a_b/c_d.txt'];
    // Where each file ends up in the drive: clashes get a numbered suffix.
    const stored = expected.map((p, i) => (i === 5 ? '_ (1)' : i === 7 ? 'a_b/c_d (1).txt' : p));
    const seeder = await startCountingSeeder(built.torrent, built.stream, built.infoHash, tracker);
    // The data dir inside a fresh parent, so anything written beside it would show.
    const parent = mkdtempSync(join(tmpdir(), 'openpan-hostile-'));
    const dataDir = join(parent, 'data');
    mkdirSync(dataDir);
    // Slowed down so the engine's working area can be watched while it writes.
    const server = await startServer({ OPENPAN_BT_DOWNLOAD_LIMIT: String(24 * KiB) }, dataDir);
    try {
      const alice = await server.newUser('alice');
      const tf = await uploadTorrent(alice, 'hostile.torrent', built.torrent);
      const parsed = await alice.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      assert.equal(parsed.name, folder);
      assert.deepEqual(
        parsed.files.map((f: any) => f.path),
        expected,
      );
      for (const f of parsed.files) {
        for (const seg of f.path.split('/')) {
          assert.ok(seg !== '' && seg !== '.' && seg !== '..' && !/[\p{Cc}\\]/u.test(seg), `unsafe segment in ${JSON.stringify(f.path)}`);
        }
      }
      const started = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/in' });
      // While it downloads: every byte the engine writes is in <dataDir>/offline/<job>/, under
      // data/<sanitised path>, renamed/<n> (a path clash) or pad/<n>.
      const written = new Set<string>();
      await waitFor('the task to finish', async () => {
        for (const rel of walkDisk(join(dataDir, 'offline'))) written.add(rel);
        const t = await task(alice, started.taskId);
        if (t.status === -1) throw new Error(`task failed: ${t.error} ${t.message}`);
        return t.status === 100;
      });
      assert.ok(written.size > 0, 'the working area was seen');
      const allowed = new Set([...expected.map((p) => `data/${folder}/${p}`), 'renamed/5', 'renamed/7']);
      for (const rel of written) {
        // Links named by a random uuid, on their way into the store.
        if (/^\.staging\/[0-9a-f-]{36}$/.test(rel)) continue;
        const m = /^[0-9a-f]{32}\/(.+)$/.exec(rel);
        assert.ok(m !== null && allowed.has(m[1]), `the engine wrote offline/${rel}`);
      }

      // The drive: everything under /in/<folder>; a file named "_" next to the folder "_" is numbered.
      assert.deepEqual(await names(alice, '/'), [':torrent', 'in'].sort());
      assert.deepEqual(await names(alice, '/in'), [folder]);
      const tree = (await walkDrive(alice, '/in')).filter((e) => e.type === 0);
      const inDrive = tree.map((e) => e.path.slice(`/in/${folder}/`.length)).sort();
      assert.ok(
        tree.every((e) => e.path.startsWith(`/in/${folder}/`)),
        JSON.stringify(tree),
      );
      assert.deepEqual(inDrive, [...stored].sort());
      for (let i = 0; i < files.length; i++) await assertFile(alice, `/in/${folder}/${stored[i]}`, files[i].bytes);

      // The disk: nothing outside the data dir, and inside it only the database, its secret, the blob
      // store, the upload area and the (now empty) offline area.
      await waitFor('the working directory to go', async () => offlineDirs(dataDir).length === 0);
      assert.deepEqual(readdirSync(parent), ['data']);
      for (const rel of walkDisk(dataDir)) {
        assert.match(rel, /^(openpan\.db(-wal|-shm|-journal)?|secret|blobs\/.+|uploads\/.+|offline\/.+)$/, `unexpected file ${rel}`);
        assert.ok(!rel.includes(tag), `a torrent name reached the disk outside the working area: ${rel}`);
      }
      for (const p of [
        join(tmpdir(), `escape-${tag}.txt`),
        join(tmpdir(), `abs-${tag}.txt`),
        `/tmp/abs-${tag}.txt`,
        `/root-${tag}`,
        join(parent, `escape-${tag}.txt`),
      ]) {
        assert.ok(!existsSync(p), `${p} was written`);
      }
      const info = await alice.call('/v1/user/info');
      assert.equal(info.spaceUsed, built.size + built.torrent.length);
    } finally {
      await server.close();
      await seeder.close();
      await tracker.close();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  test('two users start one torrent at the same moment: one engine job, both get their files', async () => {
    const x = bytes(2 * MiB + 77, 81);
    const y = bytes(300 * KiB + 1, 82);
    const swarm = await startSwarm(
      [
        { path: 'x.bin', bytes: x },
        { path: 'y.bin', bytes: y },
      ],
      { name: 'Shared' },
    );
    const { built, seeder } = swarm;
    const size = x.length + y.length;
    // Slowed so the two tasks overlap for a while and the working area can be watched.
    const server = await startServer({ OPENPAN_BT_DOWNLOAD_LIMIT: String(1 * MiB) });
    try {
      const alice = await server.newUser('alice');
      const bob = await server.newUser('bob');
      const [ta, tb] = await Promise.all([uploadTorrent(alice, 'shared.torrent', built.torrent), uploadTorrent(bob, 'shared.torrent', built.torrent)]);
      const [pa, pb] = await Promise.all([alice.call('/v1/offline/parseTorrent', { uuid: ta.uuid }), bob.call('/v1/offline/parseTorrent', { uuid: tb.uuid })]);
      const [sa, sb] = await Promise.all([
        alice.call('/v1/offline/start', { taskHash: pa.taskHash, savePath: '/a' }),
        bob.call('/v1/offline/start', { taskHash: pb.taskHash, files: '1', savePath: '/b' }),
      ]);
      assert.notEqual(sa.taskId, sb.taskId);

      let maxDirs = 0;
      await waitFor('both tasks to finish', async () => {
        maxDirs = Math.max(maxDirs, offlineDirs(server.dataDir).length);
        const [a, b] = await Promise.all([task(alice, sa.taskId), task(bob, sb.taskId)]);
        for (const t of [a, b]) if (t.status === -1) throw new Error(`task failed: ${t.error} ${t.message}`);
        return a.status === 100 && b.status === 100;
      });
      assert.equal(maxDirs, 1, 'one working directory, seen while both tasks ran');
      const jobs = await server.openpan.db.selectFrom('offline_jobs').selectAll().execute();
      assert.equal(jobs.length, 1, 'one system task for the info hash');
      const owners = await server.openpan.db.selectFrom('offline_tasks').select('job_id').execute();
      assert.deepEqual(
        owners.map((o) => o.job_id),
        [jobs[0].id, jobs[0].id],
      );
      // One download: the only seeder sent the payload once (a second job would double it).
      assert.ok(seeder.uploaded() < size * 1.5, `the seeder sent ${seeder.uploaded()} bytes for a ${size}-byte torrent`);

      await assertFile(alice, '/a/Shared/x.bin', x);
      await assertFile(alice, '/a/Shared/y.bin', y);
      assert.deepEqual(await names(alice, '/a/Shared'), ['x.bin', 'y.bin']);
      await assertFile(bob, '/b/Shared/y.bin', y);
      assert.deepEqual(await names(bob, '/b/Shared'), ['y.bin']);
      assert.equal((await alice.call('/v1/user/info')).spaceUsed, size + built.torrent.length);
      assert.equal((await bob.call('/v1/user/info')).spaceUsed, y.length + built.torrent.length);
      assert.equal(etagOf(y), (await bob.call('/v1/files/get', { path: '/b/Shared/y.bin' })).storeId);
      await waitFor('the working directory to go', async () => offlineDirs(server.dataDir).length === 0);
    } finally {
      await server.close();
      await swarm.close();
    }
  });
});
