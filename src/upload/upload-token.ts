import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';

// The upload token of docs/spec/UPLOAD.md (Qiniu/WCS format), as pure functions:
//   <accessKey>:<encodedSign>:<encodedPolicy>
//   encodedPolicy = URL-safe base64 of the JSON put policy
//   encodedSign   = URL-safe base64 of the lowercase hex HMAC-SHA1 of encodedPolicy (server secret)
// Base64 is written the Qiniu way (URL-safe alphabet, `=` padding kept, as in the seed's token).
// A token is accepted only as it was issued: the signature with its padding, byte for byte.

export const UPLOAD_SCOPE = 'openpan';

/** The put policy: Qiniu's fields plus what the server needs to create the file. */
export interface UploadPolicy {
  /** Qiniu's bucket (here always "openpan"). */
  scope: string;
  /** Milliseconds since the epoch (as in the seed's token) after which the token is refused. */
  deadline: number;
  /** 1: replace a same-named file with different content; 0: refuse with 409. */
  overwrite: 0 | 1;
  /** Largest accepted file, bytes; 0 = no limit beyond the user's free space. */
  fsizeLimit: number;
  /** Whose tree the file goes into: whoever holds the token uploads as this user. */
  userId: number;
  /** uuid of the destination directory, "" for the user's root. */
  dir: string;
  /** Path of the destination directory, for messages ("/", "/:torrent", "/a/b"). */
  path: string;
  /** Name of the file to create. */
  name: string;
  /** The content hash the client announced, if any (informational: the server hashes itself). */
  hash?: string;
  /**
   * The session the token was issued in (its `sessions` key): the upload service refuses the
   * token once that session ends (logout, a new password), as it refuses the session's token.
   */
  session?: string;
}

const B64URL_RE = /^[A-Za-z0-9_-]+={0,2}$/;
const DIR_RE = /^([0-9a-f]{32})?$/;

function unauthorized(message: string): AppError {
  return new AppError('UNAUTHORIZED', message);
}

/** URL-safe base64 with `=` padding, the way Qiniu's SDKs encode tokens. */
export function urlsafeBase64(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Decodes URL-safe base64 (padding optional); null when the text is not base64 at all. */
export function decodeUrlsafeBase64(text: string): Buffer | null {
  if (!B64URL_RE.test(text) || text.replace(/=+$/, '').length % 4 === 1) return null;
  return Buffer.from(text.replace(/=+$/, ''), 'base64url');
}

/** The public half of the key pair: a fixed id derived from the secret, never the secret. */
export function accessKeyFor(secret: string): string {
  return createHash('sha1')
    .update(secret + 'ak')
    .digest('hex')
    .slice(0, 40);
}

function signHex(encodedPolicy: string, secret: string): string {
  return createHmac('sha1', secret).update(encodedPolicy).digest('hex');
}

export function signUploadToken(policy: UploadPolicy, secret: string): string {
  const encodedPolicy = urlsafeBase64(JSON.stringify(policy));
  return `${accessKeyFor(secret)}:${urlsafeBase64(signHex(encodedPolicy, secret))}:${encodedPolicy}`;
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Checks the decoded policy has every field the server relies on, with the right types. */
function policyFrom(value: unknown): UploadPolicy {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unauthorized('The upload token has no put policy.');
  const p = value as Record<string, unknown>;
  // The seed's token writes the deadline as a string of digits: accept both.
  const deadline = typeof p.deadline === 'string' && /^\d{1,16}$/.test(p.deadline) ? Number(p.deadline) : p.deadline;
  const overwrite = p.overwrite === undefined ? 0 : p.overwrite;
  const fsizeLimit = p.fsizeLimit === undefined ? 0 : p.fsizeLimit;
  if (typeof p.scope !== 'string') throw unauthorized('The upload token has no scope.');
  if (!isNonNegativeInt(deadline)) throw unauthorized('The upload token has no valid deadline.');
  if (overwrite !== 0 && overwrite !== 1) throw unauthorized('The upload token has an invalid overwrite flag.');
  if (!isNonNegativeInt(fsizeLimit)) throw unauthorized('The upload token has an invalid fsizeLimit.');
  if (!isNonNegativeInt(p.userId) || p.userId === 0) throw unauthorized('The upload token names no user.');
  if (typeof p.dir !== 'string' || !DIR_RE.test(p.dir)) throw unauthorized('The upload token names no destination directory.');
  if (typeof p.path !== 'string') throw unauthorized('The upload token names no destination path.');
  if (typeof p.name !== 'string' || p.name === '') throw unauthorized('The upload token names no file.');
  if (p.hash !== undefined && typeof p.hash !== 'string') throw unauthorized('The upload token has an invalid hash.');
  if (p.session !== undefined && typeof p.session !== 'string') throw unauthorized('The upload token names an invalid session.');
  const policy: UploadPolicy = {
    scope: p.scope,
    deadline,
    overwrite,
    fsizeLimit,
    userId: p.userId,
    dir: p.dir,
    path: p.path,
    name: p.name,
  };
  if (typeof p.hash === 'string') policy.hash = p.hash;
  if (typeof p.session === 'string') policy.session = p.session;
  return policy;
}

/**
 * Verifies a token and returns its policy. Anything wrong — shape, access key, signature
 * (compared in constant time), policy, deadline — is `401 UNAUTHORIZED` with a message saying
 * which, never which byte.
 */
export function verifyUploadToken(token: string, secret: string, now: number = Date.now()): UploadPolicy {
  if (typeof token !== 'string' || token === '') throw unauthorized('An upload token is required: send "Authorization: UpToken <token>".');
  const parts = token.trim().split(':');
  if (parts.length !== 3 || parts.some((p) => p === '')) {
    throw unauthorized('The upload token is malformed: expected <accessKey>:<encodedSign>:<encodedPolicy>.');
  }
  const [accessKey, encodedSign, encodedPolicy] = parts;
  const expectedKey = Buffer.from(accessKeyFor(secret));
  const givenKey = Buffer.from(accessKey);
  if (givenKey.length !== expectedKey.length || !timingSafeEqual(givenKey, expectedKey)) {
    throw unauthorized('The upload token was not issued by this server (unknown access key).');
  }
  // One spelling per signature: the one this server wrote (padding and spare bits included).
  const expected = Buffer.from(urlsafeBase64(signHex(encodedPolicy, secret)));
  const given = Buffer.from(encodedSign);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw unauthorized('The upload token signature does not verify: it was altered or forged.');
  }
  const policyBytes = decodeUrlsafeBase64(encodedPolicy);
  if (!policyBytes) throw unauthorized('The upload token policy is not URL-safe base64.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(policyBytes.toString('utf8'));
  } catch {
    throw unauthorized('The upload token policy is not JSON.');
  }
  const policy = policyFrom(parsed);
  if (policy.scope !== UPLOAD_SCOPE) throw unauthorized(`The upload token is for another scope ("${policy.scope}").`);
  if (policy.deadline <= now) {
    throw unauthorized(`The upload token expired at ${new Date(policy.deadline).toISOString()}; ask /v1/store/token for a new one.`);
  }
  return policy;
}

/** The token of an upload request: `Authorization: UpToken <t>` or a bare `Authorization: <t>`. */
export function tokenFromAuthorization(header: string | undefined): string {
  if (!header) return '';
  const trimmed = header.trim();
  const m = /^UpToken\s+(\S+)$/i.exec(trimmed);
  return m ? m[1] : trimmed;
}
