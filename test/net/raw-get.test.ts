// raw-get, the HTTP engine's lean reader for ranged segments: what it frames (and what it hands
// back to Node's client), the address policy before any connection, and byte-exact bodies from
// a raw TCP server on 127.0.0.1 that writes its answers exactly as each test scripts them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { AddressPolicy, FetchError, parseCidrList } from '../../src/net/index.js';
import { framedLength, parseResponseHead, rawGet, RawUnsupported, requestHead, type RawResponse } from '../../src/net/raw-get.js';
import { ROGUE_TLS, startTestServer } from '../support/http-fixture.js';

const policy = new AddressPolicy(parseCidrList('127.0.0.1/32'));

/** A TCP server that reads one request head, records it, and lets `answer` write whatever it wants. */
async function scripted(answer: (socket: Socket, request: string) => void | Promise<void>) {
  const requests: string[] = [];
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on('error', () => {});
    let got = '';
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (!got.includes('\r\n\r\n')) return;
      requests.push(got);
      void answer(socket, got);
      got = '';
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: new URL(`http://127.0.0.1:${port}/file.bin?x=1`),
    requests,
    connections: () => connections,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function body(res: RawResponse): Promise<{ bytes: Buffer; err: Error | null; calls: number }> {
  const parts: Buffer[] = [];
  let calls = 0;
  const err = await new Promise<Error | null>((resolve) =>
    res.read({
      data(chunk) {
        calls++;
        parts.push(Buffer.from(chunk));
      },
      end: resolve,
    }),
  );
  return { bytes: Buffer.concat(parts), err, calls };
}

async function rejects(promise: Promise<unknown>, check: (err: unknown) => boolean, what: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.ok(check(err), `${what}, got ${String(err)}`);
    return;
  }
  assert.fail(`expected ${what}`);
}

const fetchError = (code: string) => (err: unknown) => err instanceof FetchError && err.code === code;
const unsupported = (err: unknown) => err instanceof RawUnsupported;

test('response heads: status and headers parsed, repeated headers joined; a malformed line is NETWORK_ERROR', () => {
  const head = parseResponseHead('HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nX-A: 1\r\nx-a: 2\r\nEmpty:');
  assert.deepEqual(head, { status: 206, headers: { 'content-length': '10', 'x-a': '1, 2', empty: '' } });
  assert.equal(parseResponseHead('HTTP/1.0 200').status, 200);
  for (const bad of [
    'HTTP/2 200 OK',
    'HTTP/1.1 20 OK',
    'ICY 200 OK',
    'HTTP/1.1 200 OK\r\nno colon',
    'HTTP/1.1 200 OK\r\n folded: value',
    'HTTP/1.1 200 OK\r\nBad Name: v',
    'HTTP/1.1 200 OK\r\nX: a\x00b',
  ]) {
    assert.throws(() => parseResponseHead(bad), fetchError('NETWORK_ERROR'), JSON.stringify(bad));
  }
});

test('framing: one Content-Length is read; Transfer-Encoding or no length goes back to Node; conflicting lengths are refused', () => {
  const h = (headers: Record<string, string>) => ({ status: 206, headers });
  assert.equal(framedLength(h({ 'content-length': '123' })), 123);
  assert.equal(framedLength(h({ 'content-length': '7, 7' })), 7);
  assert.throws(() => framedLength(h({ 'content-length': '5', 'transfer-encoding': 'chunked' })), unsupported);
  assert.throws(() => framedLength(h({})), unsupported);
  assert.throws(() => framedLength(h({ 'content-length': '5, 6' })), fetchError('NETWORK_ERROR'));
  assert.throws(() => framedLength(h({ 'content-length': '-1' })), fetchError('NETWORK_ERROR'));
});

test('request heads carry Host, Range and Connection: close; a value with CR/LF is never sent (no header injection)', () => {
  const url = new URL('http://example.test:8080/a%20b/c?d=e');
  const head = requestHead(url, { range: 'bytes=0-9', 'if-range': '"etag"' });
  assert.ok(head.startsWith('GET /a%20b/c?d=e HTTP/1.1\r\nhost: example.test:8080\r\n'), head);
  assert.match(head, /\r\nrange: bytes=0-9\r\n/);
  assert.match(head, /\r\nif-range: "etag"\r\n/);
  assert.match(head, /\r\nconnection: close\r\n\r\n$/);
  assert.throws(() => requestHead(url, { 'if-range': '"x"\r\nX-Injected: 1' }), unsupported);
  assert.throws(() => requestHead(url, { 'if-range': 'caf\u00e9' }), unsupported);
});

test('a 206 body arrives byte-exact, whether the head trickles in byte by byte or comes with the first body bytes', async () => {
  const payload = randomBytes(3 * 1024 * 1024 + 17);
  const server = await scripted(async (socket) => {
    const head = Buffer.from(
      `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-${payload.length - 1}/${payload.length}\r\nContent-Length: ${payload.length}\r\n\r\n`,
      'latin1',
    );
    for (const byte of head) {
      socket.write(Buffer.of(byte));
      await new Promise((r) => setImmediate(r));
    }
    socket.end(payload);
  });
  try {
    const res = await rawGet(server.url, { policy, headers: { range: `bytes=0-${payload.length - 1}` } });
    assert.equal(res.status, 206);
    assert.equal(res.contentLength, payload.length);
    const got = await body(res);
    assert.equal(got.err, null);
    assert.ok(got.bytes.equals(payload), 'the bytes are the payload');
    assert.ok(got.calls < payload.length / 1024, `handed on in large slices (${got.calls} calls)`);
    assert.match(server.requests[0], /^GET \/file\.bin\?x=1 HTTP\/1\.1\r\n/);
  } finally {
    await server.close();
  }
});

test('bytes beyond Content-Length are not delivered; a body cut short ends without error and with what arrived', async () => {
  const server = await scripted((socket, request) => {
    if (request.includes('/short')) socket.end('HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\n\r\n' + 'x'.repeat(40));
    else socket.end('HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\n\r\nhelloEXTRA');
  });
  try {
    const exact = await body(await rawGet(server.url, { policy, headers: {} }));
    assert.deepEqual([exact.bytes.toString(), exact.err], ['hello', null]);
    const short = await body(await rawGet(new URL('/short', server.url), { policy, headers: {} }));
    assert.deepEqual([short.bytes.length, short.err], [40, null]);
  } finally {
    await server.close();
  }
});

test('redirects and chunked bodies are handed back to Node’s client (RawUnsupported)', async () => {
  const server = await scripted((socket, request) => {
    if (request.includes('/moved')) socket.end('HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n');
    else socket.end('HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  });
  try {
    await rejects(rawGet(new URL('/moved', server.url), { policy, headers: {} }), unsupported, 'RawUnsupported for a redirect');
    await rejects(rawGet(server.url, { policy, headers: {} }), unsupported, 'RawUnsupported for a chunked body');
    await rejects(rawGet(new URL('ftp://127.0.0.1/'), { policy, headers: {} }), unsupported, 'RawUnsupported for another scheme');
  } finally {
    await server.close();
  }
});

test('a refused address is URL_FORBIDDEN before any connection is made', async () => {
  const server = await scripted((socket) => void socket.end('HTTP/1.1 206 Partial Content\r\nContent-Length: 6\r\n\r\nsecret'));
  try {
    const nothingAllowed = new AddressPolicy([]);
    await rejects(rawGet(server.url, { policy: nothingAllowed, headers: {} }), fetchError('URL_FORBIDDEN'), 'URL_FORBIDDEN for a literal loopback address');
    const byName = new URL(server.url);
    byName.hostname = 'localhost';
    await rejects(rawGet(byName, { policy: nothingAllowed, headers: {} }), fetchError('URL_FORBIDDEN'), 'URL_FORBIDDEN for a name resolving to loopback');
    assert.equal(server.connections(), 0, 'the server saw no connection');
  } finally {
    await server.close();
  }
});

test('an endless head, a silent server and a reset are NETWORK_ERROR', async () => {
  const server = await scripted((socket, request) => {
    if (request.includes('/silent')) return; // never answers
    if (request.includes('/reset')) {
      socket.write('HTTP/1.1 206 Partial Content\r\nContent-Length: 1000\r\n\r\nabc');
      setTimeout(() => socket.resetAndDestroy(), 20);
      return;
    }
    socket.write('HTTP/1.1 200 OK\r\n');
    const line = `X-Filler: ${'f'.repeat(1000)}\r\n`;
    for (let i = 0; i < 70 && !socket.destroyed; i++) socket.write(line);
  });
  try {
    await rejects(rawGet(new URL('/endless', server.url), { policy, headers: {} }), fetchError('NETWORK_ERROR'), 'NETWORK_ERROR for a head over 64 KiB');
    await rejects(
      rawGet(new URL('/silent', server.url), { policy, headers: {}, idleTimeoutMs: 200 }),
      fetchError('NETWORK_ERROR'),
      'NETWORK_ERROR for silence',
    );
    const reset = await body(await rawGet(new URL('/reset', server.url), { policy, headers: {} }));
    assert.ok(reset.err instanceof FetchError && reset.err.code === 'NETWORK_ERROR', `a reset mid-body is NETWORK_ERROR, got ${String(reset.err)}`);
    assert.equal(reset.bytes.toString(), 'abc');
  } finally {
    await server.close();
  }
});

test('over https a certificate no one trusts is NETWORK_ERROR, and no request is sent', async () => {
  const rogue = await startTestServer('127.0.0.1', ROGUE_TLS);
  try {
    rogue.resources.set('/f', { bytes: Buffer.from('never') });
    await rejects(rawGet(new URL(`${rogue.origin}/f`), { policy, headers: {} }), fetchError('NETWORK_ERROR'), 'NETWORK_ERROR for a self-signed certificate');
    assert.equal(rogue.requests.length, 0);
  } finally {
    await rogue.close();
  }
});
