// The server's start-up log names its open-file limits (RLIMIT_NOFILE), as the process really has
// them, and warns when they leave too little room. Node raises the soft limit to the hard one as
// it starts, so a server started with a low soft limit still reports (and has) the hard one.
// Real server processes (src/main.ts through tsx), started under limits set by `sh -c ulimit`.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { removeDataDir, tempDataDir } from './support/process-server.js';

const linux = existsSync('/proc/self/limits');
const root = resolve(import.meta.dirname, '..');
const dirs: string[] = [];
after(() => dirs.forEach(removeDataDir));

interface Started {
  stdout: string;
  stderr: string;
  /** The process's own limits, read from /proc/<pid>/limits while it ran. */
  actual: { soft: string; hard: string };
}

/** Starts the server under `ulimit` (sh syntax, e.g. `-Sn 512`), waits for its limits line, reads /proc, stops it. */
async function startUnder(ulimit: string, env: Record<string, string> = {}): Promise<Started> {
  const dataDir = tempDataDir();
  dirs.push(dataDir);
  // sh sets the limit, then becomes node: the server inherits exactly that limit.
  const proc = spawn('/bin/sh', ['-c', `ulimit ${ulimit} && exec "$0" --import tsx src/main.ts`, process.execPath], {
    cwd: root,
    env: {
      ...process.env,
      OPENPAN_HOST: '127.0.0.1',
      OPENPAN_PORT: '0',
      OPENPAN_DATA_DIR: dataDir,
      OPENPAN_ADMIN_PASSWORD: 'secret-password',
      OPENPAN_LOG_LEVEL: 'warn',
      OPENPAN_BT_DHT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    const until = Date.now() + 60_000;
    while (!/^open files: .*$/m.test(stdout)) {
      if (proc.exitCode !== null) throw new Error(`the server exited with ${proc.exitCode}: ${stdout}${stderr}`);
      if (Date.now() > until) throw new Error(`no open-files line within 60 s: ${stdout}${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${proc.pid}/limits`, 'utf8'));
    assert.ok(m, 'the server process has an open-files line in /proc/<pid>/limits');
    // A warning is written right after the line; give it a moment to arrive.
    await new Promise((r) => setTimeout(r, 200));
    return { stdout, stderr, actual: { soft: m[1], hard: m[2] } };
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}

function reported(stdout: string): { soft: string; hard: string } {
  const m = /^open files: soft limit (\S+), hard limit (\S+?)(?: \(|$)/m.exec(stdout);
  assert.ok(m, `an "open files: soft limit X, hard limit Y" line in: ${stdout}`);
  return { soft: m[1], hard: m[2] };
}

describe('start-up log: open-file limits', { skip: linux ? false : 'needs /proc/<pid>/limits (Linux)' }, () => {
  test('reports the limits the process has, after the line that it is listening', async () => {
    const r = await startUnder('-Sn 4096');
    assert.deepEqual(reported(r.stdout), r.actual);
    assert.match(r.stdout, /listening on [^\n]*\n(?:[^\n]*\n)*open files: /);
  });

  test('a low soft limit is raised to the hard limit at start, and the figure is the raised one', async () => {
    const hard = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+\S+\s+(\S+)/m)![1];
    if (hard !== 'unlimited' && Number(hard) <= 512) return; // nothing to raise on this machine
    const r = await startUnder('-Sn 512');
    const got = reported(r.stdout);
    assert.equal(got.hard, hard);
    assert.equal(got.soft, hard, 'the soft limit was raised to the hard one');
    assert.deepEqual(got, r.actual);
    assert.doesNotMatch(r.stdout, /could not be raised/);
  });

  test('a hard limit too low for the server is named in a warning', async () => {
    // `ulimit -n` without -S/-H lowers both; an unprivileged process may always lower its limits.
    const r = await startUnder('-n 1000');
    assert.deepEqual(reported(r.stdout), { soft: '1000', hard: '1000' });
    assert.deepEqual(r.actual, { soft: '1000', hard: '1000' });
    assert.match(r.stderr, /warning: the server may hold only 1000 open files/);
    assert.match(r.stderr, /LimitNOFILE/);
  });

  test('no warning with room to spare', async () => {
    const hard = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+\S+\s+(\S+)/m)![1];
    if (hard !== 'unlimited' && Number(hard) < 8192) return; // this machine's own limit is low
    const r = await startUnder('-Sn 1024');
    assert.doesNotMatch(r.stderr, /open files/);
    // The warning's threshold follows the engine's pool: a pool near the limit warns.
    const big = await startUnder('-Sn 1024', { OPENPAN_MAX_OPEN_FILES: String(Number(hard === 'unlimited' ? 1 << 20 : hard)) });
    assert.match(big.stderr, /warning: the server may hold only/);
  });
});
