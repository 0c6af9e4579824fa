// Trackers, web seeds and `x.pe` peers named by a torrent or magnet link are reached only when the
// address policy allows their host: a refused tracker is never announced to, the rest work as before.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { allowedPeers } from '../../src/engines/bittorrent/peer-guard.js';
import { allowedUrls, magnetWithHints, withHints } from '../../src/engines/bittorrent/tracker-guard.js';
import { WebTorrentEngine } from '../../src/engines/index.js';
import { AddressPolicy, parseCidrList } from '../../src/net/index.js';
import { parseMagnet, parseTorrent } from '../../src/torrent/index.js';
import { makeTorrent, startTracker, startWebTorrentSeeder } from '../support/swarm.js';
import { startTestServer } from '../support/http-fixture.js';
import { assertFiles } from '../support/engine-conformance.js';

const onlyOne = new AddressPolicy(parseCidrList('127.0.0.1/32'));

test('allowedUrls keeps the URLs whose host the policy allows, in order', async () => {
  const urls = [
    'http://127.0.0.1:1/announce',
    'udp://127.0.0.2:6969',
    'http://[::1]:2/a',
    'http://10.0.0.1/announce',
    'http://169.254.169.254/latest',
    'http://0x7f.1:3/',
    'not a url',
  ];
  assert.deepEqual(await allowedUrls(urls, onlyOne), ['http://127.0.0.1:1/announce', 'http://0x7f.1:3/']);
  assert.deepEqual(await allowedUrls(urls.slice(0, 5), new AddressPolicy([])), [], 'nothing of these is public');
  assert.deepEqual(await allowedUrls(['http://name-that-does-not-resolve.invalid/announce'], onlyOne), [], 'a name that does not resolve is dropped');
});

test('withHints and magnetWithHints change the trackers, web seeds and peers, never the info hash', () => {
  const built = makeTorrent([{ path: 'x.bin', bytes: randomBytes(50_000) }], {
    announce: ['http://127.0.0.1:1/a', 'http://127.0.0.2:1/a'],
    urlList: ['http://127.0.0.2/seed/'],
  });
  const rebuilt = parseTorrent(withHints(built.torrent, ['http://127.0.0.1:1/a'], []));
  assert.equal(rebuilt.infoHash, built.infoHash);
  assert.deepEqual(rebuilt.announce, ['http://127.0.0.1:1/a']);
  assert.deepEqual(rebuilt.urlList, []);

  const uri = `magnet:?xt=urn:btih:${built.infoHash}&dn=x.bin&tr=${encodeURIComponent('http://127.0.0.1:1/a')}&tr=${encodeURIComponent('udp://127.0.0.2:1')}&ws=${encodeURIComponent('http://127.0.0.2/')}&x.pe=127.0.0.1:5&x.pe=127.0.0.2:6&x.pe=%5B%3A%3A1%5D:7&x.pe=localhost:8`;
  const named = parseMagnet(uri);
  const peers = allowedPeers(named.peers, onlyOne);
  assert.deepEqual(
    peers,
    { allowed: ['127.0.0.1:5'], refused: ['127.0.0.2:6', '[::1]:7', 'localhost:8'] },
    'a peer outside the policy, or named by a host name, is refused',
  );
  const kept = parseMagnet(magnetWithHints(uri, ['http://127.0.0.1:1/a'], [], peers.allowed));
  assert.equal(kept.infoHash, built.infoHash);
  assert.equal(kept.name, 'x.bin');
  assert.deepEqual(kept.trackers, ['http://127.0.0.1:1/a']);
  assert.deepEqual(kept.webSeeds, []);
  assert.deepEqual(kept.peers, ['127.0.0.1:5'], 'only the allowed x.pe peer is left for WebTorrent');
});

test('the engine announces only to allowed trackers and still downloads through them', { timeout: 90_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-guard-'));
  const allowed = await startTracker();
  const refused = await startTracker({ host: '127.0.0.2' });
  const engine = new WebTorrentEngine({ dht: false, pex: false, addressPolicy: onlyOne });
  try {
    const data = randomBytes(300 * 1024 + 9);
    const built = makeTorrent([{ path: 'guarded.bin', bytes: data }], { announce: [refused.httpUrl, allowed.httpUrl] });
    const seeder = await startWebTorrentSeeder(built, join(root, 'seed'), allowed);
    try {
      await refused.waitForSeeders(built.infoHash);
      const handle = engine.start({ id: 'guarded', dir: join(root, 'job'), source: { kind: 'torrent', torrent: built.torrent } });
      const final = await handle.settled;
      await assertFiles(final, new Map([[0, data]]), join(root, 'job'));
      assert.ok(allowed.announcers(built.infoHash) >= 2, 'the engine announced to the allowed tracker');
      assert.equal(refused.announcers(built.infoHash), 1, 'only the seeder ever announced to the refused tracker');
    } finally {
      await seeder.close();
    }
  } finally {
    await engine.close();
    await allowed.close();
    await refused.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('a web seed that redirects to a refused address is never followed there', { timeout: 60_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-guard-'));
  const seed = await startTestServer('127.0.0.1');
  const internal = await startTestServer('127.0.0.2');
  const engine = new WebTorrentEngine({ dht: false, pex: false, addressPolicy: onlyOne });
  try {
    const data = randomBytes(200 * 1024 + 3);
    // Without the guard the download would complete from the redirect's target.
    internal.resources.set('/web.bin', { bytes: data });
    seed.redirects.set('/web.bin', `${internal.origin}/web.bin`);
    const built = makeTorrent([{ path: 'web.bin', bytes: data }], { announce: [], urlList: [`${seed.origin}/web.bin`] });
    const handle = engine.start({ id: 'webseed', dir: join(root, 'job'), source: { kind: 'torrent', torrent: built.torrent } });
    const until = Date.now() + 20_000;
    while (seed.requests.length < 2 && Date.now() < until) await sleep(100);
    assert.ok(seed.requests.length >= 2, `the allowed web seed was asked (${seed.requests.length} requests)`);
    await sleep(500);
    assert.equal(internal.requests.length, 0, 'the redirect target saw nothing');
    assert.notEqual(handle.status().state, 'done');
  } finally {
    await engine.close();
    await Promise.all([seed.close(), internal.close()]);
    await rm(root, { recursive: true, force: true });
  }
});
