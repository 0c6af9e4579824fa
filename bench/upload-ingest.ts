// 1 GiB ingest through the CLI (etag computed locally, then block upload with 4 parallel
// blocks) as a ratio to the floor: `sha1sum` plus `cp` of the same file, in the same run.
// Usage: npm run build && node --import tsx bench/upload-ingest.ts   (BENCH_INGEST_MIB to resize)
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, table, BENCH_ADMIN_PASSWORD } from './lib.js';
import { recordFigure } from './figures.js';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_INGEST_MIB || 1024) * MiB;

const work = mkdtempSync(join(tmpdir(), 'openpan-ingest-'));
const file = join(work, 'payload.bin');
const fd = openSync(file, 'w');
const chunk = Buffer.alloc(8 * MiB);
for (let written = 0; written < SIZE; written += chunk.length) writeSync(fd, randomFillSync(chunk), 0, Math.min(chunk.length, SIZE - written));
closeSync(fd);

function seconds(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

// Drop the payload from the page cache effects as far as we can: every contender reads it once
// before timing, so all of them read from a warm cache.
execFileSync('cat', [file], { stdio: ['ignore', 'ignore', 'inherit'] });

const floor = seconds(() => {
  execFileSync('sha1sum', [file], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('cp', [file, join(work, 'copy.bin')]);
  execFileSync('sync', [join(work, 'copy.bin')]);
});
rmSync(join(work, 'copy.bin'));

const server = await startServerProcess();
try {
  const env = { ...process.env, OPENPAN_CLI_CONFIG: join(work, 'cli.json') };
  execFileSync(process.execPath, ['dist/cli/main.js', 'login', server.url, '--name', 'admin', '--password', BENCH_ADMIN_PASSWORD], { env, stdio: 'ignore' });
  let output = '';
  const openpan = seconds(() => {
    const run = spawnSync(process.execPath, ['dist/cli/main.js', 'upload', file, '--to', '/bench', '--parallel', '4'], { env, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`upload failed: ${run.stderr}`);
    output = run.stdout;
  });
  if (!/uploaded/.test(output)) throw new Error(`unexpected CLI output: ${output}`);
  const mib = SIZE / MiB;
  console.log(`Ingest of ${mib} MiB of random data, warm page cache`);
  console.log(
    table([
      { what: 'sha1sum + cp + sync (floor)', seconds: floor, 'MiB/s': mib / floor },
      { what: 'openpan upload (CLI etag + 4 parallel blocks + server etag, fsync)', seconds: openpan, 'MiB/s': mib / openpan },
    ]),
  );
  console.log(`ratio openpan / floor: ${(openpan / floor).toFixed(2)} (1.00 would equal the floor)`);
  recordFigure({
    bench: 'upload-ingest',
    id: 'cli-upload',
    label: `${mib} MiB ingest through the CLI`,
    value: openpan,
    unit: 's',
    better: 'lower',
    reference: { label: 'sha1sum + cp + sync', value: floor },
    goal: { relative: 1 / 1.15 },
  });
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
