// Where a 6pan client puts its session token. The gateway took, in this order: an
// `Authorization: Bearer` header, a `token` header (the Android app; later `Qingzhen-Token`), the
// `auth` and `token` query parameters, and a `token` field of the body. Old clients also send a
// bare `Authorization: <token>`.
import type { IncomingHttpHeaders } from 'node:http';

function firstHeader(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
}

/** Reads `Bearer <t>`, or a bare `<t>` as old 6pan clients send it. */
export function bearerFrom(header: string | undefined): string {
  if (!header) return '';
  const trimmed = header.trim();
  // A client without a token yet may still send the scheme alone (Refit's `Bearer ` with null).
  if (/^Bearer$/i.test(trimmed)) return '';
  const m = /^Bearer\s+(.+)$/i.exec(trimmed);
  return (m ? m[1] : trimmed).trim();
}

/** The token of a request's headers and query string, or "" when it carries none. */
export function tokenOf(headers: IncomingHttpHeaders, query: unknown): string {
  const fromAuthorization = bearerFrom(firstHeader(headers.authorization));
  if (fromAuthorization) return fromAuthorization;
  const fromHeader = firstHeader(headers.token) || firstHeader(headers['qingzhen-token']);
  if (fromHeader) return fromHeader;
  const q = (query ?? {}) as Record<string, unknown>;
  for (const name of ['auth', 'token']) {
    const v = q[name];
    if (typeof v === 'string' && v.trim()) return v.trim();
  }
  return '';
}

/** The gateway's last resort: a `token` field of the body. */
export function tokenOfBody(body: unknown): string {
  const v = body && typeof body === 'object' ? (body as Record<string, unknown>).token : undefined;
  return typeof v === 'string' ? v.trim() : '';
}
