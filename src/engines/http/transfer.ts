import type { Agent, IncomingMessage } from 'node:http';
import { rm, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  asFetchError,
  contentLength,
  FetchError,
  getFollowingRedirects,
  parseContentRange,
  probeUrl,
  rawGet,
  RawUnsupported,
  type AddressPolicy,
  type FollowOptions,
  type ProbeResult,
  type RawBodyHandlers,
} from '../../net/index.js';
import { ByteRanges, splitRanges, type ByteRange } from './byte-ranges.js';
import { openRetrying } from '../fd-pool.js';
import { PositionalWriter } from './positional-writer.js';
import { ifRangeValue, loadResumeState, sameContent, sameValidators, saveResumeState, type Validators } from './resume-state.js';
import type { Throttle } from './throttle.js';

// One run of a URL job: probe, then either parallel ranged segments into a preallocated file or
// one stream, until every byte is on disk. Progress goes to the `TransferHost` (the job), which
// turns it into status and verified pieces. The run ends by resolving (complete: file synced and
// closed, state saved) or rejecting (a FetchError, a filesystem error, or the abort signal's
// reason); it writes nothing after it settled.

/** What the run reports to, and reads from, the job. */
export interface TransferHost {
  readonly url: string;
  readonly dataPath: string;
  readonly statePath: string;
  /** Bytes [start, end) written to the data file; replaced when the run starts over. */
  ranges: ByteRanges;
  /** Total length; null while a stream without Content-Length runs. */
  size: number | null;
  /** Open HTTP connections. */
  connections: number;
  /** Body bytes received in this process. */
  received: number;
  /** After each probe, with the bytes found on disk; false: stop here (nothing selected). */
  probed(probe: ProbeResult, resumedBytes: number): boolean;
  /** Bytes [start, end) are written (the file's length may still be unknown). */
  written(start: number, end: number): void;
  /** Bytes the job may write at most; null: no cap. */
  readonly maxBytes: number | null;
  /** The run starts over from byte 0 (the content changed, or a stream must be restarted). */
  reset(): void;
}

export interface TransferConfig {
  policy: AddressPolicy;
  segments: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
  maxRedirects: number;
  agents: { http: Agent; https: Agent };
  throttle: Throttle | null;
}

/** Segments are not cut below this; a finished connection steals half of a range at least twice as long. */
const MIN_SEGMENT = 1024 * 1024;
/**
 * How often the resume state is saved while bytes arrive. Each save costs an fdatasync of the
 * data file (bytes that must reach the disk anyway) and a small atomic file write; a save still
 * running when the next is due makes that one skip, so a slow disk spaces them out itself.
 */
const SAVE_INTERVAL_MS = 250;
/** Times a run starts over because the content changed under it, before SIZE_MISMATCH. */
const MAX_RESTARTS = 2;

/** The content behind the URL changed (validators, length, or ranges no longer honoured). */
class ContentChanged extends Error {}

export async function runTransfer(host: TransferHost, cfg: TransferConfig, signal: AbortSignal): Promise<void> {
  for (let restarts = 0; ; restarts++) {
    try {
      return await attempt(host, cfg, signal);
    } catch (err) {
      if (!(err instanceof ContentChanged)) throw err;
      if (restarts >= MAX_RESTARTS) throw new FetchError('SIZE_MISMATCH', `The content changed during the download: ${err.message}`);
      await startOver(host);
    }
  }
}

async function startOver(host: TransferHost): Promise<void> {
  await rm(host.statePath, { force: true });
  await rm(host.dataPath, { force: true });
  host.reset();
}

function followOptions(cfg: TransferConfig, signal: AbortSignal, headers: Record<string, string> = {}): FollowOptions {
  return {
    policy: cfg.policy,
    connectTimeoutMs: cfg.connectTimeoutMs,
    idleTimeoutMs: cfg.idleTimeoutMs,
    maxRedirects: cfg.maxRedirects,
    agents: cfg.agents,
    signal,
    headers,
  };
}

/** Retries `fn` on transient failures with exponential backoff and jitter; `progressed` resets the count. */
async function withRetries<T>(cfg: TransferConfig, signal: AbortSignal, fn: () => Promise<T>, progressed: () => boolean = () => false): Promise<T> {
  let failures = 0;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      signal.throwIfAborted();
      if (err instanceof ContentChanged || !isNetworkSide(err)) throw err;
      const fe = asFetchError(err);
      if (!fe.transient) throw fe;
      if (progressed()) failures = 0;
      if (++failures > cfg.retries) throw fe;
      const delay = Math.min(30_000, cfg.retryDelayMs * 2 ** (failures - 1)) * (0.5 + Math.random());
      await sleep(delay, undefined, { signal });
    }
  }
}

/** Filesystem errors (errno codes from fs calls) are not retried here; everything else is the network's. */
function isNetworkSide(err: unknown): boolean {
  if (err instanceof FetchError) return true;
  const syscall = (err as NodeJS.ErrnoException | null)?.syscall;
  return !(typeof syscall === 'string' && ['open', 'write', 'read', 'ftruncate', 'fsync', 'fdatasync', 'close', 'rename', 'unlink', 'mkdir'].includes(syscall));
}

async function attempt(host: TransferHost, cfg: TransferConfig, signal: AbortSignal): Promise<void> {
  const probe = await withRetries(cfg, signal, () => probeUrl(host.url, followOptions(cfg, signal)));
  const ranged = probe.acceptsRanges && probe.size !== null && probe.size > 0;
  const saved = ranged ? await loadResumeState(host.statePath) : null;
  const onDisk = await stat(host.dataPath).catch(() => null);
  const resumable = saved !== null && saved.url === host.url && sameContent(saved, probe) && onDisk?.size === probe.size;
  host.reset();
  if (resumable) host.ranges = new ByteRanges(saved.done);
  host.size = probe.size;
  if (!host.probed(probe, host.ranges.size)) return;
  if (ranged) await rangedDownload(host, cfg, signal, probe, resumable);
  else await streamDownload(host, cfg, signal, probe);
}

// ---- parallel ranged segments ----

interface Segment {
  /** Next byte to receive. */
  pos: number;
  /** End (exclusive); lowered when another connection steals the tail. */
  end: number;
}

async function rangedDownload(host: TransferHost, cfg: TransferConfig, outer: AbortSignal, probe: ProbeResult, resumable: boolean): Promise<void> {
  const size = probe.size as number;
  const finalUrl = new URL(probe.finalUrl);
  const fh = await openRetrying(host.dataPath, resumable ? 'r+' : 'w+');
  const saver = new StateSaver(host, fh, probe);
  const inner = new AbortController();
  const onAbort = (): void => inner.abort(outer.reason);
  outer.addEventListener('abort', onAbort, { once: true });
  try {
    if (!resumable) await fh.truncate(size);
    await saver.save();
    const queue: ByteRange[] = splitRanges(host.ranges.missing(size), cfg.segments, MIN_SEGMENT);
    const active = new Set<Segment>();
    const next = (): Segment | null => {
      const range = queue.shift();
      if (range !== undefined) return { pos: range[0], end: range[1] };
      // Work stealing: the longest remaining range gives its second half to this connection.
      let victim: Segment | null = null;
      for (const s of active) if (victim === null || s.end - s.pos > victim.end - victim.pos) victim = s;
      if (victim === null || victim.end - victim.pos < 2 * MIN_SEGMENT) return null;
      const mid = victim.pos + Math.floor((victim.end - victim.pos) / 2);
      const stolen = { pos: mid, end: victim.end };
      victim.end = mid;
      return stolen;
    };
    const ifRange = ifRangeValue(probe);
    const worker = async (): Promise<void> => {
      for (let seg = next(); seg !== null; seg = next()) {
        active.add(seg);
        try {
          const s = seg;
          let lastPos = s.pos;
          await withRetries(
            cfg,
            inner.signal,
            async () => {
              while (s.pos < s.end) await fetchRange(host, cfg, inner.signal, finalUrl, probe, ifRange, s, fh, saver);
            },
            () => {
              const moved = s.pos > lastPos;
              lastPos = s.pos;
              return moved;
            },
          );
        } finally {
          active.delete(seg);
        }
      }
    };
    const timer = setInterval(() => saver.tick(), SAVE_INTERVAL_MS);
    try {
      const results = await Promise.allSettled(
        Array.from({ length: cfg.segments }, async () => {
          try {
            await worker();
          } catch (err) {
            inner.abort(err); // one connection's failure ends the others
            throw err;
          }
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw outer.aborted ? outer.reason : failed.reason;
    } finally {
      clearInterval(timer);
    }
    if (!host.ranges.covers(0, size)) throw new FetchError('SIZE_MISMATCH', `Only ${host.ranges.size} of ${size} bytes arrived.`);
    await saver.save(true);
  } finally {
    outer.removeEventListener('abort', onAbort);
    await saver.save(true).catch(() => {});
    await fh.close();
  }
}

/**
 * One ranged GET for the rest of `seg`; returns when the segment is complete or the range ended.
 * `first` holds the validators of the run's first response (the probe): every response must carry
 * them before a byte of its body is written, whatever the origin made of If-Range.
 */
async function fetchRange(
  host: TransferHost,
  cfg: TransferConfig,
  signal: AbortSignal,
  url: URL,
  first: Validators,
  ifRange: string | null,
  seg: Segment,
  fh: FileHandle,
  saver: StateSaver,
): Promise<void> {
  const size = first.size as number;
  const headers: Record<string, string> = { range: `bytes=${seg.pos}-${seg.end - 1}` };
  if (ifRange !== null) headers['if-range'] = ifRange;
  const response = await rangeResponse(url, cfg, signal, headers);
  host.connections++;
  try {
    const { status, headers: got } = response;
    // 200 to a conditional range request: If-Range did not match, the content changed.
    if (status === 200) throw new ContentChanged(`${url.host} answered a range request with the whole content.`);
    if (status !== 206) throw new FetchError(`HTTP_${status}`, `${url.host} answered ${status}.`);
    const range = parseContentRange(got['content-range']);
    if (range === null || range.start !== seg.pos || range.total !== size) {
      throw new ContentChanged(`unexpected Content-Range ${JSON.stringify(got['content-range'] ?? '')} for bytes ${seg.pos}-${seg.end - 1} of ${size}.`);
    }
    const later = { size: range.total, ...validators({ etag: got.etag, lastModified: got['last-modified'] }) };
    if (!sameValidators(first, later))
      throw new ContentChanged(
        `${url.host} answered bytes ${seg.pos}-${range.end} with ${describeValidators(later)}, the download began with ${describeValidators(first)}.`,
      );
    await receive(host, cfg, signal, response.body, seg, range.end + 1, fh, saver);
  } finally {
    host.connections--;
    response.body.destroy();
  }
}

/** A response's status, headers (lowercase names, single strings) and body. */
interface RangeResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: BodySource;
}

/**
 * The response to a segment's GET: over raw-get's lean reader when it can frame the exchange
 * (http or https, no redirect, one Content-Length), else over Node's client, which follows redirects.
 */
async function rangeResponse(url: URL, cfg: TransferConfig, signal: AbortSignal, headers: Record<string, string>): Promise<RangeResponse> {
  try {
    const raw = await rawGet(url, { policy: cfg.policy, headers, connectTimeoutMs: cfg.connectTimeoutMs, idleTimeoutMs: cfg.idleTimeoutMs, signal });
    return { status: raw.status, headers: raw.headers, body: raw };
  } catch (err) {
    if (!(err instanceof RawUnsupported)) throw err;
  }
  const { res } = await getFollowingRedirects(url, followOptions(cfg, signal, headers));
  const single: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(res.headers)) single[name] = Array.isArray(value) ? value.join(', ') : value;
  return { status: res.statusCode ?? 0, headers: single, body: bodyOf(res) };
}

/** What `receive` reads from: raw-get's response, or Node's through `bodyOf`. */
interface BodySource {
  read(handlers: RawBodyHandlers): void;
  pause(): void;
  resume(): void;
  destroy(): void;
}

/**
 * Node's response as a BodySource. Event-driven rather than `for await`: the response stays in
 * flowing mode (no buffering in the stream, which would stop the socket's reads at its small
 * high-water mark) and is paused only when the reader asks.
 */
function bodyOf(res: IncomingMessage): BodySource {
  return {
    read(handlers) {
      let ended = false;
      const end = (err: Error | null): void => {
        if (ended) return;
        ended = true;
        res.off('data', handlers.data);
        res.pause();
        handlers.end(err);
      };
      res.on('data', handlers.data);
      res.once('end', () => end(null));
      res.once('close', () => end(null)); // closed without 'end' or 'error': the reader's length check decides
      // 'error' stays handled after the end: the socket may still close under the response.
      res.on('error', (err) => end(err));
    },
    pause: () => res.pause(),
    resume: () => res.resume(),
    destroy: () => res.destroy(),
  };
}

/**
 * Writes the body into [seg.pos, seg.end) as it arrives; throws if it ends before `rangeEnd` (or
 * seg.end). Returns (or throws) only once every byte it took is written, so the caller may retry
 * from `seg.pos`, or close the file, at once. The body is paused while the writer's queue is full
 * or the throttle asks for a wait.
 */
async function receive(
  host: TransferHost,
  cfg: TransferConfig,
  signal: AbortSignal,
  body: BodySource,
  seg: Segment,
  rangeEnd: number,
  fh: FileHandle,
  saver: StateSaver | null,
): Promise<void> {
  const writer = new PositionalWriter(fh.fd, seg.pos, (start, end) => {
    host.ranges.add(start, end);
    host.written(start, end);
    saver?.touch();
  });
  let streamError: unknown = null;
  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let diskWait = false;
      let throttleWait = false;
      const settle = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        body.pause();
        if (err === undefined || err === null) resolve();
        else reject(err);
      };
      const maybeResume = (): void => {
        if (!settled && !diskWait && !throttleWait) body.resume();
      };
      writer.onDrain = () => {
        diskWait = false;
        maybeResume();
      };
      writer.onError = settle;
      body.read({
        data(chunk: Buffer): void {
          if (settled) return;
          // A source of unknown length stops at the room its users have, not at a full disk.
          if (host.maxBytes !== null && seg.pos + chunk.length > host.maxBytes) {
            settle(tooLarge(host.maxBytes));
            return;
          }
          host.received += chunk.length;
          const take = Math.min(chunk.length, seg.end - seg.pos);
          if (take > 0) {
            seg.pos += take;
            if (!writer.push(take === chunk.length ? chunk : chunk.subarray(0, take))) {
              diskWait = true;
              body.pause();
            }
          }
          // Another connection took the rest of this range: stop here. (At the response's own
          // end, wait for its end instead, so that a keep-alive connection can be reused.)
          if (seg.pos >= seg.end && seg.end < rangeEnd) {
            settle();
            return;
          }
          if (cfg.throttle !== null) {
            throttleWait = true;
            body.pause();
            void cfg.throttle.take(chunk.length, signal).then(() => {
              throttleWait = false;
              maybeResume();
            });
          }
        },
        end: settle,
      });
    });
  } catch (err) {
    streamError = err;
  }
  await writer.drained(); // a write error wins: it is the disk's, not retried
  if (streamError !== null) throw streamError;
  if (seg.pos < Math.min(seg.end, rangeEnd))
    throw new FetchError('SIZE_MISMATCH', `The response ended at byte ${seg.pos}, before the end of its range (${rangeEnd}).`);
}

// ---- one stream (no ranges, or no length) ----

/**
 * Every try (the first, and each retry after a failure) rewrites the file from byte 0 with one
 * response's body, so the bytes are always of one version; the resume state names that
 * response's validators, not the probe's, which may be of another version.
 */
async function streamDownload(host: TransferHost, cfg: TransferConfig, signal: AbortSignal, probe: ProbeResult): Promise<void> {
  const finalUrl = new URL(probe.finalUrl);
  await withRetries(cfg, signal, async () => {
    host.reset();
    host.size = probe.size;
    const fh = await openRetrying(host.dataPath, 'w');
    try {
      const { res } = await getFollowingRedirects(finalUrl, followOptions(cfg, signal));
      host.connections++;
      let end: number;
      let got: { etag?: string; lastModified?: string };
      try {
        const status = res.statusCode ?? 0;
        if (status !== 200) throw new FetchError(`HTTP_${status}`, `${finalUrl.host} answered ${status} ${res.statusMessage ?? ''}`.trim() + '.');
        got = validators({ etag: res.headers.etag, lastModified: res.headers['last-modified'] });
        const expected = contentLength(res);
        if (expected !== null) host.size = expected;
        if (expected !== null && host.maxBytes !== null && expected > host.maxBytes) throw tooLarge(host.maxBytes);
        const seg: Segment = { pos: 0, end: Number.MAX_SAFE_INTEGER };
        await receive(host, cfg, signal, bodyOf(res), seg, 0, fh, null);
        end = seg.pos;
        if (expected !== null && end !== expected) throw new FetchError('SIZE_MISMATCH', `Received ${end} bytes, the server announced ${expected}.`);
      } finally {
        host.connections--;
        res.destroy();
      }
      host.size = end;
      await fh.sync();
      await saveResumeState(host.statePath, { version: 1, url: host.url, finalUrl: probe.finalUrl, size: end, ...got, done: host.ranges.toJSON() });
    } finally {
      await fh.close();
    }
  });
}

function tooLarge(maxBytes: number): FetchError {
  return new FetchError('SPACE_EXCEEDED', `The download is larger than the ${maxBytes} bytes of space left for it.`);
}

function validators(v: { etag?: string; lastModified?: string }): { etag?: string; lastModified?: string } {
  return { ...(v.etag ? { etag: v.etag } : {}), ...(v.lastModified ? { lastModified: v.lastModified } : {}) };
}

function describeValidators(v: Validators): string {
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
class StateSaver {
  #dirty = true;
  #busy = false;
  #running: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: TransferHost,
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
