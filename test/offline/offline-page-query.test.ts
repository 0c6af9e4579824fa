// The task page's SQL against the real database: every page in both orders equals the plain
// slice (deep pages are read from the other end of the index), and the per-user task counter
// kept by triggers follows inserts, deletes and user deletion.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTestDatabase } from '../support/postgres.js';
import { OfflineRepo } from '../../src/offline/offline.repo.js';

test('offline task pages and counts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openpan-page-'));
  const db = await openTestDatabase(dir);
  try {
    const repo = new OfflineRepo(db);
    const user = async (name: string) =>
      Number(
        (
          await db
            .insertInto('users')
            .values({ name, password_hash: 'x', is_admin: 0, space_used: 0, space_capacity: 1, offline_quota: 0, created_at: 0 })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id,
      );
    const alice = await user('alice');
    const bob = await user('bob');
    const ids: number[] = [];
    for (let i = 0; i < 257; i++) {
      const owner = i % 3 === 0 ? bob : alice;
      const row = await repo.insertTask({
        task_id: i.toString(16).padStart(32, '0'),
        user_id: owner,
        job_id: 'j',
        type: 0,
        name: `t${i}`,
        source: '',
        info_hash: '',
        files: '[]',
        engine_files: '[]',
        save_uuid: '',
        save_path: '/',
        status: 0,
        error_code: '',
        message: '',
        size: 1,
        finished_size: 0,
        created_at: i,
        finished_at: 0,
      });
      if (owner === alice) ids.push(row.id);
    }
    const total = await repo.countUserTasks(alice);
    assert.equal(total, ids.length);
    assert.equal(await repo.countUserTasks(bob), 257 - ids.length);
    const newest = [...ids].reverse();
    for (const size of [1, 7, 100]) {
      for (let offset = 0; offset <= total + size; offset += size) {
        for (const newestFirst of [true, false]) {
          const want = (newestFirst ? newest : ids).slice(offset, offset + size);
          const got = (await repo.userTasks(alice, offset, size, newestFirst, total)).map((r) => r.id);
          assert.deepEqual(got, want, `offset ${offset} size ${size} newestFirst ${newestFirst}`);
          assert.deepEqual(
            (await repo.userTasks(alice, offset, size, newestFirst)).map((r) => r.id),
            want,
          );
        }
      }
    }
    await repo.deleteTask(ids[0]);
    assert.equal(await repo.countUserTasks(alice), total - 1);
    await db.deleteFrom('users').where('id', '=', bob).execute();
    assert.equal(await repo.countUserTasks(bob), 0);
    assert.equal(await repo.countUserTasks(12345), 0);
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
