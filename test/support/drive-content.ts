// Checks what the drive holds, independently of the CLI's own code.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Client } from './server.js';

const BLOCK = 4 * 1024 * 1024;

/** The etag of docs/spec/UPLOAD.md, written here from the spec with node:crypto only. */
export function etag(buf: Buffer): string {
  const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
  if (buf.length <= BLOCK) return Buffer.concat([Buffer.from([0x16]), sha1(buf)]).toString('base64url');
  const parts: Buffer[] = [];
  for (let o = 0; o < buf.length; o += BLOCK) parts.push(sha1(buf.subarray(o, o + BLOCK)));
  return Buffer.concat([Buffer.from([0x96]), sha1(Buffer.concat(parts))]).toString('base64url');
}

/** Whether the server has /v1/files/download yet (it answers 404 "No such endpoint" otherwise). */
export async function hasDownloadRoute(client: Client): Promise<boolean> {
  const r = await client.raw('/v1/files/download', { path: '/' });
  return !(r.status === 404 && /endpoint/i.test(r.json.message ?? ''));
}

/** The file at `path` holds exactly `expected`: by its size and storeId, and by its bytes when downloadable. */
export async function assertContent(client: Client, path: string, expected: Buffer): Promise<void> {
  const file = await client.call('/v1/files/get', { path });
  assert.equal(file.type, 0, `${path} is a file`);
  assert.equal(file.size, expected.length, `${path} size`);
  assert.equal(file.storeId, etag(expected), `${path} storeId`);
  if (await hasDownloadRoute(client)) {
    const { downloadAddress } = await client.call('/v1/files/download', { path });
    const res = await fetch(downloadAddress);
    assert.equal(res.status, 200);
    const got = Buffer.from(await res.arrayBuffer());
    assert.ok(got.equals(expected), `${path}: downloaded bytes differ`);
  }
}
