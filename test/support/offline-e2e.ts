// Shared pieces of the offline end-to-end tests (test/offline/e2e-*.test.ts): a drive client on
// top of test/support/server.ts's Client, polling, torrents built from raw bencode values, a
// seeder that serves a torrent's bytes from memory and counts what it uploads, and a whole swarm
// (tracker, torrent, seeder) in one call.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeBencode, RawBencode, type BEncodable } from '../../src/torrent/bencode.js';
import { Client } from './server.js';
import {
  makeTorrent,
  outsideClientOptions,
  startTracker,
  startWebTorrentSeeder,
  type BuiltTorrent,
  type PayloadFile,
  type Seeder,
  type TorrentOptions,
  type Tracker,
} from './swarm.js';
import { etagOf, fileOf, formUpload } from './upload.js';

const require = createRequire(import.meta.url);

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const TIMEOUT = 180_000;

// ---- drive client ----

/** Registers and logs in a user on any server (in process or child process). */
export async function userAt(url: string, name: string): Promise<Client> {
  const password = `${name}-Passw0rd`;
  await new Client(url).call('/v1/user/register', { name, password });
  return new Client(url).login(name, password);
}

/** Uploads `data` as `name` into the caller's `:torrent` folder; returns the file object. */
export async function uploadTorrent(client: Client, name: string, data: Buffer): Promise<any> {
  const t = await client.call('/v1/store/token', { name, hash: etagOf(data), path: ':torrent' });
  if ('uuid' in t) return t; // instant upload
  return fileOf(await formUpload(t.uploadUrl, t.token, data));
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = TIMEOUT, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export async function task(client: Client, taskId: string): Promise<any> {
  const page = await client.call('/v1/offline/page', { page: 1, pageSize: 100 });
  return page.list.find((t: any) => t.taskId === taskId);
}

export async function waitDone(client: Client, taskId: string, timeoutMs = TIMEOUT): Promise<any> {
  return waitFor(
    `task ${taskId} to finish`,
    async () => {
      const t = await task(client, taskId);
      if (t?.status === -1) throw new Error(`task failed: ${t.error} ${t.message}`);
      return t?.status === 100 ? t : undefined;
    },
    timeoutMs,
  );
}

export async function download(client: Client, path: string): Promise<Buffer> {
  const { downloadAddress } = await client.call('/v1/files/download', { path });
  const res = await fetch(downloadAddress);
  assert.equal(res.status, 200, `download ${path}`);
  return Buffer.from(await res.arrayBuffer());
}

/** The drive holds exactly these bytes at `path` (size, etag computed here, downloaded bytes). */
export async function assertFile(client: Client, path: string, data: Buffer): Promise<void> {
  const file = await client.call('/v1/files/get', { path });
  assert.equal(file.type, 0, path);
  assert.equal(file.size, data.length, path);
  assert.equal(file.storeId, etagOf(data), path);
  assert.ok((await download(client, path)).equals(data), `bytes of ${path}`);
}

/** Every entry of a directory, all pages. */
export async function listAll(client: Client, path: string): Promise<any[]> {
  const out: any[] = [];
  for (let start = 0; ; ) {
    const list: any[] = await client.call('/v1/files/list', { path, start, size: 500 });
    out.push(...list);
    start += list.length;
    if (list.length < 500) return out;
  }
}

export async function names(client: Client, path: string): Promise<string[]> {
  return (await listAll(client, path)).map((f: any) => f.name).sort();
}

export interface DriveEntry {
  path: string;
  type: number;
  size: number;
  storeId: string;
}

/** The whole subtree under `path` (entries' paths as the server reports them), depth first. */
export async function walkDrive(client: Client, path: string): Promise<DriveEntry[]> {
  const out: DriveEntry[] = [];
  for (const e of await listAll(client, path)) {
    out.push({ path: e.path, type: e.type, size: e.size, storeId: e.storeId ?? '' });
    if (e.type !== 0) out.push(...(await walkDrive(client, e.path)));
  }
  return out;
}

/** The jobs' working directories (not `.staging`, where verified files pass on their way into the store). */
export function offlineDirs(dataDir: string): string[] {
  const dir = join(dataDir, 'offline');
  return existsSync(dir) ? readdirSync(dir).filter((name) => !name.startsWith('.')) : [];
}

/** Every regular file under `root`, as paths relative to it. */
export function walkDisk(root: string, rel = ''): string[] {
  const out: string[] = [];
  if (!existsSync(join(root, rel))) return out;
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...walkDisk(root, p));
    else out.push(p);
  }
  return out;
}

// ---- torrents from raw values ----

export interface RawFileSpec {
  /** Path segments as they go into the torrent: text (UTF-8) or raw bytes. */
  path: Array<string | Buffer>;
  bytes: Buffer;
}

export interface RawTorrent {
  torrent: Buffer;
  infoHash: string;
  /** The v1 byte stream: every file's bytes, concatenated in order. */
  stream: Buffer;
  size: number;
}

/** A multi-file v1 torrent with real SHA-1 pieces, exactly the given segments and name bytes. */
export function rawTorrent(opts: {
  name: string | Buffer;
  files: RawFileSpec[];
  announce: string;
  pieceLength?: number;
  root?: Record<string, BEncodable>;
}): RawTorrent {
  const pieceLength = opts.pieceLength ?? 16 * KiB;
  const stream = Buffer.concat(opts.files.map((f) => f.bytes));
  const hashes: Buffer[] = [];
  for (let o = 0; o < stream.length; o += pieceLength)
    hashes.push(
      createHash('sha1')
        .update(stream.subarray(o, o + pieceLength))
        .digest(),
    );
  const info = {
    name: opts.name,
    'piece length': pieceLength,
    pieces: Buffer.concat(hashes),
    files: opts.files.map((f) => ({ length: f.bytes.length, path: f.path })),
  };
  const infoBytes = encodeBencode(info);
  const torrent = encodeBencode({ announce: opts.announce, ...opts.root, info: new RawBencode(infoBytes) });
  return { torrent, infoHash: createHash('sha1').update(infoBytes).digest('hex'), stream, size: stream.length };
}

// ---- an in-memory seeder that counts its uploads ----

/**
 * A chunk store (the abstract-chunk-store interface WebTorrent uses) over the torrent's whole
 * byte stream in memory: the seeder never touches the filesystem, so hostile or non-UTF-8 paths
 * in a torrent cannot make it write anywhere, and the test need not lay the payload out on disk.
 */
function streamStore(stream: Buffer) {
  return function StreamStore(this: any, chunkLength: number) {
    return {
      chunkLength,
      put(_index: number, _buf: Buffer, cb: (err: Error | null) => void = () => {}) {
        queueMicrotask(() => cb(null));
      },
      get(index: number, opts: any, cb?: (err: Error | null, buf?: Buffer) => void) {
        if (typeof opts === 'function') [cb, opts] = [opts, null];
        const start = index * chunkLength + (opts?.offset ?? 0);
        const end = Math.min(index * chunkLength + chunkLength, stream.length);
        const length = opts?.length ?? end - start;
        const buf = stream.subarray(start, start + length);
        queueMicrotask(() => cb?.(null, buf));
      },
      close(cb: (err: Error | null) => void = () => {}) {
        queueMicrotask(() => cb(null));
      },
      destroy(cb: (err: Error | null) => void = () => {}) {
        queueMicrotask(() => cb(null));
      },
    };
  };
}

export interface CountingSeeder {
  /** Piece bytes sent to peers so far (WebTorrent's own count, protocol overhead excluded). */
  uploaded(): number;
  close(): Promise<void>;
}

const WebTorrent = require('webtorrent') as new (opts: object) => any;

/**
 * Seeds `torrent` from `stream` (its bytes in memory), announcing to its trackers only; DHT/LSD/uTP off.
 * `partial`: `stream` is wrong in places, and the peer offers only the pieces it holds right.
 */
export async function startCountingSeeder(
  torrent: Buffer,
  stream: Buffer,
  infoHash: string,
  tracker: Tracker,
  { partial = false } = {},
): Promise<CountingSeeder> {
  const client = new WebTorrent(outsideClientOptions());
  client.on('error', () => {});
  const t = client.add(torrent, { path: '/nonexistent-openpan-seeder', store: streamStore(stream), storeCacheSlots: 0 });
  t.on('error', () => {});
  t.on('warning', () => {});
  await new Promise<void>((res) => t.once('ready', res));
  if (partial) {
    assert.ok(t.progress > 0 && t.progress < 1, `the partial seeder holds part of the payload (${t.progress})`);
    await waitFor('the partial seeder to announce', async () => tracker.announcers(infoHash) > 0, 30_000, 50);
  } else {
    assert.equal(t.progress, 1, 'the seeder verified its whole payload');
    await tracker.waitForSeeders(infoHash);
  }
  return {
    uploaded: () => t.uploaded as number,
    close: () => new Promise<void>((res) => client.destroy(() => res())),
  };
}

// ---- a whole swarm: tracker, torrent, one seeder ----

export interface SwarmOptions extends Omit<TorrentOptions, 'announce'> {
  /** Seed with startWebTorrentSeeder from the payload written to a temporary directory, not from memory. */
  seedFromDisk?: boolean;
}

export interface Swarm<S = CountingSeeder> {
  tracker: Tracker;
  /** Announces to `tracker` only. */
  built: BuiltTorrent;
  seeder: S;
  /** Every file's bytes in torrent order (the v1 byte stream). */
  payload: Buffer;
  /** Stops the seeder, then the tracker, and removes a seed directory; a second call waits for the first. */
  close(): Promise<void>;
}

/** A tracker on loopback, a torrent of `files` announcing to it, and a seeder the tracker already counts. */
export async function startSwarm(files: PayloadFile[], opts: SwarmOptions & { seedFromDisk: true }): Promise<Swarm<Seeder>>;
export async function startSwarm(files: PayloadFile[], opts?: SwarmOptions & { seedFromDisk?: false }): Promise<Swarm<CountingSeeder>>;
export async function startSwarm(files: PayloadFile[], { seedFromDisk = false, ...torrentOpts }: SwarmOptions = {}): Promise<Swarm<Seeder | CountingSeeder>> {
  const tracker = await startTracker();
  const built = makeTorrent(files, { ...torrentOpts, announce: [tracker.httpUrl] });
  const payload = Buffer.concat(files.map((f) => f.bytes));
  const seedDir = seedFromDisk ? mkdtempSync(join(tmpdir(), 'openpan-seed-')) : null;
  const removeSeedDir = () => seedDir !== null && rmSync(seedDir, { recursive: true, force: true });
  let seeder: Seeder | CountingSeeder;
  try {
    seeder =
      seedDir === null ? await startCountingSeeder(built.torrent, payload, built.infoHash, tracker) : await startWebTorrentSeeder(built, seedDir, tracker);
  } catch (err) {
    await tracker.close();
    removeSeedDir();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = async () => {
    await seeder.close();
    await tracker.close();
    removeSeedDir();
  };
  return { tracker, built, seeder, payload, close: () => (stopping ??= stop()) };
}
