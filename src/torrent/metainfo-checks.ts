// Consistency checks of a parsed `.torrent`: a hybrid's two file lists agree, BEP 52 piece
// layers match their files (merkle roots), and files sharing a path cannot buy quadratic work.
import { createHash } from 'node:crypto';
import type { TextDecoder } from 'node:util';
import { numberedName, sanitizeName } from '../names/file-names.js';
import { isBytes, isDict, type BValue } from './bencode.js';
import { invalid, type V2File, ZERO_HASH } from './metainfo-files.js';
import { decodeText, safePath } from './metainfo-text.js';
import type { TorrentFile } from './metainfo-types.js';

/**
 * Most tries numbering files that share a path may take (libtorrent's max_duplicate_filenames):
 * the importer looks a name up once per try, so 100,000 files named alike would cost 5·10⁹.
 */
export const MAX_NAME_CLASHES = 500;
/** BEP 52 merkle leaves are SHA-256 hashes of 16 KiB blocks. */
const BLOCK = 16 * 1024;

/**
 * A hybrid torrent's two file lists must describe the same files: every non-empty file of the v1
 * list (pad files and symlinks aside) has its twin, in the same order, in the v2 file tree, with
 * the same path, size and offset. libtorrent's files_compatible() is this rule.
 */
export function checkHybrid(
  v1: TorrentFile[],
  tree: V2File[],
  singleName: string | null,
  pieceLength: number,
  decoder: TextDecoder,
  cache: Map<string, string>,
): void {
  const left = v1.filter((f) => f.size > 0);
  const right: Array<{ path: string[]; size: number; offset: number }> = [];
  let stream = 0;
  for (const f of tree) {
    const offset = Math.ceil(stream / pieceLength) * pieceLength;
    stream = offset + f.size;
    if (f.size === 0 || f.symlink) continue;
    // A single-file v1 torrent is the file `name`; its v2 tree is that one file at the top.
    const path =
      singleName !== null && f.segments.length === 1 ? [sanitizeName(decodeText(f.segments[0], decoder), singleName)] : safePath(f.segments, decoder, cache);
    right.push({ path, size: f.size, offset });
  }
  if (left.length !== right.length) invalid(`the v1 files (${left.length} non-empty) and the v2 file tree (${right.length} non-empty) disagree`);
  for (let i = 0; i < left.length; i++) {
    const a = left[i];
    const b = right[i];
    const same = a.size === b.size && a.offset === b.offset && a.path.length === b.path.length && a.path.every((s, k) => s === b.path[k]);
    if (!same) invalid(`the v1 file "${a.path.join('/')}" and the v2 file "${b.path.join('/')}" disagree (path, size or offset)`);
  }
}

/**
 * `piece layers` (outside `info`, so not covered by the infohash) is optional — a torrent built
 * from a magnet link has none yet — but every entry must be the layer of a file of the torrent
 * larger than one piece, of the right size. Returns the refusal when a layer does not hash to
 * its file's "pieces root" (libtorrent checks that when the torrent is added), else null.
 */
export function checkPieceLayers(layers: BValue | undefined, files: V2File[], pieceLength: number): string | null {
  if (layers === undefined) return null;
  if (!isDict(layers)) invalid('"piece layers" must be a dictionary');
  const byRoot = new Map<string, V2File>();
  for (const f of files) {
    if (f.piecesRoot === null || f.size <= pieceLength) continue;
    const key = f.piecesRoot.toString('latin1');
    if (!byRoot.has(key)) byRoot.set(key, f);
  }
  let refusal: string | null = null;
  for (const [key, layer] of layers) {
    if (key.length !== 32) invalid(`a "piece layers" key is ${key.length} bytes, not a 32-byte pieces root`);
    if (!isBytes(layer) || layer.length % 32 !== 0) invalid('a "piece layers" entry must be a string of 32-byte hashes');
    const f = byRoot.get(key);
    if (f === undefined) invalid('a "piece layers" entry belongs to no file of the torrent larger than one piece');
    if (layer.length !== Math.ceil(f.size / pieceLength) * 32) invalid(`a "piece layers" entry does not match its file of ${f.size} bytes`);
    byRoot.delete(key); // files with the same content share one root and one layer
    if (refusal === null && !merkleRoot(layer, pieceLength).equals(f.piecesRoot as Buffer)) {
      refusal = `the piece layer of a file of ${f.size} bytes does not hash to its "pieces root"`;
    }
  }
  return refusal;
}

function sha256Pair(a: Buffer, b: Buffer): Buffer {
  return createHash('sha256').update(a).update(b).digest();
}

/**
 * The BEP 52 root over a piece layer. The tree has a power-of-two number of 16 KiB leaves, those
 * past the end of the file being 32 zero bytes, so a missing piece-layer node is the root of a
 * piece's worth of zero leaves, and so on up. One hash per node: linear in the layer's size.
 */
function merkleRoot(layer: Buffer, pieceLength: number): Buffer {
  let pad: Buffer = ZERO_HASH;
  for (let n = pieceLength / BLOCK; n > 1; n /= 2) pad = sha256Pair(pad, pad);
  let nodes = layer;
  let count = layer.length / 32;
  let width = 1;
  while (width < count) width *= 2;
  for (; width > 1; width /= 2) {
    const next = Buffer.allocUnsafe(Math.ceil(count / 2) * 32);
    for (let i = 0; 2 * i < count; i++) {
      const hash = createHash('sha256');
      hash.update(2 * i + 1 < count ? nodes.subarray(64 * i, 64 * i + 64) : Buffer.concat([nodes.subarray(64 * i, 64 * i + 32), pad]));
      hash.digest().copy(next, 32 * i);
    }
    pad = sha256Pair(pad, pad);
    nodes = next;
    count = next.length / 32;
  }
  return nodes.subarray(0, 32);
}

/**
 * Files that share a path get numbered names when imported, one look-up per try. Numbering them
 * the importer's way, more than MAX_NAME_CLASHES failed tries make the torrent TORRENT_INVALID
 * (libtorrent: too_many_duplicate_filenames), so a torrent cannot buy quadratic work.
 */
export function checkNameClashes(files: TorrentFile[]): void {
  const taken = new Set<string>();
  let clashes = 0;
  for (const f of files) {
    const key = f.path.join('/');
    if (!taken.has(key)) {
      taken.add(key);
      continue;
    }
    const dir = f.path.slice(0, -1);
    const last = f.path[f.path.length - 1];
    for (let n = 1; ; n++) {
      const candidate = [...dir, numberedName(last, n)].join('/');
      if (!taken.has(candidate)) {
        taken.add(candidate);
        break;
      }
      if (++clashes > MAX_NAME_CLASHES) invalid(`too many files share a name: numbering them takes more than ${MAX_NAME_CLASHES} tries`);
    }
  }
}
