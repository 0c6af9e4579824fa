// The SQLite dialect's one connection (src/db/fifo-sqlite-dialect.ts): handed over in the order
// it was asked for, one query or transaction at a time, however many wait.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { FifoSqliteDialect } from '../../src/db/fifo-sqlite-dialect.js';

interface Db {
  t: { n: number };
}

function memoryDb(): Kysely<Db> {
  return new Kysely<Db>({ dialect: new FifoSqliteDialect({ database: new SQLite(':memory:') }) });
}

test('10,000 queries asked for at once all run, and finish in the order they were asked', async () => {
  const db = memoryDb();
  await db.schema.createTable('t').addColumn('n', 'integer').execute();
  const finished: number[] = [];
  const answers = await Promise.all(
    Array.from({ length: 10_000 }, (_, i) =>
      sql<{ v: number }>`SELECT ${i} * 2 AS v`.execute(db).then((r) => {
        finished.push(i);
        return r.rows[0].v;
      }),
    ),
  );
  assert.deepEqual(
    answers,
    Array.from({ length: 10_000 }, (_, i) => i * 2),
  );
  assert.deepEqual(
    finished,
    Array.from({ length: 10_000 }, (_, i) => i),
  );
  await db.destroy();
});

test('a query asked for during a transaction waits for it and never sees its uncommitted rows', async () => {
  const db = memoryDb();
  await db.schema.createTable('t').addColumn('n', 'integer').execute();
  let outside: Promise<number> | undefined;
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ n: 1 }).execute();
      // On the one connection, this would see the row above if it ran inside the transaction.
      outside = db
        .selectFrom('t')
        .select((eb) => eb.fn.countAll<number>().as('c'))
        .executeTakeFirstOrThrow()
        .then((r) => Number(r.c));
      await new Promise((resolve) => setTimeout(resolve, 20));
      await trx.insertInto('t').values({ n: 2 }).execute();
      throw new Error('roll back');
    }),
    /roll back/,
  );
  assert.equal(await outside, 0);
  await db.transaction().execute((trx) => trx.insertInto('t').values({ n: 3 }).execute());
  assert.deepEqual(await db.selectFrom('t').select('n').execute(), [{ n: 3 }]);
  await db.destroy();
});

test('transactions asked for together run one after another, each whole', async () => {
  const db = memoryDb();
  await db.schema.createTable('t').addColumn('n', 'integer').execute();
  await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      db.transaction().execute(async (trx) => {
        const before = await trx.selectFrom('t').select('n').execute();
        await new Promise((resolve) => setImmediate(resolve));
        // Read-then-write is safe only if no other transaction ran in between.
        await trx.insertInto('t').values({ n: before.length }).execute();
        return i;
      }),
    ),
  );
  const rows = (await db.selectFrom('t').select('n').orderBy('n').execute()).map((r) => r.n);
  assert.deepEqual(
    rows,
    Array.from({ length: 50 }, (_, i) => i),
  );
  await db.destroy();
});
