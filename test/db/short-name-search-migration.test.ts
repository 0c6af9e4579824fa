// Migration 0017 on a database written before it: the names already stored are found by one and
// two characters from the rebuilt index, and the index follows inserts, renames and deletes after.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../../src/db/database.js';
import { FilesRepo } from '../../src/files/files.repo.js';
import { databaseBefore } from '../support/migrations.js';

const MIGRATION = '0017_short_name_search';

function entry(id: number, name: string) {
  return {
    id,
    uuid: id.toString(16).padStart(32, '0'),
    user_id: 1,
    parent_id: 0,
    path: `/${name}`,
    name,
    name_key: name.toLowerCase(),
    ext: '',
    type: 0,
    size: 0,
    store_id: '',
    mime: '',
    depth: 1,
    ctime: 0,
    mtime: 0,
    atime: 0,
    version: 0,
    locking: 0,
  };
}

async function namesFound(db: Db, text: string): Promise<string[]> {
  const { rows } = await new FilesRepo().searchByName(db, 1, { text, kind: null, offset: 0, limit: 100, countCap: 1000 });
  return rows.map((r) => r.name).sort();
}

test('0017 indexes the names already stored for one and two characters, and follows later writes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openpan-0017-'));
  try {
    const old = await databaseBefore(dir, MIGRATION);
    await old
      .insertInto('users')
      .values({ name: 'u', name_key: 'u', password_hash: 'x', is_admin: 0, space_used: 0, space_capacity: 1, offline_quota: 0, created_at: 0 })
      .execute();
    await old
      .insertInto('files')
      .values([entry(1, 'Report.PDF'), entry(2, '假期.txt'), entry(3, 'Q'), entry(4, 'notes.md')])
      .execute();
    await old.destroy();

    const db = await openDatabase({ dataDir: dir });
    try {
      assert.deepEqual(await namesFound(db, 'df'), ['Report.PDF'], 'the last two characters of a name');
      assert.deepEqual(await namesFound(db, '期'), ['假期.txt']);
      assert.deepEqual(await namesFound(db, 'q'), ['Q'], 'a name of one character');
      assert.deepEqual(await namesFound(db, 'port'), ['Report.PDF'], 'three characters or more, as before');

      await db.insertInto('files').values(entry(5, 'zebra.mkv')).execute();
      await db.updateTable('files').set({ name: 'memo.md', path: '/memo.md' }).where('id', '=', 4).execute();
      await db.deleteFrom('files').where('id', '=', 1).execute();
      assert.deepEqual(await namesFound(db, 'ze'), ['zebra.mkv']);
      assert.deepEqual(await namesFound(db, 'mo'), ['memo.md']);
      assert.deepEqual(await namesFound(db, 'no'), [], 'the old name is gone from the index');
      assert.deepEqual(await namesFound(db, 'df'), []);
      const indexed = await sql<{ n: number }>`SELECT count(*) AS n FROM files_name_fts`.execute(db);
      assert.equal(Number(indexed.rows[0].n), 4, 'one index row per entry');
    } finally {
      await db.destroy();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
