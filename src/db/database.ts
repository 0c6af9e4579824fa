import SQLite from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import { Kysely, type SqliteDatabase } from 'kysely';
import { Migrator } from 'kysely/migration';
import { dataDirLayout } from '../data-dir/layout.js';
import type { Database } from './schema.js';
import { FifoSqliteDialect } from './fifo-sqlite-dialect.js';
import { migrationProvider } from './migrations.js';

export type Db = Kysely<Database>;

export interface OpenDbOptions {
  dataDir: string;
}

/** Opens the embedded SQLite database (WAL) and applies pending migrations. */
export async function openDatabase({ dataDir }: OpenDbOptions): Promise<Db> {
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
