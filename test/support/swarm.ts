// A real BitTorrent swarm on loopback for the engine tests and benches: an in-process tracker
// (bittorrent-tracker, HTTP + UDP), torrents built from payloads, an in-process WebTorrent seeder,
// an aria2c seeder (an implementation nobody here wrote) and an HTTP web seed with Range support.
// Everything binds to 127.0.0.1 (the UDP tracker's IPv6 socket to ::1); DHT, LSD, PEX and uTP
// are off everywhere, so nothing leaves the machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { Agent as HttpAgent, createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeBencode, RawBencode } from '../../src/torrent/index.js';
import { freePort } from './ports.js';

export { freePort };

const require = createRequire(import.meta.url);

// ---- tracker ----

interface TrackerSwarm {
  complete: number;
  incomplete: number;
}

interface TrackerServer {
  http: HttpServer;
  udp4: { address(): AddressInfo };
  torrents: Record<string, TrackerSwarm | undefined>;
  listen(port: { http: number; udp: number }, host: { http: string; udp: string; udp6: string }, cb: () => void): void;
  close(cb: () => void): void;
  on(event: 'error' | 'warning', listener: (err: Error) => void): void;
  on(event: 'start' | 'update' | 'complete' | 'stop', listener: (addr: unknown, params: { info_hash?: string; peer_id?: string }) => void): void;
}

const { Server } = require('bittorrent-tracker') as {
  Server: new (opts: { http: boolean; udp: boolean; ws: boolean; stats: boolean; interval: number }) => TrackerServer;
};

export interface Tracker {
  /** `http://127.0.0.1:PORT/announce` */
  httpUrl: string;
  /** `udp://127.0.0.1:PORT` */
  udpUrl: string;
  /** Peers that announced `left=0` / `left>0` for the info hash (hex). */
  counts(infoHash: string): { seeders: number; leechers: number };
  /** Distinct peer ids that ever announced the info hash here (any event). */
  announcers(infoHash: string): number;
  /** Resolves when at least `n` seeders have announced the info hash. */
  waitForSeeders(infoHash: string, n?: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** An in-process tracker on 127.0.0.1 or `host` (HTTP and UDP, random ports, no WebSocket, no stats page). */
export async function startTracker(opts: { intervalMs?: number; host?: string } = {}): Promise<Tracker> {
  const host = opts.host ?? '127.0.0.1';
  const server = new Server({ http: true, udp: true, ws: false, stats: false, interval: opts.intervalMs ?? 2000 });
  server.on('error', () => {});
  server.on('warning', () => {});
  const announcers = new Map<string, Set<string>>();
  for (const event of ['start', 'update', 'complete', 'stop'] as const) {
    server.on(event, (_addr: unknown, params: { info_hash?: string; peer_id?: string }) => {
      if (params?.info_hash === undefined) return;
      let set = announcers.get(params.info_hash);
      if (set === undefined) {
        set = new Set();
        announcers.set(params.info_hash, set);
      }
      set.add(String(params.peer_id));
    });
  }
  await new Promise<void>((res) => server.listen({ http: 0, udp: 0 }, { http: host, udp: host, udp6: '::1' }, res));
  const httpPort = (server.http.address() as AddressInfo).port;
  const udpPort = server.udp4.address().port;
  const counts = (infoHash: string) => {
    const swarm = server.torrents[infoHash.toLowerCase()];
    return { seeders: swarm?.complete ?? 0, leechers: swarm?.incomplete ?? 0 };
  };
  return {
    httpUrl: `http://${host}:${httpPort}/announce`,
    udpUrl: `udp://${host}:${udpPort}`,
    counts,
    announcers: (infoHash) => announcers.get(infoHash.toLowerCase())?.size ?? 0,
    async waitForSeeders(infoHash, n = 1, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      while (counts(infoHash).seeders < n) {
        if (Date.now() > until) throw new Error(`tracker: fewer than ${n} seeder(s) for ${infoHash} after ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}

// ---- torrents ----

export interface PayloadFile {
  /** Path inside the torrent, '/'-separated (for a multi-file torrent, below its folder). */
  path: string;
  bytes: Buffer;
}

export interface TorrentOptions {
  announce: string[];
  urlList?: string[];
  /** Default 16 KiB: small payloads still get many pieces. */
  pieceLength?: number;
  /** Torrent name. A single file without `name` makes a single-file torrent named after it. */
  name?: string;
}

export interface BuiltTorrent {
  torrent: Buffer;
  infoHash: string;
  name: string;
  /** True for a single-file torrent (`info.length`), false for `info.files`. */
  single: boolean;
  files: PayloadFile[];
}

/** A v1 torrent for the given files (order kept), encoded by openpan's own bencode encoder. */
export function makeTorrent(files: PayloadFile[], opts: TorrentOptions): BuiltTorrent {
  const pieceLength = opts.pieceLength ?? 16 * 1024;
  const single = files.length === 1 && opts.name === undefined && !files[0].path.includes('/');
  const name = opts.name ?? (single ? files[0].path : 'payload');
  const hashes: Buffer[] = [];
  let carry = Buffer.alloc(0);
  for (const file of files) {
    // A piece may span files: finish the previous file's partial piece with this file's head.
    let at = 0;
    if (carry.length > 0) {
      at = Math.min(pieceLength - carry.length, file.bytes.length);
      carry = Buffer.concat([carry, file.bytes.subarray(0, at)]);
      if (carry.length < pieceLength) continue;
      hashes.push(sha1(carry));
      carry = Buffer.alloc(0);
    }
    for (; at + pieceLength <= file.bytes.length; at += pieceLength) hashes.push(sha1(file.bytes.subarray(at, at + pieceLength)));
    carry = Buffer.from(file.bytes.subarray(at));
  }
  if (carry.length > 0) hashes.push(sha1(carry));
  const info = {
    name,
    'piece length': pieceLength,
    pieces: Buffer.concat(hashes),
    ...(single ? { length: files[0].bytes.length } : { files: files.map((f) => ({ length: f.bytes.length, path: f.path.split('/') })) }),
  };
  const infoBytes = encodeBencode(info);
  const torrent = encodeBencode({
    announce: opts.announce[0],
    'announce-list': opts.announce.map((url) => [url]),
    'url-list': opts.urlList,
    info: new RawBencode(infoBytes),
  });
  return { torrent, infoHash: createHash('sha1').update(infoBytes).digest('hex'), name, single, files };
}

function sha1(data: Buffer): Buffer {
  return createHash('sha1').update(data).digest();
}

/** Writes the payload where BitTorrent clients expect it under `dir`: `name` or `name/path`. */
export async function writePayload(dir: string, built: BuiltTorrent): Promise<void> {
  for (const file of built.files) {
    const path = built.single ? join(dir, built.name) : join(dir, built.name, ...file.path.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.bytes);
  }
}

// ---- seeders ----

export interface Seeder {
  port: number;
  close(): Promise<void>;
}

interface WtSeedTorrent {
  on(event: 'ready' | 'trackerAnnounce', listener: () => void): void;
  on(event: 'error' | 'warning', listener: (err: Error) => void): void;
  once(event: 'ready' | 'trackerAnnounce', listener: () => void): void;
}
interface WtSeedClient {
  add(torrent: Buffer, opts: { path: string }): WtSeedTorrent;
  address(): AddressInfo | null;
  on(event: 'error', listener: (err: Error) => void): void;
  destroy(cb: () => void): void;
}
const WebTorrent = require('webtorrent') as new (opts: object) => WtSeedClient;

/**
 * Options of the tests' own WebTorrent clients (seeders): the outside world of the server under
 * test, trackers only, with agents of their own. An engine with an address policy makes its
 * guarded agents the process's defaults while it runs; a seeder in the same test process must
 * not announce through them.
 */
export function outsideClientOptions(): object {
  return { dht: false, lsd: false, utp: false, webSeeds: false, tracker: { proxyOpts: { httpAgent: new HttpAgent(), httpsAgent: new HttpsAgent() } } };
}

/**
 * An in-process WebTorrent seeder: writes the payload into `dir`, verifies it, and announces to
 * the torrent's trackers only. Resolves once the tracker counts it as a seeder.
 */
export async function startWebTorrentSeeder(built: BuiltTorrent, dir: string, tracker: Tracker): Promise<Seeder> {
  await writePayload(dir, built);
  const client = new WebTorrent(outsideClientOptions());
  client.on('error', () => {});
  const torrent = client.add(built.torrent, { path: dir });
  torrent.on('error', () => {});
  torrent.on('warning', () => {});
  await new Promise<void>((res) => torrent.once('ready', res));
  await tracker.waitForSeeders(built.infoHash);
  return {
    port: client.address()?.port ?? 0,
    close: () => new Promise<void>((res) => client.destroy(res)),
  };
}

export interface Aria2Options {
  /** Upload cap for the seeder, bytes/s (0: none). Lets a test catch a download half-way. */
  uploadLimit?: number;
  /** Where aria2c's log goes (default: discarded). */
  logFile?: string;
  /** Minutes aria2c seeds after verifying (default 120); `Infinity`: until `close()`, for runs longer than that. */
  seedMinutes?: number;
  /** Files aria2c keeps open at once, over all its torrents (default: aria2c's own, 100). */
  maxOpenFiles?: number;
  /** How long each torrent may take to be counted as a seeder by the tracker (default 120 s). */
  readyTimeoutMs?: number;
}

/** A torrent to seed: its metainfo, and its info hash to find it on the tracker. */
export type SeedTorrent = Pick<BuiltTorrent, 'torrent' | 'infoHash'>;

/**
 * An aria2c seeder over the payload already in `dir` (see `writePayload`): it verifies it (-V)
 * and seeds, announcing every second to the torrent's trackers. DHT, PEX and local peer
 * discovery are off, sockets are bound to 127.0.0.1. Resolves once the tracker counts it as a
 * seeder; `close()` kills it.
 */
export async function startAria2Seeder(built: SeedTorrent, dir: string, tracker: Tracker, opts: Aria2Options = {}): Promise<Seeder> {
  return startAria2SeederForAll([built], dir, tracker, opts);
}

/**
 * One aria2c process seeding every torrent given, as `startAria2Seeder` seeds one: a bench with
 * hundreds of torrents needs one process, not hundreds. The payloads must already be in `dir`.
 * Resolves once the tracker counts it as a seeder of each; `close()` kills it.
 */
export async function startAria2SeederForAll(torrents: readonly SeedTorrent[], dir: string, tracker: Tracker, opts: Aria2Options = {}): Promise<Seeder> {
  const torrentPaths: string[] = [];
  for (const built of torrents) {
    const torrentPath = join(dir, `${built.infoHash}.torrent`);
    await writeFile(torrentPath, built.torrent);
    torrentPaths.push(torrentPath);
  }
  const port = await freePort();
  const child = spawn('aria2c', aria2SeedArgs(dir, port, torrentPaths, opts), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  child.once('error', () => {});
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  try {
    await Promise.race([
      (async () => {
        for (const built of torrents) await tracker.waitForSeeders(built.infoHash, 1, readyTimeoutMs);
      })(),
      exited.then((code) => {
        throw new Error(`aria2c exited (${code}) before seeding: ${stderr.trim()}`);
      }),
    ]);
  } catch (err) {
    await kill(child);
    throw err;
  }
  return { port, close: () => kill(child) };
}

/**
 * The one aria2c command line of the seeders here, so that a seeder of one torrent and a seeder
 * of hundreds differ only in what `opts` asks for: all torrents active at once, nothing found or
 * announced off loopback.
 */
function aria2SeedArgs(dir: string, port: number, torrentPaths: readonly string[], opts: Aria2Options): string[] {
  const seedMinutes = opts.seedMinutes ?? 120;
  return [
    '--no-conf=true',
    '--enable-rpc=false',
    `--dir=${dir}`,
    '--check-integrity=true',
    '--bt-seed-unverified=false',
    '--seed-ratio=0.0',
    ...(Number.isFinite(seedMinutes) ? [`--seed-time=${seedMinutes}`] : []),
    '--enable-dht=false',
    '--enable-dht6=false',
    '--enable-peer-exchange=false',
    '--bt-enable-lpd=false',
    '--bt-tracker-interval=1',
    `--listen-port=${port}`,
    '--interface=127.0.0.1',
    '--disable-ipv6=true',
    '--file-allocation=none',
    '--bt-max-peers=0',
    `--max-overall-upload-limit=${opts.uploadLimit ?? 0}`,
    ...(torrentPaths.length > 1 ? [`--max-concurrent-downloads=${torrentPaths.length}`] : []),
    ...(opts.maxOpenFiles === undefined ? [] : [`--bt-max-open-files=${opts.maxOpenFiles}`]),
    '--summary-interval=0',
    '--console-log-level=warn',
    '--quiet=true',
    ...(opts.logFile === undefined ? [] : [`--log=${opts.logFile}`, '--log-level=info']),
    ...torrentPaths,
  ];
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

// ---- web seed ----

export interface WebSeed {
  /** `http://127.0.0.1:PORT/` — append the torrent name for a single-file torrent. */
  baseUrl: string;
  /** Requests served, for assertions that the web seed was really used. */
  requests: number;
  close(): Promise<void>;
}

/** A static file server over `root` with single-range support (what BEP 19 web seeds need). */
export async function startWebSeed(root: string): Promise<WebSeed> {
  const base = resolve(root);
  const seed: WebSeed = { baseUrl: '', requests: 0, close: async () => {} };
  const server = createHttpServer((req, res) => {
    seed.requests++;
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = resolve(base, '.' + decodeURIComponent(url.pathname));
      if (path !== base && !path.startsWith(base + sep)) return void res.writeHead(403).end();
      const st = await stat(path).catch(() => null);
      if (st === null || !st.isFile()) return void res.writeHead(404).end();
      const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
      if (range === null) {
        res.writeHead(200, { 'content-length': st.size, 'accept-ranges': 'bytes' });
        return void createReadStream(path).pipe(res);
      }
      const start = range[1] === '' ? Math.max(0, st.size - Number(range[2])) : Number(range[1]);
      const end = range[1] === '' || range[2] === '' ? st.size - 1 : Math.min(Number(range[2]), st.size - 1);
      if (start > end || start >= st.size) return void res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end();
      res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${st.size}`, 'accept-ranges': 'bytes' });
      createReadStream(path, { start, end }).pipe(res);
    })();
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  seed.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  seed.close = () =>
    new Promise<void>((res) => {
      server.closeAllConnections();
      server.close(() => res());
    });
  return seed;
}
