// Over 400 lines, whole on purpose: one format (BEP 3, BEP 52 and the hybrids), parsed in one
// pass whose steps share the decoded dictionaries and the error positions; name decoding and the
// v2 file tree are the candidates to move out when either grows.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { TextDecoder } from 'node:util';
import { AppError } from '../errors.js';
import { numberedName, sanitizeName } from '../names/file-names.js';
import { decodeBencode, isBytes, isDict, isInteger, isList, keyBytes, type BDict, type BValue } from './bencode.js';
import { collectUrls, trackerUrl, webSeedUrl } from './urls.js';

// `.torrent` metainfo (BEP 3, 12, 19, 47, 52) → TorrentMeta, as a pure function.
//
// Decisions (the tests in test/offline/metainfo.test.ts hold each of them):
//
// * Text encoding of names. `name.utf-8` / `path.utf-8` win when they are valid UTF-8. Otherwise,
//   when the torrent's top-level `encoding` names an encoding TextDecoder knows (GBK, BIG5,
//   SHIFT_JIS, EUC-KR, ..., case-insensitive, plus the Windows code-page aliases CP936, CP950,
//   CP932, CP949), names are decoded with it. Otherwise the decision is made once for the whole
//   torrent: if every name and path byte string is valid UTF-8, UTF-8; else GB18030. One invalid
//   string proves the torrent is not UTF-8, and the non-UTF-8 torrents without an `encoding`
//   field overwhelmingly come from Chinese-language clients; GB18030 is a superset of GBK and
//   GB2312 that decodes every byte sequence (undecodable bytes become U+FFFD, never an error).
//   `meta.nameEncoding` says which one was used.
//
// * File indices. `meta.files` lists the files a user can pick: pad files (BEP 47 attr "p", or
//   BitComet's legacy `_____padding_file_` names) are left out. `file.index` is the position in
//   that list (the API's file index, stable for a given torrent); `file.engineIndex` is the
//   position in the torrent's own file list with the pad files (v1: `info.files` order; pure v2:
//   file-tree order), which is what a BitTorrent engine numbers files by.
//
// * Hostile paths. Each path segment is decoded, then: "" and "." are dropped (this also turns
//   an absolute path — an empty first segment — into a relative one); every other segment goes
//   through sanitizeName with "_" as the fallback, so ".." becomes "_", "/" "\" and control
//   characters inside a segment become "_", and segments longer than 255 bytes are shortened.
//   A path with no segment left becomes ["_"]. Nothing can climb out of the destination.
//   A path with more than `maxPathDepth` (64) segments, or a v2 file tree deeper than that, is
//   refused as TORRENT_INVALID rather than cut.
//   `file.path` is relative to the torrent's folder: for a multi-file torrent the files go into
//   a folder `meta.folder` (the sanitised torrent name); a single-file torrent has
//   `meta.folder === null` and `path === [name]`. `destinationPath()` joins the two.
//   Two files may still end up with the same path (`a/b` and `a\b`); the importer numbers clashes.
//
// * Versions. v1 → infoHash (SHA-1 of the exact `info` bytes); pure v2 → infoHashV2 (SHA-256);
//   hybrid → both, and `files` comes from the v1 list, which is what gets downloaded.
//
// * Strictness follows libtorrent, checked against its own test corpus
//   (test/offline/libtorrent-corpus.test.ts; the rules and the remaining differences are listed
//   in README.md beside this file). Two of its refusals happen when a torrent is added, not when
//   it is read, and so live in assertDownloadable: a torrent whose files are all empty, and a
//   piece layer that does not hash to its file's "pieces root" (`meta.refusal`).
//
// * Symlinks (BEP 47 attr "l") take no bytes of the payload and are not files: `meta.files`
//   leaves them out like pad files (openpan stores no symlinks; the target is a file of the
//   torrent and is downloaded as itself).

export interface TorrentLimits {
  /** Largest `.torrent` accepted, in bytes. Default 16 MiB. */
  maxBytes?: number;
  /** Most files (pad files not counted) a torrent may list; exactly this many is allowed. Default 100,000. */
  maxFiles?: number;
  /** Most segments in one file's path. Default 64. */
  maxPathDepth?: number;
  /** Most bencoded values in the whole file. Default 2,000,000. */
  maxItems?: number;
}

export const TORRENT_LIMITS: Readonly<Required<TorrentLimits>> = {
  maxBytes: 16 * 1024 * 1024,
  maxFiles: 100_000,
  maxPathDepth: 64,
  maxItems: 2_000_000,
};

export const MIN_PIECE_LENGTH_V2 = 16 * 1024;
/**
 * Largest piece accepted. libtorrent goes up to 32767 blocks of 16 KiB (just under 512 MiB), but
 * WebTorrent holds a whole piece in memory until it is verified, so openpan stops at 256 MiB.
 */
export const MAX_PIECE_LENGTH = 256 * 1024 * 1024;
/**
 * Most tries numbering files that share a path may take (libtorrent's max_duplicate_filenames):
 * the importer looks a name up once per try, so 100,000 files named alike would cost 5·10⁹.
 */
export const MAX_NAME_CLASHES = 500;
/** BEP 52 merkle leaves are SHA-256 hashes of 16 KiB blocks. */
const BLOCK = 16 * 1024;

export interface TorrentFile {
  /** Position among the non-pad files: the index clients select files by. */
  index: number;
  /** Position in the torrent's own file list, pad files included: the engine's file number. */
  engineIndex: number;
  /** Sanitised segments, relative to `meta.folder` (or to the destination for a single file). */
  path: string[];
  size: number;
  /** Byte offset of the file in the torrent's v1 byte stream (pad files included). */
  offset: number;
  /** True for pad files; `meta.files` never contains one, so it is false there. */
  pad: boolean;
  /** Pieces the file touches: firstPiece..lastPiece inclusive. An empty file has lastPiece = firstPiece - 1. */
  firstPiece: number;
  lastPiece: number;
}

export interface TorrentMeta {
  version: 1 | 2 | 'hybrid';
  /** Display name: decoded and sanitised (never empty, no "/" or control characters). */
  name: string;
  /** The folder a multi-file torrent's files go into (= name), or null for a single file. */
  folder: string | null;
  /** v1 infohash, 40 lowercase hex digits (v1 and hybrid), else null. */
  infoHash: string | null;
  /** v2 infohash, 64 lowercase hex digits (v2 and hybrid), else null. */
  infoHashV2: string | null;
  pieceLength: number;
  /** v1 and hybrid: pieces in the v1 stream; pure v2: sum over files of their piece counts. */
  pieceCount: number;
  /** Sum of the sizes of `files` (pad files not counted): what a full download stores. */
  totalSize: number;
  /** Length of the v1 byte stream, pad files included (pure v2: as if every file were piece-aligned). */
  streamSize: number;
  private: boolean;
  /** http, https and udp trackers from `announce` and `announce-list`, in order, without repeats. */
  announce: string[];
  /** http and https web seeds (BEP 19 `url-list`), without repeats. */
  urlList: string[];
  files: TorrentFile[];
  /** Files in the torrent's own list, pad files included. */
  engineFileCount: number;
  /** The encoding names were decoded with when no `.utf-8` variant was used: "utf-8", "gbk", "gb18030", ... */
  nameEncoding: string;
  /**
   * Why the torrent must not be downloaded although it parses — a piece layer that does not
   * hash to its file's "pieces root", which libtorrent finds when a torrent is added — or null.
   * assertDownloadable throws TORRENT_INVALID with it.
   */
  refusal: string | null;
  /**
   * Why a v1 engine that ignores BEP 47 file attributes (WebTorrent 1.9.7) would refuse the torrent
   * or lay it out differently from its creator — a symlink entry with a length, an entry without
   * "length", a pad file without "path" — or null. assertDownloadable throws PROTOCOL_UNSUPPORTED with it.
   */
  engineProblem: string | null;
  /** What a v1 engine needs besides `files` to take the torrent as parsed here (null for a pure v2 torrent). */
  v1Stream: V1Stream | null;
}

/** The v1 byte stream of a v1 or hybrid torrent, as the file spells it. */
export interface V1Stream {
  /** The bencoded info dictionary, the bytes `infoHash` is the SHA-1 of. */
  info: Buffer;
  /** Piece hashes, 20 bytes each, `pieceCount` of them. */
  pieces: Buffer;
  /** Entries of the engine's file list that `files` leaves out (pad files, symlinks), with their bytes in the stream. */
  hidden: { engineIndex: number; size: number }[];
}

function invalid(reason: string): never {
  throw new AppError('TORRENT_INVALID', `Invalid torrent: ${reason}.`);
}

/** A file before decoding and sanitising. */
interface RawFile {
  /** Path segments from `path.utf-8` when usable (then decoded as UTF-8), else from `path`; none for a pad file without a path. */
  segments: Buffer[];
  utf8: boolean;
  /** Bytes in the v1 stream: 0 for a symlink, whatever its `length` says. */
  size: number;
  pad: boolean;
  symlink: boolean;
}

/** What parsing the file lists noticed on the way. */
interface Notes {
  engineProblem: string | null;
}

const PADDING_PREFIX = Buffer.from('_____padding_file_', 'latin1');

// Windows code-page names that WHATWG TextDecoder does not know under these labels.
const ENCODING_ALIASES: Record<string, string> = {
  cp936: 'gbk',
  ms936: 'gbk',
  'windows-936': 'gbk',
  cp54936: 'gb18030',
  cp950: 'big5',
  ms950: 'big5',
  'windows-950': 'big5',
  big5hkscs: 'big5',
  cp932: 'shift_jis',
  'windows-932': 'shift_jis',
  cp949: 'euc-kr',
  uhc: 'euc-kr',
  cp1252: 'windows-1252',
};

/** A TextDecoder for a torrent's `encoding` field, or null when it names no usable encoding. */
export function decoderForLabel(label: string): TextDecoder | null {
  const key = label.trim().toLowerCase();
  try {
    const decoder = new TextDecoder(ENCODING_ALIASES[key] ?? key);
    // "replacement" (ISO-2022-*, HZ) turns everything into U+FFFD; UTF-16 is never what a
    // bencoded name is in. Both are treated as unknown.
    if (decoder.encoding === 'replacement' || decoder.encoding.startsWith('utf-16')) return null;
    return decoder;
  } catch {
    return null;
  }
}

const UTF8 = new TextDecoder('utf-8');
const ZERO_HASH = Buffer.alloc(32);
const hex = (algorithm: string, bytes: Buffer): string => createHash(algorithm).update(bytes).digest('hex');

function readSize(value: BValue | undefined, what: string): number {
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

function readV1Files(info: BDict, limits: Required<TorrentLimits>, notes: Notes): RawFile[] | null {
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

interface V2File {
  segments: Buffer[];
  size: number;
  piecesRoot: Buffer | null;
  symlink: boolean;
}

/** Walks a BEP 52 file tree without recursion, in key order. */
function readFileTree(tree: BDict, limits: Required<TorrentLimits>): V2File[] {
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

/** Bytes → text; UTF-8 through Buffer#toString, which is several times faster than TextDecoder. */
function decodeText(bytes: Buffer, decoder: TextDecoder): string {
  return decoder === UTF8 ? bytes.toString('utf8') : decoder.decode(bytes);
}

/**
 * Decodes and sanitises path segments by the rule at the top of this file. `cache` remembers
 * sanitised segments: folder names repeat once per file in a large torrent.
 */
function safePath(segments: Buffer[], decoder: TextDecoder, cache: Map<string, string>): string[] {
  const out: string[] = [];
  for (const bytes of segments) {
    const text = decodeText(bytes, decoder);
    if (text === '' || text === '.') continue;
    let safe = cache.get(text);
    if (safe === undefined) {
      safe = sanitizeName(text, '_');
      if (cache.size < 100_000) cache.set(text, safe);
    }
    out.push(safe);
  }
  return out.length > 0 ? out : ['_'];
}

function readTrackers(root: BDict): string[] {
  const raws: string[] = [];
  const announce = root.get('announce');
  if (isBytes(announce)) raws.push(UTF8.decode(announce));
  const list = root.get('announce-list');
  if (isList(list)) {
    for (const tier of list) {
      if (isBytes(tier))
        raws.push(UTF8.decode(tier)); // a flat list, as some writers produce
      else if (isList(tier)) for (const url of tier) if (isBytes(url)) raws.push(UTF8.decode(url));
    }
  }
  const out: string[] = [];
  collectUrls(raws, trackerUrl, out);
  return out;
}

function readWebSeeds(root: BDict): string[] {
  const value = root.get('url-list');
  const raws: string[] = [];
  if (isBytes(value)) raws.push(UTF8.decode(value));
  else if (isList(value)) for (const url of value) if (isBytes(url)) raws.push(UTF8.decode(url));
  const out: string[] = [];
  collectUrls(raws, webSeedUrl, out);
  return out;
}

function fileEntry(index: number, engineIndex: number, path: string[], size: number, offset: number, pieceLength: number): TorrentFile {
  const firstPiece = Math.floor(offset / pieceLength);
  const lastPiece = size === 0 ? firstPiece - 1 : Math.floor((offset + size - 1) / pieceLength);
  return { index, engineIndex, path, size, offset, pad: false, firstPiece, lastPiece };
}

function allUtf8(segments: Buffer[]): boolean {
  for (const s of segments) if (!isUtf8(s)) return false;
  return true;
}

function addSize(total: number, size: number): number {
  const sum = total + size;
  if (!Number.isSafeInteger(sum)) invalid('the total size is too large');
  return sum;
}

/** Parses a `.torrent` file. Malformed input → AppError TORRENT_INVALID; an unknown `meta version` → PROTOCOL_UNSUPPORTED. */
/** Torrents parsed last with the default limits, by the SHA-1 of their bytes, least recent first. */
const recentParses = new Map<string, Readonly<TorrentMeta>>();
const RECENT_PARSES = 8;

/**
 * parseTorrent with the default limits, remembered for the last few torrents: one task reads its
 * `.torrent` at several steps (the parse, the start, the scheduler, the engine, the seed), and a
 * torrent of 100,000 files takes about a second to parse. The answer is shared: callers must not
 * change it.
 */
export function parseTorrentOnce(input: Buffer): Readonly<TorrentMeta> {
  const key = hex('sha1', input);
  const known = recentParses.get(key);
  if (known !== undefined) {
    recentParses.delete(key);
    recentParses.set(key, known);
    return known;
  }
  const meta = parseTorrent(input);
  recentParses.set(key, meta);
  if (recentParses.size > RECENT_PARSES) recentParses.delete(recentParses.keys().next().value as string);
  return meta;
}

export function parseTorrent(input: Buffer, limits: TorrentLimits = {}): TorrentMeta {
  const lim: Required<TorrentLimits> = {
    maxBytes: limits.maxBytes ?? TORRENT_LIMITS.maxBytes,
    maxFiles: limits.maxFiles ?? TORRENT_LIMITS.maxFiles,
    maxPathDepth: limits.maxPathDepth ?? TORRENT_LIMITS.maxPathDepth,
    maxItems: limits.maxItems ?? TORRENT_LIMITS.maxItems,
  };
  // libtorrent reads one value and ignores what follows it; files saved by some tools end with a
  // newline. Trailing ASCII whitespace is dropped; any other trailing byte is still refused.
  let end = input.length;
  while (end > 1 && (input[end - 1] === 0x0a || input[end - 1] === 0x0d || input[end - 1] === 0x20 || input[end - 1] === 0x09)) end--;
  const buf = end < input.length ? input.subarray(0, end) : input;
  const bencodeLimits = {
    maxBytes: lim.maxBytes,
    maxItems: lim.maxItems,
    // A v2 file tree nests one dictionary per path segment, under root → info → file tree,
    // with the file's own two levels at the bottom.
    maxDepth: Math.max(64, lim.maxPathDepth + 6),
  };
  const { value: root, spans } = decodeBencode(buf, { ...bencodeLimits, lenient: true });
  if (!isDict(root)) invalid('the file is not a bencoded dictionary');
  const info = root.get('info');
  if (!isDict(info)) invalid('"info" is missing or not a dictionary');
  const span = spans.get('info')!;
  const infoBytes = buf.subarray(span.start, span.end);

  // ---- which versions ----
  const metaVersion = info.get('meta version');
  const fileTree = info.get('file tree');
  if (metaVersion !== undefined) {
    if (!isInteger(metaVersion)) invalid('info["meta version"] must be an integer');
    if (metaVersion !== 2) throw new AppError('PROTOCOL_UNSUPPORTED', `Torrent meta version ${metaVersion} is not supported.`);
  }
  const hasV2 = fileTree !== undefined || metaVersion !== undefined;
  if (hasV2) {
    if (metaVersion === undefined) invalid('info has a "file tree" but no "meta version"');
    if (!isDict(fileTree)) invalid('info["file tree"] is missing or not a dictionary');
    // The v2 infohash names the info dictionary's canonical form, so a v2 torrent must be written
    // in it; libtorrent refuses unsorted keys there too (v1 tolerates them for old clients).
    try {
      decodeBencode(infoBytes, bencodeLimits);
    } catch (err) {
      invalid(`the info dictionary of a v2 torrent must be canonical bencode (${err instanceof AppError ? err.message.replace(/\.$/, '') : String(err)})`);
    }
  }
  const notes: Notes = { engineProblem: null };
  const v1Files = readV1Files(info, lim, notes);
  const hasV1 = v1Files !== null;
  if (!hasV1 && !hasV2) invalid('info has none of "length", "files" or "file tree"');
  const version: TorrentMeta['version'] = hasV1 && hasV2 ? 'hybrid' : hasV2 ? 2 : 1;

  // ---- pieces ----
  const pieceLength = info.get('piece length');
  if (!isInteger(pieceLength)) invalid('info["piece length"] is missing or not an integer');
  if (pieceLength <= 0 || pieceLength > MAX_PIECE_LENGTH) invalid(`info["piece length"] ${pieceLength} is not between 1 byte and 256 MiB`);
  if (hasV2 && (pieceLength < MIN_PIECE_LENGTH_V2 || (pieceLength & (pieceLength - 1)) !== 0)) {
    invalid(`info["piece length"] ${pieceLength} must be a power of two of at least 16 KiB in a v2 torrent`);
  }

  const v2Files = hasV2 ? readFileTree(fileTree as BDict, lim) : null;

  // ---- names: choose the decoder once for the torrent ----
  const nameRaw = info.get('name');
  if (nameRaw !== undefined && !isBytes(nameRaw)) invalid('info.name must be a byte string');
  const nameUtf8 = info.get('name.utf-8');
  const nameUtf8Ok = isBytes(nameUtf8) && isUtf8(nameUtf8);
  if (nameRaw === undefined && !nameUtf8Ok) invalid('info.name is missing');

  let decoder: TextDecoder | null = null;
  const encoding = root.get('encoding');
  if (isBytes(encoding)) decoder = decoderForLabel(encoding.toString('latin1'));
  if (decoder === null) {
    let utf8 = nameRaw === undefined || isUtf8(nameRaw);
    for (const f of v1Files ?? v2Files ?? []) {
      if (!utf8) break;
      if (!('utf8' in f && f.utf8)) utf8 = allUtf8(f.segments);
    }
    decoder = utf8 ? UTF8 : new TextDecoder('gb18030');
  }

  const infoHash = hasV1 ? hex('sha1', infoBytes) : null;
  const infoHashV2 = hasV2 ? hex('sha256', infoBytes) : null;
  const displayName = nameUtf8Ok ? nameUtf8.toString('utf8') : decodeText(nameRaw as Buffer, decoder);
  const name = sanitizeName(displayName, (infoHash ?? infoHashV2) as string);

  // ---- files ----
  const files: TorrentFile[] = [];
  let folder: string | null;
  let totalSize = 0;
  let streamSize = 0;
  let pieceCount: number;
  let engineFileCount: number;
  let v1Stream: V1Stream | null = null;
  const cache = new Map<string, string>();

  if (v1Files !== null) {
    const single = info.has('length');
    folder = single ? null : name;
    const hidden: V1Stream['hidden'] = [];
    for (let i = 0; i < v1Files.length; i++) {
      const f = v1Files[i];
      const offset = streamSize;
      streamSize = addSize(streamSize, f.size);
      if (f.pad || f.symlink) {
        hidden.push({ engineIndex: i, size: f.size });
        continue;
      }
      totalSize += f.size;
      const path = single ? [name] : safePath(f.segments, f.utf8 ? UTF8 : decoder, cache);
      files.push(fileEntry(files.length, i, path, f.size, offset, pieceLength));
    }
    if (files.length === 0) invalid('info.files lists only padding files and symlinks');
    engineFileCount = v1Files.length;
    pieceCount = Math.ceil(streamSize / pieceLength);
    const pieces = info.get('pieces');
    if (!isBytes(pieces)) invalid('info.pieces is missing or not a byte string');
    if (pieces.length % 20 !== 0) invalid(`info.pieces is ${pieces.length} bytes, not a multiple of 20`);
    if (pieces.length !== pieceCount * 20) {
      invalid(`info.pieces has ${pieces.length / 20} hashes but ${streamSize} bytes in pieces of ${pieceLength} need ${pieceCount}`);
    }
    v1Stream = { info: infoBytes, pieces, hidden };
    if (v2Files !== null) {
      const v2Total = v2Files.reduce((sum, f) => addSize(sum, f.size), 0);
      if (v2Total !== totalSize) invalid(`the v1 files (${totalSize} bytes) and the v2 file tree (${v2Total} bytes) disagree`);
      checkHybrid(files, v2Files, single ? name : null, pieceLength, decoder, cache);
    }
  } else {
    const list = v2Files as V2File[];
    const single = list.length === 1 && list[0].segments.length === 1;
    folder = single ? null : name;
    pieceCount = 0;
    for (let i = 0; i < list.length; i++) {
      const f = list[i];
      // v2 files are piece-aligned: each starts on a piece boundary of the equivalent v1 stream.
      const offset = Math.ceil(streamSize / pieceLength) * pieceLength;
      streamSize = addSize(offset, f.size);
      if (f.symlink) continue;
      totalSize += f.size;
      pieceCount += Math.ceil(f.size / pieceLength);
      const path = single ? [sanitizeName(decodeText(f.segments[0], decoder), name)] : safePath(f.segments, decoder, cache);
      files.push(fileEntry(files.length, i, path, f.size, offset, pieceLength));
    }
    if (files.length === 0) invalid('info["file tree"] lists only symlinks');
    engineFileCount = list.length;
  }
  const refusal = v2Files !== null ? checkPieceLayers(root.get('piece layers'), v2Files, pieceLength) : null;
  if (folder !== null) checkNameClashes(files);

  const priv = info.get('private');
  return {
    version,
    name,
    folder,
    infoHash,
    infoHashV2,
    pieceLength,
    pieceCount,
    totalSize,
    streamSize,
    private: isInteger(priv) && priv === 1,
    announce: readTrackers(root),
    urlList: readWebSeeds(root),
    files,
    engineFileCount,
    nameEncoding: decoder.encoding,
    refusal,
    engineProblem: notes.engineProblem,
    v1Stream,
  };
}

/**
 * A hybrid torrent's two file lists must describe the same files: every non-empty file of the v1
 * list (pad files and symlinks aside) has its twin, in the same order, in the v2 file tree, with
 * the same path, size and offset. libtorrent's files_compatible() is this rule.
 */
function checkHybrid(
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
function checkPieceLayers(layers: BValue | undefined, files: V2File[], pieceLength: number): string | null {
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
function checkNameClashes(files: TorrentFile[]): void {
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

/** The file's path under the task's destination: inside the torrent's folder for a multi-file torrent. */
export function destinationPath(meta: Pick<TorrentMeta, 'folder'>, file: Pick<TorrentFile, 'path'>): string[] {
  return meta.folder === null ? [...file.path] : [meta.folder, ...file.path];
}

/**
 * The checks before a download starts, after parseTorrent:
 * - TORRENT_INVALID when there is nothing to download (every file empty) or `meta.refusal` is set
 *   (libtorrent refuses both when the torrent is added);
 * - PROTOCOL_UNSUPPORTED for a torrent the engine cannot download: a pure v2 torrent when the
 *   engine speaks only v1 (a hybrid one downloads over v1), or one with `meta.engineProblem`
 *   when the engine ignores BEP 47 attributes (`bep47`).
 */
export function assertDownloadable(
  meta: Pick<TorrentMeta, 'version' | 'totalSize' | 'refusal' | 'engineProblem'>,
  engine: { v2?: boolean; bep47?: boolean } = {},
): void {
  if (meta.totalSize === 0) throw new AppError('TORRENT_INVALID', 'Invalid torrent: every file is empty, there is nothing to download.');
  if (meta.refusal !== null) throw new AppError('TORRENT_INVALID', `Invalid torrent: ${meta.refusal}.`);
  if (meta.version === 2 && !engine.v2) {
    throw new AppError('PROTOCOL_UNSUPPORTED', 'This torrent is BitTorrent v2 only; the download engine supports v1 and hybrid torrents.');
  }
  if (meta.engineProblem !== null && !engine.bep47) {
    throw new AppError('PROTOCOL_UNSUPPORTED', `The download engine cannot lay this torrent out as its creator did: ${meta.engineProblem}.`);
  }
}
