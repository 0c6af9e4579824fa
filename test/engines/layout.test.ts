// The BitTorrent engine's pure pieces: disk layout, piece ranges of a selection, verified bytes
// per file, and the mapping of errors to failure codes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { diskLayout, pieceRanges, rangesComplete, verifiedBytes } from '../../src/engines/bittorrent/layout.js';
import { failureFromError } from '../../src/engines/index.js';
import { parseTorrent, type TorrentFile } from '../../src/torrent/index.js';
import { buildV1, KiB } from '../support/torrent-builder.js';

const DIR = '/var/openpan/tmp/task-1';

test('single-file torrent: the file sits at data/<name>', () => {
  const meta = parseTorrent(buildV1({ name: 'movie.mkv', length: 100 * KiB }).torrent);
  assert.deepEqual(diskLayout(meta, DIR), [join(DIR, 'data', 'movie.mkv')]);
});

test('multi-file torrent: data/<folder>/<path>, pad files under pad/, hostile names neutralised', () => {
  const meta = parseTorrent(
    buildV1({
      name: 'Show',
      files: [
        { path: ['s1', 'e1.mkv'], size: 10_000 },
        { path: ['.pad', '6384'], size: 6384, attr: 'p' },
        { path: ['..', '..', 'etc', 'passwd'], size: 10 },
        { path: ['', 'abs.txt'], size: 10 },
      ],
    }).torrent,
  );
  assert.deepEqual(diskLayout(meta, DIR), [
    join(DIR, 'data', 'Show', 's1', 'e1.mkv'),
    join(DIR, 'pad', '1'),
    join(DIR, 'data', 'Show', '_', '_', 'etc', 'passwd'),
    join(DIR, 'data', 'Show', 'abs.txt'),
  ]);
});

test('files whose paths collide (same path, or a file where another needs a folder) go to renamed/<index>', () => {
  const meta = parseTorrent(
    buildV1({
      name: 'T',
      files: [
        { path: ['a', 'b'], size: 10 },
        { path: ['a\\b'], size: 10 }, // sanitised to a_b: no clash
        { path: ['a', 'b'], size: 10 }, // same path as file 0
        { path: ['a', 'b', 'c'], size: 10 }, // needs a/b to be a folder
        { path: ['a'], size: 10 }, // a is already a folder
      ],
    }).torrent,
  );
  const layout = diskLayout(meta, DIR);
  assert.equal(layout[0], join(DIR, 'data', 'T', 'a', 'b'));
  assert.equal(layout[2], join(DIR, 'renamed', '2'));
  assert.equal(layout[3], join(DIR, 'renamed', '3'));
  assert.equal(layout[4], join(DIR, 'renamed', '4'));
  assert.equal(new Set(layout).size, layout.length, 'every file has its own path');
});

const file = (firstPiece: number, lastPiece: number, size = 1): Pick<TorrentFile, 'firstPiece' | 'lastPiece' | 'size'> => ({ firstPiece, lastPiece, size });

test('pieceRanges merges overlapping and adjacent files, skips empty ones', () => {
  assert.deepEqual(pieceRanges([]), []);
  assert.deepEqual(pieceRanges([file(5, 9), file(0, 2), file(2, 4), file(12, 12), file(7, 6, 0)]), [
    [0, 9],
    [12, 12],
  ]);
  assert.deepEqual(pieceRanges([file(3, 3), file(3, 3)]), [[3, 3]]);
});

test('rangesComplete is true only when every piece of every range is verified', () => {
  const have = new Set([0, 1, 2, 5]);
  assert.equal(
    rangesComplete(
      [
        [0, 2],
        [5, 5],
      ],
      (p) => have.has(p),
    ),
    true,
  );
  assert.equal(
    rangesComplete(
      [
        [0, 2],
        [4, 5],
      ],
      (p) => have.has(p),
    ),
    false,
  );
  assert.equal(
    rangesComplete([], () => false),
    true,
  );
});

test("verifiedBytes counts only the file's own bytes of verified pieces, exact at piece boundaries", () => {
  const L = 100;
  // A file from byte 150 to 400 (exclusive): pieces 1..3, ending exactly on a piece boundary —
  // the case where WebTorrent 1.9.7's file.downloaded drops a whole piece.
  const f = { offset: 150, size: 250, firstPiece: 1, lastPiece: 3 };
  assert.equal(
    verifiedBytes(f, L, () => true),
    250,
  );
  assert.equal(
    verifiedBytes(f, L, (p) => p === 1),
    50,
  );
  assert.equal(
    verifiedBytes(f, L, (p) => p === 3),
    100,
  );
  assert.equal(
    verifiedBytes(f, L, () => false),
    0,
  );
  // Inside one piece.
  assert.equal(
    verifiedBytes({ offset: 210, size: 30, firstPiece: 2, lastPiece: 2 }, L, () => true),
    30,
  );
  // Empty file.
  assert.equal(
    verifiedBytes({ offset: 200, size: 0, firstPiece: 2, lastPiece: 1 }, L, () => true),
    0,
  );
});

test('failureFromError: ENOSPC and EDQUOT are DISK_FULL, other errnos IO_ERROR, the rest ENGINE_ERROR', () => {
  const errno = (code: string) => Object.assign(new Error(code), { code });
  assert.deepEqual(
    [errno('ENOSPC'), errno('EDQUOT'), errno('EACCES'), new Error('Cannot add duplicate torrent abc'), 'weird'].map((e) => failureFromError(e).code),
    ['DISK_FULL', 'DISK_FULL', 'IO_ERROR', 'DUPLICATE_JOB', 'ENGINE_ERROR'],
  );
  assert.equal(failureFromError(errno('ENOSPC')).retryable, true);
});
