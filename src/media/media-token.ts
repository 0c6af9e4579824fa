import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import { isEtag } from '../store/etag.js';

// The capability in a stream's addresses (/media/<token>/...): which content, for which user's
// file, what to make of it, until when. Sealed with AES-256-GCM under a key derived from the
// server's secret: it cannot be altered, and it does not reveal the etag (which would outlive
// it; SECURITY.md). Segment addresses are relative to the playlist's, so they carry it too.

export type MediaWork =
  /** HLS of the content: `variant` names the plan (hls.ts variantOf), `duration` in seconds. */
  | { kind: 'hls'; variant: string; duration: number }
  /** A subtitle stream of the content as WebVTT (`stream` -1: the content is itself a subtitle file). */
  | { kind: 'subtitle'; stream: number; format: string }
  /** A still picture of the content, for lists. */
  | { kind: 'thumbnail' };

export interface MediaClaims {
  etag: string;
  userId: number;
  fileUuid: string;
  expires: number;
  work: MediaWork;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const TOKEN_RE = /^[A-Za-z0-9_-]{40,2000}$/;

function keyOf(secret: string): Buffer {
  if (!secret) throw new Error('The signing secret is empty.');
  return createHmac('sha256', secret).update('openpan media token').digest();
}

export function sealMediaToken(secret: string, claims: MediaClaims): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(secret), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(claims), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

function forbidden(): AppError {
  return new AppError('FORBIDDEN', 'This media address is invalid.');
}

/** The claims of a token; FORBIDDEN when it was altered, made under another secret, or expired. */
export function openMediaToken(secret: string, token: string, now = Date.now()): MediaClaims {
  if (!TOKEN_RE.test(token)) throw forbidden();
  const raw = Buffer.from(token, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES + 2) throw forbidden();
  let claims: MediaClaims;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(secret), raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    claims = JSON.parse(text) as MediaClaims;
  } catch {
    throw forbidden();
  }
  if (!isEtag(claims.etag) || typeof claims.userId !== 'number' || typeof claims.expires !== 'number') throw forbidden();
  if (now > claims.expires) throw new AppError('FORBIDDEN', 'This media address has expired; open the file again.');
  return claims;
}
