// A 1 GiB single-file torrent seeded by a local aria2c, downloaded by openpan's BitTorrent
// engine (bench/bt-leech.ts, its own process) and by qbittorrent-nox (libtorrent, driven
// through its WebUI API) from the same seeder in the same run. Each is timed from the start of
// the download until every piece is verified; the table gives seconds, MiB/s, the time relative
// to openpan's, peak RSS and CPU time of the downloading process. Everything on loopback,
// DHT/PEX/LSD/UPnP off. When qbittorrent-nox is missing or cannot be driven, aria2c leeches.
//
// Usage: node --import tsx bench/bt-download.ts
//   BENCH_SIZE_MIB=1024   payload size    BENCH_PIECE_KIB=1024   piece length
//   BENCH_RUNS=1          runs per client (the table shows the median)
//   BENCH_NODE_FLAGS=     extra node flags for openpan's process, e.g. --max-semi-space-size=64
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { encodeBencode, RawBencode } from '../src/offline/torrent/index.js';
import { freePort, startAria2Seeder, startTracker } from '../test/helpers/swarm.js';
import { table } from './lib.js';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 1024) * MiB;
const PIECE = Number(process.env.BENCH_PIECE_KIB ?? 1024) * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const NAME = `bench-${SIZE / MiB}MiB.bin`;

interface Result {
  /** Where the client put the file. */
  path: string;
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
  const { pieces, sha256 } = await writeRandomFile(join(seedDir, NAME), SIZE, PIECE);
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
  const contenders: Array<{ name: string; run: (dir: string) => Promise<Result> }> = [{ name: 'openpan (webtorrent 1.9.7)', run: (dir) => runOpenpan(torrentPath, dir) }];
  const qbt = await qbittorrentProblem();
  if (qbt === null) {
    contenders.push({ name: 'qBittorrent (qbittorrent-nox)', run: (dir) => runQbittorrent(torrent, infoHash, dir) });
  } else {
    console.error(`qbittorrent-nox cannot be used (${qbt}): aria2c leeches instead`);
    contenders.push({ name: 'aria2c', run: (dir) => runAria2Leecher(torrentPath, dir) });
  }

  const rows: Array<Record<string, string | number>> = [];
  let reference: number | null = null;
  for (const c of contenders) {
    const results: Result[] = [];
    for (let i = 0; i < RUNS; i++) {
      const dir = join(root, `leech-${rows.length}-${i}`);
      await mkdir(dir, { recursive: true });
      const r = await c.run(dir);
      const got = await sha256File(r.path);
      if (got !== sha256) throw new Error(`${c.name}: the downloaded file differs from the payload`);
      console.error(`${c.name}: ${r.seconds.toFixed(2)} s (bytes verified identical)`);
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
      'time ÷ openpan': median.seconds / reference,
      'peak RSS MiB': median.peakRssMiB ?? 'n/a',
      'CPU s': median.cpuSeconds ?? 'n/a',
    });
  }
  console.log(`\n${SIZE / MiB} MiB single-file torrent from one local aria2c seeder (loopback), ${RUNS} run(s) each, median:\n`);
  console.log(table(rows));
} finally {
  for (const fn of cleanups.reverse()) await fn().catch(() => {});
  await rm(root, { recursive: true, force: true });
}

// ---- payload ----

/** Writes `size` random bytes, hashing pieces on the way; returns the piece hashes and the file's SHA-256. */
async function writeRandomFile(path: string, size: number, pieceLength: number): Promise<{ pieces: Buffer; sha256: string }> {
  const fh = await open(path, 'w');
  const whole = createHash('sha256');
  const hashes: Buffer[] = [];
  const chunk = 16 * pieceLength;
  try {
    for (let at = 0; at < size; at += chunk) {
      const buf = randomBytes(Math.min(chunk, size - at));
      for (let p = 0; p < buf.length; p += pieceLength) hashes.push(createHash('sha1').update(buf.subarray(p, p + pieceLength)).digest());
      whole.update(buf);
      await fh.write(buf);
    }
  } finally {
    await fh.close();
  }
  return { pieces: Buffer.concat(hashes), sha256: whole.digest('hex') };
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

// ---- qBittorrent ----

/** null when qbittorrent-nox can be started; else why not. */
async function qbittorrentProblem(): Promise<string | null> {
  const child = spawn('qbittorrent-nox', ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ok = await new Promise<boolean>((res) => {
    child.once('error', () => res(false));
    child.once('exit', (code) => res(code === 0));
  });
  return ok ? null : 'qbittorrent-nox is not installed (apt-get install -y qbittorrent-nox)';
}

async function runQbittorrent(torrent: Buffer, infoHash: string, dir: string): Promise<Result> {
  const profile = join(dir, '..', `qbt-profile-${Date.now()}`);
  const [webPort, btPort] = [await freePort(), await freePort()];
  await mkdir(join(profile, 'qBittorrent', 'config'), { recursive: true });
  // Loopback only; no DHT, PEX, LSD, UPnP; TCP only; no queueing; no WebUI login from localhost.
  await writeFile(
    join(profile, 'qBittorrent', 'config', 'qBittorrent.conf'),
    [
      '[LegalNotice]',
      'Accepted=true',
      '',
      '[BitTorrent]',
      'Session\\DHTEnabled=false',
      'Session\\PeXEnabled=false',
      'Session\\LSDEnabled=false',
      `Session\\Port=${btPort}`,
      'Session\\Interface=lo',
      'Session\\InterfaceName=lo',
      'Session\\QueueingSystemEnabled=false',
      // aria2 has no uTP: libtorrent would try it first and wait for a timeout before TCP.
      'Session\\BTProtocol=TCP',
      // Every peer here is 127.0.0.1: libtorrent would otherwise keep one peer per IP address,
      // sometimes the stale one the previous leecher left in the tracker.
      'Session\\MultiConnectionsPerIp=true',
      `Session\\DefaultSavePath=${dir}`,
      '',
      '[Network]',
      'PortForwardingEnabled=false',
      '',
      '[Preferences]',
      'WebUI\\Address=127.0.0.1',
      `WebUI\\Port=${webPort}`,
      'WebUI\\LocalHostAuth=false',
      'WebUI\\CSRFProtection=false',
      'WebUI\\HostHeaderValidation=false',
      'WebUI\\UseUPnP=false',
      'Connection\\UPnP=false',
      '',
    ].join('\n'),
  );
  const child = spawn('qbittorrent-nox', [`--profile=${profile}`], { stdio: ['ignore', 'ignore', 'ignore'] });
  const api = `http://127.0.0.1:${webPort}/api/v2`;
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${api}/app/version`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 200 || child.exitCode !== null) throw new Error('qbittorrent-nox: the WebUI did not come up');
      await sleep(50);
    }
    const prefs = (await (await fetch(`${api}/app/preferences`)).json()) as Record<string, unknown>;
    for (const [key, want] of Object.entries({ dht: false, pex: false, lsd: false, upnp: false, bittorrent_protocol: 1, enable_multi_connections_from_same_ip: true })) {
      if (prefs[key] !== want) throw new Error(`qbittorrent-nox: preference ${key} is ${String(prefs[key])}, not ${String(want)}`);
    }
    const cpu0 = cpuSeconds(child.pid!);
    const t0 = process.hrtime.bigint();
    const form = new FormData();
    form.append('torrents', new Blob([torrent]), 'bench.torrent');
    form.append('savepath', dir);
    const added = await fetch(`${api}/torrents/add`, { method: 'POST', body: form });
    if (!added.ok) throw new Error(`qbittorrent-nox: add answered ${added.status}`);
    let polls = 0;
    for (;;) {
      const info = (await (await fetch(`${api}/torrents/info?hashes=${infoHash}`)).json()) as Array<{ progress: number; state: string }>;
      const t = info[0];
      if (t !== undefined && t.progress === 1 && !t.state.startsWith('checking') && t.state !== 'downloading' && t.state !== 'metaDL') break;
      if (t?.state === 'error' || t?.state === 'missingFiles') throw new Error(`qbittorrent-nox: torrent state ${t.state}`);
      if (process.env.BENCH_DEBUG && ++polls % 100 === 0) {
        const tr = await (await fetch(`${api}/torrents/trackers?hash=${infoHash}`)).json();
        const peers = await (await fetch(`${api}/sync/torrentPeers?hash=${infoHash}`)).json();
        console.error('qbt', t?.state, t?.progress, JSON.stringify(tr), JSON.stringify(peers).slice(0, 600));
      }
      await sleep(20);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuSeconds(child.pid!) - cpu0;
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    // Stop seeding (and close its files) before the caller reads the file.
    await fetch(`${api}/torrents/delete`, { method: 'POST', body: new URLSearchParams({ hashes: infoHash, deleteFiles: 'false' }) });
    return { path: join(dir, NAME), seconds, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : null, cpuSeconds: cpu };
  } finally {
    child.kill('SIGTERM');
    await exited(child);
    await rm(profile, { recursive: true, force: true });
  }
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // fields 14 and 15 of stat(5); USER_HZ = 100
}

// ---- aria2c as the leecher (fallback) ----

async function runAria2Leecher(torrentPath: string, dir: string): Promise<Result> {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const child = spawn(
    'aria2c',
    ['--no-conf=true', '--enable-rpc=false', `--dir=${dir}`, '--seed-time=0', '--enable-dht=false', '--enable-dht6=false', '--enable-peer-exchange=false', '--bt-enable-lpd=false', `--listen-port=${port}`, '--interface=127.0.0.1', '--disable-ipv6=true', '--file-allocation=none', '--summary-interval=0', '--quiet=true', torrentPath],
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

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res) => child.once('exit', (code) => res(code)));
}

