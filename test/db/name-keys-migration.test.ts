// Migration 0006 on a database written before it: names stored in another Unicode form become
// NFC (numbered when the NFC name is taken), every entry gets its sort key, and accounts whose
// names differ only in case keep their names and passwords while new collisions are refused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/database.js';
import { nameSortKey } from '../../src/names/sort-key.js';
import { hashPassword } from '../../src/users/password.js';
import { UsersRepo } from '../../src/users/users.repo.js';
import { UsersService } from '../../src/users/users.service.js';
import { databaseBefore } from '../support/migrations.js';

const MIGRATION = '0006_name_keys';

test('0006 makes stored names NFC, numbered where the NFC name is taken, with their subtrees and sort keys', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openpan-0006-'));
  try {
    const old = await databaseBefore(dir, MIGRATION);
    await old
      .insertInto('users')
      .values({ name: 'u', password_hash: 'x', is_admin: 0, space_used: 0, space_capacity: 1, offline_quota: 0, created_at: 0 })
      .execute();
    const entry = (id: number, parent: number, path: string, name: string, type: number, depth: number) => ({
      id,
      uuid: id.toString(16).padStart(32, '0'),
      user_id: 1,
      parent_id: parent,
      path,
      name,
      ext: '',
      type,
      size: 0,
      store_id: '',
      mime: '',
      depth,
      ctime: 0,
      mtime: 0,
      atime: 0,
      version: 0,
      locking: 0,
    });
    const NFD = 'cafe\u0301';
    const NFC = 'caf\u00e9';
    await old
      .insertInto('files')
      .values([
        entry(1, 0, `/${NFD}`, NFD, 1, 1), // an NFD folder
        entry(2, 1, `/${NFD}/${NFD}.txt`, `${NFD}.txt`, 0, 2), // an NFD file inside it
        entry(3, 0, `/${NFC}`, NFC, 1, 1), // its NFC twin, made from another machine
        entry(4, 0, '/Banana', 'Banana', 1, 1),
      ])
      .execute();
    await old.destroy();

    const db = await openDatabase({ dataDir: dir });
    try {
      const rows = await db.selectFrom('files').select(['id', 'name', 'path', 'ext', 'name_key']).orderBy('id').execute();
      assert.deepEqual(
        rows.map((r) => [r.id, r.name, r.path]),
        [
          [1, `${NFC} (1)`, `/${NFC} (1)`],
          [2, `${NFC}.txt`, `/${NFC} (1)/${NFC}.txt`],
          [3, NFC, `/${NFC}`],
          [4, 'Banana', '/Banana'],
        ],
      );
      assert.equal(rows[1].ext, '.txt');
      for (const r of rows) assert.equal(r.name_key, nameSortKey(r.name), r.name);
    } finally {
      await db.destroy();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('0006 keeps every account whose name already collided: each signs in by its exact name, new collisions are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openpan-0006-'));
  try {
    const old = await databaseBefore(dir, MIGRATION);
    for (const name of ['boss', 'Boss', 'ｂｏｓｓ', 'alice']) {
      await old
        .insertInto('users')
        .values({ name, password_hash: await hashPassword(`${name}-Passw0rd`), is_admin: 0, space_used: 0, space_capacity: 1, offline_quota: 0, created_at: 0 })
        .execute();
    }
    await old.destroy();

    const db = await openDatabase({ dataDir: dir });
    try {
      const users = new UsersService(new UsersRepo(db), { secret: 's', defaultQuota: 1, registration: 'open' });
      const rows = await db.selectFrom('users').select(['id', 'name', 'name_key', 'legacy_clash']).orderBy('id').execute();
      assert.deepEqual(
        rows.map((r) => [r.name, r.name_key, r.legacy_clash]),
        [
          ['boss', 'boss', 0],
          ['Boss', 'boss', 2],
          ['ｂｏｓｓ', 'boss', 3],
          ['alice', 'alice', 0],
        ],
      );
      // Each old account opens with its exact name; another spelling reaches the oldest.
      for (const name of ['boss', 'Boss', 'ｂｏｓｓ']) assert.equal((await users.login(name, `${name}-Passw0rd`)).user.name, name);
      assert.equal((await users.login('BOSS', 'boss-Passw0rd')).user.name, 'boss');
      await assert.rejects(users.create('BOSS', 'new-Passw0rd'), { code: 'USER_ALREADY_EXISTS' });
      await assert.rejects(users.create('ALICE', 'new-Passw0rd'), { code: 'USER_ALREADY_EXISTS' });
      // A colliding account may take a name of its own, which is then unique like any other.
      const boss2 = rows[1].id;
      await users.changeName(boss2, 'Boss2');
      assert.equal((await db.selectFrom('users').select('legacy_clash').where('id', '=', boss2).executeTakeFirstOrThrow()).legacy_clash, 0);
      await assert.rejects(users.create('boss2', 'new-Passw0rd'), { code: 'USER_ALREADY_EXISTS' });
      const plan = await sql<{ detail: string }>`EXPLAIN QUERY PLAN SELECT * FROM users WHERE name_key = 'boss'`.execute(db);
      assert.match(plan.rows.map((r) => r.detail).join(' '), /users_name_key/);
    } finally {
      await db.destroy();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
