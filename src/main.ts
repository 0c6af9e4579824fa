import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createOpenPan } from './app.js';
import { loadConfig, type Config } from './config/index.js';
import { acquireDataDirLock, dataDirLayout } from './data-dir/index.js';
import { DEFAULT_MAX_OPEN_FILES } from './engines/index.js';
import { openBlobStore } from './store/open-store.js';
import { clearInterruptedUploads } from './upload/sweep.js';
import { createWorker } from './worker.js';

const config = readConfig();
// One process per data directory (`openpan fsck` looks for it). Holding it, nothing else writes
// the store or the uploads directory: their temporary files are a crash's leftovers, removed now
// rather than hours later.
const lock = await acquireDataDirLock(config.dataDir, 'server').catch((err: unknown) => {
  console.error(`openpan cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
const layout = dataDirLayout(config.dataDir);
const store = await openBlobStore(config.store, layout);
await store.sweepTemp(0);
store.close?.();
await clearInterruptedUploads(layout.uploads);
const running = config.role === 'worker' ? await startWorker(config) : await startServer(config);

/** The API (and, with OPENPAN_ROLE=all, everything else): listens, and says how to log in. */
async function startServer(config: Config): Promise<{ close(): Promise<void> }> {
  const openpan = await createOpenPan(config);
  const admin = await openpan.users.ensureAdmin(config.adminName, config.adminPassword);
  const url = await openpan.listen();

  console.log(`openpan is listening on ${url} (data in ${config.dataDir})`);
  if (config.role !== 'all') console.log(`role: ${config.role}: serves HTTP, runs no download engine (the workers do)`);
  logOpenFileLimits();
  console.log(`Web UI: ${url}/`);
  if (admin.generatedPassword) {
    console.log(`Created the administrator "${config.adminName}" with password: ${admin.generatedPassword}`);
    console.log('This password is shown only once. Change it with: npx openpan user passwd ' + config.adminName);
  } else if (admin.created) {
    console.log(`Created the administrator "${config.adminName}" with the password from OPENPAN_ADMIN_PASSWORD.`);
  }
  console.log(`Log in: POST ${url}/v1/user/login {"value","password"}, or run: npx openpan login ${url}`);
  return openpan;
}

/** A download worker (OPENPAN_ROLE=worker): only its health endpoint listens. */
async function startWorker(config: Config): Promise<{ close(): Promise<void> }> {
  const worker = await createWorker(config);
  const url = await worker.listen();
  console.log(`openpan worker is listening on ${url}/health (data in ${config.dataDir}): runs the offline downloads, serves no API`);
  logOpenFileLimits();
  return worker;
}

/** The configuration, or a one-line reason on stderr and exit code 1. */
function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    console.error(`openpan cannot start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${signal} received: finishing requests and shutting down`);
    running.close().then(
      () => lock.release().finally(() => process.exit(0)),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}

/**
 * The open-file limit (RLIMIT_NOFILE), read back and logged at start: every socket, database file
 * and job file counts against it, and a server that runs out refuses connections. Node raises its
 * soft limit to the hard limit itself as it starts (node.cc, PlatformInit: setrlimit on POSIX), so
 * there is nothing to raise here; this says what it came to, and warns when that leaves too
 * little room above the BitTorrent engine's pool of job files (OPENPAN_MAX_OPEN_FILES).
 */
function logOpenFileLimits(): void {
  const limits = readOpenFileLimits();
  if (limits === null) {
    console.log('open files: limit unknown');
    return;
  }
  const { soft, hard } = limits;
  const notRaised = soft !== hard ? ' (the soft limit could not be raised to the hard one)' : '';
  console.log(`open files: soft limit ${soft}, hard limit ${hard}${notRaised}`);
  const pool = config.offline.engine.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES;
  const enough = Math.max(4096, pool + 1024);
  if (soft !== 'unlimited' && Number(soft) < enough) {
    console.warn(
      `warning: the server may hold only ${soft} open files (sockets, database and downloads together; the BitTorrent engine alone keeps up to ${pool}): ` +
        `with many users or peers it will run out and refuse connections. Give it at least ${enough}: raise the hard limit ` +
        `(systemd: LimitNOFILE=65536; docker: --ulimit nofile=65536; a shell: ulimit -Hn 65536 as root, or /etc/security/limits.conf).`,
    );
  }
}

/** Soft and hard RLIMIT_NOFILE of this process (numbers, or `unlimited`); null when they cannot be read. */
function readOpenFileLimits(): { soft: string; hard: string } | null {
  try {
    // Linux: one line of /proc/self/limits, e.g. "Max open files  1048576  1048576  files".
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m !== null) return { soft: m[1], hard: m[2] };
  } catch {
    // No /proc (macOS, the BSDs): ask a shell, which inherits this process's limits.
  }
  try {
    const [soft, hard] = execFileSync('/bin/sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split(/\s+/);
    return soft && hard ? { soft, hard } : null;
  } catch {
    return null;
  }
}
