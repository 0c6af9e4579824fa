// URL tasks over HTTPS, through a real openpan process that trusts the test CA the way an
// operator adds a private CA (NODE_EXTRA_CA_CERTS): the probe, the ranged segments and the
// import all run over TLS with certificate checks on, and a certificate nobody vouches for is
// refused before any request is sent.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { removeDataDir, spawnServer, tempDataDir, type ServerProcess } from '../support/process-server.js';
import type { Client } from '../support/server.js';
import { ROGUE_TLS, startTestServer, TEST_CA_PATH, TRUSTED_TLS, type TestServer } from '../support/http-fixture.js';
import { assertFile, MiB, userAt, waitDone } from '../support/offline-e2e.js';

describe('URL tasks over HTTPS', () => {
  let server: ServerProcess;
  let dataDir: string;
  let trusted: TestServer;
  let rogue: TestServer;
  let alice: Client;

  before(async () => {
    trusted = await startTestServer('127.0.0.1', TRUSTED_TLS);
    rogue = await startTestServer('127.0.0.1', ROGUE_TLS);
    dataDir = tempDataDir();
    server = await spawnServer(dataDir, { OPENPAN_FETCH_ALLOW: '127.0.0.1/32', OPENPAN_HTTP_RETRIES: '1', NODE_EXTRA_CA_CERTS: TEST_CA_PATH });
    alice = await userAt(server.url, 'alice');
  });
  after(async () => {
    await server?.stop();
    removeDataDir(dataDir);
    await trusted?.close();
    await rogue?.close();
  });

  test('an https URL is probed, downloaded in parallel ranged segments and lands in the drive byte for byte', async () => {
    const data = randomBytes(9 * MiB + 5);
    trusted.resources.set('/secure/data.bin', { bytes: data, etag: '"s1"' });
    const parsed = await alice.call('/v1/offline/parseUrl', { url: `${trusted.origin}/secure/data.bin` });
    assert.equal(parsed.name, 'data.bin');
    assert.equal(parsed.size, data.length);
    const started = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/tls' });
    const done = await waitDone(alice, started.taskId);
    assert.equal(done.size, data.length);
    await assertFile(alice, '/tls/data.bin', data);
    const segments = trusted.requests.filter((r) => r.path === '/secure/data.bin' && r.range !== undefined && r.range !== 'bytes=0-0');
    assert.ok(segments.length >= 2, `several ranged segments were asked (${segments.length})`);
  });

  test('a certificate nobody vouches for is refused at parse time, and nothing is requested', async () => {
    rogue.resources.set('/x.bin', { bytes: randomBytes(1000) });
    const r = await alice.raw('/v1/offline/parseUrl', { url: `${rogue.origin}/x.bin` });
    assert.equal(r.status, 422);
    assert.equal(r.json.code, 'URL_UNREACHABLE');
    assert.match(r.json.message ?? '', /certificate/i);
    assert.equal(rogue.requests.length, 0);
  });
});
