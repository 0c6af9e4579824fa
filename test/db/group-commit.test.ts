import SQLite from 'better-sqlite3';
import { type Generated, Kysely, SqliteDialect } from 'kysely';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Db } from '../../src/db/database.js';
import { GroupCommit } from '../../src/db/group-commit.js';

interface Tables {
  notes: { id: Generated<number>; text: string };
}

/** A database of one table; `statements` records every SQL text run on it. */
function notesDb(): { db: Db; raw: Kysely<Tables>; statements: string[] } {
  const statements: string[] = [];
  const raw = new Kysely<Tables>({
    dialect: new SqliteDialect({ database: new SQLite(':memory:') }),
    log: (event) => {
      if (event.level === 'query') statements.push(event.query.sql);
    },
  });
  // GroupCommit speaks to the application's Db type; the table is this test's own.
  return { db: raw as unknown as Db, raw, statements };
}

async function withNotes<T>(fn: (ctx: ReturnType<typeof notesDb>) => Promise<T>): Promise<T> {
  const ctx = notesDb();
  await ctx.raw.schema
    .createTable('notes')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('text', 'text', (c) => c.notNull().unique())
    .execute();
  ctx.statements.length = 0;
  try {
    return await fn(ctx);
  } finally {
    await ctx.raw.destroy();
  }
}

function insertNote(text: string) {
  return async (trx: Db) => {
    await (trx as unknown as Kysely<Tables>).insertInto('notes').values({ text }).execute();
    return text;
  };
}

test('writes arriving together commit in one transaction, each answered with its own value', async () => {
  await withNotes(async ({ db, raw, statements }) => {
    const writes = new GroupCommit(db);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => writes.run(insertNote(`note ${i}`))));
    assert.deepEqual(
      answers,
      Array.from({ length: 20 }, (_, i) => `note ${i}`),
    );
    assert.equal((await raw.selectFrom('notes').select('id').execute()).length, 20);
    assert.equal(statements.filter((s) => s === 'commit').length, 1);
  });
});

test('a write that fails is rolled back alone: the others of its batch are committed', async () => {
  await withNotes(async ({ db, raw }) => {
    const writes = new GroupCommit(db);
    const results = await Promise.allSettled([
      writes.run(insertNote('a')),
      writes.run(async (trx) => {
        await insertNote('b')(trx);
        await insertNote('a')(trx); // unique violation: 'b' goes too
        return 'never';
      }),
      writes.run(insertNote('c')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((results[1] as PromiseRejectedResult).reason), /UNIQUE/);
    const texts = (await raw.selectFrom('notes').select('text').orderBy('text').execute()).map((r) => r.text);
    assert.deepEqual(texts, ['a', 'c']);
  });
});

test('a write is answered only once its transaction has committed', async () => {
  await withNotes(async ({ db, statements }) => {
    const writes = new GroupCommit(db);
    const seenAtAnswer: string[][] = [];
    await Promise.all(['x', 'y'].map((t) => writes.run(insertNote(t)).then(() => seenAtAnswer.push([...statements]))));
    for (const seen of seenAtAnswer) assert.equal(seen.at(-1), 'commit');
  });
});

test('writes that arrive while a batch runs go in the next batch', async () => {
  await withNotes(async ({ db, raw, statements }) => {
    const writes = new GroupCommit(db);
    let late: Promise<string> | undefined;
    const first = writes.run(async (trx) => {
      late = writes.run(insertNote('late'));
      return insertNote('first')(trx);
    });
    assert.equal(await first, 'first');
    assert.equal(await late, 'late');
    assert.equal((await raw.selectFrom('notes').select('id').execute()).length, 2);
    assert.equal(statements.filter((s) => s === 'commit').length, 2);
  });
});
