// The web UI's session in the browser's storage, in Node with a stand-in localStorage: ending
// the session takes the resumable-upload records (each holding an upload token) with it.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { BLOCK_SIZE } from '../../web/src/upload/etag.js';

/** resume-store.ts's record. */
interface SavedUpload {
  name: string;
  folder: string;
  size: number;
  uploadUrl: string;
  token: string;
  blockSize: number;
  ctxs: Record<number, string>;
  savedAt: number;
}

// Loaded by URL: these modules use the DOM's localStorage, which the Node typecheck
// (tsconfig.check.json) has no types for; tsconfig.web.json checks them.
const web = (path: string) => import(new URL(`../../web/src/${path}`, import.meta.url).href);
const { loadToken, saveToken } = (await web('api/session.ts')) as { loadToken(): string; saveToken(token: string): void };
const { interruptedUploads, loadUpload, saveUpload } = (await web('upload/resume-store.ts')) as {
  interruptedUploads(): SavedUpload[];
  loadUpload(etag: string, folder: string, name: string): SavedUpload | null;
  saveUpload(etag: string, saved: SavedUpload): void;
};

/** The part of the Web Storage API the UI uses. */
class MemoryStorage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  key(i: number): string | null {
    return [...this.items.keys()][i] ?? null;
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  keys(): string[] {
    return [...this.items.keys()];
  }
}

let storage: MemoryStorage;
beforeEach(() => {
  storage = new MemoryStorage();
  (globalThis as { localStorage?: unknown }).localStorage = storage;
});
afterEach(() => {
  delete (globalThis as { localStorage?: unknown }).localStorage;
});

function record(name: string): SavedUpload {
  return {
    name,
    folder: '/Reports',
    size: 9 * BLOCK_SIZE,
    uploadUrl: 'http://127.0.0.1:7777/upload',
    token: `ak:sign:${name}`,
    blockSize: BLOCK_SIZE,
    ctxs: { 0: 'c'.repeat(62) },
    savedAt: Date.now(),
  };
}

test('signing out forgets every resumable upload and its upload token; other settings stay', () => {
  saveToken('session-token');
  saveUpload('etag-a', record('a.bin'));
  saveUpload('etag-b', record('b.bin'));
  storage.setItem('openpan.lang', 'zh-CN');
  assert.equal(interruptedUploads().length, 2);

  saveToken('');
  assert.equal(loadToken(), '');
  assert.deepEqual(interruptedUploads(), []);
  assert.equal(loadUpload('etag-a', '/Reports', 'a.bin'), null);
  assert.ok(!storage.keys().some((k) => k.startsWith('openpan.upload.')), `left: ${storage.keys().join(', ')}`);
  assert.ok(!JSON.stringify(storage.keys().map((k) => storage.getItem(k))).includes('ak:sign:'), 'no upload token is left anywhere');
  assert.equal(storage.getItem('openpan.lang'), 'zh-CN');
});

test('signing in keeps the records: a reload of a signed-in page still resumes', () => {
  saveToken('session-token');
  saveUpload('etag-a', record('a.bin'));
  saveToken('next-session');
  assert.equal(loadToken(), 'next-session');
  assert.equal(loadUpload('etag-a', '/Reports', 'a.bin')?.token, 'ak:sign:a.bin');
});

test('a block acknowledged after the sign-out saves no record: no upload token outlives the session', () => {
  saveToken('session-token');
  saveToken('');
  saveUpload('etag-late', record('late.bin'));
  assert.deepEqual(interruptedUploads(), []);
  assert.ok(!storage.keys().some((k) => k.startsWith('openpan.upload.')));
});
