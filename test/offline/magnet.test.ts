// parseMagnet: info hashes exact, hints filtered, anything malformed URL_INVALID.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { parseMagnet } from '../../src/torrent/magnet.js';

const HEX = 'c9e15763f722f23e98a29decdfae341b98d53056';
const V2 = '1f0a4c0e5b6a7d8e9f00112233445566778899aabbccddeeff0011223344556677'.slice(0, 64);

/** RFC 4648 base32, written independently of the parser (bit string, 5 at a time). */
function base32(hex: string): string {
  const bits = [...Buffer.from(hex, 'hex')].map((b) => b.toString(2).padStart(8, '0')).join('');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out;
}

function rejects(uri: string, pattern: RegExp): void {
  assert.throws(
    () => parseMagnet(uri),
    (err: unknown) => {
      assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
      assert.equal(err.code, 'URL_INVALID');
      assert.match(err.message, pattern);
      return true;
    },
    uri.slice(0, 80),
  );
}

test('a typical magnet link: hex hash, name, trackers, web seeds, peers', () => {
  const uri =
    `magnet:?xt=urn:btih:${HEX.toUpperCase()}&dn=Big+Buck%20Bunny%20%E4%B8%AD%E6%96%87.mkv` +
    '&tr=udp%3A%2F%2Ftracker.example%3A6969%2Fannounce&tr=http://t2.example/announce&tr=udp%3A%2F%2Ftracker.example%3A6969%2Fannounce' +
    '&tr=wss%3A%2F%2Ftracker.webtorrent.dev&tr=javascript:alert(1)&tr=https://t3.example/a?passkey%3Dx%26y%3Dz' +
    '&ws=https%3A%2F%2Fseed.example%2Fbbb.mkv&ws=ftp://seed.example/x' +
    '&x.pe=10.0.0.1:6881&x.pe=peer.example:51413&x.pe=[2001:DB8::1]:6881&x.pe=10.0.0.1:6881' +
    '&x.pe=10.0.0.2:0&x.pe=10.0.0.3:70000&x.pe=noport&x.pe=[not-v6]:1&x.pe=bad_host!:1';
  assert.deepEqual(parseMagnet(uri), {
    infoHash: HEX,
    infoHashV2: null,
    name: 'Big Buck Bunny 中文.mkv',
    trackers: ['udp://tracker.example:6969/announce', 'http://t2.example/announce', 'https://t3.example/a?passkey=x&y=z'],
    webSeeds: ['https://seed.example/bbb.mkv'],
    peers: ['10.0.0.1:6881', 'peer.example:51413', '[2001:db8::1]:6881'],
  });
});

test('base32 info hashes decode to the same hex hash, in either case', () => {
  const b32 = base32(HEX);
  assert.equal(b32.length, 32);
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32}`).infoHash, HEX);
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32.toLowerCase()}`).infoHash, HEX);
  for (const hex of ['0000000000000000000000000000000000000000', 'ffffffffffffffffffffffffffffffffffffffff', '0123456789abcdef0123456789abcdef01234567']) {
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${base32(hex)}`).infoHash, hex);
  }
});

test('v2 (btmh) and hybrid magnet links; numbered and repeated xt', () => {
  const v2 = parseMagnet(`magnet:?xt=urn:btmh:1220${V2.toUpperCase()}&dn=v2`);
  assert.equal(v2.infoHash, null);
  assert.equal(v2.infoHashV2, V2);
  const hybrid = parseMagnet(`MAGNET:?xt.1=urn:btih:${HEX}&xt.2=urn:btmh:1220${V2}&xt=urn:btih:${HEX}`);
  assert.equal(hybrid.infoHash, HEX);
  assert.equal(hybrid.infoHashV2, V2);
  assert.equal(hybrid.name, null);
  // Other networks' URNs are ignored next to a BitTorrent one.
  assert.equal(parseMagnet(`magnet:?xt=urn:ed2k:31d6cfe0d16ae931b73c59d7e0c089c0&xt=urn:btih:${HEX}`).infoHash, HEX);
});

test('the display name is sanitised', () => {
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${HEX}&dn=..%2F..%2Fetc%2Fpasswd`).name, '.._.._etc_passwd');
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${HEX}&dn=a%00b%0Ac`).name, 'a_b_c');
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${HEX}&dn=..`).name, 'unnamed');
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${HEX}&dn=`).name, null);
  assert.equal(parseMagnet(`  magnet:?xt=urn:btih:${HEX}&dn=x#frag  `).name, 'x');
});

test('malformed magnet links are URL_INVALID with the reason', () => {
  rejects('https://example.com/file.torrent', /does not start with "magnet:\?"/);
  rejects('magnet:xt=urn:btih:' + HEX, /does not start/);
  rejects('magnet:?dn=nothing', /no BitTorrent info hash/);
  rejects('magnet:?xt=urn:sha1:' + HEX, /no BitTorrent info hash/);
  rejects(`magnet:?xt=urn:btih:${HEX.slice(1)}`, /40 hex digits or 32 base32/);
  rejects(`magnet:?xt=urn:btih:${HEX}0`, /40 hex digits or 32 base32/);
  rejects(`magnet:?xt=urn:btih:${'g'.repeat(40)}`, /40 hex digits or 32 base32/);
  rejects(`magnet:?xt=urn:btih:${'1'.repeat(32)}`, /40 hex digits or 32 base32/); // 1 is not base32
  rejects(`magnet:?xt=urn:btih:`, /40 hex digits or 32 base32/);
  rejects(`magnet:?xt=urn:btmh:1114${HEX}`, /SHA-256 multihash/);
  rejects(`magnet:?xt=urn:btmh:1220${V2.slice(2)}`, /SHA-256 multihash/);
  rejects(`magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${'0'.repeat(40)}`, /two different v1 info hashes/);
  rejects(`magnet:?xt=urn:btih:${HEX}&tr=${'a'.repeat(70_000)}`, /longer than 65536/);
});
