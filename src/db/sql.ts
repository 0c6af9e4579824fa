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
 * Where a name search reads from, what it filters on (the user's entries whose name matches) and
 * its newest-first order; the caller adds its own conditions after `where`. SQLite: from three
 * characters on, the FTS5 trigram index (migration 0014), whose matches drive the join (CROSS
 * JOIN keeps that order) by rowid, so a page needs no sort; shorter, a scan by rowid with LIKE
 * (`+user_id` keeps it off the (user_id, path) index so a page stops early). PostgreSQL: ILIKE,
 * which the pg_trgm GIN index on files.name serves for three characters or more.
 * LIKE and ILIKE ignore the case of ASCII letters; the pattern escapes with a backslash.
 */
export function nameSearchSql(
  q: Kysely<Database>,
  match: { userId: number; ftsPhrase: string | null; likePattern: string },
): { from: RawBuilder<unknown>; where: RawBuilder<boolean>; order: RawBuilder<unknown> } {
  if (dialectOf(q) === 'postgres') {
    return {
      from: sql`files f`,
      where: sql<boolean>`f.name ILIKE ${match.likePattern} ESCAPE '\\' AND f.user_id = ${match.userId}`,
      order: sql`f.id DESC`,
    };
  }
  if (match.ftsPhrase !== null) {
    return {
      from: sql`files_name_fts CROSS JOIN files f ON f.id = files_name_fts.rowid`,
      where: sql<boolean>`files_name_fts MATCH ${match.ftsPhrase} AND f.user_id = ${match.userId}`,
      order: sql`files_name_fts.rowid DESC`,
    };
  }
  return { from: sql`files f`, where: sql<boolean>`f.name LIKE ${match.likePattern} ESCAPE '\\' AND +f.user_id = ${match.userId}`, order: sql`f.id DESC` };
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
