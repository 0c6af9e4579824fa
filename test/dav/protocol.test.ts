// WebDAV at /dav, method by method where clients differ from litmus: sign-in refusals, ranges,
// CJK and decomposed names, Finder's AppleDouble files, quota properties, space, deduplication,
// the torrent folder.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, closeSync, ftruncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataDirLayout } from '../../src/data-dir/layout.js';
import { ROOT_DIR } from '../../src/files/file-object.js';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';
import { startServer, type TestServer } from '../support/server.js';
import { davUser, type DavUser } from '../support/dav-client.js';

const PROPFIND_QUOTA =
  '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:quota-available-bytes/><D:quota-used-bytes/><D:getcontentlength/></D:prop></D:propfind>';

let s: TestServer;
let alice: DavUser;
before(async () => {
  s = await startServer();
  alice = await davUser(s, 'alice');
});
after(() => s.close());

describe('signing in', () => {
  test('no credentials, a wrong app password and the account password are 401 with WWW-Authenticate', async () => {
    const anonymous = await fetch(`${alice.root}`, { method: 'PROPFIND', headers: { depth: '0' } });
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm="[^"]+"/);
    for (const password of ['aaaaa-bbbbb-ccccc-ddddd-eeeee', 'alice-Passw0rd']) {
      const res = await fetch(alice.root, {
        method: 'PROPFIND',
        headers: { depth: '0', authorization: `Basic ${Buffer.from(`alice:${password}`).toString('base64')}` },
      });
      assert.equal(res.status, 401, password);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /);
    }
  });

  test("an app password opens only its own user's files", async () => {
    const bob = await davUser(s, 'bob');
    assert.equal((await alice.request('PUT', 'alice-only.txt', { body: 'secret' })).status, 201);
    assert.equal((await bob.request('GET', 'alice-only.txt')).status, 404);
    const wrongName = await fetch(`${alice.root}alice-only.txt`, {
      headers: { authorization: `Basic ${Buffer.from(`bob:${alice.password}`).toString('base64')}` },
    });
    assert.equal(wrongName.status, 401);
  });

  test('OPTIONS answers without credentials, at /dav and at the server root, with DAV 1, 2 and MS-Author-Via, never a redirect', async () => {
    for (const url of [`${s.url}/dav`, `${s.url}/dav/`]) {
      const res = await fetch(url, { method: 'OPTIONS', redirect: 'manual' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('dav'), '1, 2');
      assert.equal(res.headers.get('ms-author-via'), 'DAV');
      assert.match(res.headers.get('allow') ?? '', /PROPFIND.*LOCK/);
    }
    // Windows asks the server's root first.
    const root = await fetch(`${s.url}/`, { method: 'OPTIONS' });
    assert.equal(root.status, 200);
    assert.equal(root.headers.get('dav'), '1, 2');
    assert.equal(root.headers.get('ms-author-via'), 'DAV');
    const noSlash = await fetch(`${s.url}/dav`, { method: 'PROPFIND', headers: { depth: '0', authorization: alice.authorization }, redirect: 'manual' });
    assert.equal(noSlash.status, 207);
  });
});

describe('reading', () => {
  const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));

  test('GET answers one Range with 206 and Content-Range, a suffix range, and 416 outside the file', async () => {
    assert.equal((await alice.request('PUT', 'range.bin', { body: bytes })).status, 201);
    const mid = await alice.request('GET', 'range.bin', { headers: { range: 'bytes=1000-1999' } });
    assert.equal(mid.status, 206);
    assert.equal(mid.headers.get('content-range'), `bytes 1000-1999/${bytes.length}`);
    assert.deepEqual(Buffer.from(await mid.arrayBuffer()), bytes.subarray(1000, 2000));
    const tail = await alice.request('GET', 'range.bin', { headers: { range: 'bytes=-10' } });
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), bytes.subarray(bytes.length - 10));
    const outside = await alice.request('GET', 'range.bin', { headers: { range: `bytes=${bytes.length}-` } });
    assert.equal(outside.status, 416);
    assert.equal(outside.headers.get('content-range'), `bytes */${bytes.length}`);
    await outside.arrayBuffer();
  });

  test('HEAD and GET carry ETag and Last-Modified; If-None-Match is 304, a stale If-Range the whole file', async () => {
    const head = await alice.request('HEAD', 'range.bin');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    const etag = head.headers.get('etag')!;
    assert.match(etag, /^"[^"]+"$/);
    assert.ok(Date.parse(head.headers.get('last-modified')!) > 0);
    assert.equal((await alice.request('GET', 'range.bin', { headers: { 'if-none-match': etag } })).status, 304);
    const stale = await alice.request('GET', 'range.bin', { headers: { range: 'bytes=0-9', 'if-range': '"older"' } });
    assert.equal(stale.status, 200);
    assert.equal((await stale.arrayBuffer()).byteLength, bytes.length);
  });

  test('PROPFIND with Depth infinity, or none, is 403 propfind-finite-depth', async () => {
    for (const headers of [{ depth: 'infinity' }, {}] as Record<string, string>[]) {
      const res = await alice.request('PROPFIND', '', { headers });
      assert.equal(res.status, 403);
      assert.match(await res.text(), /propfind-finite-depth/);
    }
  });
});

describe('large files', () => {
  test('a file beyond 4 GiB is listed with its length and seeks with Range past 4 GiB', async () => {
    // A sparse 5 GiB file placed in the store under a made-up etag: no disk space, no hashing.
    const size = 5 * 1024 ** 3;
    const etag = Buffer.concat([Buffer.from([0x96]), randomBytes(20)]).toString('base64url');
    const path = new LocalDiskBlobStore(dataDirLayout(s.dataDir).blobs).contentPath(etag);
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'w');
    ftruncateSync(fd, size);
    const marker = Buffer.from('past four GiB');
    const at = 4 * 1024 ** 3 + 12345;
    writeSync(fd, marker, 0, marker.length, at);
    closeSync(fd);
    const userId = (await s.openpan.users.byName('alice')).id;
    await s.openpan.files.createFile(userId, { dir: ROOT_DIR, name: 'huge.mkv', etag, size, onConflict: 'error' });

    const xml = await (await alice.request('PROPFIND', 'huge.mkv', { headers: { depth: '0' } })).text();
    assert.match(xml, new RegExp(`<D:getcontentlength>${size}</D:getcontentlength>`));
    const res = await alice.request('GET', 'huge.mkv', { headers: { range: `bytes=${at}-${at + marker.length - 1}` } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes ${at}-${at + marker.length - 1}/${size}`);
    assert.equal(await res.text(), marker.toString());
    const head = await alice.request('HEAD', 'huge.mkv');
    assert.equal(head.headers.get('content-length'), String(size));
  });
});

describe('names', () => {
  test('CJK names percent-encoded as UTF-8 round-trip through PUT, PROPFIND and GET', async () => {
    const dir = encodeURIComponent('照片 2024');
    const file = encodeURIComponent('東京タワー 夜景.txt');
    assert.equal((await alice.request('MKCOL', dir)).status, 201);
    assert.equal((await alice.request('PUT', `${dir}/${file}`, { body: '夜' })).status, 201);
    const listing = await alice.request('PROPFIND', `${dir}/`, { headers: { depth: '1' } });
    assert.equal(listing.status, 207);
    const xml = await listing.text();
    assert.ok(xml.includes(`<D:href>/dav/${dir}/${file}</D:href>`), xml);
    assert.ok(xml.includes('<D:displayname>東京タワー 夜景.txt</D:displayname>'), xml);
    assert.equal(await (await alice.request('GET', `${dir}/${file}`)).text(), '夜');
  });

  test('a decomposed (macOS) name finds the file stored under its composed form', async () => {
    assert.equal((await alice.request('PUT', encodeURIComponent('café.txt'.normalize('NFD')), { body: 'crème' })).status, 201);
    assert.equal(await (await alice.request('GET', encodeURIComponent('café.txt'.normalize('NFC')))).text(), 'crème');
  });

  test("Finder's ._ AppleDouble files and .DS_Store are stored, listed and read back; chunked PUT with X-Expected-Entity-Length", async () => {
    const appleDouble = Buffer.from([0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00]);
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(appleDouble);
        controller.close();
      },
    });
    const put = await fetch(`${alice.root}._notes.txt`, {
      method: 'PUT',
      headers: { authorization: alice.authorization, 'x-expected-entity-length': String(appleDouble.length) },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    assert.equal(put.status, 201);
    assert.equal((await alice.request('PUT', '.DS_Store', { body: 'Bud1' })).status, 201);
    assert.deepEqual(Buffer.from(await (await alice.request('GET', '._notes.txt')).arrayBuffer()), appleDouble);
    const xml = await (await alice.request('PROPFIND', '', { headers: { depth: '1' } })).text();
    assert.ok(xml.includes('<D:href>/dav/._notes.txt</D:href>') && xml.includes('<D:href>/dav/.DS_Store</D:href>'), xml);
  });

  test('a trailing slash on a file or its absence on a collection names the same resource', async () => {
    assert.equal((await alice.request('PROPFIND', encodeURIComponent('照片 2024'), { headers: { depth: '0' } })).status, 207);
    assert.equal((await alice.request('GET', 'range.bin/')).status, 200);
  });
});

describe('space', () => {
  test('quota-available-bytes and quota-used-bytes (RFC 4331) answer the user’s space', async () => {
    const res = await alice.request('PROPFIND', '', { headers: { depth: '0', 'content-type': 'application/xml' }, body: PROPFIND_QUOTA });
    assert.equal(res.status, 207);
    const xml = await res.text();
    const user = await s.openpan.users.byName('alice');
    const used = Number(/<D:quota-used-bytes>(\d+)</.exec(xml)?.[1]);
    const available = Number(/<D:quota-available-bytes>(\d+)</.exec(xml)?.[1]);
    assert.equal(used, Number(user.space_used));
    assert.equal(available, Number(user.space_capacity) - Number(user.space_used));
    // The root has no length: that property is in a 404 propstat.
    assert.match(xml, /<D:getcontentlength\/><\/D:prop><D:status>HTTP\/1.1 404/);
  });

  test('allprop leaves the quota properties out (RFC 4331 §3)', async () => {
    const xml = await (await alice.request('PROPFIND', '', { headers: { depth: '0' } })).text();
    assert.doesNotMatch(xml, /quota-/);
  });

  test('a PUT larger than the free space is 507, whether its length is declared or not, and leaves nothing behind', async () => {
    const carol = await davUser(s, 'carol');
    await s.openpan.users.setQuota('carol', 1000);
    const declared = await carol.request('PUT', 'big.bin', { body: Buffer.alloc(2000) });
    assert.equal(declared.status, 507);
    const streamed = await fetch(`${carol.root}big.bin`, {
      method: 'PUT',
      headers: { authorization: carol.authorization },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(Buffer.alloc(600));
          controller.enqueue(Buffer.alloc(600));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(streamed.status, 507);
    assert.equal((await carol.request('GET', 'big.bin')).status, 404);
    assert.equal((await carol.request('PUT', 'small.bin', { body: Buffer.alloc(1000) })).status, 201);
  });

  test('the same bytes PUT twice are stored once', async () => {
    const body = `dedup ${'x'.repeat(5000)}`;
    assert.equal((await alice.request('PUT', 'one.txt', { body })).status, 201);
    assert.equal((await alice.request('PUT', 'two.txt', { body })).status, 201);
    const one = await s.openpan.files.get((await s.openpan.users.byName('alice')).id, { path: '/one.txt' });
    const two = await s.openpan.files.get((await s.openpan.users.byName('alice')).id, { path: '/two.txt' });
    assert.equal(one.storeId, two.storeId);
    const blob = await s.openpan.db.selectFrom('blobs').select('refs').where('id', '=', one.storeId).executeTakeFirstOrThrow();
    assert.equal(Number(blob.refs), 2);
  });

  test('a PUT over an existing file replaces it (204) and keeps its dead properties', async () => {
    const patch =
      '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x"><D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>';
    assert.equal((await alice.request('PROPPATCH', 'one.txt', { body: patch })).status, 207);
    assert.equal((await alice.request('PUT', 'one.txt', { body: 'new' })).status, 204);
    assert.equal(await (await alice.request('GET', 'one.txt')).text(), 'new');
    const ask = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:colour xmlns:Z="urn:x"/></D:prop></D:propfind>';
    const xml = await (await alice.request('PROPFIND', 'one.txt', { headers: { depth: '0' }, body: ask })).text();
    assert.match(xml, /<colour xmlns="urn:x">blue<\/colour>/);
  });
});

describe('the torrent folder', () => {
  test('/:torrent is listed like any folder but cannot be deleted or moved', async () => {
    assert.equal((await alice.request('PROPFIND', '%3Atorrent/', { headers: { depth: '0' } })).status, 207);
    assert.equal((await alice.request('DELETE', '%3Atorrent/')).status, 403);
    assert.equal((await alice.request('MOVE', '%3Atorrent/', { headers: { destination: `${alice.root}elsewhere/` } })).status, 403);
    assert.equal((await alice.request('PROPFIND', '%3Atorrent/', { headers: { depth: '0' } })).status, 207);
  });
});

describe('locks', () => {
  test('a locked file refuses a PUT without its token (423) and takes one with it; UNLOCK frees it', async () => {
    const lockinfo =
      '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>tester</D:owner></D:lockinfo>';
    const lock = await alice.request('LOCK', 'locked.txt', { headers: { timeout: 'Second-60' }, body: lockinfo });
    assert.equal(lock.status, 201, 'a lock on an unmapped URL makes an empty file');
    const token = /^<(.+)>$/.exec(lock.headers.get('lock-token') ?? '')?.[1];
    assert.ok(token);
    assert.match(await lock.text(), /<D:timeout>Second-(60|59)<\/D:timeout>/);
    assert.equal((await alice.request('PUT', 'locked.txt', { body: 'x' })).status, 423);
    assert.equal((await alice.request('PUT', 'locked.txt', { body: 'x', headers: { if: `(<${token}>)` } })).status, 204);
    assert.equal((await alice.request('UNLOCK', 'locked.txt', { headers: { 'lock-token': `<${token}>` } })).status, 204);
    assert.equal((await alice.request('PUT', 'locked.txt', { body: 'y' })).status, 204);
  });
});
