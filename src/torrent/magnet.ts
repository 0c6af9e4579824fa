import { isIPv4, isIPv6 } from 'node:net';
import { AppError } from '../errors.js';
import { sanitizeName } from '../names/file-names.js';
import { collectUrls, trackerUrl, webSeedUrl } from './urls.js';

// Magnet links (BEP 9, BEP 52's btmh, BEP 19 ws, x.pe) as a pure function.
//
// The info hash is the one thing a magnet link must get right: a missing, malformed or
// contradictory `xt` is URL_INVALID. Trackers, web seeds and peers are hints: entries that are
// not http/https/udp trackers, http/https web seeds or host:port peers are dropped silently.

export interface MagnetLink {
  /** v1 info hash, 40 lowercase hex digits (`xt=urn:btih:`, hex or base32), or null. */
  infoHash: string | null;
  /** v2 info hash, 64 lowercase hex digits (`xt=urn:btmh:1220…`), or null. At least one of the two is set. */
  infoHashV2: string | null;
  /** `dn`, sanitised to a usable name, or null. */
  name: string | null;
  trackers: string[];
  webSeeds: string[];
  /** `x.pe` peers as `host:port` or `[ipv6]:port`. */
  peers: string[];
}

/** Longer magnet links are not something a user pastes; the cap keeps parsing cheap. */
export const MAX_MAGNET_LENGTH = 64 * 1024;

function bad(reason: string): never {
  throw new AppError('URL_INVALID', `Invalid magnet link: ${reason}.`);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, exactly 32 characters → 20 bytes as hex; null if not base32. */
function base32ToHex(text: string): string | null {
  const upper = text.toUpperCase();
  const bytes = Buffer.alloc(20);
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (const ch of upper) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[n++] = (acc >> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  return n === 20 ? bytes.toString('hex') : null;
}

function btih(value: string): string {
  if (/^[0-9a-f]{40}$/i.test(value)) return value.toLowerCase();
  if (value.length === 32) {
    const hex = base32ToHex(value);
    if (hex !== null) return hex;
  }
  return bad('"urn:btih:" must be followed by 40 hex digits or 32 base32 characters');
}

function btmh(value: string): string {
  // A multihash: 0x12 (sha2-256), 0x20 (32 bytes), then the digest.
  if (!/^1220[0-9a-f]{64}$/i.test(value)) return bad('"urn:btmh:" must be a SHA-256 multihash: "1220" and 64 hex digits');
  return value.slice(4).toLowerCase();
}

const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** A normalised `host:port` for an `x.pe` value, or null. */
export function peerAddress(raw: string): string | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(raw) ?? /^([^:[\]]+):(\d{1,5})$/.exec(raw);
  if (m === null) return null;
  const [, host, portText] = m;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  if (raw.startsWith('[')) return isIPv6(host) ? `[${host.toLowerCase()}]:${port}` : null;
  if (isIPv4(host) || HOSTNAME_RE.test(host)) return `${host.toLowerCase()}:${port}`;
  return null;
}

/** Parses a `magnet:?` URI. Malformed → AppError URL_INVALID. */
export function parseMagnet(uri: string): MagnetLink {
  const text = uri.trim();
  if (text.length > MAX_MAGNET_LENGTH) bad(`longer than ${MAX_MAGNET_LENGTH} characters`);
  if (!/^magnet:\?/i.test(text)) bad('it does not start with "magnet:?"');
  const hashAt = text.indexOf('#');
  const query = text.slice('magnet:?'.length, hashAt < 0 ? undefined : hashAt);

  let infoHash: string | null = null;
  let infoHashV2: string | null = null;
  let name: string | null = null;
  const trackers: string[] = [];
  const webSeeds: string[] = [];
  const peers = new Set<string>();
  const rawTrackers: string[] = [];
  const rawSeeds: string[] = [];

  for (const [rawKey, value] of new URLSearchParams(query)) {
    // `xt.1`, `tr.2`: numbered repeats of a parameter (BEP 9). `x.pe` keeps its own dot.
    const key = rawKey.toLowerCase().replace(/\.\d+$/, '');
    if (key === 'xt') {
      const lower = value.toLowerCase();
      if (lower.startsWith('urn:btih:')) {
        const hash = btih(value.slice(9));
        if (infoHash !== null && infoHash !== hash) bad('it names two different v1 info hashes');
        infoHash = hash;
      } else if (lower.startsWith('urn:btmh:')) {
        const hash = btmh(value.slice(9));
        if (infoHashV2 !== null && infoHashV2 !== hash) bad('it names two different v2 info hashes');
        infoHashV2 = hash;
      }
      // Other URNs (ed2k, sha1, tree:tiger, ...) describe the same content to other networks.
    } else if (key === 'dn') {
      if (name === null && value.trim() !== '') name = sanitizeName(value);
    } else if (key === 'tr') {
      rawTrackers.push(value);
    } else if (key === 'ws') {
      rawSeeds.push(value);
    } else if (key === 'x.pe') {
      const peer = peerAddress(value);
      if (peer !== null) peers.add(peer);
    }
  }
  if (infoHash === null && infoHashV2 === null) bad('it has no BitTorrent info hash ("xt=urn:btih:" or "xt=urn:btmh:")');
  collectUrls(rawTrackers, trackerUrl, trackers);
  collectUrls(rawSeeds, webSeedUrl, webSeeds);
  return { infoHash, infoHashV2, name, trackers, webSeeds, peers: [...peers] };
}
