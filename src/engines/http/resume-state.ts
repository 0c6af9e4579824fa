import { randomBytes } from 'node:crypto';
import { readFile, rename, rm } from 'node:fs/promises';
import { openRetrying } from '../fd-pool.js';
import type { ByteRange } from './byte-ranges.js';

// What a URL job has on disk, kept next to the data (`<job.dir>/download.state.json`) so that a
// restarted engine (after a pause, a crash, a `kill -9`) continues instead of starting over.
// Written atomically (temporary file, fsync, rename) and only listing bytes already written —
// the engine fdatasyncs the data file before saving — so a crash can lose progress but never
// make the state claim bytes that are not there.

export interface ResumeState {
  version: 1;
  /** The job's source URL, as given. */
  url: string;
  /** Where the bytes came from (after redirects). */
  finalUrl: string;
  size: number;
  etag?: string;
  lastModified?: string;
  /** Byte ranges [start, end) written to the data file. */
  done: ByteRange[];
}

export async function loadResumeState(path: string): Promise<ResumeState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const v = JSON.parse(text) as Partial<ResumeState>;
    const okRange = (r: unknown): boolean => Array.isArray(r) && r.length === 2 && r.every((n) => Number.isSafeInteger(n) && (n as number) >= 0) && (r[0] as number) < (r[1] as number);
    if (v.version !== 1 || typeof v.url !== 'string' || typeof v.finalUrl !== 'string' || !Number.isSafeInteger(v.size) || !Array.isArray(v.done) || !v.done.every(okRange)) return null;
    if (v.etag !== undefined && typeof v.etag !== 'string') return null;
    if (v.lastModified !== undefined && typeof v.lastModified !== 'string') return null;
    return v as ResumeState;
  } catch {
    return null; // a torn or foreign file: start over
  }
}

export async function saveResumeState(path: string, state: ResumeState): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await openRetrying(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(state));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Whether the server's validators show the same content as when `state` was written. */
export function sameContent(state: ResumeState, probe: { size: number | null; etag?: string; lastModified?: string }): boolean {
  if (probe.size !== state.size) return false;
  // Only a strong ETag identifies bytes; a weak one (W/) may survive a change.
  if (state.etag !== undefined && !state.etag.startsWith('W/')) return probe.etag === state.etag;
  if (state.lastModified !== undefined) return probe.lastModified === state.lastModified;
  return false; // no validator: the bytes on disk cannot be trusted to match
}

/** The `If-Range` value for ranged requests: a strong ETag, else Last-Modified; null without one. */
export function ifRangeValue(v: { etag?: string; lastModified?: string }): string | null {
  if (v.etag !== undefined && !v.etag.startsWith('W/')) return v.etag;
  return v.lastModified ?? null;
}
