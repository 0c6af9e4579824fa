import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';
import { isEtag } from '../store/etag.js';

/**
 * Signed, expiring download addresses:
 *
 *   /dl/<sealed content id>/<url-encoded name>?f=<file uuid>&u=<user id>&s=<size>&e=<expires ms>&sig=<hmac>
 *
 * The name is the last path segment so that tools which name the saved file after the URL
 * (wget, curl -O, download managers) get the right name even without Content-Disposition.
 * `sig` is HMAC-SHA256 under the server's secret over every other part, so changing any of
 * them, or replaying the address after `expires`, is refused. The content's etag is sealed
 * (AES-256-CTR under a key of its own, a fresh IV per address): an address is a capability
 * that expires, and the etag would outlive it — whoever knows an etag can claim the content
 * through an instant upload (SECURITY.md).
 */
export const DOWNLOAD_PATH_PREFIX = '/dl/';

export interface DownloadClaims {
  /** Content hash of the bytes to serve. */
  etag: string;
  /** File name for Content-Type and Content-Disposition. */
  name: string;
  size: number;
  userId: number;
  fileUuid: string;
  /** Milliseconds since the epoch after which the address no longer works. */
  expires: number;
}

const SIGNATURE_VERSION = 'openpan-dl-v2';
const SEAL_IV_BYTES = 16;
/** An etag is 21 bytes; sealed with its IV: 37 bytes, 50 base64url characters. */
const SEALED_RE = /^[A-Za-z0-9_-]{50}$/;

function keyOf(secret: string, purpose: string): Buffer {
  if (!secret) throw new Error('The download signing secret is empty.');
  return createHmac('sha256', secret).update(purpose).digest();
}

/** The etag as an address carries it: encrypted, so the address does not reveal it. */
function sealEtag(secret: string, etag: string): string {
  const iv = randomBytes(SEAL_IV_BYTES);
  const cipher = createCipheriv('aes-256-ctr', keyOf(secret, 'openpan dl content id'), iv);
  return Buffer.concat([iv, cipher.update(Buffer.from(etag, 'base64url')), cipher.final()]).toString('base64url');
}

function unsealEtag(secret: string, sealed: string): string | null {
  if (!SEALED_RE.test(sealed)) return null;
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.toString('base64url') !== sealed) return null; // one spelling only
  const decipher = createDecipheriv('aes-256-ctr', keyOf(secret, 'openpan dl content id'), raw.subarray(0, SEAL_IV_BYTES));
  const etag = Buffer.concat([decipher.update(raw.subarray(SEAL_IV_BYTES)), decipher.final()]).toString('base64url');
  return isEtag(etag) ? etag : null;
}

/**
 * The `ETag` header of a download: stable per content (caches and resuming clients compare it),
 * but a keyed hash of the etag, not the etag itself.
 */
export function publicEtag(secret: string, etag: string): string {
  return `"${createHmac('sha256', keyOf(secret, 'openpan dl etag header')).update(etag).digest('base64url').slice(0, 27)}"`;
}
const DECIMAL_RE = /^(0|[1-9][0-9]{0,15})$/;
const SIGNATURE_RE = /^[A-Za-z0-9_-]{43}$/;

function signatureOf(secret: string, c: DownloadClaims): Buffer {
  if (!secret) throw new Error('The download signing secret is empty.');
  // A JSON array is an unambiguous encoding: no choice of name can shift one field into another.
  const message = JSON.stringify([SIGNATURE_VERSION, c.etag, c.fileUuid, c.userId, c.size, c.expires, c.name]);
  return createHmac('sha256', secret).update(message).digest();
}

/** Replaces lone surrogates (not representable in UTF-8) so the name survives the round trip. */
function wellFormed(name: string): string {
  return Buffer.from(name, 'utf8').toString('utf8');
}

/** Returns the path (with query) of a signed download address; prefix it with the public base URL. */
export function signDownload(secret: string, claims: DownloadClaims): string {
  if (!isEtag(claims.etag)) throw new AppError('HASH_INVALID', 'Not a well-formed content hash.');
  for (const n of [claims.size, claims.userId, claims.expires]) {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`Download claims need non-negative integers, got ${n}.`);
  }
  const c: DownloadClaims = { ...claims, name: wellFormed(claims.name) };
  const query = new URLSearchParams({
    f: c.fileUuid,
    u: String(c.userId),
    s: String(c.size),
    e: String(c.expires),
    sig: signatureOf(secret, c).toString('base64url'),
  });
  return `${DOWNLOAD_PATH_PREFIX}${sealEtag(secret, c.etag)}/${encodeURIComponent(c.name)}?${query.toString()}`;
}

/** `base` (e.g. "https://pan.example.com/" or ".../openpan") joined with a signed path. */
export function downloadAddress(publicUrl: string, signedPath: string): string {
  return publicUrl.replace(/\/+$/, '') + signedPath;
}

function forbidden(): AppError {
  return new AppError('FORBIDDEN', 'This download address is invalid.');
}

function decimal(params: URLSearchParams, key: string): number {
  const values = params.getAll(key);
  if (values.length !== 1 || !DECIMAL_RE.test(values[0])) throw forbidden();
  const n = Number(values[0]);
  if (!Number.isSafeInteger(n)) throw forbidden();
  return n;
}

function single(params: URLSearchParams, key: string): string {
  const values = params.getAll(key);
  if (values.length !== 1) throw forbidden();
  return values[0];
}

/**
 * Checks a request URL (path and query, as the server received it; anything before `/dl/` is
 * ignored, so the server may sit under a path prefix) and returns what it grants. Throws
 * AppError FORBIDDEN when any part was changed or the address has expired.
 */
export function verifyDownload(secret: string, url: string, now: number = Date.now()): DownloadClaims {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const params = new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1));

  const segments = path.split('/');
  if (segments.length < 4 || segments[segments.length - 3] !== 'dl') throw forbidden();
  const etag = unsealEtag(secret, segments[segments.length - 2]);
  if (etag === null) throw forbidden();
  let name: string;
  try {
    name = decodeURIComponent(segments[segments.length - 1]);
  } catch {
    throw forbidden();
  }

  const claims: DownloadClaims = {
    etag,
    name,
    fileUuid: single(params, 'f'),
    userId: decimal(params, 'u'),
    size: decimal(params, 's'),
    expires: decimal(params, 'e'),
  };
  const given = single(params, 'sig');
  if (!SIGNATURE_RE.test(given)) throw forbidden();
  const expected = signatureOf(secret, claims);
  const actual = Buffer.from(given, 'base64url');
  // 43 characters carry 2 spare bits: only the one canonical spelling is accepted.
  if (actual.toString('base64url') !== given) throw forbidden();
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw forbidden();

  // Only a genuine address learns that it expired.
  if (now > claims.expires) throw new AppError('FORBIDDEN', 'This download address has expired; ask for a new one.');
  return claims;
}
