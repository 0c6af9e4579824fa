import type { AddressPolicy } from '../../net/index.js';

/** Options of the HTTP/HTTPS engine. The caller reads the environment (`httpEngineOptionsFromEnv`). */
export interface HttpEngineOptions {
  /** Which addresses the engine may connect to (SSRF). Checked on every connection and redirect. */
  policy: AddressPolicy;
  /** Parallel ranged connections per job, when the server supports ranges. Default 8. */
  segments?: number;
  /** Jobs downloading at once; the others wait in `queued`. Default 5. */
  maxActive?: number;
  /** Milliseconds to establish a connection. Default 15 000. */
  connectTimeoutMs?: number;
  /** Milliseconds without a byte before a connection is given up. Default 30 000. */
  idleTimeoutMs?: number;
  /** Attempts after the first, per request, on 5xx/408/429, resets and timeouts. Default 5. */
  retries?: number;
  /** First retry delay; doubles per attempt (capped at 30 s), with ±50% jitter. Default 500 ms. */
  retryDelayMs?: number;
  /** Redirects followed per request. Default 10. */
  maxRedirects?: number;
  /** Global download limit for all jobs, bytes per second. Default: none. */
  downloadLimit?: number;
}

export const HTTP_DEFAULTS = {
  segments: 8,
  maxActive: 5,
  connectTimeoutMs: 15_000,
  idleTimeoutMs: 30_000,
  retries: 5,
  retryDelayMs: 500,
  maxRedirects: 10,
} as const;

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * The engine's options from the environment:
 *   OPENPAN_HTTP_SEGMENTS     parallel connections per download (1–64, default 8)
 *   OPENPAN_HTTP_MAX_ACTIVE   URL downloads running at once (1–1000, default 5)
 *   OPENPAN_HTTP_RETRIES      retries per request on 5xx, resets and timeouts (0–100, default 5)
 *   OPENPAN_HTTP_TIMEOUT      seconds to connect, and without a byte once connected (1–3600, default 30;
 *                             the connect timeout is the smaller of this and 15 s)
 */
export function httpEngineOptionsFromEnv(env: Env, policy: AddressPolicy): HttpEngineOptions {
  const options: HttpEngineOptions = { policy };
  const segments = integer(env, 'OPENPAN_HTTP_SEGMENTS', 1, 64);
  if (segments !== undefined) options.segments = segments;
  const maxActive = integer(env, 'OPENPAN_HTTP_MAX_ACTIVE', 1, 1000);
  if (maxActive !== undefined) options.maxActive = maxActive;
  const retries = integer(env, 'OPENPAN_HTTP_RETRIES', 0, 100);
  if (retries !== undefined) options.retries = retries;
  const timeout = integer(env, 'OPENPAN_HTTP_TIMEOUT', 1, 3600);
  if (timeout !== undefined) {
    options.idleTimeoutMs = timeout * 1000;
    options.connectTimeoutMs = Math.min(timeout * 1000, HTTP_DEFAULTS.connectTimeoutMs);
  }
  return options;
}
