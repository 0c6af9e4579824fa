import type { IncomingMessage } from 'node:http';
import { filenameFromContentDisposition, filenameFromUrl } from './content-disposition.js';
import { FetchError } from './fetch-error.js';
import { discard, getFollowingRedirects, type FollowOptions } from './safe-fetch.js';

// What a URL serves, asked once before a download (parseUrl) and by the engine before each run:
// one `GET` with `Range: bytes=0-0` under the address policy. A server that honours it answers
// 206 with the total size in Content-Range (and proves range support); one that does not answers
// 200 with the whole body, which is not read: the connection is closed after the headers.

export interface ProbeResult {
  /** After redirects. */
  finalUrl: string;
  /** From Content-Disposition, else the URL's last path segment, else its host. */
  name: string;
  /** Total length, or null when the server does not say (chunked). */
  size: number | null;
  /** The server answered the byte range request with 206. */
  acceptsRanges: boolean;
  etag?: string;
  lastModified?: string;
  /** Content-Type without parameters. */
  mime?: string;
}

export type ProbeOptions = FollowOptions;

export async function probeUrl(url: string | URL, opts: ProbeOptions): Promise<ProbeResult> {
  let start: URL;
  try {
    start = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new FetchError('SOURCE_INVALID', `Not a URL: ${JSON.stringify(url)}.`);
  }
  const { res, url: finalUrl } = await getFollowingRedirects(start, { ...opts, headers: { ...opts.headers, range: 'bytes=0-0' } });
  try {
    return describe(res, finalUrl);
  } finally {
    discard(res);
  }
}

/** The probe's answer from a response to `Range: bytes=0-0`. Throws HTTP_<status> for errors. */
export function describe(res: IncomingMessage, finalUrl: URL): ProbeResult {
  const status = res.statusCode ?? 0;
  let size: number | null;
  let acceptsRanges: boolean;
  if (status === 206) {
    const range = parseContentRange(res.headers['content-range']);
    if (range === null || range.start !== 0)
      throw new FetchError('HTTP_206', `${finalUrl.host} answered 206 with an unusable Content-Range ${JSON.stringify(res.headers['content-range'] ?? '')}.`);
    size = range.total;
    acceptsRanges = range.total !== null;
  } else if (status === 200) {
    size = contentLength(res);
    acceptsRanges = false;
  } else if (status === 416 && /^bytes \*\/0$/.test(res.headers['content-range'] ?? '')) {
    // The only unsatisfiable first byte: an empty resource.
    size = 0;
    acceptsRanges = false;
  } else {
    throw new FetchError(`HTTP_${status}`, `${finalUrl.host} answered ${status} ${res.statusMessage ?? ''}`.trim() + '.');
  }
  const name = filenameFromContentDisposition(res.headers['content-disposition']) ?? filenameFromUrl(finalUrl);
  const etag = res.headers.etag;
  const lastModified = res.headers['last-modified'];
  const mime = res.headers['content-type']?.split(';')[0].trim().toLowerCase();
  return {
    finalUrl: finalUrl.href,
    name,
    size,
    acceptsRanges,
    ...(etag ? { etag } : {}),
    ...(lastModified ? { lastModified } : {}),
    ...(mime ? { mime } : {}),
  };
}

/** Content-Length of a response without a transfer coding; null when absent or malformed. */
export function contentLength(res: IncomingMessage): number | null {
  const raw = res.headers['content-length'];
  if (raw === undefined || res.headers['transfer-encoding'] !== undefined) return null;
  if (!/^\d{1,16}$/.test(raw)) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : null;
}

/** `bytes a-b/total` (total may be `*`). */
export function parseContentRange(header: string | undefined): { start: number; end: number; total: number | null } | null {
  const m = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/.exec((header ?? '').trim());
  if (m === null) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (end < start || (total !== null && end >= total)) return null;
  return { start, end, total };
}
