// How workers share out offline jobs on PostgreSQL: one statement claiming a batch with
// `FOR UPDATE SKIP LOCKED` (offline.repo.ts, claimRunnableJobs: what openpan does) against reading
// the runnable jobs and claiming each by a conditional UPDATE (claimJobLease: `WHERE id = ? AND
// (owner IS NULL OR lease_until < now)`), where workers looking at once race for the same rows. BENCH_JOBS runnable jobs (2,000), 4 and 8 workers each with its own
// connection pool and room for BENCH_CAPACITY jobs (25) per round, claiming at once until every
// job is held. Printed: the time until all are held, claims that lost a race, and statements
// sent. A throwaway local cluster on a unix socket (test/support/postgres.ts).
// Usage: node --import tsx bench/job-claims.ts
import pg from 'pg';
import { openDatabase, type Db } from '../src/db/database.js';
import { claimJobLease, claimRunnableJobs } from '../src/offline/offline.repo.js';
import { offlineJobRow } from '../test/support/job-rows.js';
import { startPostgresCluster } from '../test/support/postgres.js';
import { table } from './lib.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 2000);
const CAPACITY = Number(process.env.BENCH_CAPACITY ?? 25);
const LEASE_MS = 60_000;

interface Outcome {
  ms: number;
  lostRaces: number;
  statements: number;
}

async function insertJobs(db: Db): Promise<void> {
  const now = Date.now();
  const rows = Array.from({ length: JOBS }, (_, i) => offlineJobRow(`job${String(i).padStart(6, '0')}`, now, { created_at: now + i }));
  for (let i = 0; i < rows.length; i += 500)
    await db
      .insertInto('offline_jobs')
      .values(rows.slice(i, i + 500))
      .execute();
}

const RUNNABLE = ['queued', 'downloading', 'importing'];

/** Each worker reads up to CAPACITY runnable jobs, then claims them one by one. */
async function conditionalClaims(workers: Db[]): Promise<Outcome> {
  let lostRaces = 0;
  let statements = 0;
  const started = performance.now();
  await Promise.all(
    workers.map(async (db, w) => {
      for (;;) {
        const now = Date.now();
        statements++;
        const offered = await db
          .selectFrom('offline_jobs')
          .select('id')
          .where((eb) => eb.or([eb('phase', 'in', RUNNABLE), eb('changes', '>', 0)]))
          .where((eb) => eb.or([eb('owner', 'is', null), eb('lease_until', '<', now)]))
          .orderBy('created_at')
          .limit(CAPACITY)
          .execute();
        if (offered.length === 0) return;
        for (const { id } of offered) {
          statements++;
          const won = await claimJobLease(db, id, { owner: `worker-${w}`, now, leaseUntil: now + LEASE_MS, tempDir: `/scratch/${w}/${id}` });
          if (!won) lostRaces++;
        }
      }
    }),
  );
  return { ms: performance.now() - started, lostRaces, statements };
}

/** openpan's way: one statement claims a batch, passing over rows another worker is claiming. */
async function batchClaims(workers: Db[]): Promise<Outcome> {
  let statements = 0;
  const started = performance.now();
  await Promise.all(
    workers.map(async (db, w) => {
      for (;;) {
        const now = Date.now();
        statements++;
        const claimed = await claimRunnableJobs(db, {
          owner: `worker-${w}`,
          now,
          leaseUntil: now + LEASE_MS,
          tempRoot: `/scratch/${w}/`,
          limit: CAPACITY,
          phases: RUNNABLE,
        });
        if (claimed.length === 0) return;
      }
    }),
  );
  return { ms: performance.now() - started, lostRaces: 0, statements };
}

const cluster = startPostgresCluster();
try {
  const rows: Record<string, string | number>[] = [];
  for (const workerCount of [4, 8]) {
    for (const [way, run] of [
      ['read, then a conditional UPDATE per job', conditionalClaims],
      ['a batch per statement, FOR UPDATE SKIP LOCKED (openpan)', batchClaims],
    ] as const) {
      const name = `claims_${workerCount}_${way.startsWith('a batch') ? 'batch' : 'each'}`;
      const admin = new pg.Client({ connectionString: cluster.adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const url = cluster.urlOf(name);
      const workers: Db[] = [];
      for (let i = 0; i < workerCount; i++) workers.push(await openDatabase({ dataDir: '/nonexistent', databaseUrl: url }));
      try {
        await insertJobs(workers[0]);
        const outcome = await run(workers);
        const held = await workers[0]
          .selectFrom('offline_jobs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('owner', 'is not', null)
          .executeTakeFirstOrThrow();
        if (Number(held.n) !== JOBS) throw new Error(`${way}: ${held.n} of ${JOBS} jobs held`);
        rows.push({
          workers: workerCount,
          way,
          'ms to hold all': Math.round(outcome.ms),
          'claims lost to a race': outcome.lostRaces,
          statements: outcome.statements,
        });
      } finally {
        for (const db of workers) await db.destroy();
      }
    }
  }
  console.log(`${JOBS} runnable jobs, workers claiming at most ${CAPACITY} per round, PostgreSQL on a unix socket`);
  console.log(table(rows));
} finally {
  cluster.stop();
}
