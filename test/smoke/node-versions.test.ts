// The smoke subset that CI also runs on the other supported Node major (.ci/node24-smoke.sh):
// the native module loads, the server starts (in process and as `src/main.ts` in a child
// process), a user registers, logs in, uploads and downloads byte-exact, and one torrent task
// runs to done against a loopback swarm. In `npm test` it runs on the machine's Node like any
// other test. Set OPENPAN_SMOKE_NODE_MAJOR to have it check the Node it runs on is that major.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { removeDataDir, spawnServer, tempDataDir } from '../support/process-server.js';
import { Client, startServer } from '../support/server.js';
import { assertFile, KiB, MiB, offlineDirs, startSwarm, uploadTorrent, waitDone, waitFor } from '../support/offline-e2e.js';
import { blockUpload, bytes, etagOf, fileOf, formUpload, ticket } from '../support/upload.js';

const require = createRequire(import.meta.url);

test(`Node ${process.version} (modules ABI ${process.versions.modules}) loads better-sqlite3`, () => {
  const wanted = process.env.OPENPAN_SMOKE_NODE_MAJOR;
  if (wanted) assert.equal(process.versions.node.split('.')[0], wanted, `expected Node ${wanted}, running ${process.version}`);
  // A build for another Node's ABI fails here with ERR_DLOPEN_FAILED / NODE_MODULE_VERSION.
  const Database = require('better-sqlite3') as typeof import('better-sqlite3');
  const db = new Database(':memory:');
  try {
    const row = db.prepare('select sqlite_version() as v').get() as { v: string };
    assert.match(row.v, /^3\.\d+\.\d+$/);
  } finally {
    db.close();
  }
});

test('in process: register, log in, upload (form and blocks), download byte-exact', async () => {
  const server = await startServer();
  try {
    const alice = await server.newUser('alice');
    const info = await alice.call('/v1/user/info');
    assert.equal(info.name, 'alice');

    const small = bytes(100 * KiB + 7, 1);
    const t1 = await ticket(alice, { name: 'small.bin', hash: etagOf(small), path: '/smoke' });
    assert.equal(fileOf(await formUpload(t1.uploadUrl, t1.token, small)).path, '/smoke/small.bin');
    await assertFile(alice, '/smoke/small.bin', small);

    // More than one 4 MiB block, sent in 1 MiB chunks: mkblk, bput, mkfile.
    const big = bytes(5 * MiB + 13, 2);
    const t2 = await ticket(alice, { name: 'big.bin', hash: etagOf(big), path: '/smoke' });
    assert.equal(fileOf(await blockUpload(t2.uploadUrl, t2.token, big)).size, big.length);
    await assertFile(alice, '/smoke/big.bin', big);
  } finally {
    await server.close();
  }
});

test('in process: a torrent task runs to done against a loopback swarm', async () => {
  const a = bytes(200 * KiB + 3, 3);
  const b = bytes(90 * KiB + 1, 4);
  const swarm = await startSwarm(
    [
      { path: 'one/a.bin', bytes: a },
      { path: 'b.txt', bytes: b },
    ],
    { name: 'Smoke Set' },
  );
  const server = await startServer();
  try {
    const alice = await server.newUser('alice');
    const tf = await uploadTorrent(alice, 'smoke.torrent', swarm.built.torrent);
    const parsed = await alice.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
    assert.equal(parsed.infoHash, swarm.built.infoHash);
    const started = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/dl' });
    const done = await waitDone(alice, started.taskId);
    assert.equal(done.finishedSize, a.length + b.length);
    await assertFile(alice, '/dl/Smoke Set/one/a.bin', a);
    await assertFile(alice, '/dl/Smoke Set/b.txt', b);
    await waitFor('the working directory to go', async () => offlineDirs(server.dataDir).length === 0);
  } finally {
    await server.close();
    await swarm.close();
  }
});

test('as a process: src/main.ts starts, serves a login and an upload, stops on SIGTERM', async () => {
  const dataDir = tempDataDir();
  const server = await spawnServer(dataDir);
  try {
    const admin = await new Client(server.url).login('admin', 'secret');
    const data = bytes(10 * KiB, 5);
    const t = await ticket(admin, { name: 'p.bin', hash: etagOf(data), path: '/' });
    fileOf(await formUpload(t.uploadUrl, t.token, data));
    await assertFile(admin, '/p.bin', data);
  } finally {
    await server.stop();
    removeDataDir(dataDir);
  }
  assert.equal(server.proc.exitCode, 0, `exit on SIGTERM\n${server.output()}`);
});
