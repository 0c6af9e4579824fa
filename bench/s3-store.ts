// The S3 store against the local-disk store, one process, s3rver on 127.0.0.1 (a loopback stand-in
// for a real object store: figures show the driver's own cost, not a network's): importing a
// 512 MiB file (hash + multipart upload, 8 MiB parts, 4 in flight) and reading it back whole, with
// the process's peak RSS above its baseline, which must stay in the tens of MiB whatever the size.
//
//   node --import tsx bench/s3-store.ts        (BENCH_S3_MIB=1024 for another size)
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from '../src/store/blob-store.js';
import { LocalDiskBlobStore } from '../src/store/local-disk.js';
import { S3BlobStore, s3ClientFor } from '../src/store/s3.js';
import { startS3 } from '../test/support/s3-server.js';

const MiB = 1024 * 1024;
const size = Number(process.env.BENCH_S3_MIB ?? 512) * MiB;

async function makeFile(dir: string): Promise<string> {
  const path = join(dir, 'source.bin');
  const chunk = randomBytes(16 * MiB);
  const parts: Buffer[] = [];
  for (let written = 0; written < size; written += chunk.length) parts.push(chunk.subarray(0, Math.min(chunk.length, size - written)));
  await writeFile(path, parts);
  return path;
}

async function measure(name: string, store: BlobStore, dir: string): Promise<void> {
  const source = await makeFile(dir);
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  const info = await store.importFile(source);
  const t1 = performance.now();
  let read = 0;
  for await (const chunk of await store.read(info.etag)) read += (chunk as Buffer).length;
  const t2 = performance.now();
  clearInterval(sampler);
  if (read !== size) throw new Error(`read ${read} bytes of ${size}`);
  const mbps = (ms: number) => ((size / MiB / ms) * 1000).toFixed(0);
  console.log(
    `${name}: import ${((t1 - t0) / 1000).toFixed(2)} s (${mbps(t1 - t0)} MiB/s), read back ${((t2 - t1) / 1000).toFixed(2)} s (${mbps(t2 - t1)} MiB/s), peak RSS +${((peak - base) / MiB).toFixed(0)} MiB`,
  );
  await store.delete(info.etag);
}

const dir = await mkdtemp(join(tmpdir(), 'openpan-bench-s3-'));
const s3 = await startS3();
try {
  console.log(`${size / MiB} MiB, ${process.version}`);
  await measure('local disk', new LocalDiskBlobStore(join(dir, 'blobs')), dir);
  const client = s3ClientFor(s3.location());
  await measure('S3 (s3rver)', new S3BlobStore({ client, bucket: s3.bucket, prefix: 'bench/', scratchDir: join(dir, 'scratch') }), dir);
  client.destroy();
} finally {
  await s3.close();
  await rm(dir, { recursive: true, force: true });
}
