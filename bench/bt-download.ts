// A 1 GiB single-file torrent seeded by a local aria2c, downloaded by openpan's BitTorrent
// engine (bench/bt-leech.ts, its own process) and by qbittorrent-nox (libtorrent, driven
// through its WebUI API) from the same seeder in the same run. Each is timed from the start of
// the download until every piece is verified. A third row runs the whole product: the built
// server (dist/main.js, its own process, fresh data dir) gets the .torrent through the upload
// service, /v1/offline/parseTorrent, and is timed from the /v1/offline/start call until
// /v1/offline/get says status 100 (the file is in the drive: downloaded, hashed, imported); the
// file's size and storeId (etag) are then checked against the payload's through /v1/files/get.
// The table gives seconds, MiB/s, the time relative to the openpan engine row (the first), peak
// RSS (VmHWM, whole process life) and CPU time (utime+stime over the timed span; the engine row's
// whole process) of the downloading process. Everything on loopback, DHT/PEX/LSD/UPnP off. When
// qbittorrent-nox is missing or cannot be driven, aria2c leeches. Each leecher has exited before
// the next starts, so only the aria2c seeder (checked by a handshake before each server run) has
// the data; the tracker may still list the exited leechers' addresses.
//
// Usage: npm run build && node --import tsx bench/bt-download.ts
//   BENCH_SIZE_MIB=1024   payload size    BENCH_PIECE_KIB=1024   piece length
//   BENCH_RUNS=1          runs per client (the table shows the median)
//   BENCH_NODE_FLAGS=     extra node flags for openpan's process, e.g. --max-semi-space-size=64
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { encodeBencode, RawBencode } from '../src/torrent/index.js';
import { freePort, startAria2Seeder, startTracker } from '../test/support/swarm.js';
import { post, startServerProcess, table } from './lib.js';
import { cpuSeconds, exited, qbittorrentProblem, runQbittorrent } from './qbittorrent.js';
import { recordFigure } from './figures.js';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 1024) * MiB;
const PIECE = Number(process.env.BENCH_PIECE_KIB ?? 1024) * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const NAME = `bench-${SIZE / MiB}MiB.bin`;

interface Result {
  /** Where the client put the file on disk; absent when the runner checked the content itself. */
  path?: string;
  seconds: number;
  peakRssMiB: number | null;
  cpuSeconds: number | null;
}

const root = await mkdtemp(join(tmpdir(), 'openpan-bt-bench-'));
const cleanups: Array<() => Promise<unknown>> = [];
try {
  // ---- payload and torrent ----
  const seedDir = join(root, 'seed');
  await mkdir(seedDir);
  const t0 = Date.now();
  const { pieces, sha256, etag } = await writeRandomFile(join(seedDir, NAME), SIZE, PIECE);
  const tracker = await startTracker({ intervalMs: 5000 });
  cleanups.push(() => tracker.close());
  const infoBytes = encodeBencode({ name: NAME, 'piece length': PIECE, pieces, length: SIZE });
  const torrent = encodeBencode({ announce: tracker.httpUrl, info: new RawBencode(infoBytes) });
  const infoHash = createHash('sha1').update(infoBytes).digest('hex');
  const torrentPath = join(root, `${infoHash}.torrent`);
  await writeFile(torrentPath, torrent);
  console.error(`payload: ${SIZE / MiB} MiB in ${PIECE / 1024} KiB pieces, written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const seeder = await startAria2Seeder({ torrent, infoHash }, seedDir, tracker);
  cleanups.push(() => seeder.close());
  console.error(`aria2c seeding on 127.0.0.1:${seeder.port}`);

  // ---- leechers ----
  const contenders: Array<{ name: string; run: (dir: string) => Promise<Result> }> = [
    { name: 'openpan (webtorrent 1.9.7)', run: (dir) => runOpenpan(torrentPath, dir) },
  ];
  const qbt = await qbittorrentProblem();
  if (qbt === null) {
    contenders.push({ name: 'qBittorrent (qbittorrent-nox)', run: (dir) => runQbittorrentFile(torrent, infoHash, dir) });
  } else {
    console.error(`qbittorrent-nox cannot be used (${qbt}): aria2c leeches instead`);
    contenders.push({ name: 'aria2c', run: (dir) => runAria2Leecher(torrentPath, dir) });
  }
  if (!existsSync('dist/main.js')) throw new Error('dist/main.js is missing: run `npm run build` first (from the project root)');
  contenders.push({ name: 'openpan server (start → in drive)', run: () => runServer(torrent, infoHash, seeder.port, etag) });

  const rows: Array<Record<string, string | number>> = [];
  let reference: number | null = null;
  for (const c of contenders) {
    const results: Result[] = [];
    for (let i = 0; i < RUNS; i++) {
      const dir = join(root, `leech-${rows.length}-${i}`);
      await mkdir(dir, { recursive: true });
      const r = await c.run(dir);
      if (r.path !== undefined) {
        const got = await sha256File(r.path);
        if (got !== sha256) throw new Error(`${c.name}: the downloaded file differs from the payload`);
      }
      console.error(`${c.name}: ${r.seconds.toFixed(2)} s (${r.path !== undefined ? 'bytes verified identical' : 'size and etag verified in the drive'})`);
      results.push(r);
      await rm(dir, { recursive: true, force: true });
    }
    results.sort((a, b) => a.seconds - b.seconds);
    const median = results[Math.floor(results.length / 2)];
    reference ??= median.seconds;
    rows.push({
      client: c.name,
      seconds: median.seconds,
      'MiB/s': SIZE / MiB / median.seconds,
      'time ÷ openpan engine': median.seconds / reference,
      'peak RSS MiB': median.peakRssMiB ?? 'n/a',
      'CPU s': median.cpuSeconds ?? 'n/a',
    });
  }
  console.log(`\n${SIZE / MiB} MiB single-file torrent from one local aria2c seeder (loopback), ${RUNS} run(s) each, median:\n`);
  console.log(table(rows));
  const secondsOf = (prefix: string) => rows.find((r) => String(r.client).startsWith(prefix))?.seconds as number | undefined;
  const [serverSeconds, qbtSeconds] = [secondsOf('openpan server'), secondsOf('qBittorrent')];
  if (serverSeconds !== undefined && qbtSeconds !== undefined) {
    recordFigure({
      bench: 'bt-download',
      id: 'server-vs-qbittorrent',
      label: `${SIZE / MiB} MiB torrent, start → in drive`,
      value: serverSeconds,
      unit: 's',
      better: 'lower',
      reference: { label: 'qBittorrent', value: qbtSeconds },
      goal: { relative: 2 },
    });
  }
} finally {
  for (const fn of cleanups.reverse()) await fn().catch(() => {});
  await rm(root, { recursive: true, force: true });
}

// ---- payload ----

/**
 * Writes `size` random bytes, hashing on the way; returns the piece hashes, the file's SHA-256
 * and its etag (the drive's content hash, computed here independently of src/store/etag.ts).
 */
async function writeRandomFile(path: string, size: number, pieceLength: number): Promise<{ pieces: Buffer; sha256: string; etag: string }> {
  const fh = await open(path, 'w');
  const whole = createHash('sha256');
  const etag = etagHasher();
  const hashes: Buffer[] = [];
  const chunk = 16 * pieceLength;
  try {
    for (let at = 0; at < size; at += chunk) {
      const buf = randomBytes(Math.min(chunk, size - at));
      for (let p = 0; p < buf.length; p += pieceLength)
        hashes.push(
          createHash('sha1')
            .update(buf.subarray(p, p + pieceLength))
            .digest(),
        );
      whole.update(buf);
      etag.update(buf);
      await fh.write(buf);
    }
  } finally {
    await fh.close();
  }
  return { pieces: Buffer.concat(hashes), sha256: whole.digest('hex'), etag: etag.digest() };
}

/** Etag: SHA-1 of each 4 MiB block; 0x16 + that SHA-1 for one block (≤ 4 MiB), else 0x96 + SHA-1 of the concatenated block SHA-1s; base64url. */
function etagHasher(): { update(buf: Buffer): void; digest(): string } {
  const BLOCK = 4 * MiB;
  const blocks: Buffer[] = [];
  let block = createHash('sha1');
  let fill = 0;
  const close = () => {
    blocks.push(block.digest());
    block = createHash('sha1');
    fill = 0;
  };
  return {
    update(buf) {
      for (let at = 0; at < buf.length; ) {
        if (fill === BLOCK) close();
        const take = Math.min(BLOCK - fill, buf.length - at);
        block.update(buf.subarray(at, at + take));
        fill += take;
        at += take;
      }
    },
    digest() {
      if (blocks.length === 0) return Buffer.concat([Buffer.from([0x16]), block.digest()]).toString('base64url');
      if (fill > 0) close();
      return Buffer.concat([Buffer.from([0x96]), createHash('sha1').update(Buffer.concat(blocks)).digest()]).toString('base64url');
    },
  };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// ---- openpan ----

async function runOpenpan(torrentPath: string, dir: string): Promise<Result> {
  const script = fileURLToPath(new URL('./bt-leech.ts', import.meta.url));
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, '--import', import.meta.resolve('tsx'), script, torrentPath, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let line = '';
  for await (const l of createInterface({ input: child.stdout! })) line = l;
  await exited(child);
  const out = JSON.parse(line) as Result & { state: string; error?: { message: string } };
  if (out.state !== 'done') throw new Error(`openpan: ${out.state} ${out.error?.message ?? ''}`);
  return out;
}

// ---- openpan server, end to end ----

/**
 * A fresh server process per run (a second run on the same server would find the content in its
 * store). Timed from the /v1/offline/start call until /v1/offline/get shows status 100.
 */
async function runServer(torrent: Buffer, infoHash: string, seederPort: number, etag: string): Promise<Result> {
  // The previous leechers have exited (each runner waits for its process); the seeder must still be up.
  await assertSeeding(seederPort, infoHash, Math.ceil(SIZE / PIECE));
  const server = await startServerProcess({ OPENPAN_BT_DHT: '0', OPENPAN_BT_PEX: '0' });
  const pid = server.proc.pid!;
  try {
    const call = async (path: string, body: unknown) => (await post(server.url, path, body, server.token)).result;
    // The .torrent through the upload service, as a client would send it.
    const ticket = await call('/v1/store/token', { name: 'bench.torrent', path: ':torrent' });
    const form = new FormData();
    form.set('token', ticket.token);
    form.set('file', new Blob([torrent]), 'bench.torrent');
    const up = await fetch(`${ticket.uploadUrl}/file/upload`, { method: 'POST', body: form });
    if (up.status !== 200) throw new Error(`server: torrent upload answered ${up.status}`);
    const uploaded = JSON.parse(((await up.json()) as { response: string }).response).result as { uuid: string };
    const parsed = await call('/v1/offline/parseTorrent', { uuid: uploaded.uuid });
    if (parsed.infoHash !== infoHash) throw new Error(`server: parsed info hash ${parsed.infoHash}, not ${infoHash}`);

    const cpu0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    const started = await call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/bench' });
    for (;;) {
      const t = await call('/v1/offline/get', { taskId: started.taskId });
      if (t.status === 100) break;
      if (t.status === -1) throw new Error(`server: task failed: ${t.errorCode} ${t.message}`);
      await sleep(100);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuSeconds(pid) - cpu0;
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));

    const file = await call('/v1/files/get', { path: `/bench/${NAME}` });
    if (file.size !== SIZE) throw new Error(`server: /bench/${NAME} is ${file.size} bytes, not ${SIZE}`);
    if (file.storeId !== etag) throw new Error(`server: /bench/${NAME} has storeId ${file.storeId}, the payload's etag is ${etag}`);
    return { seconds, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : null, cpuSeconds: cpu };
  } finally {
    await server.stop();
  }
}

/** Throws unless a peer on 127.0.0.1:port answers a BitTorrent handshake for infoHash with a complete bitfield. */
async function assertSeeding(port: number, infoHash: string, pieceCount: number): Promise<void> {
  const sock = connect(port, '127.0.0.1');
  const timer = setTimeout(() => sock.destroy(new Error('no answer in 10 s')), 10_000);
  try {
    await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
    sock.write(Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), Buffer.from(infoHash, 'hex'), randomBytes(20)]));
    let got = Buffer.alloc(0);
    for await (const chunk of sock) {
      got = Buffer.concat([got, chunk as Buffer]);
      if (got.length < 68 + 5) continue;
      if (!got.subarray(28, 48).equals(Buffer.from(infoHash, 'hex'))) throw new Error('handshake for another info hash');
      // Skip keep-alives; the first message after the handshake should be the bitfield (id 5).
      let at = 68;
      while (got.length >= at + 4 && got.readUInt32BE(at) === 0) at += 4;
      if (got.length < at + 5) continue;
      const len = got.readUInt32BE(at);
      if (got[at + 4] !== 5) throw new Error(`first message is id ${got[at + 4]}, not a bitfield`);
      if (got.length < at + 4 + len) continue;
      const bits = got.subarray(at + 5, at + 4 + len);
      for (let i = 0; i < pieceCount; i++) if ((bits[i >> 3] & (0x80 >> (i & 7))) === 0) throw new Error(`piece ${i} missing`);
      return;
    }
    throw new Error('connection closed');
  } catch (err) {
    throw new Error(`the aria2c seeder on port ${port} is not seeding: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
    sock.destroy();
  }
}

// ---- qBittorrent ----

async function runQbittorrentFile(torrent: Buffer, infoHash: string, dir: string): Promise<Result> {
  const r = await runQbittorrent(torrent, infoHash, dir);
  if (r.seconds === null) throw new Error(`qbittorrent-nox: not complete (${r.state}, progress ${r.progress})`);
  return { path: join(dir, NAME), seconds: r.seconds, peakRssMiB: r.peakRssMiB, cpuSeconds: r.cpuSeconds };
}

// ---- aria2c as the leecher (fallback) ----

async function runAria2Leecher(torrentPath: string, dir: string): Promise<Result> {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const child = spawn(
    'aria2c',
    [
      '--no-conf=true',
      '--enable-rpc=false',
      `--dir=${dir}`,
      '--seed-time=0',
      '--enable-dht=false',
      '--enable-dht6=false',
      '--enable-peer-exchange=false',
      '--bt-enable-lpd=false',
      `--listen-port=${port}`,
      '--interface=127.0.0.1',
      '--disable-ipv6=true',
      '--file-allocation=none',
      '--summary-interval=0',
      '--quiet=true',
      torrentPath,
    ],
    { stdio: 'ignore' },
  );
  let peak = 0;
  let cpu = 0;
  const sample = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      cpu = cpuSeconds(child.pid!);
    } catch {
      // exited between samples
    }
  }, 50);
  const code = await exited(child);
  clearInterval(sample);
  if (code !== 0) throw new Error(`aria2c leecher exited with ${code}`);
  return { path: join(dir, NAME), seconds: Number(process.hrtime.bigint() - t0) / 1e9, peakRssMiB: peak, cpuSeconds: cpu };
}
