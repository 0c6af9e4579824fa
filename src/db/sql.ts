import { type Kysely, PostgresAdapter, sql, type RawBuilder } from 'kysely';
import type { Database } from './schema.js';

// Dialect-specific SQL fragments live here and only here: repos ask for a fragment with the
// query creator they run on (a Kysely or a transaction), which knows its dialect. Migrations
// (migrations.ts) build the same schema on both; text on PostgreSQL is COLLATE "C", so strings
// compare byte-wise as in SQLite (subtreeBounds relies on it).

export type DialectName = 'sqlite' | 'postgres';

export function dialectOf(q: Kysely<Database>): DialectName {
  return q.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** A fresh 32-hex-character uuid computed by the database (for set-based copies). */
export function randomUuidSql(q: Kysely<Database>): RawBuilder<string> {
  return dialectOf(q) === 'postgres' ? sql<string>`replace(gen_random_uuid()::text, '-', '')` : sql<string>`lower(hex(randomblob(16)))`;
}

/**
 * Bounds of the subtree below `path`: every descendant's path is > `path + '/'` and < `path + '0'`,
 * because '0' is the character right after '/'. A range on the (user_id, path) index, no LIKE.
 */
export function subtreeBounds(path: string): { low: string; high: string } {
  return { low: `${path}/`, high: `${path}0` };
}

/** Rows per multi-row statement: well under SQLite's limit of bound parameters per statement. */
const ROWS_PER_STATEMENT = 500;

/** `items` in slices of a size one multi-row statement (or one `IN (...)` list) can take. */
export function* statementSlices<T>(items: readonly T[]): Generator<T[]> {
  for (let at = 0; at < items.length; at += ROWS_PER_STATEMENT) yield items.slice(at, at + ROWS_PER_STATEMENT);
}

/**
 * Entries in the recycle bin live under paths `~<id>` (the id of the entry that was removed) and
 * below: no live path (they all start with "/") can clash with them, and `path < '~'` tells live
 * rows from binned ones on the (user_id, path) index.
 */
export const BIN_PATH_PREFIX = '~';

export function binPath(topId: number): string {
  return `${BIN_PATH_PREFIX}${topId}`;
}
