// The cost of carrying offline progress between processes (OPENPAN_ROLE=api|worker): every
// second each API process reads the `live` column of every leased job (offline.repo.ts,
// leasedJobs, then live-progress.ts, receive) and the task change feed (task-change-feed.ts), and
// each worker writes the `live` text of each job it drives whose figures changed. Measured in
// process on SQLite (WAL, the server's settings), for 10, 100 and 1,000 jobs running at once with
// two active tasks each; "share of a core" is the time spent per second of the 1 s interval.
//
// BENCH_DIALECT=postgres measures on PostgreSQL instead (a throwaway local cluster on a unix socket).
// Usage: node --import tsx bench/offline-progress-poll.ts    BENCH_RUNS=200 polls per size
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDataDir } from '../src/data-dir/index.js';
import { openDatabase } from '../src/db/database.js';
import { JobManifests } from '../src/offline/job-manifests.js';
import { LiveProgress } from '../src/offline/live-progress.js';
import { OfflineRepo } from '../src/offline/offline.repo.js';
import { TaskChangeFeed } from '../src/offline/task-change-feed.js';
import { offlineJobRow } from '../test/support/job-rows.js';
import { startPostgresCluster } from '../test/support/postgres.js';
import { percentile, table, timeRuns } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const SIZES = [10, 100, 1000];

function liveText(taskIds: number[], bytes: number): string {
  return JSON.stringify(Object.fromEntries(taskIds.map((id) => [id, { status: 20, finishedSize: bytes, speed: 1_048_576, peers: 12 }])));
}

const dir = await mkdtemp(join(tmpdir(), 'openpan-bench-poll-'));
ensureDataDir(dir);
const postgres = process.env.BENCH_DIALECT === 'postgres' ? startPostgresCluster() : null;
const db = await openDatabase({ dataDir: dir, databaseUrl: postgres?.adminUrl ?? null });
const repo = new OfflineRepo(db);
const live = new LiveProgress(repo, new JobManifests());
const feed = new TaskChangeFeed(db, 'bench-api');
const rows: Array<Record<string, string | number>> = [];
try {
  let inserted = 0;
  for (const size of SIZES) {
    const now = Date.now();
    for (; inserted < size; inserted++) {
      const id = `job${String(inserted).padStart(6, '0')}`;
      await db
        .insertInto('offline_jobs')
        .values(
          offlineJobRow(id, now, {
            phase: 'downloading',
            temp_dir: `/scratch/${id}`,
            owner: 'bench-worker',
            lease_until: now + 3_600_000,
            live: liveText([inserted * 2, inserted * 2 + 1], 0),
          }),
        )
        .execute();
    }
    // The API's poll: read and take in every leased job's figures.
    const poll = await timeRuns(RUNS, async () => live.receive(await repo.leasedJobs(Date.now())));
    // The feed read when nothing changed (the common case between task events).
    const feedRead = await timeRuns(RUNS, () => feed.read(() => undefined));
    // A worker's publish: every job's figures changed since the last second.
    let round = 1;
    const publish = await timeRuns(Math.max(3, Math.floor(RUNS / 20)), async () => {
      round++;
      for (let i = 0; i < size; i++) {
        const id = `job${String(i).padStart(6, '0')}`;
        await repo.updateJob(id, { live: liveText([i * 2, i * 2 + 1], round * 16_384) });
      }
    });
    rows.push({
      'jobs running': size,
      'api poll p50 ms': percentile(poll, 50),
      'api poll p99 ms': percentile(poll, 99),
      'feed read p50 ms': percentile(feedRead, 50),
      'worker publish p50 ms': percentile(publish, 50),
      'api share of a core': `${((percentile(poll, 50) + percentile(feedRead, 50)) / 10).toFixed(2)} %`,
      'worker share of a core': `${(percentile(publish, 50) / 10).toFixed(2)} %`,
    });
  }
  console.log(`on ${postgres ? 'PostgreSQL' : 'SQLite'}`);
  console.log(table(rows));
} finally {
  await db.destroy();
  postgres?.stop();
  await rm(dir, { recursive: true, force: true });
}
