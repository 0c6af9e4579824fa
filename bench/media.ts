// Playback in the browser: time to first frame of a 1080p clip played directly (MP4
// H.264/AAC), remuxed (H.264/AAC in MKV: both streams copied into HLS) and transcoded (HEVC/AC-3
// MKV: H.264 720p / AAC made by ffmpeg), measured in headless Chromium from opening the file's
// viewer (/view/<path>, the UI already loaded and signed in) until the video element has its
// first frame (readyState ≥ 2). Each case runs on a fresh server (empty segment cache). Then the
// transcode speed: ffmpeg with the server's own arguments (src/media/hls.ts) over the whole
// 1080p H.264 clip to 720p, as a multiple of real time. Last, play while downloading: the
// direct-play clip without `+faststart` (its index at the end, as most encoders write it) in a
// torrent that a local aria2c seeds at BENCH_SEED_RATE; once 5 % of it has arrived, Play on the
// task list, until the first frame, with how much had arrived by then.
//
// Usage: npm run build && node --import tsx bench/media.ts
//   BENCH_SECONDS=30   clip length     BENCH_RUNS=3   runs per case (the table shows the median)
//   BENCH_SEED_RATE=1048576   the seeder's upload limit, bytes/s
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegArgs, SEGMENT_SECONDS } from '../src/media/hls.js';
import { startServer } from '../test/support/server.js';
import { putFile } from '../test/support/media-fixtures.js';
import { uploadTorrent } from '../test/support/offline-e2e.js';
import { makeTorrent, startAria2Seeder, startTracker, writePayload } from '../test/support/swarm.js';
import { ensureUiBuilt, launchChromium } from '../test/support/browser.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SEED_RATE = Number(process.env.BENCH_SEED_RATE ?? 1024 * 1024);
const dir = mkdtempSync(join(tmpdir(), 'openpan-bench-media-'));

function make(name: string, args: string[]): string {
  const path = join(dir, name);
  const input = ['-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=25:duration=${SECONDS}`, '-f', 'lavfi', '-i', `sine=frequency=440:duration=${SECONDS}`];
  const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...input, ...args, '-g', '50', path], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(made.stderr);
  return path;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function firstFrameMs(file: string, name: string): Promise<number> {
  const server = await startServer();
  const browser = await launchChromium();
  try {
    const alice = await server.newUser('alice');
    await putFile(alice, '/', name, readFileSync(file));
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.evaluate(`localStorage.setItem('openpan.token', ${JSON.stringify(alice.token)})`);
    await page.goto(server.url);
    await page.getByTestId('file-row').first().waitFor();
    const started = Date.now();
    await page.getByRole('link', { name }).click();
    await page.locator('video[data-testid="player"]').waitFor();
    const deadline = started + 60_000;
    while (!(await page.evaluate<boolean>(`document.querySelector('[data-testid="player"]').readyState >= 2`))) {
      if (Date.now() > deadline) throw new Error(`${name}: no frame after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return Date.now() - started;
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Waits until `probe` is true, polling every 20 ms. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Play on a torrent task at 5 % downloaded → first frame: the time, and the task's progress then. */
async function firstFrameWhileDownloading(file: string): Promise<{ ms: number; startedAt: number; framedAt: number }> {
  const tracker = await startTracker();
  const seedDir = mkdtempSync(join(dir, 'seed-'));
  const built = makeTorrent([{ path: 'Film.mp4', bytes: readFileSync(file) }], { announce: [tracker.httpUrl], pieceLength: 256 * 1024 });
  await writePayload(seedDir, built);
  const seeder = await startAria2Seeder(built, seedDir, tracker, { uploadLimit: SEED_RATE });
  const server = await startServer();
  const browser = await launchChromium();
  try {
    const alice = await server.newUser('alice');
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.evaluate(`localStorage.setItem('openpan.token', ${JSON.stringify(alice.token)})`);
    await page.goto(`${server.url}/offline`);
    const parsed = await alice.call('/v1/offline/parseTorrent', { uuid: (await uploadTorrent(alice, 'film.torrent', built.torrent)).uuid });
    const { taskId } = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/' });
    const progress = async (): Promise<number> => (await alice.call('/v1/offline/get', { taskId })).progress;
    await until('5 % of the film', async () => (await progress()) >= 5);
    const play = page.getByTestId('task-play');
    await play.waitFor();
    const startedAt = await progress();
    const started = Date.now();
    await play.click();
    await page.locator('video[data-testid="player"]').waitFor();
    await until('the first frame', () => page.evaluate<boolean>(`document.querySelector('[data-testid="player"]').readyState >= 2`), 60_000);
    const ms = Date.now() - started;
    return { ms, startedAt, framedAt: await progress() };
  } finally {
    await browser.close();
    await server.close();
    await seeder.close();
    await tracker.close();
  }
}

async function main(): Promise<void> {
  ensureUiBuilt();
  const h264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'];
  const cases = [
    { label: 'direct play (MP4 H.264/AAC)', name: 'direct.mp4', file: make('direct.mp4', [...h264, '-movflags', '+faststart']) },
    { label: 'remux (MKV H.264/AAC → HLS, streams copied)', name: 'remux.mkv', file: make('remux.mkv', h264) },
    {
      label: 'transcode (MKV HEVC/AC-3 → HLS H.264 720p/AAC)',
      name: 'transcode.mkv',
      file: make('transcode.mkv', ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=none', '-pix_fmt', 'yuv420p', '-c:a', 'ac3']),
    },
  ];
  console.log(`1080p, ${SECONDS} s clips; ${RUNS} run(s) per case, median; ${SEGMENT_SECONDS} s segments.\n`);
  console.log('| case | time to first frame |');
  console.log('|---|---|');
  for (const c of cases) {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push(await firstFrameMs(c.file, c.name));
    console.log(`| ${c.label} | ${(median(times) / 1000).toFixed(2)} s |`);
  }

  const work = join(dir, 'work');
  await mkdir(work, { recursive: true });
  const args = ffmpegArgs(cases[0].file, { videoIndex: 0, video: 'h264', audioIndex: 1, audio: 'aac' }, 0, work);
  const started = process.hrtime.bigint();
  const run = spawnSync('ffmpeg', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `\nTranscode 1080p H.264 → 720p H.264 (veryfast, CRF 23) + AAC: ${SECONDS} s in ${elapsed.toFixed(1)} s, ${(SECONDS / elapsed).toFixed(2)}× real time.`,
  );

  const film = make('torrent.mp4', h264);
  const size = readFileSync(film).length;
  const runs: Array<{ ms: number; startedAt: number; framedAt: number }> = [];
  for (let i = 0; i < RUNS; i++) runs.push(await firstFrameWhileDownloading(film));
  const mid = runs.sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)];
  console.log(
    `\nPlay while downloading: the same 1080p MP4 (${(size / 2 ** 20).toFixed(1)} MiB, index at the end) from a local aria2c seeding at ` +
      `${(SEED_RATE / 2 ** 20).toFixed(1)} MiB/s; Play at ${mid.startedAt.toFixed(1)} % downloaded → first frame ${(mid.ms / 1000).toFixed(2)} s ` +
      `(median of ${runs.length}), ${mid.framedAt.toFixed(1)} % downloaded by then.`,
  );
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
