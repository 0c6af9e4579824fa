import { sep } from 'node:path';
import { destinationPath, type TorrentMeta } from '../../torrent/index.js';
import { rememberTorrentFile, TORRENT_FILE, type WtParsedTorrent } from './webtorrent-api.js';

/**
 * The torrent `meta` (parsed by openpan from `torrentFile`) in the form WebTorrent takes instead
 * of the bytes, built in one pass over the files. `announce` and `urlList` are what the
 * `.torrent` names (after the address policy). Null for a torrent without a v1 stream, which
 * WebTorrent cannot download anyway.
 */
export function parsedForWebTorrent(meta: TorrentMeta, torrentFile: Buffer, announce: readonly string[], urlList: readonly string[]): WtParsedTorrent | null {
  const stream = meta.v1Stream;
  if (stream === null || meta.infoHash === null) return null;
  // The engine's list, pad files and symlinks included, each at its place in the byte stream.
  const files: WtParsedTorrent['files'] = new Array(meta.engineFileCount);
  for (const f of meta.files) {
    const path = destinationPath(meta, f);
    files[f.engineIndex] = { path: path.join(sep), name: path[path.length - 1], length: f.size, offset: f.offset };
  }
  for (const h of stream.hidden)
    files[h.engineIndex] = { path: `${meta.name}${sep}.pad${sep}${h.engineIndex}`, name: String(h.engineIndex), length: h.size, offset: 0 };
  let offset = 0;
  for (const file of files) {
    file.offset = offset;
    offset += file.length;
  }
  const pieces = new Array<string>(meta.pieceCount);
  for (let i = 0; i < meta.pieceCount; i++) pieces[i] = stream.pieces.toString('hex', i * 20, i * 20 + 20);
  const parsed: WtParsedTorrent = {
    info: {},
    infoBuffer: stream.info,
    infoHash: meta.infoHash,
    infoHashBuffer: Buffer.from(meta.infoHash, 'hex'),
    name: meta.name,
    announce: [...announce],
    urlList: [...urlList],
    private: meta.private,
    files,
    length: meta.streamSize,
    pieceLength: meta.pieceLength,
    lastPieceLength: meta.streamSize % meta.pieceLength || meta.pieceLength,
    pieces,
    [TORRENT_FILE]: torrentFile,
  };
  rememberTorrentFile(parsed);
  return parsed;
}
