// WebDAV against openpan's own paths for the same bytes, on one server, in one run:
//   GET of 1 GiB over WebDAV (/dav/…) vs the signed download address (/dl/…), both with curl;
//   PUT of 1 GiB over WebDAV (curl -T) vs the block-upload ingest of the CLI (4 parallel blocks).
// Each GET is run 3 times (median); each ingest once per contender. Ratios: WebDAV / own path.
// Usage: npm run build && node --import tsx bench/webdav.ts   (BENCH_WEBDAV_MIB to resize)
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_ADMIN_PASSWORD, post, startServerProcess, table } from './lib.js';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_WEBDAV_MIB || 1024) * MiB;
const RUNS = 3;

const work = mkdtempSync(join(tmpdir(), 'openpan-webdav-'));
const file = join(work, 'payload.bin');
const fd = openSync(file, 'w');
const chunk = Buffer.alloc(8 * MiB);
for (let written = 0; written < SIZE; written += chunk.length) writeSync(fd, randomFillSync(chunk), 0, Math.min(chunk.length, SIZE - written));
closeSync(fd);
// Every contender reads the payload from a warm page cache.
execFileSync('cat', [file], { stdio: ['ignore', 'ignore', 'inherit'] });

function seconds(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function curl(args: string[]): void {
  const run = spawnSync('curl', ['-sS', '--fail', ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`curl ${args.join(' ')} failed: ${run.stderr}`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const server = await startServerProcess();
try {
  const { result: app } = await post(server.url, '/v1/user/appPassword/create', { name: 'bench' }, server.token);
  const user = `admin:${app.password}`;
  const env = { ...process.env, OPENPAN_CLI_CONFIG: join(work, 'cli.json') };
  execFileSync(process.execPath, ['dist/cli/main.js', 'login', server.url, '--name', 'admin', '--password', BENCH_ADMIN_PASSWORD], { env, stdio: 'ignore' });

  // Ingest: the CLI's block upload into /blocks, then a WebDAV PUT of other bytes (the same
  // bytes would be stored once: the second ingest would skip the store's rename).
  const blockIngest = seconds(() => {
    const run = spawnSync(process.execPath, ['dist/cli/main.js', 'upload', file, '--to', '/blocks', '--parallel', '4'], { env, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`upload failed: ${run.stderr}`);
  });
  // One byte changed: new content, same size.
  const other = join(work, 'other.bin');
  execFileSync('cp', [file, other]);
  const handle = openSync(other, 'r+');
  writeSync(handle, Buffer.from([0xff, 0x00, 0xff]), 0, 3, 0);
  closeSync(handle);
  execFileSync('cat', [other], { stdio: ['ignore', 'ignore', 'inherit'] });
  const davPut = seconds(() => curl(['-u', user, '-T', other, `${server.url}/dav/put.bin`]));

  // Downloads of the same stored file.
  // A keep-alive connection idle through the ingests may be closing just as it is reused: once more.
  const ask = () => post(server.url, '/v1/files/download', { path: '/blocks/payload.bin' }, server.token);
  const { result: link } = await ask().catch(ask);
  const dl: number[] = [];
  const dav: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    dl.push(seconds(() => curl(['-o', '/dev/null', link.downloadAddress])));
    dav.push(seconds(() => curl(['-u', user, '-o', '/dev/null', `${server.url}/dav/blocks/payload.bin`])));
  }

  const mib = SIZE / MiB;
  const rows = [
    { what: `GET /dl (curl, median of ${RUNS})`, seconds: median(dl), 'MiB/s': mib / median(dl) },
    { what: `GET /dav (curl, median of ${RUNS})`, seconds: median(dav), 'MiB/s': mib / median(dav) },
    { what: 'block upload (CLI etag + 4 parallel blocks, fsync)', seconds: blockIngest, 'MiB/s': mib / blockIngest },
    { what: 'PUT /dav (curl -T, hashed as it arrives, fsync)', seconds: davPut, 'MiB/s': mib / davPut },
  ];
  console.log(`WebDAV vs openpan's own paths, ${mib} MiB of random data, loopback, warm page cache`);
  console.log(table(rows));
  console.log(`ratio GET /dav / GET /dl: ${(median(dav) / median(dl)).toFixed(2)} (goal ≤ 1.2)`);
  console.log(`ratio PUT /dav / block upload: ${(davPut / blockIngest).toFixed(2)} (goal ≤ 1.3)`);
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
