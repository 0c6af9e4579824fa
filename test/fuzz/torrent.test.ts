import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import { nameProblem } from '../../src/names/file-names.js';
import { decodeBencode, encodeBencode, type BDict, type BValue } from '../../src/torrent/bencode.js';
import { parseTorrent, type TorrentMeta } from '../../src/torrent/metainfo.js';
import { buildV1, fileTree, KiB } from '../support/torrent-builder.js';
import { fuzzParams, mutated, returnsOrThrows } from '../support/fuzz.js';

// parseTorrent under hostile input: a TorrentMeta whose promises hold (hex infohashes, safe
// path segments, sizes that add up), or TORRENT_INVALID / PROTOCOL_UNSUPPORTED.

const CODES = ['TORRENT_INVALID', 'PROTOCOL_UNSUPPORTED'] as const;

function checkMeta(meta: TorrentMeta): void {
  assert.ok(meta.infoHash === null || /^[0-9a-f]{40}$/.test(meta.infoHash), `infoHash ${meta.infoHash}`);
  assert.ok(meta.infoHashV2 === null || /^[0-9a-f]{64}$/.test(meta.infoHashV2), `infoHashV2 ${meta.infoHashV2}`);
  assert.ok(meta.infoHash !== null || meta.infoHashV2 !== null);
  assert.equal(nameProblem(meta.name), null, `name ${JSON.stringify(meta.name)}`);
  assert.ok(meta.files.length > 0);
  let total = 0;
  meta.files.forEach((f, i) => {
    assert.equal(f.index, i);
    assert.ok(Number.isSafeInteger(f.size) && f.size >= 0);
    assert.ok(f.path.length > 0);
    for (const seg of f.path) assert.equal(nameProblem(seg), null, `path segment ${JSON.stringify(seg)}`);
    total += f.size;
  });
  assert.equal(meta.totalSize, total);
}

function parse(bytes: Buffer): void {
  const r = returnsOrThrows(() => parseTorrent(bytes), CODES);
  if (!(r instanceof AppError)) checkMeta(r);
}

const segment = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('..', '.', '', '/', '\\', '/etc/passwd', 'C:\\x', 'a\u0000b', '\u202e', 'ｆｕｌｌ', '\ud800', '_____padding_file_1'),
);
const validTorrent: fc.Arbitrary<Buffer> = fc.oneof(
  fc.record({ name: fc.string({ maxLength: 20 }), length: fc.nat(100 * KiB) }).map((o) => buildV1({ name: o.name || 'x', length: o.length }).torrent),
  fc
    .array(fc.record({ path: fc.array(segment, { minLength: 1, maxLength: 4 }), size: fc.nat(40 * KiB) }), { minLength: 1, maxLength: 6 })
    .map((files) => buildV1({ name: 'multi', files }).torrent),
);

/** A random bencode value of any type, as wrong field contents. */
const anyValue: fc.Arbitrary<BValue> = fc.oneof(
  fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
  fc.constantFrom(0, -1, 1, 2, 16 * KiB, 2 ** 31, 2 ** 53 - 1),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.constantFrom(Buffer.from('..'), Buffer.from(''), Buffer.from('gbk'), Buffer.from('utf-16le'), Buffer.alloc(20), Buffer.alloc(32)),
  fc.array(
    fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b) as BValue),
    { maxLength: 4 },
  ),
  fc.constant(new Map<string, BValue>()),
  fc.constant(new Map<string, BValue>([['', new Map<string, BValue>([['length', 5]])]])),
);

const INFO_KEYS = ['name', 'name.utf-8', 'piece length', 'pieces', 'length', 'files', 'meta version', 'file tree', 'private'];
const ROOT_KEYS = ['info', 'announce', 'announce-list', 'url-list', 'encoding', 'piece layers'];
const FILE_KEYS = ['length', 'path', 'path.utf-8', 'attr'];

/** Decodes a valid torrent, replaces (or deletes) fields at the top, in info or in a file entry, re-encodes. */
function withFields(torrent: Buffer, edits: Array<[number, number, BValue | null]>): Buffer {
  const root = decodeBencode(torrent, { lenient: true }).value as BDict;
  const info = root.get('info') as BDict;
  for (const [where, which, value] of edits) {
    let dict: BDict;
    let keys: string[];
    const files = info.get('files');
    if (where % 3 === 0) [dict, keys] = [root, ROOT_KEYS];
    else if (where % 3 === 1 || !Array.isArray(files) || files.length === 0) [dict, keys] = [info, INFO_KEYS];
    else [dict, keys] = [(files[which % files.length] as BDict) ?? info, FILE_KEYS];
    if (!(dict instanceof Map)) continue;
    const key = keys[which % keys.length];
    if (value === null) dict.delete(key);
    else dict.set(key, value);
  }
  return encodeBencode(root);
}

describe('fuzz: torrent parser', () => {
  test('arbitrary bytes parse or are TORRENT_INVALID / PROTOCOL_UNSUPPORTED', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => parse(Buffer.from(b))),
      fuzzParams('torrent arbitrary bytes', 2000),
    );
  });

  test('valid torrents with hostile paths parse to safe names', () => {
    fc.assert(
      fc.property(validTorrent, (t) => {
        const meta = parseTorrent(t);
        checkMeta(meta);
      }),
      fuzzParams('torrent valid', 300),
    );
  });

  test('byte-mutated valid torrents parse or are refused with a torrent code', () => {
    fc.assert(fc.property(mutated(validTorrent), parse), fuzzParams('torrent byte mutations', 1500));
  });

  test('torrents with fields of the wrong type, missing or out of range parse or are refused with a torrent code', () => {
    const edit = fc.tuple(fc.nat(), fc.nat(), fc.option(anyValue, { nil: null, freq: 5 }));
    fc.assert(
      fc.property(validTorrent, fc.array(edit, { minLength: 1, maxLength: 4 }), (t, edits) => parse(withFields(t, edits))),
      fuzzParams('torrent field edits', 1500),
    );
  });

  test('v2 and hybrid file trees with hostile segments parse or are refused with a torrent code', () => {
    const files = fc.array(fc.record({ path: fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 3 }), size: fc.nat(64 * KiB) }), {
      minLength: 1,
      maxLength: 5,
    });
    fc.assert(
      fc.property(files, fc.constantFrom(16 * KiB, 32 * KiB, 1000, 0), fc.boolean(), fc.constantFrom(2, 1, 3), (fs, pieceLength, hybrid, version) => {
        let tree: ReturnType<typeof fileTree>;
        try {
          tree = fileTree(fs);
        } catch {
          return; // the builder refuses a path that is both a file and a folder
        }
        const info = {
          name: 'v2',
          'piece length': pieceLength,
          'meta version': version,
          'file tree': tree,
          ...(hybrid ? { length: fs.reduce((s, f) => s + f.size, 0), pieces: Buffer.alloc(20) } : {}),
        };
        parse(encodeBencode({ info }));
      }),
      fuzzParams('torrent v2 trees', 800),
    );
  });

  test('a torrent with a huge declared size or piece length is refused, not allocated', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2 ** 40, max: 2 ** 53 - 1 }), fc.integer({ min: 1, max: 2 ** 53 - 1 }), (length, pieceLength) => {
        parse(encodeBencode({ info: { name: 'big', length, 'piece length': pieceLength, pieces: Buffer.alloc(20) } }));
      }),
      fuzzParams('torrent huge sizes', 500),
    );
  });
});
