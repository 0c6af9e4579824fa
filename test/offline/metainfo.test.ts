// parseTorrent: what a .torrent says, decoded, sanitised and validated; hostile input refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError, type ErrorCode } from '../../src/errors.js';
import { nameProblem } from '../../src/names/file-names.js';
import { encodeBencode, RawBencode, type BEncodable } from '../../src/torrent/bencode.js';
import { assertDownloadable, destinationPath, parseTorrent, type TorrentMeta } from '../../src/torrent/metainfo.js';
import { buildV1, fileTree, KiB, payload, pieceHashes, sha1, sha256, wrapInfo } from '../support/torrent-builder.js';

const MiB = 1024 * KiB;
const PIECE = 16 * KiB;

function rejects(fn: () => unknown, pattern: RegExp, code: ErrorCode = 'TORRENT_INVALID'): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

function pathsOf(meta: TorrentMeta): string[] {
  return meta.files.map((f) => f.path.join('/'));
}

// ---- v1 basics ----

test('single-file torrent: exact infohash, pieces and one file', () => {
  const { torrent, infoBytes } = buildV1({ name: 'hello.bin', length: 100_000 });
  const meta = parseTorrent(torrent);
  assert.equal(meta.version, 1);
  assert.equal(meta.infoHash, sha1(infoBytes));
  assert.match(meta.infoHash!, /^[0-9a-f]{40}$/);
  assert.equal(meta.infoHashV2, null);
  assert.equal(meta.name, 'hello.bin');
  assert.equal(meta.folder, null);
  assert.equal(meta.pieceLength, PIECE);
  assert.equal(meta.pieceCount, 7);
  assert.equal(meta.totalSize, 100_000);
  assert.equal(meta.streamSize, 100_000);
  assert.equal(meta.private, false);
  assert.equal(meta.nameEncoding, 'utf-8');
  assert.deepEqual(meta.announce, ['http://tracker.example/announce']);
  assert.deepEqual(meta.urlList, []);
  assert.equal(meta.engineFileCount, 1);
  assert.deepEqual(meta.files, [{ index: 0, engineIndex: 0, path: ['hello.bin'], size: 100_000, offset: 0, pad: false, firstPiece: 0, lastPiece: 6 }]);
  assert.deepEqual(destinationPath(meta, meta.files[0]), ['hello.bin']);
});

test('multi-file torrent: folder, nested paths, offsets and piece ranges', () => {
  const { torrent, infoBytes } = buildV1({
    name: 'Album',
    files: [
      { path: ['cd1', 'a.flac'], size: 1000 },
      { path: ['c.bin'], size: 40_000 },
      { path: ['empty.txt'], size: 0 },
      { path: ['d', 'e', 'f.txt'], size: 20_000 },
    ],
    info: { private: 1 },
  });
  const meta = parseTorrent(torrent);
  assert.equal(meta.infoHash, sha1(infoBytes));
  assert.equal(meta.folder, 'Album');
  assert.equal(meta.private, true);
  assert.equal(meta.totalSize, 61_000);
  assert.equal(meta.pieceCount, Math.ceil(61_000 / PIECE));
  assert.deepEqual(pathsOf(meta), ['cd1/a.flac', 'c.bin', 'empty.txt', 'd/e/f.txt']);
  assert.deepEqual(
    meta.files.map((f) => [f.index, f.engineIndex, f.offset, f.firstPiece, f.lastPiece]),
    [
      [0, 0, 0, 0, 0],
      [1, 1, 1000, 0, 2], // 1000..40999 → pieces 0..2
      [2, 2, 41_000, 2, 1], // empty: no pieces (lastPiece = firstPiece - 1)
      [3, 3, 41_000, 2, 3], // 41000..60999
    ],
  );
  assert.deepEqual(destinationPath(meta, meta.files[3]), ['Album', 'd', 'e', 'f.txt']);
});

test('the infohash is the SHA-1 of the original info bytes, even with unsorted keys', () => {
  const hashes = pieceHashes(payload(5), PIECE);
  // "name" before "length": not canonical, as some old clients write it.
  const infoBytes = Buffer.concat([Buffer.from(`d4:name5:x.bin6:lengthi5e12:piece lengthi${PIECE}e6:pieces20:`), hashes, Buffer.from('e')]);
  const torrent = Buffer.concat([Buffer.from('d8:announce26:udp://tracker.example:69694:info'), infoBytes, Buffer.from('e')]);
  const meta = parseTorrent(torrent);
  assert.equal(meta.infoHash, sha1(infoBytes));
  assert.notEqual(sha1(encodeBencode({ name: 'x.bin', length: 5, 'piece length': PIECE, pieces: hashes })), meta.infoHash);
  assert.deepEqual(meta.announce, ['udp://tracker.example:6969']);
  // Duplicate keys are still refused.
  rejects(() => parseTorrent(Buffer.concat([Buffer.from('d4:infod4:name1:a4:name1:bee')])), /duplicate dictionary key/);
});

// ---- names and encodings ----

const ZHONGWEN_GBK = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]); // 中文
const ZHONGWEN_BIG5 = Buffer.from([0xa4, 0xa4, 0xa4, 0xe5]); // 中文
const NIHON_SJIS = Buffer.from([0x93, 0xfa, 0x96, 0x7b]); // 日本
const cat = (...parts: Array<Buffer | string>): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

test('a GBK torrent (encoding: GBK) shows the right names', () => {
  const { torrent } = buildV1({
    name: ZHONGWEN_GBK,
    files: [
      { path: [ZHONGWEN_GBK, cat(ZHONGWEN_GBK, '.txt')], size: 10 },
      { path: [cat('a', ZHONGWEN_GBK)], size: 3 },
    ],
    root: { encoding: 'GBK' },
  });
  const meta = parseTorrent(torrent);
  assert.equal(meta.name, '中文');
  assert.equal(meta.folder, '中文');
  assert.equal(meta.nameEncoding, 'gbk');
  assert.deepEqual(pathsOf(meta), ['中文/中文.txt', 'a中文']);
});

test('encoding labels are case-insensitive and Windows code-page aliases work', () => {
  for (const [label, bytes, text, expected] of [
    ['gbk', ZHONGWEN_GBK, '中文', 'gbk'],
    ['CP936', ZHONGWEN_GBK, '中文', 'gbk'],
    ['GB2312', ZHONGWEN_GBK, '中文', 'gbk'],
    ['BIG5', ZHONGWEN_BIG5, '中文', 'big5'],
    ['cp950', ZHONGWEN_BIG5, '中文', 'big5'],
    ['SHIFT_JIS', NIHON_SJIS, '日本', 'shift_jis'],
    ['cp932', NIHON_SJIS, '日本', 'shift_jis'],
  ] as const) {
    const meta = parseTorrent(buildV1({ name: cat(bytes, '.mkv'), length: 1, root: { encoding: label } }).torrent);
    assert.equal(meta.name, `${text}.mkv`, label);
    assert.equal(meta.nameEncoding, expected, label);
  }
});

test('without an encoding field: UTF-8 if every name is valid UTF-8, else GB18030 for the whole torrent', () => {
  const utf8 = parseTorrent(buildV1({ name: '中文', files: [{ path: ['日本.txt'], size: 1 }] }).torrent);
  assert.equal(utf8.nameEncoding, 'utf-8');
  assert.deepEqual([utf8.name, ...pathsOf(utf8)], ['中文', '日本.txt']);

  // "ab" is valid UTF-8 on its own, but one GBK name makes the whole torrent GB18030.
  const gbk = parseTorrent(
    buildV1({
      name: 'ab',
      files: [
        { path: [ZHONGWEN_GBK], size: 1 },
        { path: ['ab'], size: 1 },
      ],
    }).torrent,
  );
  assert.equal(gbk.nameEncoding, 'gb18030');
  assert.deepEqual(pathsOf(gbk), ['中文', 'ab']);

  // An unknown or useless label falls back to the same rule.
  for (const label of ['klingon', 'ISO-2022-KR', 'UTF-16LE']) {
    const meta = parseTorrent(buildV1({ name: ZHONGWEN_GBK, length: 1, root: { encoding: label } }).torrent);
    assert.equal(meta.name, '中文', label);
  }
});

test('name.utf-8 and path.utf-8 win over the legacy fields when they are valid UTF-8', () => {
  const junk = Buffer.from([0xff, 0xfe, 0x41]);
  const { torrent } = buildV1({
    name: junk,
    files: [
      { path: [junk], size: 1, extra: { 'path.utf-8': ['目录', '文件.txt'] } },
      // Invalid path.utf-8: the legacy path is used, decoded by the torrent's encoding.
      { path: [ZHONGWEN_GBK], size: 1, extra: { 'path.utf-8': [Buffer.from([0xc3])] } },
    ],
    info: { 'name.utf-8': '正确' },
    root: { encoding: 'gbk' },
  });
  const meta = parseTorrent(torrent);
  assert.equal(meta.name, '正确');
  assert.deepEqual(pathsOf(meta), ['目录/文件.txt', '中文']);
});

// ---- pad files, trackers, web seeds ----

test('pad files (BEP 47 and legacy BitComet names) are hidden, offsets still count them', () => {
  const { torrent } = buildV1({
    name: 'padded',
    files: [
      { path: ['a.bin'], size: 10_000 },
      { path: ['.pad', '6384'], size: 6384, attr: 'p' },
      { path: ['b.bin'], size: 20_000, attr: 'x' },
      { path: [cat('_____padding_file_0_', ZHONGWEN_GBK)], size: 12_768 },
      { path: ['c.bin'], size: 5 },
    ],
  });
  const meta = parseTorrent(torrent);
  assert.deepEqual(pathsOf(meta), ['a.bin', 'b.bin', 'c.bin']);
  assert.deepEqual(
    meta.files.map((f) => [f.index, f.engineIndex, f.offset, f.size, f.pad, f.firstPiece, f.lastPiece]),
    [
      [0, 0, 0, 10_000, false, 0, 0],
      [1, 2, 16_384, 20_000, false, 1, 2],
      [2, 4, 49_152, 5, false, 3, 3],
    ],
  );
  assert.equal(meta.engineFileCount, 5);
  assert.equal(meta.totalSize, 30_005);
  assert.equal(meta.streamSize, 49_157);
  assert.equal(meta.pieceCount, 4);
});

test('trackers from announce and announce-list, deduplicated, only http/https/udp', () => {
  const { torrent } = buildV1({
    name: 'x',
    length: 1,
    root: {
      announce: 'udp://a.example:80/announce',
      'announce-list': [
        ['udp://a.example:80/announce', 'http://b.example/announce'],
        ['wss://c.example', 'javascript:alert(1)', 'https://d.example/ann?passkey=abc', ' http://b.example/announce '],
        'http://flat.example/announce',
        [7, ['nested']],
        ['http://with space.example/', 'http://ctrl\u0001.example/', 'file:///etc/passwd', 'udp://'],
      ],
      'url-list': ['http://seed.example/files/', 'https://seed2.example/x', 'ftp://nope.example/', 'http://seed.example/files/'],
    },
  });
  const meta = parseTorrent(torrent);
  assert.deepEqual(meta.announce, [
    'udp://a.example:80/announce',
    'http://b.example/announce',
    'https://d.example/ann?passkey=abc',
    'http://flat.example/announce',
  ]);
  assert.deepEqual(meta.urlList, ['http://seed.example/files/', 'https://seed2.example/x']);

  const single = parseTorrent(buildV1({ name: 'x', length: 1, root: { announce: undefined, 'url-list': 'https://seed.example/x.bin' } }).torrent);
  assert.deepEqual(single.urlList, ['https://seed.example/x.bin']);
  assert.deepEqual(single.announce, []);
});

// ---- hostile paths ----

test('hostile paths are sanitised: nothing climbs out, no separators or control characters in a name', () => {
  const cases: Array<[Array<string | Buffer>, string[]]> = [
    [
      ['..', '..', 'etc', 'passwd'],
      ['_', '_', 'etc', 'passwd'],
    ],
    [
      ['', 'etc', 'passwd'],
      ['etc', 'passwd'],
    ], // absolute → relative
    [['/etc/passwd'], ['_etc_passwd']],
    [['a/../../b'], ['a_.._.._b']],
    [['..\\..\\win.ini'], ['.._.._win.ini']],
    [
      ['.', 'ok', '', 'x.txt'],
      ['ok', 'x.txt'],
    ],
    [
      ['x\u0000y\u001b\u007fz', 'tab\there'],
      ['x_y__z', 'tab_here'],
    ],
    [['line\u2028sep'], ['line_sep']],
    [[''], ['_']],
    [['  '], ['_']],
    [['a'.repeat(300) + '.txt'], ['a'.repeat(251) + '.txt']],
    [['中'.repeat(100)], ['中'.repeat(85)]], // 255 bytes of 3-byte characters
  ];
  const { torrent } = buildV1({ name: '../../etc', files: cases.map(([path], i) => ({ path, size: i + 1 })) });
  const meta = parseTorrent(torrent);
  assert.equal(meta.name, '.._.._etc');
  assert.equal(meta.folder, '.._.._etc');
  meta.files.forEach((f, i) => {
    assert.deepEqual(f.path, cases[i][1], `case ${i}`);
    for (const segment of f.path) assert.equal(nameProblem(segment), null, `case ${i}: ${segment}`);
  });

  // A torrent named ".." (or nothing usable) is named after its infohash.
  const dotdot = parseTorrent(buildV1({ name: '..', length: 1 }).torrent);
  assert.equal(dotdot.name, dotdot.infoHash);
  assert.deepEqual(dotdot.files[0].path, [dotdot.infoHash]);
});

test('a path deeper than the limit is refused (64 segments pass, 65 and 10,000 do not)', () => {
  const deep = (n: number) => buildV1({ name: 'd', files: [{ path: Array.from({ length: n }, (_, i) => `s${i}`), size: 1 }] }).torrent;
  assert.equal(parseTorrent(deep(64)).files[0].path.length, 64);
  rejects(() => parseTorrent(deep(65)), /info\.files\[0\]\.path has 65 segments, more than the limit of 64/);
  rejects(() => parseTorrent(deep(10_000)), /10000 segments/);
  rejects(() => parseTorrent(deep(9), { maxPathDepth: 8 }), /more than the limit of 8/);
});

// ---- malformed input ----

test('every truncation of a torrent is TORRENT_INVALID', () => {
  const { torrent } = buildV1({
    name: 'trunc',
    files: [
      { path: ['a', 'b.txt'], size: 20_000 },
      { path: ['.pad', 'x'], size: 12_768, attr: 'p' },
      { path: ['c'], size: 100 },
    ],
    root: { 'url-list': ['http://seed.example/'], encoding: 'UTF-8' },
  });
  assert.ok(parseTorrent(torrent));
  for (let n = 0; n < torrent.length; n++) {
    rejects(() => parseTorrent(torrent.subarray(0, n)), /./);
  }
  rejects(() => parseTorrent(Buffer.concat([torrent, Buffer.from('x')])), /trailing data/);
});

test('random mutations of a torrent never escape as anything but an AppError', () => {
  const { torrent } = buildV1({
    name: 'fuzz',
    files: [
      { path: ['a'], size: 100 },
      { path: ['b', 'c'], size: 20_000 },
    ],
  });
  const noise = payload(100_000, 3);
  for (let i = 0; i < 3000; i++) {
    const input = Buffer.from(torrent);
    for (let k = 0; k < 1 + (i % 3); k++) input[(noise[i * 3 + k] * 7) % input.length] = noise[i * 3 + k + 1];
    try {
      parseTorrent(input);
    } catch (err) {
      assert.ok(err instanceof AppError && (err.code === 'TORRENT_INVALID' || err.code === 'PROTOCOL_UNSUPPORTED'), String(err));
    }
  }
});

test('wrong types are refused with the field named', () => {
  const hashes = pieceHashes(payload(1), PIECE);
  const info = (extra: { [key: string]: BEncodable | undefined }) =>
    wrapInfo(encodeBencode({ name: 'x', 'piece length': PIECE, pieces: hashes, length: 1, ...extra }));
  rejects(() => parseTorrent(info({ name: 42 })), /info\.name must be a byte string/);
  rejects(() => parseTorrent(info({ name: undefined })), /info\.name is missing/);
  rejects(() => parseTorrent(info({ length: '1' })), /info\.length must be an integer/);
  rejects(() => parseTorrent(info({ 'piece length': '16384' })), /piece length.*not an integer/);
  rejects(() => parseTorrent(info({ pieces: [hashes] })), /info\.pieces is missing or not a byte string/);
  rejects(() => parseTorrent(info({ length: undefined, files: 'abc' })), /info\.files must be a list/);
  rejects(() => parseTorrent(info({ length: undefined, files: [] })), /info\.files is empty/);
  rejects(() => parseTorrent(info({ length: undefined, files: [5] })), /info\.files\[0\] must be a dictionary/);
  rejects(() => parseTorrent(info({ length: undefined, files: [{ length: 1, path: 'a' }] })), /info\.files\[0\]\.path must be a list/);
  rejects(() => parseTorrent(info({ length: undefined, files: [{ length: 1, path: [] }] })), /info\.files\[0\]\.path is empty/);
  rejects(() => parseTorrent(info({ length: undefined, files: [{ length: 1, path: [1] }] })), /only byte strings/);
  rejects(() => parseTorrent(info({ length: undefined, files: [{ length: 1 }] })), /info\.files\[0\]\.path is missing/);
  rejects(() => parseTorrent(info({ length: undefined, files: [{ length: '1', path: ['a'] }] })), /info\.files\[0\]\.length must be an integer/);
  rejects(() => parseTorrent(info({ files: [{ length: 1, path: ['a'] }] })), /both "length" and "files"/);
  rejects(() => parseTorrent(info({ length: undefined })), /none of "length", "files" or "file tree"/);
  rejects(() => parseTorrent(encodeBencode({ info: [1] })), /"info" is missing or not a dictionary/);
  rejects(() => parseTorrent(encodeBencode({ announce: 'x' })), /"info" is missing/);
  rejects(() => parseTorrent(encodeBencode([1, 2])), /not a bencoded dictionary/);
});

test('negative sizes, absurd piece lengths and wrong piece counts are refused', () => {
  const hashes = (n: number) => Buffer.alloc(20 * n, 7);
  const t = (info: { [key: string]: BEncodable | undefined }) => wrapInfo(encodeBencode({ name: 'x', 'piece length': PIECE, pieces: hashes(1), ...info }));
  rejects(() => parseTorrent(t({ length: -1 })), /info\.length is negative \(-1\)/);
  rejects(
    () =>
      parseTorrent(
        t({
          files: [
            { length: 5, path: ['a'] },
            { length: -5, path: ['b'] },
          ],
        }),
      ),
    /info\.files\[1\]\.length is negative/,
  );
  rejects(() => parseTorrent(t({ length: 1, 'piece length': 2 ** 40 })), /1099511627776 is not between 1 byte and 256 MiB/);
  rejects(() => parseTorrent(t({ length: 1, 'piece length': 0 })), /not between/);
  rejects(() => parseTorrent(t({ length: 1, 'piece length': -16384 })), /not between/);
  rejects(() => parseTorrent(t({ length: 1, 'piece length': 512 * MiB })), /not between/);
  // 256 MiB is the largest allowed; v1 accepts a piece length that is not a power of two.
  assert.equal(parseTorrent(t({ length: 1, 'piece length': 256 * MiB })).pieceLength, 256 * MiB);
  assert.equal(parseTorrent(t({ length: 1000, 'piece length': 1000 })).pieceCount, 1);
  rejects(() => parseTorrent(t({ length: PIECE + 1 })), /info\.pieces has 1 hashes but 16385 bytes in pieces of 16384 need 2/);
  rejects(() => parseTorrent(t({ length: 1, pieces: hashes(2) })), /has 2 hashes .* need 1/);
  rejects(() => parseTorrent(t({ length: 1, pieces: Buffer.alloc(19) })), /19 bytes, not a multiple of 20/);
  rejects(
    () =>
      parseTorrent(
        t({
          files: [
            { length: Number.MAX_SAFE_INTEGER, path: ['a'] },
            { length: 1, path: ['b'] },
          ],
        }),
      ),
    /total size is too large/,
  );
  // A zero-byte torrent is consistent with zero pieces.
  assert.equal(parseTorrent(t({ length: 0, pieces: Buffer.alloc(0) })).pieceCount, 0);
});

test('100,000 files are allowed, 100,001 are TORRENT_INVALID "too many files"', () => {
  const build = (n: number) =>
    wrapInfo(
      encodeBencode({
        name: 'many',
        'piece length': 64 * KiB,
        pieces: Buffer.alloc(20 * Math.ceil(n / (64 * KiB)), 1),
        files: Array.from({ length: n }, (_, i) => ({ length: 1, path: [`d${i % 100}`, `f${i}`] })),
      }),
    );
  const meta = parseTorrent(build(100_000));
  assert.equal(meta.files.length, 100_000);
  assert.deepEqual(meta.files[99_999].path, ['d99', 'f99999']);
  rejects(() => parseTorrent(build(100_001)), /too many files/);
  rejects(() => parseTorrent(build(11), { maxFiles: 10 }), /too many files \(more than 10\)/);
});

test('hostile bencode inside a torrent: deep nesting, huge string lengths, size limit', () => {
  const started = performance.now();
  rejects(() => parseTorrent(Buffer.from('d4:info' + 'l'.repeat(100_000))), /nesting deeper than/);
  rejects(() => parseTorrent(Buffer.from('l'.repeat(100_000) + 'e'.repeat(100_000))), /nesting deeper than/);
  rejects(() => parseTorrent(Buffer.from('d4:infod4:name99999999999:')), /string of 99999999999 bytes/);
  rejects(() => parseTorrent(Buffer.from('99999999999:')), /string of 99999999999 bytes/);
  assert.ok(performance.now() - started < 200, `took ${performance.now() - started} ms`);
  const { torrent } = buildV1({ name: 'x', length: 1 });
  rejects(() => parseTorrent(torrent, { maxBytes: torrent.length - 1 }), /larger than the limit/);
  rejects(() => parseTorrent(torrent, { maxItems: 5 }), /more than 5 values/);
});

// ---- v2 and hybrid (BEP 52) ----

function v2Torrent(
  files: Array<{ path: string[]; size: number }>,
  info: { [key: string]: BEncodable | undefined } = {},
  root: { [key: string]: BEncodable } = {},
) {
  const infoBytes = encodeBencode({ name: 'v2test', 'piece length': PIECE, 'meta version': 2, 'file tree': fileTree(files), ...info });
  return { infoBytes, torrent: encodeBencode({ announce: 'udp://t.example:1/', ...root, info: new RawBencode(infoBytes) }) };
}

test('pure v2 torrent: SHA-256 infohash, file-tree order, piece-aligned offsets, not downloadable by a v1 engine', () => {
  const { torrent, infoBytes } = v2Torrent([
    { path: ['dir', 'a.txt'], size: 40_000 },
    { path: ['dir', 'b.txt'], size: 0 },
    { path: ['c.bin'], size: 20_000 },
  ]);
  const meta = parseTorrent(torrent);
  assert.equal(meta.version, 2);
  assert.equal(meta.infoHash, null);
  assert.equal(meta.infoHashV2, sha256(infoBytes));
  assert.match(meta.infoHashV2!, /^[0-9a-f]{64}$/);
  assert.equal(meta.folder, 'v2test');
  assert.deepEqual(pathsOf(meta), ['c.bin', 'dir/a.txt', 'dir/b.txt']);
  assert.deepEqual(
    meta.files.map((f) => [f.index, f.offset, f.firstPiece, f.lastPiece]),
    [
      [0, 0, 0, 1],
      [1, 32_768, 2, 4],
      [2, 81_920, 5, 4],
    ],
  );
  assert.equal(meta.pieceCount, 5);
  assert.equal(meta.totalSize, 60_000);
  rejects(() => assertDownloadable(meta), /v2 only/, 'PROTOCOL_UNSUPPORTED');
  assertDownloadable(meta, { v2: true });

  const single = parseTorrent(v2Torrent([{ path: ['movie.mkv'], size: 5 }]).torrent);
  assert.equal(single.folder, null);
  assert.deepEqual(pathsOf(single), ['movie.mkv']);
});

test('v2 torrents are validated: piece length, tree shape, depth, meta version, piece layers', () => {
  const ok = [{ path: ['a'], size: 40_000 }];
  rejects(() => parseTorrent(v2Torrent(ok, { 'piece length': 3 * PIECE }).torrent), /power of two of at least 16 KiB/);
  rejects(() => parseTorrent(v2Torrent(ok, { 'piece length': 8 * KiB }).torrent), /power of two/);
  rejects(() => parseTorrent(v2Torrent(ok, { 'meta version': 3 }).torrent), /meta version 3/, 'PROTOCOL_UNSUPPORTED');
  rejects(() => parseTorrent(v2Torrent(ok, { 'meta version': undefined }).torrent), /"file tree" but no "meta version"/);
  rejects(() => parseTorrent(v2Torrent(ok, { 'file tree': undefined }).torrent), /"file tree"\] is missing/);
  rejects(() => parseTorrent(v2Torrent(ok, { 'file tree': {} }).torrent), /has no files/);
  rejects(() => parseTorrent(v2Torrent(ok, { 'file tree': { a: { '': { length: 5 } } } }).torrent), /"pieces root" is missing/);
  rejects(() => parseTorrent(v2Torrent(ok, { 'file tree': { a: { '': { length: 0, 'pieces root': 'short' } } } }).torrent), /32 bytes/);
  rejects(() => parseTorrent(v2Torrent(ok, { 'file tree': { a: { '': { length: -1 } } } }).torrent), /length is negative/);
  rejects(() => parseTorrent(v2Torrent(ok, { 'file tree': { a: { '': { length: 0 }, b: {} } } }).torrent), /other keys next to ""/);
  rejects(() => parseTorrent(v2Torrent(ok, { 'file tree': { a: 5 } }).torrent), /must be dictionaries/);
  rejects(() => parseTorrent(v2Torrent(ok, { 'file tree': { '': { length: 0 } } }).torrent), /cannot itself be a file/);

  const deep = (n: number) => v2Torrent([{ path: Array.from({ length: n }, (_, i) => `s${i}`), size: 1 }]).torrent;
  assert.equal(parseTorrent(deep(64)).files[0].path.length, 64);
  rejects(() => parseTorrent(deep(65)), /deeper than the limit of 64 segments|nesting deeper/);
  rejects(() => parseTorrent(Buffer.from('d4:infod9:file treed' + '1:ad'.repeat(10_000))), /nesting deeper than/);

  const files = [{ path: ['a'], size: 40_000 }];
  const root = (fileTree(files) as any).a[''][`pieces root`] as Buffer;
  const layers = (bytes: number) => new Map([[root.toString('latin1'), Buffer.alloc(bytes)]]);
  assert.equal(parseTorrent(v2Torrent(files, {}, { 'piece layers': layers(3 * 32) }).torrent).files.length, 1);
  rejects(() => parseTorrent(v2Torrent(files, {}, { 'piece layers': layers(2 * 32) }).torrent), /"piece layers" entry does not match/);
});

test('hybrid torrent: both infohashes over the same bytes, files from the v1 list without pads, downloadable', () => {
  const v2Files = [
    { path: ['a.bin'], size: 10_000 },
    { path: ['sub', 'b.bin'], size: 20_000 },
  ];
  const { torrent, infoBytes } = buildV1({
    name: 'hybrid',
    files: [
      { path: ['a.bin'], size: 10_000 },
      { path: ['.pad', '6384'], size: 6384, attr: 'p' },
      { path: ['sub', 'b.bin'], size: 20_000 },
    ],
    info: { 'meta version': 2, 'file tree': fileTree(v2Files) },
  });
  const meta = parseTorrent(torrent);
  assert.equal(meta.version, 'hybrid');
  assert.equal(meta.infoHash, sha1(infoBytes));
  assert.equal(meta.infoHashV2, sha256(infoBytes));
  assert.deepEqual(pathsOf(meta), ['a.bin', 'sub/b.bin']);
  assert.deepEqual(
    meta.files.map((f) => [f.index, f.engineIndex, f.offset]),
    [
      [0, 0, 0],
      [1, 2, 16_384],
    ],
  );
  assert.equal(meta.pieceCount, 3);
  assertDownloadable(meta);

  const liar = buildV1({
    name: 'hybrid',
    files: [{ path: ['a.bin'], size: 10_000 }],
    info: { 'meta version': 2, 'file tree': fileTree([{ path: ['a.bin'], size: 10_001 }]) },
  });
  rejects(() => parseTorrent(liar.torrent), /v1 files \(10000 bytes\) and the v2 file tree \(10001 bytes\) disagree/);
});
