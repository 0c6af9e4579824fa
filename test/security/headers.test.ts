import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { concreteUrl, listRoutes } from '../support/routes.js';
import { startServer, type TestServer } from '../support/server.js';
import { formUpload, ticket } from '../support/upload.js';

function assertCommon(res: Response, what: string): void {
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', what);
  const frame = res.headers.get('x-frame-options');
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.ok(frame === 'DENY' || /frame-ancestors 'none'/.test(csp), `${what}: framing is not refused`);
  assert.ok(res.headers.get('cross-origin-resource-policy'), `${what}: no Cross-Origin-Resource-Policy`);
}

describe('security headers', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  test('every route answers with nosniff, no-referrer and no framing, also when it refuses', async () => {
    for (const route of listRoutes(s.openpan.http)) {
      for (const method of route.methods) {
        const url = s.url + concreteUrl(route.url);
        const res = await fetch(url, {
          method,
          headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
          body: method === 'POST' ? '{}' : undefined,
        });
        await res.arrayBuffer();
        assertCommon(res, `${method} ${route.url} → ${res.status}`);
      }
    }
  });

  test('API answers are not stored by caches and cannot be framed or loaded as a page', async () => {
    for (const path of ['/v1/user/info', '/v1/user/login', '/v1/no/such/call']) {
      const res = await fetch(s.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.admin.token}` },
        body: '{}',
      });
      await res.arrayBuffer();
      assertCommon(res, path);
      assert.equal(res.headers.get('cache-control'), 'no-store', path);
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'same-origin', path);
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/, path);
    }
  });

  test('the upload service keeps its CORS headers, is marked cross-origin and not cacheable', async () => {
    const pre = await fetch(`${s.url}/upload/mkblk/4`, {
      method: 'OPTIONS',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    assertCommon(pre, 'preflight');
    assert.equal(pre.headers.get('cross-origin-resource-policy'), 'cross-origin');

    const t = await ticket(s.admin, { name: 'h.txt' });
    const up = await formUpload(t.uploadUrl, t.token, Buffer.from('hello'));
    assert.equal(up.status, 200);
    assert.equal(up.headers.get('access-control-allow-origin'), '*');
    assert.equal(up.headers.get('cache-control'), 'no-store');
    assert.equal(up.headers.get('x-content-type-options'), 'nosniff');
  });

  test('a download keeps its own sandbox CSP, cache lifetime and attachment headers', async () => {
    const t = await ticket(s.admin, { name: 'page.html' });
    const file = JSON.parse((await formUpload(t.uploadUrl, t.token, Buffer.from('<script>alert(1)</script>'))).json.response).result;
    const { downloadAddress } = await s.admin.call('/v1/files/download', { uuid: file.uuid });
    const res = await fetch(downloadAddress);
    assert.equal(await res.text(), '<script>alert(1)</script>');
    assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; sandbox");
    assert.match(res.headers.get('cache-control') ?? '', /^private, max-age=\d+$/);
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment;/);
    assertCommon(res, 'download');
    assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
  });
});
