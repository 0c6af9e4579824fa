// Requests/s of /v1/user/info under 64 connections, as a ratio to a bare Fastify route that
// returns the same JSON, both measured in this run on this machine.
// Usage: npm run build && node --import tsx bench/user-info.ts
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { post, startServerProcess, table } from './lib.js';

const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS || 10);

async function load(url: string, token: string): Promise<{ rps: number; p99: number; errors: number }> {
  const r = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: '{}',
  });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

const server = await startServerProcess();
// The bare route runs in its own process too, so both sides get the same CPU share.
const sample = await post(server.url, '/v1/user/info', {}, server.token);
const bare = Fastify();
bare.post('/v1/user/info', async () => sample);
const { spawn } = await import('node:child_process');
const bareProc = spawn(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `
  import Fastify from 'fastify';
  const app = Fastify();
  const body = ${JSON.stringify(JSON.stringify(sample))};
  app.post('/v1/user/info', async (req, reply) => reply.type('application/json').send(body));
  await app.listen({ host: '127.0.0.1', port: 0 });
  console.log('listening ' + app.server.address().port);
`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const barePort = await new Promise<number>((resolve) =>
  bareProc.stdout!.on('data', (d: Buffer) => {
    const m = /listening (\d+)/.exec(d.toString());
    if (m) resolve(Number(m[1]));
  }),
);
try {
  await load(`${server.url}/v1/user/info`, server.token); // warm-up
  const openpan = await load(`${server.url}/v1/user/info`, server.token);
  const plain = await load(`http://127.0.0.1:${barePort}/v1/user/info`, server.token);
  console.log(`/v1/user/info, ${CONNECTIONS} connections, ${SECONDS} s each (autocannon)`);
  console.log(
    table([
      { server: 'openpan /v1/user/info (token check + database read)', 'req/s': Math.round(openpan.rps), 'p99 ms': openpan.p99, errors: openpan.errors },
      { server: 'bare Fastify route, same JSON', 'req/s': Math.round(plain.rps), 'p99 ms': plain.p99, errors: plain.errors },
    ]),
  );
  console.log(`ratio openpan / bare Fastify: ${(openpan.rps / plain.rps).toFixed(2)}`);
} finally {
  bareProc.kill();
  await server.stop();
}
