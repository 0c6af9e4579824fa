import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

// Capabilities in addresses (media streams, files of running downloads): claims sealed with
// AES-256-GCM under a key derived from the server's secret and the address's purpose. A sealed
// token cannot be altered, read, or used for another purpose.

const IV_BYTES = 12;
const TAG_BYTES = 16;
const TOKEN_RE = /^[A-Za-z0-9_-]{40,2000}$/;

function keyOf(secret: string, purpose: string): Buffer {
  if (!secret) throw new Error('The signing secret is empty.');
  return createHmac('sha256', secret).update(purpose).digest();
}

export function sealClaims(secret: string, purpose: string, claims: object): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(secret, purpose), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(claims), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The claims sealed in `token` (to be checked by the caller), or null when it was altered or sealed otherwise. */
export function openClaims(secret: string, purpose: string, token: string): unknown {
  if (!TOKEN_RE.test(token)) return null;
  const raw = Buffer.from(token, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES + 2) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(secret, purpose), raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
