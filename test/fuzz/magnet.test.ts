import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import { nameProblem } from '../../src/names/file-names.js';
import { parseMagnet, type MagnetLink } from '../../src/torrent/magnet.js';
import { fuzzParams, returnsOrThrows } from '../support/fuzz.js';

// parseMagnet: URL_INVALID, or a link whose info hash is canonical lowercase hex.

function check(uri: string): MagnetLink | AppError {
  const r = returnsOrThrows(() => parseMagnet(uri), ['URL_INVALID']);
  if (r instanceof AppError) return r;
  assert.ok(r.infoHash === null || /^[0-9a-f]{40}$/.test(r.infoHash), `infoHash ${r.infoHash}`);
  assert.ok(r.infoHashV2 === null || /^[0-9a-f]{64}$/.test(r.infoHashV2), `infoHashV2 ${r.infoHashV2}`);
  assert.ok(r.infoHash !== null || r.infoHashV2 !== null, 'a link without any info hash was accepted');
  assert.ok(r.name === null || nameProblem(r.name) === null, `name ${JSON.stringify(r.name)}`);
  for (const t of [...r.trackers, ...r.webSeeds]) assert.match(t, /^(https?|udp):\/\//);
  for (const p of r.peers) assert.match(p, /:\d{1,5}$/);
  return r;
}

const hex40 = fc.stringMatching(/^[0-9a-fA-F]{40}$/);
const base32 = fc.stringMatching(/^[A-Za-z2-7]{32}$/);
const xt = fc.oneof(
  hex40.map((h) => `urn:btih:${h}`),
  base32.map((h) => `urn:btih:${h}`),
  fc.stringMatching(/^[0-9a-fA-F]{64}$/).map((h) => `urn:btmh:1220${h}`),
  fc.string({ maxLength: 70 }).map((h) => `urn:btih:${h}`),
  fc.string({ maxLength: 70 }).map((h) => `urn:btmh:${h}`),
  fc.constantFrom('urn:ed2k:abc', 'urn:sha1:xyz', 'urn:btih:', 'urn:btmh:1220'),
);
const param = fc.oneof(
  xt.map((v) => ['xt', v] as const),
  fc.string({ maxLength: 40 }).map((v) => ['dn', v] as const),
  fc.constantFrom('..', '/etc/passwd', 'a\u0000b', '\u202e', '').map((v) => ['dn', v] as const),
  fc.tuple(
    fc.constantFrom('tr', 'ws', 'tr.1', 'xs'),
    fc.oneof(fc.webUrl(), fc.string({ maxLength: 30 }), fc.constantFrom('udp://t.example:80', 'javascript:alert(1)', 'file:///etc/passwd')),
  ),
  fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('1.2.3.4:6881', '[::1]:80', 'host:0', 'host:99999', '[zz]:1')).map((v) => ['x.pe', v] as const),
  fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 10 })),
);
const magnet = fc
  .tuple(fc.constantFrom('magnet:?', 'MAGNET:?', 'magnet:', 'magnet:?&', ' magnet:?'), fc.array(param, { maxLength: 6 }), fc.boolean())
  .map(([prefix, params, encode]) => prefix + params.map(([k, v]) => `${k}=${encode ? encodeURIComponent(v) : v}`).join('&'));

describe('fuzz: magnet links', () => {
  test('arbitrary strings are URL_INVALID or a link with a canonical info hash', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => void check(s)),
      fuzzParams('magnet arbitrary', 2000),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => void check(`magnet:?${s}`)),
      fuzzParams('magnet arbitrary query', 2000),
    );
  });

  test('generated magnet links are URL_INVALID or a link with a canonical info hash', () => {
    fc.assert(
      fc.property(magnet, (s) => void check(s)),
      fuzzParams('magnet generated', 2000),
    );
  });

  test('a well-formed btih in hex or base32, in any case, gives its lowercase hex', () => {
    fc.assert(
      fc.property(hex40, fc.string({ maxLength: 20 }), (h, name) => {
        const r = check(`magnet:?xt=urn:btih:${h}&dn=${encodeURIComponent(name)}`);
        assert.ok(!(r instanceof AppError), String(r));
        assert.equal(r.infoHash, h.toLowerCase());
      }),
      fuzzParams('magnet hex', 500),
    );
  });

  test('a link longer than the limit is URL_INVALID, whatever it holds', () => {
    fc.assert(
      fc.property(hex40, fc.integer({ min: 64 * 1024 + 1, max: 200_000 }), (h, len) => {
        const uri = `magnet:?xt=urn:btih:${h}&dn=` + 'a'.repeat(len);
        assert.ok(check(uri) instanceof AppError);
      }),
      fuzzParams('magnet long', 20),
    );
  });
});
