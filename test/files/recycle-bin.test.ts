import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runFsck } from '../../src/fsck/fsck.js';
import { etagOf } from '../../src/store/etag.js';
import { databaseUrlFor, testsUsePostgres } from '../support/postgres.js';
import { startServer, type Client, type TestServer } from '../support/server.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Uploads real bytes (store/token, then a form upload); answers the new file object. */
async function upload(client: Client, path: string, content: string) {
  const slash = path.lastIndexOf('/');
  const t = await client.call('/v1/store/token', { name: path.slice(slash + 1), path: path.slice(0, slash) || '/' });
  const form = new FormData();
  form.append('token', t.token);
  form.append('file', new Blob([content]), 'x');
  const res = await fetch(`${t.uploadUrl}/file/upload`, { method: 'POST', body: form });
  assert.equal(res.status, 200);
  return JSON.parse(((await res.json()) as { response: string }).response).result;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'OK';
}

async function spaceUsed(client: Client): Promise<number> {
  return (await client.call('/v1/user/info')).spaceUsed;
}

async function download(client: Client, path: string): Promise<string> {
  const { downloadAddress } = await client.call('/v1/files/download', { path });
  return (await fetch(downloadAddress)).text();
}

async function refsOf(s: TestServer, content: string) {
  return s.openpan.db
    .selectFrom('blobs')
    .select(['refs', 'unreferenced_at'])
    .where('id', '=', etagOf(Buffer.from(content)))
    .executeTakeFirstOrThrow();
}

describe('recycle bin', () => {
  let s: TestServer;
  let ann: Client;
  let bob: Client;
  before(async () => {
    s = await startServer();
    ann = await s.newUser('ann');
    bob = await s.newUser('bob');
  });
  after(() => s.close());

  test('remove frees the name at once but keeps the space and the content until the entry is purged', async () => {
    const file = await upload(ann, '/bin1/report.txt', 'quarterly numbers');
    const before = await spaceUsed(ann);
    assert.equal(await ann.call('/v1/files/remove', { path: '/bin1/report.txt' }), true);

    assert.equal(await codeOf(ann.call('/v1/files/get', { path: '/bin1/report.txt' })), 'FILE_NOT_FOUND');
    assert.equal(await codeOf(ann.call('/v1/files/get', { uuid: file.uuid })), 'FILE_NOT_FOUND');
    assert.equal((await ann.call('/v1/files/page', { path: '/bin1' })).totalCount, 0);
    assert.equal(await spaceUsed(ann), before, 'space stays charged while in the bin');
    assert.deepEqual(await refsOf(s, 'quarterly numbers'), { refs: 1, unreferenced_at: null }, 'the collector must not free it');

    // 6pan's semantics: the name is free again at once.
    await upload(ann, '/bin1/report.txt', 'a new report');
    assert.equal(await download(ann, '/bin1/report.txt'), 'a new report');

    const bin = await ann.call('/v1/recycle/page', {});
    const entry = bin.list.find((e: { uuid: string }) => e.uuid === file.uuid);
    assert.equal(entry.name, 'report.txt');
    assert.equal(entry.originalPath, '/bin1/report.txt');
    assert.equal(entry.size, 17);
    assert.equal(entry.type, 0);
    assert.equal(entry.expiresAt - entry.trashedAt, 30 * DAY_MS);
    assert.equal(bin.recycleDays, 30);

    await ann.call('/v1/recycle/purge', { uuid: file.uuid });
    assert.equal(await spaceUsed(ann), before + 'a new report'.length - 17);
    const purged = await refsOf(s, 'quarterly numbers');
    assert.equal(purged.refs, 0);
    assert.ok(purged.unreferenced_at! > 0, 'now the collector may free it');
    assert.equal(await codeOf(ann.call('/v1/recycle/restore', { uuid: file.uuid })), 'RECYCLE_ENTRY_NOT_FOUND');
  });

  test('restore puts an entry back where it was, with a number when its name was taken meanwhile', async () => {
    const file = await upload(ann, '/bin2/notes.md', 'first notes');
    await ann.call('/v1/files/remove', { uuid: file.uuid });
    await upload(ann, '/bin2/notes.md', 'second notes');

    const [restored] = await ann.call('/v1/recycle/restore', { uuid: [file.uuid] });
    assert.equal(restored.uuid, file.uuid);
    assert.equal(restored.path, '/bin2/notes (1).md');
    assert.equal(restored.ext, '.md');
    assert.equal(await download(ann, '/bin2/notes (1).md'), 'first notes');
    assert.equal(await download(ann, '/bin2/notes.md'), 'second notes');
    assert.equal(
      (await ann.call('/v1/recycle/page', {})).list.some((e: { uuid: string }) => e.uuid === file.uuid),
      false,
    );
  });

  test('a folder goes to the bin as one entry with its subtree, and comes back whole even when its parent is gone', async () => {
    await upload(ann, '/bin3/outer/album/a.jpg', 'photo a');
    await upload(ann, '/bin3/outer/album/deep/b.jpg', 'photo b');
    const album = await ann.call('/v1/files/get', { path: '/bin3/outer/album' });
    const before = await spaceUsed(ann);

    await ann.call('/v1/files/remove', { path: '/bin3/outer/album' });
    const bin = await ann.call('/v1/recycle/page', {});
    const entries = bin.list.filter((e: { originalPath: string }) => e.originalPath.startsWith('/bin3'));
    assert.equal(entries.length, 1);
    assert.equal(entries[0].type, 1);
    assert.equal(entries[0].size, 'photo a'.length + 'photo b'.length);
    assert.equal(await codeOf(ann.call('/v1/files/page', { uuid: album.uuid })), 'FILE_NOT_FOUND', 'a binned folder is not listed by its uuid');

    // The parent goes for good; the folder still comes back to its path.
    await ann.call('/v1/files/remove', { path: '/bin3/outer', permanent: true });
    await ann.call('/v1/recycle/restore', { uuid: album.uuid });
    assert.equal(await download(ann, '/bin3/outer/album/deep/b.jpg'), 'photo b');
    assert.equal(await download(ann, '/bin3/outer/album/a.jpg'), 'photo a');
    assert.equal((await ann.call('/v1/files/page', { path: '/bin3/outer/album' })).totalCount, 2);
    assert.equal(await spaceUsed(ann), before);
  });

  test('a download address dies when its file goes to the bin', async () => {
    await upload(ann, '/bin4/movie.mkv', 'frames');
    const { downloadAddress } = await ann.call('/v1/files/download', { path: '/bin4/movie.mkv' });
    await ann.call('/v1/files/remove', { path: '/bin4/movie.mkv' });
    assert.equal((await fetch(downloadAddress)).status, 404);
  });

  test('a binned folder cannot be a destination: uploads and moves into it fail', async () => {
    const dir = await ann.call('/v1/files/createDirectory', { path: '/bin5/target' });
    await upload(ann, '/bin5/loose.txt', 'loose');
    await ann.call('/v1/files/remove', { uuid: dir.uuid });
    assert.equal(await codeOf(ann.call('/v1/files/move', { path: '/bin5/loose.txt', parent: dir.uuid })), 'PARENT_NOT_FOUND');
    assert.equal(await codeOf(ann.call('/v1/store/token', { name: 'x.txt', parent: dir.uuid })), 'PARENT_NOT_FOUND');
  });

  test("another user's bin entries are out of reach", async () => {
    const file = await upload(ann, '/bin6/private.txt', 'private');
    await ann.call('/v1/files/remove', { uuid: file.uuid });
    assert.equal(await codeOf(bob.call('/v1/recycle/restore', { uuid: file.uuid })), 'RECYCLE_ENTRY_NOT_FOUND');
    assert.equal(await codeOf(bob.call('/v1/recycle/purge', { uuid: file.uuid })), 'RECYCLE_ENTRY_NOT_FOUND');
    assert.equal((await bob.call('/v1/recycle/clear', {})).purged, 0);
    assert.equal((await bob.call('/v1/recycle/page', {})).totalCount, 0);
    assert.equal(
      (await ann.call('/v1/recycle/page', {})).list.some((e: { uuid: string }) => e.uuid === file.uuid),
      true,
    );
  });

  test('the hourly purge deletes entries older than OPENPAN_RECYCLE_DAYS and frees their space', async () => {
    const user = await s.newUser('carl');
    const old = await upload(user, '/old.bin', 'old bytes');
    const young = await upload(user, '/young.bin', 'young bytes!');
    await user.call('/v1/files/remove', { uuid: [old.uuid, young.uuid] });
    const now = Date.now();
    await s.openpan.db
      .updateTable('files')
      .set({ trashed_at: now - 31 * DAY_MS })
      .where('uuid', '=', old.uuid)
      .execute();
    await s.openpan.db
      .updateTable('files')
      .set({ trashed_at: now - 29 * DAY_MS })
      .where('uuid', '=', young.uuid)
      .execute();

    assert.ok((await s.openpan.files.purgeExpired(now)) >= 1);
    const left = await user.call('/v1/recycle/page', {});
    assert.deepEqual(
      left.list.map((e: { uuid: string }) => e.uuid),
      [young.uuid],
    );
    assert.equal(left.totalSize, 'young bytes!'.length);
    assert.equal(await spaceUsed(user), 'young bytes!'.length);
  });

  test('clear empties the bin and frees all its space', async () => {
    const user = await s.newUser('dora');
    await upload(user, '/a/one.txt', '1111');
    await upload(user, '/b/two.txt', '22');
    await user.call('/v1/files/remove', { path: ['/a', '/b/two.txt'] });
    assert.equal(await spaceUsed(user), 6);
    assert.deepEqual(await user.call('/v1/recycle/clear', {}), { purged: 2 });
    assert.equal(await spaceUsed(user), 0);
    assert.equal((await user.call('/v1/recycle/page', {})).totalCount, 0);
  });

  test('fsck finds a tree with bin entries consistent', async () => {
    const databaseUrl = testsUsePostgres() ? await databaseUrlFor(s.dataDir) : null;
    const report = await runFsck({ dataDir: s.dataDir, force: true, databaseUrl });
    assert.deepEqual(
      report.problems.map((p) => p.code),
      [],
    );
  });
});

describe('recycle bin switched off', () => {
  test('with OPENPAN_RECYCLE_DAYS=0 a removal is final at once', async () => {
    const s = await startServer({ OPENPAN_RECYCLE_DAYS: '0' });
    try {
      await upload(s.admin, '/gone.txt', 'gone for good');
      const before = await spaceUsed(s.admin);
      await s.admin.call('/v1/files/remove', { path: '/gone.txt' });
      assert.equal(await spaceUsed(s.admin), before - 'gone for good'.length);
      const bin = await s.admin.call('/v1/recycle/page', {});
      assert.equal(bin.totalCount, 0);
      assert.equal(bin.recycleDays, 0);
    } finally {
      await s.close();
    }
  });
});
