import { btDhtFromEnv, type WebTorrentEngineOptions } from '../engines/index.js';
import { addressPolicyFromEnv, type AddressPolicy } from '../net/index.js';
import type { SeedingConfig } from './seeding.js';

// The offline download's settings, read from environment-like input (app.ts passes
// process.env). Kept here rather than in config.ts so the engine's knobs stay next to their use.
//
//   OPENPAN_BT_DHT=0               DHT off (default on)
//   OPENPAN_BT_PEX=0               peer exchange off (default on)
//   OPENPAN_BT_UTP=1               accept incoming uTP (default off)
//   OPENPAN_BT_PORT                TCP port for incoming peers (default 0: any free port)
//   OPENPAN_BT_MAX_CONNS           global cap on peer connections (default 200)
//   OPENPAN_BT_MAX_ACTIVE          downloads running at once (default 5)
//   OPENPAN_BT_MAX_METADATA_FETCHES  magnet metadata lookups at once, a pool of their own (default 20)
//   OPENPAN_BT_DOWNLOAD_LIMIT      global download limit, bytes/s (default none)
//   OPENPAN_BT_UPLOAD_LIMIT        global upload limit, bytes/s (default none)
//   OPENPAN_BT_NO_PEERS_TIMEOUT    seconds without a peer or data before NO_PEERS_TIMEOUT (default 1800)
//   OPENPAN_MAX_OPEN_FILES         descriptors the BitTorrent engine holds for job and seed files at
//                                  once, all jobs together (default 256; src/engines/fd-pool.ts)
//
// Seeding after the import (while downloading, the engine always uploads to its peers). Off
// unless one of these is set; with both set, the seed stops at whichever limit comes first.
// The seed reads hard links to the stored files: no second copy on disk (see seeding.ts).
//   OPENPAN_SEED_RATIO             stop once bytes uploaded after the import / bytes seeded ≥ this
//                                  (a decimal, e.g. 1.5; 0 = no ratio limit)
//   OPENPAN_SEED_TIME              stop after this many seconds of seeding, summed over restarts
//                                  (0 = no time limit). Both set to 0: seed until the task is removed.

//
// Magnet links, quotas:
//   OPENPAN_MAGNET_WAIT            seconds `parseUrl` waits for a magnet link's metadata before
//                                  answering `metadataPending: true` (default 5)
//   OPENPAN_MAGNET_PREFETCH        seconds the metadata fetch a parse started goes on after that,
//                                  when no task wants it yet (default 120)
//   OPENPAN_OFFLINE_DAILY_TASKS    tasks a user may start per day (UTC), unless the user's own
//                                  quota says otherwise (default 500; 0 = unlimited)
//   OPENPAN_OFFLINE_MAX_RUNNING    unfinished (active) tasks a user may have at once (default 50; 0 = unlimited)

export type Env = Record<string, string | undefined>;

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
  engine: WebTorrentEngineOptions;
  seeding: SeedingConfig;
  quota: QuotaConfig;
  magnet: MagnetConfig;
}

function intFrom(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

function flagFrom(env: Env, name: string, fallback: boolean): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '') return fallback;
  if (['0', 'false', 'off', 'no'].includes(raw)) return false;
  if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
  throw new Error(`${name} must be 0 or 1, got ${JSON.stringify(env[name])}`);
}

function ratioFrom(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

function positive(env: Env, name: string): number | undefined {
  const n = intFrom(env, name);
  if (n === 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

export function offlineConfigFrom(env: Env): OfflineConfig {
  const limit = (name: string) => {
    const n = intFrom(env, name);
    return n === undefined || n === 0 ? undefined : n;
  };
  const timeout = positive(env, 'OPENPAN_BT_NO_PEERS_TIMEOUT');
  const policy = addressPolicyFromEnv(env);
  const engine: WebTorrentEngineOptions = {
    addressPolicy: policy,
    dht: btDhtFromEnv(env),
    pex: flagFrom(env, 'OPENPAN_BT_PEX', true),
    utp: flagFrom(env, 'OPENPAN_BT_UTP', false),
  };
  const port = intFrom(env, 'OPENPAN_BT_PORT');
  if (port !== undefined) engine.torrentPort = port;
  const maxConns = positive(env, 'OPENPAN_BT_MAX_CONNS');
  if (maxConns !== undefined) engine.maxConns = maxConns;
  const maxActive = positive(env, 'OPENPAN_BT_MAX_ACTIVE');
  if (maxActive !== undefined) engine.maxActive = maxActive;
  const maxMetadataFetches = positive(env, 'OPENPAN_BT_MAX_METADATA_FETCHES');
  if (maxMetadataFetches !== undefined) engine.maxMetadataFetches = maxMetadataFetches;
  const maxOpenFiles = positive(env, 'OPENPAN_MAX_OPEN_FILES');
  if (maxOpenFiles !== undefined) engine.maxOpenFiles = maxOpenFiles;
  const down = limit('OPENPAN_BT_DOWNLOAD_LIMIT');
  if (down !== undefined) engine.downloadLimit = down;
  const up = limit('OPENPAN_BT_UPLOAD_LIMIT');
  if (up !== undefined) engine.uploadLimit = up;
  if (timeout !== undefined) engine.noPeersTimeoutMs = timeout * 1000;
  const ratio = ratioFrom(env, 'OPENPAN_SEED_RATIO');
  const seedTime = intFrom(env, 'OPENPAN_SEED_TIME');
  const seeding: SeedingConfig = { enabled: ratio !== undefined || seedTime !== undefined, ratio: ratio ?? 0, timeMs: (seedTime ?? 0) * 1000 };
  const quota: QuotaConfig = {
    dailyTasks: intFrom(env, 'OPENPAN_OFFLINE_DAILY_TASKS') ?? 500,
    maxRunning: intFrom(env, 'OPENPAN_OFFLINE_MAX_RUNNING') ?? 50,
  };
  const magnet: MagnetConfig = {
    parseWaitMs: (intFrom(env, 'OPENPAN_MAGNET_WAIT') ?? 5) * 1000,
    prefetchMs: (intFrom(env, 'OPENPAN_MAGNET_PREFETCH') ?? 120) * 1000,
  };
  return { policy, engine, seeding, quota, magnet };
}
