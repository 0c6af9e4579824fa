import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureDataDir, type DataDirLayout } from '../data-dir/index.js';
import type { OfflineConfig } from '../offline/index.js';
import { parseS3Url, type StoreConfig } from '../store/store-config.js';
import { offlineConfigFrom } from './offline.js';
import { readSetting, readSettings, type Env } from './env.js';

// The server's configuration: the environment read through the schema (schema.ts, env.ts),
// shaped for the parts that use it, plus the data directory and the secret.

export { defaultOf, readSetting, readSettings, type Env } from './env.js';
export { ConfigSchema, SETTING_NAMES, type SettingName, type Settings } from './schema.js';
export type { StoreConfig } from '../store/store-config.js';

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
  /** Where this process receives uploads; null: `<publicUrl>/upload`. */
  uploadUrl: string | null;
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
  /** `all`: the only process; `api`: HTTP without engines; `worker`: engines without public HTTP. */
  role: ServerRole;
  /** How long a worker's claim on an offline job holds without a heartbeat, ms. */
  jobLeaseMs: number;
  /** Where content is kept: the data directory, or an S3-compatible bucket. */
  store: StoreConfig;
}

export type ServerRole = 'all' | 'api' | 'worker';

/**
 * Refuses a role the storage cannot carry: `api` and `worker` processes share one database and
 * one content store — PostgreSQL and a bucket. SQLite in a data directory belongs to one process
 * (its lock keeps a second one out), and so does the data directory's own store.
 */
function checkedRole(role: ServerRole, shared: { databaseUrl: string | null; store: StoreConfig; secret: string | undefined }): ServerRole {
  if (role === 'all') return role;
  if (shared.databaseUrl === null || shared.store.kind !== 's3') {
    throw new Error(
      `OPENPAN_ROLE=${role} needs a database and a content store that several processes share: OPENPAN_DATABASE_URL (PostgreSQL) and OPENPAN_STORE (s3://…), docs/scale-out.md. ` +
        'The SQLite database and the store in OPENPAN_DATA_DIR serve a single process. Leave OPENPAN_ROLE unset (all) to run openpan as one process.',
    );
  }
  // Each process would make a secret of its own: a token signed by one would be refused by another.
  if (shared.secret === undefined) {
    throw new Error(`OPENPAN_ROLE=${role} needs OPENPAN_SECRET, the same in every process of the cluster (docs/scale-out.md).`);
  }
  return role;
}

/**
 * OPENPAN_STORE and, for a bucket, the AWS SDK's standard variables, read from the same
 * environment as the rest (so a test's server gets its own). Credentials unset: the SDK's
 * default chain (profile files, instance roles).
 */
export function storeConfigFrom(env: Env): StoreConfig {
  const url = readSetting(env, 'OPENPAN_STORE');
  if (url === undefined) return { kind: 'local' };
  const target = parseS3Url(url);
  if (target === null) throw new Error(`OPENPAN_STORE must be s3://BUCKET[/prefix] (or unset for the data directory), not ${JSON.stringify(url)}.`);
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const accessKeyId = value('AWS_ACCESS_KEY_ID');
  const secretAccessKey = value('AWS_SECRET_ACCESS_KEY');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
    throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set together, or neither.');
  return {
    kind: 's3',
    presign: readSetting(env, 'OPENPAN_S3_PRESIGN'),
    location: {
      ...target,
      endpoint: value('AWS_ENDPOINT_URL_S3') ?? value('AWS_ENDPOINT_URL'),
      region: value('AWS_REGION') ?? value('AWS_DEFAULT_REGION') ?? 'us-east-1',
      credentials:
        accessKeyId === undefined || secretAccessKey === undefined ? undefined : { accessKeyId, secretAccessKey, sessionToken: value('AWS_SESSION_TOKEN') },
      forcePathStyle: readSetting(env, 'OPENPAN_S3_FORCE_PATH_STYLE'),
    },
  };
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
  const store = storeConfigFrom(env);
  const offline = offlineConfigFrom(s);
  const role = checkedRole(s.OPENPAN_ROLE, { databaseUrl: s.OPENPAN_DATABASE_URL ?? null, store, secret: s.OPENPAN_SECRET });
  const dataDir = resolve(s.OPENPAN_DATA_DIR);
  const layout = ensureDataDir(dataDir);
  return {
    host: s.OPENPAN_HOST,
    port: s.OPENPAN_PORT,
    dataDir,
    databaseUrl: s.OPENPAN_DATABASE_URL ?? null,
    publicUrl: s.OPENPAN_PUBLIC_URL.replace(/\/+$/, ''),
    uploadUrl: s.OPENPAN_UPLOAD_URL === undefined ? null : s.OPENPAN_UPLOAD_URL.replace(/\/+$/, ''),
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
    role,
    jobLeaseMs: s.OPENPAN_JOB_LEASE * 1000,
    store,
  };
}
