import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { etagOf } from '../src/store/etag.js';
import { randomUuidSql } from '../src/db/sql.js';
import { testsUsePostgres } from './support/postgres.js';
import { startServer, type Client, type TestServer } from './support/server.js';

/** Puts a file entry with made-up content into a user's tree (the tree does not read bytes). */
async function putFile(s: TestServer, client: Client, path: string, content: string) {
  const info = await client.call('/v1/user/info');
  const slash = path.lastIndexOf('/');
  const dir = await s.openpan.files.ensureDir(info.identity, { path: path.slice(0, slash) || '/' });
  const data = Buffer.from(content);
  return s.openpan.files.createFile(info.identity, { dir, name: path.slice(slash + 1), etag: etagOf(data), size: data.length, onConflict: 'error' });
}

/** Uploads real bytes (store/token, then a form upload), so that downloads can serve them. */
async function uploadFile(client: Client, path: string, content: string) {
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
    assert.deepEqual(
      r.list.map((f: { name: string }) => f.name),
      ['zdir', 'a.txt'],
    );
    assert.equal(r.totalCount, 4);
    assert.equal(r.totalPage, 2);
    assert.equal(r.info.path, '/p');
    const p2 = await s.admin.call('/v1/files/page', { path: '/p', page: 2, pageSize: 2 });
    assert.deepEqual(
      p2.list.map((f: { name: string }) => f.name),
      ['b.bin', 'c.mkv'],
    );
    const bySize = await s.admin.call('/v1/files/page', { path: '/p', orderBy: 'size desc' });
    assert.deepEqual(
      bySize.list.map((f: { name: string }) => f.name),
      ['zdir', 'a.txt', 'c.mkv', 'b.bin'],
    );
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
    assert.deepEqual(
      r.map((f: { name: string }) => f.name),
      ['a.txt', 'b.bin'],
    );
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

  test('remove with permanent is recursive, frees space and drops blob references at once', async () => {
    await putFile(s, s.admin, '/rm/a/b/c.txt', 'remove me please');
    const etag = etagOf(Buffer.from('remove me please'));
    const before = (await s.admin.call('/v1/user/info')).spaceUsed;
    assert.equal(await s.admin.call('/v1/files/remove', { path: ['/rm'], permanent: true }), true);
    assert.equal(before - (await s.admin.call('/v1/user/info')).spaceUsed, 16);
    assert.equal(await codeOf(s.admin.call('/v1/files/get', { path: '/rm/a/b/c.txt' })), 'FILE_NOT_FOUND');
    const blob = await s.openpan.db.selectFrom('blobs').selectAll().where('id', '=', etag).executeTakeFirstOrThrow();
    assert.equal(blob.refs, 0);
    assert.ok(blob.unreferenced_at! > 0);
  });

  test('a download address dies with its file: 404 FILE_NOT_FOUND at once after remove, though it has not expired', async () => {
    // Content of its own and content another file shares: neither address outlives its file.
    await uploadFile(s.admin, '/dl-life/secret.txt', 'secret 1e727273122cad49');
    await uploadFile(s.admin, '/dl-life/shared-a.txt', 'shared bytes');
    await uploadFile(s.admin, '/dl-life/shared-b.txt', 'shared bytes');
    for (const name of ['secret.txt', 'shared-a.txt']) {
      const { downloadAddress, expires } = await s.admin.call('/v1/files/download', { path: `/dl-life/${name}` });
      assert.ok(expires > Date.now() + 60_000);
      const before = await fetch(downloadAddress);
      assert.equal(before.status, 200, name);
      await before.arrayBuffer();
      await s.admin.call('/v1/files/remove', { path: [`/dl-life/${name}`] });
      const after = await fetch(downloadAddress);
      assert.equal(after.status, 404, name);
      const body = (await after.json()) as { code: string };
      assert.equal(body.code, 'FILE_NOT_FOUND', name);
    }
    const { downloadAddress } = await s.admin.call('/v1/files/download', { path: '/dl-life/shared-b.txt' });
    assert.equal(await (await fetch(downloadAddress)).text(), 'shared bytes', 'the other file of the same content still downloads');
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

  test('more than 10,000 entries in one call is 400 BAD_REQUEST saying so', async () => {
    const uuids = Array.from({ length: 10_001 }, (_, i) => i.toString(16).padStart(32, '0'));
    for (const [call, body] of [
      ['/v1/files/remove', { uuid: uuids }],
      ['/v1/files/move', { path: uuids.map((u) => `/${u}`), destPath: '/' }],
    ] as const) {
      const r = await s.admin.raw(call, body);
      assert.equal(r.status, 400, call);
      assert.equal(r.json.code, 'BAD_REQUEST');
      assert.match(r.json.message ?? '', /10,001 entries.*at most 10,000/, call);
    }
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

  test('a file where a directory is needed is 400 NOT_A_DIRECTORY however it is addressed, and is not overwritten', async () => {
    const file = (await putFile(s, s.admin, '/fw/thing', 'data')).file;
    const attempts: Array<[string, object]> = [
      ['/v1/files/createDirectory', { path: '/fw/thing/sub' }],
      ['/v1/files/createDirectory', { path: '/fw/thing' }],
      ['/v1/files/createDirectory', { parent: file.uuid, name: 'sub' }],
      ['/v1/files/createDirectory', { path: '/fw/thing', name: 'sub' }],
      ['/v1/files/page', { path: '/fw/thing' }],
      ['/v1/files/list', { uuid: file.uuid }],
      ['/v1/files/move', { path: ['/fw/other'], destPath: '/fw/thing' }],
      ['/v1/files/copy', { path: ['/fw/other'], parent: file.uuid }],
      ['/v1/store/token', { name: 'x.txt', path: '/fw/thing' }],
      ['/v1/store/token', { name: 'x.txt', path: '/fw/thing/deeper' }],
      ['/v1/store/token', { name: 'x.txt', parent: file.uuid }],
    ];
    await s.admin.call('/v1/files/createDirectory', { path: '/fw/other' });
    for (const [call, body] of attempts) {
      const r = await s.admin.raw(call, body);
      assert.equal(r.status, 400, `${call} ${JSON.stringify(body)}`);
      assert.equal(r.json.code, 'NOT_A_DIRECTORY', `${call} ${JSON.stringify(body)}`);
    }
    assert.equal((await s.admin.call('/v1/files/get', { path: '/fw/thing' })).uuid, file.uuid);
  });
});

describe('the torrent folder is reserved at the root', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  const rootNames = async (c: Client) => (await c.call('/v1/files/page', { path: '/', pageSize: 999 })).list.map((f: { name: string }) => f.name);

  test('createDirectory of :torrent in any case at the root answers the torrent folder, never a second folder', async () => {
    const system = await s.admin.call('/v1/files/createDirectory', { path: ':torrent' });
    for (const name of [':TORRENT', ':Torrent', ':torrent']) {
      const d = await s.admin.call('/v1/files/createDirectory', { parent: '', name });
      assert.equal(d.uuid, system.uuid, name);
      const viaPath = await s.admin.call('/v1/files/createDirectory', { path: '/', name });
      assert.equal(viaPath.uuid, system.uuid, name);
    }
    assert.deepEqual(
      (await rootNames(s.admin)).filter((n: string) => n.toLowerCase() === ':torrent'),
      [':torrent'],
    );
  });

  test('renaming, moving or copying an entry onto :torrent in any case at the root is 409 FILE_ALREADY_EXISTS', async () => {
    await s.admin.call('/v1/files/createDirectory', { path: '/mine' });
    await s.admin.call('/v1/files/createDirectory', { path: '/deep/:TORRENT' });
    await putFile(s, s.admin, '/deep/x/:Torrent', 'a file named like it');
    const attempts: Array<[string, object]> = [
      ['/v1/files/rename', { path: '/mine', name: ':Torrent' }],
      ['/v1/files/rename', { path: '/mine', name: ':TORRENT' }],
      ['/v1/files/move', { path: ['/deep/:TORRENT'], destPath: '/' }],
      ['/v1/files/copy', { path: ['/deep/:TORRENT'], parent: '' }],
      ['/v1/files/move', { path: ['/deep/x/:Torrent'], destPath: '/' }],
      ['/v1/store/token', { name: ':TORRENT', path: '/' }],
    ];
    for (const [call, body] of attempts) {
      const r = await s.admin.raw(call, body);
      assert.equal(r.status, 409, `${call} ${JSON.stringify(body)}`);
      assert.equal(r.json.code, 'FILE_ALREADY_EXISTS', `${call} ${JSON.stringify(body)}`);
    }
    assert.deepEqual(
      (await rootNames(s.admin)).filter((n: string) => n.toLowerCase() === ':torrent'),
      [':torrent'],
    );
    // Below the root it is a name like any other.
    assert.equal((await s.admin.call('/v1/files/get', { path: '/deep/:TORRENT' })).type, 1);
  });

  test('the torrent folder itself cannot be renamed, moved or removed (400 BAD_REQUEST); its content can', async () => {
    const keep = await s.admin.call('/v1/files/createDirectory', { path: ':torrent/keep' });
    const folder = await s.admin.call('/v1/files/get', { path: '/:torrent' });
    await s.admin.call('/v1/files/createDirectory', { path: '/box' });
    const attempts: Array<[string, object]> = [
      ['/v1/files/rename', { uuid: folder.uuid, name: 'torrents' }],
      ['/v1/files/rename', { path: ':TORRENT', name: 'torrents' }],
      ['/v1/files/move', { uuid: [':torrent'], destPath: '/box' }],
      ['/v1/files/remove', { path: ['/:torrent'] }],
      ['/v1/files/remove', { uuid: [folder.uuid, keep.uuid] }],
    ];
    for (const [call, body] of attempts) {
      const r = await s.admin.raw(call, body);
      assert.equal(r.status, 400, `${call} ${JSON.stringify(body)}`);
      assert.equal(r.json.code, 'BAD_REQUEST', `${call} ${JSON.stringify(body)}`);
      assert.match(r.json.message ?? '', /torrent folder/);
    }
    const after = await s.admin.call('/v1/files/get', { path: '/:torrent' });
    assert.equal(after.uuid, folder.uuid);
    assert.equal((await s.admin.call('/v1/files/get', { path: '/:torrent/keep' })).uuid, keep.uuid, 'the batch removed nothing');
    assert.equal(await s.admin.call('/v1/files/remove', { path: ['/:torrent/keep'] }), true);
    assert.equal((await s.admin.call('/v1/files/rename', { uuid: folder.uuid, name: ':torrent' })).uuid, folder.uuid, 'its own name again is a no-op');
  });
});

describe('move and copy name their destination', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await putFile(s, s.admin, '/Work/report', 'quarterly');
    await s.admin.call('/v1/files/createDirectory', { path: '/Archive' });
  });
  after(() => s.close());

  test('without parent or destPath (or with a field openpan does not know) it is 400 BAD_REQUEST naming both, and nothing moves', async () => {
    for (const call of ['/v1/files/move', '/v1/files/copy']) {
      for (const extra of [{}, { dest: '/Archive' }, { target: '/Archive' }, { parent: null }]) {
        const r = await s.admin.raw(call, { path: ['/Work/report'], ...extra });
        assert.equal(r.status, 400, `${call} ${JSON.stringify(extra)}`);
        assert.equal(r.json.code, 'BAD_REQUEST');
        assert.match(r.json.message ?? '', /"parent".*"destPath"/);
      }
    }
    assert.equal((await s.admin.call('/v1/files/get', { path: '/Work/report' })).name, 'report');
    assert.equal(await codeOf(s.admin.call('/v1/files/get', { path: '/report' })), 'FILE_NOT_FOUND');
  });

  test('parent and destPath naming two different directories is 400 BAD_REQUEST; naming the same one is fine', async () => {
    const archive = await s.admin.call('/v1/files/get', { path: '/Archive' });
    const r = await s.admin.raw('/v1/files/move', { path: ['/Work/report'], parent: archive.uuid, destPath: '/Work' });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'BAD_REQUEST');
    assert.equal((await s.admin.call('/v1/files/get', { path: '/Work/report' })).name, 'report');
    assert.equal(await s.admin.call('/v1/files/copy', { path: ['/Work/report'], parent: archive.uuid, destPath: '/Archive/' }), true);
    assert.equal((await s.admin.call('/v1/files/get', { path: '/Archive/report' })).size, 9);
  });

  test('the root is named explicitly: parent "" (the root\'s uuid), parent "/", or destPath "/"', async () => {
    for (const [i, dest] of [{ parent: '' }, { parent: '/' }, { destPath: '/' }, { destPath: '' }].entries()) {
      const name = `root-${i}.txt`;
      await putFile(s, s.admin, `/Work/${name}`, 'x');
      assert.equal(await s.admin.call('/v1/files/move', { path: [`/Work/${name}`], ...dest }), true, JSON.stringify(dest));
      assert.equal((await s.admin.call('/v1/files/get', { path: `/${name}` })).parent, '', JSON.stringify(dest));
    }
  });

  test("a form body names the root with parent= as 6pan's clients send it", async () => {
    await putFile(s, s.admin, '/Work/form.txt', 'x');
    const res = await fetch(`${s.url}/v1/files/move`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${s.admin.token}` },
      body: 'path=%2FWork%2Fform.txt&parent=',
    });
    assert.equal(((await res.json()) as { success: boolean }).success, true);
    assert.equal((await s.admin.call('/v1/files/get', { path: '/form.txt' })).name, 'form.txt');
  });
});

describe('listing order', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    for (const name of ['Banana', '_x', 'apple', 'cherry', 'zebra', 'Äpfel', 'file10', 'file2', 'File1']) await putFile(s, s.admin, `/sort/${name}`, name);
    await s.admin.call('/v1/files/createDirectory', { path: '/sort/Zdir' });
    await s.admin.call('/v1/files/createDirectory', { path: '/sort/adir' });
  });
  after(() => s.close());

  const ASCENDING = ['adir', 'Zdir', '_x', 'Äpfel', 'apple', 'Banana', 'cherry', 'File1', 'file2', 'file10', 'zebra'];
  const names = (list: Array<{ name: string }>) => list.map((f) => f.name);

  test('names sort naturally and case-insensitively, directories first', async () => {
    assert.deepEqual(names((await s.admin.call('/v1/files/page', { path: '/sort', orderBy: 'name' })).list), ASCENDING);
    assert.deepEqual(names(await s.admin.call('/v1/files/list', { path: '/sort', orderBy: 0 })), ASCENDING);
  });

  test('a separate order field (asc/desc, 1/-1) sets the direction of page, list and list2', async () => {
    const descending = [...ASCENDING.slice(0, 2).reverse(), ...ASCENDING.slice(2).reverse()];
    for (const order of ['desc', 'DESC', -1, '-1']) {
      assert.deepEqual(names((await s.admin.call('/v1/files/page', { path: '/sort', orderBy: 'name', order })).list), descending, String(order));
    }
    for (const order of ['asc', 1, '1']) {
      assert.deepEqual(names((await s.admin.call('/v1/files/page', { path: '/sort', orderBy: 'name desc', order })).list), ASCENDING, String(order));
    }
    assert.deepEqual(names(await s.admin.call('/v1/files/list', { path: '/sort', orderBy: 'name', order: 'desc' })), descending);
    assert.deepEqual(names((await s.admin.call('/v1/files/list2', { path: '/sort', order: -1 })).list), descending);
    const pageTwo = await s.admin.call('/v1/files/page', { path: '/sort', orderBy: 'name', order: 'desc', page: 2, pageSize: 4 });
    assert.deepEqual(names(pageTwo.list), descending.slice(4, 8));
    const bySize = await s.admin.call('/v1/files/page', { path: '/sort', orderBy: 'size', order: 'desc', type: 0 });
    const sizes = bySize.list.map((f: { size: number }) => f.size);
    assert.deepEqual(
      sizes,
      [...sizes].sort((a, b) => b - a),
    );
  });

  test('an order that is neither asc nor desc is 400 BAD_REQUEST naming the field', async () => {
    for (const order of ['up', 2, 0]) {
      const r = await s.admin.raw('/v1/files/page', { path: '/sort', order });
      assert.equal(r.status, 400, String(order));
      assert.equal(r.json.code, 'BAD_REQUEST');
      assert.match(r.json.message ?? '', /"order"/);
    }
  });

  test('renamed and copied entries sort by their new name', async () => {
    await s.admin.call('/v1/files/rename', { path: '/sort/zebra', name: 'Aardvark' });
    await s.admin.call('/v1/files/copy', { path: ['/sort/file10'], destPath: '/sort/adir' });
    await putFile(s, s.admin, '/sort/adir/FILE9', 'x');
    assert.deepEqual(names((await s.admin.call('/v1/files/page', { path: '/sort', type: 0 })).list).slice(0, 2), ['_x', 'Aardvark']);
    assert.deepEqual(names((await s.admin.call('/v1/files/page', { path: '/sort/adir' })).list), ['FILE9', 'file10']);
  });

  // SQLite's plan; PostgreSQL chooses its plan by the table's statistics.
  test('a name-ordered page of a folder is read along the name-key index, with no sort', { skip: testsUsePostgres() && 'a SQLite query plan' }, async () => {
    const plans = await sql<{ detail: string }>`
      EXPLAIN QUERY PLAN SELECT * FROM files AS f WHERE f.user_id = 1 AND f.parent_id = 1 AND f.type = 0
      ORDER BY f.name_key DESC, f.name DESC, f.id DESC LIMIT 100 OFFSET 100000`.execute(s.openpan.db);
    const details = plans.rows.map((r) => r.detail).join(' | ');
    assert.match(details, /files_by_name_key/);
    assert.doesNotMatch(details, /TEMP B-TREE/);
  });
});

describe('names are NFC', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  const NFC = 'caf\u00e9';
  const NFD = 'cafe\u0301';

  test('the NFD and NFC spellings of a name are one entry, found by either spelling', async () => {
    const made = await s.admin.call('/v1/files/createDirectory', { path: `/n/${NFD}` });
    assert.equal(made.name, NFC);
    assert.equal(made.path, `/n/${NFC}`);
    assert.equal(
      (await s.admin.call('/v1/files/createDirectory', { parent: (await s.admin.call('/v1/files/get', { path: '/n' })).uuid, name: NFC })).uuid,
      made.uuid,
    );
    assert.equal((await s.admin.call('/v1/files/get', { path: `/n/${NFD}` })).uuid, made.uuid);
    assert.equal((await s.admin.call('/v1/files/page', { path: '/n' })).totalCount, 1);
  });

  test('rename, store/token and upload store the NFC form and see the NFD one as taken', async () => {
    await s.admin.call('/v1/files/createDirectory', { path: '/n/other' });
    const clash = await s.admin.raw('/v1/files/rename', { path: '/n/other', name: NFD });
    assert.equal(clash.status, 409);
    assert.equal(clash.json.code, 'FILE_ALREADY_EXISTS');
    const renamed = await s.admin.call('/v1/files/rename', { path: '/n/other', name: `r\u00e9sume\u0301 ${NFD}.txt` });
    assert.equal(renamed.name, `r\u00e9sum\u00e9 ${NFC}.txt`);
    const data = Buffer.from('nfc upload');
    const t = await s.admin.call('/v1/store/token', { name: `${NFD}.txt`, path: `/n/${NFD}` });
    assert.equal(t.name, `${NFC}.txt`);
    const form = new FormData();
    form.append('token', t.token);
    form.append('file', new Blob([data]), 'x');
    const answer = (await (await fetch(`${t.uploadUrl}/file/upload`, { method: 'POST', body: form })).json()) as { key: string; response: string };
    const file = JSON.parse(answer.response).result;
    assert.equal(file.path, `/n/${NFC}/${NFC}.txt`);
    assert.equal(answer.key, `${NFC}.txt`);
  });
});

describe('createFiles (an import of many files)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  async function setup(name: string, capacity?: number) {
    const client = await s.newUser(name);
    const info = await client.call('/v1/user/info');
    if (capacity !== undefined) await sql`UPDATE users SET space_capacity = ${capacity} WHERE id = ${info.identity}`.execute(s.openpan.db);
    const dir = await s.openpan.files.ensureDir(info.identity, { path: '/import' });
    return { client, userId: info.identity as number, dir };
  }

  const stored = (text: string) => ({ etag: etagOf(Buffer.from(text)), size: Buffer.byteLength(text) });

  test('creates every entry, charges the space and counts a reference per entry', async () => {
    const { client, userId, dir } = await setup('cf-all');
    const inputs = Array.from({ length: 1200 }, (_, i) => ({ dir, name: `f${i}.txt`, ...stored(`content ${i % 3}`), onConflict: 'error' as const }));
    const seen: string[] = [];
    const { created, error } = await s.openpan.files.createFiles(userId, inputs, async (_, made) => {
      seen.push(...made.map((c) => c.uuid));
    });
    assert.equal(error, null);
    assert.deepEqual(
      created.map((c) => c.index),
      inputs.map((_, i) => i),
    );
    assert.deepEqual(
      seen,
      created.map((c) => c.uuid),
      'onCreated is told of every entry made',
    );
    const page = await client.call('/v1/files/page', { path: '/import', pageSize: 10 });
    assert.equal(page.totalCount, 1200);
    const total = inputs.reduce((sum, f) => sum + f.size, 0);
    assert.equal((await client.call('/v1/user/info')).spaceUsed, total);
    const first = await client.call('/v1/files/get', { path: '/import/f3.txt' });
    assert.equal(first.storeId, stored('content 0').etag);
    assert.equal(first.mime, 'text/plain');
    const refs = await s.openpan.db.selectFrom('blobs').select('refs').where('id', '=', stored('content 1').etag).executeTakeFirstOrThrow();
    assert.equal(Number(refs.refs), 400);
  });

  test('a taken name gets a numbered one with onConflict rename; the others keep theirs', async () => {
    const { client, userId, dir } = await setup('cf-rename');
    await s.openpan.files.createFile(userId, { dir, name: 'b.txt', ...stored('old'), onConflict: 'error' });
    const names = ['a.txt', 'b.txt', 'c.txt'];
    const { created, error } = await s.openpan.files.createFiles(
      userId,
      names.map((name) => ({ dir, name, ...stored(name), onConflict: 'rename' as const, reuseIdentical: false })),
    );
    assert.equal(error, null);
    assert.deepEqual(
      created.map((c) => c.name),
      ['a.txt', 'b (1).txt', 'c.txt'],
    );
    const list = await client.call('/v1/files/page', { path: '/import', pageSize: 10 });
    assert.deepEqual(list.list.map((f: { name: string }) => f.name).sort(), ['a.txt', 'b (1).txt', 'b.txt', 'c.txt']);
  });

  test('the first file that does not fit ends the batch: those before it are created, its error is returned', async () => {
    const { client, userId, dir } = await setup('cf-space', 25);
    const inputs = ['one', 'two', 'three', 'four', 'five', 'six'].map((word) => ({
      dir,
      name: `${word}.txt`,
      ...stored(`${word}-12345`),
      onConflict: 'error' as const,
    }));
    const { created, error } = await s.openpan.files.createFiles(userId, inputs);
    assert.equal(error?.code, 'SPACE_EXCEEDED');
    assert.deepEqual(
      created.map((c) => c.name),
      ['one.txt', 'two.txt'],
    );
    assert.equal((await client.call('/v1/files/page', { path: '/import' })).totalCount, 2);
    assert.equal((await client.call('/v1/user/info')).spaceUsed, inputs[0].size + inputs[1].size);
  });
});

describe('big trees', () => {
  // On PostgreSQL this tree takes minutes to build: bench/files-page.ts measures it there.
  test('moving, removing to the bin and purging a folder of 100,000 files keeps counts, paths and space exact', {
    skip: testsUsePostgres() && '100,000 entries on PostgreSQL: bench/files-page.ts',
  }, async () => {
    const s = await startServer();
    try {
      const dir = await s.admin.call('/v1/files/createDirectory', { path: '/big/folder' });
      const parent = await s.openpan.db.selectFrom('files').select(['id', 'user_id']).where('uuid', '=', dir.uuid).executeTakeFirstOrThrow();
      await sql`
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
        INSERT INTO files (uuid, user_id, parent_id, path, name, ext, type, size, store_id, mime, depth, ctime, mtime, atime, version, locking)
        SELECT ${randomUuidSql(s.openpan.db)}, CAST(${parent.user_id} AS integer), CAST(${parent.id} AS integer), '/big/folder/f' || i || '.bin', 'f' || i || '.bin', '.bin', 0, 10,
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

      // To the bin: names free at once, space and references kept until purged.
      await s.admin.call('/v1/files/remove', { path: ['/elsewhere', '/big'] });
      assert.deepEqual((await s.admin.call('/v1/files/page', { path: '/' })).list, []);
      assert.equal(await codeOf(s.admin.call('/v1/files/get', { path: '/big/folder/f7.bin' })), 'FILE_NOT_FOUND');
      assert.equal((await s.admin.call('/v1/user/info')).spaceUsed, 2000000);
      blob = await s.openpan.db.selectFrom('blobs').select('refs').executeTakeFirstOrThrow();
      assert.equal(blob.refs, 200000);
      const bin = await s.admin.call('/v1/recycle/page', {});
      assert.equal(bin.totalCount, 2);
      assert.equal(bin.totalSize, 2000000);
      await s.admin.call('/v1/files/createDirectory', { path: '/big/folder' });

      assert.deepEqual(await s.admin.call('/v1/recycle/clear', {}), { purged: 2 });
      assert.equal((await s.admin.call('/v1/user/info')).spaceUsed, 0);
      blob = await s.openpan.db.selectFrom('blobs').select('refs').executeTakeFirstOrThrow();
      assert.equal(blob.refs, 0);
      const left = await s.openpan.db
        .selectFrom('files')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(left.n), 2, 'only the new /big/folder is left');
      const binCounts = await s.openpan.db.selectFrom('dir_stats').select('dir_id').where('dir_id', '<', 0).execute();
      assert.deepEqual(binCounts, []);
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
