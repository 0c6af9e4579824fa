import { AppError } from '../errors.js';
import { isFetchError, probeUrl, type AddressPolicy } from '../net/index.js';
import type { UrlProbe } from './parse.js';

// The parse-time look at a URL (name, size) under the address policy, with the fetch layer's
// failures turned into the API's codes.

const PROBE_CONNECT_TIMEOUT_MS = 10_000;
const PROBE_IDLE_TIMEOUT_MS = 15_000;

export function urlProber(policy: AddressPolicy): (url: string) => Promise<UrlProbe> {
  return async (url) => {
    try {
      const probe = await probeUrl(url, { policy, connectTimeoutMs: PROBE_CONNECT_TIMEOUT_MS, idleTimeoutMs: PROBE_IDLE_TIMEOUT_MS });
      return { finalUrl: probe.finalUrl, name: probe.name, size: probe.size };
    } catch (err) {
      if (!isFetchError(err)) throw err;
      switch (err.code) {
        case 'URL_FORBIDDEN':
          throw new AppError('URL_FORBIDDEN', `${err.message} Ask the operator to allow it (OPENPAN_FETCH_ALLOW) if it is meant to be reachable.`);
        case 'SOURCE_INVALID':
          throw new AppError('URL_INVALID', err.message);
        case 'PROTOCOL_UNSUPPORTED':
          throw new AppError('PROTOCOL_UNSUPPORTED', err.message, { status: 400 });
        default:
          throw new AppError('URL_UNREACHABLE', `The URL cannot be downloaded (${err.code}): ${err.message}`);
      }
    }
  };
}
