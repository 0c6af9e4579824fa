// The torrent parsing layer: bencode, `.torrent` metainfo and magnet links, all pure.
export { decodeBencode, encodeBencode, RawBencode, type BDict, type BEncodable, type BValue, type BencodeLimits, type Decoded, type Span } from './bencode.js';
export {
  assertDownloadable,
  destinationPath,
  parseTorrent,
  parseTorrentOnce,
  TORRENT_LIMITS,
  type TorrentFile,
  type TorrentLimits,
  type TorrentMeta,
  type V1Stream,
} from './metainfo.js';
export { parseMagnet, peerAddress, type MagnetLink } from './magnet.js';
