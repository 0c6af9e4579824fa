// How the WebTorrent engine fails: each failure is a final state with a stable code, whether
// to retry, and no exception thrown at the caller.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebTorrentEngine, type EngineErrorCode, type EngineHandle, type EngineStatus } from '../../src/engines/index.js';
import { encodeBencode } from '../../src/torrent/index.js';
import { makeTorrent, startTracker, startWebSeed, startWebTorrentSeeder } from '../support/swarm.js';

const TIMEOUT = 60_000;
const MiB = 1024 * 1024;

async function failsWith(handle: EngineHandle, code: EngineErrorCode): Promise<EngineStatus> {
  const final = await handle.settled;
  assert.equal(final.state, 'failed');
  assert.equal(final.error?.code, code, final.error?.message);
  return final;
}

test('a tracker that knows no peer: NO_PEERS_TIMEOUT after the configured time, retryable', { timeout: TIMEOUT }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-bt-'));
  const tracker = await startTracker();
  const engine = new WebTorrentEngine({ dht: false, pex: false, noPeersTimeoutMs: 1500 });
  try {
    const built = makeTorrent([{ path: 'lonely.bin', bytes: randomBytes(256 * 1024) }], { announce: [tracker.httpUrl, tracker.udpUrl] });
    const handle = engine.start({ id: 'lonely', dir: join(root, 'job'), source: { kind: 'torrent', torrent: built.torrent } });
    const final = await failsWith(handle, 'NO_PEERS_TIMEOUT');
    assert.equal(final.error?.retryable, true);
    assert.equal(final.downloaded, 0);
    assert.equal(final.peers, 0);
    assert.ok(tracker.counts(built.infoHash).leechers >= 1, 'it did ask the tracker');

    const magnet = engine.start({
      id: 'lonely-magnet',
      dir: join(root, 'job-2'),
      source: { kind: 'magnet', uri: `magnet:?xt=urn:btih:${'ab'.repeat(20)}&tr=${encodeURIComponent(tracker.httpUrl)}` },
    });
    const states: string[] = [];
    magnet.on('state', (s) => states.push(s));
    await failsWith(magnet, 'NO_PEERS_TIMEOUT');
    assert.deepEqual(states, ['metadata', 'failed'], 'a magnet link with no peer fails while fetching metadata');

    // A web seed that answers 404 is a connected "peer" that never sends a byte.
    const web = await startWebSeed(join(root, 'empty-www'));
    try {
      const dead = makeTorrent([{ path: 'gone.bin', bytes: randomBytes(100_000) }], { announce: [], urlList: [`${web.baseUrl}gone.bin`] });
      const handle2 = engine.start({ id: 'dead-web-seed', dir: join(root, 'job-3'), source: { kind: 'torrent', torrent: dead.torrent } });
      await failsWith(handle2, 'NO_PEERS_TIMEOUT');
      assert.ok(web.requests > 0, 'the web seed was tried');
    } finally {
      await web.close();
    }
  } finally {
    await engine.close();
    await tracker.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('sources the engine cannot use fail at once, without touching the disk or the network', { timeout: TIMEOUT }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-bt-'));
  const engine = new WebTorrentEngine({ dht: false, pex: false });
  try {
    const built = makeTorrent([{ path: 'one.bin', bytes: randomBytes(1000) }], { announce: ['http://127.0.0.1:9/announce'] });
    const v2Only = encodeBencode({
      info: { 'file tree': { 'a.txt': { '': { length: 5, 'pieces root': Buffer.alloc(32, 1) } } }, 'meta version': 2, name: 'v2', 'piece length': 16384 },
    });
    const cases: Array<[string, Parameters<WebTorrentEngine['start']>[0]['source'], EngineErrorCode, number[]?]> = [
      ['not bencode', { kind: 'torrent', torrent: Buffer.from('hello') }, 'SOURCE_INVALID'],
      ['not a magnet link', { kind: 'magnet', uri: 'http://example.invalid/x.torrent' }, 'SOURCE_INVALID'],
      ['a pure v2 torrent', { kind: 'torrent', torrent: v2Only }, 'PROTOCOL_UNSUPPORTED'],
      ['a v2-only magnet link', { kind: 'magnet', uri: `magnet:?xt=urn:btmh:1220${'cd'.repeat(32)}` }, 'PROTOCOL_UNSUPPORTED'],
      ['a file index the torrent lacks', { kind: 'torrent', torrent: built.torrent }, 'SELECTION_INVALID', [0, 3]],
    ];
    for (const [what, source, code, selectedFiles] of cases) {
      const dir = join(root, what.replaceAll(' ', '-'));
      const handle = engine.start({ id: what, dir, source, selectedFiles });
      const final = await failsWith(handle, code);
      assert.equal(final.error?.retryable, false, what);
      assert.equal(engine.port, null, `${what}: no listening socket was opened`);
    }
  } finally {
    await engine.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('the same torrent twice: the second live job fails with DUPLICATE_JOB; once the first ends it may start again', { timeout: TIMEOUT }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-bt-'));
  const engine = new WebTorrentEngine({ dht: false, pex: false, noPeersTimeoutMs: 60_000 });
  try {
    const built = makeTorrent([{ path: 'twice.bin', bytes: randomBytes(1000) }], { announce: [] });
    const first = engine.start({ id: 'a', dir: join(root, 'a'), source: { kind: 'torrent', torrent: built.torrent } });
    await failsWith(engine.start({ id: 'b', dir: join(root, 'b'), source: { kind: 'torrent', torrent: built.torrent } }), 'DUPLICATE_JOB');
    await first.stop({ deleteData: true });
    const again = engine.start({ id: 'c', dir: join(root, 'c'), source: { kind: 'torrent', torrent: built.torrent } });
    assert.notEqual(again.status().state, 'failed');
  } finally {
    await engine.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('the listening port is taken: the job fails with ENGINE_ERROR instead of crashing the process', { timeout: TIMEOUT }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-bt-'));
  const blocker = createServer();
  await new Promise<void>((res) => blocker.listen(0, res));
  const engine = new WebTorrentEngine({ dht: false, pex: false, torrentPort: (blocker.address() as AddressInfo).port });
  try {
    const built = makeTorrent([{ path: 'x.bin', bytes: randomBytes(1000) }], { announce: [] });
    const handle = engine.start({ id: 'port', dir: join(root, 'job'), source: { kind: 'torrent', torrent: built.torrent } });
    const final = await failsWith(handle, 'ENGINE_ERROR');
    assert.equal(final.error?.retryable, true);
    assert.match(final.error!.message, /EADDRINUSE/);
  } finally {
    await engine.close();
    await new Promise<void>((res) => blocker.close(() => res()));
    await rm(root, { recursive: true, force: true });
  }
});

test('the download disk fills up: DISK_FULL, retryable', { timeout: TIMEOUT }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-bt-'));
  const small = join(root, 'small');
  await mkdir(small);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small], { stdio: 'ignore' });
  } catch {
    await rm(root, { recursive: true, force: true });
    t.skip('mounting a 1 MiB tmpfs needs root');
    return;
  }
  const tracker = await startTracker();
  const engine = new WebTorrentEngine({ dht: false, pex: false });
  try {
    const built = makeTorrent([{ path: 'huge.bin', bytes: randomBytes(3 * MiB) }], { announce: [tracker.httpUrl], pieceLength: 64 * 1024 });
    const seeder = await startWebTorrentSeeder(built, join(root, 'seed'), tracker);
    try {
      const handle = engine.start({ id: 'full', dir: join(small, 'job'), source: { kind: 'torrent', torrent: built.torrent } });
      const final = await failsWith(handle, 'DISK_FULL');
      assert.equal(final.error?.retryable, true);
      assert.ok(final.downloaded <= 1 * MiB, `${final.downloaded} verified bytes cannot exceed the 1 MiB disk`);
    } finally {
      await seeder.close();
    }
  } finally {
    await engine.close();
    await tracker.close();
    execFileSync('umount', [small]);
    await rm(root, { recursive: true, force: true });
  }
});
