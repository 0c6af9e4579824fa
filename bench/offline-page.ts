// /v1/offline/page latency with 100,000 offline tasks for one user, 1,000 of them active.
// Usage: npm run build && node --import tsx bench/offline-page.ts
//
// The rows are written straight into the database (WAL lets a second connection write): the
// bench measures the task list, not 100,000 downloads. Each task has its own system task (job).
//
// What "active" means here, honestly: 1,000 tasks (the newest) have the stored status 0
// (active), so the page derives their live status through the scheduler like any running task
// (it shows them as queued). No engine runs them: their jobs are marked `done`, the one phase
// the scheduler's watchdog never picks up, so it does not try to start 1,000 real downloads
// (it would, for jobs in `downloading`, every 10 s). What the page does for such a task is the
// same lookup it does for a downloading one (the scheduler's in-memory state, no extra SQL);
// what is NOT measured is a process that also polls 1,000 live engine jobs every second and
// persists their progress every few seconds.
import SQLite from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { percentile, post, startServerProcess, table, timeRuns } from './lib.js';

/** User + system CPU time of a process so far, in ms (Linux; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const TASKS = 100_000;
const ACTIVE = 1_000;
const RUNS = 300;
const PAGE_SIZE = 100;

const server = await startServerProcess();
try {
  const db = new SQLite(join(server.dataDir, 'openpan.db'));
  const { id: userId } = db.prepare(`SELECT id FROM users WHERE name = 'admin'`).get() as { id: number };
  const now = Date.now();
  db.transaction(() => {
    db.prepare(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
      INSERT INTO offline_jobs (id, type, content_key, info_hash, name, torrent, phase, selected, temp_dir, size, downloaded, attempts, error_code, message, created_at, updated_at, finished_at)
      SELECT printf('%032x', i), 0, 'bt:' || printf('%040x', i), printf('%040x', i), 'Torrent ' || i, NULL, 'done', '[0]', '/nonexistent/' || i,
             i * 1000, i * 1000, 0, '', '', ? + i, ? + i, ? + i FROM n`).run(TASKS, now, now, now);
    db.prepare(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
      INSERT INTO offline_tasks (task_id, user_id, job_id, type, name, source, info_hash, files, engine_files, save_uuid, save_path, status, error_code, message, size, finished_size, created_at, finished_at)
      SELECT lower(hex(randomblob(16))), ?, printf('%032x', i), 0, 'Some.Linux.Distribution.' || i || '.x86_64.iso', 'etag:Fk' || printf('%026d', i), printf('%040x', i),
             '[0,1,2]', '[0,1,2]', '', '/downloads', CASE WHEN i > ? THEN 0 ELSE 100 END, '', '', i * 1000,
             CASE WHEN i > ? THEN i * 500 ELSE i * 1000 END, ? + i, CASE WHEN i > ? THEN 0 ELSE ? + i END FROM n`).run(
      TASKS,
      userId,
      TASKS - ACTIVE,
      TASKS - ACTIVE,
      now,
      TASKS - ACTIVE,
      now,
    );
  })();
  // The statements the repository runs for a deep page (see OfflineRepo.userTasks / countUserTasks).
  const plans = [
    ['page', `SELECT * FROM offline_tasks WHERE id IN (SELECT id FROM offline_tasks WHERE user_id = ? ORDER BY id ASC LIMIT 100 OFFSET 0) ORDER BY id DESC`],
    ['count', `SELECT tasks FROM offline_task_counts WHERE user_id = ?`],
  ].map(([what, q]) => `${what}: ${(db.prepare(`EXPLAIN QUERY PLAN ${q}`).all(userId) as Array<{ detail: string }>).map((r) => r.detail).join('; ')}`);
  db.close();

  const first = (await post(server.url, '/v1/offline/page', { page: 1, pageSize: PAGE_SIZE, order: 1 }, server.token)).result;
  if (first.totalCount !== TASKS) throw new Error(`expected ${TASKS} tasks, the page counts ${first.totalCount}`);
  const activeShown = first.list.filter((t: { status: number }) => t.status >= 0 && t.status < 100).length;

  const rows = [];
  for (const [label, body] of [
    ['page 1, newest first (order 1)', { page: 1, pageSize: PAGE_SIZE, order: 1 }],
    ['page 1,000, newest first (order 1)', { page: 1000, pageSize: PAGE_SIZE, order: 1 }],
    ['page 1, oldest first (order -1)', { page: 1, pageSize: PAGE_SIZE, order: -1 }],
    ['page 1,000, oldest first (order -1)', { page: 1000, pageSize: PAGE_SIZE, order: -1 }],
  ] as const) {
    await timeRuns(20, () => post(server.url, '/v1/offline/page', body, server.token)); // warm-up
    const cpu0 = cpuMs(server.proc.pid as number);
    const ms = await timeRuns(RUNS, () => post(server.url, '/v1/offline/page', body, server.token));
    const cpu = (cpuMs(server.proc.pid as number) - cpu0) / RUNS;
    rows.push({ query: label, 'p50 ms': percentile(ms, 50), 'p99 ms': percentile(ms, 99), 'max ms': ms[ms.length - 1], 'server CPU ms/req': cpu });
  }
  console.log(
    `/v1/offline/page, ${TASKS.toLocaleString('en')} tasks of one user (${ACTIVE.toLocaleString('en')} active; ${activeShown} of them on page 1), pageSize ${PAGE_SIZE}, ${RUNS} sequential requests each`,
  );
  console.log(table(rows));
  console.log(
    "Latency is wall time at the client; server CPU ms/req is the server process's CPU time over the run / requests, which machine load inflates far less.",
  );
  console.log(
    `\nLoad average during the run: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores.`,
  );
  console.log(`\nQuery plans:\n${plans.map((p) => `- ${p}`).join('\n')}`);
} finally {
  await server.stop();
}
