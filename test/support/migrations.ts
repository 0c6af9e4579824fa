// A SQLite database of a data directory as a server left it before a given migration: the
// migration tests write rows of that time, then open the directory as the server does now.
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import { migrationProvider } from '../../src/db/migrations.js';

/** The database in `dir`, migrated up to the migration before `migration`. */
export async function databaseBefore(dir: string, migration: string): Promise<Kysely<any>> {
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new SQLite(join(dir, 'openpan.db')) }) });
  const names = Object.keys(await migrationProvider.getMigrations()).sort();
  const previous = names[names.indexOf(migration) - 1];
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo(previous);
  if (error) throw error;
  return db;
}
