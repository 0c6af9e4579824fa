// Instant upload ("秒传"): /v1/store/token for content the server already holds, under 64
// connections. Every request creates a new file entry (a fresh name), so this measures the
// real path: token check, hash lookup, space charge, reference count, insert. The reference is
// a bare Fastify route answering the same JSON, loaded in the same run: BENCH_ROUNDS rounds (3)
// of BENCH_SECONDS (5) each, openpan then the bare route. BENCH_DIALECT=postgres runs openpan on
// PostgreSQL (a throwaway local cluster, test/support/postgres.ts) instead of SQLite; the
// figures of docs/benchmarks.json are SQLite's.
// Usage: npm run build && node --import tsx bench/instant-upload.ts
import { randomBytes } from 'node:crypto';
import { median, recordFigure } from './figures.js';
import { startPostgresCluster } from '../test/support/postgres.js';
import { compareWithBareRoute, post, startBareRoute, startServerProcess, type RouteLoad } from './lib.js';

const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);

// BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof": extra node flags for the server.
const postgres = process.env.BENCH_DIALECT === 'postgres' ? startPostgresCluster() : null;
const server = await startServerProcess(postgres ? { OPENPAN_DATABASE_URL: postgres.adminUrl } : {}, {
  nodeArgs: (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
});
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
  const sample = await post(server.url, '/v1/store/token', { name: 'sample.bin', hash, path: '/seed' }, server.token);
  const bare = await startBareRoute('/v1/store/token', sample);

  let n = 0;
  try {
    const { openpan, bare: plain } = await compareWithBareRoute({
      caption: `/v1/store/token instant uploads on ${postgres ? 'PostgreSQL' : 'SQLite'}, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s each (autocannon)`,
      openpan: { label: 'openpan /v1/store/token (a new file each time)', url: `${server.url}/v1/store/token`, pid: server.proc.pid! },
      bare: { label: 'bare Fastify route, same JSON', url: bare.url, pid: bare.pid },
      columns: ['req/s', 'runs', 'CPU ms/req', 'p50 ms', 'p99 ms', 'p99 runs', 'non-2xx'],
      connections: CONNECTIONS,
      seconds: SECONDS,
      rounds: ROUNDS,
      warmUpSeconds: 2,
      token: server.token,
      body: () => JSON.stringify({ name: `copy-${n++}.bin`, hash, path: '/instant' }),
    });
    const page = (await post(server.url, '/v1/files/page', { path: '/instant', pageSize: 1 }, server.token)).result;
    console.log(`files created: ${page.totalCount}`);
    if (!postgres) recordFigures(openpan, plain);
  } finally {
    bare.stop();
  }
} finally {
  await server.stop();
  postgres?.stop();
}

function recordFigures(openpan: RouteLoad[], plain: RouteLoad[]): void {
  recordFigure({
    bench: 'instant-upload',
    id: 'cpu',
    label: 'instant upload, server CPU per request',
    value: median(openpan.map((r) => r.cpuMsPerRequest)),
    unit: 'CPU ms',
    better: 'lower',
    runs: openpan.map((r) => r.cpuMsPerRequest),
    reference: { label: 'bare Fastify route', value: median(plain.map((r) => r.cpuMsPerRequest)), runs: plain.map((r) => r.cpuMsPerRequest) },
  });
  recordFigure({
    bench: 'instant-upload',
    id: 'rps',
    label: 'instant upload (/v1/store/token), 64 connections',
    value: median(openpan.map((r) => r.rps)),
    unit: 'req/s',
    better: 'higher',
    runs: openpan.map((r) => r.rps),
    reference: { label: 'bare Fastify route', value: median(plain.map((r) => r.rps)), runs: plain.map((r) => r.rps) },
    goal: { relative: 0.3 },
  });
  recordFigure({
    bench: 'instant-upload',
    id: 'p99',
    label: 'instant upload p99, 64 connections',
    value: median(openpan.map((r) => r.p99)),
    unit: 'ms',
    better: 'lower',
    runs: openpan.map((r) => r.p99),
    goal: { value: 50 },
  });
}
