// kill -9 of a real server at random points of a mixed workload, again and again: after each
// crash `fsck` finds nothing but what the next start-up clears, after each restart it finds
// nothing at all, and at the end every file whose upload was acknowledged is there with its
// bytes, and the torrent and URL tasks finished byte-identical.
//
//   OPENPAN_CRASH_SEED=n   replay a run (the seed is printed)
//   OPENPAN_CRASH_KILLS=n  how many kills (default 6)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runFsck, type FsckReport } from '../../src/fsck/fsck.js';
import { removeDataDir, spawnServer, tempDataDir, type ServerProcess } from '../support/process-server.js';
import { Client } from '../support/server.js';
import { startTestServer } from '../support/http-fixture.js';
import { assertFile, startSwarm, uploadTorrent, userAt, waitDone } from '../support/offline-e2e.js';
import { blockUpload, bytes, etagOf, fileOf, formUpload, MiB } from '../support/upload.js';

const SEED = Number(process.env.OPENPAN_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const KILLS = Number(process.env.OPENPAN_CRASH_KILLS ?? 6);
const CLIENTS = 3;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A file the server acknowledged, by uuid (moves and renames keep it). */
interface Acked {
  data: Buffer;
  /** A remove of it was sent: it may be gone ('maybe') or is gone ('yes'). */
  deleted: 'no' | 'maybe' | 'yes';
}

interface Actor {
  name: string;
  token: string;
  rnd: () => number;
  n: number;
  files: Map<string, Acked>;
  dirs: string[];
}

/**
 * What a crash leaves that the next start removes, under the data-directory lock: the store's
 * temporary files and the uploads' cut-short assemblies and records.
 */
const CLEARED_AT_START = new Set(['store-temp', 'upload-leftover']);

function live(files: Map<string, Acked>): string[] {
  return [...files].filter(([, f]) => f.deleted === 'no').map(([uuid]) => uuid);
}

/** One operation of the mix, chosen by the actor's PRNG. */
async function step(a: Actor, url: string): Promise<void> {
  const c = new Client(url, a.token);
  const r = a.rnd();
  const n = a.n++;
  const pickFile = () => {
    const uuids = live(a.files);
    return uuids.length === 0 ? null : uuids[Math.floor(a.rnd() * uuids.length)];
  };
  if (r < 0.3) {
    const data = bytes(1 + Math.floor(a.rnd() * 200_000), a.rnd() * 1e9);
    const t = await c.call('/v1/store/token', { name: `f${n}.bin`, path: '/w' });
    a.files.set(fileOf(await formUpload(t.uploadUrl, t.token, data)).uuid, { data, deleted: 'no' });
  } else if (r < 0.4) {
    const data = bytes(4 * MiB + 1 + Math.floor(a.rnd() * 2 * MiB), a.rnd() * 1e9);
    const t = await c.call('/v1/store/token', { name: `big${n}.bin`, path: '/w' });
    a.files.set(fileOf(await blockUpload(t.uploadUrl, t.token, data, { order: 'parallel' })).uuid, { data, deleted: 'no' });
  } else if (r < 0.5) {
    const source = pickFile();
    if (source === null) return;
    const data = a.files.get(source)!.data;
    const f = await c.call('/v1/store/token', { name: `same${n}.bin`, path: '/w', hash: etagOf(data) });
    assert.ok('uuid' in f, 'known content arrives as an instant upload');
    a.files.set(f.uuid, { data, deleted: 'no' });
  } else if (r < 0.6) {
    const dir = `/d${n}`;
    await c.call('/v1/files/createDirectory', { path: dir });
    a.dirs.push(dir);
  } else if (r < 0.72) {
    const uuid = pickFile();
    if (uuid === null || a.dirs.length === 0) return;
    await c.call('/v1/files/move', { uuid: [uuid], destPath: a.dirs[Math.floor(a.rnd() * a.dirs.length)] }).catch((err: { code?: string }) => {
      if (err.code !== 'FILE_ALREADY_EXISTS') throw err; // moved there before the crash already
    });
  } else if (r < 0.8) {
    const uuid = pickFile();
    if (uuid === null) return;
    await c.call('/v1/files/rename', { uuid, name: `renamed${n}.bin` });
  } else if (r < 0.9) {
    if (a.dirs.length === 0) return;
    const from = a.dirs[Math.floor(a.rnd() * a.dirs.length)];
    await c.call('/v1/files/copy', { path: [from], destPath: '/w' }).catch((err: { code?: string }) => {
      if (err.code !== 'FILE_ALREADY_EXISTS') throw err;
    });
  } else {
    const uuid = pickFile();
    if (uuid === null) return;
    const f = a.files.get(uuid)!;
    f.deleted = 'maybe';
    await c.call('/v1/files/remove', { uuid: [uuid] });
    f.deleted = 'yes';
  }
}

function problemsOf(r: FsckReport): string {
  return r.problems.map((p) => `${p.code} ${p.subject}: ${p.message}`).join('\n');
}

test(`kill -9 at random points of a mixed workload: fsck is clean after every restart and acknowledged files survive (seed ${SEED}, ${KILLS} kills)`, {
  timeout: 900_000,
}, async (t) => {
  t.diagnostic(`OPENPAN_CRASH_SEED=${SEED} OPENPAN_CRASH_KILLS=${KILLS}`);
  console.log(`crash-consistency seed: ${SEED} (replay with OPENPAN_CRASH_SEED=${SEED})`);
  const rnd = prng(SEED);
  const payload = [
    { path: 'one.bin', bytes: bytes(2 * MiB + 77, 901) },
    { path: 'two/three.bin', bytes: bytes(1 * MiB + 5, 902) },
  ];
  const swarm = await startSwarm(payload, { name: 'Crash Torrent' });
  // A URL download that spans several crashes too: slow per connection, resumable (ETag).
  const web = await startTestServer('127.0.0.1');
  const urlData = bytes(6 * MiB + 3, 903);
  web.resources.set('/crash.bin', { bytes: urlData, rate: 96 * 1024, etag: '"crash-1"' });
  const dataDir = tempDataDir();
  // Slow enough for the download to span several crashes.
  const env = { OPENPAN_BT_DOWNLOAD_LIMIT: String(256 * 1024) };
  let server: ServerProcess | null = await spawnServer(dataDir, env);
  try {
    const actors: Actor[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const c = await userAt(server.url, `user${i}`);
      // The folder uploads and copies go to (a copy into a missing folder is PARENT_NOT_FOUND).
      await new Client(server.url, c.token).call('/v1/files/createDirectory', { path: '/w' });
      actors.push({ name: `user${i}`, token: c.token, rnd: prng(SEED + i + 1), n: 0, files: new Map(), dirs: [] });
    }
    const owner = new Client(server.url, actors[0].token);
    const tf = await uploadTorrent(owner, 'crash.torrent', swarm.built.torrent);
    const { taskHash } = await owner.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
    const { taskId } = await owner.call('/v1/offline/start', { taskHash, savePath: '/torrent' });
    const parsedUrl = await owner.call('/v1/offline/parseUrl', { url: `${web.origin}/crash.bin` });
    const { taskId: urlTaskId } = await owner.call('/v1/offline/start', { taskHash: parsedUrl.taskHash, savePath: '/url' });

    for (let kill = 1; kill <= KILLS; kill++) {
      const url: string = server.url;
      const state = { killing: false };
      const failures: string[] = [];
      const loops = actors.map(async (a) => {
        while (!state.killing) {
          try {
            await step(a, url);
          } catch (err) {
            if (!state.killing) failures.push(`${a.name}: ${(err as Error).message}`);
            return;
          }
        }
      });
      const runMs = 300 + Math.floor(rnd() * 2500);
      await sleep(runMs);
      state.killing = true;
      await server.kill9();
      server = null;
      await Promise.all(loops);
      assert.deepEqual(failures, [], `requests failed before kill ${kill}`);

      const crashed = await runFsck({ dataDir });
      const unexpected = crashed.problems.filter((p) => !CLEARED_AT_START.has(p.code));
      assert.equal(unexpected.length, 0, `after kill ${kill} (at ${runMs} ms):\n${problemsOf(crashed)}`);

      server = await spawnServer(dataDir, env);
      const survivors = crashed.problems.filter((p) => existsSync(p.subject));
      assert.deepEqual(
        survivors.map((p) => p.message),
        [],
        `the start after kill ${kill} removes what the crash left`,
      );
      const restarted = await runFsck({ dataDir, force: true });
      assert.equal(restarted.clean, true, `after restart ${kill}:\n${problemsOf(restarted)}`);
      t.diagnostic(
        `kill ${kill} at ${runMs} ms: ${actors.reduce((s, a) => s + live(a.files).length, 0)} acknowledged files; ` +
          `crash left ${crashed.problems.length} temporary file(s) the start-up cleared; fsck clean after restart`,
      );
    }

    // The torrent task finishes across the crashes, byte-identical.
    const url = server.url;
    const ownerNow = new Client(url, actors[0].token);
    await waitDone(ownerNow, taskId);
    for (const p of payload) await assertFile(ownerNow, `/torrent/Crash Torrent/${p.path}`, p.bytes);
    await waitDone(ownerNow, urlTaskId);
    await assertFile(ownerNow, '/url/crash.bin', urlData);
    t.diagnostic(`URL task: ${web.bytesServed} bytes served for a ${urlData.length}-byte file across ${KILLS} kills`);

    // Every acknowledged file is there with its bytes (wherever it was moved or renamed).
    let checkedFiles = 0;
    for (const a of actors) {
      const c = new Client(url, a.token);
      for (const [uuid, f] of a.files) {
        if (f.deleted === 'yes') continue;
        const got = await c.raw('/v1/files/get', { uuid });
        if (f.deleted === 'maybe' && got.status === 404) continue;
        assert.equal(got.status, 200, `acknowledged file ${uuid} of ${a.name} is gone: ${JSON.stringify(got.json)}`);
        const file = got.json.result;
        assert.equal(file.size, f.data.length);
        assert.equal(file.storeId, etagOf(f.data));
        const { downloadAddress } = await c.call('/v1/files/download', { uuid });
        const body = Buffer.from(await (await fetch(downloadAddress)).arrayBuffer());
        assert.ok(body.equals(f.data), `bytes of ${file.path}`);
        checkedFiles++;
      }
    }
    t.diagnostic(`${checkedFiles} acknowledged files checked byte for byte`);
    assert.ok(checkedFiles > 0, 'the workload acknowledged uploads');

    await server.stop();
    server = null;
    const final = await runFsck({ dataDir, verify: true });
    assert.equal(final.clean, true, `after a graceful stop:\n${problemsOf(final)}`);
  } finally {
    await server?.stop();
    await swarm.close();
    await web.close();
    removeDataDir(dataDir);
  }
});
