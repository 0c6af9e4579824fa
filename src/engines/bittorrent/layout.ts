import { join } from 'node:path';
import { destinationPath, type TorrentFile, type TorrentMeta } from '../../torrent/index.js';

// Pure pieces of the BitTorrent engine: where each file goes on disk, which pieces a selection
// needs, and how much of a file the verified pieces cover. Tested in test/engines/layout.test.ts.

/** Longest path (bytes) we write; Linux's PATH_MAX is 4096 including the terminating NUL. */
const MAX_PATH_BYTES = 4000;

/**
 * The path of every engine file (pad files included) under the job's directory:
 *
 * - `data/<torrent folder>/<path>` for a file, with the names openpan's own parser decoded and
 *   sanitised (GBK/Big5/Shift-JIS names decoded right, `..` and absolute names neutralised). The
 *   engine never uses the names WebTorrent derives, which are lossy UTF-8 and could make two
 *   files share one path.
 * - `renamed/<engineIndex>` for a file whose path would collide with an earlier file (same
 *   path, or a path that is another file's folder) or exceed PATH_MAX.
 * - `pad/<engineIndex>` for a BEP 47 pad file.
 *
 * The three top-level folders are ours, so nothing a torrent contains can land elsewhere.
 */
export function diskLayout(meta: TorrentMeta, dir: string): string[] {
  const paths: string[] = [];
  for (let i = 0; i < meta.engineFileCount; i++) paths.push(join(dir, 'pad', String(i)));
  const files = new Set<string>();
  const folders = new Set<string>();
  for (const file of meta.files) {
    const segments = destinationPath(meta, file);
    const path = join(dir, 'data', ...segments);
    const ancestors: string[] = [];
    for (let n = 1; n < segments.length; n++) ancestors.push(segments.slice(0, n).join('/'));
    const key = segments.join('/');
    const clash = files.has(key) || folders.has(key) || ancestors.some((a) => files.has(a)) || Buffer.byteLength(path) > MAX_PATH_BYTES;
    if (clash) {
      paths[file.engineIndex] = join(dir, 'renamed', String(file.engineIndex));
      continue;
    }
    files.add(key);
    for (const a of ancestors) folders.add(a);
    paths[file.engineIndex] = path;
  }
  return paths;
}

/** Inclusive piece intervals, sorted, non-overlapping and non-adjacent. */
export type PieceRanges = Array<[from: number, to: number]>;

/** The pieces the given files need, merged into as few intervals as possible (empty files need none). */
export function pieceRanges(files: Iterable<Pick<TorrentFile, 'firstPiece' | 'lastPiece' | 'size'>>): PieceRanges {
  const ranges = [...files].filter((f) => f.size > 0 && f.lastPiece >= f.firstPiece).map((f): [number, number] => [f.firstPiece, f.lastPiece]);
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: PieceRanges = [];
  for (const [from, to] of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** True when every piece in the ranges is verified. */
export function rangesComplete(ranges: PieceRanges, has: (piece: number) => boolean): boolean {
  for (const [from, to] of ranges) {
    for (let p = from; p <= to; p++) if (!has(p)) return false;
  }
  return true;
}

/**
 * Bytes of the file that lie in verified pieces. This, not WebTorrent's `file.downloaded`, is
 * the truth: 1.9.7 subtracts a whole piece from a file that ends exactly on a piece boundary,
 * so its `file.progress` never reaches 1 for such a file. A job keeps these sums up to date piece
 * by piece (file-statuses.ts); this is their definition, which the tests compare them with.
 */
export function verifiedBytes(
  file: Pick<TorrentFile, 'offset' | 'size' | 'firstPiece' | 'lastPiece'>,
  pieceLength: number,
  has: (piece: number) => boolean,
): number {
  const start = file.offset;
  const end = file.offset + file.size;
  let bytes = 0;
  for (let p = file.firstPiece; p <= file.lastPiece; p++) {
    if (!has(p)) continue;
    const pieceStart = p * pieceLength;
    bytes += Math.min(end, pieceStart + pieceLength) - Math.max(start, pieceStart);
  }
  return bytes;
}
