// PostgreSQL for tests. With OPENPAN_TEST_DIALECT=postgres, every server the helpers start
// (server.ts, process-server.ts) keeps its state in a database of its own on a PostgreSQL
// cluster: the one OPENPAN_TEST_DATABASE_URL names (a role that may create databases), or else a
// throwaway cluster this process starts — initdb in a temporary directory, run by the
// unprivileged `postgres` user when the tests run as root, listening on a unix socket in that
// directory only (no TCP port at all), stopped and deleted when the process exits.
//
// A server's database is named after its data directory, so a server restarted on the same
// directory (restart and crash tests) finds its state again.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, type Db } from '../../src/db/database.js';

export const TEST_DIALECT_VARIABLE = 'OPENPAN_TEST_DIALECT';
export const TEST_DATABASE_URL_VARIABLE = 'OPENPAN_TEST_DATABASE_URL';

/** True when the tests of this process run on PostgreSQL. */
export function testsUsePostgres(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[TEST_DIALECT_VARIABLE] === 'postgres';
}

export interface PostgresCluster {
  /** A URL of the cluster's maintenance database `postgres`, as a superuser. */
  adminUrl: string;
  /** The same cluster, database `name`. */
  urlOf(name: string): string;
  /** Stops the cluster and deletes its directory (synchronous: it runs at process exit too). */
  stop(): void;
}

function postgresBinDir(): string {
  const fromPgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates = [fromPgConfig.status === 0 ? fromPgConfig.stdout.trim() : ''];
  // Debian's pg_config (postgresql-common) may name the client's directory: the server's
  // programs are under /usr/lib/postgresql/<major>/bin.
  if (existsSync('/usr/lib/postgresql')) {
    for (const major of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))) candidates.push(`/usr/lib/postgresql/${major}/bin`);
  }
  const found = candidates.find((dir) => dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
  if (found === undefined) throw new Error('PostgreSQL server programs (initdb, pg_ctl) not found: install Debian\'s "postgresql"');
  return found;
}

function runningAsRoot(): boolean {
  return userInfo().uid === 0;
}

/** Runs a PostgreSQL program as `postgres` when this process is root (initdb refuses root). */
function runAsClusterOwner(program: string, args: string[]): void {
  const asRoot = runningAsRoot();
  const [command, commandArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
  execFileSync(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Starts a throwaway cluster on a unix socket in a new temporary directory. */
export function startPostgresCluster(): PostgresCluster {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'openpan-pg-'));
  if (runningAsRoot()) {
    const owner = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const group = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(dir, Number(owner), Number(group));
  }
  const data = join(dir, 'data');
  runAsClusterOwner(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  // Durability is not what tests measure: no fsync, no full pages, a small shared memory.
  const options = [
    `-k ${dir}`,
    "-c listen_addresses=''",
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
    '-c shared_buffers=32MB',
  ].join(' ');
  runAsClusterOwner(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', 'start']);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      runAsClusterOwner(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.once('exit', stop);
  // A test runner's timeout or a ^C ends the process by a signal, which skips 'exit'.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop();
      process.kill(process.pid, signal);
    });
  }
  const urlOf = (name: string) => `postgresql://postgres@localhost/${name}?host=${encodeURIComponent(dir)}`;
  return { adminUrl: urlOf('postgres'), urlOf, stop };
}

let cluster: { adminUrl: string; urlOf(name: string): string } | undefined;

/** The cluster the tests of this process use: the given one, or one started on first use. */
function testCluster(): { adminUrl: string; urlOf(name: string): string } {
  if (cluster !== undefined) return cluster;
  const given = process.env[TEST_DATABASE_URL_VARIABLE];
  if (given) {
    const urlOf = (name: string) => {
      const url = new URL(given);
      url.pathname = `/${name}`;
      return url.toString();
    };
    cluster = { adminUrl: given, urlOf };
  } else {
    cluster = startPostgresCluster();
  }
  return cluster;
}

/** The database name that belongs to a data directory. */
function databaseNameOf(dataDir: string): string {
  return `openpan_${createHash('sha256').update(dataDir).digest('hex').slice(0, 24)}`;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testCluster().adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * The URL of the database that belongs to `dataDir`, created empty when it does not exist yet
 * (the server's migrations build the schema on its first start).
 */
export async function databaseUrlFor(dataDir: string): Promise<string> {
  const name = databaseNameOf(dataDir);
  await withAdmin(async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  });
  return testCluster().urlOf(name);
}

/** Drops the database that belongs to `dataDir`, if any (a server's close). */
export async function dropDatabaseFor(dataDir: string): Promise<void> {
  if (cluster === undefined && !process.env[TEST_DATABASE_URL_VARIABLE]) return;
  const name = databaseNameOf(dataDir);
  await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/**
 * The environment a test server gets for its database: OPENPAN_DATABASE_URL of the database of
 * its data directory when the tests run on PostgreSQL (and the test did not name one itself).
 */
export async function databaseEnvFor(dataDir: string, env: Record<string, string>): Promise<Record<string, string>> {
  if (!testsUsePostgres() || env.OPENPAN_DATABASE_URL !== undefined) return {};
  return { OPENPAN_DATABASE_URL: await databaseUrlFor(dataDir) };
}

/**
 * Opens the database of a data directory as the server would: SQLite in it, or with
 * OPENPAN_TEST_DIALECT=postgres the PostgreSQL database that belongs to it.
 */
export async function openTestDatabase(dataDir: string): Promise<Db> {
  return openDatabase({ dataDir, databaseUrl: testsUsePostgres() ? await databaseUrlFor(dataDir) : null });
}
