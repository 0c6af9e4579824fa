// rclone (Debian's) syncs a tree of 1,000 small files to openpan over WebDAV and back; every
// file comes back with the bytes it left with. rclone is configured through environment
// variables only (vendor "other"), never a config file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from '../support/server.js';
import { davUser, type DavUser } from '../support/dav-client.js';

const run = promisify(execFile);
const FILES = 1000;

let s: TestServer;
let user: DavUser;
let work: string;
before(async () => {
  s = await startServer();
  user = await davUser(s, 'rclone');
  work = mkdtempSync(join(tmpdir(), 'openpan-rclone-'));
});
after(async () => {
  await s.close();
  rmSync(work, { recursive: true, force: true });
});

async function rclone(...args: string[]): Promise<string> {
  const { stdout: obscured } = await run('rclone', ['obscure', user.password], { env: { ...process.env, RCLONE_CONFIG: '/dev/null' } });
  const env = {
    ...process.env,
    RCLONE_CONFIG: '/dev/null',
    RCLONE_CONFIG_OPENPAN_TYPE: 'webdav',
    RCLONE_CONFIG_OPENPAN_URL: user.root,
    RCLONE_CONFIG_OPENPAN_VENDOR: 'other',
    RCLONE_CONFIG_OPENPAN_USER: user.name,
    RCLONE_CONFIG_OPENPAN_PASS: obscured.trim(),
  };
  const { stdout } = await run('rclone', args, { env, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** sha256 of every file under `dir`, by its path relative to `dir`. */
function hashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.set(relative(dir, path), createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

test('rclone syncs 1,000 files up and back with identical bytes', { timeout: 600_000 }, async () => {
  const up = join(work, 'up');
  const back = join(work, 'back');
  for (let i = 0; i < FILES; i++) {
    // Ten directories, one of them a CJK name; sizes from 0 bytes up, some content repeated.
    const dir = join(up, i % 10 === 3 ? '文件夹 3' : `dir-${i % 10}`, i % 7 === 0 ? 'deeper' : '');
    mkdirSync(dir, { recursive: true });
    const body = i % 50 === 0 ? 'the same bytes\n' : `file ${i}\n`.repeat(i % 97);
    writeFileSync(join(dir, `file-${i}.txt`), body);
  }
  const sent = hashes(up);
  assert.equal(sent.size, FILES);

  await rclone('sync', up, 'openpan:tree', '--transfers', '8', '--checkers', '8');
  const listed = (await rclone('lsf', '-R', '--files-only', 'openpan:tree')).trim().split('\n');
  assert.equal(listed.length, FILES);

  await rclone('sync', 'openpan:tree', back, '--transfers', '8', '--checkers', '8');
  assert.deepEqual(hashes(back), sent);

  // A second sync finds nothing to send: sizes and times agree.
  const again = await rclone('sync', up, 'openpan:tree', '-v', '--stats-one-line');
  assert.doesNotMatch(again, /Copied \(new\)/);
});
