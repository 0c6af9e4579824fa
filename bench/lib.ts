// Shared helpers for the benchmark scripts: a real server as a child process, timing, tables.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
