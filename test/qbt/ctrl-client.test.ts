// The qBittorrent Web API driven by @ctrl/qbittorrent, a client from the npm registry, against a
// real openpan: torrents seeded on loopback (in-process tracker and WebTorrent seeders, DHT off)
// added by magnet link and by .torrent file, read back, labelled, paused, resumed and deleted —
// and the same tasks seen through /v1/offline/*.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { QBittorrent } from '@ctrl/qbittorrent';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { assertFile, KiB, names, startSwarm, waitFor, type Swarm } from '../support/offline-e2e.js';

const ROOT = '/srv/media';

function magnetOf(swarm: Swarm): string {
  return `magnet:?xt=urn:btih:${swarm.built.infoHash}&dn=${encodeURIComponent(swarm.built.name)}&tr=${encodeURIComponent(swarm.tracker.httpUrl)}`;
}

describe('qBittorrent API with @ctrl/qbittorrent', () => {
  let server: TestServer;
  let alice: Client;
  let qbt: QBittorrent;
  let password: string;
  let series: Swarm;
  let movie: Swarm;
  const seriesFiles = [
    { path: 'e01.mkv', bytes: randomBytes(120 * KiB + 3) },
    { path: 'extras/e01.srt', bytes: randomBytes(5 * KiB) },
  ];
  const movieFile = { path: 'movie.mkv', bytes: randomBytes(200 * KiB + 11) };

  before(async () => {
    series = await startSwarm(seriesFiles, { name: 'Series S01E01' });
    movie = await startSwarm([movieFile]);
    server = await startServer({ OPENPAN_QBT_PATH_ROOT: `${ROOT}/`, OPENPAN_MAGNET_WAIT: '10' });
    alice = await server.newUser('qb-alice');
    password = (await alice.call('/v1/user/appPassword/create', { name: 'sonarr' })).password;
    qbt = new QBittorrent({ baseUrl: server.url, username: 'qb-alice', password, timeout: 30_000 });
  });
  after(async () => {
    await server?.close();
    await series?.close();
    await movie?.close();
  });

  test('logs in with the user name and an app password; a wrong password gets no session', async () => {
    assert.equal(await qbt.login(), true);
    assert.equal(await qbt.getAppVersion(), 'v4.6.7');
    assert.equal(await qbt.getApiVersion(), '2.9.3');
    assert.equal(await qbt.getDefaultSavePath(), ROOT);
    const wrong = new QBittorrent({ baseUrl: server.url, username: 'qb-alice', password: 'not-the-password', timeout: 30_000 });
    await assert.rejects(wrong.login(), /Cookie not found/);
    // The account password opens nothing here unless the operator allows it.
    const account = new QBittorrent({ baseUrl: server.url, username: 'qb-alice', password: 'qb-alice-Passw0rd', timeout: 30_000 });
    await assert.rejects(account.login(), /Cookie not found/);
    const anonymous = await fetch(`${server.url}/api/v2/torrents/info`);
    assert.equal(anonymous.status, 403);
    // A call openpan does not answer is a 404, never the web UI's page.
    const unknown = await fetch(`${server.url}/api/v2/torrents/filePrio`);
    assert.equal(unknown.status, 404);
    assert.doesNotMatch(await unknown.text(), /<html/i);
  });

  test('a magnet link added with a category downloads into its folder; info, properties and files show it, and so does /v1/offline', async () => {
    await qbt.createCategory('tv', '');
    assert.equal(await qbt.addMagnet(magnetOf(series), { category: 'tv' }), true);
    const hash = series.built.infoHash;
    const done = await waitFor('the magnet torrent to finish', async () => {
      const [t] = await qbt.listTorrents({ hashes: hash });
      return t?.state === 'stalledUP' ? t : undefined;
    });
    assert.equal(done.hash, hash);
    assert.equal(done.name, 'Series S01E01');
    assert.equal(done.category, 'tv');
    assert.equal(done.progress, 1);
    assert.equal(done.size, seriesFiles[0].bytes.length + seriesFiles[1].bytes.length);
    assert.equal(done.save_path, `${ROOT}/tv`);
    assert.equal(done.content_path, `${ROOT}/tv/Series S01E01`);
    assert.ok(done.completion_on > 0);
    assert.equal(done.eta, 0);
    await assertFile(alice, '/tv/Series S01E01/e01.mkv', seriesFiles[0].bytes);
    await assertFile(alice, '/tv/Series S01E01/extras/e01.srt', seriesFiles[1].bytes);

    const files = await qbt.torrentFiles(hash);
    assert.deepEqual(
      files.map((f) => [f.name, f.size, f.progress]),
      [
        ['Series S01E01/e01.mkv', seriesFiles[0].bytes.length, 1],
        ['Series S01E01/extras/e01.srt', seriesFiles[1].bytes.length, 1],
      ],
    );
    const props = await qbt.torrentProperties(hash);
    assert.equal(props.save_path, `${ROOT}/tv`);
    assert.equal(props.total_size, done.size);
    const trackers = await qbt.torrentTrackers(hash);
    assert.ok(trackers.some((t) => t.url === series.tracker.httpUrl));

    const offline = await alice.call('/v1/offline/list', {});
    const task = offline.list.find((t: { infoHash: string }) => t.infoHash === hash);
    assert.ok(task, 'the torrent is an offline task');
    assert.equal(task.status, 100);
    assert.equal(task.savePath, '/tv');
  });

  test('a task started through /v1/offline is a torrent here, and gone here once removed there', async () => {
    const extra = await startSwarm([{ path: 'notes.txt', bytes: randomBytes(30 * KiB) }]);
    try {
      const parsed = await alice.call('/v1/offline/parseUrl', { url: magnetOf(extra) });
      const task = await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/inbox' });
      const [t] = await qbt.listTorrents({ hashes: extra.built.infoHash });
      assert.equal(t.name, 'notes.txt');
      assert.equal(t.save_path, `${ROOT}/inbox`);
      assert.equal(t.category, '');
      await alice.call('/v1/offline/remove', { taskId: task.taskId, deleteFiles: true });
      assert.deepEqual(await qbt.listTorrents({ hashes: extra.built.infoHash }), []);
    } finally {
      await extra.close();
    }
  });

  test('an http link to a .torrent, and one that redirects to a magnet link, are added as torrents; other links fail', async () => {
    const byFile = await startSwarm([{ path: 'linked.bin', bytes: randomBytes(20 * KiB) }]);
    const byRedirect = await startSwarm([{ path: 'redirected.bin', bytes: randomBytes(20 * KiB) }]);
    const indexer: Server = createServer((req, res) => {
      if (req.url === '/get/1.torrent') res.writeHead(200, { 'content-type': 'application/x-bittorrent' }).end(byFile.built.torrent);
      else if (req.url === '/get/2') res.writeHead(302, { location: magnetOf(byRedirect) }).end();
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not a torrent</html>');
    });
    await new Promise<void>((resolve) => indexer.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(indexer.address() as AddressInfo).port}`;
    try {
      await qbt.addMagnet(`${base}/get/1.torrent\n${base}/get/2`, { category: 'tv', paused: 'true' });
      const listed = await qbt.listTorrents({ hashes: `${byFile.built.infoHash}|${byRedirect.built.infoHash}`, sort: 'name' });
      assert.deepEqual(
        listed.map((t) => [t.name, t.category]),
        [
          ['linked.bin', 'tv'],
          ['redirected.bin', 'tv'],
        ],
      );
      assert.deepEqual(
        listed.map((t) => t.state),
        ['pausedDL', 'pausedDL'],
      );
      // The 4.x name resumes it (its engine job, paused with it, may take a tick to run again).
      await qbt.resumeTorrent(byFile.built.infoHash);
      await waitFor(
        'the resumed torrent to leave pausedDL',
        async () => (await qbt.listTorrents({ hashes: byFile.built.infoHash }))[0].state !== 'pausedDL',
        20_000,
      );
      await assert.rejects(qbt.addMagnet(`${base}/page.html`), /Failed to add torrent/);
      await qbt.removeTorrent([byFile.built.infoHash, byRedirect.built.infoHash], true);
    } finally {
      indexer.close();
      await byFile.close();
      await byRedirect.close();
    }
  });

  test('a .torrent file added stopped waits; starting it downloads it', async () => {
    await qbt.addTorrent(new Uint8Array(movie.built.torrent), { paused: 'true', savepath: `${ROOT}/films`, rename: 'The Movie' });
    const hash = movie.built.infoHash;
    const paused = await waitFor('the torrent to be listed', async () => (await qbt.listTorrents({ hashes: hash }))[0]);
    assert.equal(paused.state, 'pausedDL');
    assert.equal(paused.name, 'The Movie');
    assert.equal(paused.save_path, `${ROOT}/films`);
    assert.equal(paused.category, '');
    assert.deepEqual(
      (await qbt.listTorrents({ filter: 'paused' })).map((t) => t.hash),
      [hash],
    );
    // The 5.x names: stop leaves it paused, start runs it.
    await qbt.request('/torrents/stop', 'POST', undefined, new URLSearchParams({ hashes: hash }), undefined, false);
    assert.equal((await qbt.listTorrents({ hashes: hash }))[0].state, 'pausedDL');
    await qbt.request('/torrents/start', 'POST', undefined, new URLSearchParams({ hashes: hash }), undefined, false);
    await waitFor('the started torrent to finish', async () => (await qbt.listTorrents({ hashes: hash }))[0]?.state === 'stalledUP');
    await assertFile(alice, '/films/movie.mkv', movieFile.bytes);
    const [t] = await qbt.listTorrents({ hashes: hash });
    assert.equal(t.content_path, `${ROOT}/films/movie.mkv`);
    assert.deepEqual(
      (await qbt.listTorrents({ category: 'tv' })).map((x) => x.hash),
      [series.built.infoHash],
    );
    assert.deepEqual(
      (await qbt.listTorrents({ sort: 'name' })).map((x) => x.name),
      ['Series S01E01', 'The Movie'],
    );
  });

  test('categories are created, edited, set on torrents and removed; tags too', async () => {
    await qbt.createCategory('movies', `${ROOT}/films`);
    await assert.rejects(qbt.createCategory('movies', ''), (err: { statusCode?: number }) => err.statusCode === 409);
    await qbt.editCategory('tv', `${ROOT}/shows`);
    assert.deepEqual(await qbt.getCategories(), {
      movies: { name: 'movies', savePath: `${ROOT}/films` },
      tv: { name: 'tv', savePath: `${ROOT}/shows` },
    });
    await qbt.setTorrentCategory(movie.built.infoHash, 'movies');
    assert.equal((await qbt.listTorrents({ hashes: movie.built.infoHash }))[0].category, 'movies');
    await assert.rejects(qbt.setTorrentCategory(movie.built.infoHash, 'nope'), (err: { statusCode?: number }) => err.statusCode === 409);
    await qbt.addTorrentTags(movie.built.infoHash, 'hd,new');
    assert.deepEqual((await qbt.getTags()).sort(), ['hd', 'new']);
    assert.equal((await qbt.listTorrents({ hashes: movie.built.infoHash }))[0].tags, 'hd, new');
    await qbt.removeTorrentTags(movie.built.infoHash, 'new');
    assert.equal((await qbt.listTorrents({ tag: 'hd' }))[0].hash, movie.built.infoHash);
    await qbt.removeCategory('movies');
    assert.deepEqual(Object.keys(await qbt.getCategories()), ['tv']);
    assert.equal((await qbt.listTorrents({ hashes: movie.built.infoHash }))[0].category, '');
  });

  test('sync/maindata answers everything first, then only what changed since the rid it is given', async () => {
    const full = await qbt.getSyncMainData(0);
    assert.equal(full.full_update, true);
    assert.deepEqual(Object.keys(full.torrents ?? {}).sort(), [movie.built.infoHash, series.built.infoHash].sort());
    assert.deepEqual(Object.keys(full.categories ?? {}), ['tv']);
    const same = await qbt.getSyncMainData(full.rid);
    assert.equal(same.full_update, undefined);
    assert.equal(same.torrents, undefined);
    await qbt.setTorrentCategory(series.built.infoHash, '');
    const delta = await qbt.getSyncMainData(same.rid);
    assert.deepEqual(delta.torrents, { [series.built.infoHash]: { category: '' } });
    // A rid the session did not send last: everything again.
    assert.equal((await qbt.getSyncMainData(full.rid)).full_update, true);
  });

  test('delete with deleteFiles removes the task and exactly the files it created; without, the files stay', async () => {
    await qbt.removeTorrent(series.built.infoHash, true);
    await qbt.removeTorrent(movie.built.infoHash, false);
    assert.deepEqual(await qbt.listTorrents(), []);
    assert.equal((await alice.call('/v1/offline/list', {})).totalCount, 0);
    assert.deepEqual(await names(alice, '/tv'), []);
    assert.deepEqual(await names(alice, '/films'), ['movie.mkv']);
  });
});
