import type { FileHandle } from 'node:fs/promises';
import { FetchError, getFollowingRedirects, parseContentRange, rawGet, RawUnsupported, type ProbeResult } from '../../net/index.js';
import { splitRanges, type ByteRange } from './byte-ranges.js';
import { openRetrying } from '../fd-pool.js';
import { bodyOf, receive, type BodySource, type Segment } from './receive.js';
import { describeValidators, ifRangeValue, sameValidators, StateSaver, validators, type Validators } from './resume-state.js';
import { withRetries } from './retry.js';
import { ContentChanged, followOptions, type TransferConfig, type TransferHost } from './transfer-host.js';

// A URL with ranges and a known length: a preallocated file filled by parallel ranged GETs; a
// connection that finishes takes half of the longest remaining range. A reader of the file (play
// while downloading) that wants bytes no connection is about to reach gets a connection of its
// own there: the range holding them is cut at that offset, and the new connection takes the rest.

/** Segments are not cut below this; a finished connection steals half of a range at least twice as long. */
const MIN_SEGMENT = 1024 * 1024;
/**
 * How often the resume state is saved while bytes arrive. Each save costs an fdatasync of the
 * data file (bytes that must reach the disk anyway) and a small atomic file write; a save still
 * running when the next is due makes that one skip, so a slow disk spaces them out itself.
 */
const SAVE_INTERVAL_MS = 250;
/** A connection this close before the bytes a reader wants will bring them soon enough. */
const NEAR_BYTES = 256 * 1024;
/** Connections opened for readers at most at once, above the configured segments. */
const MAX_READER_CONNECTIONS = 2;

export async function rangedDownload(host: TransferHost, cfg: TransferConfig, outer: AbortSignal, probe: ProbeResult, resumable: boolean): Promise<void> {
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
    const fetchSegment = async (s: Segment): Promise<void> => {
      active.add(s);
      try {
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
        active.delete(s);
      }
    };
    const worker = async (): Promise<void> => {
      for (let seg = next(); seg !== null; seg = next()) await fetchSegment(seg);
    };
    const failing = async (work: Promise<void>): Promise<void> => {
      try {
        await work;
      } catch (err) {
        inner.abort(err); // one connection's failure ends the others
        throw err;
      }
    };
    const readerConnections = new Set<Promise<void>>();
    host.prioritize = (at) => {
      if (inner.signal.aborted || readerConnections.size >= MAX_READER_CONNECTIONS || host.ranges.runFrom(at) > 0) return;
      const seg = cutAt(at, active, queue);
      if (seg === null) return;
      const connection = failing(fetchSegment(seg));
      readerConnections.add(connection);
      void connection.then(
        () => readerConnections.delete(connection),
        () => readerConnections.delete(connection),
      );
    };
    const timer = setInterval(() => saver.tick(), SAVE_INTERVAL_MS);
    try {
      const results = await Promise.allSettled(Array.from({ length: cfg.segments }, () => failing(worker())));
      // Connections opened for readers may outlast the others (and open more while they wait).
      while (readerConnections.size > 0) results.push(...(await Promise.allSettled([...readerConnections])));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw outer.aborted ? outer.reason : failed.reason;
    } finally {
      host.prioritize = null;
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
 * A segment from `at` to the end of the range that holds it, cut off that range (a running
 * connection's or a queued one); null when a connection is about to reach `at` or none holds it.
 */
function cutAt(at: number, active: ReadonlySet<Segment>, queue: ByteRange[]): Segment | null {
  for (const s of active) {
    if (at < s.pos || at >= s.end) continue;
    if (at - s.pos < NEAR_BYTES) return null;
    const cut = { pos: at, end: s.end };
    s.end = at;
    return cut;
  }
  const k = queue.findIndex(([s, e]) => s <= at && at < e);
  if (k < 0) return null;
  const [s, e] = queue[k];
  queue.splice(k, 1, ...(s < at ? [[s, at] as const] : []));
  return { pos: at, end: e };
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
