// The guarded connection layer and the parse-time probe, against real servers on loopback only.
// The policy allows exactly 127.0.0.1/32 (where the test server listens); the refused targets are
// other loopback addresses (127.0.0.2, ::1) with their own listener, which must see nothing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { test } from 'node:test';
import { AddressPolicy, FetchError, filenameFromContentDisposition, filenameFromUrl, parseCidrList, probeUrl, safeGet } from '../../src/net/index.js';
import { startTestServer, type TestServer } from '../support/http-fixture.js';

const policy = new AddressPolicy(parseCidrList('127.0.0.1/32'));

async function withServers(body: (s: { main: TestServer; v4: TestServer; v6: TestServer }) => Promise<void>): Promise<void> {
  const main = await startTestServer('127.0.0.1');
  const v4 = await startTestServer('127.0.0.2');
  const v6 = await startTestServer('::1');
  for (const s of [v4, v6]) s.resources.set('/secret', { bytes: Buffer.from('secret') });
  try {
    await body({ main, v4, v6 });
  } finally {
    await Promise.all([main.close(), v4.close(), v6.close()]);
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<FetchError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof FetchError, `a FetchError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

test('probe: size, range support, validators and the name from Content-Disposition (filename* first)', () =>
  withServers(async ({ main }) => {
    const bytes = randomBytes(100_000);
    main.resources.set('/dl', {
      bytes,
      etag: '"e1"',
      lastModified: 'Thu, 01 Jan 2026 00:00:00 GMT',
      contentDisposition: `attachment; filename="fallback.bin"; filename*=UTF-8''%E4%B8%AD%E6%96%87%20name.bin`,
    });
    const p = await probeUrl(`${main.origin}/dl?x=1`, { policy });
    assert.deepEqual(p, {
      finalUrl: `${main.origin}/dl?x=1`,
      name: '中文 name.bin',
      size: 100_000,
      acceptsRanges: true,
      etag: '"e1"',
      lastModified: 'Thu, 01 Jan 2026 00:00:00 GMT',
      mime: 'application/octet-stream',
    });
    assert.equal(main.requests.at(-1)?.range, 'bytes=0-0');
    assert.ok(main.bytesServed <= 64 * 1024, 'the probe does not read the body');
  }));

test('probe: no range support, chunked without length, the name from the URL path', () =>
  withServers(async ({ main }) => {
    main.resources.set('/files/a%20b.iso', { bytes: randomBytes(5000), ranges: false });
    main.resources.set('/stream', { bytes: randomBytes(5000), chunked: true, ranges: false });
    main.resources.set('/empty', { bytes: Buffer.alloc(0) });
    const plain = await probeUrl(`${main.origin}/files/a%20b.iso`, { policy });
    assert.equal(plain.name, 'a b.iso');
    assert.equal(plain.size, 5000);
    assert.equal(plain.acceptsRanges, false);
    const chunked = await probeUrl(`${main.origin}/stream`, { policy });
    assert.equal(chunked.size, null);
    assert.equal(chunked.acceptsRanges, false);
    const empty = await probeUrl(`${main.origin}/empty`, { policy });
    assert.equal(empty.size, 0);
    assert.equal(await probeUrl(`${main.origin}/`, { policy }).catch((e: FetchError) => e.code), 'HTTP_404');
  }));

test('probe: a redirect chain is followed to its end; too many redirects is REDIRECT_INVALID', () =>
  withServers(async ({ main }) => {
    main.resources.set('/final.bin', { bytes: randomBytes(10) });
    for (let i = 0; i < 12; i++) main.redirects.set(`/r${i}`, i === 11 ? '/final.bin' : `/r${i + 1}`);
    const p = await probeUrl(`${main.origin}/r8`, { policy });
    assert.equal(p.finalUrl, `${main.origin}/final.bin`);
    assert.equal(p.name, 'final.bin');
    await rejectsWith(probeUrl(`${main.origin}/r0`, { policy }), 'REDIRECT_INVALID');
    await rejectsWith(probeUrl(`${main.origin}/r8`, { policy, maxRedirects: 2 }), 'REDIRECT_INVALID');
    main.redirects.set('/to-ftp', 'ftp://127.0.0.1/x');
    await rejectsWith(probeUrl(`${main.origin}/to-ftp`, { policy }), 'REDIRECT_INVALID');
  }));

test('a redirect to a refused address (127.0.0.2, [::1], a decimal spelling) is refused and nothing reaches it', () =>
  withServers(async ({ main, v4, v6 }) => {
    main.redirects.set('/to-v4', `${v4.origin}/secret`);
    main.redirects.set('/to-v6', `${v6.origin}/secret`);
    main.redirects.set('/to-decimal', `http://2130706434:${v4.port}/secret`); // 127.0.0.2
    for (const path of ['/to-v4', '/to-v6', '/to-decimal']) {
      const err = await rejectsWith(probeUrl(`${main.origin}${path}`, { policy }), 'URL_FORBIDDEN');
      assert.match(err.message, /loopback/);
    }
    assert.equal(v4.requests.length, 0, 'nothing reached 127.0.0.2');
    assert.equal(v6.requests.length, 0, 'nothing reached ::1');
  }));

test('names are judged after DNS resolution: localhost is refused by a policy without loopback', () =>
  withServers(async ({ main }) => {
    main.resources.set('/x', { bytes: Buffer.from('x') });
    const strict = new AddressPolicy([]);
    const err = await rejectsWith(probeUrl(`http://localhost:${main.port}/x`, { policy: strict }), 'URL_FORBIDDEN');
    assert.match(err.message, /localhost resolves to 127\.0\.0\.1/);
    await rejectsWith(probeUrl(`${main.origin}/x`, { policy: strict }), 'URL_FORBIDDEN');
    assert.equal(main.requests.length, 0);
  }));

test('the connected peer is judged too, whatever resolved the name (defence in depth)', () =>
  withServers(async ({ main, v4 }) => {
    main.resources.set('/x', { bytes: Buffer.from('x') });
    // An agent that connects elsewhere than the URL says, bypassing lookup: the socket check catches it.
    class Misrouting extends http.Agent {
      override createConnection(): Socket {
        return createConnection({ host: '127.0.0.2', port: v4.port });
      }
    }
    const agent = new Misrouting();
    try {
      await rejectsWith(safeGet(new URL(`${main.origin}/x`), { policy, agents: { http: agent } }), 'URL_FORBIDDEN');
    } finally {
      agent.destroy();
    }
  }));

test('a connection that goes quiet fails with NETWORK_ERROR after the idle timeout', () =>
  withServers(async () => {
    const silent = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as { port: number }).port;
      await rejectsWith(probeUrl(`http://127.0.0.1:${port}/`, { policy, idleTimeoutMs: 200 }), 'NETWORK_ERROR');
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  }));

test('Content-Disposition and URL names', () => {
  assert.equal(filenameFromContentDisposition('attachment; filename="a \\"b\\".txt"'), 'a "b".txt');
  assert.equal(filenameFromContentDisposition('attachment; filename=plain.zip'), 'plain.zip');
  assert.equal(filenameFromContentDisposition(`attachment; filename*=iso-8859-1'en'%E9t%E9.txt`), 'été.txt');
  assert.equal(filenameFromContentDisposition('attachment; filename="../../etc/passwd"'), 'passwd');
  assert.equal(filenameFromContentDisposition('attachment; filename="C:\\\\dir\\\\x.zip"'), 'x.zip');
  assert.equal(filenameFromContentDisposition('attachment; filename=".."'), null);
  assert.equal(filenameFromContentDisposition('inline'), null);
  assert.equal(filenameFromContentDisposition(undefined), null);
  assert.equal(filenameFromUrl(new URL('https://example.com/a/b/%E6%96%87.pdf?x=1')), '文.pdf');
  assert.equal(filenameFromUrl(new URL('https://example.com/a/')), 'a');
  assert.equal(filenameFromUrl(new URL('https://example.com/')), 'example.com');
  assert.equal(filenameFromUrl(new URL('https://example.com/100%')), '100%');
});
