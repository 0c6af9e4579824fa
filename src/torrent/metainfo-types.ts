// The parsed form of a `.torrent` (metainfo.ts): what parseTorrent answers and the limits it takes.

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
