// OPENPAN_ROLE with real processes (src/main.ts): two `api` processes and two `worker` processes
// on what a cluster shares — a PostgreSQL database (a throwaway local cluster), a bucket (s3rver
// on loopback) and OPENPAN_SECRET — each with its own data directory as scratch. The second API
// process sits behind the first one's public address, as behind a balancer, with an upload
// address of its own. Uploads, instant uploads, a torrent task and a URL task cross the processes;
// `kill -9` of the worker holding a job mid-download and the other finishes it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStream } from '../support/event-stream.js';
import { startTestServer, type TestServer as WebServer } from '../support/http-fixture.js';
import { assertFile, KiB, listAll, MiB, startSwarm, task, uploadTorrent, userAt, waitDone, waitFor } from '../support/offline-e2e.js';
import { freePort } from '../support/ports.js';
import { databaseUrlFor, dropDatabaseFor } from '../support/postgres.js';
import { removeDataDir, spawnServer, tempDataDir, type ServerProcess } from '../support/process-server.js';
import { startS3, type TestS3 } from '../support/s3-server.js';
import { Client } from '../support/server.js';
import { assertUploadError, blockUpload, bytes, etagOf, mkblk, mkfile, ticket } from '../support/upload.js';

const LEASE_SECONDS = 2;

/** What a worker's `GET /health` says. */
async function health(worker: ServerProcess): Promise<{ status: string; role: string; workerId: string; jobs: number }> {
  const res = await fetch(`${worker.url}/health`);
  assert.equal(res.status, 200);
  return (await res.json()) as { status: string; role: string; workerId: string; jobs: number };
}

test('a worker, or an api process, on its own SQLite database and store is refused at start with the reason', () => {
  const dataDir = tempDataDir();
  try {
    for (const role of ['worker', 'api']) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: resolve(import.meta.dirname, '../..'),
        env: { ...process.env, OPENPAN_ROLE: role, OPENPAN_DATA_DIR: dataDir, OPENPAN_HOST: '127.0.0.1', OPENPAN_PORT: '0', OPENPAN_BT_DHT: '0' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(run.status, 1, `OPENPAN_ROLE=${role} exits with 1`);
      assert.match(run.stderr, new RegExp(`openpan cannot start: OPENPAN_ROLE=${role} needs a database and a content store that several processes share`));
      assert.doesNotMatch(run.stdout, /listening/);
    }
  } finally {
    removeDataDir(dataDir);
  }
});

describe('a cluster: two api processes and two workers on PostgreSQL and a bucket', () => {
  let s3: TestS3;
  let web: WebServer;
  /** Names the cluster's database (a data directory of nobody's). */
  const databaseKey = tempDataDir();
  const dirs: string[] = [];
  const procs: ServerProcess[] = [];
  let api1: ServerProcess;
  let api2: ServerProcess;
  let workers: ServerProcess[];
  /** alice, through each API process (one session: the processes share the database and the secret). */
  let at1: Client;
  let at2: Client;

  before(async () => {
    web = await startTestServer('127.0.0.1');
    s3 = await startS3();
    const shared = { OPENPAN_DATABASE_URL: await databaseUrlFor(databaseKey), OPENPAN_SECRET: randomBytes(32).toString('hex'), ...s3.env() };
    const start = async (role: string, env: Record<string, string> = {}) => {
      const dir = tempDataDir();
      dirs.push(dir);
      const proc = await spawnServer(dir, { ...shared, OPENPAN_ROLE: role, OPENPAN_JOB_LEASE: String(LEASE_SECONDS), OPENPAN_HTTP_SEGMENTS: '4', ...env });
      procs.push(proc);
      return proc;
    };
    // The first api creates the database; the second answers behind the first one's address.
    api1 = await start('api');
    const port2 = await freePort();
    api2 = await start('api', { OPENPAN_PORT: String(port2), OPENPAN_PUBLIC_URL: api1.url, OPENPAN_UPLOAD_URL: `http://127.0.0.1:${port2}/upload` });
    workers = [await start('worker'), await start('worker')];
    at1 = await userAt(api1.url, 'alice');
    at2 = new Client(api2.url, at1.token);
  });

  after(async () => {
    for (const p of procs) await p.stop().catch(() => undefined);
    await web?.close();
    await s3?.close();
    await dropDatabaseFor(databaseKey);
    for (const dir of [databaseKey, ...dirs]) removeDataDir(dir);
  });

  test('workers answer only their health; every api answers the whole API with one session', async () => {
    for (const w of workers) assert.equal((await health(w)).role, 'worker');
    assert.equal((await fetch(`${workers[0].url}/v1/common/time`)).status, 404);
    assert.equal((await at2.call('/v1/user/info')).name, 'alice');
  });

  test('an upload through api 2 comes back to api 2 in every block; api 1 serves it, and the same content through api 1 is an instant upload', async () => {
    const data = bytes(9 * MiB + 5, 7); // three blocks
    const t = await ticket(at2, { name: 'film.bin', hash: etagOf(data), path: '/up' });
    assert.equal(t.uploadUrl, `${api2.url}/upload`, "api 2's own upload address, not the public one");
    // A block that reached the other process waits there: this process does not know it.
    const astray = await mkblk(`${api1.url}/upload`, t.token, data.length - 8 * MiB, data.subarray(8 * MiB), 2);
    assert.equal(astray.status, 200);
    assertUploadError(await mkfile(t.uploadUrl, t.token, 8 * MiB + astray.json.offset, ['x', 'y', astray.json.ctx]), 400, 'UPLOAD_INVALID');

    const made = await blockUpload(t.uploadUrl, t.token, data);
    assert.equal(made.status, 200, JSON.stringify(made.json));
    await assertFile(at1, '/up/film.bin', data);
    const again = await at1.call('/v1/store/token', { name: 'film copy.bin', hash: etagOf(data), path: '/up' });
    assert.equal(again.size, data.length, 'instant upload: a file at once, no ticket');
    await assertFile(at2, '/up/film copy.bin', data);
  });

  test('a torrent task started through api 2 runs on a worker, and its end reaches the event stream of api 1', async () => {
    const album = [
      { path: 'one.flac', bytes: bytes(700 * KiB + 3, 21) },
      { path: 'two.flac', bytes: bytes(300 * KiB + 9, 22) },
    ];
    const swarm = await startSwarm(album, { name: 'Album' });
    const stream = await openStream(api1.url, at1.token, 'header');
    try {
      const torrent = await uploadTorrent(at2, 'album.torrent', swarm.built.torrent);
      const parsed = await at2.call('/v1/offline/parseTorrent', { uuid: torrent.uuid });
      const { taskId } = await at2.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/music' });
      await stream.until((e) => e.event === 'task' && e.data.taskId === taskId && e.data.status === 100);
      await assertFile(at1, '/music/Album/one.flac', album[0].bytes);
      await assertFile(at1, '/music/Album/two.flac', album[1].bytes);
    } finally {
      await stream.close();
      await swarm.close();
    }
  });

  test('a URL task started through api 2 runs on a worker; kill -9 of that worker mid-download and the other finishes it', async () => {
    const data = randomBytes(8 * MiB);
    // Slow enough to catch half-way; an ETag lets a worker resume what is on its disk.
    web.resources.set('/big.bin', { bytes: data, rate: 512 * KiB, etag: '"v1"' });
    const stream = await openStream(api1.url, at1.token, 'header');
    const parsed = await at2.call('/v1/offline/parseUrl', { url: `${web.origin}/big.bin` });
    const started = await at2.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/dl' });
    // The progress measured on a worker is what the apis show, in their pages and their events.
    await waitFor('progress seen through api 1', async () => ((await task(at1, started.taskId))?.finishedSize ?? 0) >= MiB);
    await stream.until((e) => e.event === 'task' && e.data.taskId === started.taskId && e.data.status === 20 && e.data.finishedSize > 0);

    const holders = [];
    for (const w of workers) if ((await health(w)).jobs > 0) holders.push(w);
    assert.equal(holders.length, 1, 'one worker holds the job');
    const dead = holders[0];
    const survivor = workers.find((w) => w !== dead)!;
    await dead.kill9();
    assert.ok(web.bytesServed < data.length, 'the kill came before the end');

    // The rest now comes at once, to whichever worker takes the job over.
    web.resources.set('/big.bin', { bytes: data, etag: '"v1"' });
    const done = await waitDone(at2, started.taskId, 60_000);
    assert.equal(done.size, data.length);
    await assertFile(at1, '/dl/big.bin', data);
    assert.deepEqual(
      (await listAll(at1, '/dl')).map((f: { name: string }) => f.name),
      ['big.bin'],
      'one file entry',
    );
    await stream.until((e) => e.event === 'task' && e.data.taskId === started.taskId && e.data.status === 100);
    await stream.close();
    assert.equal((await health(survivor)).status, 'ok');
  });
});
