import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureDataDir, type DataDirLayout } from './data-dir/layout.js';
import { corsOriginsFrom } from './http/sixpan/cors.js';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
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
  defaultQuota: number;
  /** Lifetime of signed download URLs, ms. */
  downloadUrlTtlMs: number;
  /** Lifetime of upload tokens, ms. */
  uploadTokenTtlMs: number;
  /** Partial uploads untouched for this long are removed, ms. */
  uploadExpiryMs: number;
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
}

type Env = Record<string, string | undefined>;

function intFrom(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** Every signature hands users an HMAC: a short key could be guessed offline from one of them. */
const MIN_SECRET_BYTES = 32;

function checkedSecret(secret: string, where: string): string {
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    throw new Error(`${where} must be at least ${MIN_SECRET_BYTES} bytes (e.g. \`openssl rand -hex 32\`); it signs every upload token, download address and task hash.`);
  }
  return secret;
}

/** Reads the secret from the environment, or from the data dir, creating it on first start. */
function loadSecret(env: Env, layout: DataDirLayout): string {
  if (env.OPENPAN_SECRET !== undefined && env.OPENPAN_SECRET !== '') return checkedSecret(env.OPENPAN_SECRET, 'OPENPAN_SECRET');
  const file = layout.secret;
  if (existsSync(file)) return checkedSecret(readFileSync(file, 'utf8').trim(), file);
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

export function loadConfig(env: Env = process.env): Config {
  const host = env.OPENPAN_HOST || '127.0.0.1';
  const port = intFrom(env, 'OPENPAN_PORT', 7777);
  const dataDir = resolve(env.OPENPAN_DATA_DIR || './data');
  const layout = ensureDataDir(dataDir);
  const registration = (env.OPENPAN_REGISTRATION || 'closed').toLowerCase();
  if (registration !== 'open' && registration !== 'closed') {
    throw new Error(`OPENPAN_REGISTRATION must be "open" or "closed", got ${JSON.stringify(env.OPENPAN_REGISTRATION)}`);
  }
  return {
    host,
    port,
    dataDir,
    publicUrl: (env.OPENPAN_PUBLIC_URL || '').replace(/\/+$/, ''),
    secret: loadSecret(env, layout),
    adminName: env.OPENPAN_ADMIN_NAME || 'admin',
    adminPassword: env.OPENPAN_ADMIN_PASSWORD || null,
    registration,
    defaultQuota: intFrom(env, 'OPENPAN_DEFAULT_QUOTA', 100 * 1024 ** 3),
    downloadUrlTtlMs: intFrom(env, 'OPENPAN_DOWNLOAD_URL_TTL', 6 * 3600) * 1000,
    uploadTokenTtlMs: intFrom(env, 'OPENPAN_UPLOAD_TOKEN_TTL', 24 * 3600) * 1000,
    uploadExpiryMs: intFrom(env, 'OPENPAN_UPLOAD_EXPIRY', 24 * 3600) * 1000,
    logLevel: env.OPENPAN_LOG_LEVEL || 'info',
    loginMaxFailures: intFrom(env, 'OPENPAN_LOGIN_MAX_FAILURES', 10),
    loginWindowMs: intFrom(env, 'OPENPAN_LOGIN_WINDOW', 15 * 60) * 1000,
    corsOrigins: corsOriginsFrom(env.OPENPAN_CORS_ORIGINS),
    trustedProxies: (env.OPENPAN_TRUST_PROXY ?? '').split(/[\s,]+/).filter(Boolean),
    headersTimeoutMs: intFrom(env, 'OPENPAN_HEADERS_TIMEOUT', 60) * 1000,
    // Six hours: 6pan's Android app sends a whole file as one form (a 4 GiB video at 200 KiB/s
    // still gets through); a silent body is cut far sooner by the idle timeout below.
    requestTimeoutMs: intFrom(env, 'OPENPAN_REQUEST_TIMEOUT', 6 * 3600) * 1000,
    bodyIdleTimeoutMs: intFrom(env, 'OPENPAN_BODY_IDLE_TIMEOUT', 60) * 1000,
  };
}
