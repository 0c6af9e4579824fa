import type { AddressPolicy } from '../../net/index.js';

/** Options of the HTTP/HTTPS engine. The caller reads the environment (src/offline/offline-config.ts). */
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
