// Builds real .torrent files for the tests: a deterministic payload, real SHA-1 piece hashes,
// canonical bencode from the encoder under test, and the info bytes kept aside so the tests can
// hash them independently of the decoder.
import { createHash } from 'node:crypto';
import { encodeBencode, RawBencode, type BEncodable } from '../../src/torrent/bencode.js';

export const KiB = 1024;

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function payload(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function pieceHashes(data: Buffer, pieceLength: number): Buffer {
  const hashes: Buffer[] = [];
  for (let o = 0; o < data.length; o += pieceLength)
    hashes.push(
      createHash('sha1')
        .update(data.subarray(o, o + pieceLength))
        .digest(),
    );
  return Buffer.concat(hashes);
}

export const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface FileSpec {
  path: Array<string | Buffer>;
  size: number;
  attr?: string;
  extra?: { [key: string]: BEncodable };
}

export interface BuildOptions {
  name: string | Buffer;
  /** Single-file torrent when set (and `files` absent). */
  length?: number;
  files?: FileSpec[];
  pieceLength?: number;
  /** Extra keys in the info dictionary (override computed ones too). */
  info?: { [key: string]: BEncodable | undefined };
  /** Extra keys at the top level. */
  root?: { [key: string]: BEncodable | undefined };
  seed?: number;
}

export interface Built {
  torrent: Buffer;
  infoBytes: Buffer;
  data: Buffer;
}

/** A v1 torrent whose pieces really hash the deterministic payload. */
export function buildV1(opts: BuildOptions): Built {
  const pieceLength = opts.pieceLength ?? 16 * KiB;
  const total = opts.files ? opts.files.reduce((s, f) => s + f.size, 0) : (opts.length ?? 0);
  const data = payload(total, opts.seed);
  const info: { [key: string]: BEncodable | undefined } = {
    name: opts.name,
    'piece length': pieceLength,
    pieces: pieceHashes(data, pieceLength),
    ...(opts.files ? { files: opts.files.map((f) => ({ length: f.size, path: f.path, attr: f.attr, ...f.extra })) } : { length: opts.length ?? 0 }),
    ...opts.info,
  };
  const infoBytes = encodeBencode(info);
  const torrent = encodeBencode({ announce: 'http://tracker.example/announce', ...opts.root, info: new RawBencode(infoBytes) });
  return { torrent, infoBytes, data };
}

/** A torrent from hand-made info bytes (e.g. deliberately unsorted) and top-level keys. */
export function wrapInfo(infoBytes: Buffer, root: { [key: string]: BEncodable } = {}): Buffer {
  return encodeBencode({ ...root, info: new RawBencode(infoBytes) });
}

export interface V2FileSpec {
  path: string[];
  size: number;
}

/** A BEP 52 file tree with made-up (but well-formed) pieces roots. */
export function fileTree(files: V2FileSpec[]): { [key: string]: BEncodable } {
  const tree: { [key: string]: any } = {};
  for (const f of files) {
    let node = tree;
    for (const seg of f.path) node = node[seg] ??= {};
    node[''] = { length: f.size, ...(f.size > 0 ? { 'pieces root': createHash('sha256').update(f.path.join('/')).digest() } : {}) };
  }
  return tree;
}
