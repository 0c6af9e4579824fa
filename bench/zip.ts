// Memory while a server streams a zip of a large folder: the archive is built as it is read
// (one chunk of content at a time, stored entries, sizes known up front), so RSS should stay
// flat however large the folder. A server in this process (test/support/server.ts) gets a
// folder of BENCH_ZIP_GIB (default 10) files of 1 GiB — zeros in a sparse file imported
// through the content store, one content for all (as dedup keeps it) — and this process
// downloads /v1/files/zip of it over loopback, counting the bytes, while it samples its own
// RSS every 100 ms. The client only counts, so the figure is the server's streaming cost.
// Usage: node --import tsx bench/zip.ts
import { startServer } from '../test/support/server.js';
import { storeSparseFile } from '../test/support/zip.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const FILES = Math.max(1, Math.round(Number(process.env.BENCH_ZIP_GIB || 10)));

const server = await startServer();
try {
  const user = await server.newUser('bench');
  await server.openpan.db
    .updateTable('users')
    .set({ space_capacity: 1024 * GiB })
    .execute();
  const info = await storeSparseFile(server, user, '/bench-zip/part-0.bin', GiB);
  const identity = (await user.call('/v1/user/info')).identity as number;
  const dir = await server.openpan.files.ensureDir(identity, { path: '/bench-zip' });
  for (let i = 1; i < FILES; i++) {
    await server.openpan.files.createFile(identity, { dir, name: `part-${i}.bin`, etag: info.etag, size: info.size, onConflict: 'error' });
  }
  global.gc?.();
  const before = process.memoryUsage().rss;
  const link = await user.call('/v1/files/zip', { path: '/bench-zip' });
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  const started = process.hrtime.bigint();
  const res = await fetch(link.downloadAddress);
  const announced = Number(res.headers.get('content-length'));
  let received = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) received += chunk.length;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  if (received !== announced) throw new Error(`received ${received} bytes of the ${announced} announced`);
  console.log('| folder | archive | time | rate | RSS before | peak RSS while zipping |');
  console.log('|---|---|---|---|---|---|');
  console.log(
    `| ${FILES} × 1 GiB | ${(received / GiB).toFixed(2)} GiB | ${seconds.toFixed(1)} s | ${(received / MiB / seconds).toFixed(0)} MiB/s | ` +
      `${(before / MiB).toFixed(0)} MiB | ${(peak / MiB).toFixed(0)} MiB |`,
  );
} finally {
  await server.close();
}
