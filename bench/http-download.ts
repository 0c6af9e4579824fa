// A 1 GiB file served by a local node:http server with Range support (127.0.0.1), downloaded in
// the same run by openpan's HTTP engine (8 segments, its own process), by the openpan server end
// to end (`/v1/offline/start` of a parsed URL until the task is done: the file is in the drive,
// hashed and in the content store), by `aria2c -x8 -s8`, by `aria2c` followed by `sha1sum`
// (the least an aria2-based drive does before it can deduplicate), and by `curl -o`. Each download is timed from the client's start until the file is complete on
// disk, then its SHA-1 is compared with the payload's. Runs are interleaved; the table gives each
// client's median seconds (and every run), MiB/s, the median time relative to openpan and to
// aria2c, and the median peak RSS of the downloading process (VmHWM, polled).
// Everything on loopback; the server runs in this process and serves every client alike.
//
// Usage: node --import tsx bench/http-download.ts
//   BENCH_SIZE_MIB=1024   payload size     BENCH_SEGMENTS=8   connections for openpan and aria2c
//   BENCH_RUNS=3          interleaved runs per client (the table shows the medians)
//   BENCH_TLS=1           serve over HTTPS (the test CA's certificate, test/fixtures/tls), which
//                         every client is told to trust (NODE_EXTRA_CA_CERTS, --ca-certificate, --cacert)
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpEngine } from '../src/engines/index.js';
import { AddressPolicy, parseCidrList } from '../src/net/index.js';
import { LocalDiskBlobStore } from '../src/store/local-disk.js';
import { TEST_CA_PATH, TRUSTED_TLS } from '../test/support/http-fixture.js';
import { post, startServerProcess, table, type BenchServer } from './lib.js';
import { recordFigure } from './figures.js';

const MiB = 1024 * 1024;
const SEGMENTS = Number(process.env.BENCH_SEGMENTS ?? 8);
const TLS = process.env.BENCH_TLS === '1';
/** What each client is given to trust the HTTPS server's certificate. */
const TRUST: { env: Record<string, string>; aria2c: string[]; curl: string[] } = TLS
  ? { env: { NODE_EXTRA_CA_CERTS: TEST_CA_PATH }, aria2c: [`--ca-certificate=${TEST_CA_PATH}`], curl: ['--cacert', TEST_CA_PATH] }
  : { env: {}, aria2c: [], curl: [] };

if (process.argv[2] === '--leech') await leech(process.argv[3], process.argv[4]);
else await main();

interface Result {
  seconds: number;
  peakRssMiB: number | null;
}

async function main(): Promise<void> {
  const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 1024) * MiB;
  const RUNS = Number(process.env.BENCH_RUNS ?? 3);
  const root = await mkdtemp(join(tmpdir(), 'openpan-http-bench-'));
  const payload = join(root, 'payload.bin');
  const servers: BenchServer[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const headers: Record<string, string> = {
      'accept-ranges': 'bytes',
      etag: '"bench"',
      'last-modified': new Date(0).toUTCString(),
      'content-type': 'application/octet-stream',
    };
    let start = 0;
    let end = SIZE - 1;
    if (m !== null) {
      start = Number(m[1]);
      end = m[2] === '' ? SIZE - 1 : Math.min(SIZE - 1, Number(m[2]));
      headers['content-range'] = `bytes ${start}-${end}/${SIZE}`;
    }
    headers['content-length'] = String(end - start + 1);
    res.writeHead(m === null ? 200 : 206, headers);
    createReadStream(payload, { start, end, highWaterMark: MiB }).pipe(res);
  };
  const server = TLS ? createHttpsServer(TRUSTED_TLS, handler) : createServer(handler);
  try {
    const t0 = Date.now();
    const sha1 = await writeRandomFile(payload, SIZE);
    console.error(`payload: ${SIZE / MiB} MiB written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `${TLS ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}/payload.bin`;
    const openpanServer = await startServerProcess({ OPENPAN_FETCH_ALLOW: '127.0.0.1/32', OPENPAN_HTTP_SEGMENTS: String(SEGMENTS), ...TRUST.env });
    servers.push(openpanServer);
    const contenders: Array<{ name: string; run: (dir: string) => Promise<Result & { path: string }> }> = [
      { name: `openpan HttpEngine (${SEGMENTS} segments)`, run: (dir) => runOpenpan(url, dir) },
      { name: 'openpan server, start → file in the drive', run: (dir) => runServer(openpanServer, url, `/${basename(dir)}`) },
      {
        name: `aria2c -x${SEGMENTS} -s${SEGMENTS}`,
        run: (dir) =>
          runTool(
            'aria2c',
            [
              '-x',
              String(SEGMENTS),
              '-s',
              String(SEGMENTS),
              '-d',
              dir,
              '-o',
              'out.bin',
              '--allow-overwrite=true',
              '--summary-interval=0',
              '--console-log-level=warn',
              '--quiet=true',
              ...TRUST.aria2c,
              url,
            ],
            join(dir, 'out.bin'),
          ),
      },
      { name: 'curl -o', run: (dir) => runTool('curl', ['-sS', ...TRUST.curl, '-o', join(dir, 'out.bin'), url], join(dir, 'out.bin')) },
      // What an aria2-based drive has to do before it can deduplicate: download, then hash.
      { name: `aria2c -x${SEGMENTS} then sha1sum`, run: (dir) => runAria2ThenHash(url, dir) },
    ];
    // Runs are interleaved (round i runs every client once, in a rotated order) so that a noisy
    // neighbour on a shared machine slows every client alike rather than one client's batch.
    const results: Result[][] = contenders.map(() => []);
    for (let i = 0; i < RUNS; i++) {
      for (let k = 0; k < contenders.length; k++) {
        const ci = (i + k) % contenders.length;
        const c = contenders[ci];
        const dir = join(root, `client-${ci}-${i}`);
        await mkdir(dir, { recursive: true });
        const r = await c.run(dir);
        if ((await sha1File(r.path)) !== sha1) throw new Error(`${c.name}: the downloaded file differs from the payload`);
        console.error(`run ${i + 1}/${RUNS} ${c.name}: ${r.seconds.toFixed(2)} s, bytes verified identical`);
        results[ci].push(r);
        await rm(dir, { recursive: true, force: true });
      }
    }
    const medians = results.map((rs) => ({
      seconds: median(rs.map((r) => r.seconds)),
      rss: rs.every((r) => r.peakRssMiB !== null) ? median(rs.map((r) => r.peakRssMiB as number)) : null,
    }));
    const openpan = medians[0];
    const aria2c = medians[contenders.findIndex((c) => c.name.startsWith('aria2c'))];
    const rows = contenders.map((c, ci) => ({
      client: c.name,
      'median s': medians[ci].seconds,
      runs: results[ci].map((r) => r.seconds.toFixed(2)).join(' '),
      'MiB/s': SIZE / MiB / medians[ci].seconds,
      'time ÷ openpan': medians[ci].seconds / openpan.seconds,
      'time ÷ aria2c': medians[ci].seconds / aria2c.seconds,
      'peak RSS MiB': medians[ci].rss ?? 'n/a',
    }));
    console.log(
      `\n${SIZE / MiB} MiB over ${TLS ? 'HTTPS (TLS 1.3)' : 'HTTP'} from a local node:${TLS ? 'https' : 'http'} server with ranges (loopback), ${RUNS} interleaved run(s) each, medians:\n`,
    );
    console.log(table(rows));
    const curl = contenders.findIndex((c) => c.name.startsWith('curl'));
    const secondsRuns = (ci: number) => results[ci].map((r) => r.seconds);
    const over = TLS ? 'HTTPS' : 'HTTP';
    recordFigure({
      bench: 'http-download',
      id: `engine-${over}`,
      label: `${SIZE / MiB} MiB over ${over}, engine alone`,
      value: medians[0].seconds,
      unit: 's',
      better: 'lower',
      runs: secondsRuns(0),
      reference: { label: 'curl -o', value: medians[curl].seconds, runs: secondsRuns(curl) },
      goal: TLS ? undefined : { relative: 1 },
    });
    const end = contenders.findIndex((c) => c.name.startsWith('openpan server'));
    recordFigure({
      bench: 'http-download',
      id: `server-${over}`,
      label: `${SIZE / MiB} MiB over ${over}, start → hashed in drive`,
      value: medians[end].seconds,
      unit: 's',
      better: 'lower',
      runs: secondsRuns(end),
      reference: { label: 'curl -o', value: medians[curl].seconds, runs: secondsRuns(curl) },
      goal: TLS ? undefined : { relative: 1 / 0.9 },
    });
  } finally {
    for (const s of servers) await s.stop();
    server.closeAllConnections();
    server.close();
    await rm(root, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function writeRandomFile(path: string, size: number): Promise<string> {
  const fh = await open(path, 'w');
  const hash = createHash('sha1');
  try {
    for (let at = 0; at < size; at += 16 * MiB) {
      const buf = randomBytes(Math.min(16 * MiB, size - at));
      hash.update(buf);
      await fh.write(buf);
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

async function sha1File(path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Runs a child to completion, polling its peak RSS; resolves with the wall time. */
async function timed(child: ChildProcess, what: string): Promise<Result & { stdout: string }> {
  const t0 = process.hrtime.bigint();
  let peak: number | null = null;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m !== null) peak = Number(m[1]) / 1024;
    } catch {
      // exited between polls
    }
  }, 50);
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(poll);
  if (code !== 0) throw new Error(`${what} exited with ${code}`);
  return { seconds, peakRssMiB: peak, stdout };
}

async function runTool(cmd: string, args: string[], path: string): Promise<Result & { path: string }> {
  const r = await timed(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] }), cmd);
  return { seconds: r.seconds, peakRssMiB: r.peakRssMiB, path };
}

async function runAria2ThenHash(url: string, dir: string): Promise<Result & { path: string }> {
  const path = join(dir, 'out.bin');
  const fetched = await runTool(
    'aria2c',
    [
      '-x',
      String(SEGMENTS),
      '-s',
      String(SEGMENTS),
      '-d',
      dir,
      '-o',
      'out.bin',
      '--allow-overwrite=true',
      '--summary-interval=0',
      '--console-log-level=warn',
      '--quiet=true',
      ...TRUST.aria2c,
      url,
    ],
    path,
  );
  const hashed = await runTool('sha1sum', [path], path);
  return { seconds: fetched.seconds + hashed.seconds, peakRssMiB: fetched.peakRssMiB, path };
}

async function runOpenpan(url: string, dir: string): Promise<Result & { path: string }> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script, '--leech', url, join(dir, 'job')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...TRUST.env },
  });
  const r = await timed(child, 'openpan');
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { seconds: number; peakRssMiB: number; path: string };
  // The engine's own time (start() to done), without the child's start-up; RSS from the child itself.
  return { seconds: out.seconds, peakRssMiB: out.peakRssMiB, path: out.path };
}

/** The whole server: parse the URL, start the task, poll until it is done; the stored blob is checked. */
async function runServer(server: BenchServer, url: string, folder: string): Promise<Result & { path: string }> {
  const parsed = await post(server.url, '/v1/offline/parseUrl', { url }, server.token);
  const t0 = process.hrtime.bigint();
  const started = await post(server.url, '/v1/offline/start', { taskHash: parsed.result.taskHash, savePath: folder }, server.token);
  const taskId = started.result.taskId as string;
  for (;;) {
    const task = (await post(server.url, '/v1/offline/get', { taskId }, server.token)).result;
    if (task.status === 100) break;
    if (task.status === -1) throw new Error(`openpan server: task failed ${task.errorCode} ${task.message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const file = (await post(server.url, '/v1/files/get', { path: `${folder}/payload.bin` }, server.token)).result;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'));
  return { seconds, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : null, path: new LocalDiskBlobStore(join(server.dataDir, 'blobs')).contentPath(file.storeId) };
}

/** The openpan side, in its own process so that its RSS is the engine's alone. */
async function leech(url: string, dir: string): Promise<void> {
  const engine = new HttpEngine({ policy: new AddressPolicy(parseCidrList('127.0.0.1/32')), segments: SEGMENTS });
  const t0 = process.hrtime.bigint();
  const handle = engine.start({ id: 'bench', dir, source: { kind: 'url', url } });
  const final = await handle.settled;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await engine.close();
  if (final.state !== 'done') throw new Error(`openpan: ${final.state} ${final.error?.code ?? ''} ${final.error?.message ?? ''}`);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  const path = final.files[0].path;
  await stat(path);
  process.stdout.write(JSON.stringify({ seconds, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : null, path }) + '\n');
}
