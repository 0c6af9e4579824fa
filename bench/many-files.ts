// Torrents of many small files (issue 20): 10,000 files × 4 KiB and 100,000 files × 1 KiB, each
// in 100 folders, seeded by a local aria2c through a local tracker and downloaded in the same
// run by qbittorrent-nox (libtorrent, through its WebUI API) and by a whole openpan server
// (dist/main.js, or src/main.ts through tsx, a process of its own with a fresh data dir).
//
// - qbittorrent-nox: seconds from the add call until the torrent is complete; its peak RSS.
// - openpan: seconds from /v1/offline/start until /v1/offline/page says status 100 (every file
//   imported into the user's drive; then checked by listing the drive: every folder, every
//   file, the total size); its peak RSS (VmHWM), its peak open descriptors (/proc/<pid>/fd,
//   sampled every 100 ms), its CPU time; and the latency of another user's /v1/user/info,
//   requested every 50 ms from the moment the server is up until the run ends. A request that
//   is still out when the next one is due is not doubled; the due ones count as having waited
//   from when they were due until that answer came (no coordinated omission), so a stalled
//   event loop shows in p99, not only in max. Any request that failed (a network error, an empty
//   reply, an HTTP or envelope error, of the sampler or of the bench's own polling) is counted;
//   Node's fetch gives up on an answer after 300 s (undici's headers timeout): such a request is
//   counted as failed, and as having waited 300 s.
// - Ratios openpan ÷ qbittorrent-nox. Nothing is asserted on time: a contender that is not done
//   after the cap is reported as "did not finish in N min" with the progress it reached.
//
// Everything on loopback; DHT, PEX, LSD, UPnP off everywhere.
//
// Usage: npm run build && node --import tsx bench/many-files.ts [FILES[:BYTES] ...]
//   arguments, or BENCH_MANY_FILES="10000:4096,100000:1024": the cases (files and bytes per file)
//   BENCH_FOLDERS=100       folders per torrent (files are spread evenly)
//   BENCH_PIECE_KIB=64      piece length
//   BENCH_CAP_MIN=10        give up on a contender after this many minutes
//   BENCH_SERVER=dist       `src` runs src/main.ts through tsx instead of dist/main.js
//   BENCH_NODE_FLAGS=       extra node flags for openpan's process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
//   BENCH_SKIP_QBT=1        openpan only
//   BENCH_SERVER_STDOUT=    a file to append the server's stdout to (e.g. with --trace-gc)
import { randomBytes, createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeBencode, RawBencode } from '../src/torrent/index.js';
import { startAria2Seeder, startTracker } from '../test/support/swarm.js';
import { percentile, post, startServerProcess, table } from './lib.js';
import { cpuSeconds, peakRss, qbittorrentProblem, runQbittorrent } from './qbittorrent.js';

interface Case {
  files: number;
  bytes: number;
}

const FOLDERS = Number(process.env.BENCH_FOLDERS ?? 100);
const PIECE = Number(process.env.BENCH_PIECE_KIB ?? 64) * 1024;
const CAP_MIN = Number(process.env.BENCH_CAP_MIN ?? 10);
const CAP_MS = CAP_MIN * 60_000;
const SERVER_ENTRY = process.env.BENCH_SERVER === 'src' ? 'src' : 'dist';
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const SAMPLE_MS = 50;
const POLL_MS = 100;

const cases = parseCases(process.argv.slice(2).length > 0 ? process.argv.slice(2) : (process.env.BENCH_MANY_FILES ?? '10000:4096,100000:1024').split(','));

function parseCases(specs: string[]): Case[] {
  return specs.map((spec) => {
    const m = /^\s*(\d+)(?::(\d+))?\s*$/.exec(spec);
    if (m === null) throw new Error(`a case is FILES or FILES:BYTES, not ${JSON.stringify(spec)}`);
    const files = Number(m[1]);
    return { files, bytes: m[2] === undefined ? (files > 10_000 ? 1024 : 4096) : Number(m[2]) };
  });
}

// ---- payload ----

interface Payload {
  torrent: Buffer;
  infoHash: string;
  name: string;
  totalBytes: number;
  /** Files per folder, by folder name. */
  folders: Map<string, number>;
}

const folderName = (i: number) => `d${String(i).padStart(3, '0')}`;
const fileName = (i: number) => `f${String(i).padStart(6, '0')}.bin`;

/** Writes `files` random files of `bytes` each under seedDir/name/dNNN/, hashing pieces on the way. */
async function writePayload(c: Case, seedDir: string, announce: string): Promise<Payload> {
  const name = `many-${c.files}x${c.bytes}`;
  const folderCount = Math.min(FOLDERS, c.files);
  const perFolder = Math.ceil(c.files / folderCount);
  const pieces: Buffer[] = [];
  let piece = createHash('sha1');
  let fill = 0;
  const entries: Array<{ length: number; path: string[] }> = [];
  const folders = new Map<string, number>();
  const pending: Array<Promise<void>> = [];
  for (let f = 0; f < folderCount; f++) await mkdir(join(seedDir, name, folderName(f)), { recursive: true });
  let pool = randomBytes(0);
  for (let i = 0; i < c.files; i++) {
    const folder = folderName(Math.floor(i / perFolder));
    if (pool.length < c.bytes) pool = randomBytes(Math.max(c.bytes, 4 * 1024 * 1024));
    const bytes = pool.subarray(0, c.bytes);
    pool = pool.subarray(c.bytes);
    for (let at = 0; at < bytes.length; ) {
      const take = Math.min(PIECE - fill, bytes.length - at);
      piece.update(bytes.subarray(at, at + take));
      fill += take;
      at += take;
      if (fill === PIECE) {
        pieces.push(piece.digest());
        piece = createHash('sha1');
        fill = 0;
      }
    }
    entries.push({ length: c.bytes, path: [folder, fileName(i)] });
    folders.set(folder, (folders.get(folder) ?? 0) + 1);
    pending.push(writeFile(join(seedDir, name, folder, fileName(i)), bytes));
    if (pending.length >= 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  if (fill > 0) pieces.push(piece.digest());
  const infoBytes = encodeBencode({ name, 'piece length': PIECE, pieces: Buffer.concat(pieces), files: entries });
  const torrent = encodeBencode({ announce, info: new RawBencode(infoBytes) });
  return { torrent, infoHash: createHash('sha1').update(infoBytes).digest('hex'), name, totalBytes: c.files * c.bytes, folders };
}

// ---- results ----

interface OpenpanResult {
  /** Seconds from start until status 100; null when not done within the cap or failed. */
  seconds: number | null;
  outcome: string;
  /** When the task first had every byte (finishedSize = size), seconds after start. */
  bytesInAt: number | null;
  peakRssMiB: number | null;
  peakFds: number;
  cpuSeconds: number | null;
  info: { p50: number; p99: number; max: number; sent: number; rawP99: number };
  failedRequests: number;
  failures: string[];
  timeline: string[];
}

interface QbtOutcome {
  seconds: number | null;
  outcome: string;
  peakRssMiB: number | null;
  cpuSeconds: number | null;
}

// ---- openpan ----

/** Requests /v1/user/info every SAMPLE_MS with one connection's worth of concurrency (see the header). */
class InfoSampler {
  readonly latencies: number[] = [];
  readonly raw: number[] = [];
  failures = 0;
  readonly messages: string[] = [];
  #due: number[] = [];
  #inFlight = false;
  #timer: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {
    this.#timer = setInterval(() => this.#tick(), SAMPLE_MS);
  }

  #tick(): void {
    const now = performance.now();
    if (this.#inFlight) {
      this.#due.push(now);
      return;
    }
    void this.#send(now);
  }

  async #send(t0: number): Promise<void> {
    this.#inFlight = true;
    let ok = false;
    try {
      const res = await fetch(`${this.url}/v1/user/info`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: '{}',
        signal: AbortSignal.timeout(CAP_MS),
      });
      const json = (await res.json()) as { success?: boolean; code?: string };
      ok = res.status === 200 && json.success === true;
      if (!ok) this.#fail(`user/info: HTTP ${res.status} ${json.code ?? ''}`);
    } catch (err) {
      this.#fail(`user/info: ${describe(err)}`);
    }
    const t1 = performance.now();
    this.raw.push(t1 - t0);
    this.latencies.push(t1 - t0);
    for (const due of this.#due) this.latencies.push(t1 - due);
    this.#due = [];
    this.#inFlight = false;
  }

  #fail(message: string): void {
    this.failures++;
    if (this.messages.length < 5) this.messages.push(message);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    while (this.#inFlight) await sleep(10);
  }
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** Samples the process's open descriptors (and RSS) every POLL_MS. */
class ProcSampler {
  peakFds = 0;
  peakFdsAt = 0;
  peakRssMiB = 0;
  peakRssAt = 0;
  #timer: NodeJS.Timeout;

  constructor(pid: number, t0: () => number) {
    this.#timer = setInterval(() => {
      try {
        const fds = readdirSync(`/proc/${pid}/fd`).length;
        if (fds > this.peakFds) [this.peakFds, this.peakFdsAt] = [fds, t0()];
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        const rss = m ? Number(m[1]) / 1024 : 0;
        if (rss > this.peakRssMiB) [this.peakRssMiB, this.peakRssAt] = [rss, t0()];
      } catch {
        // exited
      }
    }, POLL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

async function runOpenpan(p: Payload): Promise<OpenpanResult> {
  const server = await startServerProcess(
    { OPENPAN_BT_DHT: '0', OPENPAN_BT_PEX: '0', OPENPAN_FETCH_ALLOW: '127.0.0.0/8' },
    { entry: SERVER_ENTRY, nodeArgs: NODE_FLAGS },
  );
  const pid = server.proc.pid!;
  let startedAt: number | null = null;
  const sinceStart = () => (startedAt === null ? 0 : (performance.now() - startedAt) / 1000);
  const procs = new ProcSampler(pid, sinceStart);
  const failures: string[] = [];
  let failedPolls = 0;
  let sampler: InfoSampler | null = null;
  try {
    const observer = await post(server.url, '/v1/user/register', { name: 'observer', password: 'observer-Passw0rd' });
    sampler = new InfoSampler(server.url, observer.token as string);
    const call = async (path: string, body: unknown, timeoutMs = CAP_MS) => {
      const res = await fetch(server.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs))),
      });
      const json = (await res.json()) as { success: boolean; code: string; message?: string; result: any };
      if (!json.success) throw new Error(`${path}: ${res.status} ${json.code} ${json.message ?? ''}`);
      return json.result;
    };

    // The .torrent through the upload service, as a client would send it.
    const ticket = await call('/v1/store/token', { name: `${p.name}.torrent`, path: ':torrent' });
    const form = new FormData();
    form.set('token', ticket.token);
    form.set('file', new Blob([p.torrent]), `${p.name}.torrent`);
    const up = await fetch(`${ticket.uploadUrl}/file/upload`, { method: 'POST', body: form });
    if (up.status !== 200) throw new Error(`openpan: torrent upload answered ${up.status}`);
    const uploaded = JSON.parse(((await up.json()) as { response: string }).response).result as { uuid: string };
    const parsed = await call('/v1/offline/parseTorrent', { uuid: uploaded.uuid });
    if (parsed.infoHash !== p.infoHash) throw new Error(`openpan: parsed info hash ${parsed.infoHash}, not ${p.infoHash}`);

    const cpu0 = cpuSeconds(pid);
    startedAt = performance.now();
    const timeline: string[] = [];
    let seconds: number | null = null;
    let bytesInAt: number | null = null;
    let outcome = '';
    let last = { status: NaN, progress: -1, finishedSize: -1, size: p.totalBytes };
    let maxProgress = 0;
    let backwards = 0;
    const started = await call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/bench' });
    timeline.push(`start answered after ${sinceStart().toFixed(1)} s`);
    for (;;) {
      const remaining = CAP_MS - sinceStart() * 1000;
      if (remaining <= 0) {
        outcome = `did not finish in ${CAP_MIN} min (status ${last.status}, progress ${last.progress}, ${mib(last.finishedSize)} of ${mib(last.size)} MiB)`;
        break;
      }
      let t: { status: number; progress: number; finishedSize: number; size: number; error: string; message: string } | undefined;
      try {
        const page = await call('/v1/offline/page', { page: 1, pageSize: 1 }, remaining);
        t = page.list.find((x: { taskId: string }) => x.taskId === started.taskId);
        if (t === undefined) throw new Error('the task is not on the first page');
      } catch (err) {
        failedPolls++;
        if (failures.length < 5) failures.push(`offline/page at ${sinceStart().toFixed(1)} s: ${describe(err)}`);
        await sleep(POLL_MS);
        continue;
      }
      if (t.status !== last.status) timeline.push(`${sinceStart().toFixed(1)} s: status ${t.status}, progress ${t.progress}, ${mib(t.finishedSize)} MiB`);
      if (t.progress < maxProgress) {
        if (backwards++ < 5) timeline.push(`${sinceStart().toFixed(1)} s: progress went back from ${maxProgress} to ${t.progress}`);
      }
      maxProgress = Math.max(maxProgress, t.progress);
      if (bytesInAt === null && t.size > 0 && t.finishedSize >= t.size) {
        bytesInAt = sinceStart();
        timeline.push(`${bytesInAt.toFixed(1)} s: every byte in (status ${t.status}, progress ${t.progress})`);
      }
      last = t;
      if (t.status === 100) {
        seconds = sinceStart();
        outcome = 'done';
        break;
      }
      if (t.status === -1) {
        outcome = `failed: ${t.error} ${t.message}`;
        break;
      }
      await sleep(POLL_MS);
    }
    if (backwards > 0) timeline.push(`progress went back ${backwards} time(s) in all`);
    const cpu = cpuSeconds(pid) - cpu0;
    timeline.push(
      `peak open descriptors ${procs.peakFds} at ${procs.peakFdsAt.toFixed(1)} s; peak sampled RSS ${procs.peakRssMiB.toFixed(0)} MiB at ${procs.peakRssAt.toFixed(1)} s`,
    );

    // Every file in the drive, with its size (after the timed span; the sampler still runs).
    if (seconds !== null) {
      const problem = await checkDrive(call, p);
      if (problem !== null) {
        outcome = `done, but ${problem}`;
        seconds = null;
      }
    }
    await sampler.stop();
    const lat = [...sampler.latencies].sort((a, b) => a - b);
    const raw = [...sampler.raw].sort((a, b) => a - b);
    return {
      seconds,
      outcome,
      bytesInAt,
      peakRssMiB: peakRss(pid),
      peakFds: procs.peakFds,
      cpuSeconds: cpu,
      info: { p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? NaN, sent: raw.length, rawP99: percentile(raw, 99) },
      failedRequests: sampler.failures + failedPolls,
      failures: [...sampler.messages, ...failures],
      timeline,
    };
  } finally {
    await sampler?.stop();
    procs.stop();
    await server.stop();
  }
}

/** null when /bench/<name> holds every folder and file of the payload with the right sizes; else what is wrong. */
async function checkDrive(call: (path: string, body: unknown) => Promise<any>, p: Payload): Promise<string | null> {
  const root = `/bench/${p.name}`;
  const top = await call('/v1/files/page', { path: root, page: 1, pageSize: 999 });
  if (top.totalCount !== p.folders.size) return `${root} holds ${top.totalCount} entries, not ${p.folders.size} folders`;
  let bytes = 0;
  for (const [folder, count] of p.folders) {
    let files = 0;
    for (let page = 1; ; page++) {
      const r = await call('/v1/files/page', { path: `${root}/${folder}`, page, pageSize: 999 });
      for (const e of r.list as Array<{ size: number }>) {
        files++;
        bytes += e.size;
      }
      if (page >= r.totalPage) break;
    }
    if (files !== count) return `${root}/${folder} holds ${files} files, not ${count}`;
  }
  if (bytes !== p.totalBytes) return `the files hold ${bytes} bytes, not ${p.totalBytes}`;
  return null;
}

// ---- qbittorrent-nox ----

async function runQbt(p: Payload, dir: string): Promise<QbtOutcome> {
  const r = await runQbittorrent(p.torrent, p.infoHash, dir, { capMs: CAP_MS });
  if (r.seconds === null) {
    return {
      seconds: null,
      outcome: `did not finish in ${CAP_MIN} min (${r.state}, progress ${(r.progress * 100).toFixed(1)} %)`,
      peakRssMiB: r.peakRssMiB,
      cpuSeconds: r.cpuSeconds,
    };
  }
  // Every file there, with its size.
  let files = 0;
  let bytes = 0;
  for (const folder of p.folders.keys()) {
    for (const f of await readdir(join(dir, p.name, folder))) {
      files++;
      bytes += (await stat(join(dir, p.name, folder, f))).size;
    }
  }
  const want = [...p.folders.values()].reduce((a, b) => a + b, 0);
  const outcome = files === want && bytes === p.totalBytes ? 'done' : `complete, but ${files} files and ${bytes} bytes on disk`;
  return { seconds: outcome === 'done' ? r.seconds : null, outcome, peakRssMiB: r.peakRssMiB, cpuSeconds: r.cpuSeconds };
}

// ---- main ----

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

const fmt = (v: number | null, digits = 1) => (v === null || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? 'n/a' : `${(a / b).toFixed(1)}×`);

const qbtProblem = process.env.BENCH_SKIP_QBT ? 'skipped (BENCH_SKIP_QBT)' : await qbittorrentProblem();
if (qbtProblem !== null) console.error(`qbittorrent-nox: ${qbtProblem}`);
const rows: Array<Record<string, string | number>> = [];
const details: string[] = [];
const root = await mkdtemp(join(tmpdir(), 'openpan-many-files-'));
try {
  for (const c of cases) {
    const label = `${c.files.toLocaleString('en')} × ${c.bytes >= 1024 ? `${c.bytes / 1024} KiB` : `${c.bytes} B`}`;
    const seedDir = join(root, 'seed');
    await mkdir(seedDir, { recursive: true });
    const tracker = await startTracker({ intervalMs: 5000 });
    try {
      const t0 = Date.now();
      const p = await writePayload(c, seedDir, tracker.httpUrl);
      console.error(
        `${label}: ${p.folders.size} folders, ${mib(p.totalBytes)} MiB, ${Math.ceil(p.totalBytes / PIECE)} pieces of ${PIECE / 1024} KiB, torrent ${mib(p.torrent.length)} MiB; written in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      const t1 = Date.now();
      const seeder = await startAria2Seeder({ torrent: p.torrent, infoHash: p.infoHash }, seedDir, tracker);
      console.error(`${label}: aria2c seeding on 127.0.0.1:${seeder.port} (verified in ${((Date.now() - t1) / 1000).toFixed(1)} s)`);
      try {
        let q: QbtOutcome | null = null;
        if (qbtProblem === null) {
          const dir = join(root, 'qbt');
          await mkdir(dir, { recursive: true });
          q = await runQbt(p, dir);
          console.error(
            `${label}: qbittorrent-nox ${q.outcome}${q.seconds !== null ? ` in ${q.seconds.toFixed(2)} s` : ''}, peak RSS ${fmt(q.peakRssMiB, 0)} MiB, CPU ${fmt(q.cpuSeconds)} s`,
          );
          await rm(dir, { recursive: true, force: true });
        }
        const o = await runOpenpan(p);
        console.error(`${label}: openpan ${o.outcome}${o.seconds !== null ? ` in ${o.seconds.toFixed(2)} s` : ''}`);
        for (const line of o.timeline) console.error(`  ${line}`);
        details.push(
          `${label}: openpan's /v1/user/info: ${o.info.sent} requests sent, p99 of the answers alone ${o.info.rawP99.toFixed(1)} ms; ` +
            `${o.failedRequests} failed${o.failures.length > 0 ? ` (${o.failures.join('; ')})` : ''}. Timeline: ${o.timeline.join('; ')}.`,
        );
        const qSecs = q?.seconds ?? null;
        rows.push({
          torrent: label,
          'qbittorrent-nox add → complete': q === null ? 'n/a' : q.seconds !== null ? `${q.seconds.toFixed(1)} s` : q.outcome,
          'qbt peak RSS MiB': q === null ? 'n/a' : fmt(q.peakRssMiB, 0),
          'openpan start → in drive': o.seconds !== null ? `${o.seconds.toFixed(1)} s` : o.outcome,
          'every byte in (openpan)': o.bytesInAt === null ? 'n/a' : `${o.bytesInAt.toFixed(1)} s`,
          'time ÷ qbt': ratio(o.seconds, qSecs),
          'openpan peak RSS MiB': fmt(o.peakRssMiB, 0),
          'RSS ÷ qbt': ratio(o.peakRssMiB, q?.peakRssMiB ?? null),
          'peak fds': o.peakFds,
          'CPU s (openpan / qbt)': `${fmt(o.cpuSeconds)} / ${q === null ? 'n/a' : fmt(q.cpuSeconds)}`,
          'other user /v1/user/info p50 / p99 / max ms': `${o.info.p50.toFixed(1)} / ${o.info.p99.toFixed(1)} / ${o.info.max.toFixed(0)}`,
          'failed requests': o.failedRequests,
        });
      } finally {
        await seeder.close();
      }
    } finally {
      await tracker.close();
      await rm(seedDir, { recursive: true, force: true });
    }
  }
} finally {
  await rm(root, { recursive: true, force: true });
}

console.log(
  `\nTorrents of many small files in ${FOLDERS} folders (${PIECE / 1024} KiB pieces) from one local aria2c seeder (loopback), ` +
    `qbittorrent-nox then openpan (${SERVER_ENTRY === 'src' ? 'src/main.ts through tsx' : 'dist/main.js'}${NODE_FLAGS.length > 0 ? ` ${NODE_FLAGS.join(' ')}` : ''}) in the same run; cap ${CAP_MIN} min each. ` +
    `/v1/user/info: another user's, every ${SAMPLE_MS} ms through the whole server run, corrected for coordinated omission.\n`,
);
console.log(table(rows));
for (const d of details) console.log(`\n${d}`);
