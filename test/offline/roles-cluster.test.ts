// OPENPAN_ROLE with real processes (src/main.ts): one `api` process and two `worker` processes on
// what a cluster shares — a PostgreSQL database (a throwaway local cluster), a bucket (s3rver on
// loopback) and OPENPAN_SECRET — each with its own data directory as scratch. A URL task started
// through the API runs on a worker; its progress and its end reach the API's event stream;
// `kill -9` of the worker holding it mid-download and the other finishes it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { openStream } from '../support/event-stream.js';
import { databaseUrlFor, dropDatabaseFor } from '../support/postgres.js';
import { startS3 } from '../support/s3-server.js';
import { startTestServer } from '../support/http-fixture.js';
import { assertFile, KiB, listAll, MiB, task, userAt, waitDone, waitFor } from '../support/offline-e2e.js';
import { removeDataDir, spawnServer, tempDataDir, type ServerProcess } from '../support/process-server.js';

const LEASE_SECONDS = 2;

/** What a worker's `GET /health` says. */
async function health(worker: ServerProcess): Promise<{ status: string; role: string; workerId: string; jobs: number }> {
  const res = await fetch(`${worker.url}/health`);
  assert.equal(res.status, 200);
  return (await res.json()) as { status: string; role: string; workerId: string; jobs: number };
}

describe('roles: api and worker processes', () => {
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

  test('a URL task started through the api runs on a worker; kill -9 of that worker mid-download and the other finishes it', async () => {
    const web = await startTestServer('127.0.0.1');
    const s3 = await startS3();
    // Names the cluster's database (a data directory of nobody's).
    const databaseKey = tempDataDir();
    const shared = { OPENPAN_DATABASE_URL: await databaseUrlFor(databaseKey), OPENPAN_SECRET: randomBytes(32).toString('hex'), ...s3.env() };
    const dirs = [tempDataDir(), tempDataDir(), tempDataDir()];
    const procs: ServerProcess[] = [];
    const env = (role: string) => ({
      ...shared,
      OPENPAN_ROLE: role,
      OPENPAN_JOB_LEASE: String(LEASE_SECONDS),
      OPENPAN_FETCH_ALLOW: '127.0.0.1/32',
      OPENPAN_HTTP_SEGMENTS: '4',
    });
    try {
      const data = randomBytes(8 * MiB);
      // Slow enough to catch half-way; an ETag lets a worker resume what is on its disk.
      web.resources.set('/big.bin', { bytes: data, rate: 512 * KiB, etag: '"v1"' });
      // The api first: it creates the database; then the workers.
      const api = await spawnServer(dirs[0], env('api'));
      procs.push(api);
      const workers = [await spawnServer(dirs[1], env('worker')), await spawnServer(dirs[2], env('worker'))];
      procs.push(...workers);
      for (const w of workers) assert.equal((await health(w)).role, 'worker');
      // A worker serves no API.
      assert.equal((await fetch(`${workers[0].url}/v1/common/time`)).status, 404);

      const alice = await userAt(api.url, 'alice');
      const stream = await openStream(api.url, alice.token, 'header');
      const parsed = await alice.call('/v1/offline/parseUrl', { url: `${web.origin}/big.bin` });
      const started = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/dl' });
      // The progress measured on a worker is what the api shows, in its pages and its events.
      await waitFor('progress seen through the api', async () => ((await task(alice, started.taskId))?.finishedSize ?? 0) >= MiB);
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
      const done = await waitDone(alice, started.taskId, 60_000);
      assert.equal(done.size, data.length);
      await assertFile(alice, '/dl/big.bin', data);
      assert.deepEqual(
        (await listAll(alice, '/dl')).map((f: { name: string }) => f.name),
        ['big.bin'],
        'one file entry',
      );
      await stream.until((e) => e.event === 'task' && e.data.taskId === started.taskId && e.data.status === 100);
      await stream.close();
      assert.equal((await health(survivor)).status, 'ok');
    } finally {
      for (const p of procs) await p.stop().catch(() => undefined);
      await web.close();
      await s3.close();
      await dropDatabaseFor(databaseKey);
      for (const dir of [databaseKey, ...dirs]) removeDataDir(dir);
    }
  });
});
