import { lookup } from 'mime-types';

// What a request's Range and validator headers ask of stored content: shared by the signed
// download addresses (/dl) and WebDAV's GET. Pure.

/** What a Range header asks of content of a given size (RFC 9110 §14). */
export type RangeRequest = { kind: 'whole' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

const SINGLE_RANGE_RE = /^bytes=(\d*)-(\d*)$/i;

/**
 * One range is served as 206; a header that is malformed or asks for several ranges is
 * ignored (whole content, 200), as RFC 9110 allows: multipart/byteranges buys clients little.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const m = SINGLE_RANGE_RE.exec(header.trim());
  if (!m) return { kind: 'whole' };
  const [, first, last] = m;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    // Suffix range: the last n bytes, the whole content when it is shorter.
    const n = Number(last);
    if (n === 0) return { kind: 'unsatisfiable' };
    // §14.1.1: of empty content, a non-zero suffix is the one satisfiable range; no 206 can
    // describe zero bytes (Content-Range has no empty form), so the whole, empty, content it is.
    if (size === 0) return { kind: 'whole' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Infinity : Number(last);
  if (end < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}

export function contentTypeFor(name: string): string {
  const type = lookup(name) || 'application/octet-stream';
  return type.startsWith('text/') ? `${type}; charset=utf-8` : type;
}

/** If-Match: `*` or a list of entity tags, one of which must be ours (strong comparison, RFC 9110 §13.1.1). */
export function ifMatchHolds(header: string | undefined, quotedEtag: string): boolean {
  if (header === undefined) return true;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === quotedEtag;
  });
}

/** If-None-Match: a list of entity tags or `*`; weak comparison, as RFC 9110 §13.1.2 says. */
export function ifNoneMatchHolds(header: string | undefined, quotedEtag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === quotedEtag || t === `W/${quotedEtag}`;
  });
}

/** If-Range: the range applies only while the client's copy is current (strong comparison). */
export function rangeStillValid(header: string | undefined, quotedEtag: string): boolean {
  return header === undefined || header.trim() === quotedEtag;
}
