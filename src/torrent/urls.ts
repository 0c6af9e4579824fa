// Which tracker and web-seed URLs openpan keeps from a torrent or magnet link. Anything else
// (wss:, file:, javascript:, garbage) is dropped silently: these are hints, not requirements.

const TRACKER_PROTOCOLS = new Set(['http:', 'https:', 'udp:']);
const WEB_SEED_PROTOCOLS = new Set(['http:', 'https:']);
/** Longer URLs are not trackers anyone runs; the cap keeps a hostile list cheap. */
const MAX_URL_LENGTH = 2048;

function keep(raw: string, protocols: Set<string>): string | null {
  const url = raw.trim();
  if (url.length === 0 || url.length > MAX_URL_LENGTH) return null;
  // No whitespace or control characters inside: URL parsing would silently strip some of them.
  if (/[\p{Cc} ]/u.test(url)) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (!protocols.has(parsed.protocol) || parsed.hostname === '') return null;
  return url;
}

/** The URL (trimmed) if it is an http, https or udp tracker, else null. */
export function trackerUrl(raw: string): string | null {
  return keep(raw, TRACKER_PROTOCOLS);
}

/** The URL (trimmed) if it is an http or https web seed (BEP 19), else null. */
export function webSeedUrl(raw: string): string | null {
  return keep(raw, WEB_SEED_PROTOCOLS);
}

/** Adds the kept form of each raw URL to `into`, once each, in order. */
export function collectUrls(raws: Iterable<string>, filter: (raw: string) => string | null, into: string[], seen = new Set(into)): void {
  for (const raw of raws) {
    const url = filter(raw);
    if (url !== null && !seen.has(url)) {
      seen.add(url);
      into.push(url);
    }
  }
}
