// Copies and removals of directories larger than one slice (SLICE_ENTRIES) run as many short
// transactions, with other requests served between them; the tree, the space, the entry counts
// and the content references agree after each, and a failed copy leaves nothing behind. And the
// per-user entry limit (OPENPAN_MAX_ENTRIES) refuses what would go beyond it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { checkDirStats, checkPaths, checkSpace } from '../../src/fsck/checks/tree.js';
import { emptyChecked, type CheckContext } from '../../src/fsck/context.js';
import type { DirRef } from '../../src/files/file-object.js';
import { SLICE_ENTRIES, SliceSizer } from '../../src/files/subtree-chunks.js';
import { etagOf } from '../../src/store/etag.js';
import { startServer, type Client, type TestServer } from '../support/server.js';

const stored = (text: string) => ({ etag: etagOf(Buffer.from(text)), size: Buffer.byteLength(text) });

/** A tree of `dirs` folders of `perDir` files each under `root`, with 7 distinct contents among the files. */
async function buildTree(s: TestServer, userId: number, root: string, dirs: number, perDir: number): Promise<void> {
  for (let d = 0; d < dirs; d++) {
    const dir: DirRef = await s.openpan.files.ensureDir(userId, { path: `${root}/d${d}/inner` });
    const inputs = Array.from({ length: perDir }, (_, i) => ({ dir, name: `f${i}.txt`, ...stored(`content ${(d + i) % 7}`), onConflict: 'error' as const }));
    const { error } = await s.openpan.files.createFiles(userId, inputs);
    assert.equal(error, null);
  }
}

/** Each entry under `root`: relative path, type, size, content. */
async function treeOf(s: TestServer, userId: number, root: string): Promise<string[]> {
  const rows = await s.openpan.db
    .selectFrom('files')
    .select(['path', 'type', 'size', 'store_id'])
    .where('user_id', '=', userId)
    .where('path', 'like', `${root}/%`)
    .orderBy('path')
    .execute();
  return rows.map((r) => `${r.path.slice(root.length)} ${r.type} ${r.size} ${r.store_id}`);
}

/** The user's entry count as the database keeps it. */
async function entryCount(s: TestServer, userId: number): Promise<number> {
  return (await s.openpan.db.selectFrom('users').select('entry_count').where('id', '=', userId).executeTakeFirstOrThrow()).entry_count;
}

/** The id of the user's one recycle bin entry (its subtree's paths start with `/~<id>`). */
async function binId(s: TestServer, userId: number): Promise<number> {
  return (await s.openpan.db.selectFrom('files').select('id').where('user_id', '=', userId).where('parent_id', '<', 0).executeTakeFirstOrThrow()).id;
}

/** The tree checks of fsck, and every content's reference count against the entries using it. */
async function assertConsistent(s: TestServer): Promise<void> {
  const ctx = { db: s.openpan.db } as CheckContext;
  const problems = [...(await checkSpace(ctx, emptyChecked())), ...(await checkDirStats(ctx, emptyChecked())), ...(await checkPaths(ctx))];
  assert.deepEqual(problems, []);
  const refs = await sql<{ id: string; refs: number; n: number }>`
    SELECT b.id, b.refs, (SELECT count(*) FROM files f WHERE f.store_id = b.id AND f.type = 0) AS n FROM blobs b`.execute(s.openpan.db);
  for (const r of refs.rows) assert.equal(Number(r.refs), Number(r.n), `references of ${r.id}`);
}

describe('copies and removals of large directories, in slices', () => {
  let s: TestServer;
  let user: Client;
  let userId: number;
  before(async () => {
    s = await startServer();
    user = await s.newUser('slicer');
    userId = (await user.call('/v1/user/info')).identity;
    // 12 folders × (1 + 1 + 200) entries: several slices.
    await buildTree(s, userId, '/big', 12, 200);
  });
  after(() => s.close());

  test('a copy larger than a slice is the same tree, charged and referenced like a small one', async () => {
    const entries = (await treeOf(s, userId, '/big')).length + 1;
    assert.ok(entries > 3 * SLICE_ENTRIES, `${entries} entries`);
    const before = await user.call('/v1/user/info');
    await user.call('/v1/files/createDirectory', { path: '/copies' });
    await user.call('/v1/files/copy', { path: ['/big'], destPath: '/copies' });
    assert.deepEqual(await treeOf(s, userId, '/copies/big'), await treeOf(s, userId, '/big'));
    const afterCopy = await user.call('/v1/user/info');
    assert.equal(afterCopy.spaceUsed, 2 * before.spaceUsed);
    await assertConsistent(s);
  });

  test('other requests are answered while a large copy runs, not after it', async () => {
    const other = await s.newUser('bystander');
    await user.call('/v1/files/createDirectory', { path: '/copies2' });
    let copyDone = false;
    const copying = user.call('/v1/files/copy', { path: ['/big'], destPath: '/copies2' }).then(() => {
      copyDone = true;
    });
    // Wait until the copy has started filling its folder, then ask for something else.
    for (;;) {
      const made = await s.openpan.db.selectFrom('files').select('id').where('user_id', '=', userId).where('path', 'like', '/copies2/big/%').limit(1).execute();
      if (made.length > 0) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const info = await other.call('/v1/user/info');
    assert.equal(info.name, 'bystander');
    assert.equal(copyDone, false, 'the other request was answered while the copy was still being made');
    await copying;
    assert.deepEqual(await treeOf(s, userId, '/copies2/big'), await treeOf(s, userId, '/big'));
    await assertConsistent(s);
  });

  test('a large removal for good frees the space, the entries and the references', async () => {
    const before = await user.call('/v1/user/info');
    const bytes = (await treeOf(s, userId, '/copies/big')).reduce((sum, line) => sum + Number(line.split(' ')[2]), 0);
    await user.call('/v1/files/remove', { path: ['/copies', '/copies2'], permanent: true });
    assert.deepEqual(await treeOf(s, userId, '/copies'), []);
    assert.equal((await user.raw('/v1/files/get', { path: '/copies' })).json.code, 'FILE_NOT_FOUND');
    assert.equal((await user.call('/v1/user/info')).spaceUsed, before.spaceUsed - 2 * bytes);
    await assertConsistent(s);
    // The name is free again at once.
    await user.call('/v1/files/createDirectory', { path: '/copies' });
  });

  test('a large folder purged from the recycle bin goes in slices and frees its space, entries and references', async () => {
    const before = await user.call('/v1/user/info');
    const entriesBefore = await entryCount(s, userId);
    await user.call('/v1/files/createDirectory', { path: '/binned' });
    await user.call('/v1/files/copy', { path: ['/big'], destPath: '/binned' });
    await user.call('/v1/files/remove', { path: ['/binned/big'] });
    const { list } = await user.call('/v1/recycle/page');
    assert.equal(list.length, 1);
    const other = await s.newUser('bin-bystander');
    let purged = false;
    const purging = user.call('/v1/recycle/purge', { uuid: [list[0].uuid] }).then(() => {
      purged = true;
    });
    // Once its first slice is gone, another user is answered before the purge ends.
    const total = (await treeOf(s, userId, `~${await binId(s, userId)}`)).length;
    for (;;) {
      if ((await treeOf(s, userId, `~${await binId(s, userId)}`)).length < total) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((await other.call('/v1/user/info')).name, 'bin-bystander');
    assert.equal(purged, false, 'the other request was answered while the purge was still running');
    await purging;
    assert.equal((await user.call('/v1/recycle/page')).totalCount, 0);
    assert.equal((await user.call('/v1/user/info')).spaceUsed, before.spaceUsed);
    assert.equal(await entryCount(s, userId), entriesBefore + 1, 'only /binned is left of it');
    await assertConsistent(s);
    await user.call('/v1/files/remove', { path: ['/binned'], permanent: true });
  });

  test('emptying a bin that holds a large folder and small entries purges all of them and counts them', async () => {
    const before = await user.call('/v1/user/info');
    await user.call('/v1/files/createDirectory', { path: '/binned' });
    await user.call('/v1/files/copy', { path: ['/big'], destPath: '/binned' });
    await user.call('/v1/files/copy', { path: ['/big/d0/inner/f1.txt', '/big/d1/inner/f2.txt'], destPath: '/binned' });
    await user.call('/v1/files/remove', { path: ['/binned/f1.txt'] });
    await user.call('/v1/files/remove', { path: ['/binned/big'] });
    await user.call('/v1/files/remove', { path: ['/binned/f2.txt'] });
    assert.equal((await user.call('/v1/recycle/clear')).purged, 3);
    assert.equal((await user.call('/v1/recycle/page')).totalCount, 0);
    await user.call('/v1/files/remove', { path: ['/binned'], permanent: true });
    assert.equal((await user.call('/v1/user/info')).spaceUsed, before.spaceUsed);
    await assertConsistent(s);
  });

  test('a large copy that runs out of space partway fails and leaves no part of itself', async () => {
    const info = await user.call('/v1/user/info');
    const treeBytes = (await treeOf(s, userId, '/big')).reduce((sum, line) => sum + Number(line.split(' ')[2]), 0);
    // Room for the copy and 10 bytes more when it starts. An upload of 50 bytes that lands once the
    // copy has begun fits whichever slices came before it (each slice holds far more than 50
    // bytes), and leaves the copy 40 bytes short by its last slice at the latest.
    await sql`UPDATE users SET space_capacity = ${info.spaceUsed + treeBytes + 10} WHERE id = ${userId}`.execute(s.openpan.db);
    await user.call('/v1/files/createDirectory', { path: '/doomed' });
    const copying = user.raw('/v1/files/copy', { path: ['/big'], destPath: '/doomed' });
    for (;;) {
      const started = await s.openpan.db.selectFrom('files').select('id').where('user_id', '=', userId).where('path', '=', '/doomed/big').executeTakeFirst();
      if (started) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const dir = await s.openpan.files.ensureDir(userId, { path: '/' });
    const taken = await s.openpan.files.createFile(userId, { dir, name: 'large.bin', etag: etagOf(Buffer.from('x')), size: 50, onConflict: 'error' });
    assert.equal(taken.created, true, 'the upload fits while the copy runs');
    const answer = await copying;
    assert.equal(answer.json.code, 'SPACE_EXCEEDED');
    assert.deepEqual(await treeOf(s, userId, '/doomed/big'), []);
    assert.equal((await user.raw('/v1/files/get', { path: '/doomed/big' })).json.code, 'FILE_NOT_FOUND');
    await assertConsistent(s);
    await user.call('/v1/files/remove', { path: ['/large.bin'], permanent: true });
    await sql`UPDATE users SET space_capacity = ${info.spaceCapacity} WHERE id = ${userId}`.execute(s.openpan.db);
  });
});

describe('the per-user entry limit', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ OPENPAN_MAX_ENTRIES: '10' });
  });
  after(() => s.close());

  test('uploads, folders, copies and imports stop at OPENPAN_MAX_ENTRIES with ENTRIES_EXCEEDED, and removals make room', async () => {
    const user = await s.newUser('counted');
    const userId = (await user.call('/v1/user/info')).identity;
    const dir = await s.openpan.files.ensureDir(userId, { path: '/a' }); // 1 entry
    const inputs = Array.from({ length: 12 }, (_, i) => ({ dir, name: `f${i}`, ...stored(`c${i}`), onConflict: 'error' as const }));
    const { created, error } = await s.openpan.files.createFiles(userId, inputs);
    assert.equal(created.length, 9, 'the batch stops at the first file over the limit');
    assert.equal(error?.code, 'ENTRIES_EXCEEDED');

    const folder = await user.raw('/v1/files/createDirectory', { path: '/b' });
    assert.equal(folder.status, 413);
    assert.equal(folder.json.code, 'ENTRIES_EXCEEDED');
    const copy = await user.raw('/v1/files/copy', { path: ['/a/f0'], destPath: '/' });
    assert.equal(copy.json.code, 'ENTRIES_EXCEEDED');
    await assert.rejects(s.openpan.files.createFile(userId, { dir, name: 'one more', ...stored('c1'), onConflict: 'error' }), { code: 'ENTRIES_EXCEEDED' });

    await user.call('/v1/files/remove', { path: ['/a/f0', '/a/f1'], permanent: true });
    await user.call('/v1/files/createDirectory', { path: '/b' });
    await user.call('/v1/files/copy', { path: ['/a/f2'], destPath: '/b' });
    assert.equal((await s.openpan.db.selectFrom('users').select('entry_count').where('id', '=', userId).executeTakeFirstOrThrow()).entry_count, 10);
    // Another user's drive is counted apart.
    const other = await s.newUser('other');
    await other.call('/v1/files/createDirectory', { path: '/mine' });
  });
});

describe('the size of a slice', () => {
  test('follows the time slices take: fewer entries when they are slow, more when fast, within bounds', () => {
    const sizer = new SliceSizer();
    const first = sizer.entries;
    sizer.took(80, first); // 10× over the budget
    assert.ok(sizer.entries < first, `${sizer.entries} < ${first}`);
    for (let i = 0; i < 20; i++) sizer.took(1000, sizer.entries);
    assert.equal(sizer.entries, 16, 'never fewer than the smallest slice');
    for (let i = 0; i < 20; i++) sizer.took(0.5, sizer.entries);
    assert.equal(sizer.entries, SLICE_ENTRIES, 'never more than SLICE_ENTRIES');
    // A steady 0.1 ms per entry settles at the budget's 80 entries.
    for (let i = 0; i < 20; i++) sizer.took(sizer.entries * 0.1, sizer.entries);
    assert.ok(Math.abs(sizer.entries - 80) <= 1, `${sizer.entries}`);
  });
});
