// Magnet link → file list: the time from /v1/offline/parseMagnet until the server answers with
// the torrent's files, the metadata fetched (BEP 9) from one local aria2c seeder found through a
// local tracker. Each run uses a new torrent (a kept metadata would answer at once). The
// reference, in the same run and interleaved: aria2c fetching the same kind of metadata alone
// (--bt-metadata-only). BENCH_RUNS runs (5) each; DHT off everywhere.
// Usage: npm run build && node --import tsx bench/magnet.ts
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTorrent, startAria2Seeder, startTracker, writePayload, type BuiltTorrent, type Seeder, type Tracker } from '../test/support/swarm.js';
import { median, recordFigure } from './figures.js';
import { post, startServerProcess, table } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS || 5);
const FILES = 100;
const KiB = 1024;

function magnetOf(built: BuiltTorrent, tracker: Tracker): string {
  return `magnet:?xt=urn:btih:${built.infoHash}&tr=${encodeURIComponent(tracker.httpUrl)}`;
}

function newTorrent(tracker: Tracker, label: string): BuiltTorrent {
  const files = Array.from({ length: FILES }, (_, i) => ({ path: `dir-${i % 10}/file-${i}.bin`, bytes: randomBytes(4 * KiB + i) }));
  return makeTorrent(files, { announce: [tracker.httpUrl], name: label });
}

/** Seconds aria2c takes to fetch the metadata of `magnet` and exit. */
async function aria2Metadata(magnet: string, dir: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn(
    'aria2c',
    [
      '--no-conf=true',
      `--dir=${dir}`,
      '--bt-metadata-only=true',
      '--bt-save-metadata=true',
      '--follow-torrent=false',
      '--enable-dht=false',
      '--enable-dht6=false',
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      '--interface=127.0.0.1',
      '--disable-ipv6=true',
      '--summary-interval=0',
      '--console-log-level=warn',
      '--quiet=true',
      magnet,
    ],
    { stdio: 'ignore' },
  );
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`aria2c --bt-metadata-only exited with ${code}`);
  return (performance.now() - t0) / 1000;
}

const tracker = await startTracker({ intervalMs: 1000 });
const server = await startServerProcess({ OPENPAN_MAGNET_WAIT: '20' });
const root = mkdtempSync(join(tmpdir(), 'openpan-bench-magnet-'));
const seeders: Seeder[] = [];
try {
  const openpan: number[] = [];
  const aria2: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    for (const who of i % 2 === 0 ? ['openpan', 'aria2c'] : ['aria2c', 'openpan']) {
      const built = newTorrent(tracker, `magnet-bench-${i}-${who}`);
      const dir = join(root, `${i}-${who}`);
      await writePayload(dir, built);
      const seeder = await startAria2Seeder(built, dir, tracker);
      seeders.push(seeder);
      if (who === 'openpan') {
        const t0 = performance.now();
        const parsed = (await post(server.url, '/v1/offline/parseMagnet', { url: magnetOf(built, tracker) }, server.token)).result;
        const seconds = (performance.now() - t0) / 1000;
        if (parsed.files?.length !== FILES) throw new Error(`parseMagnet answered ${parsed.files?.length} files, not ${FILES}`);
        openpan.push(seconds);
      } else {
        aria2.push(await aria2Metadata(magnetOf(built, tracker), join(root, `${i}-meta`)));
      }
      console.error(`run ${i + 1}/${RUNS} ${who}: ${(who === 'openpan' ? openpan.at(-1)! : aria2.at(-1)!).toFixed(2)} s`);
      await seeders.pop()!.close();
    }
  }
  console.log(`magnet link → file list (${FILES} files), metadata from one local aria2c seeder via a local tracker, ${RUNS} interleaved runs each`);
  console.log(
    table([
      { client: 'openpan /v1/offline/parseMagnet', 'median s': median(openpan), runs: openpan.map((s) => s.toFixed(2)).join(' ') },
      { client: 'aria2c --bt-metadata-only', 'median s': median(aria2), runs: aria2.map((s) => s.toFixed(2)).join(' ') },
    ]),
  );
  recordFigure({
    bench: 'magnet',
    id: 'file-list',
    label: 'magnet link → file list',
    value: median(openpan),
    unit: 's',
    better: 'lower',
    runs: openpan,
    reference: { label: 'aria2c --bt-metadata-only', value: median(aria2), runs: aria2 },
  });
  recordFigure({
    bench: 'magnet',
    id: 'file-list-ms',
    label: 'magnet link → file list',
    value: median(openpan) * 1000,
    unit: 'ms',
    better: 'lower',
    goal: { value: 1000 },
  });
} finally {
  for (const s of seeders) await s.close();
  await server.stop();
  await tracker.close();
  rmSync(root, { recursive: true, force: true });
}
