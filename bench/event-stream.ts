// The event stream with many running tasks: BENCH_TASKS torrent tasks (200) of one user all
// downloading at once from one local aria2c seeder held to BENCH_UPLOAD_KIB KiB/s overall, so
// every task moves a little every second for minutes. Over BENCH_WINDOW_S seconds (20) once all
// of them run, measured at once:
// - `/v1/offline/events` as a client reads it: bytes per second on the wire, frames per second,
//   and bytes per frame (a frame is one changed task);
// - `/v1/offline/page` (pageSize 100, one request at a time from another connection): p50/p99;
// - the server's CPU over the window (engine, scheduler and stream together).
// A whole server process (src/main.ts, SQLite) on a fresh data directory; everything on loopback.
// Usage: node --import tsx bench/event-stream.ts     (needs aria2c)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, table } from './lib.js';
import { cpuSeconds } from './qbittorrent.js';
import { uploadTorrent, userAt } from '../test/support/offline-e2e.js';
import { removeDataDir, spawnServer, tempDataDir } from '../test/support/process-server.js';
import { makeTorrent, startAria2SeederForAll, startTracker, writePayload } from '../test/support/swarm.js';
import { bytes } from '../test/support/upload.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 200);
const TASK_BYTES = Number(process.env.BENCH_TASK_KIB ?? 2048) * 1024;
const UPLOAD_BYTES_PER_S = Number(process.env.BENCH_UPLOAD_KIB ?? 2048) * 1024;
const WINDOW_MS = Number(process.env.BENCH_WINDOW_S ?? 20) * 1000;
const RUNNING = 20;

/** Reads the caller's event stream, counting bytes and frames until `stop()`. */
function readEvents(url: string, token: string): { bytes: () => number; frames: () => number; reset(): void; stop(): void } {
  const abort = new AbortController();
  let bytesIn = 0;
  let framesIn = 0;
  (async () => {
    const res = await fetch(`${url}/v1/offline/events?token=${encodeURIComponent(token)}`, { signal: abort.signal });
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytesIn += chunk.length;
      framesIn += (decoder.decode(chunk, { stream: true }).match(/^event: task$/gm) ?? []).length;
    }
  })().catch((err: unknown) => {
    if (!abort.signal.aborted) console.error('event stream:', err);
  });
  return {
    bytes: () => bytesIn,
    frames: () => framesIn,
    reset() {
      bytesIn = 0;
      framesIn = 0;
    },
    stop: () => abort.abort(),
  };
}

const seedDir = mkdtempSync(join(tmpdir(), 'openpan-bench-events-'));
const dataDir = tempDataDir();
const tracker = await startTracker({ intervalMs: 1000 });
const torrents = Array.from({ length: TASKS }, (_, i) =>
  makeTorrent([{ path: `part-${i}.bin`, bytes: bytes(TASK_BYTES, 5000 + i) }], { announce: [tracker.httpUrl], name: `events-${i}`, pieceLength: 64 * 1024 }),
);
for (const t of torrents) await writePayload(seedDir, t);
const seeder = await startAria2SeederForAll(torrents, seedDir, tracker, { uploadLimit: UPLOAD_BYTES_PER_S, maxOpenFiles: 1000, readyTimeoutMs: 300_000 });
const server = await spawnServer(dataDir, {
  OPENPAN_BT_MAX_ACTIVE: String(TASKS),
  OPENPAN_BT_PEX: '0',
  OPENPAN_OFFLINE_DAILY_TASKS: '0',
  OPENPAN_OFFLINE_MAX_RUNNING: '0',
  OPENPAN_LOG_LEVEL: 'error',
});
try {
  const user = await userAt(server.url, 'bench');
  const hashes: string[] = [];
  for (const t of torrents) {
    const file = await uploadTorrent(user, `${t.name}.torrent`, t.torrent);
    hashes.push((await user.call('/v1/offline/parseTorrent', { uuid: file.uuid })).taskHash);
  }
  const events = readEvents(server.url, user.token);
  for (const taskHash of hashes) await user.call('/v1/offline/start', { taskHash, savePath: '/bench' });
  // Wait until every task is downloading.
  for (const waitUntil = Date.now() + 300_000; ; ) {
    const byStatus = new Map<number, number>();
    for (let page = 1; (page - 1) * 100 < TASKS; page++) {
      const { list } = await user.call('/v1/offline/page', { page, pageSize: 100 });
      for (const t of list as Array<{ status: number }>) byStatus.set(t.status, (byStatus.get(t.status) ?? 0) + 1);
    }
    if (byStatus.get(RUNNING) === TASKS) break;
    if (Date.now() > waitUntil) throw new Error(`not all tasks downloading after 5 min: ${JSON.stringify([...byStatus])}`);
    await new Promise((r) => setTimeout(r, 1000));
  }

  events.reset();
  const cpu0 = cpuSeconds(server.proc.pid!);
  const started = performance.now();
  const pageMs: number[] = [];
  let stillRunning = 0;
  while (performance.now() - started < WINDOW_MS) {
    const t = performance.now();
    const { list } = await user.call('/v1/offline/page', { page: 1, pageSize: 100 });
    pageMs.push(performance.now() - t);
    stillRunning = (list as Array<{ status: number }>).filter((x) => x.status === RUNNING).length;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(server.proc.pid!) - cpu0;
  const wire = events.bytes();
  const frames = events.frames();
  events.stop();
  pageMs.sort((a, b) => a - b);
  console.log(
    `${TASKS} torrent tasks of ${TASK_BYTES / 1024} KiB of one user downloading at once from one aria2c held to ${UPLOAD_BYTES_PER_S / 1024} KiB/s; ` +
      `measured over ${seconds.toFixed(1)} s (${stillRunning} of the first page still downloading at the end)`,
  );
  console.log(
    table([
      {
        'event stream KiB/s': (wire / 1024 / seconds).toFixed(1),
        'frames/s': (frames / seconds).toFixed(1),
        'bytes/frame': frames > 0 ? Math.round(wire / frames) : 0,
        'offline/page p50 ms': percentile(pageMs, 50).toFixed(1),
        'offline/page p99 ms': percentile(pageMs, 99).toFixed(1),
        'page requests': pageMs.length,
        'server CPU %': ((cpu / seconds) * 100).toFixed(0),
      },
    ]),
  );
} finally {
  await server.stop().catch(() => undefined);
  await seeder.close();
  await tracker.close();
  removeDataDir(dataDir);
  rmSync(seedDir, { recursive: true, force: true });
}
