// The data-directory lock is one the kernel releases when its holder dies: a server restarted
// right after kill -9, or a pid file naming some other live process (pids repeat in containers),
// never keeps the directory held; a live holder always does.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { acquireDataDirLock, DataDirBusyError, lockHolder } from '../../src/data-dir/index.js';

const LOCK_MODULE = new URL('../../src/data-dir/lock.ts', import.meta.url).href;

/** Another process that takes the lock and keeps it until killed. */
async function holderProcess(dataDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { acquireDataDirLock } = await import(${JSON.stringify(LOCK_MODULE)}); await acquireDataDirLock(${JSON.stringify(dataDir)}, 'server'); console.log('held'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.equal(line.toString().trim(), 'held');
  return child;
}

describe('the data-directory lock', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'openpan-lock-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('a live holder in another process keeps it, and is named', async () => {
    const dir = dataDir();
    const child = await holderProcess(dir);
    try {
      await assert.rejects(acquireDataDirLock(dir, 'fsck'), (err: unknown) => err instanceof DataDirBusyError && err.holder.pid === child.pid);
      assert.equal((await lockHolder(dir))?.pid, child.pid);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });

  test('right after kill -9 of the holder the directory is free, although its pid file remains', async () => {
    const dir = dataDir();
    const child = await holderProcess(dir);
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal(await lockHolder(dir), null);
    const lock = await acquireDataDirLock(dir, 'server');
    await lock.release();
  });

  test('a pid file naming a live process that is not a holder (a reused pid) does not keep the directory', async () => {
    const dir = dataDir();
    // This very test process is alive, and holds nothing there.
    writeFileSync(join(dir, 'openpan.lock'), JSON.stringify({ pid: process.ppid, by: 'server', host: hostname(), since: Date.now() }) + '\n');
    assert.equal(await lockHolder(dir), null);
    const lock = await acquireDataDirLock(dir, 'server');
    await lock.release();
  });

  test('a second take in the same process is refused until the first is released', async () => {
    const dir = dataDir();
    const first = await acquireDataDirLock(dir, 'server');
    await assert.rejects(acquireDataDirLock(dir, 'fsck'), DataDirBusyError);
    await first.release();
    const second = await acquireDataDirLock(dir, 'fsck');
    await second.release();
  });
});
