// The shared engine behaviours (conformance.ts), for the HTTP engine, against a real HTTP server
// on loopback serving ranges. The policy allows exactly 127.0.0.1, where the server listens.
import { randomBytes } from 'node:crypto';
import { HttpEngine } from '../../src/engines/index.js';
import { AddressPolicy, parseCidrList } from '../../src/net/index.js';
import { startTestServer } from '../support/http-fixture.js';
import { engineConformance } from '../support/engine-conformance.js';

engineConformance({
  name: 'http',
  createEngine: ({ downloadLimit }) => new HttpEngine({ policy: new AddressPolicy(parseCidrList('127.0.0.1/32')), downloadLimit, retryDelayMs: 50 }),
  async fixture() {
    const server = await startTestServer();
    const bytes = randomBytes(3 * 1024 * 1024);
    server.resources.set('/payload.bin', { bytes, etag: '"v1"', lastModified: new Date(0).toUTCString() });
    return {
      source: { kind: 'url', url: `${server.origin}/payload.bin` },
      expected: new Map([[0, bytes]]),
      invalidSource: { kind: 'url', url: 'not a url' },
      close: () => server.close(),
    };
  },
});
