import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';

// The taskHash of `/v1/offline/parse*`: what the client hands back to `/v1/offline/start`.
// Opaque to clients and tamper-proof: `v1.<payload>.<signature>`, both base64url, where the
// payload is a small JSON object and the signature an HMAC-SHA256 over "v1." + payload with a key
// derived from the server secret. It binds the user who parsed, the source (the `.torrent`'s
// content hash, or a magnet link / URL) and the info hash, and expires (24 h by default).

export interface TaskHashClaims {
  userId: number;
  /** `etag:<storeId>` for a `.torrent` in the drive; the link itself for a magnet or URL. */
  source: string;
  /** The BitTorrent v1 info hash (40 hex), or "" when the source has none (a URL). */
  infoHash: string;
  /** A URL: the name and size its server gave when it was parsed (size null: not said). */
  probed?: { name: string; size: number | null };
}

export const TASK_HASH_TTL_MS = 24 * 60 * 60 * 1000;
const VERSION = 'v1';

interface Payload {
  u: number;
  s: string;
  h: string;
  e: number;
  /** `probed`: name and size. */
  n?: string;
  z?: number | null;
}

function keyFor(secret: string): Buffer {
  return createHmac('sha256', secret).update('openpan offline taskHash').digest();
}

function sign(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(`${VERSION}.${body}`).digest('base64url');
}

function invalid(reason: string): never {
  throw new AppError('TASK_HASH_INVALID', `The taskHash is not valid: ${reason}. Parse the torrent or link again.`);
}

/** A signed taskHash for these claims, valid until `now + ttlMs`. */
export function signTaskHash(secret: string, claims: TaskHashClaims, opts: { now?: number; ttlMs?: number } = {}): string {
  const payload: Payload = { u: claims.userId, s: claims.source, h: claims.infoHash, e: (opts.now ?? Date.now()) + (opts.ttlMs ?? TASK_HASH_TTL_MS) };
  if (claims.probed !== undefined) {
    payload.n = claims.probed.name;
    payload.z = claims.probed.size;
  }
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${VERSION}.${body}.${sign(keyFor(secret), body)}`;
}

/** The claims of a taskHash signed with `secret` for `userId`; TASK_HASH_INVALID otherwise. */
export function verifyTaskHash(secret: string, taskHash: unknown, userId: number, now: number = Date.now()): TaskHashClaims {
  if (typeof taskHash !== 'string' || taskHash.length > 64 * 1024) invalid('it is missing or malformed');
  const parts = taskHash.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION || !/^[A-Za-z0-9_-]+$/.test(parts[1]) || !/^[A-Za-z0-9_-]+$/.test(parts[2])) {
    invalid('it is malformed');
  }
  const expected = Buffer.from(sign(keyFor(secret), parts[1]), 'base64url');
  const given = Buffer.from(parts[2], 'base64url');
  // Only the canonical spelling: the spare bits of the last character must not make a second valid string.
  if (given.length !== expected.length || given.toString('base64url') !== parts[2] || !timingSafeEqual(given, expected))
    invalid('its signature does not match');
  let payload: Payload;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Payload;
  } catch {
    invalid('it is malformed');
  }
  if (
    typeof payload !== 'object' ||
    payload === null ||
    typeof payload.u !== 'number' ||
    typeof payload.s !== 'string' ||
    typeof payload.h !== 'string' ||
    typeof payload.e !== 'number'
  ) {
    invalid('it is malformed');
  }
  if (payload.u !== userId) invalid('it was issued to another user');
  if (payload.e <= now) invalid('it has expired');
  const claims: TaskHashClaims = { userId: payload.u, source: payload.s, infoHash: payload.h };
  if (typeof payload.n === 'string') claims.probed = { name: payload.n, size: typeof payload.z === 'number' ? payload.z : null };
  return claims;
}
