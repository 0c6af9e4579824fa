// /v1/store/token (seed STEP 1, docs/spec/API.md "Upload"): tickets, instant upload, destinations, conflicts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../support/server.js';
import { assertUploadError, bytes, etagOf, fileOf, formUpload, ticket } from '../support/upload.js';

const FILE_FIELDS = ['uuid', 'storeId', 'userId', 'path', 'name', 'ext', 'size', 'parent', 'type', 'atime', 'ctime', 'mtime', 'version', 'locking'];

test('seed STEP 1 verbatim: token for a new torrent, form upload into /:torrent, then instant upload for another user', async () => {
  const server = await startServer();
  try {
    const torrent = bytes(5458, 1);
    const hash = etagOf(torrent);

    // 1.1 get the upload token and URL
    const { status, json } = await server.admin.raw('/v1/store/token', { path: ':torrent', hash, name: '幸运星.torrent' });
    assert.equal(status, 200);
    assert.equal(json.success, true);
    assert.equal(json.code, 'OK');
    const t = json.result as any;
    assert.equal(t.uploadUrl, `${server.url}/upload`);
    assert.equal(t.type, 0);
    assert.equal(t.version, 1);
    assert.equal(t.name, '幸运星.torrent');
    assert.equal(t.parent, ':torrent');
    assert.match(t.token, /^[0-9a-f]{40}:[A-Za-z0-9_=-]+:[A-Za-z0-9_=-]+$/);

    // then send the bytes as the storage vendor's documents say
    const up = await formUpload(t.uploadUrl, t.token, torrent);
    assert.equal(up.json.hash, hash);
    assert.equal(up.json.key, '幸运星.torrent');
    const file = fileOf(up);
    assert.equal(file.path, '/:torrent/幸运星.torrent');
    assert.equal(file.name, '幸运星.torrent');
    assert.equal(file.ext, '.torrent');
    assert.equal(file.size, torrent.length);
    assert.equal(file.storeId, hash);
    assert.equal(file.type, 0);
    const folder = await server.admin.call('/v1/files/get', { path: '/:torrent' });
    assert.equal(file.parent, folder.uuid);

    // 秒传: the same hash for another user creates the file at once
    const bob = await server.newUser('bob');
    const instant = await bob.call('/v1/store/token', { path: ':torrent', hash, name: '幸运星.torrent' });
    for (const k of FILE_FIELDS) assert.ok(k in instant, `instant upload result lacks ${k}`);
    assert.equal(instant.storeId, hash);
    assert.equal(instant.size, torrent.length);
    assert.equal(instant.path, '/:torrent/幸运星.torrent');
    assert.equal(instant.ext, '.torrent');
    assert.equal(instant.type, 0);
    assert.notEqual(instant.uuid, file.uuid);
    assert.equal((await bob.call('/v1/user/info')).spaceUsed, torrent.length);

    // the bytes bob got are the ones admin uploaded
    const listed = await bob.call('/v1/files/page', { path: ':torrent' });
    assert.deepEqual(
      listed.list.map((f: any) => f.uuid),
      [instant.uuid],
    );
  } finally {
    await server.close();
  }
});

test('re-sending the same name and hash returns the existing file; different content is 409; override replaces', async () => {
  const server = await startServer();
  try {
    const a = bytes(1000, 2);
    const b = bytes(2000, 3);
    const t = await ticket(server.admin, { name: 'x.bin', hash: etagOf(a), path: '/docs' });
    const first = fileOf(await formUpload(t.uploadUrl, t.token, a));
    assert.equal(first.path, '/docs/x.bin');

    const again = await server.admin.call('/v1/store/token', { name: 'x.bin', hash: etagOf(a), path: '/docs' });
    assert.equal(again.uuid, first.uuid);

    const conflict = await server.admin.raw('/v1/store/token', { name: 'x.bin', hash: etagOf(b), path: '/docs' });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.json.code, 'FILE_ALREADY_EXISTS');
    // Without a hash the content is unknown until it arrives (6pan's Android app re-uploads a
    // picture so): the token is issued, and the upload decides — the same bytes are the same
    // file, other bytes FILE_ALREADY_EXISTS.
    const noHash = await ticket(server.admin, { name: 'x.bin', path: '/docs' });
    assert.equal(fileOf(await formUpload(noHash.uploadUrl, noHash.token, a)).uuid, first.uuid);
    const noHashOther = await ticket(server.admin, { name: 'x.bin', path: '/docs' });
    assertUploadError(await formUpload(noHashOther.uploadUrl, noHashOther.token, bytes(3000, 4)), 409, 'FILE_ALREADY_EXISTS');

    for (const override of [1, true, '1']) {
      const r = await server.admin.raw('/v1/store/token', { name: 'x.bin', hash: etagOf(b), path: '/docs', override });
      assert.equal(r.status, 200, `override ${JSON.stringify(override)}`);
    }
    const t2 = await ticket(server.admin, { name: 'x.bin', hash: etagOf(b), path: '/docs', override: 1 });
    const replaced = fileOf(await formUpload(t2.uploadUrl, t2.token, b));
    assert.equal(replaced.storeId, etagOf(b));
    assert.equal(replaced.size, b.length);
    const page = await server.admin.call('/v1/files/page', { path: '/docs' });
    assert.deepEqual(
      page.list.map((f: any) => [f.name, f.storeId]),
      [['x.bin', etagOf(b)]],
    );
    assert.equal((await server.admin.call('/v1/user/info')).spaceUsed, b.length, 'the replaced file no longer counts');

    // instant upload with override replaces too (content a is still stored until collected)
    const back = await server.admin.call('/v1/store/token', { name: 'x.bin', hash: etagOf(a), path: '/docs', override: true });
    assert.equal(back.storeId, etagOf(a));
    assert.equal((await server.admin.call('/v1/user/info')).spaceUsed, a.length);
  } finally {
    await server.close();
  }
});

test("override keeps the file's uuid and counts its version; the old download address dies", async () => {
  const server = await startServer();
  try {
    const a = bytes(1000, 20);
    const b = bytes(1500, 21);
    const t = await ticket(server.admin, { name: 'keep.bin', path: '/v' });
    const first = fileOf(await formUpload(t.uploadUrl, t.token, a));
    assert.equal(first.version, 0);
    const oldAddress = (await server.admin.call('/v1/files/download', { uuid: first.uuid })).downloadAddress;

    const t2 = await ticket(server.admin, { name: 'keep.bin', path: '/v', override: 1 });
    const second = fileOf(await formUpload(t2.uploadUrl, t2.token, b));
    assert.equal(second.uuid, first.uuid, 'a client holding the uuid still finds the file');
    assert.equal(second.version, 1);
    assert.equal(second.storeId, etagOf(b));
    assert.equal(second.size, b.length);
    assert.equal(second.ctime, first.ctime);
    const byUuid = await server.admin.call('/v1/files/get', { uuid: first.uuid });
    assert.equal(byUuid.storeId, etagOf(b));

    // an instant upload with override replaces in place too
    const third = await server.admin.call('/v1/store/token', { name: 'keep.bin', hash: etagOf(a), path: '/v', override: true });
    assert.equal(third.uuid, first.uuid);
    assert.equal(third.version, 2);
    assert.equal((await server.admin.call('/v1/user/info')).spaceUsed, a.length);

    const stale = await fetch(oldAddress);
    await stale.body?.cancel();
    assert.equal(stale.status, 200, 'the address of content a serves a again: the file holds a');
    const fresh = (await server.admin.call('/v1/files/download', { uuid: first.uuid })).downloadAddress;
    await server.admin.call('/v1/store/token', { name: 'keep.bin', hash: etagOf(b), path: '/v', override: true });
    const replaced = await fetch(fresh);
    assert.equal(replaced.status, 404, 'an address of content the file no longer holds is dead');
    assert.equal(((await replaced.json()) as { code: string }).code, 'FILE_NOT_FOUND');
  } finally {
    await server.close();
  }
});

test('destinations: parent uuid, :torrent in any case, path created like mkdir -p, root by default', async () => {
  const server = await startServer();
  try {
    const dir = await server.admin.call('/v1/files/createDirectory', { path: '/target' });
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ parent: dir.uuid }, '/target/f.bin', dir.uuid],
      [{ parent: ':TORRENT' }, '/:torrent/f.bin', ':TORRENT'],
      [{ path: ':Torrent' }, '/:torrent/f.bin', ':Torrent'],
      [{ path: 'new/deep/dir/' }, '/new/deep/dir/f.bin', 'new/deep/dir/'],
      [{}, '/f.bin', ''],
      [{ parent: '', path: '/target' }, '/target/f.bin', '/target'],
    ];
    for (const [i, [dest, path, parent]] of cases.entries()) {
      const data = bytes(10 + i, 10 + i);
      const t = await ticket(server.admin, { name: 'f.bin', hash: etagOf(data), ...dest, override: 1 });
      assert.equal(t.parent, parent);
      const file = fileOf(await formUpload(t.uploadUrl, t.token, data));
      assert.equal(file.path, path, JSON.stringify(dest));
    }
    // no hash at all: no instant upload, just a ticket
    const t = await ticket(server.admin, { name: 'nohash.bin', path: '/' });
    assert.equal(fileOf(await formUpload(t.uploadUrl, t.token, Buffer.from('x'))).path, '/nohash.bin');
  } finally {
    await server.close();
  }
});

test('refusals: bad hash, bad name, missing or foreign parent, wrong types, no token', async () => {
  const server = await startServer();
  try {
    const bob = await server.newUser('bob');
    const bobDir = await bob.call('/v1/files/createDirectory', { path: '/mine' });
    const hash = etagOf(Buffer.from('content'));
    const expect = async (body: unknown, status: number, code: string, client = server.admin) => {
      const r = await client.raw('/v1/store/token', body);
      assert.equal(r.status, status, `${JSON.stringify(body)} → ${JSON.stringify(r.json)}`);
      assert.equal(r.json.code, code);
      assert.equal(r.json.success, false);
    };
    await expect({ name: 'a', hash: 'not-a-hash' }, 400, 'HASH_INVALID');
    await expect({ name: 'a', hash: 'A'.repeat(28) }, 400, 'HASH_INVALID');
    await expect({ name: 'a', hash: hash + '=' }, 400, 'HASH_INVALID');
    await expect({ name: '', hash }, 400, 'NAME_INVALID');
    await expect({ name: 'a/b', hash }, 400, 'NAME_INVALID');
    await expect({ name: '..', hash }, 400, 'NAME_INVALID');
    await expect({ name: 'a', hash, parent: 'f'.repeat(32) }, 404, 'PARENT_NOT_FOUND');
    await expect({ name: 'a', hash, parent: 'nope' }, 404, 'PARENT_NOT_FOUND');
    await expect({ name: 'a', hash, parent: bobDir.uuid }, 404, 'PARENT_NOT_FOUND');
    await expect({ name: 'a', hash, path: '/../x' }, 400, 'PATH_INVALID');
    await expect({ hash }, 400, 'NAME_INVALID');
    await expect({ name: 5 }, 400, 'BAD_REQUEST');
    await expect({ name: 'a', size: -1 }, 400, 'BAD_REQUEST');
    const anonymous = await fetch(`${server.url}/v1/store/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a' }),
    });
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { code: string }).code, 'UNAUTHORIZED');
    // A directory of that name is a conflict even with override.
    await server.admin.call('/v1/files/createDirectory', { path: '/taken' });
    await expect({ name: 'taken', hash, override: 1 }, 409, 'FILE_ALREADY_EXISTS');
  } finally {
    await server.close();
  }
});
