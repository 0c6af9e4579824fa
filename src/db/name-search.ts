import { type Kysely, sql, type RawBuilder } from 'kysely';
import type { Database } from './schema.js';
import { dialectOf } from './sql.js';

// Substring search on names (files/search), per dialect. Every length of text is answered from
// an index when it is rare, so it never walks the whole drive, and by a scan of the newest rows
// when it is common, which fills a page and its capped count sooner than any index. A probe of
// the newest PROBE_ROWS rows estimates both costs, for the page and for the count (scanOrIndex).
//
// - SQLite: the FTS5 trigram index of migrations 0014/0017. Three characters or more are a
//   phrase of trigrams, fast however common (the index hands matches out newest first), so they
//   skip the probe. Each name is indexed with two END_MARKs after it, so every one or two
//   characters of a name begin one of its trigrams: a shorter text is looked up as the index's
//   terms that begin with it (a range read of its vocabulary), matched as an OR of those terms.
// - PostgreSQL: a GIN index of each name's pieces of one to three characters (migration 0017).
//   A text's longest pieces, all contained, select the names that may contain it; `position`
//   rechecks. (pg_trgm, before it, split names into words: "y repo" was a lookup of "repo"
//   alone, 50,000 rows rechecked in a drive of 1,000,000.)
//
// Case: SQLite's index folds every script's case, its scan (LIKE) ASCII letters only;
// PostgreSQL's lower() folds as the database's locale does.

/** Both indexes find substrings of at least this many characters from their trigrams. */
const TRIGRAM = 3;

/** Follows every indexed name (twice), so its last characters begin trigrams too. No name holds it. */
export const END_MARK = '\u001f';

/** Newest rows probed to tell a common text from a rare one. */
const PROBE_ROWS = 10_000;

/**
 * Costs of an index, in rows of a scan by id (about 0.75 µs each on PostgreSQL, by EXPLAIN ANALYZE
 * over bench/search.ts's drive): each candidate it lists (reading its posting lists), and each
 * row it then fetches and rechecks (3 µs).
 */
const LISTED_COST = 0.5;
const FETCHED_COST = 4;

/** At most this many trigrams in one OR match; a text that begins more is found by a scan. */
const MAX_TERMS = 512;

/** The highest code point: `prefix + TOP` bounds every term that begins with `prefix`. */
const TOP = '\u{10FFFF}';

export interface NameMatch {
  from: RawBuilder<unknown>;
  /** The user's entries whose name contains the text; the caller adds its own conditions after it. */
  where: RawBuilder<boolean>;
  /** Newest first. */
  order: RawBuilder<unknown>;
}

interface Search {
  userId: number;
  text: string;
  /** The caller's further condition on `f`. */
  also: RawBuilder<boolean>;
  /** Matches the page reads up to (its offset and size). */
  pageEnd: number;
  /** Matches the count reads up to. */
  countEnd: number;
}

/** How the page of matches is read, and how they are counted: each the cheaper of a scan and an index. */
export interface NameSearchPlan {
  page: NameMatch;
  count: NameMatch;
}

/** How to find the user's entries whose name contains `text` (any case), or null when no name can. */
export async function nameSearchSql(q: Kysely<Database>, search: Search): Promise<NameSearchPlan | null> {
  const { userId, text } = search;
  if (/\p{Cc}/u.test(text)) return null; // names hold no control characters (END_MARK included)
  const postgres = dialectOf(q) === 'postgres';
  if (!postgres && [...text].length >= TRIGRAM) {
    const fts = ftsMatch(userId, ftsPhrase(text));
    return { page: fts, count: fts };
  }
  const scan = postgres ? positionScan(userId, text) : likeScan(userId, text);
  const { pageByScan, countByScan } = await scanOrIndex(q, scan, search);
  if (pageByScan && countByScan) return { page: scan, count: scan };
  const index = postgres ? await gramsMatch(q, text, scan) : await shortTextMatch(q, userId, text, scan);
  if (index === null) return null;
  return { page: pageByScan ? scan : index, count: countByScan ? scan : index };
}

/**
 * Matches by the trigram index, which hands them out by rowid: the CROSS JOIN keeps that order,
 * so a page needs no sort.
 */
function ftsMatch(userId: number, query: string): NameMatch {
  return {
    from: sql`files_name_fts CROSS JOIN files f ON f.id = files_name_fts.rowid`,
    where: sql<boolean>`files_name_fts MATCH ${query} AND f.user_id = ${userId}`,
    order: sql`files_name_fts.rowid DESC`,
  };
}

/** One or two characters on SQLite: the index's terms that begin with them, or a scan when there are too many. */
async function shortTextMatch(q: Kysely<Database>, userId: number, text: string, scan: NameMatch): Promise<NameMatch | null> {
  const prefix = foldCase(text);
  const terms = await sql<{ term: string }>`
    SELECT term FROM files_name_fts_terms WHERE term >= ${prefix} AND term < ${prefix + TOP} LIMIT ${MAX_TERMS + 1}`.execute(q);
  if (terms.rows.length === 0) return null;
  if (terms.rows.length > MAX_TERMS) return scan;
  return ftsMatch(userId, terms.rows.map((r) => ftsPhrase(r.term)).join(' OR '));
}

/**
 * PostgreSQL: names holding every three-character piece of the text (its one or two characters,
 * when shorter), rechecked by `scan`'s condition. The pieces are the database's own (its lower()), and go back as a
 * constant, whose selectivity the planner reads from the index's statistics.
 */
async function gramsMatch(q: Kysely<Database>, text: string, scan: NameMatch): Promise<NameMatch> {
  const { rows } = await sql<{ grams: string[] }>`SELECT openpan_name_grams(${text}) AS grams`.execute(q);
  const length = Math.min(TRIGRAM, [...text].length);
  const grams = (rows[0]?.grams ?? []).filter((g) => [...g].length === length);
  return { ...scan, where: sql<boolean>`openpan_name_grams(f.name) @> CAST(${grams} AS text[]) AND ${scan.where}` };
}

/** SQLite: a scan by rowid, newest first, with LIKE (`+user_id` keeps it off the (user_id, path) index so a page stops early). */
function likeScan(userId: number, text: string): NameMatch {
  return { from: sql`files f`, where: sql<boolean>`f.name LIKE ${likePattern(text)} ESCAPE '\\' AND +f.user_id = ${userId}`, order: sql`f.id DESC` };
}

/** PostgreSQL: a scan by id, newest first; no index serves `position`, so the planner walks the ids. */
function positionScan(userId: number, text: string): NameMatch {
  return { from: sql`files f`, where: sql<boolean>`position(lower(${text}) in lower(f.name)) > 0 AND f.user_id = ${userId}`, order: sql`f.id DESC` };
}

/**
 * Whether the page and the count are cheaper by a scan by id than by an index, estimated from the
 * newest PROBE_ROWS rows. A scan walks until it has the matches it reads (the caller's conditions
 * included). An index lists every name that matches; for a page it fetches them all, to sort
 * them, while a count stops fetching once it has its matches.
 */
async function scanOrIndex(q: Kysely<Database>, scan: NameMatch, search: Search): Promise<{ pageByScan: boolean; countByScan: boolean }> {
  // The newest rows by a walk of the ids, whatever the planner thinks of the text.
  const probe = await sql<{ names: number; hits: number; newest: number }>`
    SELECT count(*) AS names, coalesce(sum(CASE WHEN ${search.also} THEN 1 ELSE 0 END), 0) AS hits,
      (SELECT coalesce(max(id), 0) FROM files) AS newest
    FROM (SELECT * FROM files ORDER BY id DESC LIMIT ${PROBE_ROWS}) AS f
    WHERE ${scan.where}`.execute(q);
  const row = probe.rows[0];
  const names = Number(row?.names ?? 0);
  const hits = Math.max(Number(row?.hits ?? 0), 0.5);
  const rows = Math.max(Number(row?.newest ?? 0), PROBE_ROWS);
  const scanned = (end: number) => Math.min((end * PROBE_ROWS) / hits, rows);
  const candidates = (names * rows) / PROBE_ROWS;
  const fetchedToCount = Math.min(candidates, (search.countEnd * names) / hits);
  return {
    pageByScan: scanned(search.pageEnd) <= candidates * (LISTED_COST + FETCHED_COST),
    countByScan: scanned(search.countEnd) <= candidates * LISTED_COST + fetchedToCount * FETCHED_COST,
  };
}

/**
 * `text` as the trigram tokenizer folds it into terms: each character to its lower case where
 * that is one character (the tokenizer's fold maps one code point to one).
 */
function foldCase(text: string): string {
  return [...text].map((c) => (c.toLowerCase().length === c.length ? c.toLowerCase() : c)).join('');
}

/** An FTS5 phrase of `text`: the trigram tokenizer then matches it as a substring, in any case. */
function ftsPhrase(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/** A LIKE pattern for `text` anywhere, with `\` as the escape. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
