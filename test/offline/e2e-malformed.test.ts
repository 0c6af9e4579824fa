// Malformed torrents through the API: each uploaded into the drive, then given to
// /v1/offline/parseTorrent → 400 TORRENT_INVALID with a reason, and the server keeps answering.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { encodeBencode, RawBencode, type BEncodable } from '../../src/torrent/bencode.js';
import { startServer } from '../support/server.js';
import { uploadTorrent } from '../support/offline-e2e.js';

const PIECE = 16 * 1024;

function pieces(total: number, pieceLength = PIECE): Buffer {
  const data = Buffer.alloc(total);
  const out: Buffer[] = [];
  for (let o = 0; o < total; o += pieceLength)
    out.push(
      createHash('sha1')
        .update(data.subarray(o, o + pieceLength))
        .digest(),
    );
  return Buffer.concat(out);
}

function torrent(info: Record<string, BEncodable | undefined>, root: Record<string, BEncodable | undefined> = {}): Buffer {
  return encodeBencode({ announce: 'http://127.0.0.1:1/announce', ...root, info: new RawBencode(encodeBencode(info)) });
}

/** A multi-file torrent of `n` one-byte files in folders of 1,000. */
function manyFiles(n: number): Buffer {
  const files: BEncodable[] = [];
  for (let i = 0; i < n; i++) files.push({ length: 1, path: [`d${Math.floor(i / 1000)}`, `f${i}`] });
  return torrent({ name: 'many', 'piece length': PIECE, pieces: pieces(n), files });
}

describe('malformed torrents through the API', () => {
  test('each is 400 TORRENT_INVALID, and the server keeps answering', async () => {
    const good = torrent({ name: 'ok.bin', 'piece length': PIECE, pieces: pieces(40_000), length: 40_000 });
    const cases: Array<[string, Buffer]> = [
      ['truncated in the middle', good.subarray(0, Math.floor(good.length / 2))],
      ['truncated by one byte', good.subarray(0, good.length - 1)],
      ['empty file', Buffer.alloc(0)],
      ['not bencode', Buffer.from('<html>not a torrent</html>')],
      ['a list at the top', encodeBencode([1, 2, 3])],
      ['info is a list', encodeBencode({ announce: 'http://x/announce', info: [1, 2] })],
      ['info is missing', encodeBencode({ announce: 'http://x/announce' })],
      ['name is an integer', torrent({ name: 7, 'piece length': PIECE, pieces: pieces(10), length: 10 })],
      ['length is a string', torrent({ name: 'a', 'piece length': PIECE, pieces: pieces(10), length: '10' })],
      ['files is a dictionary', torrent({ name: 'a', 'piece length': PIECE, pieces: pieces(10), files: { length: 10, path: ['x'] } })],
      ['a path is a string', torrent({ name: 'a', 'piece length': PIECE, pieces: pieces(10), files: [{ length: 10, path: 'x' }] })],
      ['a path segment is an integer', torrent({ name: 'a', 'piece length': PIECE, pieces: pieces(10), files: [{ length: 10, path: ['x', 5] }] })],
      ['piece length is a string', torrent({ name: 'a', 'piece length': '16384', pieces: pieces(10), length: 10 })],
      ['pieces is an integer', torrent({ name: 'a', 'piece length': PIECE, pieces: 12, length: 10 })],
      ['negative length', torrent({ name: 'a', 'piece length': PIECE, pieces: Buffer.alloc(0), length: -1 })],
      [
        'negative file length',
        torrent({
          name: 'a',
          'piece length': PIECE,
          pieces: pieces(10),
          files: [
            { length: 10, path: ['x'] },
            { length: -10, path: ['y'] },
          ],
        }),
      ],
      ['piece length 0', torrent({ name: 'a', 'piece length': 0, pieces: pieces(10), length: 10 })],
      ['negative piece length', torrent({ name: 'a', 'piece length': -PIECE, pieces: pieces(10), length: 10 })],
      ['piece length 1 TiB', torrent({ name: 'a', 'piece length': 2 ** 40, pieces: pieces(10), length: 10 })],
      ['piece length beyond 2^53', Buffer.from(`d4:infod6:lengthi10e4:name1:a12:piece lengthi99999999999999999999999e6:pieces20:${'x'.repeat(20)}ee`)],
      ['wrong number of piece hashes', torrent({ name: 'a', 'piece length': PIECE, pieces: pieces(10 * PIECE), length: 10 })],
      ['a size beyond 2^53', Buffer.from(`d4:infod6:lengthi9007199254740993e4:name1:a12:piece lengthi16384e6:pieces20:${'x'.repeat(20)}ee`)],
      ['nesting 100,000 deep', Buffer.from('l'.repeat(100_000) + 'e'.repeat(100_000))],
      ['a string longer than the file', Buffer.from('d4:infod4:name999999:aee')],
      ['100,001 files', manyFiles(100_001)],
    ];
    const server = await startServer();
    try {
      const alice = await server.newUser('alice');
      for (const [what, data] of cases) {
        const file = await uploadTorrent(alice, `bad-${what.replace(/[^a-z0-9]+/gi, '-')}.torrent`, data);
        const r = await alice.raw('/v1/offline/parseTorrent', { uuid: file.uuid });
        assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.code, 'TORRENT_INVALID', `${what}: ${JSON.stringify(r.json)}`);
        assert.ok((r.json.message ?? '').length > 0, `${what}: a reason`);
        assert.equal((await alice.raw('/v1/user/info')).status, 200, `the server answers after "${what}"`);
      }
      // The limit is exactly 100,000: one file fewer parses.
      const limit = await uploadTorrent(alice, 'limit.torrent', manyFiles(100_000));
      const parsed = await alice.call('/v1/offline/parseTorrent', { uuid: limit.uuid });
      assert.equal(parsed.files.length, 100_000);
      assert.equal(parsed.files[99_999].path, 'd99/f99999');
      assert.equal((await alice.call('/v1/offline/page', {})).totalCount, 0, 'nothing was started');
    } finally {
      await server.close();
    }
  });
});
