// One legal torrent of 100,000 files must not take the server down: it downloads to the end
// (from aria2c, a client nobody here wrote), every file lands in the drive, the process holds a
// bounded number of descriptors whatever the file count, and another user's requests are
// answered throughout. Nothing here is timed: liveness and bounds, not speed (bench/many-files.ts
// measures that).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeBencode, RawBencode } from '../../src/torrent/index.js';
import { startServer } from '../support/server.js';
import { startAria2Seeder, startTracker } from '../support/swarm.js';
import { download, uploadTorrent, userAt, waitFor } from '../support/offline-e2e.js';

const FILES = 100_000;
const FOLDERS = 100;
const FILE_BYTES = 1024;
const PIECE = 64 * 1024;
const MAX_OPEN_FILES = 64;

const folderOf = (i: number) => `d${String(Math.floor(i / (FILES / FOLDERS))).padStart(3, '0')}`;
const nameOf = (i: number) => `f${String(i).padStart(6, '0')}.bin`;

/** File i's bytes: its own, so a file stored under another's name shows. */
function bytesOf(i: number): Buffer {
  const seed = createHash('sha256').update(`file ${i}`).digest();
  return Buffer.concat(Array.from({ length: FILE_BYTES / seed.length }, () => seed));
}

/** Writes the payload under `dir/name/` and returns its `.torrent`. */
async function writePayload(dir: string, name: string, announce: string): Promise<{ torrent: Buffer; infoHash: string }> {
  const pieces: Buffer[] = [];
  let piece = createHash('sha1');
  let fill = 0;
  const entries: Array<{ length: number; path: string[] }> = [];
  for (let f = 0; f < FOLDERS; f++) await mkdir(join(dir, name, folderOf(f * (FILES / FOLDERS))), { recursive: true });
  const pending: Promise<void>[] = [];
  for (let i = 0; i < FILES; i++) {
    const bytes = bytesOf(i);
    piece.update(bytes);
    fill += bytes.length;
    if (fill === PIECE) {
      pieces.push(piece.digest());
      piece = createHash('sha1');
      fill = 0;
    }
    entries.push({ length: bytes.length, path: [folderOf(i), nameOf(i)] });
    pending.push(writeFile(join(dir, name, folderOf(i), nameOf(i)), bytes));
    if (pending.length >= 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  if (fill > 0) pieces.push(piece.digest());
  const info = encodeBencode({ name, 'piece length': PIECE, pieces: Buffer.concat(pieces), files: entries });
  return { torrent: encodeBencode({ announce, info: new RawBencode(info) }), infoHash: createHash('sha1').update(info).digest('hex') };
}

test('a torrent of 100,000 files downloads to the end with bounded descriptors, and the server answers throughout', { timeout: 30 * 60_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-many-'));
  const tracker = await startTracker({ intervalMs: 1000 });
  const server = await startServer({ OPENPAN_MAX_OPEN_FILES: String(MAX_OPEN_FILES) });
  let seeder: { close(): Promise<void> } | undefined;
  let sampling = true;
  try {
    const { torrent, infoHash } = await writePayload(join(root, 'seed'), 'many', tracker.httpUrl);
    seeder = await startAria2Seeder({ torrent, infoHash }, join(root, 'seed'), tracker);

    const alice = await userAt(server.url, 'alice');
    const bob = await userAt(server.url, 'bob');
    const baseline = (await readdir('/proc/self/fd')).length;
    let peakFds = baseline;
    const answers = { ok: 0, failed: [] as string[] };
    const sampler = (async () => {
      while (sampling) {
        peakFds = Math.max(peakFds, (await readdir('/proc/self/fd')).length);
        try {
          const info = await bob.call('/v1/user/info');
          if (info.name === 'bob') answers.ok++;
          else answers.failed.push(`user/info answered ${JSON.stringify(info).slice(0, 100)}`);
        } catch (err) {
          answers.failed.push(String(err));
        }
        await new Promise((res) => setTimeout(res, 250));
      }
    })();

    const file = await uploadTorrent(alice, 'many.torrent', torrent);
    const parsed = await alice.call('/v1/offline/parseTorrent', { uuid: file.uuid });
    assert.equal(parsed.files.length, FILES);
    const { taskId } = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/dl' });
    let lastProgress = 0;
    let lastSaved = 0;
    let final = { fileCount: 0, savedFiles: 0, savedSize: 0 };
    await waitFor(
      'the task to finish',
      async () => {
        const task = (await alice.call('/v1/offline/page', { page: 1, pageSize: 10 })).list.find((t: { taskId: string }) => t.taskId === taskId);
        if (task?.status === -1) throw new Error(`task failed: ${task.error} ${task.message}`);
        assert.ok(task.progress >= lastProgress, `progress never goes back (${lastProgress} → ${task.progress})`);
        lastProgress = task.progress;
        // Saving shows its own progress: files in the drive, never going back, never past the selection.
        assert.equal(task.fileCount, FILES);
        assert.ok(task.savedFiles >= lastSaved && task.savedFiles <= FILES, `saved files ${lastSaved} → ${task.savedFiles}`);
        lastSaved = task.savedFiles;
        final = task;
        return task?.status === 100;
      },
      25 * 60_000,
      1000,
    );
    sampling = false;
    await sampler;

    assert.deepEqual([final.savedFiles, final.savedSize], [FILES, FILES * FILE_BYTES]);
    assert.deepEqual(answers.failed, [], 'every request of another user was answered');
    assert.ok(answers.ok > 0);
    assert.ok(peakFds - baseline <= MAX_OPEN_FILES + 256, `descriptors stayed bounded: ${peakFds} at the peak, ${baseline} before (pool of ${MAX_OPEN_FILES})`);

    const top = await alice.call('/v1/files/page', { path: '/dl/many', pageSize: 200 });
    assert.equal(top.totalCount, FOLDERS);
    for (const folder of ['d000', 'd057', 'd099']) {
      assert.equal((await alice.call('/v1/files/page', { path: `/dl/many/${folder}`, pageSize: 10 })).totalCount, FILES / FOLDERS, `${folder} holds its files`);
    }
    assert.equal((await alice.call('/v1/user/info')).spaceUsed, FILES * FILE_BYTES + torrent.length);
    for (const i of [0, 1, 4_095, 57_321, FILES - 1]) {
      assert.ok((await download(alice, `/dl/many/${folderOf(i)}/${nameOf(i)}`)).equals(bytesOf(i)), `file ${i} byte for byte`);
    }
  } finally {
    sampling = false;
    await seeder?.close();
    await server.close();
    await tracker.close();
    await rm(root, { recursive: true, force: true });
  }
});
