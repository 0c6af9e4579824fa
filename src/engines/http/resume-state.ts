import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import type { ProbeResult } from '../../net/index.js';
import { openRetrying } from '../fd-pool.js';
import type { ByteRange } from './byte-ranges.js';
import type { TransferHost } from './transfer-host.js';

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
    const okRange = (r: unknown): boolean =>
      Array.isArray(r) && r.length === 2 && r.every((n) => Number.isSafeInteger(n) && (n as number) >= 0) && (r[0] as number) < (r[1] as number);
    if (
      v.version !== 1 ||
      typeof v.url !== 'string' ||
      typeof v.finalUrl !== 'string' ||
      !Number.isSafeInteger(v.size) ||
      !Array.isArray(v.done) ||
      !v.done.every(okRange)
    )
      return null;
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

/** What identifies one version of the content: the length and the validators of a response. */
export interface Validators {
  size: number | null;
  etag?: string;
  lastModified?: string;
}

/** Only a strong ETag identifies bytes; a weak one (W/) may survive a change. */
export function isStrongEtag(etag: string | undefined): etag is string {
  return etag !== undefined && !etag.startsWith('W/');
}

/**
 * Whether a later response (a segment's 206, a retry, a probe after a restart) carries the
 * validators of the first: the same length and the same strong ETag, else the same
 * Last-Modified. Checked on every response, because an origin may ignore If-Range and answer
 * 206 from new content. A weak ETag never proves sameness, but a different one proves a change.
 * Without any validator only the length can be compared.
 */
export function sameValidators(first: Validators, later: Validators): boolean {
  if (later.size !== first.size) return false;
  if (isStrongEtag(first.etag)) return later.etag === first.etag;
  if (first.etag !== undefined && later.etag !== first.etag) return false;
  if (first.lastModified !== undefined) return later.lastModified === first.lastModified;
  return true;
}

/** Whether the server's validators show the same content as when `state` was written. */
export function sameContent(state: ResumeState, probe: Validators): boolean {
  // Bytes kept across runs need a strong validator: without one they cannot be trusted to match.
  if (!isStrongEtag(state.etag) && state.lastModified === undefined) return false;
  return sameValidators(state, probe);
}

/** The `If-Range` value for ranged requests: a strong ETag, else Last-Modified; null without one. */
export function ifRangeValue(v: { etag?: string; lastModified?: string }): string | null {
  if (isStrongEtag(v.etag)) return v.etag;
  return v.lastModified ?? null;
}

/** The validators a response carried, without empty ones. */
export function validators(v: { etag?: string; lastModified?: string }): { etag?: string; lastModified?: string } {
  return { ...(v.etag ? { etag: v.etag } : {}), ...(v.lastModified ? { lastModified: v.lastModified } : {}) };
}

export function describeValidators(v: Validators): string {
  return [`length ${v.size ?? 'unknown'}`, `ETag ${v.etag ?? 'none'}`, `Last-Modified ${v.lastModified ?? 'none'}`].join(', ');
}

/**
 * Saves the resume state, listing only bytes that are on disk. `host.ranges` grows only when a
 * write call has completed (PositionalWriter), never when bytes are merely received or queued;
 * the snapshot is taken before the fdatasync, so each listed byte was written before the sync
 * began and is durable before the state naming it replaces the previous one (tmp file, fsync,
 * rename). A `kill -9` would already be safe with written bytes (they live in the page cache);
 * the sync extends that to a power loss.
 */
export class StateSaver {
  #dirty = true;
  #busy = false;
  #running: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: Pick<TransferHost, 'ranges' | 'statePath' | 'url'>,
    private readonly fh: FileHandle,
    private readonly probe: ProbeResult,
  ) {}

  touch(): void {
    this.#dirty = true;
  }

  /** The periodic save: skipped while one runs; a failure is retried at the next tick or at the end. */
  tick(): void {
    if (this.#busy || !this.#dirty) return;
    this.#busy = true;
    void this.save()
      .catch(() => {})
      .finally(() => (this.#busy = false));
  }

  /** Saves if something changed (or `force`), after the previous save. */
  save(force = false): Promise<void> {
    this.#running = this.#running
      .catch(() => {})
      .then(async () => {
        if (!this.#dirty && !force) return;
        this.#dirty = false;
        const done = this.host.ranges.toJSON(); // taken before the sync: every listed byte is synced
        try {
          await this.fh.datasync();
          await saveResumeState(this.host.statePath, {
            version: 1,
            url: this.host.url,
            finalUrl: this.probe.finalUrl,
            size: this.probe.size as number,
            ...validators(this.probe),
            done,
          });
        } catch (err) {
          this.#dirty = true; // not saved: the next save must not skip
          throw err;
        }
      });
    return this.#running;
  }
}
