import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Db } from '../../src/db/database.js';
import { openTestDatabase } from '../support/postgres.js';
import type { BlobStore } from '../../src/store/blob-store.js';
import { BlobCollector } from '../../src/store/collector.js';
import { ContentLock } from '../../src/store/content-lock.js';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';

const GRACE = 60 * 60 * 1000;
const NOW = 1_700_000_000_000;

interface World {
  db: Db;
  store: LocalDiskBlobStore;
  lock: ContentLock;
  collector: BlobCollector;
  /** Stores `text` and records its row with the given refs and unreferenced_at. */
  blob(text: string, refs: number, unreferencedAt: number | null): Promise<string>;
  row(etag: string): Promise<{ refs: number } | undefined>;
}

async function withWorld(body: (w: World) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'openpan-gc-'));
  const db = await openTestDatabase(dataDir);
  const store = new LocalDiskBlobStore(join(dataDir, 'blobs'));
  const lock = new ContentLock();
  const world: World = {
    db,
    store,
    lock,
    collector: new BlobCollector(db, store, lock, GRACE),
    async blob(text, refs, unreferencedAt) {
      const writer = await store.createWriter();
      await writer.write(Buffer.from(text));
      const { etag, size } = await writer.commit();
      await db
        .insertInto('blobs')
        .values({ id: etag, size, refs, created_at: NOW - 10 * GRACE, unreferenced_at: unreferencedAt })
        .execute();
      return etag;
    },
    row: (etag) => db.selectFrom('blobs').select('refs').where('id', '=', etag).executeTakeFirst(),
  };
  try {
    await body(world);
  } finally {
    await world.collector.stop();
    await db.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }
}

test('an unreferenced blob past the grace period loses its row and its bytes', async () => {
  await withWorld(async ({ collector, blob, row, store }) => {
    const etag = await blob('forgotten', 0, NOW - GRACE - 1);
    assert.equal(await collector.collect(NOW), 1);
    assert.equal(await row(etag), undefined);
    assert.equal(await store.exists(etag), false);
  });
});

test('an unreferenced blob still within the grace period is kept', async () => {
  await withWorld(async ({ collector, blob, row, store }) => {
    const etag = await blob('recently removed', 0, NOW - GRACE + 1000);
    assert.equal(await collector.collect(NOW), 0);
    assert.deepEqual(await row(etag), { refs: 0 });
    assert.equal(await store.exists(etag), true);
  });
});

test('a blob that files still reference is kept, however old', async () => {
  await withWorld(async ({ collector, blob, row, store }) => {
    const referenced = await blob('in use', 2, null);
    const rereferenced = await blob('referenced again after a remove', 1, NOW - 10 * GRACE);
    assert.equal(await collector.collect(NOW), 0);
    assert.deepEqual(await row(referenced), { refs: 2 });
    assert.deepEqual(await row(rereferenced), { refs: 1 });
    assert.equal(await store.exists(referenced), true);
    assert.equal(await store.exists(rereferenced), true);
  });
});

test('only the collectable blobs go when kept and collectable ones are mixed', async () => {
  await withWorld(async ({ collector, blob, store }) => {
    const gone = [await blob('a', 0, NOW - GRACE - 1), await blob('b', -1, NOW - 2 * GRACE)];
    const kept = [await blob('c', 0, NOW), await blob('d', 1, null)];
    assert.equal(await collector.collect(NOW), 2);
    for (const e of gone) assert.equal(await store.exists(e), false);
    for (const e of kept) assert.equal(await store.exists(e), true);
  });
});

test('more blobs than one batch are all collected in one call', async () => {
  await withWorld(async ({ db, collector, store }) => {
    const etags: string[] = [];
    for (let i = 0; i < 1203; i++) {
      const writer = await store.createWriter();
      await writer.write(Buffer.from(`blob number ${i}`));
      etags.push((await writer.commit()).etag);
    }
    for (let i = 0; i < etags.length; i += 400) {
      const rows = etags.slice(i, i + 400).map((id) => ({ id, size: 1, refs: 0, created_at: 0, unreferenced_at: 0 }));
      await db.insertInto('blobs').values(rows).execute();
    }
    assert.equal(await collector.collect(NOW), 1203);
    assert.deepEqual(await db.selectFrom('blobs').select('id').execute(), []);
    const left: string[] = [];
    for await (const e of store.list()) left.push(e);
    assert.deepEqual(left, []);
  });
});

test('collection waits while an upload holds the content lock, so it sees the new reference', async () => {
  await withWorld(async ({ db, collector, lock, blob, store }) => {
    const etag = await blob('about to be uploaded again', 0, NOW - 2 * GRACE);
    let collecting!: Promise<number>;
    await lock.shared(async () => {
      // The collector starts while the upload is between committing bytes and creating its file.
      collecting = collector.collect(NOW);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await db.updateTable('blobs').set({ refs: 1, unreferenced_at: null }).where('id', '=', etag).execute();
    });
    assert.equal(await collecting, 0);
    assert.equal(await store.exists(etag), true);
  });
});

test('start runs collections on a timer until stop', async () => {
  await withWorld(async ({ collector, blob, store }) => {
    const etag = await blob('collected by the timer', 0, 0);
    collector.start(10);
    for (let i = 0; i < 100 && (await store.exists(etag)); i++) await new Promise((r) => setTimeout(r, 10));
    await collector.stop();
    assert.equal(await store.exists(etag), false);
  });
});

test('a failing pass is reported to onError and the timer keeps going', async () => {
  await withWorld(async ({ db, lock, blob }) => {
    const errors: unknown[] = [];
    let calls = 0;
    const brokenStore = {
      async delete() {
        calls++;
        throw new Error('store unreachable');
      },
    } as unknown as BlobStore;
    await blob('x', 0, 0);
    await blob('y', 0, 0);
    const collector = new BlobCollector(db, brokenStore, lock, GRACE);
    collector.start(10, (err) => errors.push(err));
    for (let i = 0; i < 100 && calls < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await collector.stop();
    assert.ok(calls >= 2, 'a second pass ran after the first failed');
    assert.match(String(errors[0]), /store unreachable/);
  });
});
