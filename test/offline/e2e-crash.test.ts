// kill -9 of a real openpan process (test/support/process-server.ts) during a torrent download
// and during the import, then a restart on the same data directory: the task ends done, with
// byte-identical files, one entry per file, space charged once, no working data left, and —
// after a kill mid-download — the engine resumed from the verified pieces on disk.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { removeDataDir, spawnServer, tempDataDir, type ServerProcess } from '../support/process-server.js';
import { Client } from '../support/server.js';
import { bytes, etagOf } from '../support/upload.js';
import { assertFile, KiB, MiB, names, offlineDirs, startSwarm, task, uploadTorrent, userAt, waitDone, waitFor, walkDrive } from '../support/offline-e2e.js';

describe('offline download survives kill -9', () => {
  test('kill -9 mid-download: restart resumes from the verified pieces and ends byte-identical', async (t) => {
    const big = bytes(4 * MiB + 321, 41);
    const small = bytes(100 * KiB + 9, 42);
    const swarm = await startSwarm(
      [
        { path: 'big.bin', bytes: big },
        { path: 'small.bin', bytes: small },
      ],
      { name: 'Crash Payload' },
    );
    const { built, seeder } = swarm;
    const size = big.length + small.length;
    const dataDir = tempDataDir();
    let srv: ServerProcess | null = null;
    try {
      srv = await spawnServer(dataDir, { OPENPAN_BT_DOWNLOAD_LIMIT: String(256 * KiB) });
      const alice = await userAt(srv.url, 'alice');
      const tf = await uploadTorrent(alice, 'crash.torrent', built.torrent);
      const { taskHash } = await alice.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      const started = await alice.call('/v1/offline/start', { taskHash, savePath: '/dl' });

      // 25 %–60 % verified: kill -9 as soon as a quarter is there.
      const mid = await waitFor(
        'a quarter of the download',
        async () => {
          const t = await task(alice, started.taskId);
          if (t.status === -1 || t.status === 100) throw new Error(`unexpected status ${t.status} before the kill`);
          return t.finishedSize >= size / 4 ? t : undefined;
        },
        undefined,
        100,
      );
      await srv.kill9();
      srv = null;
      assert.ok(mid.finishedSize <= size * 0.6, `killed at ${mid.finishedSize} of ${size}: not mid-download`);
      assert.equal(offlineDirs(dataDir).length, 1, 'the working directory survives the crash');
      await sleep(500); // let the seeder notice the dead connection
      const uploadedBeforeRestart = seeder.uploaded();
      assert.ok(uploadedBeforeRestart >= mid.finishedSize, 'the seeder counts what it sent');

      // What the database knew at the kill is what the task shows after the restart, never 0%.
      const persisted = (() => {
        const db = new Database(join(dataDir, 'openpan.db'), { readonly: true, fileMustExist: true });
        try {
          return Number(
            (db.prepare('SELECT finished_size FROM offline_tasks WHERE task_id = ?').get(started.taskId) as { finished_size: number }).finished_size,
          );
        } finally {
          db.close();
        }
      })();
      srv = await spawnServer(dataDir); // no rate limit now
      const again = await new Client(srv.url).login('alice', 'alice-Passw0rd');
      const first = await task(again, started.taskId);
      assert.ok(
        first.status === 100 || first.finishedSize >= persisted,
        `after the restart the task shows ${first.finishedSize} bytes; ${persisted} were stored`,
      );
      const done = await waitDone(again, started.taskId);
      const resent = seeder.uploaded() - uploadedBeforeRestart;
      t.diagnostic(`killed at ${mid.finishedSize}/${size} verified; after the restart the seeder sent ${resent} bytes`);
      // Resumed, not restarted: the second run fetched at most what was missing at the kill,
      // plus a little slack for blocks in flight. A restart from zero would need `size` bytes.
      const slack = 256 * KiB;
      assert.ok(mid.finishedSize > slack * 2, 'the check below can tell a resume from a fresh start');
      assert.ok(resent <= size - mid.finishedSize + slack, `re-downloaded ${resent} bytes; at most ${size - mid.finishedSize + slack} were missing`);
      assert.ok(resent > 0, 'something was still missing after the kill');

      assert.equal(done.finishedSize, size);
      assert.deepEqual(await names(again, '/dl'), ['Crash Payload']);
      assert.deepEqual(await names(again, '/dl/Crash Payload'), ['big.bin', 'small.bin'], 'one entry per file, no numbered copy');
      await assertFile(again, '/dl/Crash Payload/big.bin', big);
      await assertFile(again, '/dl/Crash Payload/small.bin', small);
      const tree = await walkDrive(again, '/');
      const files = tree.filter((e) => e.type === 0);
      assert.deepEqual(
        files.map((f) => f.path).sort(),
        ['/:torrent/crash.torrent', '/dl/Crash Payload/big.bin', '/dl/Crash Payload/small.bin'].sort(),
        JSON.stringify(tree),
      );
      const info = await again.call('/v1/user/info');
      assert.equal(info.spaceUsed, size + built.torrent.length, 'space charged once: the two files and the .torrent');
      await waitFor('the working directory to go', async () => offlineDirs(dataDir).length === 0);
    } finally {
      await srv?.stop();
      await swarm.close();
      removeDataDir(dataDir);
    }
  });

  test('kill -9 during the import (status 50): restart, with every peer gone, finishes it with no duplicate entries', async (t) => {
    // Many small files: hashing, moving and creating one entry each makes the import last.
    const FOLDERS = 3;
    const PER = 600;
    const files: Array<{ path: string; bytes: Buffer }> = [];
    for (let d = 0; d < FOLDERS; d++) {
      for (let i = 0; i < PER; i++)
        files.push({ path: `part${d}/f${String(i).padStart(4, '0')}.dat`, bytes: bytes(1500 + ((i * 37) % 900), 1000 + d * PER + i) });
    }
    const swarm = await startSwarm(files, { name: 'Many' });
    const { built } = swarm;
    const size = swarm.payload.length;
    const dataDir = tempDataDir();
    let srv: ServerProcess | null = null;
    try {
      srv = await spawnServer(dataDir);
      const alice = await userAt(srv.url, 'alice');
      const tf = await uploadTorrent(alice, 'many.torrent', built.torrent);
      const { taskHash } = await alice.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      const started = await alice.call('/v1/offline/start', { taskHash, savePath: '/many' });

      // Two crashes, each once the import is under way (read from the database, which WAL
      // lets another process read meanwhile): first while files are being moved into the
      // store, then — after a restart — while their drive entries are being created.
      const count = (table: string): number => {
        const db = new Database(join(dataDir, 'openpan.db'), { readonly: true, fileMustExist: true });
        try {
          return (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
        } finally {
          db.close();
        }
      };
      const seen = await waitFor(
        'status 50 (saving into the drive)',
        async () => {
          const t = await task(alice, started.taskId);
          return t.status === 50 || t.status === 100 || t.status === -1 ? t : undefined;
        },
        undefined,
        10,
      );
      assert.equal(seen.status, 50, `expected to catch the import, saw status ${seen.status}`);
      await waitFor('a part of the files to be stored', async () => count('offline_content') >= files.length / 3 || count('offline_imports') > 0, undefined, 5);
      await srv.kill9();
      srv = null;
      // Every byte is verified on disk by now: the import must finish without a single peer.
      await swarm.close();
      const stored1 = count('offline_content');
      const entered1 = count('offline_imports');
      t.diagnostic(`first kill: ${stored1} of ${files.length} files stored, ${entered1} entered`);
      // Normally mid-store (some files moved into the store, none entered); on a slow poll it
      // may land among the entries instead — either way the import was cut short.
      assert.ok(stored1 > 0 && entered1 < files.length, 'the first kill came during the import');

      srv = await spawnServer(dataDir);
      let again = await new Client(srv.url).login('alice', 'alice-Passw0rd');
      await waitFor(
        'drive entries to be created',
        async () => count('offline_imports') > 0 || (await task(again, started.taskId)).status === 100,
        undefined,
        5,
      );
      await srv.kill9();
      srv = null;
      const entered2 = count('offline_imports');
      t.diagnostic(`second kill: ${count('offline_content')} stored, ${entered2} of ${files.length} entered`);

      srv = await spawnServer(dataDir);
      again = await new Client(srv.url).login('alice', 'alice-Passw0rd');
      await waitDone(again, started.taskId);
      if (entered2 >= files.length) t.diagnostic('the second kill came after the last entry: the entry window was missed this time');
      assert.deepEqual(await names(again, '/many'), ['Many']);
      assert.deepEqual(
        await names(again, '/many/Many'),
        Array.from({ length: FOLDERS }, (_, d) => `part${d}`),
      );
      const tree = (await walkDrive(again, '/many/Many')).filter((e) => e.type === 0);
      assert.equal(tree.length, files.length, 'exactly one entry per file');
      const byPath = new Map(tree.map((e) => [e.path, e]));
      for (const f of files) {
        const e = byPath.get(`/many/Many/${f.path}`);
        assert.ok(e, `missing /many/Many/${f.path}`);
        assert.equal(e.size, f.bytes.length, f.path);
        assert.equal(e.storeId, etagOf(f.bytes), f.path);
      }
      for (const k of [0, 1, PER, files.length - 1]) await assertFile(again, `/many/Many/${files[k].path}`, files[k].bytes);
      const info = await again.call('/v1/user/info');
      assert.equal(info.spaceUsed, size + built.torrent.length, 'space charged once per file');
      await waitFor('the working directory to go', async () => offlineDirs(dataDir).length === 0);
    } finally {
      await srv?.stop();
      await swarm.close();
      removeDataDir(dataDir);
    }
  });
});
