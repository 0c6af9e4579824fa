import type { Settings } from '../config/schema.js';
import type { WebTorrentEngineOptions } from '../engines/index.js';
import { HTTP_DEFAULTS, type HttpEngineOptions } from '../engines/http/options.js';
import { AddressPolicy, parseCidr } from '../net/address-policy.js';
import type { SeedingConfig } from './seeding.js';

// The offline download's settings, from the configuration (src/config/schema.ts says what each
// variable means): the engines' options, seeding, quotas and the magnet-link waits.

export interface QuotaConfig {
  /** Tasks per user per day; 0: unlimited. */
  dailyTasks: number;
  /** Active tasks per user; 0: unlimited. */
  maxRunning: number;
}

export interface MagnetConfig {
  parseWaitMs: number;
  prefetchMs: number;
}

export interface OfflineConfig {
  /** Which addresses URL downloads, trackers and web seeds may reach (OPENPAN_FETCH_ALLOW). */
  policy: AddressPolicy;
  /** The BitTorrent engine. */
  engine: WebTorrentEngineOptions;
  /** The HTTP/HTTPS engine. */
  http: HttpEngineOptions;
  seeding: SeedingConfig;
  quota: QuotaConfig;
  magnet: MagnetConfig;
}

/** A rate limit: 0 or unset is none. */
const limit = (n: number | undefined) => (n === undefined || n === 0 ? undefined : n);

export function offlineConfigFrom(s: Settings): OfflineConfig {
  const policy = new AddressPolicy(s.OPENPAN_FETCH_ALLOW.map(parseCidr));
  const engine: WebTorrentEngineOptions = {
    addressPolicy: policy,
    dht: s.OPENPAN_BT_DHT,
    pex: s.OPENPAN_BT_PEX,
    utp: s.OPENPAN_BT_UTP,
    torrentPort: s.OPENPAN_BT_PORT,
    maxConns: s.OPENPAN_BT_MAX_CONNS,
    maxActive: s.OPENPAN_BT_MAX_ACTIVE,
    maxMetadataFetches: s.OPENPAN_BT_MAX_METADATA_FETCHES,
    maxOpenFiles: s.OPENPAN_MAX_OPEN_FILES,
    noPeersTimeoutMs: s.OPENPAN_BT_NO_PEERS_TIMEOUT * 1000,
  };
  const down = limit(s.OPENPAN_BT_DOWNLOAD_LIMIT);
  if (down !== undefined) engine.downloadLimit = down;
  const up = limit(s.OPENPAN_BT_UPLOAD_LIMIT);
  if (up !== undefined) engine.uploadLimit = up;
  const http: HttpEngineOptions = {
    policy,
    segments: s.OPENPAN_HTTP_SEGMENTS,
    maxActive: s.OPENPAN_HTTP_MAX_ACTIVE,
    retries: s.OPENPAN_HTTP_RETRIES,
    idleTimeoutMs: s.OPENPAN_HTTP_TIMEOUT * 1000,
    connectTimeoutMs: Math.min(s.OPENPAN_HTTP_TIMEOUT * 1000, HTTP_DEFAULTS.connectTimeoutMs),
  };
  const ratio = s.OPENPAN_SEED_RATIO;
  const seedTime = s.OPENPAN_SEED_TIME;
  const seeding: SeedingConfig = { enabled: ratio !== undefined || seedTime !== undefined, ratio: ratio ?? 0, timeMs: (seedTime ?? 0) * 1000 };
  const quota: QuotaConfig = { dailyTasks: s.OPENPAN_OFFLINE_DAILY_TASKS, maxRunning: s.OPENPAN_OFFLINE_MAX_RUNNING };
  const magnet: MagnetConfig = { parseWaitMs: s.OPENPAN_MAGNET_WAIT * 1000, prefetchMs: s.OPENPAN_MAGNET_PREFETCH * 1000 };
  return { policy, engine, http, seeding, quota, magnet };
}
