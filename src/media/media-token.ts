import { AppError } from '../errors.js';
import { openClaims, sealClaims } from '../sealed-claims.js';
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
  /** A still picture of the content, for lists; `image`: the content is a picture (else a video). */
  | { kind: 'thumbnail'; image?: boolean };

export interface MediaClaims {
  etag: string;
  userId: number;
  fileUuid: string;
  expires: number;
  work: MediaWork;
}

const PURPOSE = 'openpan media token';

export function sealMediaToken(secret: string, claims: MediaClaims): string {
  return sealClaims(secret, PURPOSE, claims);
}

function forbidden(): AppError {
  return new AppError('FORBIDDEN', 'This media address is invalid.');
}

/** The claims of a token; FORBIDDEN when it was altered, made under another secret, or expired. */
export function openMediaToken(secret: string, token: string, now = Date.now()): MediaClaims {
  const claims = openClaims(secret, PURPOSE, token) as MediaClaims | null;
  if (claims === null || typeof claims !== 'object') throw forbidden();
  if (!isEtag(claims.etag) || typeof claims.userId !== 'number' || typeof claims.expires !== 'number') throw forbidden();
  if (now > claims.expires) throw new AppError('FORBIDDEN', 'This media address has expired; open the file again.');
  return claims;
}
