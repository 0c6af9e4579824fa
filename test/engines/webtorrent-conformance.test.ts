// The shared engine behaviours (conformance.ts), for the WebTorrent engine, against a real
// swarm on loopback: an in-process tracker and an in-process WebTorrent seeder.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebTorrentEngine } from '../../src/engines/index.js';
import { makeTorrent, startTracker, startWebTorrentSeeder } from '../helpers/swarm.js';
import { engineConformance } from './conformance.js';

engineConformance({
  name: 'webtorrent',
  createEngine: ({ downloadLimit }) => new WebTorrentEngine({ dht: false, pex: false, downloadLimit }),
  async fixture() {
    const root = await mkdtemp(join(tmpdir(), 'openpan-swarm-'));
    const tracker = await startTracker();
    const bytes = randomBytes(3 * 1024 * 1024);
    const built = makeTorrent([{ path: 'payload.bin', bytes }], { announce: [tracker.httpUrl], pieceLength: 64 * 1024 });
    const seeder = await startWebTorrentSeeder(built, join(root, 'seed'), tracker);
    return {
      source: { kind: 'torrent', torrent: built.torrent },
      expected: new Map([[0, bytes]]),
      invalidSource: { kind: 'torrent', torrent: Buffer.from('d4:infod6:lengthi-1eee') },
      async close() {
        await seeder.close();
        await tracker.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  },
});
