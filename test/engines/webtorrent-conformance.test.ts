// The shared engine behaviours (conformance.ts), for the WebTorrent engine, against a real
// swarm on loopback: an in-process tracker and an in-process WebTorrent seeder.
import { randomBytes } from 'node:crypto';
import { WebTorrentEngine } from '../../src/engines/index.js';
import { startSwarm } from '../support/offline-e2e.js';
import { engineConformance } from '../support/engine-conformance.js';

engineConformance({
  name: 'webtorrent',
  createEngine: ({ downloadLimit }) => new WebTorrentEngine({ dht: false, pex: false, downloadLimit }),
  async fixture() {
    const bytes = randomBytes(3 * 1024 * 1024);
    const swarm = await startSwarm([{ path: 'payload.bin', bytes }], { pieceLength: 64 * 1024, seedFromDisk: true });
    return {
      source: { kind: 'torrent', torrent: swarm.built.torrent },
      expected: new Map([[0, bytes]]),
      invalidSource: { kind: 'torrent', torrent: Buffer.from('d4:infod6:lengthi-1eee') },
      close: swarm.close,
    };
  },
});
