// A leecher in its own process, for the kill -9 test (webtorrent-resume.test.ts): downloads
// argv[2] (a .torrent path) into argv[3] at argv[4] bytes/s and prints its status as one JSON
// line every 50 ms until it is killed.
import { readFile } from 'node:fs/promises';
import { WebTorrentEngine } from '../../src/engines/index.js';

const [torrentPath, dir, limit] = process.argv.slice(2);
const engine = new WebTorrentEngine({ dht: false, pex: false, downloadLimit: Number(limit) });
const handle = engine.start({ id: 'child', dir, source: { kind: 'torrent', torrent: await readFile(torrentPath) } });
setInterval(() => process.stdout.write(JSON.stringify(handle.status()) + '\n'), 50);
