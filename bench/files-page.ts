// /v1/files/page latency on a folder of 100,000 entries: first page and page 1,000.
// BENCH_DIALECT=postgres: on PostgreSQL (a throwaway local cluster, test/support/postgres.ts).
// Usage: npm run build && node --import tsx bench/files-page.ts
import SQLite from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { startPostgresCluster } from '../test/support/postgres.js';
import { percentile, post, startServerProcess, table, timeRuns } from './lib.js';

const ENTRIES = 100_000;
const RUNS = 500;
const POSTGRES = process.env.BENCH_DIALECT === 'postgres';

const cluster = POSTGRES ? startPostgresCluster() : null;
const server = await startServerProcess(cluster ? { OPENPAN_DATABASE_URL: cluster.adminUrl } : {});
try {
  const dir = (await post(server.url, '/v1/files/createDirectory', { path: '/bench/big' }, server.token)).result;
  // Fill the folder directly in the database (SQLite's WAL lets a second connection write): the
  // bench measures listing, not 100,000 uploads.
  if (cluster) {
    const client = new pg.Client({ connectionString: cluster.adminUrl });
    await client.connect();
    const parent = (await client.query('SELECT id, user_id FROM files WHERE uuid = $1', [dir.uuid])).rows[0] as { id: number; user_id: number };
    await client.query(
      `INSERT INTO files (uuid, user_id, parent_id, path, name, ext, type, size, store_id, mime, depth, ctime, mtime, atime, version, locking)
       SELECT replace(gen_random_uuid()::text, '-', ''), $2, $3, '/bench/big/file-' || lpad(i::text, 6, '0') || '.bin',
              'file-' || lpad(i::text, 6, '0') || '.bin', '.bin',
              CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END, i, '', 'application/octet-stream', 3, i, i, i, 0, 0
       FROM generate_series(1, $1::int) AS i`,
      [ENTRIES, parent.user_id, parent.id],
    );
    await client.query('ANALYZE files');
    await client.end();
  } else {
    const db = new SQLite(join(server.dataDir, 'openpan.db'));
    const parent = db.prepare('SELECT id, user_id FROM files WHERE uuid = ?').get(dir.uuid) as { id: number; user_id: number };
    db.prepare(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
      INSERT INTO files (uuid, user_id, parent_id, path, name, ext, type, size, store_id, mime, depth, ctime, mtime, atime, version, locking)
      SELECT lower(hex(randomblob(16))), ?, ?, '/bench/big/file-' || printf('%06d', i) || '.bin', 'file-' || printf('%06d', i) || '.bin', '.bin',
             CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END, i, '', 'application/octet-stream', 3, i, i, i, 0, 0 FROM n`).run(ENTRIES, parent.user_id, parent.id);
    db.close();
  }

  const rows = [];
  for (const [label, body] of [
    ['page 1, by name', { path: '/bench/big', page: 1, pageSize: 100 }],
    ['page 1,000, by name', { path: '/bench/big', page: 1000, pageSize: 100 }],
    ['page 1, by size desc', { path: '/bench/big', page: 1, pageSize: 100, orderBy: 'size desc' }],
    ['page 1,000, by size desc', { path: '/bench/big', page: 1000, pageSize: 100, orderBy: 'size desc' }],
  ] as const) {
    await timeRuns(20, () => post(server.url, '/v1/files/page', body, server.token)); // warm-up
    const ms = await timeRuns(RUNS, () => post(server.url, '/v1/files/page', body, server.token));
    rows.push({ query: label, 'p50 ms': percentile(ms, 50), 'p99 ms': percentile(ms, 99) });
  }
  console.log(`/v1/files/page on a folder of ${ENTRIES.toLocaleString('en')} entries, ${RUNS} sequential requests each, ${POSTGRES ? 'PostgreSQL' : 'SQLite'}`);
  console.log(table(rows));
} finally {
  await server.stop();
  cluster?.stop();
}
