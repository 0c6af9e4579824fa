// Uploads and zip downloads against a test server.
import assert from 'node:assert/strict';
import { createWriteStream, mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { dataDirLayout } from '../../src/data-dir/index.js';
import type { BlobInfo } from '../../src/store/blob-store.js';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';
import type { Client, TestServer } from './server.js';

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

/**
 * Puts `size` bytes of zeros (a sparse file: nothing written to the disk) into the server's
 * content store through the store's own import, and gives the user a file entry for it.
 */
export async function storeSparseFile(server: TestServer, client: Client, path: string, size: number): Promise<BlobInfo> {
  const layout = dataDirLayout(server.dataDir);
  const temp = join(layout.blobTemp, `sparse-${process.pid}-${Date.now()}.part`);
  mkdirSync(layout.blobTemp, { recursive: true });
  const handle = await open(temp, 'w');
  await handle.truncate(size);
  await handle.close();
  const info = await new LocalDiskBlobStore(layout.blobs).importFile(temp);
  const identity = (await client.call('/v1/user/info')).identity as number;
  const slash = path.lastIndexOf('/');
  const dir = await server.openpan.files.ensureDir(identity, { path: path.slice(0, slash) || '/' });
  await server.openpan.files.createFile(identity, { dir, name: path.slice(slash + 1), etag: info.etag, size: info.size, onConflict: 'error' });
  return info;
}
