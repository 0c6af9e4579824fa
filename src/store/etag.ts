import { createHash, type Hash } from 'node:crypto';

// The content hash of docs/spec/UPLOAD.md (Qiniu/WCS "etag"): SHA-1 per 4 MiB block, combined.
export const ETAG_BLOCK = 4 * 1024 * 1024;
const SMALL_PREFIX = 0x16;
const LARGE_PREFIX = 0x96;
const ETAG_RE = /^[A-Za-z0-9_-]{28}$/;

/** Whether s is a well-formed etag: 28 URL-safe base64 characters of 21 bytes with a known prefix. */
export function isEtag(s: unknown): s is string {
  if (typeof s !== 'string' || !ETAG_RE.test(s)) return false;
  const first = Buffer.from(s.slice(0, 4), 'base64url')[0];
  return first === SMALL_PREFIX || first === LARGE_PREFIX;
}

/** Incremental etag: feed chunks of any size in order, then read the digest once. */
export class EtagHasher {
  private block: Hash = createHash('sha1');
  private blockFill = 0;
  private readonly blockDigests: Buffer[] = [];
  private total = 0;

  update(chunk: Uint8Array): this {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.blockFill === ETAG_BLOCK) this.closeBlock();
      const take = Math.min(ETAG_BLOCK - this.blockFill, chunk.length - offset);
      this.block.update(offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take));
      this.blockFill += take;
      offset += take;
    }
    this.total += chunk.length;
    return this;
  }

  get size(): number {
    return this.total;
  }

  digest(): string {
    if (this.blockDigests.length === 0) {
      return Buffer.concat([Buffer.from([SMALL_PREFIX]), this.block.digest()]).toString('base64url');
    }
    if (this.blockFill > 0) this.closeBlock();
    const combined = createHash('sha1').update(Buffer.concat(this.blockDigests)).digest();
    return Buffer.concat([Buffer.from([LARGE_PREFIX]), combined]).toString('base64url');
  }

  private closeBlock(): void {
    this.blockDigests.push(this.block.digest());
    this.block = createHash('sha1');
    this.blockFill = 0;
  }
}

export function etagOf(data: Uint8Array): string {
  return new EtagHasher().update(data).digest();
}
