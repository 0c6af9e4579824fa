// Requests/s of /v1/user/info under 64 connections, as a ratio to a bare Fastify route that
// returns the same JSON, both measured in this run on this machine: BENCH_ROUNDS rounds (3),
// each loading openpan then the bare route for BENCH_SECONDS (5), so both see the same noise.
// Usage: npm run build && node --import tsx bench/user-info.ts
import autocannon from 'autocannon';
import { median, recordFigure } from './figures.js';
import { cpuSeconds } from './qbittorrent.js';
import { post, startBareRoute, startServerProcess, table } from './lib.js';

const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);

async function load(
  url: string,
  pid: number,
  token: string,
  seconds = SECONDS,
): Promise<{ rps: number; cpuMsPerRequest: number; p99: number; errors: number }> {
  const cpuBefore = cpuSeconds(pid);
  const r = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: '{}',
  });
  const cpuMsPerRequest = ((cpuSeconds(pid) - cpuBefore) * 1000) / Math.max(1, r.requests.total);
  return { rps: r.requests.average, cpuMsPerRequest, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

// BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof": extra node flags for the server.
const server = await startServerProcess({}, { nodeArgs: (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean) });
const sample = await post(server.url, '/v1/user/info', {}, server.token);
const bare = await startBareRoute('/v1/user/info', sample);
try {
  await load(`${server.url}/v1/user/info`, server.proc.pid!, server.token, 3); // warm-up
  await load(bare.url, bare.pid, server.token, 3);
  const openpan: Array<Awaited<ReturnType<typeof load>>> = [];
  const plain: Array<Awaited<ReturnType<typeof load>>> = [];
  for (let round = 0; round < ROUNDS; round++) {
    openpan.push(await load(`${server.url}/v1/user/info`, server.proc.pid!, server.token));
    plain.push(await load(bare.url, bare.pid, server.token));
  }
  const summary = (runs: typeof openpan) => ({
    'req/s': Math.round(median(runs.map((r) => r.rps))),
    runs: runs.map((r) => Math.round(r.rps)).join(' '),
    'CPU ms/req': median(runs.map((r) => r.cpuMsPerRequest)),
    'p99 ms': median(runs.map((r) => r.p99)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
  });
  console.log(`/v1/user/info, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s each (autocannon)`);
  console.log(
    table([
      { server: 'openpan /v1/user/info (token check + database read)', ...summary(openpan) },
      { server: 'bare Fastify route, same JSON', ...summary(plain) },
    ]),
  );
  const ratios = openpan.map((r, i) => r.rps / plain[i].rps);
  console.log(`ratio openpan / bare Fastify: median ${median(ratios).toFixed(2)}, runs ${ratios.map((r) => r.toFixed(2)).join(' ')}`);
  recordFigure({
    bench: 'user-info',
    id: 'cpu',
    label: '/v1/user/info, server CPU per request',
    value: median(openpan.map((r) => r.cpuMsPerRequest)),
    unit: 'CPU ms',
    better: 'lower',
    runs: openpan.map((r) => r.cpuMsPerRequest),
    reference: { label: 'bare Fastify route', value: median(plain.map((r) => r.cpuMsPerRequest)), runs: plain.map((r) => r.cpuMsPerRequest) },
  });
  recordFigure({
    bench: 'user-info',
    id: 'rps',
    label: '/v1/user/info, 64 connections',
    value: median(openpan.map((r) => r.rps)),
    unit: 'req/s',
    better: 'higher',
    runs: openpan.map((r) => r.rps),
    reference: { label: 'bare Fastify route', value: median(plain.map((r) => r.rps)), runs: plain.map((r) => r.rps) },
    goal: { relative: 0.8 },
  });
} finally {
  bare.stop();
  await server.stop();
}
