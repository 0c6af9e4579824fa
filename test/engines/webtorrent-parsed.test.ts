// WebTorrent is handed each torrent already parsed by openpan (parsed-torrent.ts), and serves the
// info dictionary to peers without re-encoding the `.torrent` (webtorrent-api.ts). What it is
// given must be what its own parser would have made, and what it serves must be what a client
// nobody here wrote accepts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { parsedForWebTorrent } from '../../src/engines/bittorrent/parsed-torrent.js';
import { WebTorrentEngine } from '../../src/engines/index.js';
import { parseTorrent } from '../../src/torrent/index.js';
import { freePort, makeTorrent, startTracker, type PayloadFile } from '../support/swarm.js';

const KiB = 1024;

interface TheirParse {
  infoHash: string;
  infoBuffer: Buffer;
  name: string;
  announce: string[];
  urlList: string[];
  files: { path: string; name: string; length: number; offset: number }[];
  length: number;
  pieceLength: number;
  lastPieceLength: number;
  pieces: string[];
}

/** parse-torrent as WebTorrent 1.9.7 loads it. */
const theirParse = createRequire(createRequire(import.meta.url).resolve('webtorrent'))('parse-torrent') as (torrent: Buffer) => TheirParse;

function assertSameView(files: PayloadFile[], opts: Parameters<typeof makeTorrent>[1], padIndexes: number[] = []): void {
  const built = makeTorrent(files, opts);
  const theirs = theirParse(built.torrent);
  const ours = parsedForWebTorrent(parseTorrent(built.torrent), built.torrent, theirs.announce, theirs.urlList);
  assert.ok(ours, 'a v1 torrent is handed over parsed');
  assert.equal(ours.infoHash, theirs.infoHash);
  assert.ok(ours.infoBuffer.equals(theirs.infoBuffer), 'the info dictionary byte for byte');
  assert.deepEqual(
    ours.files.map((f) => [f.length, f.offset]),
    theirs.files.map((f) => [f.length, f.offset]),
    'every file of the engine list, pad files included, at the same place in the stream',
  );
  const named = (list: { path: string; name: string }[]) => list.filter((_, i) => !padIndexes.includes(i)).map((f) => [f.path, f.name]);
  assert.deepEqual(named(ours.files), named(theirs.files), 'the same paths');
  assert.deepEqual(ours.pieces, theirs.pieces);
  assert.deepEqual([ours.length, ours.pieceLength, ours.lastPieceLength], [theirs.length, theirs.pieceLength, theirs.lastPieceLength]);
  assert.deepEqual([ours.announce, ours.urlList], [theirs.announce, theirs.urlList]);
}

test('a multi-file torrent handed over parsed is what parse-torrent makes of it: files, offsets, pad files, pieces', () => {
  assertSameView(
    [
      { path: 'a/one.bin', bytes: randomBytes(40 * KiB + 3) },
      { path: '.pad/_____padding_file_0', bytes: Buffer.alloc(16 * KiB - 3) },
      { path: 'a/b/empty.txt', bytes: Buffer.alloc(0) },
      { path: 'two.bin', bytes: randomBytes(5 * KiB) },
    ],
    { announce: ['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2'], urlList: ['http://127.0.0.1:3/'], name: 'set' },
    [1],
  );
});

test('a single-file torrent handed over parsed is what parse-torrent makes of it', () => {
  assertSameView([{ path: 'only.iso', bytes: randomBytes(33 * KiB) }], { announce: [] });
});

test('aria2c fetches the metadata of a magnet link from an openpan seed and downloads the files', { timeout: 120_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'openpan-meta-'));
  const tracker = await startTracker({ intervalMs: 1000 });
  const engine = new WebTorrentEngine({ dht: false, pex: false });
  try {
    const files = [
      { path: 'x/first.bin', bytes: randomBytes(150 * KiB + 1) },
      { path: 'second.bin', bytes: randomBytes(90 * KiB) },
    ];
    const built = makeTorrent(files, { announce: [tracker.httpUrl], pieceLength: 16 * KiB, name: 'served' });
    const seedDir = join(root, 'seed');
    const layout = engine.seedLayout(built.torrent, seedDir);
    for (const [i, f] of files.entries()) {
      await mkdir(dirname(layout[i]), { recursive: true });
      await writeFile(layout[i], f.bytes);
    }
    const seed = engine.seed({ id: 'seed', dir: seedDir, torrent: built.torrent });
    await tracker.waitForSeeders(built.infoHash);

    const leechDir = join(root, 'leech');
    const magnet = `magnet:?xt=urn:btih:${built.infoHash}&dn=served&tr=${encodeURIComponent(tracker.httpUrl)}`;
    const port = await freePort();
    const child = spawn(
      'aria2c',
      [
        '--no-conf=true',
        `--dir=${leechDir}`,
        '--enable-dht=false',
        '--enable-dht6=false',
        '--enable-peer-exchange=false',
        '--bt-enable-lpd=false',
        '--seed-time=0',
        '--bt-save-metadata=false',
        `--listen-port=${port}`,
        '--interface=127.0.0.1',
        '--disable-ipv6=true',
        '--summary-interval=0',
        '--console-log-level=warn',
        '--bt-stop-timeout=60',
        magnet,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((res) => child.once('exit', res));
    assert.equal(code, 0, `aria2c finished: ${stderr.trim()}`);
    for (const f of files) assert.ok((await readFile(join(leechDir, 'served', f.path))).equals(f.bytes), `${f.path} arrived byte for byte`);
    assert.ok(seed.status().uploaded >= files[0].bytes.length + files[1].bytes.length, 'from the openpan seed');
  } finally {
    await engine.close();
    await tracker.close();
    await rm(root, { recursive: true, force: true });
  }
});
