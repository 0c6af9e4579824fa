// Instant upload ("秒传"): /v1/store/token for content the server already holds, under 64
// connections. Every request creates a new file entry (a fresh name), so this measures the
// real path: token check, hash lookup, space charge, reference count, insert.
// On SQLite and on PostgreSQL (a throwaway local cluster, test/support/postgres.ts) in one run;
// BENCH_DIALECTS=sqlite (or postgres) runs one of them.
// Usage: npm run build && node --import tsx bench/instant-upload.ts
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { startPostgresCluster } from '../test/support/postgres.js';
import { post, startServerProcess, table } from './lib.js';

const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const DIALECTS = (process.env.BENCH_DIALECTS || 'sqlite,postgres').split(',');

const rows: Record<string, string | number>[] = [];
for (const dialect of DIALECTS) rows.push({ database: dialect, ...(await measure(dialect)) });
console.log(`/v1/store/token instant uploads, ${CONNECTIONS} connections, ${SECONDS} s each (autocannon)`);
console.log(table(rows));

async function measure(dialect: string): Promise<Record<string, number>> {
  const cluster = dialect === 'postgres' ? startPostgresCluster() : null;
  try {
    return await measureOn(cluster ? { OPENPAN_DATABASE_URL: cluster.adminUrl } : {});
  } finally {
    cluster?.stop();
  }
}

async function measureOn(env: Record<string, string>): Promise<Record<string, number>> {
  const server = await startServerProcess(env);
  try {
    // Put one small content into the store through the real upload path.
    const data = randomBytes(1000);
    const { etagOf } = await import('../src/store/etag.js');
    const hash = etagOf(data);
    const ticket = (await post(server.url, '/v1/store/token', { name: 'seed.bin', hash, path: '/seed' }, server.token)).result;
    const form = new FormData();
    form.set('token', ticket.token);
    form.set('file', new Blob([data]), 'seed.bin');
    const up = await fetch(`${ticket.uploadUrl}/file/upload`, { method: 'POST', body: form });
    if (up.status !== 200) throw new Error(`seed upload failed: ${up.status}`);

    let n = 0;
    const result = await autocannon({
      url: `${server.url}/v1/store/token`,
      method: 'POST',
      connections: CONNECTIONS,
      duration: SECONDS,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
      requests: [{ setupRequest: (req: any) => ({ ...req, body: JSON.stringify({ name: `copy-${n++}.bin`, hash, path: '/instant' }) }) }],
    });
    const page = (await post(server.url, '/v1/files/page', { path: '/instant', pageSize: 1 }, server.token)).result;
    return {
      'req/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p99 ms': result.latency.p99,
      'non-2xx': result.non2xx,
      'files created': page.totalCount,
    };
  } finally {
    await server.stop();
  }
}
