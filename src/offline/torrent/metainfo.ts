import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { TextDecoder } from 'node:util';
import { AppError } from '../../errors.js';
import { sanitizeName } from '../../files/names.js';
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
export const MAX_PIECE_LENGTH = 256 * 1024 * 1024;

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
}

function invalid(reason: string): never {
  throw new AppError('TORRENT_INVALID', `Invalid torrent: ${reason}.`);
}

/** A file before decoding and sanitising. */
interface RawFile {
  /** Path segments from `path.utf-8` when usable (then decoded as UTF-8), else from `path`. */
  segments: Buffer[];
  utf8: boolean;
  size: number;
  pad: boolean;
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

function readV1Files(info: BDict, limits: Required<TorrentLimits>): RawFile[] | null {
  const length = info.get('length');
  const files = info.get('files');
  if (length !== undefined && files !== undefined) invalid('info has both "length" and "files"');
  if (length !== undefined) return [{ segments: [], utf8: false, size: readSize(length, 'info.length'), pad: false }];
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
    const size = readSize(entry.get('length'), `${what}.length`);
    const rawPath = entry.get('path');
    const path = rawPath === undefined ? null : readPath(rawPath, `${what}.path`, limits.maxPathDepth);
    const pathUtf8 = utf8Path(entry.get('path.utf-8'), limits.maxPathDepth);
    if (path === null && pathUtf8 === null) invalid(`${what}.path is missing`);
    const attr = entry.get('attr');
    if (attr !== undefined && !isBytes(attr)) invalid(`${what}.attr must be a byte string`);
    const segments = pathUtf8 ?? (path as Buffer[]);
    const pad = (attr !== undefined && attr.includes(0x70 /* p */)) || isLegacyPad(segments);
    if (!pad && ++real > limits.maxFiles) invalid(`too many files (more than ${limits.maxFiles})`);
    out.push({ segments, utf8: pathUtf8 !== null, size, pad });
  }
  return out;
}

interface V2File {
  segments: Buffer[];
  size: number;
  piecesRoot: Buffer | null;
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
      const size = readSize(leaf.get('length'), `${what}: length`);
      const root = leaf.get('pieces root');
      if (root !== undefined && (!isBytes(root) || root.length !== 32)) invalid(`${what}: "pieces root" must be 32 bytes`);
      if (size > 0 && root === undefined) invalid(`${what}: "pieces root" is missing`);
      if (out.length >= limits.maxFiles) invalid(`too many files (more than ${limits.maxFiles})`);
      out.push({ segments: path, size, piecesRoot: (root as Buffer | undefined) ?? null });
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
      if (isBytes(tier)) raws.push(UTF8.decode(tier)); // a flat list, as some writers produce
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
export function parseTorrent(buf: Buffer, limits: TorrentLimits = {}): TorrentMeta {
  const lim: Required<TorrentLimits> = {
    maxBytes: limits.maxBytes ?? TORRENT_LIMITS.maxBytes,
    maxFiles: limits.maxFiles ?? TORRENT_LIMITS.maxFiles,
    maxPathDepth: limits.maxPathDepth ?? TORRENT_LIMITS.maxPathDepth,
    maxItems: limits.maxItems ?? TORRENT_LIMITS.maxItems,
  };
  const { value: root, spans } = decodeBencode(buf, {
    maxBytes: lim.maxBytes,
    maxItems: lim.maxItems,
    // A v2 file tree nests one dictionary per path segment, under root → info → file tree,
    // with the file's own two levels at the bottom.
    maxDepth: Math.max(64, lim.maxPathDepth + 6),
    lenient: true,
  });
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
  }
  const v1Files = readV1Files(info, lim);
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
  const cache = new Map<string, string>();

  if (v1Files !== null) {
    const single = info.has('length');
    folder = single ? null : name;
    for (let i = 0; i < v1Files.length; i++) {
      const f = v1Files[i];
      const offset = streamSize;
      streamSize = addSize(streamSize, f.size);
      if (f.pad) continue;
      totalSize += f.size;
      const path = single ? [name] : safePath(f.segments, f.utf8 ? UTF8 : decoder, cache);
      files.push(fileEntry(files.length, i, path, f.size, offset, pieceLength));
    }
    if (files.length === 0) invalid('info.files lists only padding files');
    engineFileCount = v1Files.length;
    pieceCount = Math.ceil(streamSize / pieceLength);
    const pieces = info.get('pieces');
    if (!isBytes(pieces)) invalid('info.pieces is missing or not a byte string');
    if (pieces.length % 20 !== 0) invalid(`info.pieces is ${pieces.length} bytes, not a multiple of 20`);
    if (pieces.length !== pieceCount * 20) {
      invalid(`info.pieces has ${pieces.length / 20} hashes but ${streamSize} bytes in pieces of ${pieceLength} need ${pieceCount}`);
    }
    if (v2Files !== null) {
      const v2Total = v2Files.reduce((sum, f) => addSize(sum, f.size), 0);
      if (v2Total !== totalSize) invalid(`the v1 files (${totalSize} bytes) and the v2 file tree (${v2Total} bytes) disagree`);
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
      totalSize += f.size;
      pieceCount += Math.ceil(f.size / pieceLength);
      const path = single ? [sanitizeName(decodeText(f.segments[0], decoder), name)] : safePath(f.segments, decoder, cache);
      files.push(fileEntry(i, i, path, f.size, offset, pieceLength));
    }
    engineFileCount = list.length;
  }
  if (v2Files !== null) checkPieceLayers(root.get('piece layers'), v2Files, pieceLength);

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
  };
}

/**
 * `piece layers` (outside `info`, so not covered by the infohash) is optional here — a torrent
 * built from a magnet link has none yet — but when a layer is present its size must match.
 */
function checkPieceLayers(layers: BValue | undefined, files: V2File[], pieceLength: number): void {
  if (layers === undefined) return;
  if (!isDict(layers)) invalid('"piece layers" must be a dictionary');
  for (const f of files) {
    if (f.piecesRoot === null || f.size <= pieceLength) continue;
    const layer = layers.get(f.piecesRoot.toString('latin1'));
    if (layer === undefined) continue;
    if (!isBytes(layer) || layer.length !== Math.ceil(f.size / pieceLength) * 32) {
      invalid(`a "piece layers" entry does not match its file of ${f.size} bytes`);
    }
  }
}

/** The file's path under the task's destination: inside the torrent's folder for a multi-file torrent. */
export function destinationPath(meta: Pick<TorrentMeta, 'folder'>, file: Pick<TorrentFile, 'path'>): string[] {
  return meta.folder === null ? [...file.path] : [meta.folder, ...file.path];
}

/**
 * Throws PROTOCOL_UNSUPPORTED for a torrent the engine cannot download: a pure v2 torrent when
 * the engine speaks only v1 (a hybrid one downloads over v1).
 */
export function assertDownloadable(meta: Pick<TorrentMeta, 'version'>, engine: { v2?: boolean } = {}): void {
  if (meta.version === 2 && !engine.v2) {
    throw new AppError('PROTOCOL_UNSUPPORTED', 'This torrent is BitTorrent v2 only; the download engine supports v1 and hybrid torrents.');
  }
}
