// A full disk: the data directory on a 32 MiB tmpfs this test mounts (it runs as root; if the
// mount is refused the test fails — it never skips). Uploads that do not fit fail with
// 503 DISK_FULL and leave nothing behind, what was stored stays intact, and once files are
// deleted and the collector has run, uploads succeed again. A torrent task that fills the disk
// fails with DISK_FULL and, after space is freed, resumes to the end.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmdirSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runFsck } from '../../src/fsck/fsck.js';
import { BlobCollector } from '../../src/store/collector.js';
import { ContentLock } from '../../src/store/content-lock.js';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';
import { type Client, startServer, type TestServer } from '../support/server.js';
import { assertFile, offlineDirs, startSwarm, task, uploadTorrent, waitDone, waitFor } from '../support/offline-e2e.js';
import { BLOCK, bytes, etagOf, fileOf, formUpload, MiB, mkblk, mkfile, ticket, type Answer } from '../support/upload.js';

const SIZE_MIB = 32;
let mountPoint = '';

before(() => {
  mountPoint = mkdtempSync(join(tmpdir(), 'openpan-fulldisk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE_MIB}m,mode=0700`, 'tmpfs', mountPoint]);
});

after(() => {
  if (mountPoint === '') return;
  try {
    execFileSync('umount', [mountPoint]);
  } catch {
    execFileSync('umount', ['-l', mountPoint]);
  }
  rmdirSync(mountPoint);
});

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Deletes the user's files at `paths` for good (not to the recycle bin) and frees their content at once (a collector with no grace). */
async function deleteAndCollect(server: TestServer, client: Client, paths: string[]): Promise<void> {
  await client.call('/v1/files/remove', { path: paths, permanent: true });
  const store = new LocalDiskBlobStore(join(server.dataDir, 'blobs'));
  await new BlobCollector(server.openpan.db, store, new ContentLock(), 0).collect();
}

function assertDiskFull(a: Answer, what: string): void {
  assert.equal(a.status, 503, `${what}: ${JSON.stringify(a.json)}`);
  assert.equal(a.json.code, 'DISK_FULL', what);
  assert.equal(a.json.success, false);
}

function storeTemp(dataDir: string): string[] {
  try {
    return readdirSync(join(dataDir, 'blobs', 'tmp'));
  } catch {
    return [];
  }
}

async function assertClean(server: TestServer): Promise<void> {
  const report = await runFsck({ dataDir: server.dataDir, force: true });
  assert.deepEqual(
    report.problems.map((p) => `${p.code}: ${p.message}`),
    [],
    'fsck finds nothing wrong',
  );
}

describe('a full disk', () => {
  test('uploads that do not fit fail with DISK_FULL, stored files stay intact, and uploads succeed once space is freed', async () => {
    const dataDir = join(mountPoint, 'uploads-test');
    mkdirSync(dataDir);
    const server = await startServer({}, dataDir);
    try {
      const alice = await server.newUser('alice');
      const kept = new Map<string, Buffer>();
      for (let i = 0; i < 3; i++) {
        const data = bytes(3 * MiB + i, 100 + i);
        const t = await ticket(alice, { name: `kept${i}.bin`, path: '/kept' });
        fileOf(await formUpload(t.uploadUrl, t.token, data));
        kept.set(`/kept/kept${i}.bin`, data);
      }
      const free = freeBytes(dataDir);

      // A form upload larger than the free space.
      const big = bytes(free + 2 * MiB, 7);
      const t1 = await ticket(alice, { name: 'too-big.bin', path: '/' });
      assertDiskFull(await formUpload(t1.uploadUrl, t1.token, big), 'form upload');
      assert.deepEqual(storeTemp(dataDir), [], 'the half-written temporary file is gone');

      // A block upload larger than the free space: blocks go in until one does not fit.
      const data = bytes(free + MiB, 8);
      const blocks = Math.ceil(data.length / BLOCK);
      const t2 = await ticket(alice, { name: 'blocks.bin', path: '/' });
      const ctxs: Array<string | null> = [];
      let refused = -1;
      for (let i = 0; i < blocks; i++) {
        const a = await mkblk(t2.uploadUrl, t2.token, Math.min(BLOCK, data.length - i * BLOCK), data.subarray(i * BLOCK, (i + 1) * BLOCK), i);
        if (a.status === 200) {
          ctxs.push(a.json.ctx);
          continue;
        }
        assertDiskFull(a, `mkblk ${i}`);
        refused = i;
        ctxs.push(null);
        break;
      }
      assert.ok(refused >= 0, 'some block did not fit');

      // Nothing stored was damaged, nothing appeared, no space was charged for what failed.
      for (const [path, bytesKept] of kept) await assertFile(alice, path, bytesKept);
      assert.equal((await alice.call('/v1/files/page', { path: '/' })).list.filter((f: { type: number }) => f.type === 0).length, 0);
      assert.equal(
        (await alice.call('/v1/user/info')).spaceUsed,
        [...kept.values()].reduce((s, b) => s + b.length, 0),
      );
      await assertClean(server);

      // Free space: delete two kept files, let the collector free their content.
      await deleteAndCollect(server, alice, ['/kept/kept0.bin', '/kept/kept1.bin']);
      kept.delete('/kept/kept0.bin');
      kept.delete('/kept/kept1.bin');

      // The block upload resumes: the refused block and the ones after it, then mkfile.
      for (let i = refused; i < blocks; i++) {
        const a = await mkblk(t2.uploadUrl, t2.token, Math.min(BLOCK, data.length - i * BLOCK), data.subarray(i * BLOCK, (i + 1) * BLOCK), i);
        assert.equal(a.status, 200, `mkblk ${i} after freeing space: ${JSON.stringify(a.json)}`);
        ctxs[i] = a.json.ctx;
      }
      const done = await mkfile(t2.uploadUrl, t2.token, data.length, ctxs as string[]);
      assert.equal(fileOf(done).storeId, etagOf(data));
      await assertFile(alice, '/blocks.bin', data);

      // And a new form upload fits again.
      const small = bytes(2 * MiB, 9);
      const t3 = await ticket(alice, { name: 'after.bin', path: '/' });
      fileOf(await formUpload(t3.uploadUrl, t3.token, small));
      await assertFile(alice, '/after.bin', small);
      for (const [path, bytesKept] of kept) await assertFile(alice, path, bytesKept);
      await assertClean(server);
    } finally {
      await server.close();
    }
  });

  test('a torrent task that fills the disk fails with DISK_FULL and resumes to the end once space is freed', async () => {
    const dataDir = join(mountPoint, 'torrent-test');
    mkdirSync(dataDir);
    const payload = [
      { path: 'a.bin', bytes: bytes(6 * MiB + 11, 301) },
      { path: 'b.bin', bytes: bytes(4 * MiB + 13, 302) },
    ];
    const swarm = await startSwarm(payload, { name: 'Too Big', pieceLength: 64 * 1024 });
    const server = await startServer({}, dataDir);
    try {
      const bob = await server.newUser('bob');
      // Fill the disk until less than the torrent's size is free.
      const fillers: string[] = [];
      for (let i = 0; freeBytes(dataDir) > 6 * MiB; i++) {
        const t = await ticket(bob, { name: `filler${i}.bin`, path: '/filler' });
        const a = await formUpload(t.uploadUrl, t.token, bytes(Math.min(4 * MiB, freeBytes(dataDir) - 4 * MiB), 400 + i));
        fileOf(a);
        fillers.push(`/filler/filler${i}.bin`);
      }
      const tf = await uploadTorrent(bob, 'too-big.torrent', swarm.built.torrent);
      const { taskHash } = await bob.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      const { taskId } = await bob.call('/v1/offline/start', { taskHash, savePath: '/dl' });
      const failed = await waitFor(
        'the task to fail',
        async () => {
          const t = await task(bob, taskId);
          if (t?.status === 100) throw new Error('the task finished on a full disk');
          return t?.status === -1 ? t : undefined;
        },
        120_000,
      );
      assert.equal(failed.error, 'DISK_FULL', JSON.stringify(failed));

      await deleteAndCollect(server, bob, fillers);
      await bob.call('/v1/offline/resume', { taskId });
      await waitDone(bob, taskId, 120_000);
      for (const p of payload) await assertFile(bob, `/dl/Too Big/${p.path}`, p.bytes);
      await waitFor('the working directory to go', async () => offlineDirs(dataDir).length === 0);
      await assertClean(server);
    } finally {
      await server.close();
      await swarm.close();
    }
  });
});
