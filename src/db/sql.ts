import { sql, type RawBuilder } from 'kysely';

// Dialect-specific SQL fragments live here and only here, so the PostgreSQL flavour is one
// switch away. (PostgreSQL: replace(gen_random_uuid()::text, '-', ''); paths need COLLATE "C".)

/** A fresh 32-hex-character uuid computed by the database (for set-based copies). */
export function randomUuidSql(): RawBuilder<string> {
  return sql<string>`lower(hex(randomblob(16)))`;
}

/**
 * Bounds of the subtree below `path`: every descendant's path is > `path + '/'` and < `path + '0'`,
 * because '0' is the character right after '/'. A range on the (user_id, path) index, no LIKE.
 */
export function subtreeBounds(path: string): { low: string; high: string } {
  return { low: `${path}/`, high: `${path}0` };
}
