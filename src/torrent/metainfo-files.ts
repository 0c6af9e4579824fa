// The file lists of a `.torrent`: BEP 3's `length`/`files` (with BEP 47's pad files and symlinks)
// and BEP 52's `file tree`, read into raw files before their names are decoded (metainfo.ts).
import { isUtf8 } from 'node:buffer';
import { AppError } from '../errors.js';
import { isBytes, isDict, isInteger, isList, keyBytes, type BDict, type BValue } from './bencode.js';
import type { TorrentLimits } from './metainfo-types.js';

export function invalid(reason: string): never {
  throw new AppError('TORRENT_INVALID', `Invalid torrent: ${reason}.`);
}

/** A file before decoding and sanitising. */
export interface RawFile {
  /** Path segments from `path.utf-8` when usable (then decoded as UTF-8), else from `path`; none for a pad file without a path. */
  segments: Buffer[];
  utf8: boolean;
  /** Bytes in the v1 stream: 0 for a symlink, whatever its `length` says. */
  size: number;
  pad: boolean;
  symlink: boolean;
}

/** What parsing the file lists noticed on the way. */
export interface Notes {
  engineProblem: string | null;
}

const PADDING_PREFIX = Buffer.from('_____padding_file_', 'latin1');
export const ZERO_HASH = Buffer.alloc(32);

export function readSize(value: BValue | undefined, what: string): number {
  if (value === undefined) invalid(`${what} is missing`);
  if (!isInteger(value)) invalid(`${what} must be an integer`);
  if (value < 0) invalid(`${what} is negative (${value})`);
  return value; // the decoder guarantees a safe integer
}

/** A list of byte strings, 1..maxDepth long, or an error naming `what`. */
function readPath(value: BValue, what: string, maxDepth: number): Buffer[] {
  if (!isList(value)) invalid(`${what} must be a list`);
  if (value.length === 0) invalid(`${what} is empty`);
  if (value.length > maxDepth) invalid(`${what} has ${value.length} segments, more than the limit of ${maxDepth}`);
  for (const segment of value) if (!isBytes(segment)) invalid(`${what} must contain only byte strings`);
  return value as Buffer[];
}

/** `path.utf-8` when it is a well-formed list of valid UTF-8 strings, else null. */
function utf8Path(value: BValue | undefined, maxDepth: number): Buffer[] | null {
  if (!isList(value) || value.length === 0 || value.length > maxDepth) return null;
  for (const segment of value) if (!isBytes(segment) || !isUtf8(segment)) return null;
  return value as Buffer[];
}

function isLegacyPad(segments: Buffer[]): boolean {
  const last = segments[segments.length - 1];
  if (last === undefined || last.length < PADDING_PREFIX.length || last[0] !== 0x5f /* _ */) return false;
  return last.compare(PADDING_PREFIX, 0, PADDING_PREFIX.length, 0, PADDING_PREFIX.length) === 0;
}

const EMPTY = Buffer.alloc(0);

/** BEP 47 attributes; an `attr` that is not a byte string is ignored, as libtorrent does. */
function attributes(entry: BDict): Buffer {
  const attr = entry.get('attr');
  return isBytes(attr) ? attr : EMPTY;
}

/**
 * Whether an entry with attr "l" really is a symlink: its `symlink path` is a list of byte
 * strings (else TORRENT_INVALID) naming something other than "." and "..". Without one, libtorrent
 * keeps the entry as an ordinary empty file, and so does openpan.
 */
function isSymlink(entry: BDict, what: string, maxDepth: number): boolean {
  const target = entry.get('symlink path');
  if (!isList(target)) return false;
  if (target.length > maxDepth) invalid(`${what}["symlink path"] has ${target.length} segments, more than the limit of ${maxDepth}`);
  let named = false;
  for (const segment of target) {
    if (!isBytes(segment)) invalid(`${what}["symlink path"] must contain only byte strings`);
    const text = segment.toString('latin1');
    if (text !== '.' && text !== '..') named = true;
  }
  return named;
}

export function readV1Files(info: BDict, limits: Required<TorrentLimits>, notes: Notes): RawFile[] | null {
  const length = info.get('length');
  const files = info.get('files');
  if (length !== undefined && files !== undefined) invalid('info has both "length" and "files"');
  if (length !== undefined) return [{ segments: [], utf8: false, size: readSize(length, 'info.length'), pad: false, symlink: false }];
  if (files === undefined) return null;
  if (!isList(files)) invalid('info.files must be a list');
  if (files.length === 0) invalid('info.files is empty');
  // Every real file can be followed by at most one pad file.
  if (files.length > 2 * limits.maxFiles) invalid(`too many files (${files.length}), the limit is ${limits.maxFiles}`);
  const out: RawFile[] = [];
  let real = 0;
  for (let i = 0; i < files.length; i++) {
    const entry = files[i];
    const what = `info.files[${i}]`;
    if (!isDict(entry)) invalid(`${what} must be a dictionary`);
    const attr = attributes(entry);
    const padAttr = attr.includes(0x70 /* p */);
    const rawLength = entry.get('length');
    let size: number;
    let symlink = false;
    if (attr.includes(0x6c /* l */)) {
      // BEP 47: a symlink takes no bytes of the payload, whatever `length` says (libtorrent does
      // not read it). WebTorrent knows no symlinks: it counts the length as payload, and refuses
      // an entry without one.
      symlink = isSymlink(entry, what, limits.maxPathDepth);
      size = 0;
      if (rawLength !== 0) {
        notes.engineProblem ??= isInteger(rawLength) ? `${what} is a symlink whose "length" is ${rawLength}` : `${what} is a symlink without a "length"`;
      }
    } else {
      size = readSize(rawLength, `${what}.length`);
    }
    const rawPath = entry.get('path');
    const pathUtf8 = utf8Path(entry.get('path.utf-8'), limits.maxPathDepth);
    let segments: Buffer[];
    if (padAttr && pathUtf8 === null && (rawPath === undefined || (isList(rawPath) && rawPath.length === 0))) {
      // A pad file needs no path (libtorrent calls it ".pad/<size>"); WebTorrent needs one.
      if (rawPath === undefined) notes.engineProblem ??= `${what} is a pad file without "path"`;
      segments = [];
    } else {
      const path = rawPath === undefined ? null : readPath(rawPath, `${what}.path`, limits.maxPathDepth);
      if (path === null && pathUtf8 === null) invalid(`${what}.path is missing`);
      segments = pathUtf8 ?? (path as Buffer[]);
    }
    const pad = padAttr || isLegacyPad(segments);
    if (!pad && ++real > limits.maxFiles) invalid(`too many files (more than ${limits.maxFiles})`);
    out.push({ segments, utf8: pathUtf8 !== null, size, pad, symlink: symlink && !pad });
  }
  return out;
}

export interface V2File {
  segments: Buffer[];
  size: number;
  piecesRoot: Buffer | null;
  symlink: boolean;
}

/** Walks a BEP 52 file tree without recursion, in key order. */
export function readFileTree(tree: BDict, limits: Required<TorrentLimits>): V2File[] {
  const out: V2File[] = [];
  // Each entry: a directory dict and the path leading to it. Children are pushed in reverse so
  // they pop in key order.
  const stack: Array<{ node: BDict; path: Buffer[] }> = [{ node: tree, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    const what = path.length === 0 ? 'info["file tree"]' : `info["file tree"] at depth ${path.length}`;
    const leaf = node.get('');
    if (leaf !== undefined) {
      if (path.length === 0) invalid('info["file tree"] cannot itself be a file');
      if (node.size !== 1) invalid(`${what}: a file entry has other keys next to ""`);
      if (!isDict(leaf)) invalid(`${what}: a file entry must be a dictionary`);
      const attr = attributes(leaf);
      // v2 files are piece-aligned by definition: a pad file has no place in a file tree.
      if (attr.includes(0x70 /* p */)) invalid(`${what}: a file in a v2 file tree cannot be a pad file`);
      const symlinkAttr = attr.includes(0x6c /* l */);
      const symlink = symlinkAttr && isSymlink(leaf, what, limits.maxPathDepth);
      const size = symlinkAttr ? 0 : readSize(leaf.get('length'), `${what}: length`);
      const root = leaf.get('pieces root');
      if (root !== undefined && (!isBytes(root) || root.length !== 32)) invalid(`${what}: "pieces root" must be 32 bytes`);
      if (size > 0 && root === undefined) invalid(`${what}: "pieces root" is missing`);
      if (size > 0 && (root as Buffer).equals(ZERO_HASH)) invalid(`${what}: "pieces root" is all zeros`);
      if (out.length >= limits.maxFiles) invalid(`too many files (more than ${limits.maxFiles})`);
      out.push({ segments: path, size, piecesRoot: (root as Buffer | undefined) ?? null, symlink });
      continue;
    }
    if (path.length >= limits.maxPathDepth && node.size > 0) invalid(`${what}: deeper than the limit of ${limits.maxPathDepth} segments`);
    const children = [...node];
    for (let i = children.length - 1; i >= 0; i--) {
      const [key, child] = children[i];
      if (!isDict(child)) invalid(`${what}: entries must be dictionaries`);
      stack.push({ node: child, path: [...path, keyBytes(key)] });
    }
  }
  if (out.length === 0) invalid('info["file tree"] has no files');
  return out;
}
