// What the engine opens on the network: with DHT off, one TCP listening socket and the
// connections its jobs need — no UDP socket at all (no LSD multicast, no DHT, no uTP), no
// listening socket before the first job runs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSetting } from '../../src/config/index.js';
import { WebTorrentEngine } from '../../src/engines/index.js';
import { makeTorrent, startWebSeed, writePayload } from '../support/swarm.js';
import { waitFor } from '../support/engine-conformance.js';

const count = (type: string): number => process.getActiveResourcesInfo().filter((r) => r === type).length;

test('with dht: false the engine opens no UDP socket, and listens only while it has jobs', { timeout: 60_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-net-'));
  // A web seed is the only source: no tracker, so no UDP socket of the test's own either.
  const web = await startWebSeed(join(root, 'www'));
  const bytes = randomBytes(2 * 1024 * 1024);
  const built = makeTorrent([{ path: 'net.bin', bytes }], { announce: [], urlList: [`${web.baseUrl}net.bin`], pieceLength: 32 * 1024 });
  await writePayload(join(root, 'www'), built);
  const servers = count('TCPServerWrap');
  const engine = new WebTorrentEngine({ dht: false, pex: true, downloadLimit: 1024 * 1024 });
  try {
    assert.equal(engine.port, null, 'nothing listens before a job runs');
    assert.equal(count('TCPServerWrap'), servers);
    const handle = engine.start({ id: 'net', dir: join(root, 'job'), source: { kind: 'torrent', torrent: built.torrent } });
    await waitFor(handle, (s) => s.downloaded > 0, 'downloading');
    assert.equal(count('UDPWrap'), 0, 'no UDP socket: no DHT, no local peer discovery, no uTP');
    assert.equal(count('TCPServerWrap'), servers + 1, 'one listening socket for incoming peers');
    assert.ok(engine.port !== null && engine.port > 0);
    assert.equal((await handle.settled).state, 'done');
    await engine.close();
    // net.Server emits 'close' before libuv has released the handle: give it one loop turn.
    await sleep(50);
    assert.equal(count('TCPServerWrap'), servers, 'close() releases the listening socket');
  } finally {
    await engine.close();
    await web.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('OPENPAN_BT_DHT=0 switches the DHT off; unset or 1 leaves it on', () => {
  const dht = (value?: string) => readSetting({ OPENPAN_BT_DHT: value }, 'OPENPAN_BT_DHT');
  assert.equal(dht('0'), false);
  assert.equal(dht('false'), false);
  assert.equal(dht(), true);
  assert.equal(dht('1'), true);
});
