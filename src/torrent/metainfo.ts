// `.torrent` parsing: parseTorrent and the checks before a download. The file lists
// (metainfo-files.ts), name decoding (metainfo-text.ts), the consistency checks
// (metainfo-checks.ts) and the parsed types (metainfo-types.ts) are its parts.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { TextDecoder } from 'node:util';
import { AppError } from '../errors.js';
import { sanitizeName } from '../names/file-names.js';
import { decodeBencode, isBytes, isDict, isInteger, isList, type BDict } from './bencode.js';
import { checkHybrid, checkNameClashes, checkPieceLayers } from './metainfo-checks.js';
import { invalid, type Notes, readFileTree, readV1Files, type V2File } from './metainfo-files.js';
import { allUtf8, decodeText, decoderForLabel, safePath, UTF8 } from './metainfo-text.js';
import type { TorrentFile, TorrentLimits, TorrentMeta, V1Stream } from './metainfo-types.js';
import { collectUrls, trackerUrl, webSeedUrl } from './urls.js';

export { MAX_NAME_CLASHES } from './metainfo-checks.js';
export { decoderForLabel } from './metainfo-text.js';
export type { TorrentFile, TorrentLimits, TorrentMeta, V1Stream } from './metainfo-types.js';

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

const hex = (algorithm: string, bytes: Buffer): string => createHash(algorithm).update(bytes).digest('hex');

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
