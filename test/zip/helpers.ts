// Uploads and zip downloads against a test server.
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Client } from '../helpers/server.js';

/** Uploads real bytes (store/token, then a form upload), so that downloads can serve them. */
export async function uploadFile(client: Client, path: string, content: Uint8Array | string) {
  const slash = path.lastIndexOf('/');
  const t = await client.call('/v1/store/token', { name: path.slice(slash + 1), path: path.slice(0, slash) || '/' });
  if (!t.token) return t; // the content was already there: an instant upload
  const form = new FormData();
  form.append('token', t.token);
  form.append('file', new Blob([content]), 'x');
  const res = await fetch(`${t.uploadUrl}/file/upload`, { method: 'POST', body: form });
  assert.equal(res.status, 200);
  return JSON.parse(((await res.json()) as { response: string }).response).result;
}

/** Downloads an address into `file`; returns the response's headers. */
export async function download(address: string, file: string): Promise<Headers> {
  const res = await fetch(address);
  if (res.status !== 200) throw new Error(`GET ${address} → ${res.status} ${await res.text()}`);
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(file));
  return res.headers;
}
