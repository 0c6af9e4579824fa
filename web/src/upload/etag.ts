// The content hash of docs/spec/UPLOAD.md: SHA-1 per 4 MiB block, combined. Pure, so it is unit-tested
// in Node against the server's definition; the worker feeds it block digests.

export const BLOCK_SIZE = 4 * 1024 * 1024;

export function blockCount(size: number): number {
  return Math.max(1, Math.ceil(size / BLOCK_SIZE));
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** URL-safe base64 without padding (21 bytes → 28 characters). */
export function base64Url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let c = 0; c < chars; c++) out += ALPHABET[(n >> (18 - c * 6)) & 63];
  }
  return out;
}

/**
 * The etag from the SHA-1 of each block, in order: one block (or an empty file) is
 * 0x16 ‖ its SHA-1; more are 0x96 ‖ SHA-1 of the concatenated block digests.
 */
export function etagFromBlockDigests(digests: Uint8Array[], sha1: (data: Uint8Array) => Uint8Array): string {
  if (digests.length <= 1) return base64Url(concat([new Uint8Array([0x16]), digests[0] ?? sha1(new Uint8Array(0))]));
  return base64Url(concat([new Uint8Array([0x96]), sha1(concat(digests))]));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
