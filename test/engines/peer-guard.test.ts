// BitTorrent peers are judged by the address policy of URL downloads before any connection:
// whether a peer address comes from a magnet link's `x.pe`, a tracker's peer list or a peer's
// PEX message, the engine never connects to one the policy refuses. It drops it, counts it in
// `refusedPeers`, and goes on with the others. A torrent whose every tracker is refused says so.
//
// The refused "internal service" is a TCP listener on 127.0.0.3 while the policy allows only
// 127.0.0.1/32: loopback, so the test talks to nothing else, yet refused as 10.x would be in
// production. Each engine test also offers an allowed listener on 127.0.0.1 in the same breath
// and waits until the engine connects to it, so "no connection" is never a slow engine.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { createSocket } from 'node:dgram';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { allowedPeers, MAX_COUNTED_REFUSALS, peerAllowed, policedDhtSocket, policyBlocklist, RefusedPeers } from '../../src/engines/bittorrent/peer-guard.js';
import { trackersRefused } from '../../src/engines/bittorrent/tracker-guard.js';
import { WebTorrentEngine, type EngineHandle } from '../../src/engines/index.js';
import { AddressPolicy, parseCidrList } from '../../src/net/index.js';
import { makeTorrent, outsideClientOptions, startTracker, type Tracker } from '../support/swarm.js';

const onlyOne = new AddressPolicy(parseCidrList('127.0.0.1/32'));
const publicOnly = new AddressPolicy([]);
const TIMEOUT = 60_000;
/** How long a refused address is given to be connected to, after the allowed one was. */
const GRACE_MS = 1500;

// ---- the peer check itself (pure; the only place non-loopback addresses appear) ----

test('a peer address passes only when its host is an IP literal the address policy allows', () => {
  for (const peer of ['93.184.216.34:6881', '[2606:4700::1111]:51413', '[::ffff:93.184.216.34]:6881']) {
    assert.equal(peerAllowed(peer, publicOnly), true, peer);
  }
  const refused = [
    '127.0.0.1:6379', // loopback Redis: the review's example
    '10.1.2.3:11211',
    '192.168.1.1:80',
    '172.16.0.1:25',
    '100.64.0.1:80',
    '169.254.169.254:80', // cloud metadata
    '0.0.0.0:22',
    '224.0.0.1:1',
    '255.255.255.255:1',
    '[::1]:6379',
    '[fe80::1]:80',
    '[fd00::1]:80',
    '[::ffff:127.0.0.1]:6379', // IPv4-mapped loopback
    '[::ffff:10.0.0.1]:80',
    '[64:ff9b::a00:1]:80', // NAT64 of 10.0.0.1
    '[2002:7f00:1::]:80', // 6to4 of 127.0.0.1
    'localhost:6379', // a host name: WebTorrent would resolve it after any check
    'metadata.google.internal:80',
    'not an address',
    ':6881',
  ];
  for (const peer of refused) assert.equal(peerAllowed(peer, publicOnly), false, peer);

  const widened = new AddressPolicy(parseCidrList('10.0.0.0/8,fd00::/8'));
  assert.equal(peerAllowed('10.1.2.3:6881', widened), true, 'OPENPAN_FETCH_ALLOW widens it for peers too');
  assert.equal(peerAllowed('[fd00::1]:6881', widened), true);
  assert.equal(peerAllowed('[::ffff:10.1.2.3]:6881', widened), true, 'an allowed IPv4 network covers its mapped form');
  assert.equal(peerAllowed('192.168.1.1:6881', widened), false, 'and only what it names');

  assert.deepEqual(allowedPeers(['93.184.216.34:1', '10.0.0.1:2', '93.184.216.35:3', 'localhost:4'], publicOnly), {
    allowed: ['93.184.216.34:1', '93.184.216.35:3'],
    refused: ['10.0.0.1:2', 'localhost:4'],
  });
});

test('the blocklist WebTorrent consults contains every host the policy refuses, and nothing it allows', () => {
  const blocked = policyBlocklist(new AddressPolicy(parseCidrList('127.0.0.1/32')));
  // WebTorrent passes the host it split off the address: bare IPv4, bare IPv6, or a name.
  assert.equal(blocked.contains('127.0.0.1'), false);
  assert.equal(blocked.contains('93.184.216.34'), false);
  assert.equal(blocked.contains('127.0.0.3'), true);
  assert.equal(blocked.contains('::1'), true);
  assert.equal(blocked.contains('::ffff:127.0.0.1'), false, 'the mapped form of an allowed address');
  assert.equal(blocked.contains('::ffff:169.254.169.254'), true);
  assert.equal(blocked.contains('localhost'), true);
  assert.equal(blocked.contains(''), true);
});

test('the DHT socket sends a datagram only where the policy allows, a host name judged by the address it resolves to', async () => {
  const policy = new AddressPolicy(parseCidrList('127.0.0.1/32'));
  const receivers = await Promise.all(
    ['127.0.0.1', '127.0.0.2'].map(
      (host) =>
        new Promise<{ host: string; port: number; got: string[]; close(): void }>((res) => {
          const socket = createSocket('udp4');
          const got: string[] = [];
          socket.on('message', (msg) => got.push(msg.toString()));
          socket.bind(0, host, () => res({ host, port: socket.address().port, got, close: () => socket.close() }));
        }),
    ),
  );
  const names: Record<string, string> = { 'allowed.node': '127.0.0.1', 'refused.node': '127.0.0.2' };
  const dht = policedDhtSocket(policy, async (host) => names[host]);
  const [allowed, refused] = receivers;
  const send = (text: string, port: number, host: string) =>
    new Promise<Error | null>((res) => dht.send(Buffer.from(text), 0, text.length, port, host, (err: Error | null) => res(err)));
  try {
    assert.equal(await send('to an allowed IP', allowed.port, allowed.host), null);
    assert.match(String(await send('to a refused IP', refused.port, refused.host)), /address policy refuses/);
    assert.equal(await send('to an allowed name', allowed.port, 'allowed.node'), null);
    assert.match(String(await send('to a refused name', refused.port, 'refused.node')), /address policy refuses/);
    await waitUntil(() => allowed.got.length === 2);
    await sleep(200);
    assert.deepEqual(allowed.got.sort(), ['to an allowed IP', 'to an allowed name']);
    assert.deepEqual(refused.got, [], 'nothing reached the refused address');
  } finally {
    dht.close();
    for (const r of receivers) r.close();
  }
});

async function waitUntil(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !pred(); i++) await sleep(20);
}

test('refused peers are counted once per address, and the count is bounded', () => {
  const refused = new RefusedPeers();
  refused.add('10.0.0.1:1');
  refused.add('10.0.0.1:1');
  refused.add('10.0.0.1:2');
  assert.equal(refused.count, 2);
  for (let i = 0; i < MAX_COUNTED_REFUSALS * 2; i++) refused.add(`10.0.${i >> 8}.${i & 255}:6881`);
  assert.equal(refused.count, MAX_COUNTED_REFUSALS, 'a tracker answering thousands of addresses cannot grow it without end');
});

test('when the policy refuses every tracker, the job says so and what peers can still come from', () => {
  assert.equal(trackersRefused({ trackers: 0, allowedTrackers: 0, webSeeds: 0, peers: 0, dht: false }), null, 'no tracker named: nothing was refused');
  assert.equal(trackersRefused({ trackers: 3, allowedTrackers: 1, webSeeds: 0, peers: 0, dht: false }), null, 'one tracker left is enough');

  const viaDht = trackersRefused({ trackers: 2, allowedTrackers: 0, webSeeds: 0, peers: 0, dht: true });
  assert.equal(viaDht?.isolated, false);
  assert.match(
    viaDht?.notice ?? '',
    /^All 2 trackers of this torrent are refused by the address policy .*OPENPAN_FETCH_ALLOW.* Peers can come only from the DHT\.$/,
  );

  const one = trackersRefused({ trackers: 1, allowedTrackers: 0, webSeeds: 1, peers: 2, dht: false });
  assert.equal(one?.isolated, false);
  assert.match(
    one?.notice ?? '',
    /^The only tracker of this torrent is refused .* Peers can come only from its web seeds and the peers the magnet link names\.$/,
  );

  const none = trackersRefused({ trackers: 2, allowedTrackers: 0, webSeeds: 0, peers: 0, dht: false });
  assert.equal(none?.isolated, true, 'nothing is left that could find a peer');
  assert.match(none?.notice ?? '', /Nothing else can find a peer/);
});

// ---- the engine: no connection to a refused peer, whichever way it was learnt ----

interface Listener {
  host: string;
  port: number;
  addr: string;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/** A TCP listener standing for a service on `host`: it counts connections and holds them open. */
async function listen(host: string): Promise<Listener> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    l.connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((res) => server.listen(0, host, res));
  const port = (server.address() as AddressInfo).port;
  const l: Listener = {
    host,
    port,
    addr: `${host}:${port}`,
    connections: 0,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
  return l;
}

/** Waits until the engine connected to the allowed listener, then gives it time to connect to the refused one too. */
async function connectsOnlyTo(allowed: Listener, refused: Listener, handle: EngineHandle, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (allowed.connections === 0) {
    const s = handle.status();
    if (s.state === 'failed') assert.fail(`the job failed: ${s.error?.code}: ${s.error?.message}`);
    if (Date.now() > until) assert.fail(`the engine never connected to the allowed peer ${allowed.addr}`);
    await sleep(25);
  }
  await sleep(GRACE_MS);
  assert.equal(refused.connections, 0, `no connection to the refused peer ${refused.addr}`);
  assert.ok(allowed.connections >= 1);
}

/** A fake peer, announced to `tracker` from its own address (the tracker records the address a request comes from). */
async function announceFromAddress(tracker: Tracker, infoHash: string, peer: Listener): Promise<void> {
  const binary = (buf: Buffer): string => [...buf].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  const query = `info_hash=${binary(Buffer.from(infoHash, 'hex'))}&peer_id=${binary(randomBytes(20))}&port=${peer.port}&uploaded=0&downloaded=0&left=0&compact=1&event=started`;
  await new Promise<void>((res, rej) => {
    const req = get(`${tracker.httpUrl}?${query}`, { localAddress: peer.host }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? res() : rej(new Error(`tracker answered ${response.statusCode}`))));
    });
    req.on('error', rej);
  });
}

test("a magnet link's x.pe peer at a refused address is never connected to; the allowed one is", { timeout: TIMEOUT }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-peers-'));
  const internal = await listen('127.0.0.3');
  const peer = await listen('127.0.0.1');
  const engine = new WebTorrentEngine({ dht: false, pex: false, addressPolicy: onlyOne });
  try {
    const uri = `magnet:?xt=urn:btih:${randomBytes(20).toString('hex')}&x.pe=${internal.addr}&x.pe=${peer.addr}`;
    const handle = engine.start({ id: 'xpe', dir: join(root, 'job'), source: { kind: 'magnet', uri } });
    await connectsOnlyTo(peer, internal, handle);
    const status = handle.status();
    assert.equal(status.refusedPeers, 1, 'the refused peer is counted');
    assert.equal(status.state, 'metadata', 'the job goes on with the peers it may reach');
    assert.equal(status.notice, undefined, 'no tracker was named, so none was refused');
  } finally {
    await engine.close();
    await Promise.all([internal.close(), peer.close()]);
    await rm(root, { recursive: true, force: true });
  }
});

test("a tracker's peer list: the refused address is dropped, the allowed one connected to", { timeout: TIMEOUT }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-peers-'));
  const tracker = await startTracker();
  const internal = await listen('127.0.0.3');
  const peer = await listen('127.0.0.1');
  const engine = new WebTorrentEngine({ dht: false, pex: false, addressPolicy: onlyOne });
  try {
    const built = makeTorrent([{ path: 'listed.bin', bytes: randomBytes(100 * 1024) }], { announce: [tracker.httpUrl] });
    // The tracker now lists both "seeders" for the info hash: 127.0.0.3:X and 127.0.0.1:Y.
    await announceFromAddress(tracker, built.infoHash, internal);
    await announceFromAddress(tracker, built.infoHash, peer);
    assert.equal(tracker.counts(built.infoHash).seeders, 2);
    const handle = engine.start({ id: 'listed', dir: join(root, 'job'), source: { kind: 'torrent', torrent: built.torrent } });
    await connectsOnlyTo(peer, internal, handle);
    assert.equal(handle.status().refusedPeers, 1, 'the refused address is counted once, however often the tracker repeats it');
  } finally {
    await engine.close();
    await tracker.close();
    await Promise.all([internal.close(), peer.close()]);
    await rm(root, { recursive: true, force: true });
  }
});

// The tests' own WebTorrent (1.9.7, the same ut_pex) plays a peer that gossips addresses.
interface PexWire {
  peerExtendedMapping: Record<string, number | undefined>;
  ut_pex: { addPeer(addr: string): void; _sendMessage(): void };
}
interface OutsideTorrent {
  on(event: 'wire', listener: (wire: PexWire) => void): void;
  on(event: 'error' | 'warning', listener: (err: Error) => void): void;
  once(event: 'ready', listener: () => void): void;
}
interface OutsideClient {
  add(torrent: Buffer, opts: { path: string }): OutsideTorrent;
  on(event: 'error', listener: (err: Error) => void): void;
  destroy(cb: () => void): void;
}
const OutsideWebTorrent = createRequire(import.meta.url)('webtorrent') as new (opts: object) => OutsideClient;

test('a PEX message from a connected peer: the refused address is dropped, the allowed one connected to', { timeout: TIMEOUT }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-peers-'));
  const tracker = await startTracker();
  const internal = await listen('127.0.0.3');
  const peer = await listen('127.0.0.1');
  const gossip = new OutsideWebTorrent(outsideClientOptions());
  gossip.on('error', () => {});
  const engine = new WebTorrentEngine({ dht: false, pex: true, addressPolicy: onlyOne });
  try {
    const built = makeTorrent([{ path: 'gossip.bin', bytes: randomBytes(100 * 1024) }], { announce: [tracker.httpUrl] });
    // The gossiping peer has no data either: neither side finishes, so the engine keeps listening to PEX.
    const torrent = gossip.add(built.torrent, { path: join(root, 'gossip') });
    torrent.on('error', () => {});
    torrent.on('warning', () => {});
    const wires: PexWire[] = [];
    torrent.on('wire', (wire) => wires.push(wire));
    await new Promise<void>((res) => torrent.once('ready', res));

    const handle = engine.start({ id: 'gossip', dir: join(root, 'job'), source: { kind: 'torrent', torrent: built.torrent } });
    // Once the engine and the gossip have exchanged extended handshakes, the gossip sends one PEX message.
    const until = Date.now() + 20_000;
    const pexWire = () => wires.find((w) => w.peerExtendedMapping.ut_pex !== undefined);
    let wire: PexWire | undefined = pexWire();
    while (wire === undefined) {
      if (Date.now() > until) assert.fail(`the engine and the gossiping peer never agreed on ut_pex (${wires.length} wires)`);
      await sleep(25);
      wire = pexWire();
    }
    wire.ut_pex.addPeer(internal.addr);
    wire.ut_pex.addPeer(peer.addr);
    wire.ut_pex._sendMessage();
    await connectsOnlyTo(peer, internal, handle);
    assert.equal(handle.status().refusedPeers, 1);
  } finally {
    await engine.close();
    await new Promise<void>((res) => gossip.destroy(res));
    await tracker.close();
    await Promise.all([internal.close(), peer.close()]);
    await rm(root, { recursive: true, force: true });
  }
});

// ---- every tracker refused ----

test('a torrent whose every tracker is refused, and nothing else to ask, fails at once with URL_FORBIDDEN', { timeout: TIMEOUT }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-peers-'));
  const refused = await startTracker({ host: '127.0.0.2' });
  const engine = new WebTorrentEngine({ dht: false, pex: false, addressPolicy: onlyOne });
  try {
    const built = makeTorrent([{ path: 'alone.bin', bytes: randomBytes(50 * 1024) }], { announce: [refused.httpUrl, refused.udpUrl] });
    const started = Date.now();
    const handle = engine.start({ id: 'alone', dir: join(root, 'job'), source: { kind: 'torrent', torrent: built.torrent } });
    const final = await handle.settled;
    assert.equal(final.state, 'failed');
    assert.equal(final.error?.code, 'URL_FORBIDDEN');
    assert.equal(final.error?.retryable, false);
    assert.match(final.error?.message ?? '', /^All 2 trackers of this torrent are refused by the address policy.*Nothing else can find a peer/);
    assert.ok(Date.now() - started < 10_000, 'it does not wait for NO_PEERS_TIMEOUT (30 minutes)');
    assert.equal(refused.announcers(built.infoHash), 0, 'the refused tracker was never asked');
  } finally {
    await engine.close();
    await refused.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('a magnet whose every tracker is refused but that names an allowed peer runs, and its status says why it may find few', { timeout: TIMEOUT }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-peers-'));
  const refused = await startTracker({ host: '127.0.0.2' });
  const peer = await listen('127.0.0.1');
  const engine = new WebTorrentEngine({ dht: false, pex: false, addressPolicy: onlyOne });
  try {
    const uri = `magnet:?xt=urn:btih:${randomBytes(20).toString('hex')}&tr=${encodeURIComponent(refused.httpUrl)}&x.pe=${peer.addr}`;
    const handle = engine.start({ id: 'lean', dir: join(root, 'job'), source: { kind: 'magnet', uri } });
    const until = Date.now() + 20_000;
    while (peer.connections === 0 && Date.now() < until) await sleep(25);
    assert.ok(peer.connections > 0, 'the named peer is tried');
    await sleep(1500); // a few ticks of the engine
    const status = handle.status();
    assert.equal(status.state, 'metadata');
    assert.match(
      status.notice ?? '',
      /^The only tracker of this torrent is refused by the address policy.* Peers can come only from the peers the magnet link names\.$/,
    );
  } finally {
    await engine.close();
    await refused.close();
    await peer.close();
    await rm(root, { recursive: true, force: true });
  }
});
