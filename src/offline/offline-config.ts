import type { HttpEngineOptions, WebTorrentEngineOptions } from '../engines/index.js';
import type { AddressPolicy } from '../net/index.js';
import type { SeedingConfig } from './seeding.js';

// The offline download's settings: the engines' options, seeding, quotas and the magnet-link
// waits. src/config/offline.ts makes them from the environment.

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
