// Start-up at scale: a server whose database holds a drive of 1,000,000 entries and 10,000
// unfinished torrent tasks is restarted. Measured: spawn → "listening", then another request's
// latency (`/v1/user/info`, one at a time) while the scheduler resumes the 10,000 jobs, and
// `/v1/offline/page` once it has settled.
// Usage: npm run build && node --import tsx bench/startup.ts [entries] [tasks]
//
// The rows are written straight into the database (as bench/offline-page.ts does): the bench
// measures the restart, not a million uploads. Every job has a real, distinct `.torrent` (one
// 1 MiB file) whose swarm is empty, so each resumed job really starts in the engine (up to
// OPENPAN_BT_MAX_ACTIVE at once) and waits there for peers; the rest wait in the queue.
import SQLite from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBencode } from '../src/torrent/index.js';
import { BENCH_ADMIN_PASSWORD, peakRssMiB, percentile, post, startServerProcess, table } from './lib.js';

const ENTRIES = Number(process.argv[2] ?? 1_000_000);
const TASKS = Number(process.argv[3] ?? 10_000);
const FILES_PER_FOLDER = 1_000;
const WATCH_MS = 30_000;

/** A one-file torrent of 1 MiB with random piece hashes: a distinct info hash, no peers anywhere. */
function emptySwarmTorrent(i: number): { torrent: Buffer; infoHash: string } {
  const info = { length: 1 << 20, name: `Startup.Bench.${i}.bin`, 'piece length': 1 << 18, pieces: randomBytes(20 * 4) };
  const infoBytes = encodeBencode(info);
  return { torrent: encodeBencode({ info }), infoHash: createHash('sha1').update(infoBytes).digest('hex') };
}

function fillDrive(db: SQLite.Database, userId: number, entries: number): number {
  const t0 = Date.now();
  const insertDir =
    db.prepare(`INSERT INTO files (uuid, user_id, parent_id, path, name, name_key, ext, type, size, store_id, mime, depth, ctime, mtime, atime, version, locking)
    VALUES (lower(hex(randomblob(16))), ?, ?, ?, ?, lower(?), '', 1, 0, '', '', ?, 0, 0, 0, 0, 0)`);
  const insertFiles = db.prepare(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
    INSERT INTO files (uuid, user_id, parent_id, path, name, name_key, ext, type, size, store_id, mime, depth, ctime, mtime, atime, version, locking)
    SELECT lower(hex(randomblob(16))), ?, ?, ? || '/IMG_' || printf('%05d', i) || '.jpg', 'IMG_' || printf('%05d', i) || '.jpg',
           'img_' || printf('%05d', i) || '.jpg', '.jpg', 0, 0, '', 'image/jpeg', ?, i, i, i, 0, 0 FROM n`);
  // A photo library: /Photos/<year>/<event>/IMG_nnnnn.jpg, FILES_PER_FOLDER photos per event.
  const events = Math.ceil(entries / (FILES_PER_FOLDER + 1));
  const photos = Number(insertDir.run(userId, 0, '/Photos', 'Photos', 'Photos', 1).lastInsertRowid);
  for (let e = 0; e < events; e += 50) {
    db.transaction(() => {
      const year = `${2000 + Math.floor(e / 50)}`;
      const yearId = Number(insertDir.run(userId, photos, `/Photos/${year}`, year, year, 2).lastInsertRowid);
      for (let k = e; k < Math.min(events, e + 50); k++) {
        const name = `Event ${k}`;
        const path = `/Photos/${year}/${name}`;
        const eventId = Number(insertDir.run(userId, yearId, path, name, name, 3).lastInsertRowid);
        insertFiles.run(FILES_PER_FOLDER, userId, eventId, path, 4);
      }
    })();
  }
  return (Date.now() - t0) / 1000;
}

function addUnfinishedTasks(db: SQLite.Database, userId: number, dataDir: string, tasks: number): number {
  const t0 = Date.now();
  const now = Date.now();
  const job =
    db.prepare(`INSERT INTO offline_jobs (id, type, content_key, info_hash, name, torrent, phase, selected, temp_dir, size, downloaded, attempts, error_code, message, created_at, updated_at, finished_at)
    VALUES (?, 0, ?, ?, ?, ?, 'downloading', '[0]', ?, ?, 0, 0, '', '', ?, ?, 0)`);
  const task =
    db.prepare(`INSERT INTO offline_tasks (task_id, user_id, job_id, type, name, source, info_hash, files, engine_files, save_uuid, save_path, status, error_code, message, size, finished_size, created_at, finished_at)
    VALUES (?, ?, ?, 0, ?, ?, ?, '[0]', '[0]', '', '/Downloads', 0, '', '', ?, 0, ?, 0)`);
  db.transaction(() => {
    for (let i = 0; i < tasks; i++) {
      const { torrent, infoHash } = emptySwarmTorrent(i);
      const jobId = randomBytes(16).toString('hex');
      const name = `Startup.Bench.${i}.bin`;
      job.run(jobId, `bt:${infoHash}`, infoHash, name, torrent, join(dataDir, 'offline', jobId), 1 << 20, now + i, now + i);
      task.run(randomBytes(16).toString('hex'), userId, jobId, name, `etag:bench${i}`, infoHash, 1 << 20, now + i);
    }
  })();
  return (Date.now() - t0) / 1000;
}

const dataDir = mkdtempSync(join(tmpdir(), 'openpan-bench-startup-'));
try {
  // A first start makes the schema and the administrator; then the server stops and the
  // database is filled behind its back.
  const first = await startServerProcess({}, { dataDir });
  const exited = new Promise((r) => first.proc.once('exit', r));
  first.proc.kill('SIGTERM');
  await exited;

  const db = new SQLite(join(dataDir, 'openpan.db'));
  db.pragma('journal_mode = WAL');
  const { id: userId } = db.prepare(`SELECT id FROM users WHERE name = 'admin'`).get() as { id: number };
  db.prepare('UPDATE users SET space_capacity = ? WHERE id = ?').run(2 ** 50, userId);
  const fillS = fillDrive(db, userId, ENTRIES);
  const tasksS = addUnfinishedTasks(db, userId, dataDir, TASKS);
  const entries = (db.prepare('SELECT count(*) AS n FROM files WHERE user_id = ?').get(userId) as { n: number }).n;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  console.log(
    `Prepared ${entries.toLocaleString('en')} entries in ${fillS.toFixed(1)} s and ${TASKS.toLocaleString('en')} unfinished tasks in ${tasksS.toFixed(1)} s.`,
  );

  // The restart. The server is spawned here (not through startServerProcess) to time the
  // moment it prints that it listens.
  const port = 20000 + Math.floor(Math.random() * 20000);
  const t0 = performance.now();
  const proc = spawn(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      OPENPAN_PORT: String(port),
      OPENPAN_HOST: '127.0.0.1',
      OPENPAN_DATA_DIR: dataDir,
      OPENPAN_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
      OPENPAN_LOG_LEVEL: 'warn',
      OPENPAN_BT_DHT: '0',
      OPENPAN_FETCH_ALLOW: '127.0.0.0/8,::1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const listeningMs = await new Promise<number>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) resolve(performance.now() - t0);
    });
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    const login = await post(url, '/v1/user/login', { name: 'admin', password: BENCH_ADMIN_PASSWORD });
    const token: string = login.token ?? login.result.token;
    const firstAnswerMs = performance.now() - t0;

    // Another request's latency while the jobs resume, one request at a time.
    const latencies: number[] = [];
    let failed = 0;
    const watchEnd = performance.now() + WATCH_MS;
    while (performance.now() < watchEnd) {
      const s = performance.now();
      const r = await post(url, '/v1/user/info', {}, token).catch(() => null);
      if (r?.success !== true) failed++;
      latencies.push(performance.now() - s);
    }
    latencies.sort((a, b) => a - b);

    const pageMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const s = performance.now();
      const page = await post(url, '/v1/offline/page', { page: 1 + (i % 50), pageSize: 100, order: 1 }, token);
      if (page.result?.totalCount !== TASKS) throw new Error(`the task list counts ${page.result?.totalCount}, not ${TASKS}`);
      pageMs.push(performance.now() - s);
    }
    pageMs.sort((a, b) => a - b);
    const running = (await post(url, '/v1/offline/page', { page: 1, pageSize: 100, order: 1 }, token)).result.list.filter(
      (t: { status: number }) => t.status >= 0 && t.status < 100,
    ).length;

    console.log(`\nRestart with ${entries.toLocaleString('en')} entries and ${TASKS.toLocaleString('en')} unfinished torrent tasks (empty swarms, DHT off)`);
    console.log(
      table([
        { what: 'spawn → "listening"', figure: `${(listeningMs / 1000).toFixed(2)} s` },
        { what: 'spawn → first answer (login)', figure: `${(firstAnswerMs / 1000).toFixed(2)} s` },
        {
          what: `/v1/user/info, one at a time, for ${WATCH_MS / 1000} s after the login (${latencies.length} requests, ${failed} failed)`,
          figure: `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(0)} ms`,
        },
        {
          what: `/v1/offline/page (pageSize 100, pages 1–50), 200 requests after that`,
          figure: `p50 ${percentile(pageMs, 50).toFixed(1)} ms, p99 ${percentile(pageMs, 99).toFixed(1)} ms (${running} of page 1's tasks unfinished)`,
        },
        { what: 'peak RSS of the server', figure: `${peakRssMiB(proc.pid as number).toFixed(0)} MiB` },
      ]),
    );
    console.log(
      `\nLoad average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} on ${cpus().length} cores.`,
    );
  } finally {
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    await gone;
    clearTimeout(timer);
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
