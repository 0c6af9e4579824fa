// The calls Sonarr (and Radarr, which shares the code) makes to "a qBittorrent", replayed against
// openpan, request by request as its download client sends them (QBittorrentProxyV2 and
// QBittorrent in Sonarr's public source): the connection test, a grab by magnet link and one by
// .torrent file, the queue poll with its state mapping, the post-import category, and the
// removal. Torrents are seeded on loopback (in-process tracker and WebTorrent seeders, DHT off).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { assertFile, KiB, names, startSwarm, waitFor, type Swarm } from '../support/offline-e2e.js';

const ROOT = '/data/openpan';
const CATEGORY = 'tv-sonarr';
const IMPORTED_CATEGORY = 'tv-imported';

interface Torrent {
  hash: string;
  name: string;
  size: number;
  progress: number;
  eta: number;
  state: string;
  category: string;
  save_path: string;
  content_path: string;
  ratio: number;
  ratio_limit: number;
  seeding_time_limit: number;
}

/** What Sonarr's QBittorrent.GetItems makes of a torrent's state. */
function sonarrStatus(state: string): string {
  switch (state) {
    case 'error':
    case 'stalledDL':
    case 'missingFiles':
      return 'Warning';
    case 'pausedDL':
      return 'Paused';
    case 'queuedDL':
    case 'checkingDL':
    case 'checkingUP':
    case 'metaDL':
      return 'Queued';
    case 'pausedUP':
    case 'uploading':
    case 'stalledUP':
    case 'queuedUP':
    case 'forcedUP':
      return 'Completed';
    case 'forcedDL':
    case 'moving':
    case 'downloading':
      return 'Downloading';
    default:
      return 'Unknown';
  }
}

/** Sonarr's QBittorrentProxyV2: cookies cached per server, a 403 answered by logging in again. */
class SonarrProxy {
  cookie: string | null = null;
  readonly log: string[] = [];

  constructor(
    readonly baseUrl: string,
    readonly username: string,
    readonly password: string,
  ) {}

  async #send(method: 'GET' | 'POST', resource: string, body?: URLSearchParams | FormData): Promise<Response> {
    this.log.push(`${method} ${resource.split('?')[0]}`);
    return fetch(this.baseUrl + resource, { method, body, headers: this.cookie ? { cookie: this.cookie } : {}, redirect: 'manual' });
  }

  async authenticate(reauthenticate = false): Promise<void> {
    if (this.cookie !== null && !reauthenticate) return;
    this.cookie = null;
    const res = await this.#send('POST', '/api/v2/auth/login', new URLSearchParams({ username: this.username, password: this.password }));
    const content = await res.text();
    if (res.status === 403) throw new Error('DownloadClientAuthenticationException: Failed to authenticate with qBittorrent.');
    if (content !== 'Ok.') throw new Error('DownloadClientAuthenticationException: Failed to authenticate with qBittorrent.');
    const setCookie = res.headers.get('set-cookie') ?? '';
    this.cookie = setCookie.split(';')[0];
  }

  /** ProcessRequest: authenticate, send, and on 403 log in again and send once more. */
  async process(method: 'GET' | 'POST', resource: string, body?: () => URLSearchParams | FormData): Promise<string> {
    await this.authenticate();
    let res = await this.#send(method, resource, body?.());
    if (res.status === 403) {
      await this.authenticate(true);
      res = await this.#send(method, resource, body?.());
    }
    const content = await res.text();
    if (res.status >= 400 && res.status !== 403) throw Object.assign(new Error(`HTTP ${res.status}: ${content}`), { status: res.status });
    return content;
  }

  /** IsApiSupported: the version request without authentication; 404 = v1 API, 403 = v2 behind a login. */
  async isApiSupported(): Promise<boolean> {
    const res = await this.#send('GET', '/api/v2/app/webapiVersion');
    await res.arrayBuffer();
    if (res.status === 404) return false;
    if (res.status === 403) return true;
    if (res.status >= 400) throw new Error(`Failed to connect to qBittorrent: ${res.status}`);
    return true;
  }

  async apiVersion(): Promise<number[]> {
    return (await this.process('GET', '/api/v2/app/webapiVersion')).split('.').map(Number);
  }

  async version(): Promise<string> {
    return (await this.process('GET', '/api/v2/app/version')).replace(/^v/, '');
  }

  async config(): Promise<Record<string, unknown>> {
    return JSON.parse(await this.process('GET', '/api/v2/app/preferences'));
  }

  async torrents(category: string): Promise<Torrent[]> {
    return JSON.parse(await this.process('GET', `/api/v2/torrents/info?category=${encodeURIComponent(category)}`));
  }

  async isTorrentLoaded(hash: string): Promise<boolean> {
    try {
      await this.process('GET', `/api/v2/torrents/properties?hash=${hash}`);
      return true;
    } catch {
      return false;
    }
  }

  async labels(): Promise<Record<string, { name: string; savePath: string }>> {
    return JSON.parse(await this.process('GET', '/api/v2/torrents/categories'));
  }

  async addLabel(label: string): Promise<void> {
    await this.process('POST', '/api/v2/torrents/createCategory', () => new URLSearchParams({ category: label }));
  }

  async setTorrentLabel(hash: string, label: string): Promise<void> {
    await this.process('POST', '/api/v2/torrents/setCategory', () => new URLSearchParams({ hashes: hash, category: label }));
  }

  /** AddTorrentDownloadFormParameters and AddTorrentSeedingFormParameters: category, initial state "Start", seed limits. */
  #downloadParameters(form: URLSearchParams | FormData): void {
    form.append('category', CATEGORY);
    form.append('paused', 'False');
    form.append('ratioLimit', '1.5');
    form.append('seedingTimeLimit', '120');
  }

  async addTorrentFromUrl(url: string): Promise<void> {
    const result = await this.process('POST', '/api/v2/torrents/add', () => {
      const form = new URLSearchParams({ urls: url });
      this.#downloadParameters(form);
      return form;
    });
    if (result === 'Fails.') throw new Error('Download client failed to add torrent by url');
  }

  async addTorrentFromFile(fileName: string, content: Buffer): Promise<void> {
    const result = await this.process('POST', '/api/v2/torrents/add', () => {
      const form = new FormData();
      form.append('torrents', new Blob([new Uint8Array(content)], { type: 'application/x-bittorrent' }), fileName);
      this.#downloadParameters(form);
      return form;
    });
    if (result === 'Fails.') throw new Error('Download client failed to add torrent');
  }

  async moveToTop(hash: string): Promise<void> {
    await this.process('POST', '/api/v2/torrents/topPrio', () => new URLSearchParams({ hashes: hash }));
  }

  async removeTorrent(hash: string, removeData: boolean): Promise<void> {
    await this.process('POST', '/api/v2/torrents/delete', () => new URLSearchParams({ hashes: hash, ...(removeData ? { deleteFiles: 'true' } : {}) }));
  }
}

/** QBittorrent.GetItems: version, config, then the category's torrents as queue items. */
async function getItems(proxy: SonarrProxy) {
  const version = await proxy.apiVersion();
  await proxy.config();
  const torrents = await proxy.torrents(CATEGORY);
  return torrents.map((t) => ({
    downloadId: t.hash.toUpperCase(),
    title: t.name,
    totalSize: t.size,
    remainingSize: Math.trunc(t.size * (1 - t.progress)),
    status: sonarrStatus(t.state),
    // API 2.6.1 and later: the content path is where the import looks, unless it is the save path itself.
    outputPath:
      version[0] > 2 || (version[0] === 2 && (version[1] > 6 || (version[1] === 6 && version[2] >= 1)))
        ? t.content_path !== t.save_path
          ? t.content_path
          : null
        : null,
    ratioLimit: t.ratio_limit,
    seedingTimeLimit: t.seeding_time_limit,
  }));
}

describe('the call sequence of Sonarr and Radarr', () => {
  let server: TestServer;
  let alice: Client;
  let proxy: SonarrProxy;
  let episode1: Swarm;
  let episode2: Swarm;
  const file1 = { path: 'Show.S01E01.mkv', bytes: randomBytes(150 * KiB + 1) };
  const file2 = [
    { path: 'Show.S01E02.mkv', bytes: randomBytes(90 * KiB) },
    { path: 'Sample/sample.mkv', bytes: randomBytes(10 * KiB) },
  ];

  before(async () => {
    episode1 = await startSwarm([file1]);
    episode2 = await startSwarm(file2, { name: 'Show.S01E02' });
    server = await startServer({ OPENPAN_QBT_PATH_ROOT: ROOT, OPENPAN_MAGNET_WAIT: '10' });
    alice = await server.newUser('sonarr-alice');
    const { password } = await alice.call('/v1/user/appPassword/create', { name: 'sonarr' });
    proxy = new SonarrProxy(server.url, 'sonarr-alice', password);
  });
  after(async () => {
    await server?.close();
    await episode1?.close();
    await episode2?.close();
  });

  test('Test: the API is found, the login works, both categories are created, the queue reads', async () => {
    assert.equal(await proxy.isApiSupported(), true);
    const version = await proxy.apiVersion();
    assert.ok(version[0] === 2 && version[1] >= 6, `API ${version.join('.')} reports content_path`);
    assert.match(await proxy.version(), /^4\./);
    const config = await proxy.config();
    // Sonarr refuses a client that removes torrents at their ratio limit.
    assert.equal(config.max_ratio_enabled, false);
    assert.equal(config.max_seeding_time_enabled, false);
    assert.equal(config.save_path, `${ROOT}/`);
    for (const label of [CATEGORY, IMPORTED_CATEGORY]) {
      if (!(label in (await proxy.labels()))) await proxy.addLabel(label);
      assert.ok(label in (await proxy.labels()), `category ${label} was configured`);
    }
    assert.deepEqual(await proxy.torrents(CATEGORY), []);
  });

  test('a wrong password fails the test with an authentication failure, as Sonarr reports it', async () => {
    const wrong = new SonarrProxy(server.url, 'sonarr-alice', 'wrong-password');
    await assert.rejects(wrong.apiVersion(), /DownloadClientAuthenticationException/);
  });

  test('Grab by magnet link, with seed limits and "First" priority: the torrent is there at once and moves to the top', async () => {
    const hash = episode1.built.infoHash;
    const magnet = `magnet:?xt=urn:btih:${hash}&dn=${encodeURIComponent(file1.path)}&tr=${encodeURIComponent(episode1.tracker.httpUrl)}`;
    const config = await proxy.config();
    assert.ok(config.dht === true || magnet.includes('&tr='), 'Sonarr accepts the magnet link');
    await proxy.addTorrentFromUrl(magnet);
    // WaitForTorrent: ten tries, 100 ms apart.
    let loaded = false;
    for (let i = 0; i < 10 && !loaded; i++) loaded = await proxy.isTorrentLoaded(hash);
    assert.ok(loaded, 'the torrent is loaded right after the add');
    await proxy.moveToTop(hash);
  });

  test('Grab by .torrent file (multipart form)', async () => {
    await proxy.addTorrentFromFile('Show.S01E02.torrent', episode2.built.torrent);
    assert.ok(await proxy.isTorrentLoaded(episode2.built.infoHash));
  });

  test('Poll: the queue items complete, with an output path that holds the files and the seed limits as sent', async () => {
    const items = await waitFor(
      'both downloads to complete',
      async () => {
        const items = await getItems(proxy);
        return items.length === 2 && items.every((i) => i.status === 'Completed') ? items : undefined;
      },
      120_000,
      500,
    );
    const byId = new Map(items.map((i) => [i.downloadId, i]));
    const one = byId.get(episode1.built.infoHash.toUpperCase())!;
    const two = byId.get(episode2.built.infoHash.toUpperCase())!;
    assert.equal(one.remainingSize, 0);
    assert.equal(one.outputPath, `${ROOT}/${CATEGORY}/${file1.path}`);
    assert.equal(two.outputPath, `${ROOT}/${CATEGORY}/Show.S01E02`);
    assert.equal(one.ratioLimit, 1.5);
    assert.equal(one.seedingTimeLimit, 120);
    // A remote path mapping ROOT → where the drive is mounted finds the files there.
    await assertFile(alice, one.outputPath!.slice(ROOT.length), file1.bytes);
    await assertFile(alice, `${two.outputPath!.slice(ROOT.length)}/Show.S01E02.mkv`, file2[0].bytes);
  });

  test('MarkItemAsImported moves the torrent to the imported category; it leaves the queue', async () => {
    await proxy.setTorrentLabel(episode1.built.infoHash.toLowerCase(), IMPORTED_CATEGORY);
    const items = await getItems(proxy);
    assert.deepEqual(
      items.map((i) => i.downloadId),
      [episode2.built.infoHash.toUpperCase()],
    );
  });

  test('a session the server no longer knows gets 403, and the proxy logs in again', async () => {
    proxy.cookie = 'SID=forgotten';
    proxy.log.length = 0;
    assert.equal((await proxy.torrents(IMPORTED_CATEGORY)).length, 1);
    assert.deepEqual(proxy.log, ['GET /api/v2/torrents/info', 'POST /api/v2/auth/login', 'GET /api/v2/torrents/info']);
  });

  test('RemoveItem with deleteData removes the task and its files; the other stays', async () => {
    await proxy.removeTorrent(episode2.built.infoHash.toLowerCase(), true);
    assert.deepEqual(await getItems(proxy), []);
    assert.deepEqual(await names(alice, `/${CATEGORY}`), [file1.path]);
    const tasks = await alice.call('/v1/offline/list', {});
    assert.deepEqual(
      tasks.list.map((t: { infoHash: string }) => t.infoHash),
      [episode1.built.infoHash],
    );
  });
});
