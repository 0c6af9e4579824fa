import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etagOf } from '../../src/store/etag.js';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { extractArchive, hashTree, sha256, testArchive } from '../support/archivers.js';
import { download, uploadFile } from '../support/zip.js';

const scratch = mkdtempSync(join(tmpdir(), 'openpan-zip-api-'));

describe('files/zip', () => {
  let s: TestServer;
  let alice: Client;
  const contents: Record<string, Buffer> = {
    '/相册/2024/海边.jpg': randomBytes(200_000),
    '/相册/2024/山.png': randomBytes(70_000),
    '/相册/说明.txt': Buffer.from('这是一个相册'),
    '/相册/空.txt': Buffer.alloc(0),
    '/docs/a.txt': Buffer.from('a'),
  };

  before(async () => {
    s = await startServer();
    alice = await s.newUser('alice');
    for (const [path, content] of Object.entries(contents)) await uploadFile(alice, path, content);
    await alice.call('/v1/files/createDirectory', { path: '/相册/空文件夹' });
  });
  after(async () => {
    await s.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('a folder downloads as a zip that unzip and 7z extract to the same bytes', async () => {
    const link = await alice.call('/v1/files/zip', { path: '/相册' });
    assert.match(link.downloadAddress, /\/zip\/[A-Za-z0-9_-]{22}\/%E7%9B%B8%E5%86%8C\.zip$/);
    const file = join(scratch, 'album.zip');
    const headers = await download(link.downloadAddress, file);
    assert.equal(headers.get('content-type'), 'application/zip');
    assert.equal(Number(headers.get('content-length')), statSync(file).size);
    assert.match(headers.get('content-disposition') ?? '', /filename\*=UTF-8''%E7%9B%B8%E5%86%8C\.zip/);
    for (const tool of ['unzip', '7z'] as const) {
      testArchive(tool, file);
      const out = join(scratch, `album-${tool}`);
      extractArchive(tool, file, out);
      const tree = hashTree(out);
      for (const [path, content] of Object.entries(contents)) {
        if (path.startsWith('/相册/')) assert.equal(tree.get(path.slice(1)), sha256(content), path);
      }
      assert.equal(tree.get('相册/空文件夹'), 'dir');
      assert.equal(tree.get('docs/a.txt'), undefined, 'nothing outside the folder');
    }
  });

  test('a selection from several folders downloads with each entry at the top', async () => {
    const photo = await alice.call('/v1/files/get', { path: '/相册/2024/海边.jpg' });
    const link = await alice.call('/v1/files/zip', { uuid: [photo.uuid], path: ['/docs'], name: 'pick' });
    assert.match(link.downloadAddress, /\/pick\.zip$/);
    const file = join(scratch, 'pick.zip');
    await download(link.downloadAddress, file);
    const out = join(scratch, 'pick');
    extractArchive('7z', file, out);
    const tree = hashTree(out);
    assert.deepEqual([...tree.keys()].sort(), ['docs', 'docs/a.txt', '海边.jpg']);
    assert.equal(tree.get('海边.jpg'), sha256(contents['/相册/2024/海边.jpg']));
  });

  test('an entry removed after the address was made is not in the archive; nothing left is 404', async () => {
    await uploadFile(alice, '/gone/x.txt', 'x');
    await uploadFile(alice, '/gone/y.txt', 'y');
    const link = await alice.call('/v1/files/zip', { path: '/gone' });
    await alice.call('/v1/files/remove', { path: '/gone/x.txt' });
    const file = join(scratch, 'gone.zip');
    await download(link.downloadAddress, file);
    const out = join(scratch, 'gone');
    extractArchive('unzip', file, out);
    assert.deepEqual([...hashTree(out).keys()].sort(), ['gone', 'gone/y.txt']);
    await alice.call('/v1/files/remove', { path: '/gone' });
    const res = await fetch(link.downloadAddress);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'FILE_NOT_FOUND');
  });

  test("another user cannot zip alice's entries, and an altered address is refused", async () => {
    const bob = await s.newUser('bob');
    const folder = await alice.call('/v1/files/get', { path: '/相册' });
    const { json } = await bob.raw('/v1/files/zip', { uuid: folder.uuid });
    assert.equal(json.code, 'FILE_NOT_FOUND');
    const link = await alice.call('/v1/files/zip', { path: '/docs' });
    const altered = link.downloadAddress.replace(/\/zip\/(.)/, (_: string, c: string) => `/zip/${c === 'A' ? 'B' : 'A'}`);
    assert.equal((await fetch(altered)).status, 403);
    assert.equal((await fetch(link.downloadAddress, { method: 'HEAD' })).status, 200);
  });

  test('a folder of 65,600 entries downloads as a ZIP64 archive that unzip and 7z accept', async () => {
    const content = Buffer.from('many\n');
    await uploadFile(alice, '/seed.txt', content);
    const identity = (await alice.call('/v1/user/info')).identity as number;
    const dir = await s.openpan.files.ensureDir(identity, { path: '/many' });
    const inputs = Array.from({ length: 65_600 }, (_, i) => ({
      dir,
      name: `f${i}.txt`,
      etag: etagOf(content),
      size: content.length,
      onConflict: 'error' as const,
    }));
    const made = await s.openpan.files.createFiles(identity, inputs);
    assert.equal(made.error, null);
    const link = await alice.call('/v1/files/zip', { path: '/many' });
    const file = join(scratch, 'many.zip');
    await download(link.downloadAddress, file);
    assert.match(testArchive('unzip', file), /No errors detected in compressed data of .*many\.zip/);
    assert.match(testArchive('7z', file), /Folders: 1\s+Files: 65600/);
  });
});
