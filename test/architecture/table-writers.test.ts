// One writer per table: the repository that owns a table is the only code in src/ that inserts,
// updates or deletes its rows. Any other module that changes a table calls a named function of
// the owner. The scan reads Kysely builder calls (insertInto, updateTable, deleteFrom, replaceInto,
// mergeInto) and raw SQL in sql`…` templates (INSERT/REPLACE INTO, UPDATE, DELETE FROM); the
// migrations (and the triggers they create) are the schema's own, and are not scanned.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The file(s) that may write each table of src/db/schema.ts's Database. */
const OWNERS: Readonly<Record<string, readonly string[]>> = {
  files: ['src/files/files.repo.ts'],
  // Kept by the triggers on files (migrations.ts); rebuilt and trimmed by files.repo.
  dir_stats: ['src/files/files.repo.ts'],
  blobs: ['src/store/blobs.repo.ts'],
  users: ['src/users/users.repo.ts'],
  sessions: ['src/users/users.repo.ts'],
  app_passwords: ['src/users/app-passwords.repo.ts'],
  dav_properties: ['src/dav/properties.repo.ts'],
  settings: ['src/settings/settings.ts'],
  stats_samples: ['src/admin/sampler.ts'],
  shares: ['src/shares/shares.repo.ts'],
  share_items: ['src/shares/shares.repo.ts'],
  zip_links: ['src/zip/zip-links.ts'],
  qbt_categories: ['src/qbt/qbt.repo.ts'],
  qbt_tags: ['src/qbt/qbt.repo.ts'],
  qbt_torrents: ['src/qbt/qbt.repo.ts'],
  offline_jobs: ['src/offline/offline.repo.ts'],
  offline_tasks: ['src/offline/offline.repo.ts'],
  offline_task_counts: ['src/offline/offline.repo.ts'],
  offline_imports: ['src/offline/offline.repo.ts'],
  offline_content: ['src/offline/offline.repo.ts'],
  offline_metadata: ['src/offline/offline.repo.ts'],
  offline_seeds: ['src/offline/seeding.repo.ts'],
  offline_task_changes: ['src/offline/task-change-feed.ts'],
};

/** Writes outside the owner still allowed, each with why; one that no longer occurs must go from this list. */
const KNOWN_EXCEPTIONS: readonly { file: string; table: string; why: string }[] = [];

/** Not scanned: the schema itself. */
const SKIPPED = new Set(['src/db/migrations.ts']);

interface TableWrite {
  table: string;
  line: number;
  how: string;
}

const BUILDER_WRITE = /\.(insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\(\s*['"`]([A-Za-z_]\w*)/g;
const SQL_TEMPLATE = /\bsql(?:<[^>`]*>)?`([^`]*)`/g;
const SQL_WRITE = /\b(?:(?:INSERT|REPLACE)(?:\s+OR\s+\w+)?\s+INTO|(?<!\b(?:DO|FOR)\s+)UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+["`]?([A-Za-z_]\w*)/gi;

function lineAt(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** Every insert, update and delete in a source text, with the table it writes. */
function tableWrites(text: string): TableWrite[] {
  const writes: TableWrite[] = [];
  for (const m of text.matchAll(BUILDER_WRITE)) writes.push({ table: m[2], line: lineAt(text, m.index), how: m[1] });
  for (const t of text.matchAll(SQL_TEMPLATE)) {
    for (const m of t[1].matchAll(SQL_WRITE)) {
      // UPDATE … SET: the word after UPDATE is the table, unless it is SET itself (ON CONFLICT DO UPDATE SET).
      if (m[1].toUpperCase() === 'SET') continue;
      writes.push({ table: m[1], line: lineAt(text, t.index + t[0].indexOf(t[1]) + m.index), how: 'sql' });
    }
  }
  return writes;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !SKIPPED.has(path) ? [path] : [];
  });
}

function tablesOfSchema(): string[] {
  const schema = readFileSync(join(ROOT, 'src/db/schema.ts'), 'utf8');
  const body = /export interface Database \{([^}]*)\}/.exec(schema);
  assert.ok(body, 'src/db/schema.ts declares `export interface Database { … }`');
  return [...body[1].matchAll(/^\s*(\w+):/gm)].map((m) => m[1]);
}

const allWrites = sourceFiles('src').flatMap((file) => tableWrites(readFileSync(join(ROOT, file), 'utf8')).map((w) => ({ file, ...w })));

function isException(file: string, table: string): boolean {
  return KNOWN_EXCEPTIONS.some((e) => e.file === file && e.table === table);
}

test('every table of the schema has an owner, and every owner names a table of the schema', () => {
  const tables = tablesOfSchema();
  assert.deepEqual(
    tables.filter((t) => !(t in OWNERS)),
    [],
    'tables without an owner: add them to OWNERS in test/architecture/table-writers.test.ts',
  );
  assert.deepEqual(
    Object.keys(OWNERS).filter((t) => !tables.includes(t)),
    [],
    'OWNERS names tables the schema does not have',
  );
});

test('each table is written only by the repository that owns it', () => {
  const strays = allWrites
    .filter((w) => !(OWNERS[w.table] ?? []).includes(w.file) && !isException(w.file, w.table))
    .map((w) => `${w.file}:${w.line} writes ${w.table} (${w.how}); only ${OWNERS[w.table]?.join(', ') ?? 'no file (the table has no owner)'} may`);
  assert.deepEqual(strays, [], `writes outside the owning repository; call a named function of the owner instead:\n${strays.join('\n')}`);
});

test('every known exception still occurs (one that was fixed leaves the list)', () => {
  for (const e of KNOWN_EXCEPTIONS) {
    assert.ok(
      allWrites.some((w) => w.file === e.file && w.table === e.table),
      `${e.file} no longer writes ${e.table}: remove it from KNOWN_EXCEPTIONS`,
    );
  }
});

test('the scan finds builder writes and raw SQL writes, and not reads or upserts of the same table', () => {
  const text = [
    "await q.insertInto('blobs').values(v).onConflict((oc) => oc.doNothing()).execute();",
    "await trx.updateTable('users as u').set({ a: 1 }).execute();",
    "await db.deleteFrom('files').where('id', '=', 1).execute();",
    'await sql`UPDATE users SET space_used = 0 WHERE id = 7`.execute(q);',
    'await sql`\n  INSERT OR IGNORE INTO dir_stats (a) VALUES (1)\n  ON CONFLICT (a) DO UPDATE SET a = excluded.a`.execute(q);',
    'await sql<number>`DELETE FROM sessions WHERE expires < 0`.execute(q);',
    "const rows = await db.selectFrom('files').selectAll().execute();",
    'const n = await sql`SELECT count(*) FROM users`.execute(db);',
    'const locked = await sql`SELECT id FROM offline_jobs WHERE owner IS NULL FOR UPDATE SKIP LOCKED`.execute(db);',
  ].join('\n');
  assert.deepEqual(
    tableWrites(text).map((w) => `${w.line} ${w.table}`),
    ['1 blobs', '2 users', '3 files', '4 users', '6 dir_stats', '8 sessions'],
  );
});
