import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureDataDir, type DataDirLayout } from '../data-dir/index.js';
import type { OfflineConfig } from '../offline/index.js';
import { offlineConfigFrom } from './offline.js';
import { readSetting, readSettings, type Env } from './env.js';

// The server's configuration: the environment read through the schema (schema.ts, env.ts),
// shaped for the parts that use it, plus the data directory and the secret.

export { defaultOf, readSetting, readSettings, type Env } from './env.js';
export { ConfigSchema, SETTING_NAMES, type SettingName, type Settings } from './schema.js';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `postgres://…` when the state lives in PostgreSQL; null: SQLite in the data directory. */
  databaseUrl: string | null;
  /**
   * Base URL clients reach the server at; upload and download addresses are built from it.
   * Without OPENPAN_PUBLIC_URL it is derived from the address the server listens on.
   */
  publicUrl: string;
  /** Secret for HMAC signatures (upload tokens, download URLs, task hashes). */
  secret: string;
  adminName: string;
  adminPassword: string | null;
  registration: 'open' | 'closed';
  /** Whether WebDAV and the qBittorrent API accept the account password besides app passwords. */
  davAccountPassword: boolean;
  defaultQuota: number;
  /** Entries (files and folders) one user may have; 0: no limit. */
  maxEntries: number;
  /** Lifetime of signed download URLs, ms. */
  downloadUrlTtlMs: number;
  /** Lifetime of upload tokens, ms. */
  uploadTokenTtlMs: number;
  /** Partial uploads untouched for this long are removed, ms. */
  uploadExpiryMs: number;
  /** Days a removed entry stays in the recycle bin; 0: no bin. */
  recycleDays: number;
  logLevel: string;
  /** Failed logins per account within the window before it is refused (0: no limit). */
  loginMaxFailures: number;
  /** The failed-login window, ms. */
  loginWindowMs: number;
  /** Browser origins allowed to call the API (CORS), e.g. 6pan's web front end; `*` for any. */
  corsOrigins: string[];
  /** Reverse proxies whose X-Forwarded-For is believed (addresses or CIDRs). */
  trustedProxies: string[];
  /** A request's headers must arrive within this, ms (0: no limit). */
  headersTimeoutMs: number;
  /** A request's headers and body must arrive within this, ms (0: no limit). */
  requestTimeoutMs: number;
  /** An upload body from which no byte arrives for this long is cut off, ms (0: never). */
  bodyIdleTimeoutMs: number;
  /** Offline download: engines, seeding, quotas, magnet links. */
  offline: OfflineConfig;
  /** Where qBittorrent clients see the drive (`/api/v2/` paths), without a trailing slash ("" for `/`). */
  qbtPathRoot: string;
  /** Playback in the browser: ffmpeg, the segment cache, concurrent transcodes. */
  media: { ffmpeg: string; cacheMaxBytes: number; transcodeMax: number };
}

/** The data directory OPENPAN_DATA_DIR names, as an absolute path. */
export function dataDirFrom(env: Env): string {
  return resolve(readSetting(env, 'OPENPAN_DATA_DIR'));
}

/** Every signature hands users an HMAC: a short key could be guessed offline from one of them. */
const MIN_SECRET_BYTES = 32;

function checkedSecret(secret: string, where: string): string {
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    throw new Error(
      `${where} must be at least ${MIN_SECRET_BYTES} bytes (e.g. \`openssl rand -hex 32\`); it signs every upload token, download address and task hash.`,
    );
  }
  return secret;
}

/** The secret from the environment, or from the data directory, created on the first start. */
function loadSecret(fromEnv: string | undefined, layout: DataDirLayout): string {
  if (fromEnv !== undefined) return checkedSecret(fromEnv, 'OPENPAN_SECRET');
  const file = layout.secret;
  if (existsSync(file)) return checkedSecret(readFileSync(file, 'utf8').trim(), file);
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

/**
 * The server's configuration. Throws when a variable is not valid, before anything is written;
 * then creates the data directory and the secret when they do not exist yet.
 */
export function loadConfig(env: Env = process.env): Config {
  const s = readSettings(env);
  const offline = offlineConfigFrom(s);
  const dataDir = resolve(s.OPENPAN_DATA_DIR);
  const layout = ensureDataDir(dataDir);
  return {
    host: s.OPENPAN_HOST,
    port: s.OPENPAN_PORT,
    dataDir,
    databaseUrl: s.OPENPAN_DATABASE_URL ?? null,
    publicUrl: s.OPENPAN_PUBLIC_URL.replace(/\/+$/, ''),
    secret: loadSecret(s.OPENPAN_SECRET, layout),
    adminName: s.OPENPAN_ADMIN_NAME,
    adminPassword: s.OPENPAN_ADMIN_PASSWORD ?? null,
    registration: s.OPENPAN_REGISTRATION,
    davAccountPassword: s.OPENPAN_DAV_ACCOUNT_PASSWORD,
    defaultQuota: s.OPENPAN_DEFAULT_QUOTA,
    maxEntries: s.OPENPAN_MAX_ENTRIES,
    downloadUrlTtlMs: s.OPENPAN_DOWNLOAD_URL_TTL * 1000,
    uploadTokenTtlMs: s.OPENPAN_UPLOAD_TOKEN_TTL * 1000,
    uploadExpiryMs: s.OPENPAN_UPLOAD_EXPIRY * 1000,
    recycleDays: s.OPENPAN_RECYCLE_DAYS,
    logLevel: s.OPENPAN_LOG_LEVEL,
    loginMaxFailures: s.OPENPAN_LOGIN_MAX_FAILURES,
    loginWindowMs: s.OPENPAN_LOGIN_WINDOW * 1000,
    corsOrigins: s.OPENPAN_CORS_ORIGINS.map((o) => o.replace(/\/+$/, '')).filter(Boolean),
    trustedProxies: s.OPENPAN_TRUST_PROXY,
    headersTimeoutMs: s.OPENPAN_HEADERS_TIMEOUT * 1000,
    requestTimeoutMs: s.OPENPAN_REQUEST_TIMEOUT * 1000,
    bodyIdleTimeoutMs: s.OPENPAN_BODY_IDLE_TIMEOUT * 1000,
    offline,
    qbtPathRoot: s.OPENPAN_QBT_PATH_ROOT.replace(/\/+$/, ''),
    media: { ffmpeg: s.OPENPAN_FFMPEG, cacheMaxBytes: s.OPENPAN_MEDIA_CACHE_MAX, transcodeMax: s.OPENPAN_TRANSCODE_MAX },
  };
}
