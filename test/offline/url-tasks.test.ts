// Offline download of HTTP URLs over the real API, from a real HTTP server on loopback
// (test/support/http-fixture.ts). The server is at 127.0.0.1, which the address policy refuses by
// default: these servers allow exactly 127.0.0.1/32, so 127.0.0.2 and [::1] stay forbidden.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from '../support/server.js';
import { startTestServer, type TestServer as HttpFixture } from '../support/http-fixture.js';
import { assertFile, MiB, task, waitDone, waitFor } from '../support/offline-e2e.js';

const ALLOW_ONE = { OPENPAN_FETCH_ALLOW: '127.0.0.1/32', OPENPAN_HTTP_RETRIES: '2' };

describe('URL tasks', () => {
  let server: TestServer;
  let web: HttpFixture;
  let elsewhere: HttpFixture;

  before(async () => {
    web = await startTestServer('127.0.0.1');
    elsewhere = await startTestServer('127.0.0.2');
    server = await startServer(ALLOW_ONE);
  });
  after(async () => {
    await server?.close();
    await web?.close();
    await elsewhere?.close();
  });

  test('parseUrl names the file from Content-Disposition and gives its size; start puts the bytes in the drive', async () => {
    const data = randomBytes(3 * MiB + 123);
    web.resources.set('/files/a', { bytes: data, contentDisposition: `attachment; filename*=UTF-8''%E6%8A%A5%E5%91%8A.bin` });
    const alice = await server.newUser('url-alice');
    const parsed = await alice.call('/v1/offline/parseUrl', { url: `${web.origin}/files/a` });
    assert.equal(parsed.type, 20);
    assert.equal(parsed.name, '报告.bin');
    assert.equal(parsed.size, data.length);
    assert.equal(parsed.url, `${web.origin}/files/a`);
    assert.deepEqual(parsed.files, [{ index: 0, path: '报告.bin', size: data.length, cached: false }]);

    const started = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/web' });
    assert.equal(started.type, 20);
    assert.equal(started.url, `${web.origin}/files/a`);
    assert.equal(started.infoHash, '');
    const done = await waitDone(alice, started.taskId);
    assert.equal(done.size, data.length);
    assert.equal(done.progress, 100);
    await assertFile(alice, '/web/报告.bin', data);
  });

  test('a name comes from the URL path when the server gives none; a server without ranges is read in one stream', async () => {
    const data = randomBytes(2 * MiB + 7);
    web.resources.set('/dir/plain%20name.iso', { bytes: data, ranges: false });
    const bob = await server.newUser('url-bob');
    const parsed = await bob.call('/v1/offline/parseUrl', { url: `${web.origin}/dir/plain%20name.iso` });
    assert.equal(parsed.name, 'plain name.iso');
    const started = await bob.call('/v1/offline/start', { taskHash: parsed.taskHash });
    await waitDone(bob, started.taskId);
    await assertFile(bob, '/plain name.iso', data);
    const withRange = web.requests.filter((r) => r.path === '/dir/plain%20name.iso' && r.range !== undefined && r.range !== 'bytes=0-0');
    assert.equal(withRange.length, 0, 'no ranged segment is asked of a server that ignores ranges');
  });

  test('a chunked answer without a length is stored with the length received', async () => {
    const data = randomBytes(1 * MiB + 5);
    web.resources.set('/chunked', { bytes: data, chunked: true, ranges: false });
    const carol = await server.newUser('url-carol');
    const parsed = await carol.call('/v1/offline/parseUrl', { url: `${web.origin}/chunked` });
    assert.equal(parsed.size, 0, 'the size is not known before the download');
    const started = await carol.call('/v1/offline/start', { taskHash: parsed.taskHash });
    const done = await waitDone(carol, started.taskId);
    assert.equal(done.size, data.length);
    await assertFile(carol, '/chunked', data);
  });

  test('a connection dropped mid-body is resumed and the bytes are right', async () => {
    const data = randomBytes(3 * MiB);
    web.resources.set('/flaky', { bytes: data, drop: { after: 256 * 1024, times: 3 } });
    const dave = await server.newUser('url-dave');
    const parsed = await dave.call('/v1/offline/parseUrl', { url: `${web.origin}/flaky` });
    const started = await dave.call('/v1/offline/start', { taskHash: parsed.taskHash });
    await waitDone(dave, started.taskId);
    await assertFile(dave, '/flaky', data);
  });

  test('a 404 fails the task with HTTP_404; parse of a 404 answers URL_UNREACHABLE', async () => {
    const data = randomBytes(64 * 1024);
    web.resources.set('/vanishing', { bytes: data });
    const erin = await server.newUser('url-erin');
    const parsed = await erin.call('/v1/offline/parseUrl', { url: `${web.origin}/vanishing` });
    web.resources.delete('/vanishing');
    const started = await erin.call('/v1/offline/start', { taskHash: parsed.taskHash });
    const failed = await waitFor('the task to fail', async () => {
      const t = await task(erin, started.taskId);
      return t?.status === -1 ? t : undefined;
    });
    assert.equal(failed.error, 'HTTP_404');
    const again = await erin.raw('/v1/offline/parseUrl', { url: `${web.origin}/vanishing` });
    assert.equal(again.status, 422);
    assert.equal(again.json.code, 'URL_UNREACHABLE');
  });

  test('a server error is retried, then the download succeeds', async () => {
    const data = randomBytes(512 * 1024);
    web.resources.set('/busy', { bytes: data, fail: { status: 503, times: 2 } });
    const frank = await server.newUser('url-frank');
    // The parse itself meets the first 503s and answers URL_UNREACHABLE; the next one works.
    let parsed: { taskHash: string } | undefined;
    for (let i = 0; i < 3 && parsed === undefined; i++) {
      const r = await frank.raw('/v1/offline/parseUrl', { url: `${web.origin}/busy` });
      if (r.status === 200) parsed = r.json.result;
      else assert.equal(r.json.code, 'URL_UNREACHABLE');
    }
    assert.ok(parsed);
    web.resources.set('/busy', { bytes: data, fail: { status: 500, times: 2 } });
    const started = await frank.call('/v1/offline/start', { taskHash: parsed.taskHash });
    await waitDone(frank, started.taskId);
    await assertFile(frank, '/busy', data);
  });

  test('redirect chains are followed; a redirect to a forbidden address is refused and nothing is fetched there', async () => {
    const data = randomBytes(100 * 1024);
    web.resources.set('/final', { bytes: data });
    web.redirects.set('/hop1', `${web.origin}/hop2`);
    web.redirects.set('/hop2', '/final');
    const gina = await server.newUser('url-gina');
    const parsed = await gina.call('/v1/offline/parseUrl', { url: `${web.origin}/hop1` });
    assert.equal(parsed.size, data.length);
    const started = await gina.call('/v1/offline/start', { taskHash: parsed.taskHash });
    await waitDone(gina, started.taskId);
    await assertFile(gina, '/final', data);

    elsewhere.resources.set('/secret', { bytes: Buffer.from('internal') });
    web.redirects.set('/to-internal', `${elsewhere.origin}/secret`);
    web.redirects.set('/to-v6', `http://[::1]:${elsewhere.port}/secret`);
    for (const path of ['/to-internal', '/to-v6']) {
      const r = await gina.raw('/v1/offline/parseUrl', { url: `${web.origin}${path}` });
      assert.equal(r.status, 400, path);
      assert.equal(r.json.code, 'URL_FORBIDDEN', path);
    }
    const direct = await gina.raw('/v1/offline/parseUrl', { url: `${elsewhere.origin}/secret` });
    assert.equal(direct.json.code, 'URL_FORBIDDEN');
    assert.equal(elsewhere.requests.length, 0, 'the forbidden address received no request');
  });

  test('a URL that starts redirecting to a forbidden address after the parse fails with URL_FORBIDDEN', async () => {
    web.resources.set('/moving', { bytes: randomBytes(1000) });
    const hank = await server.newUser('url-hank');
    const parsed = await hank.call('/v1/offline/parseUrl', { url: `${web.origin}/moving` });
    web.resources.delete('/moving');
    web.redirects.set('/moving', `${elsewhere.origin}/secret`);
    const started = await hank.call('/v1/offline/start', { taskHash: parsed.taskHash });
    const failed = await waitFor('the task to fail', async () => {
      const t = await task(hank, started.taskId);
      return t?.status === -1 ? t : undefined;
    });
    assert.equal(failed.error, 'URL_FORBIDDEN');
    assert.equal(elsewhere.requests.length, 0);
  });

  test('two users starting the same URL while it downloads share one download', async () => {
    const data = randomBytes(4 * MiB);
    web.resources.set('/shared', { bytes: data, rate: 2 * MiB });
    const ivy = await server.newUser('url-ivy');
    const jack = await server.newUser('url-jack');
    const p1 = await ivy.call('/v1/offline/parseUrl', { url: `${web.origin}/shared` });
    const p2 = await jack.call('/v1/offline/parseUrl', { url: `${web.origin}/shared` });
    const before = web.requests.filter((r) => r.path === '/shared').length;
    const t1 = await ivy.call('/v1/offline/start', { taskHash: p1.taskHash });
    const t2 = await jack.call('/v1/offline/start', { taskHash: p2.taskHash, savePath: '/mine' });
    await Promise.all([waitDone(ivy, t1.taskId), waitDone(jack, t2.taskId)]);
    await assertFile(ivy, '/shared', data);
    await assertFile(jack, '/mine/shared', data);
    const db = server.openpan.db;
    const jobs = await db.selectFrom('offline_tasks').select('job_id').where('task_id', 'in', [t1.taskId, t2.taskId]).execute();
    assert.equal(new Set(jobs.map((j) => j.job_id)).size, 1, 'one system task');
    const served = web.requests.filter((r) => r.path === '/shared').length - before;
    assert.ok(web.bytesServed > 0 && served >= 1);
  });

  test('several URLs per parseUrl, one per line: an array, with failing lines reported in place', async () => {
    web.resources.set('/one', { bytes: randomBytes(10) });
    const kim = await server.newUser('url-kim');
    const list = await kim.call('/v1/offline/parseUrl', {
      url: [`${web.origin}/one`, '', 'ftp://example.invalid/x', 'ed2k://|file|movie.avi|1234|0123456789abcdef0123456789abcdef|/'].join('\n'),
    });
    assert.ok(Array.isArray(list));
    assert.equal(list.length, 3);
    assert.equal(list[0].type, 20);
    assert.equal(list[1].errorCode, 'PROTOCOL_UNSUPPORTED');
    assert.equal(list[2].type, 40);
    assert.equal(list[2].name, 'movie.avi');
    assert.equal(list[2].size, 1234);
    const ed2k = await kim.raw('/v1/offline/start', { taskHash: list[2].taskHash });
    assert.equal(ed2k.status, 422);
    assert.equal(ed2k.json.code, 'PROTOCOL_UNSUPPORTED');
  });

  test('a thunder:// link is decoded to the URL inside', async () => {
    const data = randomBytes(2000);
    web.resources.set('/thunder.bin', { bytes: data });
    const thunder = `thunder://${Buffer.from(`AA${web.origin}/thunder.bin ZZ`.replace(' ', '')).toString('base64')}`;
    const lee = await server.newUser('url-lee');
    const parsed = await lee.call('/v1/offline/parseUrl', { url: thunder });
    assert.equal(parsed.url, `${web.origin}/thunder.bin`);
    const started = await lee.call('/v1/offline/start', { taskHash: parsed.taskHash });
    await waitDone(lee, started.taskId);
    await assertFile(lee, '/thunder.bin', data);
  });

  test('bad links: an unknown scheme is 400 PROTOCOL_UNSUPPORTED, garbage is 400 URL_INVALID', async () => {
    const mo = await server.newUser('url-mo');
    const cases: Array<[string, number, string]> = [
      ['gopher://example.invalid/', 400, 'PROTOCOL_UNSUPPORTED'],
      ['not a link', 400, 'URL_INVALID'],
      ['http://user:pw@127.0.0.1/x', 400, 'URL_INVALID'],
      ['thunder://!!!', 400, 'URL_INVALID'],
      ['ed2k://|file|x|notasize|00|/', 400, 'URL_INVALID'],
    ];
    for (const [url, status, code] of cases) {
      const r = await mo.raw('/v1/offline/parseUrl', { url });
      assert.equal(r.status, status, url);
      assert.equal(r.json.code, code, url);
    }
  });
});

describe('URL tasks under the default policy', () => {
  let server: TestServer;
  let web: HttpFixture;
  before(async () => {
    web = await startTestServer('127.0.0.1');
    server = await startServer({ OPENPAN_FETCH_ALLOW: '' });
  });
  after(async () => {
    await server?.close();
    await web?.close();
  });

  test('loopback is refused without an allow-list, before any request is sent', async () => {
    web.resources.set('/x', { bytes: Buffer.from('x') });
    const user = await server.newUser('policy-user');
    for (const url of [`${web.origin}/x`, `http://localhost:${web.port}/x`, `http://2130706433:${web.port}/x`, `http://0x7f.1:${web.port}/x`]) {
      const r = await user.raw('/v1/offline/parseUrl', { url });
      assert.equal(r.json.code, 'URL_FORBIDDEN', url);
    }
    assert.equal(web.requests.length, 0);
  });
});
