// Restart recovery: a job's directory outlives the engine (a graceful close, or kill -9 of the
// whole process); a new engine started on the same directory verifies the pieces already on
// disk, downloads only the rest and ends with byte-identical files.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebTorrentEngine, type EngineStatus } from '../../src/engines/index.js';
import {
  makeTorrent,
  startAria2Seeder,
  startTracker,
  startWebTorrentSeeder,
  writePayload,
  type BuiltTorrent,
  type Seeder,
  type Tracker,
} from '../support/swarm.js';
import { assertFiles, waitFor } from '../support/engine-conformance.js';

const TIMEOUT = 120_000;
const MiB = 1024 * 1024;

async function withSwarm(
  seed: 'webtorrent' | 'aria2',
  body: (w: { root: string; built: BuiltTorrent; bytes: Buffer; tracker: Tracker }) => Promise<void>,
): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'openpan-resume-'));
  const tracker = await startTracker();
  const bytes = randomBytes(4 * MiB + 12345);
  const built = makeTorrent([{ path: 'big.bin', bytes }], { announce: [tracker.httpUrl], pieceLength: 64 * 1024 });
  let seeder: Seeder | undefined;
  try {
    if (seed === 'aria2') {
      await writePayload(join(root, 'seed'), built);
      seeder = await startAria2Seeder(built, join(root, 'seed'), tracker);
    } else {
      seeder = await startWebTorrentSeeder(built, join(root, 'seed'), tracker);
    }
    await body({ root, built, bytes, tracker });
  } finally {
    await seeder?.close();
    await tracker.close();
    await rm(root, { recursive: true, force: true });
  }
}

/** A second engine on the same directory: it must find `before` bytes or more, and finish. */
async function resumeAndFinish(dir: string, built: BuiltTorrent, bytes: Buffer, before: number): Promise<void> {
  const engine = new WebTorrentEngine({ dht: false, pex: false });
  try {
    const handle = engine.start({ id: 'again', dir, source: { kind: 'torrent', torrent: built.torrent } });
    const checked = await waitFor(handle, (s) => s.resumedBytes !== null, 'the check of the data on disk');
    assert.ok(checked.resumedBytes! >= before, `found ${checked.resumedBytes} verified bytes on disk, at least the ${before} seen before the restart`);
    assert.ok(checked.downloaded >= before, 'the first status after the check counts them as downloaded');
    const final = await handle.settled;
    await assertFiles(final, new Map([[0, bytes]]), dir);
    assert.ok(
      final.received < bytes.length - before + 1 * MiB,
      `received ${final.received} bytes: only the missing part (${bytes.length - before}) and no more than a little extra`,
    );
  } finally {
    await engine.close();
  }
}

test('restart after a graceful close: the new engine continues from the verified pieces', { timeout: TIMEOUT }, () =>
  withSwarm('webtorrent', async ({ root, built, bytes }) => {
    const dir = join(root, 'job');
    const first = new WebTorrentEngine({ dht: false, pex: false, downloadLimit: MiB });
    const handle = first.start({ id: 'once', dir, source: { kind: 'torrent', torrent: built.torrent } });
    await waitFor(handle, (s) => s.downloaded > 0.3 * bytes.length, 'more than 30% verified');
    await first.close();
    const before = handle.status().downloaded;
    assert.ok(before < bytes.length, 'stopped before the end');
    await resumeAndFinish(dir, built, bytes, before);
  }),
);

test('restart after kill -9 of the downloading process (aria2c seeder): resumes, not from zero', { timeout: TIMEOUT }, () =>
  withSwarm('aria2', async ({ root, built, bytes }) => {
    const dir = join(root, 'job');
    const torrentPath = join(root, 'job.torrent');
    await writeFile(torrentPath, built.torrent);
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../support/leech-child.ts', import.meta.url)), torrentPath, dir, String(MiB)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    let last: EngineStatus | undefined;
    try {
      for await (const line of createInterface({ input: child.stdout! })) {
        last = JSON.parse(line) as EngineStatus;
        assert.notEqual(last.state, 'failed', last.error?.message);
        if (last.downloaded > 0.3 * bytes.length) break;
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    assert.ok(last && last.downloaded > 0.3 * bytes.length && last.downloaded < bytes.length, `killed mid-download (${last?.downloaded} bytes)`);
    await resumeAndFinish(dir, built, bytes, last.downloaded);
  }),
);
