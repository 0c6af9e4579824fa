import type { AddressPolicy } from '../../net/index.js';
import { DEFAULT_MAX_OPEN_FILES, type FdPool } from '../fd-pool.js';

/** Options of the BitTorrent engine. The caller reads the environment (src/offline/offline-config.ts). */
export interface WebTorrentEngineOptions {
  /** Mainline DHT (BEP 5). The server turns it on unless OPENPAN_BT_DHT=0; tests turn it off. */
  dht: boolean;
  /** Peer exchange (BEP 11): accept peers that connected peers tell us about. */
  pex: boolean;
  /** Accept incoming uTP connections (utp-native). Default false. */
  utp?: boolean;
  /** Global cap on peer connections across all jobs. Default 200. */
  maxConns?: number;
  /** Jobs downloading at once; the others wait in state `queued`, first come first served. Default 5. */
  maxActive?: number;
  /**
   * Jobs that only fetch a magnet link's metadata (they select no file) running at once, in a
   * pool of their own: lookups of links nobody seeds never take the slots of downloads. Default 20.
   */
  maxMetadataFetches?: number;
  /** Global download rate limit, bytes per second. Default: none. */
  downloadLimit?: number;
  /** Global upload rate limit, bytes per second. Default: none. */
  uploadLimit?: number;
  /** A job with no peer and no data for this long fails with NO_PEERS_TIMEOUT. Default 30 minutes. */
  noPeersTimeoutMs?: number;
  /** TCP port for incoming peer connections; 0 picks a free one. Default 0. */
  torrentPort?: number;
  /**
   * Trackers and web seeds whose host the policy refuses are dropped before a job starts
   * (tracker-guard.ts), and no connection is made to a peer address it refuses (peer-guard.ts).
   * Default: none, every tracker, web seed and peer is used.
   */
  addressPolicy?: AddressPolicy;
  /**
   * Descriptors the engine may hold for job and seed files at once, all jobs together
   * (OPENPAN_MAX_OPEN_FILES). Default 256. Ignored when `fdPool` is given.
   */
  maxOpenFiles?: number;
  /** The descriptor pool to open files through (shared with others, or a test's). Default: the engine's own, of `maxOpenFiles`. */
  fdPool?: FdPool;
}

export const DEFAULTS = {
  utp: false,
  maxConns: 200,
  maxActive: 5,
  maxMetadataFetches: 20,
  noPeersTimeoutMs: 30 * 60_000,
  torrentPort: 0,
  maxOpenFiles: DEFAULT_MAX_OPEN_FILES,
} as const;

/** The options with their defaults filled in (rate limits, the policy and the pool stay optional). */
export type ResolvedOptions = Required<Omit<WebTorrentEngineOptions, 'downloadLimit' | 'uploadLimit' | 'addressPolicy' | 'fdPool'>> &
  Pick<WebTorrentEngineOptions, 'downloadLimit' | 'uploadLimit' | 'addressPolicy'>;
