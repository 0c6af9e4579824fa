// A small WCS/Qiniu-style uploader for the upload tests, written from docs/spec/UPLOAD.md: it computes
// the etag and CRC-32 itself (node:crypto, bit-by-bit CRC) so it checks the server rather than
// sharing its code.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from './server.js';

export const MiB = 1024 * 1024;
export const BLOCK = 4 * MiB;

export function etagOf(data: Uint8Array): string {
  const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest();
  if (data.length <= BLOCK) return Buffer.concat([Buffer.from([0x16]), sha1(data)]).toString('base64url');
  const parts: Buffer[] = [];
  for (let o = 0; o < data.length; o += BLOCK) parts.push(sha1(data.subarray(o, o + BLOCK)));
  return Buffer.concat([Buffer.from([0x96]), sha1(Buffer.concat(parts))]).toString('base64url');
}

export function crc32Of(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

export function sha1Hex(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

/** Deterministic pseudo-random bytes (fast for large sizes, different per seed). */
export function bytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (let i = size - (size % 4); i < size; i++) out[i] = i & 0xff;
  return out;
}

export interface Ticket {
  uploadUrl: string;
  type: number;
  token: string;
  version: number;
  name: string;
  parent: string;
}

/** Asks /v1/store/token; throws unless the answer is a ticket (not an instant upload). */
export async function ticket(client: Client, body: Record<string, unknown>): Promise<Ticket> {
  const t = await client.call('/v1/store/token', body);
  assert.ok(!('uuid' in t), `expected an upload ticket, got a file: ${JSON.stringify(t)}`);
  return t as Ticket;
}

export interface Answer {
  status: number;
  json: any;
  headers: Headers;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

export async function post(url: string, body: NonNullable<Parameters<typeof fetch>[1]>['body'], headers: Record<string, string> = {}): Promise<Answer> {
  return answer(await fetch(url, { method: 'POST', headers, body }));
}

/** Form upload; `fileFirst` sends the file part before the token, as browser uploaders do. */
export async function formUpload(
  uploadUrl: string,
  token: string | null,
  data: Uint8Array,
  opts: { fileFirst?: boolean; path?: string; key?: string; fields?: Record<string, string> } = {},
): Promise<Answer> {
  const form = new FormData();
  const addFile = () => form.append('file', new Blob([data]), 'local-name.bin');
  const addToken = () => token !== null && form.append('token', token);
  if (opts.fileFirst) {
    addFile();
    addToken();
  } else {
    addToken();
    addFile();
  }
  if (opts.key !== undefined) form.append('key', opts.key);
  for (const [k, v] of Object.entries(opts.fields ?? {})) form.append(k, v);
  return answer(await fetch(uploadUrl + (opts.path ?? '/file/upload'), { method: 'POST', body: form }));
}

/** The file object inside an upload answer's `response` string. */
export function fileOf(a: Answer): any {
  assert.equal(a.status, 200, `upload failed: ${JSON.stringify(a.json)}`);
  assert.equal(typeof a.json.response, 'string');
  const envelope = JSON.parse(a.json.response);
  assert.equal(envelope.status, 200);
  assert.equal(envelope.success, true);
  assert.equal(envelope.code, 'OK');
  return envelope.result;
}

export function octet(token: string): Record<string, string> {
  return { authorization: token, 'content-type': 'application/octet-stream' };
}

export async function mkblk(uploadUrl: string, token: string, blockSize: number, chunk: Uint8Array, order?: number): Promise<Answer> {
  return post(`${uploadUrl}/mkblk/${blockSize}${order === undefined ? '' : `/${order}`}`, chunk, octet(token));
}

export async function bput(uploadUrl: string, token: string, ctx: string, offset: number, chunk: Uint8Array): Promise<Answer> {
  return post(`${uploadUrl}/bput/${ctx}/${offset}`, chunk, octet(token));
}

export async function mkfile(uploadUrl: string, token: string, size: number, ctxs: string[], suffix = ''): Promise<Answer> {
  return post(`${uploadUrl}/mkfile/${size}${suffix}`, ctxs.join(','), { authorization: token, 'content-type': 'text/plain' });
}

/** Sends one block in chunks (mkblk then bput), checking each answer's offset and CRC-32. */
export async function sendBlock(uploadUrl: string, token: string, block: Uint8Array, chunk: number, order?: number): Promise<string> {
  let ctx = '';
  for (let off = 0; off < block.length || off === 0; off += chunk) {
    const piece = block.subarray(off, off + chunk);
    const a = off === 0 ? await mkblk(uploadUrl, token, block.length, piece, order) : await bput(uploadUrl, token, ctx, off, piece);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(a.json.offset, off + piece.length);
    assert.equal(a.json.crc32, crc32Of(piece), 'crc32 is the CRC-32 of the chunk just sent');
    assert.equal(typeof a.json.checksum, 'string');
    ctx = a.json.ctx;
    if (block.length === 0) break;
  }
  return ctx;
}

/** Block upload of `data`: blocks of blockSize, chunks of `chunk`, blocks sent in the given order. */
export async function blockUpload(
  uploadUrl: string,
  token: string,
  data: Uint8Array,
  opts: { blockSize?: number; chunk?: number; order?: 'forward' | 'reverse' | 'parallel' } = {},
): Promise<Answer> {
  const blockSize = opts.blockSize ?? BLOCK;
  const chunk = opts.chunk ?? MiB;
  const blocks: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += blockSize) blocks.push(data.subarray(o, o + blockSize));
  const ctxs: string[] = new Array(blocks.length);
  const indices = blocks.map((_, i) => i);
  if (opts.order === 'parallel') {
    await Promise.all(indices.map(async (i) => (ctxs[i] = await sendBlock(uploadUrl, token, blocks[i], chunk, i))));
  } else {
    if (opts.order === 'reverse') indices.reverse();
    for (const i of indices) ctxs[i] = await sendBlock(uploadUrl, token, blocks[i], chunk, i);
  }
  return mkfile(uploadUrl, token, data.length, ctxs);
}

/** Where the blob store keeps the content with this etag. */
export function blobPath(dataDir: string, etag: string): string {
  return join(dataDir, 'blobs', etag.slice(0, 2), etag.slice(2, 4), etag);
}

/** Files under `<dataDir>/blobs`, the store's temp dir excluded: one per stored content. */
export async function storedBlobs(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, top: boolean): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (top && e.name === 'tmp') continue;
      if (e.isDirectory()) await walk(join(dir, e.name), false);
      else out.push(e.name);
    }
  };
  await walk(join(dataDir, 'blobs'), true);
  return out.sort();
}

export async function tempBlobs(dataDir: string): Promise<string[]> {
  return readdir(join(dataDir, 'blobs', 'tmp')).catch(() => []);
}

/** Files holding received blocks: one per block sent without an order, one per upload's assembly of ordered blocks. */
export async function blockFiles(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, 'uploads')).catch(() => [])).filter((n) => /^[0-9a-f]{32}$/.test(n) || /^asm-[0-9a-f]{32}(\.map)?$/.test(n));
}

export function assertUploadError(a: Answer, status: number, code: string): void {
  assert.equal(a.status, status, `expected ${status} ${code}, got ${a.status} ${JSON.stringify(a.json)}`);
  assert.equal(a.json.code, code);
  assert.equal(a.json.status, status);
  assert.equal(a.json.success, false);
  assert.equal(a.json.result, null);
  assert.equal(typeof a.json.error, 'string');
  assert.equal(a.json.message, a.json.error);
  assert.equal(a.headers.get('access-control-allow-origin'), '*');
}
