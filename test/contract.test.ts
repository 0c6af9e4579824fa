// Runs the outside client's contract checks (../shared/contract, written from the spec only)
// against a real server started as a child process, exactly as an operator would run it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { removeDataDir, spawnServer, tempDataDir } from './support/process-server.js';

const contractDir = resolve(import.meta.dirname, '../../shared/contract');
const present = existsSync(join(contractDir, 'check-foundation.mjs'));

async function withServer(fn: (url: string) => Promise<void>): Promise<void> {
  const dataDir = tempDataDir();
  const server = await spawnServer(dataDir);
  try {
    await fn(server.url);
  } finally {
    await server.stop();
    removeDataDir(dataDir);
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
