import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { uploadFile } from '../support/zip.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

async function bytesOf(address: string): Promise<string> {
  const res = await fetch(address);
  assert.equal(res.status, 200);
  return res.text();
}

describe('share links', () => {
  let s: TestServer;
  let alice: Client;
  let bob: Client;
  /** A visitor without an account. */
  let anyone: Client;

  before(async () => {
    s = await startServer({ OPENPAN_LOGIN_MAX_FAILURES: '3' });
    alice = await s.newUser('alice');
    bob = await s.newUser('bob');
    anyone = new (alice.constructor as new (url: string) => Client)(s.url);
    await uploadFile(alice, '/旅行/日本/京都.txt', 'kyoto bytes');
    await uploadFile(alice, '/旅行/日本/东京.txt', 'tokyo bytes');
    await uploadFile(alice, '/旅行/清单.txt', 'list');
    await uploadFile(alice, '/私人/日记.txt', 'private diary');
  });
  after(() => s.close());

  test('a share with a code opens only with it, lists its folder, and counts views and downloads', async () => {
    const share = await alice.call('/v1/share/create', { path: '/旅行', code: 'AB12' });
    assert.match(share.id, /^[A-Za-z0-9]{10}$/);
    assert.equal(share.url, `${s.url}/s/${share.id}`);
    assert.equal(share.code, 'ab12');
    assert.equal(await codeOf(anyone.call('/v1/share/open', { id: share.id })), 'SHARE_CODE_REQUIRED');
    assert.equal(await codeOf(anyone.call('/v1/share/open', { id: share.id, code: 'zzzz' })), 'SHARE_CODE_WRONG');
    assert.equal(await codeOf(anyone.call('/v1/share/browse', { id: share.id })), 'SHARE_CODE_REQUIRED');
    const opened = await anyone.call('/v1/share/open', { id: share.id, code: 'ab12' });
    assert.equal(opened.owner, 'alice');
    assert.deepEqual(
      opened.list.map((e: { path: string }) => e.path),
      ['/旅行'],
    );
    assert.equal(JSON.stringify(opened).includes('storeId'), false, 'no content hash reaches a visitor');
    const top = await anyone.call('/v1/share/browse', { id: share.id, access: opened.access, path: '/旅行' });
    assert.deepEqual(
      top.list.map((e: { path: string }) => e.path),
      ['/旅行/日本', '/旅行/清单.txt'],
    );
    const japan = await anyone.call('/v1/share/browse', { id: share.id, access: opened.access, uuid: top.list[0].uuid });
    const kyoto = japan.list.find((e: { name: string }) => e.name === '京都.txt');
    const link = await anyone.call('/v1/share/download', { id: share.id, access: opened.access, uuid: kyoto.uuid });
    assert.equal(await bytesOf(link.downloadAddress), 'kyoto bytes');
    const [listed] = (await alice.call('/v1/share/list', {})).list;
    assert.equal(listed.id, share.id);
    assert.equal(listed.views, 1);
    assert.equal(listed.downloads, 1);
    assert.equal(listed.entries, 1);
  });

  test('wrong codes are limited per share: after the limit even the right code waits', async () => {
    const share = await alice.call('/v1/share/create', { path: '/旅行/清单.txt', withCode: true });
    assert.match(share.code, /^[a-z0-9]{4}$/);
    for (let i = 0; i < 3; i++) assert.equal(await codeOf(anyone.call('/v1/share/open', { id: share.id, code: 'nope' })), 'SHARE_CODE_WRONG');
    const res = await anyone.raw('/v1/share/open', { id: share.id, code: share.code });
    assert.equal(res.json.code, 'TOO_MANY_REQUESTS');
    assert.match(res.json.message ?? '', /extraction codes/);
  });

  test('a folder share never reaches outside the folder: "..", other files, moved-out files', async () => {
    await uploadFile(alice, '/box/inside/a.txt', 'a');
    await uploadFile(alice, '/box/inside/b.txt', 'b');
    const share = await alice.call('/v1/share/create', { path: '/box/inside' });
    const diary = await alice.call('/v1/files/get', { path: '/私人/日记.txt' });
    const visit = { id: share.id };
    assert.equal(await codeOf(anyone.call('/v1/share/browse', { ...visit, path: '/inside/../../私人' })), 'PATH_INVALID');
    assert.equal(await codeOf(anyone.call('/v1/share/browse', { ...visit, path: '/私人' })), 'FILE_NOT_FOUND');
    assert.equal(await codeOf(anyone.call('/v1/share/download', { ...visit, uuid: diary.uuid })), 'FILE_NOT_FOUND');
    const box = await alice.call('/v1/files/get', { path: '/box' });
    assert.equal(await codeOf(anyone.call('/v1/share/browse', { ...visit, uuid: box.uuid })), 'FILE_NOT_FOUND');
    assert.equal(await codeOf(anyone.call('/v1/share/zip', { ...visit, uuid: diary.uuid })), 'FILE_NOT_FOUND');
    assert.equal(await codeOf(bob.call('/v1/share/save', { ...visit, uuid: diary.uuid })), 'FILE_NOT_FOUND');

    const b = await alice.call('/v1/files/get', { path: '/box/inside/b.txt' });
    await alice.call('/v1/files/move', { path: '/box/inside/b.txt', destPath: '/box' });
    assert.equal(await codeOf(anyone.call('/v1/share/download', { ...visit, uuid: b.uuid })), 'FILE_NOT_FOUND');
    const listing = await anyone.call('/v1/share/browse', { ...visit, path: '/inside' });
    assert.deepEqual(
      listing.list.map((e: { name: string }) => e.name),
      ['a.txt'],
    );

    // Renaming the shared folder's parent, then the folder itself, keeps the share working.
    await alice.call('/v1/files/rename', { path: '/box', name: 'crate' });
    await alice.call('/v1/files/rename', { path: '/crate/inside', name: 'within' });
    const renamed = await anyone.call('/v1/share/browse', { ...visit, path: '/within' });
    assert.deepEqual(
      renamed.list.map((e: { path: string }) => e.path),
      ['/within/a.txt'],
    );
    assert.equal(await codeOf(anyone.call('/v1/share/browse', { ...visit, path: '/inside' })), 'FILE_NOT_FOUND');
  });

  test('a share stops working when its file, the share, or the owner is gone', async () => {
    await uploadFile(alice, '/once.txt', 'once');
    const single = await alice.call('/v1/share/create', { path: '/once.txt' });
    await anyone.call('/v1/share/open', { id: single.id });
    await alice.call('/v1/files/remove', { path: '/once.txt' });
    assert.equal(await codeOf(anyone.call('/v1/share/open', { id: single.id })), 'SHARE_NOT_FOUND');

    const folder = await alice.call('/v1/share/create', { path: '/旅行' });
    const zip = await anyone.call('/v1/share/zip', { id: folder.id });
    assert.equal((await fetch(zip.downloadAddress, { method: 'HEAD' })).status, 200);
    assert.equal(await codeOf(bob.call('/v1/share/remove', { id: folder.id })), 'OK');
    assert.equal(await codeOf(anyone.call('/v1/share/open', { id: folder.id })), 'OK', "bob cannot remove alice's share");
    assert.equal(await alice.call('/v1/share/remove', { id: [folder.id] }), 1);
    assert.equal(await codeOf(anyone.call('/v1/share/open', { id: folder.id })), 'SHARE_NOT_FOUND');
    assert.equal((await fetch(zip.downloadAddress)).status, 403, 'a zip address taken through the share dies with it');

    const carol = await s.newUser('carol');
    await uploadFile(carol, '/c.txt', 'c');
    const carols = await carol.call('/v1/share/create', { path: '/c.txt' });
    await anyone.call('/v1/share/open', { id: carols.id });
    const identity = (await carol.call('/v1/user/info')).identity as number;
    await s.openpan.db.deleteFrom('users').where('id', '=', identity).execute();
    assert.equal(await codeOf(anyone.call('/v1/share/open', { id: carols.id })), 'SHARE_NOT_FOUND');
  });

  test('expiry and the download limit close a share', async () => {
    const limited = await alice.call('/v1/share/create', { path: '/旅行/清单.txt', maxDownloads: 1 });
    const opened = await anyone.call('/v1/share/open', { id: limited.id });
    await anyone.call('/v1/share/download', { id: limited.id, uuid: opened.list[0].uuid });
    assert.equal(await codeOf(anyone.call('/v1/share/download', { id: limited.id, uuid: opened.list[0].uuid })), 'SHARE_EXPIRED');
    assert.equal(await codeOf(anyone.call('/v1/share/zip', { id: limited.id })), 'SHARE_EXPIRED');

    const brief = await alice.call('/v1/share/create', { path: '/旅行/清单.txt', expiresIn: 1 });
    assert.ok(brief.expires > Date.now());
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await codeOf(anyone.call('/v1/share/open', { id: brief.id })), 'SHARE_EXPIRED');
  });

  test('save to my drive copies no bytes and charges the visitor', async () => {
    const share = await alice.call('/v1/share/create', { path: '/旅行' });
    assert.equal((await anyone.raw('/v1/share/save', { id: share.id })).httpStatus, 401);
    const aliceBefore = await alice.call('/v1/user/info');
    const bobBefore = await bob.call('/v1/user/info');
    const names = await bob.call('/v1/share/save', { id: share.id, destPath: '/收到' });
    assert.deepEqual(names, ['旅行']);
    const again = await bob.call('/v1/share/save', { id: share.id, destPath: '/收到' });
    assert.deepEqual(again, ['旅行 (1)']);
    const bobAfter = await bob.call('/v1/user/info');
    const shared = 'kyoto bytes'.length + 'tokyo bytes'.length + 'list'.length;
    assert.equal(bobAfter.spaceUsed - bobBefore.spaceUsed, 2 * shared);
    assert.equal((await alice.call('/v1/user/info')).spaceUsed, aliceBefore.spaceUsed);
    const copy = await bob.call('/v1/files/get', { path: '/收到/旅行/日本/京都.txt' });
    assert.equal(await bytesOf(copy.downloadAddress ?? copy.url), 'kyoto bytes');
    // The copy stays when the original goes.
    await alice.call('/v1/files/remove', { path: '/旅行/日本' });
    const link = await bob.call('/v1/files/download', { path: '/收到/旅行/日本/京都.txt' });
    assert.equal(await bytesOf(link.downloadAddress), 'kyoto bytes');
  });
});
