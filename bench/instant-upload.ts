// Instant upload ("秒传"): /v1/store/token for content the server already holds, under 64
// connections. Every request creates a new file entry (a fresh name), so this measures the
// real path: token check, hash lookup, space charge, reference count, insert. The reference is
// a bare Fastify route answering the same JSON, loaded in the same run: BENCH_ROUNDS rounds (3)
// of BENCH_SECONDS (5) each, openpan then the bare route. BENCH_DIALECT=postgres runs openpan on
// PostgreSQL (a throwaway local cluster, test/support/postgres.ts) instead of SQLite; the
// figures of docs/benchmarks.json are SQLite's.
// Usage: npm run build && node --import tsx bench/instant-upload.ts
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { median, recordFigure } from './figures.js';
import { cpuSeconds } from './qbittorrent.js';
import { startPostgresCluster } from '../test/support/postgres.js';
import { post, startBareRoute, startServerProcess, table } from './lib.js';

const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);

interface Load {
  rps: number;
  /** The server process's CPU time over the load, per request: far less sensitive to the machine's load than req/s. */
  cpuMsPerRequest: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

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
  const load = async (url: string, pid: number, seconds = SECONDS): Promise<Load> => {
    const cpuBefore = cpuSeconds(pid);
    const r = await autocannon({
      url,
      method: 'POST',
      connections: CONNECTIONS,
      duration: seconds,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
      requests: [{ setupRequest: (req: any) => ({ ...req, body: JSON.stringify({ name: `copy-${n++}.bin`, hash, path: '/instant' }) }) }],
    });
    const cpuMsPerRequest = ((cpuSeconds(pid) - cpuBefore) * 1000) / Math.max(1, r.requests.total);
    return { rps: r.requests.average, cpuMsPerRequest, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
  };
  try {
    await load(`${server.url}/v1/store/token`, server.proc.pid!, 2); // warm-up
    await load(bare.url, bare.pid, 2);
    const openpan: Load[] = [];
    const plain: Load[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      openpan.push(await load(`${server.url}/v1/store/token`, server.proc.pid!));
      plain.push(await load(bare.url, bare.pid));
    }
    const page = (await post(server.url, '/v1/files/page', { path: '/instant', pageSize: 1 }, server.token)).result;
    const summary = (runs: Load[]) => ({
      'req/s': Math.round(median(runs.map((r) => r.rps))),
      runs: runs.map((r) => Math.round(r.rps)).join(' '),
      'CPU ms/req': median(runs.map((r) => r.cpuMsPerRequest)),
      'p50 ms': median(runs.map((r) => r.p50)),
      'p99 ms': median(runs.map((r) => r.p99)),
      'p99 runs': runs.map((r) => r.p99).join(' '),
      'non-2xx': runs.reduce((s, r) => s + r.non2xx + r.errors, 0),
    });
    console.log(
      `/v1/store/token instant uploads on ${postgres ? 'PostgreSQL' : 'SQLite'}, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s each (autocannon)`,
    );
    console.log(
      table([
        { server: 'openpan /v1/store/token (a new file each time)', ...summary(openpan) },
        { server: 'bare Fastify route, same JSON', ...summary(plain) },
      ]),
    );
    const ratios = openpan.map((r, i) => r.rps / plain[i].rps);
    console.log(`ratio openpan / bare Fastify: median ${median(ratios).toFixed(2)}, runs ${ratios.map((r) => r.toFixed(2)).join(' ')}`);
    console.log(`files created: ${page.totalCount}`);
    if (!postgres) recordFigures(openpan, plain);
  } finally {
    bare.stop();
  }
} finally {
  await server.stop();
  postgres?.stop();
}

function recordFigures(openpan: Load[], plain: Load[]): void {
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
