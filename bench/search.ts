// /v1/files/search over 1,000,000 entries of one user: p50/p99 of the first page (100) for
// substrings of 3+ characters, CJK ones, 1–2 character ones (common and rare), broad ones (tens
// of thousands of matches), and with a kind filter; then, on SQLite, what the index adds to an
// insert, measured on a scratch database with and without its triggers.
// BENCH_DIALECT=postgres: on PostgreSQL (a throwaway local cluster, test/support/postgres.ts).
// Usage: npm run build && node --import tsx bench/search.ts
//   BENCH_ENTRIES=1000000   entries of the user      BENCH_RUNS=200   requests per query kind
import SQLite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../src/db/database.js';
import { startPostgresCluster } from '../test/support/postgres.js';
import { percentile, post, startServerProcess, table, timeRuns } from './lib.js';

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const PER_FOLDER = 1000;
const INSERT_SAMPLE = 100_000;
const POSTGRES = process.env.BENCH_DIALECT === 'postgres';

const WORDS = [
  'holiday',
  'report',
  'invoice',
  'family',
  'summer',
  'winter',
  'project',
  'backup',
  'concert',
  'lecture',
  'season',
  'episode',
  'draft',
  'final',
  'scan',
  'photo',
  'meeting',
  'budget',
  'travel',
  'garden',
  'kitchen',
  'birthday',
  'wedding',
  'album',
  '假期',
  '报告',
  '发票',
  '家庭',
  '夏天',
  '冬天',
  '项目',
  '备份',
  '音乐会',
  '讲座',
  '第一季',
  '照片',
  '会议',
  '预算',
  '旅行',
  '电影',
];
const EXTS = ['.mp4', '.mkv', '.jpg', '.png', '.pdf', '.docx', '.mp3', '.flac', '.zip', '.txt', '.xlsx', '.srt'];

/** A deterministic pseudo-random generator (mulberry32): the same drive on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function nameOf(rnd: () => number, i: number): string {
  const pick = () => WORDS[Math.floor(rnd() * WORDS.length)];
  return `${pick()} ${pick()} ${i.toString(36)}${EXTS[Math.floor(rnd() * EXTS.length)]}`;
}

interface Row {
  uuid: string;
  user_id: number;
  parent_id: number;
  path: string;
  name: string;
  name_key: string;
  ext: string;
  type: number;
  depth: number;
}

const INSERT_SQL = `INSERT INTO files (uuid, user_id, parent_id, path, name, name_key, ext, type, size, store_id, mime, depth, ctime, mtime, atime, version, locking)
  VALUES (lower(hex(randomblob(16))), @user_id, @parent_id, @path, @name, @name_key, @ext, @type, 1000, '', 'application/octet-stream', @depth, 0, 0, 0, 0, 0)`;

/** Fills the user's drive: ENTRIES/PER_FOLDER folders under /bench, PER_FOLDER files in each. Returns seconds. */
function fill(db: SQLite.Database, userId: number, count: number): number {
  const insert = db.prepare(INSERT_SQL);
  const rnd = random(42);
  const t0 = process.hrtime.bigint();
  const folders = Math.ceil(count / PER_FOLDER);
  const root = insert.run({ user_id: userId, parent_id: 0, path: '/bench', name: 'bench', name_key: 'bench', ext: '', type: 1, depth: 1 });
  for (let f = 0; f < folders; f++) {
    db.transaction(() => {
      const folderName = `folder ${f}`;
      const folder = insert.run({
        user_id: userId,
        parent_id: Number(root.lastInsertRowid),
        path: `/bench/${folderName}`,
        name: folderName,
        name_key: folderName,
        ext: '',
        type: 1,
        depth: 2,
      });
      for (let i = 0; i < PER_FOLDER && f * PER_FOLDER + i < count; i++) {
        const name = nameOf(rnd, f * PER_FOLDER + i);
        const row: Omit<Row, 'uuid'> = {
          user_id: userId,
          parent_id: Number(folder.lastInsertRowid),
          path: `/bench/${folderName}/${name}`,
          name,
          name_key: name.toLowerCase(),
          ext: name.slice(name.lastIndexOf('.')),
          type: 0,
          depth: 3,
        };
        insert.run(row);
      }
    })();
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** fill() on PostgreSQL: each folder's files in one INSERT from arrays. Returns seconds. */
async function fillPostgres(client: pg.Client, userId: number, count: number): Promise<number> {
  const rnd = random(42);
  const t0 = process.hrtime.bigint();
  const folderRow = async (name: string, parentId: number, path: string, depth: number) =>
    (
      await client.query(
        `INSERT INTO files (uuid, user_id, parent_id, path, name, name_key, ext, type, size, store_id, mime, depth, ctime, mtime, atime, version, locking)
         VALUES (replace(gen_random_uuid()::text, '-', ''), $1, $2, $3, $4, $4, '', 1, 0, '', '', $5, 0, 0, 0, 0, 0) RETURNING id`,
        [userId, parentId, path, name, depth],
      )
    ).rows[0].id as number;
  const root = await folderRow('bench', 0, '/bench', 1);
  for (let f = 0; f * PER_FOLDER < count; f++) {
    const folderName = `folder ${f}`;
    const folder = await folderRow(folderName, root, `/bench/${folderName}`, 2);
    const names = Array.from({ length: Math.min(PER_FOLDER, count - f * PER_FOLDER) }, (_, i) => nameOf(rnd, f * PER_FOLDER + i));
    await client.query(
      `INSERT INTO files (uuid, user_id, parent_id, path, name, name_key, ext, type, size, store_id, mime, depth, ctime, mtime, atime, version, locking)
       SELECT replace(gen_random_uuid()::text, '-', ''), $1, $2, $3 || n, n, lower(n), substring(n from '\\.[^.]*$'), 0, 1000, '', 'application/octet-stream', 3, 0, 0, 0, 0, 0
       FROM unnest($4::text[]) AS n`,
      [userId, folder, `/bench/${folderName}/`, names],
    );
  }
  await client.query('ANALYZE files');
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** µs per inserted file on a fresh database, with the search index's triggers or without them. */
async function insertCost(withIndex: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'openpan-search-insert-'));
  try {
    const kdb = await openDatabase({ dataDir: dir });
    await kdb.destroy();
    const db = new SQLite(join(dir, 'openpan.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.prepare("INSERT INTO users (name, name_key, password_hash, is_admin, space_used, space_capacity, created_at) VALUES ('u', 'u', '', 0, 0, 0, 0)").run();
    if (!withIndex) for (const t of ['files_name_fts_insert', 'files_name_fts_delete', 'files_name_fts_rename']) db.exec(`DROP TRIGGER ${t}`);
    const seconds = fill(db, 1, INSERT_SAMPLE);
    db.close();
    return (seconds * 1e6) / INSERT_SAMPLE;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cluster = POSTGRES ? startPostgresCluster() : null;
const server = await startServerProcess(cluster ? { OPENPAN_DATABASE_URL: cluster.adminUrl } : {});
try {
  let fillSeconds: number;
  if (cluster) {
    const client = new pg.Client({ connectionString: cluster.adminUrl });
    await client.connect();
    const admin = (await client.query("SELECT id FROM users WHERE name = 'admin'")).rows[0] as { id: number };
    fillSeconds = await fillPostgres(client, admin.id, ENTRIES);
    await client.end();
  } else {
    const db = new SQLite(join(server.dataDir, 'openpan.db'));
    const admin = db.prepare("SELECT id FROM users WHERE name = 'admin'").get() as { id: number };
    fillSeconds = fill(db, admin.id, ENTRIES);
    db.close();
  }
  console.log(`filled ${ENTRIES.toLocaleString('en')} entries (indexes kept as the server keeps them) in ${fillSeconds.toFixed(1)} s`);

  const rnd = random(7);
  const names = Array.from({ length: 500 }, (_, i) => nameOf(rnd, Math.floor(rnd() * ENTRIES) + i));
  /** A substring of a real name: `len` characters from a random place. */
  const substring = (len: number, filter: (s: string) => boolean) => {
    for (;;) {
      const chars = [...names[Math.floor(rnd() * names.length)]];
      const at = Math.floor(rnd() * Math.max(1, chars.length - len));
      const s = chars.slice(at, at + len).join('');
      if (s.trim().length === len && filter(s)) return s;
    }
  };
  const ascii = (s: string) => /^[\x20-\x7e]+$/.test(s);
  const cjk = (s: string) => /^[\u4e00-\u9fff]+$/.test(s);
  // The 3-character CJK words of WORDS (a pick must come from this list, whatever its length).
  const cjkWords3 = WORDS.filter((w) => cjk(w) && [...w].length === 3);
  const kinds: Array<[string, () => Record<string, unknown>]> = [
    ['6 ASCII characters (trigram index)', () => ({ query: substring(6, ascii) })],
    [
      'the id of one file (trigram index, one match)',
      () => ({
        query: Math.floor(rnd() * ENTRIES)
          .toString(36)
          .padStart(4, '0'),
      }),
    ],
    ['3 CJK characters (trigram index)', () => ({ query: cjkWords3[Math.floor(rnd() * cjkWords3.length)] })],
    ['a whole word, ~50,000 matches (trigram index)', () => ({ query: WORDS[Math.floor(rnd() * 24)] })],
    ['a word, kind video', () => ({ query: WORDS[Math.floor(rnd() * 24)], type: 'video' })],
    ['2 CJK characters', () => ({ query: substring(2, cjk) })],
    ['1 character', () => ({ query: substring(1, (s) => s !== ' ') })],
    ['2 rare characters (in ~0.15% of names)', () => ({ query: 'qz' })],
    ['2 characters in no name', () => ({ query: '§x' })],
  ];
  const rows = [];
  /** One search as a client sends it; a refusal names the query kind and the body sent. */
  const search = async (label: string, sent: Record<string, unknown>) => {
    const r = await post(server.url, '/v1/files/search', sent, server.token).catch((err: unknown) => {
      throw new Error(`${label}: ${JSON.stringify(sent)}: ${err}`);
    });
    return r.result.totalCount as number;
  };
  for (const [label, body] of kinds) {
    await timeRuns(10, () => search(label, { ...body(), pageSize: 100 })); // warm-up
    let found = 0;
    const ms = await timeRuns(RUNS, async () => {
      found += await search(label, { ...body(), pageSize: 100 });
    });
    rows.push({ query: label, 'mean totalCount': Math.round(found / RUNS), 'p50 ms': percentile(ms, 50), 'p99 ms': percentile(ms, 99) });
  }
  console.log(
    `/v1/files/search over ${ENTRIES.toLocaleString('en')} entries of one user, first page of 100, ${RUNS} sequential requests each, ${POSTGRES ? 'PostgreSQL' : 'SQLite'}`,
  );
  console.log(table(rows));
} finally {
  await server.stop();
  cluster?.stop();
}

if (POSTGRES) process.exit(0);
const withIndex = await insertCost(true);
const without = await insertCost(false);
console.log(`\nInserting ${INSERT_SAMPLE.toLocaleString('en')} files one by one (1,000 per transaction) on a fresh database`);
console.log(
  table([
    { index: 'without the name index', 'µs per file': without },
    { index: 'with the trigram index', 'µs per file': withIndex },
    { index: 'added by the index', 'µs per file': withIndex - without },
  ]),
);
