import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';
import { isEtag } from '../store/etag.js';

/**
 * Signed, expiring download addresses:
 *
 *   /dl/<etag>/<url-encoded name>?f=<file uuid>&u=<user id>&s=<size>&e=<expires ms>&sig=<hmac>
 *
 * The name is the last path segment so that tools which name the saved file after the URL
 * (wget, curl -O, download managers) get the right name even without Content-Disposition.
 * `sig` is HMAC-SHA256 under the server's secret over every other part, so changing any of
 * them, or replaying the address after `expires`, is refused.
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

const SIGNATURE_VERSION = 'openpan-dl-v1';
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
  return `${DOWNLOAD_PATH_PREFIX}${c.etag}/${encodeURIComponent(c.name)}?${query.toString()}`;
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
  const etag = segments[segments.length - 2];
  if (!isEtag(etag)) throw forbidden();
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
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw forbidden();

  // Only a genuine address learns that it expired.
  if (now > claims.expires) throw new AppError('FORBIDDEN', 'This download address has expired; ask for a new one.');
  return claims;
}
