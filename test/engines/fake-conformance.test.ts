// The shared engine behaviours (conformance.ts), for the fake engine of test/support/: the
// engine the scheduler's own tests run on must behave as the real ones do. No network at all.
import { buildV1 } from '../support/torrent-builder.js';
import { FakeCatalogue, FakeEngine } from '../support/fake-engine.js';
import { engineConformance } from '../support/engine-conformance.js';

const catalogue = new FakeCatalogue();

engineConformance({
  name: 'fake',
  createEngine: ({ downloadLimit }) => new FakeEngine({ catalogue, downloadLimit }),
  async fixture() {
    const built = buildV1({ name: 'payload.bin', length: 2 * 1024 * 1024, pieceLength: 64 * 1024, seed: Math.floor(Math.random() * 2 ** 31) });
    const infoHash = catalogue.addTorrent(built.torrent, built.data);
    return {
      source: { kind: 'torrent', torrent: built.torrent },
      expected: new Map([[0, built.data]]),
      invalidSource: { kind: 'torrent', torrent: Buffer.from('d4:infod6:lengthi-1eee') },
      close: async () => void catalogue.torrents.delete(infoHash),
    };
  },
});
