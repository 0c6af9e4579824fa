// Computes a file's etag off the main thread, block by block, reporting progress.
/// <reference lib="webworker" />
import { BLOCK_SIZE, blockCount, etagFromBlockDigests } from './etag.js';
import type { HashRequest, HashResponse } from './hash-messages.js';
import { sha1 } from './sha1.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;

async function digest(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  // The native digest is several times faster, where the page is a secure context.
  if (scope.crypto?.subtle) return new Uint8Array(await scope.crypto.subtle.digest('SHA-1', data));
  return sha1(data);
}

async function hashFile(file: Blob, id: number): Promise<void> {
  const digests: Uint8Array[] = [];
  const blocks = blockCount(file.size);
  for (let i = 0; i < blocks; i++) {
    const block = new Uint8Array(await file.slice(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE).arrayBuffer());
    digests.push(await digest(block));
    post({ id, kind: 'progress', hashedBytes: Math.min(file.size, (i + 1) * BLOCK_SIZE) });
  }
  post({ id, kind: 'done', etag: etagFromBlockDigests(digests, sha1) });
}

function post(message: HashResponse): void {
  scope.postMessage(message);
}

scope.onmessage = (event: MessageEvent<HashRequest>) => {
  const { id, file } = event.data;
  hashFile(file, id).catch((err: unknown) => post({ id, kind: 'error', message: err instanceof Error ? err.message : String(err) }));
};
