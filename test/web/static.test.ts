// Serving the built UI: CSP, caching, SPA fallback, and that API paths never get the page.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { contentSecurityPolicy, registerWebUi } from '../../src/http/static.js';

describe('web UI serving', () => {
  let dir: string;
  let app: FastifyInstance;
  const index = '<!doctype html><title>openpan</title><script type="module" src="/assets/index-abc123.js"></script>';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openpan-web-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), index);
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
    writeFileSync(join(tmpdir(), 'outside-web-root.txt'), 'secret');
    app = Fastify();
    app.post('/v1/user/info', async () => ({ ok: true }));
    registerWebUi(app, { dir, publicUrl: () => 'http://files.example:7777' });
    await app.ready();
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('index.html: strict CSP, no-cache, an ETag that revalidates', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, index);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline scripts, no eval');
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /connect-src 'self' http:\/\/files\.example:7777/, 'uploads may go to the public URL');
    assert.match(csp, /frame-ancestors 'none'/);
    const again = await app.inject({ method: 'GET', url: '/', headers: { 'if-none-match': String(res.headers.etag) } });
    assert.equal(again.statusCode, 304);
  });

  test('hashed assets are cached for a year; other files revalidate', async () => {
    const js = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    assert.equal(js.statusCode, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.match(String(js.headers['cache-control']), /max-age=31536000, immutable/);
    const icon = await app.inject({ method: 'GET', url: '/favicon.svg' });
    assert.equal(icon.headers['cache-control'], 'no-cache');
    assert.match(String(icon.headers['content-type']), /^image\/svg\+xml/);
  });

  test('the UI routes get index.html; missing assets, API, upload and download paths do not', async () => {
    for (const url of ['/drive/Movies/2024', '/offline', '/drive/%E4%B8%AD%E6%96%87', '/index.html']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, index, url);
    }
    for (const url of ['/assets/index-old999.js', '/v1/files/page', '/v1', '/upload/mkblk/4', '/dl/abc', '/v1/offline/nothing']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.notEqual(res.body, index, url);
    }
    assert.equal((await app.inject({ method: 'POST', url: '/v1/user/info' })).statusCode, 200, 'API routes are untouched');
  });

  test('no path escapes the UI folder', async () => {
    for (const url of ['/../outside-web-root.txt', '/%2e%2e/outside-web-root.txt', '/assets/..%2f..%2foutside-web-root.txt']) {
      const res = await app.inject({ method: 'GET', url });
      assert.ok(!res.body.includes('secret'), url);
    }
  });

  test('an unbuilt UI says how to build it', async () => {
    const bare = Fastify();
    registerWebUi(bare, { dir: join(dir, 'missing'), publicUrl: () => '' });
    const res = await bare.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /npm run build/);
    await bare.close();
  });

  test('the CSP survives an unparsable public URL', () => {
    assert.match(contentSecurityPolicy('not a url'), /connect-src 'self';/);
  });
});
