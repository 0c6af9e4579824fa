// A download must not sit at 0 % for ever when a peer could serve it. Two ways it did, each of
// which left one shared job of the load test (test/reliability/load.test.ts) unfinished:
//
// * A stalled wire. WebTorrent 1.9.7 only asks a wire for pieces when that wire reports
//   something ('unchoke', 'have', 'bitfield', a received block...), and it starts listening to a
//   new wire one microtask after the wire's handshake. A seeder whose handshake, have-all (or
//   bitfield) and unchoke reach us in one read (a loaded machine, a seeder that unchokes at once)
//   has said everything before anyone listens: the wire is unchoked, we are interested, nothing
//   is ever requested and, a peer being connected, the job never times out either.
// * A missed announce. bittorrent-tracker announces once at the start, then at the tracker's
//   interval — 30 minutes until a tracker has answered once. A first announce that fails (a busy
//   tracker, a reset) leaves the job without a peer for half an hour.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebTorrentEngine, type EngineStatus } from '../../src/engines/index.js';
import { encodeBencode } from '../../src/torrent/index.js';
import { makeTorrent } from '../support/swarm.js';

const require = createRequire(import.meta.url);

interface Wire extends NodeJS.ReadWriteStream {
  on(event: 'handshake', listener: (infoHash: string, peerId: string, extensions: { fast?: boolean }) => void): this;
  on(event: 'request', listener: (index: number, offset: number, length: number, respond: (err: Error | null, buf?: Buffer) => void) => void): this;
  on(event: string, listener: (...args: unknown[]) => void): this;
  handshake(infoHash: string, peerId: string, extensions: { dht: boolean; fast: boolean }): void;
  haveAll(): void;
  bitfield(bits: Buffer): void;
  unchoke(): void;
  destroy(): void;
}
const Wire = require('bittorrent-protocol') as new () => Wire;

/**
 * A seeder that answers a handshake with its handshake and what it has in the same tick — so
 * they arrive in one read — and unchokes either at once, in that same tick (`eager`), or when the
 * peer says it is interested; then it serves every request. It never sends anything else
 * unprompted (no later unchoke, no `have`), as a seeder with nothing new to say does not.
 */
async function fakeSeeder(
  payload: Buffer,
  pieceLength: number,
  opts: { fast: boolean; eager: boolean },
): Promise<{ port: number; requests: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { requests: 0 };
  const pieces = Math.ceil(payload.length / pieceLength);
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const wire = new Wire();
    wire.on('error', () => {});
    socket.pipe(wire).pipe(socket);
    wire.on('handshake', (infoHash) => {
      wire.handshake(infoHash, randomBytes(20).toString('hex'), { dht: false, fast: opts.fast });
      if (opts.fast) {
        wire.haveAll();
      } else {
        const bits = Buffer.alloc(Math.ceil(pieces / 8));
        for (let i = 0; i < pieces; i++) bits[i >> 3] |= 0x80 >> (i & 7);
        wire.bitfield(bits);
      }
      if (opts.eager) wire.unchoke();
      else wire.once('interested', () => wire.unchoke());
    });
    wire.on('request', (index, offset, length, respond) => {
      state.requests++;
      const at = index * pieceLength + offset;
      respond(null, payload.subarray(at, at + length));
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  return {
    port: (server.address() as AddressInfo).port,
    get requests() {
      return state.requests;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}

/** An HTTP tracker that names one peer, whoever asks; the first `resets` announces get their connection reset instead. */
async function oneNameTracker(peerPort: number, resets = 0): Promise<{ url: string; announces: number; close(): Promise<void> }> {
  const peer = Buffer.from([127, 0, 0, 1, peerPort >> 8, peerPort & 0xff]);
  let announces = 0;
  const server = createHttpServer((req, res) => {
    if (++announces <= resets) return req.socket.destroy();
    res.end(encodeBencode({ interval: 60, complete: 1, incomplete: 0, peers: peer }));
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`,
    get announces() {
      return announces;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}

for (const fast of [true, false]) {
  const what = fast ? 'have-all' : 'full bitfield';
  test(`a seeder whose handshake, ${what} and unchoke arrive in one read: the job downloads (it does not sit at 0 % with one idle peer)`, {
    timeout: 60_000,
  }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'openpan-bt-stall-'));
    const pieceLength = 16 * 1024;
    const payload = randomBytes(5 * pieceLength + 123);
    const seeder = await fakeSeeder(payload, pieceLength, { fast, eager: true });
    const tracker = await oneNameTracker(seeder.port);
    // A long stall timeout: with a peer connected it would never fire anyway.
    const engine = new WebTorrentEngine({ dht: false, pex: false, noPeersTimeoutMs: 60_000 });
    try {
      const built = makeTorrent([{ path: 'eager.bin', bytes: payload }], { announce: [tracker.url], pieceLength });
      const handle = engine.start({ id: `eager-${fast ? 'fast' : 'bitfield'}`, dir: join(root, 'job'), source: { kind: 'torrent', torrent: built.torrent } });
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<'stalled'>((res) => (timer = setTimeout(() => res('stalled'), 15_000)));
      const final = await Promise.race([handle.settled, stalled]);
      clearTimeout(timer);
      const now: EngineStatus = handle.status();
      assert.notEqual(
        final,
        'stalled',
        `still ${now.state} after 15 s with ${now.peers} peer(s), ${now.downloaded} bytes, ${seeder.requests} requests sent to the seeder`,
      );
      const done = final as EngineStatus;
      assert.equal(done.state, 'done', done.error?.message);
      assert.ok((await readFile(done.files[0].path)).equals(payload), "the file has the seeder's bytes");
    } finally {
      await engine.close();
      await tracker.close();
      await seeder.close();
      await rm(root, { recursive: true, force: true });
    }
  });
}

test('a first announce that fails: the job asks the tracker again (not in 30 minutes) and downloads', { timeout: 60_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-bt-stall-'));
  const pieceLength = 16 * 1024;
  const payload = randomBytes(3 * pieceLength + 5);
  const seeder = await fakeSeeder(payload, pieceLength, { fast: true, eager: false });
  const tracker = await oneNameTracker(seeder.port, 1);
  const engine = new WebTorrentEngine({ dht: false, pex: false, noPeersTimeoutMs: 60_000 });
  try {
    const built = makeTorrent([{ path: 'late.bin', bytes: payload }], { announce: [tracker.url], pieceLength });
    const handle = engine.start({ id: 'announce-again', dir: join(root, 'job'), source: { kind: 'torrent', torrent: built.torrent } });
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<'stalled'>((res) => (timer = setTimeout(() => res('stalled'), 20_000)));
    const final = await Promise.race([handle.settled, stalled]);
    clearTimeout(timer);
    const now: EngineStatus = handle.status();
    assert.notEqual(
      final,
      'stalled',
      `still ${now.state} after 20 s with ${now.peers} peer(s), ${now.downloaded} bytes; the tracker was asked ${tracker.announces} time(s)`,
    );
    const done = final as EngineStatus;
    assert.equal(done.state, 'done', done.error?.message);
    assert.ok(tracker.announces >= 2, 'asked again after the failed announce');
    assert.ok((await readFile(done.files[0].path)).equals(payload));
  } finally {
    await engine.close();
    await tracker.close();
    await seeder.close();
    await rm(root, { recursive: true, force: true });
  }
});
