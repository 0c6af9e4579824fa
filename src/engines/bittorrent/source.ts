import { isAppError } from '../../errors.js';
import { assertDownloadable, parseMagnet, parseTorrentOnce, type TorrentMeta } from '../../torrent/index.js';
import type { EngineFailure, EngineSource } from '../engine.js';
import { engineFailure } from '../failures.js';

/** A job's source, checked and normalised before anything touches the network. */
export interface PreparedSource {
  infoHash: string;
  /** What WebTorrent is given: the `.torrent` bytes, or a magnet link rebuilt from its parsed parts. */
  torrentId: Buffer | string;
  meta: TorrentMeta | null;
  /** Trackers and web seeds from the magnet link, for the `.torrent` built once metadata arrives. */
  trackers: string[];
  webSeeds: string[];
  /** The magnet link's `x.pe` peers. */
  peers: string[];
}

export function prepareSource(source: EngineSource): PreparedSource | EngineFailure {
  try {
    if (source.kind === 'torrent') {
      const meta = parseTorrentOnce(source.torrent);
      assertDownloadable(meta);
      return { infoHash: meta.infoHash as string, torrentId: source.torrent, meta, trackers: [], webSeeds: [], peers: [] };
    }
    if (source.kind !== 'magnet') return engineFailure('PROTOCOL_UNSUPPORTED', `The BitTorrent engine does not download ${source.kind} sources.`);
    const magnet = parseMagnet(source.uri);
    if (magnet.infoHash === null) return engineFailure('PROTOCOL_UNSUPPORTED', 'This magnet link names only a BitTorrent v2 info hash; the engine speaks v1.');
    // Rebuilt from the parsed link: only the hash, name, http(s)/udp trackers, web seeds and
    // peers reach WebTorrent (no `xs`/`as`, which would make it fetch arbitrary URLs).
    const parts = [`xt=urn:btih:${magnet.infoHash}`];
    if (magnet.name !== null) parts.push(`dn=${encodeURIComponent(magnet.name)}`);
    for (const tr of magnet.trackers) parts.push(`tr=${encodeURIComponent(tr)}`);
    for (const ws of magnet.webSeeds) parts.push(`ws=${encodeURIComponent(ws)}`);
    // Unencoded: magnet-uri 6.2.0 does not decode `x.pe`, and a percent-encoded address is one
    // WebTorrent cannot use. parseMagnet's spelling (an IP, `[v6]` or a host name, then `:port`)
    // holds no `&` or `=`.
    for (const pe of magnet.peers) parts.push(`x.pe=${pe}`);
    return {
      infoHash: magnet.infoHash,
      torrentId: `magnet:?${parts.join('&')}`,
      meta: null,
      trackers: magnet.trackers,
      webSeeds: magnet.webSeeds,
      peers: magnet.peers,
    };
  } catch (err) {
    if (isAppError(err) && err.code === 'PROTOCOL_UNSUPPORTED') return engineFailure('PROTOCOL_UNSUPPORTED', err.message);
    if (isAppError(err)) return engineFailure('SOURCE_INVALID', err.message);
    return engineFailure('SOURCE_INVALID', err instanceof Error ? err.message : String(err));
  }
}

export function isFailure(value: PreparedSource | EngineFailure): value is EngineFailure {
  return 'code' in value;
}
