// The page's side of the etag worker: one worker, requests answered by id.
import type { HashRequest, HashResponse } from './hash-messages.js';

interface Pending {
  resolve(etag: string): void;
  reject(err: Error): void;
  onProgress(hashedBytes: number): void;
}

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, Pending>();

function hashWorker(): Worker {
  if (worker) return worker;
  worker = new Worker(new URL('./etag.worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<HashResponse>) => {
    const message = event.data;
    const waiting = pending.get(message.id);
    if (!waiting) return;
    if (message.kind === 'progress') waiting.onProgress(message.hashedBytes);
    else {
      pending.delete(message.id);
      if (message.kind === 'done') waiting.resolve(message.etag);
      else waiting.reject(new Error(message.message));
    }
  };
  return worker;
}

/** The file's etag (docs/spec/UPLOAD.md), computed in a Web Worker so the page stays responsive. */
export function computeEtag(file: Blob, onProgress: (hashedBytes: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject, onProgress });
    const request: HashRequest = { id, file };
    hashWorker().postMessage(request);
  });
}
