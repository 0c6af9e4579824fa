import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { etagOf } from '../src/store/etag.js';
import { startServer, type Client, type TestServer } from './helpers/server.js';

/** Puts a file entry with made-up content into a user's tree (the tree does not read bytes). */
async function putFile(s: TestServer, client: Client, path: string, content: string) {
  const info = await client.call('/v1/user/info');
  const slash = path.lastIndexOf('/');
  const dir = await s.openpan.files.ensureDir(info.identity, { path: path.slice(0, slash) || '/' });
  const data = Buffer.from(content);
  return s.openpan.files.createFile(info.identity, { dir, name: path.slice(slash + 1), etag: etagOf(data), size: data.length, onConflict: 'error' });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'OK';
}

describe('file tree', () => {
  let s: TestServer;
  let bob: Client;
  before(async () => {
    s = await startServer();
    bob = await s.newUser('bob');
  });
  after(() => s.close());

  test('createDirectory makes intermediate directories and returns the existing one on repeat', async () => {
    const c = await s.admin.call('/v1/files/createDirectory', { path: 'docs/2024/reports/' });
    assert.equal(c.path, '/docs/2024/reports');
    assert.equal(c.type, 1);
    assert.match(c.uuid, /^[0-9a-f]{32}$/);
    const again = await s.admin.call('/v1/files/createDirectory', { path: '/docs//2024/./reports' });
    assert.equal(again.uuid, c.uuid);
    const parent = await s.admin.call('/v1/files/get', { path: '/docs/2024' });
    assert.equal(c.parent, parent.uuid);
    const byParent = await s.admin.call('/v1/files/createDirectory', { parent: parent.uuid, name: 'slides' });
    assert.equal(byParent.path, '/docs/2024/slides');
  });

  test('100 parallel createDirectory of one path give one directory', async () => {
    const all = await Promise.all(Array.from({ length: 100 }, () => s.admin.call('/v1/files/createDirectory', { path: '/race/x/y' })));
    assert.equal(new Set(all.map((d) => d.uuid)).size, 1);
    assert.equal((await s.admin.call('/v1/files/page', { path: '/race' })).totalCount, 1);
    assert.equal((await s.admin.call('/v1/files/page', { path: '/race/x' })).totalCount, 1);
  });

  test('page lists directories first, sorts, pages, and describes the directory in info', async () => {
    await s.admin.call('/v1/files/createDirectory', { path: '/p/zdir' });
    await putFile(s, s.admin, '/p/a.txt', 'aaaa');
    await putFile(s, s.admin, '/p/b.bin', 'b');
    await putFile(s, s.admin, '/p/c.mkv', 'cc');
    const r = await s.admin.call('/v1/files/page', { path: '/p', page: 1, pageSize: 2 });
    assert.deepEqual(r.list.map((f: { name: string }) => f.name), ['zdir', 'a.txt']);
    assert.equal(r.totalCount, 4);
    assert.equal(r.totalPage, 2);
    assert.equal(r.info.path, '/p');
    const p2 = await s.admin.call('/v1/files/page', { path: '/p', page: 2, pageSize: 2 });
    assert.deepEqual(p2.list.map((f: { name: string }) => f.name), ['b.bin', 'c.mkv']);
    const bySize = await s.admin.call('/v1/files/page', { path: '/p', orderBy: 'size desc' });
    assert.deepEqual(bySize.list.map((f: { name: string }) => f.name), ['zdir', 'a.txt', 'c.mkv', 'b.bin']);
    const onlyFiles = await s.admin.call('/v1/files/page', { uuid: r.info.uuid, type: 0 });
    assert.equal(onlyFiles.totalCount, 3);
    const root = await s.admin.call('/v1/files/page', {});
    assert.equal(root.info.path, '/');
    assert.ok(root.list.some((f: { name: string }) => f.name === 'p'));
    const bad = await s.admin.raw('/v1/files/page', { path: '/p', orderBy: 'evil; drop table' });
    assert.equal(bad.status, 400);
  });

  test('list answers a window of the children as a bare array, list2 with the directory', async () => {
    const r = await s.admin.call('/v1/files/list', { path: '/p', start: 1, size: 2 });
    assert.deepEqual(r.map((f: { name: string }) => f.name), ['a.txt', 'b.bin']);
    const dir = await s.admin.call('/v1/files/get', { path: '/p' });
    assert.equal((await s.admin.call('/v1/files/list', { parent: dir.uuid })).length, 4);
    const two = await s.admin.call('/v1/files/list2', { uuid: dir.uuid });
    assert.equal(two.info.uuid, dir.uuid);
    assert.equal(two.info.mime, 'application/x-directory');
    assert.equal(two.list.length, 4);
  });

  test('a file object has every field API.md names', async () => {
    const f = await s.admin.call('/v1/files/get', { path: '/p/a.txt' });
    for (const k of ['uuid', 'storeId', 'userId', 'path', 'name', 'ext', 'size', 'mime', 'parent', 'type', 'atime', 'ctime', 'mtime', 'version', 'locking']) {
      assert.ok(k in f, k);
    }
    assert.equal(f.ext, '.txt');
    assert.equal(f.mime, 'text/plain');
    assert.equal(f.size, 4);
    assert.equal(f.storeId, etagOf(Buffer.from('aaaa')));
  });

  test('rename changes the path of the entry and of everything below it', async () => {
    await putFile(s, s.admin, '/r/sub/deep/f.txt', 'x');
    const r = await s.admin.call('/v1/files/rename', { path: '/r/sub', name: '新しい 名前' });
    assert.equal(r.path, '/r/新しい 名前');
    const f = await s.admin.call('/v1/files/get', { path: '/r/新しい 名前/deep/f.txt' });
    assert.equal(f.name, 'f.txt');
    assert.equal(await codeOf(s.admin.call('/v1/files/get', { path: '/r/sub/deep/f.txt' })), 'FILE_NOT_FOUND');
    const renamedFile = await s.admin.call('/v1/files/rename', { uuid: f.uuid, name: 'g.mp4' });
    assert.equal(renamedFile.ext, '.mp4');
    assert.equal(renamedFile.mime, 'video/mp4');
  });

  test('rename onto a taken name is 409 FILE_ALREADY_EXISTS', async () => {
    await s.admin.call('/v1/files/createDirectory', { path: '/clash/a' });
    await s.admin.call('/v1/files/createDirectory', { path: '/clash/b' });
    const r = await s.admin.raw('/v1/files/rename', { path: '/clash/a', name: 'b' });
    assert.equal(r.status, 409);
    assert.equal(r.json.code, 'FILE_ALREADY_EXISTS');
  });

  test('hostile names are refused with 400 NAME_INVALID', async () => {
    await s.admin.call('/v1/files/createDirectory', { path: '/h' });
    for (const name of ['.', '..', 'a/b', '../etc', 'x\u0000y', 'tab\there', 'new\nline', 'del\u007f', 'é'.repeat(128), '\ud800']) {
      const r = await s.admin.raw('/v1/files/createDirectory', { path: '/h', name });
      assert.equal(r.status, 400, JSON.stringify(name));
      assert.equal(r.json.code, 'NAME_INVALID', JSON.stringify(name));
    }
    assert.equal((await s.admin.call('/v1/files/page', { path: '/h' })).totalCount, 0);
  });

  test('paths with .. or control characters are refused with 400 PATH_INVALID and never escape the root', async () => {
    for (const path of ['/../../etc/passwd', '..', 'a/../../b', '/a/\u0001b']) {
      const r = await s.admin.raw('/v1/files/get', { path });
      assert.equal(r.status, 400, path);
      assert.equal(r.json.code, 'PATH_INVALID', path);
    }
  });

  test('a 10,000-deep path is refused, not created', async () => {
    const path = '/d'.repeat(10000);
    const r = await s.admin.raw('/v1/files/createDirectory', { path });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'PATH_INVALID');
    assert.equal(await codeOf(s.admin.call('/v1/files/get', { path: '/d' })), 'FILE_NOT_FOUND');
  });

  test('move into itself or a descendant is 400 MOVE_INTO_SELF', async () => {
    await s.admin.call('/v1/files/createDirectory', { path: '/m/inner/leaf' });
    for (const destPath of ['/m', '/m/inner', '/m/inner/leaf']) {
      const r = await s.admin.raw('/v1/files/move', { path: ['/m'], destPath });
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 'MOVE_INTO_SELF');
    }
  });

  test('move carries a subtree to its new place', async () => {
    await putFile(s, s.admin, '/mv/src/a/file.txt', 'hello');
    await s.admin.call('/v1/files/createDirectory', { path: '/mv/dst' });
    const dst = await s.admin.call('/v1/files/get', { path: '/mv/dst' });
    assert.equal(await s.admin.call('/v1/files/move', { path: ['/mv/src'], parent: dst.uuid }), true);
    const f = await s.admin.call('/v1/files/get', { path: '/mv/dst/src/a/file.txt' });
    assert.equal(f.size, 5);
    assert.equal(await codeOf(s.admin.call('/v1/files/get', { path: '/mv/src' })), 'FILE_NOT_FOUND');
    const moved = await s.admin.call('/v1/files/get', { path: '/mv/dst/src' });
    assert.equal(moved.parent, dst.uuid);
  });

  test('move onto a taken name is 409 and moves nothing', async () => {
    await s.admin.call('/v1/files/createDirectory', { path: '/mc/a/x' });
    await s.admin.call('/v1/files/createDirectory', { path: '/mc/b/x' });
    await s.admin.call('/v1/files/createDirectory', { path: '/mc/a/y' });
    const r = await s.admin.raw('/v1/files/move', { path: ['/mc/a/y', '/mc/a/x'], destPath: '/mc/b' });
    assert.equal(r.status, 409);
    // The whole call is one transaction: y did not move either.
    assert.equal((await s.admin.call('/v1/files/get', { path: '/mc/a/y' })).name, 'y');
  });

  test('move to a destination that does not exist is 404 PARENT_NOT_FOUND', async () => {
    const r = await s.admin.raw('/v1/files/move', { path: ['/mc/a'], destPath: '/nowhere' });
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'PARENT_NOT_FOUND');
  });

  test('copy duplicates the tree, shares content and charges space', async () => {
    await putFile(s, s.admin, '/cp/src/one.txt', '1111111111');
    await putFile(s, s.admin, '/cp/src/sub/two.txt', '22222');
    await s.admin.call('/v1/files/createDirectory', { path: '/cp/dst' });
    const before = (await s.admin.call('/v1/user/info')).spaceUsed;
    await s.admin.call('/v1/files/copy', { path: '/cp/src', destPath: '/cp/dst' });
    const after = (await s.admin.call('/v1/user/info')).spaceUsed;
    assert.equal(after - before, 15);
    const two = await s.admin.call('/v1/files/get', { path: '/cp/dst/src/sub/two.txt' });
    const orig = await s.admin.call('/v1/files/get', { path: '/cp/src/sub/two.txt' });
    assert.equal(two.storeId, orig.storeId);
    assert.notEqual(two.uuid, orig.uuid);
    const sub = await s.admin.call('/v1/files/get', { path: '/cp/dst/src/sub' });
    assert.equal(two.parent, sub.uuid);
    const blob = await s.openpan.db.selectFrom('blobs').select('refs').where('id', '=', orig.storeId).executeTakeFirstOrThrow();
    assert.equal(blob.refs, 2);
  });

  test('remove is recursive, frees space and drops blob references', async () => {
    await putFile(s, s.admin, '/rm/a/b/c.txt', 'remove me please');
    const etag = etagOf(Buffer.from('remove me please'));
    const before = (await s.admin.call('/v1/user/info')).spaceUsed;
    assert.equal(await s.admin.call('/v1/files/remove', { path: ['/rm'] }), true);
    assert.equal(before - (await s.admin.call('/v1/user/info')).spaceUsed, 16);
    assert.equal(await codeOf(s.admin.call('/v1/files/get', { path: '/rm/a/b/c.txt' })), 'FILE_NOT_FOUND');
    const blob = await s.openpan.db.selectFrom('blobs').selectAll().where('id', '=', etag).executeTakeFirstOrThrow();
    assert.equal(blob.refs, 0);
    assert.ok(blob.unreferenced_at! > 0);
  });

  test('the :torrent folder is created on first use and named in any case', async () => {
    const d = await s.admin.call('/v1/files/createDirectory', { path: ':TORRENT' });
    assert.equal(d.path, '/:torrent');
    const viaUuid = await s.admin.call('/v1/files/page', { uuid: ':torrent' });
    assert.equal(viaUuid.info.uuid, d.uuid);
    const fresh = await s.newUser('carol');
    const page = await fresh.call('/v1/files/page', { path: ':Torrent' });
    assert.equal(page.info.path, '/:torrent');
    assert.equal(page.totalCount, 0);
  });

  test("another user's uuid or path gives 404 and never its data", async () => {
    await putFile(s, s.admin, '/secret/plan.txt', 'top secret');
    const dir = await s.admin.call('/v1/files/get', { path: '/secret' });
    const file = await s.admin.call('/v1/files/get', { path: '/secret/plan.txt' });
    const attempts: Array<[string, object]> = [
      ['/v1/files/get', { uuid: file.uuid }],
      ['/v1/files/page', { uuid: dir.uuid }],
      ['/v1/files/list', { parent: dir.uuid }],
      ['/v1/files/rename', { uuid: file.uuid, name: 'mine.txt' }],
      ['/v1/files/remove', { uuid: [file.uuid] }],
      ['/v1/files/move', { uuid: [file.uuid], destPath: '/' }],
      ['/v1/files/copy', { uuid: [file.uuid], destPath: '/' }],
      ['/v1/files/createDirectory', { parent: dir.uuid, name: 'x' }],
      ['/v1/files/get', { path: '/secret/plan.txt' }],
    ];
    for (const [call, body] of attempts) {
      const r = await bob.raw(call, body);
      assert.equal(r.status, 404, call);
      assert.equal(r.json.result, null);
      assert.ok(!JSON.stringify(r.json).includes('plan.txt') || call === '/v1/files/get', call);
    }
    // Bob's own move into admin's directory fails the same way.
    await bob.call('/v1/files/createDirectory', { path: '/mine' });
    const r = await bob.raw('/v1/files/move', { path: ['/mine'], parent: dir.uuid });
    assert.equal(r.status, 404);
    assert.equal((await s.admin.call('/v1/files/get', { path: '/secret/plan.txt' })).name, 'plan.txt');
  });

  test('fields of a type nothing can be read from give 400 BAD_REQUEST', async () => {
    for (const [call, body] of [
      ['/v1/files/page', { path: {} }],
      ['/v1/files/rename', { path: '/p' }],
      ['/v1/files/move', { path: [{}], destPath: '/' }],
    ] as const) {
      const r = await s.admin.raw(call, body);
      assert.equal(r.status, 400, `${call} ${JSON.stringify(body)}`);
      assert.equal(r.json.code, 'BAD_REQUEST');
    }
  });

  test('inputs are read as the gateway read them: numeric strings, bad numbers, empty uuids, -1 for all', async () => {
    const asNumbers = await s.admin.call('/v1/files/page', { path: '/p', page: '1', pageSize: '2' });
    assert.equal(asNumbers.pageSize, 2);
    assert.equal(asNumbers.list.length, 2);
    const badNumbers = await s.admin.call('/v1/files/page', { path: '/p', page: 'x', pageSize: 'lots' });
    assert.equal(badNumbers.page, 1);
    assert.equal(badNumbers.list.length, 4);
    const emptyUuid = await s.admin.call('/v1/files/page', { uuid: '', path: '/p', type: -1, orderBy: -1 });
    assert.equal(emptyUuid.info.path, '/p');
    assert.equal(emptyUuid.totalCount, 4);
    const onlyFiles = await s.admin.call('/v1/files/page', { path: '/p', type: '0' });
    assert.ok(onlyFiles.list.every((f: { type: number }) => f.type === 0));
  });

  test('a file in the way of a directory path is reported, not overwritten', async () => {
    await putFile(s, s.admin, '/fw/thing', 'data');
    const r = await s.admin.raw('/v1/files/createDirectory', { path: '/fw/thing/sub' });
    assert.equal(r.status, 409);
    assert.equal(r.json.code, 'FILE_ALREADY_EXISTS');
    const p = await s.admin.raw('/v1/files/page', { path: '/fw/thing' });
    assert.equal(p.status, 400);
    assert.equal(p.json.code, 'NOT_A_DIRECTORY');
  });
});

describe('big trees', () => {
  test('moving and removing a folder of 100,000 files keeps counts, paths and space exact', async () => {
    const s = await startServer();
    try {
      const dir = await s.admin.call('/v1/files/createDirectory', { path: '/big/folder' });
      const parent = await s.openpan.db.selectFrom('files').select(['id', 'user_id']).where('uuid', '=', dir.uuid).executeTakeFirstOrThrow();
      await sql`
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
        INSERT INTO files (uuid, user_id, parent_id, path, name, ext, type, size, store_id, mime, depth, ctime, mtime, atime, version, locking)
        SELECT lower(hex(randomblob(16))), ${parent.user_id}, ${parent.id}, '/big/folder/f' || i || '.bin', 'f' || i || '.bin', '.bin', 0, 10,
               'FgAAAAAAAAAAAAAAAAAAAAAAAAAA', 'application/octet-stream', 3, 0, 0, 0, 0, 0 FROM n`.execute(s.openpan.db);
      await sql`INSERT INTO blobs (id, size, refs, created_at) VALUES ('FgAAAAAAAAAAAAAAAAAAAAAAAAAA', 10, 100000, 0)`.execute(s.openpan.db);
      await sql`UPDATE users SET space_used = space_used + 1000000 WHERE id = ${parent.user_id}`.execute(s.openpan.db);

      await s.admin.call('/v1/files/createDirectory', { path: '/elsewhere' });
      await s.admin.call('/v1/files/move', { path: ['/big/folder'], destPath: '/elsewhere' });
      const page = await s.admin.call('/v1/files/page', { path: '/elsewhere/folder', page: 1000, pageSize: 100 });
      assert.equal(page.totalCount, 100000);
      assert.equal(page.list.length, 100);
      assert.ok(page.list.every((f: { path: string }) => f.path.startsWith('/elsewhere/folder/f')));

      await s.admin.call('/v1/files/copy', { path: ['/elsewhere/folder'], destPath: '/big' });
      assert.equal((await s.admin.call('/v1/files/page', { path: '/big/folder' })).totalCount, 100000);
      assert.equal((await s.admin.call('/v1/user/info')).spaceUsed, 2000000);
      let blob = await s.openpan.db.selectFrom('blobs').select('refs').executeTakeFirstOrThrow();
      assert.equal(blob.refs, 200000);

      await s.admin.call('/v1/files/remove', { path: ['/elsewhere', '/big'] });
      assert.equal((await s.admin.call('/v1/user/info')).spaceUsed, 0);
      blob = await s.openpan.db.selectFrom('blobs').select('refs').executeTakeFirstOrThrow();
      assert.equal(blob.refs, 0);
      const left = await s.openpan.db.selectFrom('files').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(left.n), 0);
    } finally {
      await s.close();
    }
  });
});

describe('restart', () => {
  test('users, sessions and the tree survive a restart', async () => {
    const s = await startServer();
    await s.admin.call('/v1/files/createDirectory', { path: '/keep/me' });
    const token = s.admin.token;
    await s.stop();
    const again = await startServer({}, s.dataDir);
    try {
      again.admin.token = token;
      const d = await again.admin.call('/v1/files/get', { path: '/keep/me' });
      assert.equal(d.type, 1);
    } finally {
      await again.close();
    }
  });
});
