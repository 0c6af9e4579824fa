// A URL download survives `kill -9` of the server: after the restart on the same data directory
// the task resumes from the ranges already on disk (the HTTP server is asked only for the rest)
// and the file in the drive has the right bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { removeDataDir, spawnServer, tempDataDir, type ServerProcess } from '../support/process-server.js';
import { Client } from '../support/server.js';
import { startTestServer } from '../support/http-fixture.js';
import { assertFile, KiB, MiB, task, userAt, waitDone, waitFor } from '../support/offline-e2e.js';

const ENV = { OPENPAN_FETCH_ALLOW: '127.0.0.1/32', OPENPAN_HTTP_SEGMENTS: '4' };

describe('URL task and a crash', () => {
  test('kill -9 mid-download: after the restart only the missing bytes are fetched and the file is right', async () => {
    const web = await startTestServer('127.0.0.1');
    const dataDir = tempDataDir();
    let srv: ServerProcess | undefined;
    try {
      const data = randomBytes(8 * MiB);
      // Slow enough to catch half-way; an ETag lets the resume prove the content is the same.
      web.resources.set('/big.bin', { bytes: data, rate: 512 * KiB, etag: '"v1"' });
      srv = await spawnServer(dataDir, ENV);
      const alice = await userAt(srv.url, 'alice');
      const parsed = await alice.call('/v1/offline/parseUrl', { url: `${web.origin}/big.bin` });
      const started = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/dl' });
      await waitFor('some progress', async () => ((await task(alice, started.taskId))?.finishedSize ?? 0) >= 2 * MiB);
      await srv.kill9();
      const servedBeforeCrash = web.bytesServed;
      assert.ok(servedBeforeCrash < data.length, 'the crash came before the end');

      // The server is now fast: the rest comes at once.
      web.resources.set('/big.bin', { bytes: data, etag: '"v1"' });
      srv = await spawnServer(dataDir, ENV);
      const again = await new Client(srv.url).login('alice', 'alice-Passw0rd');
      const done = await waitDone(again, started.taskId);
      assert.equal(done.size, data.length);
      await assertFile(again, '/dl/big.bin', data);
      const servedAfter = web.bytesServed - servedBeforeCrash;
      // What was on disk and recorded is not fetched again; what was in flight may be.
      assert.ok(servedAfter < data.length, `after the restart ${servedAfter} bytes were fetched, less than the whole ${data.length}`);
      assert.ok(
        web.requests.some((r) => r.ifRange === '"v1"'),
        'the resume asked with If-Range',
      );
    } finally {
      await srv?.stop().catch(() => undefined);
      await web.close();
      removeDataDir(dataDir);
    }
  });
});
