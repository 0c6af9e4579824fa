// The load scenario shared by test/reliability/load.test.ts (short) and bench/load.ts (long):
// users start torrent tasks on one local swarm while many small form uploads are in flight, and
// /v1/files/page latency and the server's RSS are sampled throughout. It returns what happened;
// the callers decide what to assert or print.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeDataDir, spawnServer, tempDataDir, type ServerProcess } from './process-server.js';
import { Client } from './server.js';
import { makeTorrent, outsideClientOptions, startTracker, writePayload, type BuiltTorrent, type Tracker } from './swarm.js';
import { bytes, etagOf } from './upload.js';

const require = createRequire(import.meta.url);
const WebTorrent = require('webtorrent') as new (
  opts: object,
) => {
  add(torrent: Buffer, opts: { path: string }, cb: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): void;
  destroy(cb: () => void): void;
};

export interface LoadOptions {
  users: number;
  tasksPerUser: number;
  /** Distinct torrents the tasks are spread over (several users start each one). */
  torrents: number;
  torrentBytes: number;
  uploads: number;
  uploadMaxBytes: number;
  log?: (line: string) => void;
  /**
   * Aborted when the caller gives up (the test's timeout): the server and the prober are killed
   * at once, every wait ends, and the teardown runs, so that nothing is left to keep the process
   * alive — a stuck run fails instead of hanging CI.
   */
  signal?: AbortSignal;
}

export interface LoadResult {
  tasks: number;
  tasksDone: number;
  /** Task ids that did not end done, with their status and error. */
  tasksNotDone: string[];
  uploadsOk: number;
  uploadsFailed: string[];
  /** Files (uploaded or downloaded) missing or with other bytes than sent. */
  wrongFiles: string[];
  /** Answers with a 5xx status, from any request. */
  serverErrors: string[];
  /** Teardown trouble: a server that did not exit within SERVER_STOP_MS of SIGTERM (then killed). */
  shutdown: string[];
  pageMs: { count: number; p50: number; p99: number; max: number };
  rssMiB: { idle: number; peak: number };
  seconds: { uploads: number; tasks: number; total: number };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * How long a stopping server may take to exit after SIGTERM before it is killed: usually well
 * under a second, but up to the keep-alive timeout (72 s) when a response was still going out as
 * the close began (src/app.ts closes the idle connections once, at the start). Longer is stuck.
 */
const SERVER_STOP_MS = 90_000;

/** page-prober.ts in a child process; stop() ends it and returns its samples (ms); kill() ends it now. */
function startPageProber(url: string, token: string, path: string): { stop(): Promise<number[]>; kill(): void } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'page-prober.ts'), url, token, path], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  return {
    async stop() {
      child.stdin.end();
      await exited;
      return JSON.parse(out || '[]') as number[];
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** SIGTERM, then SIGKILL if the server has not exited within `ms`; says what happened when it had to kill. */
async function stopServer(server: ServerProcess, ms: number): Promise<string | null> {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) return null;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((res) => (timer = setTimeout(() => res('late'), ms)));
  const outcome = await Promise.race([server.stop().then(() => 'stopped' as const), late]);
  clearTimeout(timer);
  if (outcome === 'stopped') return null;
  await server.kill9();
  return `the server had not exited ${ms / 1000} s after SIGTERM: killed`;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

type Seeder = InstanceType<typeof WebTorrent>;

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  o.signal?.throwIfAborted();
  const tracker = await startTracker();
  const seedDir = mkdtempSync(join(tmpdir(), 'openpan-load-seed-'));
  // One seeding client for the whole swarm.
  const seeder = new WebTorrent(outsideClientOptions());
  seeder.on('error', () => {});
  // Whatever fails (the server not starting included), nothing of the swarm is left to keep the process alive.
  try {
    return await loadSwarm(o, tracker, seeder, seedDir);
  } finally {
    await new Promise<void>((res) => seeder.destroy(() => res()));
    await tracker.close();
    rmSync(seedDir, { recursive: true, force: true });
  }
}

async function loadSwarm(o: LoadOptions, tracker: Tracker, seeder: Seeder, seedDir: string): Promise<LoadResult> {
  const log = o.log ?? (() => {});
  const signal = o.signal;
  const built: BuiltTorrent[] = [];
  for (let i = 0; i < o.torrents; i++) {
    built.push(
      makeTorrent([{ path: `payload-${i}.bin`, bytes: bytes(o.torrentBytes + i, 5000 + i) }], { announce: [tracker.httpUrl], pieceLength: 64 * 1024 }),
    );
  }
  for (const b of built) {
    await writePayload(seedDir, b);
    await new Promise<void>((res) => seeder.add(b.torrent, { path: seedDir }, () => res()));
  }
  for (const b of built) await tracker.waitForSeeders(b.infoHash);

  const dataDir = tempDataDir();
  const server = await spawnServer(dataDir, { OPENPAN_LOG_LEVEL: 'error' });
  const serverErrors: string[] = [];
  const shutdown: string[] = [];
  let prober: ReturnType<typeof startPageProber> | null = null;
  let rssTimer: NodeJS.Timeout | undefined;
  // Given up on: kill what the process waits for, so every request and wait below fails at once.
  const onAbort = (): void => {
    server.proc.kill('SIGKILL');
    prober?.kill();
    clearInterval(rssTimer);
    shutdown.push('given up (the test timed out): the server was killed');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const call = async (c: Client, path: string, body: unknown) => {
    const r = await c.raw(path, body);
    if (r.status >= 500) serverErrors.push(`${path} ${r.status} ${r.json.code}`);
    if (r.status !== 200) throw new Error(`${path} → ${r.status} ${r.json.code}: ${r.json.message}`);
    return r.json.result;
  };
  try {
    const pid = server.proc.pid!;
    const idle = rssMiB(pid);
    let peak = idle;
    const users: Client[] = [];
    for (let u = 0; u < o.users; u++) {
      await new Client(server.url).call('/v1/user/register', { name: `load${u}`, password: 'load-Passw0rd' });
      users.push(await new Client(server.url).login(`load${u}`, 'load-Passw0rd'));
    }
    await call(users[0], '/v1/files/createDirectory', { path: '/probe' });

    // Samplers: page latency on a folder that fills with uploads (from a process of its own),
    // RSS of the server.
    prober = startPageProber(server.url, users[0].token, '/up');
    rssTimer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 200);
    rssTimer.unref();

    const started = performance.now();
    // Tasks: every user starts tasksPerUser of the torrents, several users per torrent.
    const tasks: Array<{ user: Client; taskId: string; torrent: BuiltTorrent; save: string }> = [];
    const starting = users.map(async (user, u) => {
      for (let j = 0; j < o.tasksPerUser; j++) {
        const torrent = built[(u * o.tasksPerUser + j) % built.length];
        const t = await call(user, '/v1/store/token', { name: `${torrent.infoHash}.torrent`, path: ':torrent', hash: etagOf(torrent.torrent) });
        let file = t;
        if (!('uuid' in t)) {
          const form = new FormData();
          form.append('token', t.token);
          form.append('file', new Blob([torrent.torrent]), 'x.torrent');
          const res = await fetch(`${t.uploadUrl}/file/upload`, { method: 'POST', body: form });
          if (res.status >= 500) serverErrors.push(`torrent upload ${res.status}`);
          file = JSON.parse(((await res.json()) as { response: string }).response).result;
        }
        const { taskHash } = await call(user, '/v1/offline/parseTorrent', { uuid: file.uuid });
        const save = `/dl/${j}`;
        const { taskId } = await call(user, '/v1/offline/start', { taskHash, savePath: save });
        tasks.push({ user, taskId, torrent, save });
      }
    });

    // Uploads: all in flight at once, spread over the users.
    const sent = new Map<string, { user: Client; data: Buffer }>();
    const uploadsFailed: string[] = [];
    const uploadsStart = performance.now();
    const uploading = Array.from({ length: o.uploads }, async (_, i) => {
      const user = users[i % users.length];
      const data = bytes(1 + ((i * 7919) % o.uploadMaxBytes), 9000 + i);
      try {
        const t = await call(user, '/v1/store/token', { name: `u${i}.bin`, path: '/up' });
        const form = new FormData();
        form.append('token', t.token);
        form.append('file', new Blob([data]), `u${i}.bin`);
        const res = await fetch(`${t.uploadUrl}/file/upload`, { method: 'POST', body: form });
        const json = (await res.json()) as { response?: string; code?: string };
        if (res.status >= 500) serverErrors.push(`upload ${res.status} ${json.code}`);
        if (res.status !== 200) throw new Error(`upload ${res.status} ${json.code}`);
        sent.set(JSON.parse(json.response!).result.uuid as string, { user, data });
      } catch (err) {
        const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
        uploadsFailed.push(`u${i}: ${(err as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`);
      }
    });
    await Promise.all(uploading);
    const uploadsSeconds = (performance.now() - uploadsStart) / 1000;
    log(`${sent.size}/${o.uploads} uploads acknowledged in ${uploadsSeconds.toFixed(1)} s`);
    await Promise.all(starting);
    log(`${tasks.length} tasks started`);

    // Wait for every task to end (done or failed), reading each user's task page.
    const deadline = Date.now() + 600_000;
    const ended = new Map<string, { status: number; error: string }>();
    /** The last view of every task, to say where the ones that never ended stood. */
    const last = new Map<string, { status: number; progress: number; peers: number; message: string }>();
    while (ended.size < tasks.length && Date.now() < deadline) {
      signal?.throwIfAborted();
      for (const user of users) {
        for (let page = 1; ; page++) {
          const p = await call(user, '/v1/offline/page', { page, pageSize: 100 });
          for (const t of p.list as Array<{ taskId: string; status: number; error: string; progress: number; peers: number; message: string }>) {
            last.set(t.taskId, { status: t.status, progress: t.progress, peers: t.peers, message: t.message });
            if (t.status === 100 || t.status === -1) ended.set(t.taskId, t);
          }
          if (page >= p.totalPage) break;
        }
      }
      await sleep(500, undefined, { signal });
    }
    const tasksSeconds = (performance.now() - started) / 1000;
    const pageMs = await prober.stop();
    prober = null;
    clearInterval(rssTimer);

    // Correctness: task files and uploads, byte for byte where it is cheap (uploads), by etag for tasks.
    const wrongFiles: string[] = [];
    const tasksNotDone = tasks
      .filter((t) => ended.get(t.taskId)?.status !== 100)
      .map((t) => `${t.taskId}: ${JSON.stringify(ended.get(t.taskId) ?? { notEnded: last.get(t.taskId) ?? 'never listed' })}`);
    for (const t of tasks) {
      const payload = t.torrent.files[0];
      const r = await t.user.raw('/v1/files/get', { path: `${t.save}/${payload.path}` });
      if (r.status !== 200 || r.json.result.storeId !== etagOf(payload.bytes) || r.json.result.size !== payload.bytes.length)
        wrongFiles.push(`${t.save}/${payload.path}: ${r.status}`);
    }
    for (const [uuid, { user, data }] of sent) {
      const { downloadAddress } = await call(user, '/v1/files/download', { uuid });
      const body = Buffer.from(await (await fetch(downloadAddress)).arrayBuffer());
      if (!body.equals(data)) wrongFiles.push(`upload ${uuid}`);
    }
    const sorted = [...pageMs].sort((a, b) => a - b);
    return {
      tasks: tasks.length,
      tasksDone: tasks.length - tasksNotDone.length,
      tasksNotDone,
      uploadsOk: sent.size,
      uploadsFailed,
      wrongFiles,
      serverErrors,
      shutdown,
      pageMs: { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? 0 },
      rssMiB: { idle, peak },
      seconds: { uploads: uploadsSeconds, tasks: tasksSeconds, total: (performance.now() - started) / 1000 },
    };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    prober?.kill();
    clearInterval(rssTimer);
    const killed = await stopServer(server, SERVER_STOP_MS);
    if (killed !== null) {
      shutdown.push(killed);
      log(killed);
    }
    removeDataDir(dataDir);
  }
}

export function formatLoad(o: LoadOptions, r: LoadResult): string {
  return [
    `${o.users} users × ${o.tasksPerUser} tasks = ${r.tasks} tasks over ${o.torrents} torrents of ${(o.torrentBytes / 1024).toFixed(0)} KiB on one local swarm; ${o.uploads} concurrent form uploads of 1 B–${(o.uploadMaxBytes / 1024).toFixed(0)} KiB`,
    `tasks done: ${r.tasksDone}/${r.tasks}; uploads acknowledged: ${r.uploadsOk}/${o.uploads}; wrong or missing files: ${r.wrongFiles.length}; 5xx answers: ${r.serverErrors.length}`,
    `/v1/files/page under load (${r.pageMs.count} samples): p50 ${r.pageMs.p50.toFixed(1)} ms, p99 ${r.pageMs.p99.toFixed(1)} ms, max ${r.pageMs.max.toFixed(1)} ms`,
    `server RSS: idle ${r.rssMiB.idle.toFixed(0)} MiB, peak ${r.rssMiB.peak.toFixed(0)} MiB`,
    `time: uploads ${r.seconds.uploads.toFixed(1)} s, every task done ${r.seconds.tasks.toFixed(1)} s`,
    ...r.shutdown.map((line) => `shutdown: ${line}`),
  ].join('\n');
}
