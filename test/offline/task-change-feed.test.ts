// The task change feed between processes (src/offline/task-change-feed.ts): each process hears
// the changes the others appended, once, and not its own; a row that becomes visible after one
// with a higher seq (PostgreSQL numbers rows before they commit) is still heard.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Db } from '../../src/db/database.js';
import type { TaskChange } from '../../src/offline/offline.repo.js';
import { TaskChangeFeed } from '../../src/offline/task-change-feed.js';
import { dropDatabaseFor, openTestDatabase } from '../support/postgres.js';
import { removeDataDir, tempDataDir } from '../support/process-server.js';

let dataDir: string;
let db: Db;
before(async () => {
  dataDir = tempDataDir();
  db = await openTestDatabase(dataDir);
});
after(async () => {
  await db.destroy();
  await dropDatabaseFor(dataDir);
  removeDataDir(dataDir);
});

/** Appends a change as another process would, with the seq it was numbered. */
async function append(seq: number, origin: string, taskId: string): Promise<void> {
  await db
    .insertInto('offline_task_changes')
    .values({ seq, origin, user_id: 1, task_row_id: seq, task_id: taskId, removed: 0, created_at: Date.now() })
    .execute();
}

test('a change committed after a later-numbered one is heard at the next read, and nothing is heard twice', async () => {
  const heard: string[] = [];
  const feed = new TaskChangeFeed(db, 'api-1');
  await feed.follow(
    (change: TaskChange) => heard.push(change.taskId),
    (err) => assert.fail(String(err)),
  );
  feed.close(); // reads are driven by hand here
  await append(1, 'worker-1', 'a');
  await append(3, 'worker-2', 'c'); // seq 2 is numbered but not yet committed
  await feed.read((c) => heard.push(c.taskId));
  assert.deepEqual(heard, ['a', 'c']);
  await append(2, 'worker-1', 'b');
  await append(4, 'api-1', 'own'); // this process's own change: its streams heard it already
  await append(5, 'worker-2', 'e');
  await feed.read((c) => heard.push(c.taskId));
  assert.deepEqual(heard, ['a', 'c', 'b', 'e']);
  await feed.read((c) => heard.push(c.taskId));
  assert.deepEqual(heard, ['a', 'c', 'b', 'e'], 'a second read with nothing new hears nothing');
});
