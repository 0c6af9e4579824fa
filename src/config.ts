import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
}

type Env = Record<string, string | undefined>;

function intFrom(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** Reads the secret from the environment, or from the data dir, creating it on first start. */
function loadSecret(env: Env, dataDir: string): string {
  if (env.OPENPAN_SECRET) return env.OPENPAN_SECRET;
  const file = join(dataDir, 'secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

export function loadConfig(env: Env = process.env): Config {
  const host = env.OPENPAN_HOST || '127.0.0.1';
  const port = intFrom(env, 'OPENPAN_PORT', 7777);
  const dataDir = resolve(env.OPENPAN_DATA_DIR || './data');
  mkdirSync(dataDir, { recursive: true });
  const registration = (env.OPENPAN_REGISTRATION || 'closed').toLowerCase();
  if (registration !== 'open' && registration !== 'closed') {
    throw new Error(`OPENPAN_REGISTRATION must be "open" or "closed", got ${JSON.stringify(env.OPENPAN_REGISTRATION)}`);
  }
  return {
    host,
    port,
    dataDir,
    publicUrl: (env.OPENPAN_PUBLIC_URL || '').replace(/\/+$/, ''),
    secret: loadSecret(env, dataDir),
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
  };
}
