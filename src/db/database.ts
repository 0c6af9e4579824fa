import SQLite from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import { Kysely, PostgresDialect, sql, type SqliteDatabase } from 'kysely';
import pg from 'pg';
import { Migrator } from 'kysely/migration';
import { dataDirLayout } from '../data-dir/layout.js';
import type { Database } from './schema.js';
import { FifoSqliteDialect } from './fifo-sqlite-dialect.js';
import { migrationProvider } from './migrations.js';
import { dialectOf } from './sql.js';

export type Db = Kysely<Database>;

export interface OpenDbOptions {
  dataDir: string;
  /** `postgres://…` (OPENPAN_DATABASE_URL): PostgreSQL instead of SQLite in the data directory. */
  databaseUrl?: string | null;
}

/**
 * Opens the database — PostgreSQL when a URL is given, else the embedded SQLite database
 * (WAL) in the data directory — and applies pending migrations.
 */
export async function openDatabase({ dataDir, databaseUrl }: OpenDbOptions): Promise<Db> {
  if (databaseUrl) return openPostgres(databaseUrl);
  const file = dataDirLayout(dataDir).database;
  const sqlite = new SQLite(file);
  // Accounts and sessions: readable by the server's user only (SQLite gives -wal/-shm the same mode).
  chmodSync(file, 0o600);
  sqlite.pragma('journal_mode = WAL');
  // WAL with synchronous=NORMAL is durable across application crashes; a power loss can lose
  // the last transactions but never corrupts the database.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -65536');
  const db = new Kysely<Database>({ dialect: new FifoSqliteDialect({ database: withStatementCache(sqlite) }) });
  await migrate(db);
  return db;
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query anew; preparing costs as much as running a short query. The
 * queries are a small fixed set of SQL texts, so prepared statements are kept (LRU) and reused.
 * Reuse is safe because Kysely runs one query at a time on the connection.
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sqlText: string) {
      let stmt = cache.get(sqlText);
      if (stmt) {
        cache.delete(sqlText);
      } else {
        stmt = sqlite.prepare(sqlText);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sqlText, stmt);
      return stmt;
    },
  };
}

/** PostgreSQL's type ids of int8 (count(*), bigint columns) and numeric (sum() of a bigint). */
const INT8_OID = 20;
const NUMERIC_OID = 1700;
/** Connections per process: requests wait for one rather than overload the server. */
const POOL_SIZE = 10;

/**
 * Every integer the schema holds stays below 2^53 (sizes, times in ms, counts), so int8 and the
 * numeric of sum() are read as numbers, as SQLite gives them, not as strings. Set on this pool
 * only: another user of `pg` in the process keeps the driver's defaults.
 */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

async function openPostgres(url: string): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, types: pgTypes });
  // An idle connection the server ends (restart, idle timeout) is dropped from the pool; the
  // next query opens a new one. Without a listener the error would end the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    // Several processes may start at once against one database: one migrates, the others wait
    // and then find nothing left to do.
    await withAdvisoryLock(db, 'migrations', () => migrate(db));
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

/** Keys of the cluster-wide locks (pg_advisory_lock): one holder at a time across processes. */
const ADVISORY_LOCKS = { migrations: 0x6f70_0001, collector: 0x6f70_0002, fsck: 0x6f70_0003 } as const;
export type AdvisoryLockName = keyof typeof ADVISORY_LOCKS;

/**
 * Runs `fn` while this process holds the PostgreSQL advisory lock `name`, waiting for it; on
 * SQLite (one process per data directory) it just runs `fn`. The lock is a session lock on one
 * pooled connection, held until `fn` ends and released even when it throws; if the connection
 * dies the server releases it.
 */
export async function withAdvisoryLock<T>(db: Db, name: AdvisoryLockName, fn: () => Promise<T>): Promise<T> {
  if (dialectOf(db) !== 'postgres') return fn();
  return db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${ADVISORY_LOCKS[name]})`.execute(conn);
    try {
      return await fn();
    } finally {
      await sql`SELECT pg_advisory_unlock(${ADVISORY_LOCKS[name]})`.execute(conn);
    }
  });
}

/**
 * Like withAdvisoryLock, but gives up at once when another process holds the lock: `fn` runs
 * and its result is returned, or null when the lock was taken (always runs on SQLite).
 */
export async function tryWithAdvisoryLock<T>(db: Db, name: AdvisoryLockName, fn: () => Promise<T>): Promise<T | null> {
  if (dialectOf(db) !== 'postgres') return fn();
  return db.connection().execute(async (conn) => {
    const got = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${ADVISORY_LOCKS[name]}) AS locked`.execute(conn);
    if (!got.rows[0]?.locked) return null;
    try {
      return await fn();
    } finally {
      await sql`SELECT pg_advisory_unlock(${ADVISORY_LOCKS[name]})`.execute(conn);
    }
  });
}

export async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed`, { cause: error });
  }
}

/** True when err is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string } | undefined;
  return e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === '23505';
}
