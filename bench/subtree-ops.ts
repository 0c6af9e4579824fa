// Another user's /v1/user/info while one user copies and then removes a directory of 100,000
// entries: the copy and the removal run in slices (src/files/subtree-chunks.ts), so the other
// user's requests wait for at most one slice, not for the whole operation.
// Usage: npm run build && node --import tsx bench/subtree-ops.ts [ENTRIES]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpenPan } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { etagOf } from '../src/store/etag.js';
import { BENCH_ADMIN_PASSWORD, percentile, post, startServerProcess, table } from './lib.js';

const ENTRIES = Number(process.argv[2] || 100_000);
const PER_DIR = 1000;

// The tree is made directly through the files service (an import would make it the same way),
// then the server runs on that data directory as its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'openpan-bench-'));
{
  const env = { ...process.env, OPENPAN_DATA_DIR: dataDir, OPENPAN_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, OPENPAN_LOG_LEVEL: 'warn', OPENPAN_BT_DHT: '0' };
  const openpan = await createOpenPan(loadConfig(env));
  await openpan.users.ensureAdmin('admin', BENCH_ADMIN_PASSWORD);
  const owner = await openpan.users.create('owner', 'owner-Passw0rd');
  await openpan.users.create('other', 'other-Passw0rd');
  const t0 = Date.now();
  for (let d = 0; d * PER_DIR < ENTRIES; d++) {
    const dir = await openpan.files.ensureDir(owner.id, { path: `/big/d${d}` });
    const count = Math.min(PER_DIR, ENTRIES - d * PER_DIR);
    const inputs = Array.from({ length: count }, (_, i) => {
      const text = `content ${i % 97}`;
      return { dir, name: `f${i}.txt`, etag: etagOf(Buffer.from(text)), size: text.length, onConflict: 'error' as const };
    });
    const { error } = await openpan.files.createFiles(owner.id, inputs);
    if (error) throw error;
  }
  console.log(`made /big: ${ENTRIES} files in ${Math.ceil(ENTRIES / PER_DIR)} folders in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await openpan.close();
}

const server = await startServerProcess({}, { dataDir });
const owner = (await post(server.url, '/v1/user/login', { name: 'owner', password: 'owner-Passw0rd' })).token as string;
const other = (await post(server.url, '/v1/user/login', { name: 'other', password: 'other-Passw0rd' })).token as string;

/** Latencies (ms, sorted) of the other user's /v1/user/info, one after another, while `work` runs. */
async function probeDuring(work: () => Promise<unknown>): Promise<{ workMs: number; latencies: number[] }> {
  let running = true;
  const latencies: number[] = [];
  const probing = (async () => {
    while (running) {
      const t = performance.now();
      await post(server.url, '/v1/user/info', {}, other);
      latencies.push(performance.now() - t);
    }
  })();
  const t0 = performance.now();
  await work();
  const workMs = performance.now() - t0;
  running = false;
  await probing;
  return { workMs, latencies: latencies.sort((a, b) => a - b) };
}

try {
  const idle = await probeDuring(() => new Promise((r) => setTimeout(r, 3000)));
  await post(server.url, '/v1/files/createDirectory', { path: '/copies' }, owner);
  await post(server.url, '/v1/files/createDirectory', { path: '/moved' }, owner);
  const copy = await probeDuring(() => post(server.url, '/v1/files/copy', { path: ['/big'], destPath: '/copies' }, owner));
  const move = await probeDuring(() => post(server.url, '/v1/files/move', { path: ['/copies/big'], destPath: '/moved' }, owner));
  const toBin = await probeDuring(() => post(server.url, '/v1/files/remove', { path: ['/moved/big'] }, owner));
  const binUuid = () => post(server.url, '/v1/recycle/page', {}, owner).then((page) => (page.result.list as { uuid: string }[])[0].uuid);
  const uuid = await binUuid();
  const restore = await probeDuring(() => post(server.url, '/v1/recycle/restore', { uuid: [uuid] }, owner));
  await post(server.url, '/v1/files/remove', { path: ['/moved/big'] }, owner);
  const purgeUuid = await binUuid();
  const purge = await probeDuring(() => post(server.url, '/v1/recycle/purge', { uuid: [purgeUuid] }, owner));
  await post(server.url, '/v1/files/copy', { path: ['/big'], destPath: '/copies' }, owner);
  const remove = await probeDuring(() => post(server.url, '/v1/files/remove', { path: ['/copies/big'], permanent: true }, owner));
  const row = (what: string, r: { workMs: number; latencies: number[] }) => ({
    'while the owner': what,
    'operation s': r.workMs / 1000,
    'other user requests': r.latencies.length,
    'p50 ms': percentile(r.latencies, 50),
    'p99 ms': percentile(r.latencies, 99),
    'max ms': r.latencies[r.latencies.length - 1],
  });
  console.log(`Another user's /v1/user/info, one request at a time, while the owner works on a directory of ${ENTRIES} entries`);
  console.log(
    table([
      row('does nothing (3 s)', idle),
      row(`copies it (${ENTRIES} entries)`, copy),
      row('moves the copy to another folder', move),
      row('removes the copy into the recycle bin', toBin),
      row('restores it from the bin', restore),
      row('purges it from the bin', purge),
      row('removes a copy for good', remove),
    ]),
  );
} finally {
  await server.stop();
}
