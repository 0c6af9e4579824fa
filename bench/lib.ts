// Shared helpers for the benchmark scripts: a real server as a child process, timing, tables.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './figures.js';

export interface BenchServer {
  url: string;
  dataDir: string;
  proc: ChildProcess;
  token: string;
  stop(): Promise<void>;
}

export const BENCH_ADMIN_PASSWORD = 'bench-Passw0rd';

export interface ServerProcessOptions {
  /** Extra node flags before the script, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** `dist` (default): `node dist/main.js`, built by `npm run build`; `src`: `node --import tsx src/main.ts`. */
  entry?: 'dist' | 'src';
  /** A data dir prepared beforehand (removed by stop() like a fresh one). */
  dataDir?: string;
}

/**
 * Starts `node dist/main.js` (run `npm run build` first) on a free port with a fresh data dir.
 * `stop()` sends SIGTERM and, if the process has not exited a minute later, SIGKILL.
 */
export async function startServerProcess(env: Record<string, string> = {}, opts: ServerProcessOptions = {}): Promise<BenchServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'openpan-bench-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const script = opts.entry === 'src' ? ['--import', 'tsx', 'src/main.ts'] : ['dist/main.js'];
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...script], {
    env: {
      ...process.env,
      OPENPAN_PORT: String(port),
      OPENPAN_HOST: '127.0.0.1',
      OPENPAN_DATA_DIR: dataDir,
      OPENPAN_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
      OPENPAN_REGISTRATION: 'open',
      OPENPAN_LOG_LEVEL: 'warn',
      OPENPAN_BT_DHT: '0',
      // The swarms, trackers and web seeds of tests live on loopback, which the address
      // policy refuses by default. Tests of the policy itself set their own allow-list.
      OPENPAN_FETCH_ALLOW: '127.0.0.0/8,::1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  // BENCH_SERVER_STDOUT=<file>: keep the server's stdout (e.g. with --trace-gc in its node flags).
  if (process.env.BENCH_SERVER_STDOUT) proc.stdout!.pipe(createWriteStream(process.env.BENCH_SERVER_STDOUT, { flags: 'a' }));
  await new Promise<void>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) resolve();
    });
  });
  const login = await post(url, '/v1/user/login', { name: 'admin', password: BENCH_ADMIN_PASSWORD });
  return {
    url,
    dataDir,
    proc,
    token: login.token ?? login.result.token,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function post(url: string, path: string, body: unknown, token = ''): Promise<any> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { success: boolean; code: string };
  if (!json.success) throw new Error(`${path}: ${res.status} ${json.code}`);
  return json;
}

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1);
  return sortedMs[Math.max(0, i)];
}

/** Times `n` sequential runs of fn, returning sorted durations in ms. */
export async function timeRuns(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out.sort((a, b) => a - b);
}

export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

export function table(rows: Array<Record<string, string | number>>): string {
  const cols = Object.keys(rows[0] ?? {});
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
  const lines = [`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`];
  for (const r of rows) lines.push(`| ${cols.map((c) => cell(r[c])).join(' | ')} |`);
  return lines.join('\n');
}

/**
 * The reference of the HTTP figures: a bare Fastify route at `path` answering `answer` (the same
 * JSON the openpan route answers), in a process of its own so that both get the same CPU share.
 */
export async function startBareRoute(path: string, answer: unknown): Promise<{ url: string; pid: number; stop(): void }> {
  const proc = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
  import Fastify from 'fastify';
  const app = Fastify();
  const body = ${JSON.stringify(JSON.stringify(answer))};
  app.post(${JSON.stringify(path)}, async (req, reply) => reply.type('application/json').send(body));
  await app.listen({ host: '127.0.0.1', port: 0 });
  console.log('listening ' + app.server.address().port);
`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`bare route exited with ${code}`)));
    proc.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
  });
  return { url: `http://127.0.0.1:${port}${path}`, pid: proc.pid!, stop: () => proc.kill() };
}

/** One autocannon load of one route. */
export interface RouteLoad {
  rps: number;
  /** The serving process's CPU time over the load, per request: far less sensitive to the machine's load than req/s. */
  cpuMsPerRequest: number;
  p50: number;
  p99: number;
  /** Non-2xx answers plus connection errors. */
  failures: number;
}

/** A route to load: where it answers, which process serves it (for its CPU time), its row in the table. */
export interface LoadedRoute {
  label: string;
  url: string;
  pid: number;
}

/** The columns a comparison may print, each summing up one side's rounds (medians, or every round). */
const SUMMARY_COLUMNS = {
  'req/s': (runs: RouteLoad[]) => Math.round(median(runs.map((r) => r.rps))),
  runs: (runs: RouteLoad[]) => runs.map((r) => Math.round(r.rps)).join(' '),
  'CPU ms/req': (runs: RouteLoad[]) => median(runs.map((r) => r.cpuMsPerRequest)),
  'p50 ms': (runs: RouteLoad[]) => median(runs.map((r) => r.p50)),
  'p99 ms': (runs: RouteLoad[]) => median(runs.map((r) => r.p99)),
  'p99 runs': (runs: RouteLoad[]) => runs.map((r) => r.p99).join(' '),
  'non-2xx': (runs: RouteLoad[]) => runs.reduce((n, r) => n + r.failures, 0),
  errors: (runs: RouteLoad[]) => runs.reduce((n, r) => n + r.failures, 0),
} satisfies Record<string, (runs: RouteLoad[]) => string | number>;

export type SummaryColumn = keyof typeof SUMMARY_COLUMNS;

export interface BareComparison {
  /** Printed above the table, once the rounds are over. */
  caption: string;
  openpan: LoadedRoute;
  /** The reference: a bare route answering the same JSON (see `startBareRoute`). */
  bare: LoadedRoute;
  /** The table's columns after the route's label, in order. */
  columns: readonly SummaryColumn[];
  connections: number;
  seconds: number;
  rounds: number;
  /** Length of the unmeasured first load of each route. */
  warmUpSeconds: number;
  /** Sent as a Bearer token with every request. */
  token: string;
  /** The JSON body of every request, or a function making each request's own (e.g. a fresh file name each time). */
  body: string | (() => string);
}

/**
 * An openpan route against the bare route answering the same JSON, both loaded in this run on
 * this machine: a warm-up of each, then `rounds` rounds each loading openpan then the bare route,
 * so that both see the same noise. Prints the caption, a table of both sides and the ratio of
 * their req/s; returns each side's rounds for the figures.
 */
export async function compareWithBareRoute(c: BareComparison): Promise<{ openpan: RouteLoad[]; bare: RouteLoad[] }> {
  // Imported here: qbittorrent.ts loads the swarm helpers, which the other users of lib.ts need not load.
  const { cpuSeconds } = await import('./qbittorrent.js');
  const load = async (route: LoadedRoute, seconds: number): Promise<RouteLoad> => {
    const cpuBefore = cpuSeconds(route.pid);
    const r = await autocannon({
      url: route.url,
      method: 'POST',
      connections: c.connections,
      duration: seconds,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${c.token}` },
      ...requestBody(c.body),
    });
    const cpuMsPerRequest = ((cpuSeconds(route.pid) - cpuBefore) * 1000) / Math.max(1, r.requests.total);
    return { rps: r.requests.average, cpuMsPerRequest, p50: r.latency.p50, p99: r.latency.p99, failures: r.non2xx + r.errors };
  };
  await load(c.openpan, c.warmUpSeconds);
  await load(c.bare, c.warmUpSeconds);
  const openpan: RouteLoad[] = [];
  const bare: RouteLoad[] = [];
  for (let round = 0; round < c.rounds; round++) {
    openpan.push(await load(c.openpan, c.seconds));
    bare.push(await load(c.bare, c.seconds));
  }
  const row = (route: LoadedRoute, runs: RouteLoad[]) => ({
    server: route.label,
    ...Object.fromEntries(c.columns.map((col) => [col, SUMMARY_COLUMNS[col](runs)])),
  });
  console.log(c.caption);
  console.log(table([row(c.openpan, openpan), row(c.bare, bare)]));
  const ratios = openpan.map((r, i) => r.rps / bare[i].rps);
  console.log(`ratio openpan / bare Fastify: median ${median(ratios).toFixed(2)}, runs ${ratios.map((r) => r.toFixed(2)).join(' ')}`);
  return { openpan, bare };
}

/** autocannon's options for the body: a fixed one, or one made for each request. */
function requestBody(body: string | (() => string)): Pick<autocannon.Options, 'body' | 'requests'> {
  if (typeof body === 'string') return { body };
  return { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: body() }) }] };
}
