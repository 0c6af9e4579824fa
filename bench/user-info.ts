// Requests/s of /v1/user/info under 64 connections, as a ratio to a bare Fastify route that
// returns the same JSON, both measured in this run on this machine: BENCH_ROUNDS rounds (3),
// each loading openpan then the bare route for BENCH_SECONDS (5), so both see the same noise.
// Usage: npm run build && node --import tsx bench/user-info.ts
import { median, recordFigure } from './figures.js';
import { compareWithBareRoute, post, startBareRoute, startServerProcess } from './lib.js';

const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);

// BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof": extra node flags for the server.
const server = await startServerProcess({}, { nodeArgs: (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean) });
const sample = await post(server.url, '/v1/user/info', {}, server.token);
const bare = await startBareRoute('/v1/user/info', sample);
try {
  const { openpan, bare: plain } = await compareWithBareRoute({
    caption: `/v1/user/info, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s each (autocannon)`,
    openpan: { label: 'openpan /v1/user/info (token check + database read)', url: `${server.url}/v1/user/info`, pid: server.proc.pid! },
    bare: { label: 'bare Fastify route, same JSON', url: bare.url, pid: bare.pid },
    columns: ['req/s', 'runs', 'CPU ms/req', 'p99 ms', 'errors'],
    connections: CONNECTIONS,
    seconds: SECONDS,
    rounds: ROUNDS,
    warmUpSeconds: 3,
    token: server.token,
    body: '{}',
  });
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
