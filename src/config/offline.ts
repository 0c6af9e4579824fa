import { HTTP_DEFAULTS, type HttpEngineOptions, type WebTorrentEngineOptions } from '../engines/index.js';
import { AddressPolicy, parseCidr } from '../net/index.js';
import type { MagnetConfig, OfflineConfig, QuotaConfig, SeedingConfig } from '../offline/index.js';
import type { Settings } from './schema.js';

// The offline download's settings from the variables (schema.ts says what each one means).

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
