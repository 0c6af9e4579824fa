// Acknowledged blocks of unfinished uploads, in localStorage, so that after a page reload the
// same file (same etag, name and folder) continues where it stopped. The upload token is kept
// with them: a ctx verifies only together with the token it was issued for.
import { loadToken } from '../api/token.js';
import { BLOCK_SIZE } from './etag.js';

const PREFIX = 'openpan.upload.';
/** Partial uploads expire on the server after a day by default; keep a little less. */
const MAX_AGE_MS = 20 * 60 * 60 * 1000;

export interface SavedUpload {
  name: string;
  folder: string;
  size: number;
  uploadUrl: string;
  token: string;
  blockSize: number;
  /** Block index → its ctx. */
  ctxs: Record<number, string>;
  savedAt: number;
}

function keyOf(etag: string, folder: string, name: string): string {
  return `${PREFIX}${etag}:${folder}:${name}`;
}

export function loadUpload(etag: string, folder: string, name: string): SavedUpload | null {
  try {
    const raw = localStorage.getItem(keyOf(etag, folder, name));
    if (!raw) return null;
    const saved = JSON.parse(raw) as SavedUpload;
    if (Date.now() - saved.savedAt > MAX_AGE_MS || saved.blockSize !== BLOCK_SIZE) {
      localStorage.removeItem(keyOf(etag, folder, name));
      return null;
    }
    return saved;
  } catch {
    return null;
  }
}

export function saveUpload(etag: string, saved: SavedUpload): void {
  // Only a signed-in browser keeps upload tokens: a block acknowledged after the sign-out (the
  // upload stops just after) must not leave one behind for the next person.
  if (!loadToken()) return;
  try {
    localStorage.setItem(keyOf(etag, saved.folder, saved.name), JSON.stringify({ ...saved, savedAt: Date.now() }));
  } catch {
    // Storage full or unavailable: the upload still works, it just cannot resume.
  }
}

export function forgetUpload(etag: string, folder: string, name: string): void {
  try {
    localStorage.removeItem(keyOf(etag, folder, name));
  } catch {
    // nothing to forget
  }
}

/** Every unfinished upload still worth resuming (for the "interrupted" notice). */
export function interruptedUploads(): SavedUpload[] {
  const out: SavedUpload[] = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key?.startsWith(PREFIX)) continue;
      const saved = JSON.parse(localStorage.getItem(key) ?? 'null') as SavedUpload | null;
      if (saved && Date.now() - saved.savedAt <= MAX_AGE_MS) out.push(saved);
    }
  } catch {
    // unreadable storage: nothing to offer
  }
  return out;
}

export function forgetAllUploads(): void {
  try {
    const keys: string[] = [];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key?.startsWith(PREFIX)) keys.push(key);
    }
    for (const key of keys) localStorage.removeItem(key);
  } catch {
    // nothing to forget
  }
}
