// Download workers side by side: BENCH_TASKS torrent tasks (200) of BENCH_TASK_KIB each (1024),
// started at once through an API process, on a cluster of 1 then 2 workers (OPENPAN_ROLE=worker,
// 5 downloads at once each). Everything on this machine and on loopback: a throwaway PostgreSQL
// cluster, s3rver for the bucket, one aria2c seeding every torrent, one tracker. Each run gets a
// database and a bucket prefix of its own, so no content is known in advance. Printed: the wall
// time from the first start to the last task done, and the workers' CPU.
//
// This machine has 2 cores for everything: the workers, the API process, PostgreSQL, s3rver and
// aria2c. The figure says how the work spreads over workers, not what two machines would give.
// Usage: npm run build && node --import tsx bench/workers.ts     (needs aria2c and postgresql)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { recordFigure } from './figures.js';
import { table } from './lib.js';
import { cpuSeconds } from './qbittorrent.js';
import { uploadTorrent, userAt } from '../test/support/offline-e2e.js';
import { startPostgresCluster } from '../test/support/postgres.js';
import { spawnServer, tempDataDir, removeDataDir, type ServerProcess } from '../test/support/process-server.js';
import { startS3 } from '../test/support/s3-server.js';
import type { Client } from '../test/support/server.js';
import { makeTorrent, startAria2SeederForAll, startTracker, writePayload, type BuiltTorrent, type Seeder, type Tracker } from '../test/support/swarm.js';
import { bytes } from '../test/support/upload.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 200);
const TASK_BYTES = Number(process.env.BENCH_TASK_KIB ?? 1024) * 1024;
const PER_WORKER = 5;
const TIMEOUT_MS = 20 * 60_000;

/**
 * One aria2c seeding every torrent from `dir`, all at once and until the bench stops it: both
 * runs together may outlast the seeders' default time, and a file open per torrent is more than
 * aria2c's default of 100.
 */
async function seedAll(torrents: BuiltTorrent[], dir: string, tracker: Tracker): Promise<Seeder> {
  for (const t of torrents) await writePayload(dir, t);
  return startAria2SeederForAll(torrents, dir, tracker, { seedMinutes: Infinity, maxOpenFiles: 1000, readyTimeoutMs: 300_000 });
}

interface Run {
  workers: number;
  wallMs: number;
  workerCpuS: number;
  apiCpuS: number;
  files: number;
}

async function clusterRun(
  workerCount: number,
  torrents: BuiltTorrent[],
  postgres: ReturnType<typeof startPostgresCluster>,
  s3Env: Record<string, string>,
): Promise<Run> {
  const database = `bench_workers_${workerCount}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: postgres.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const shared = { OPENPAN_DATABASE_URL: postgres.urlOf(database), OPENPAN_SECRET: randomBytes(32).toString('hex'), ...s3Env, OPENPAN_LOG_LEVEL: 'error' };
  const dirs: string[] = [];
  const procs: ServerProcess[] = [];
  const start = async (role: string) => {
    const dir = tempDataDir();
    dirs.push(dir);
    const proc = await spawnServer(dir, {
      ...shared,
      OPENPAN_ROLE: role,
      OPENPAN_BT_MAX_ACTIVE: String(PER_WORKER),
      OPENPAN_JOB_LEASE: '6',
      OPENPAN_OFFLINE_DAILY_TASKS: '0',
      OPENPAN_OFFLINE_MAX_RUNNING: '0',
    });
    procs.push(proc);
    return proc;
  };
  try {
    const api = await start('api');
    const workers: ServerProcess[] = [];
    for (let i = 0; i < workerCount; i++) workers.push(await start('worker'));
    const user = await userAt(api.url, 'bench');
    const hashes: string[] = [];
    for (const t of torrents) {
      const file = await uploadTorrent(user, `${t.name}.torrent`, t.torrent);
      hashes.push((await user.call('/v1/offline/parseTorrent', { uuid: file.uuid })).taskHash);
    }
    const cpuBefore = workers.map((w) => cpuSeconds(w.proc.pid!));
    const apiBefore = cpuSeconds(api.proc.pid!);
    const started = Date.now();
    for (const taskHash of hashes) await user.call('/v1/offline/start', { taskHash, savePath: '/bench' });
    await waitAllDone(user, torrents.length);
    const wallMs = Date.now() - started;
    const workerCpuS = workers.reduce((sum, w, i) => sum + cpuSeconds(w.proc.pid!) - cpuBefore[i], 0);
    const files = (await user.call('/v1/files/page', { path: '/bench', pageSize: 1 })).totalCount as number;
    return { workers: workerCount, wallMs, workerCpuS, apiCpuS: cpuSeconds(api.proc.pid!) - apiBefore, files };
  } finally {
    for (const p of procs) await p.stop().catch(() => undefined);
    for (const d of dirs) removeDataDir(d);
  }
}

async function waitAllDone(user: Client, total: number): Promise<void> {
  const until = Date.now() + TIMEOUT_MS;
  for (;;) {
    let done = 0;
    for (let page = 1; (page - 1) * 100 < total; page++) {
      const { list } = await user.call('/v1/offline/page', { page, pageSize: 100 });
      for (const t of list as Array<{ status: number; message: string }>) {
        if (t.status === -1) throw new Error(`a task failed: ${t.message}`);
        if (t.status === 100) done++;
      }
    }
    if (done === total) return;
    if (Date.now() > until) throw new Error(`${done} of ${total} tasks done after ${TIMEOUT_MS / 60_000} min`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const seedDir = mkdtempSync(join(tmpdir(), 'openpan-bench-workers-'));
const tracker = await startTracker({ intervalMs: 1000 });
const torrents = Array.from({ length: TASKS }, (_, i) =>
  makeTorrent([{ path: `part-${i}.bin`, bytes: bytes(TASK_BYTES, 1000 + i) }], { announce: [tracker.httpUrl], name: `task-${i}`, pieceLength: 256 * 1024 }),
);
const seeder = await seedAll(torrents, seedDir, tracker);
const postgres = startPostgresCluster();
const s3 = await startS3();
try {
  const runs: Run[] = [];
  for (const n of [1, 2]) runs.push(await clusterRun(n, torrents, postgres, s3.env(`run-${n}`)));
  console.log(`${TASKS} torrent tasks of ${TASK_BYTES / 1024} KiB, started at once through one API process; ${PER_WORKER} downloads at once per worker`);
  console.log(
    table(
      runs.map((r) => ({
        workers: r.workers,
        'wall s': (r.wallMs / 1000).toFixed(1),
        'tasks/s': (TASKS / (r.wallMs / 1000)).toFixed(1),
        'workers CPU s': r.workerCpuS.toFixed(1),
        'api CPU s': r.apiCpuS.toFixed(1),
        files: r.files,
      })),
    ),
  );
  const speedup = runs[0].wallMs / runs[1].wallMs;
  console.log(`2 workers vs 1: ${speedup.toFixed(2)}× (2.00× would be perfect scaling)`);
  recordFigure({
    bench: 'workers',
    id: 'wall',
    label: `${TASKS} torrent tasks on 2 workers (one 2-core machine)`,
    value: runs[1].wallMs / 1000,
    unit: 's',
    better: 'lower',
    reference: { label: '1 worker', value: runs[0].wallMs / 1000 },
    goal: { relative: 2 },
  });
} finally {
  await seeder.close();
  await s3.close();
  postgres.stop();
  await tracker.close();
  rmSync(seedDir, { recursive: true, force: true });
}
