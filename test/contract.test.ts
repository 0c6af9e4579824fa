// Runs the outside client's contract checks (../shared/contract, written from the spec only)
// against a real server started as a child process, exactly as an operator would run it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const contractDir = resolve(import.meta.dirname, '../../shared/contract');
const present = existsSync(join(contractDir, 'check-foundation.mjs'));

async function withServer(fn: (url: string) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'openpan-contract-'));
  const port = 30000 + Math.floor(Math.random() * 20000);
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: resolve(import.meta.dirname, '..'),
    env: {
      ...process.env,
      OPENPAN_PORT: String(port),
      OPENPAN_DATA_DIR: dataDir,
      OPENPAN_ADMIN_NAME: 'admin',
      OPENPAN_ADMIN_PASSWORD: 'secret',
      OPENPAN_REGISTRATION: 'open',
      OPENPAN_LOG_LEVEL: 'warn',
      OPENPAN_BT_DHT: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((ok, fail) => {
      proc.once('exit', (code) => fail(new Error(`server exited with ${code}`)));
      proc.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && ok());
    });
    await fn(`http://127.0.0.1:${port}`);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

for (const check of ['check-foundation.mjs', 'check-upload.mjs']) {
  test(`the outside client's ${check} passes every check`, { skip: present ? false : 'the shared contract checks are not next to this checkout' }, async () => {
    await withServer(async (url) => {
      const run = spawnSync(process.execPath, [join(contractDir, check), url, 'secret'], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /passed (\d+)\/\1/);
    });
  });
}
