import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { contentTypeFor, ifMatchHolds, ifNoneMatchHolds, parseRange, rangeStillValid } from '../files/byte-ranges.js';
import { DOWNLOAD_PATH_PREFIX, publicEtag, verifyDownload, type DownloadClaims } from '../files/download-url.js';
import type { BlobStore } from '../store/blob-store.js';
import { failure } from '../envelope.js';
import { Type } from '@sinclair/typebox';
import { Binary, documentedOnly } from './openapi.js';
import { FailureSchema } from './sixpan/schemas.js';

export interface DownloadRouteDeps {
  /** The secret download addresses are signed with (signDownload). */
  secret: string;
  store: BlobStore;
  /**
   * Whether the user's file the address names still holds the content it names: an address
   * dies with its file (removed, or its content replaced), not only when it expires.
   */
  fileHolds: (userId: number, fileUuid: string, etag: string) => Promise<boolean>;
  /**
   * Answer with a redirect to a presigned GET of the object store (OPENPAN_S3_PRESIGN), so the
   * bytes do not pass through this process; only for a store that can sign one.
   */
  presign?: boolean;
  /** Clock, for tests. */
  now?: () => number;
}

export { contentTypeFor, parseRange, type RangeRequest } from '../files/byte-ranges.js';

/** Hex escapes for every byte of the UTF-8 name except RFC 5987 attr-chars. */
function rfc5987(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * RFC 6266 attachment header: an ASCII `filename` for old clients (non-ASCII, controls, quotes,
 * backslashes and `%` become `_`: some clients would unescape them), and the exact UTF-8 name
 * in `filename*`.
 */
export function contentDisposition(name: string, disposition: 'attachment' | 'inline' = 'attachment'): string {
  let fallback = '';
  for (const ch of name) fallback += /^[\x20-\x7e]$/.test(ch) && !/["\\%]/.test(ch) ? ch : '_';
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${rfc5987(name)}`;
}

const DOWNLOAD_FAILURE = Type.Union([FailureSchema], {
  description: '403 FORBIDDEN (altered or expired address), 404 FILE_NOT_FOUND, 412 PRECONDITION_FAILED, 416 RANGE_NOT_SATISFIABLE',
});
const DOWNLOAD_SCHEMA = {
  summary: 'Downloads a file by its signed address (files/get, files/download, the previews)',
  description:
    'The path is `<etag>/<url-encoded name>`; the address authorises itself (no session token). One `Range` answers 206 with `Content-Range`; ' +
    '`If-Match`, `If-None-Match` (304) and `If-Range` are honoured. The answer is an attachment with the Content-Type of its name.',
  tags: ['download'],
  security: [],
  response: {
    200: { description: 'The whole file', content: { 'application/octet-stream': { schema: Binary } } },
    206: { description: 'The requested range', content: { 'application/octet-stream': { schema: Binary } } },
    302: { description: 'With OPENPAN_S3_PRESIGN: a GET of the object store, signed for the rest of the address lifetime', type: 'null' },
    304: { description: 'Not modified (If-None-Match)', type: 'null' },
    '4xx': DOWNLOAD_FAILURE,
    500: Type.Union([FailureSchema], { description: 'INTERNAL_ERROR' }),
  },
};

/** Adds `GET`/`HEAD` `/dl/...`: the signed download addresses handed out by /v1/files/download. */
export function registerDownloadRoutes(app: FastifyInstance, deps: DownloadRouteDeps): void {
  const now = deps.now ?? Date.now;
  // A wildcard, not params: a name can be 255 bytes (765 characters escaped), beyond the
  // router's parameter length limit.
  app.route({
    method: ['GET', 'HEAD'],
    url: `${DOWNLOAD_PATH_PREFIX}*`,
    schema: DOWNLOAD_SCHEMA,
    // The signed query is checked by the handler (an altered one is 403), never by a schema.
    config: documentedOnly({
      querystring: Type.Object({
        f: Type.String({ description: "The file's uuid" }),
        u: Type.String({ description: 'The user id' }),
        s: Type.String({ description: 'The size' }),
        e: Type.String({ description: 'Expiry, ms since the epoch' }),
        sig: Type.String({ description: 'HMAC over every other part' }),
        inline: Type.Optional(Type.Literal('1', { description: 'Shown in a page of this origin (a PDF in the viewer) rather than saved' })),
      }),
    }),
    handler: async (request, reply) => {
      const claims = verifyDownload(deps.secret, request.url, now());
      // One indexed lookup: a removed file's address stops working at once.
      if (!(await deps.fileHolds(claims.userId, claims.fileUuid, claims.etag))) {
        throw new AppError('FILE_NOT_FOUND', 'This file was removed or replaced; its download address no longer works.');
      }
      const inline = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1)).get('inline') === '1';
      // A PDF shown inline stays on this origin: its viewer frames it under this origin's headers.
      if (deps.presign === true && deps.store.presignedGet !== undefined && !inline) return redirectToStore(reply, deps.store, claims, now());
      return serveDownload(request, reply, deps.store, claims, now(), publicEtag(deps.secret, claims.etag), inline);
    },
  });
}

/**
 * 302 to a GET of the object store signed for the rest of the address's lifetime, answering
 * with the file's name and type; stored bytes of another size than recorded are refused first,
 * as when serving them.
 */
async function redirectToStore(reply: FastifyReply, store: BlobStore, claims: DownloadClaims, now: number): Promise<FastifyReply> {
  const size = await store.size(claims.etag);
  if (size === null) throw new AppError('FILE_NOT_FOUND', 'The file content is no longer stored on this server.');
  if (size !== claims.size) {
    throw new AppError(
      'INTERNAL_ERROR',
      `The stored content ${claims.etag} has ${size} bytes where ${claims.size} are recorded; it is not served (run fsck --verify).`,
    );
  }
  const ttlSeconds = Math.max(1, Math.floor((claims.expires - now) / 1000));
  const presignedGet = store.presignedGet as NonNullable<BlobStore['presignedGet']>;
  const location = await presignedGet.call(store, claims.etag, ttlSeconds, {
    contentDisposition: contentDisposition(claims.name),
    contentType: contentTypeFor(claims.name),
  });
  return reply.code(302).header('Location', location).header('Cache-Control', 'private, no-store').send();
}

async function serveDownload(
  request: FastifyRequest,
  reply: FastifyReply,
  store: BlobStore,
  claims: DownloadClaims,
  now: number,
  quotedEtag: string,
  inline = false,
): Promise<FastifyReply> {
  const size = await store.size(claims.etag);
  if (size === null) throw new AppError('FILE_NOT_FOUND', 'The file content is no longer stored on this server.');
  // Bytes whose size is not the recorded one cannot be the content the etag names: never served.
  if (size !== claims.size) {
    throw new AppError(
      'INTERNAL_ERROR',
      `The stored content ${claims.etag} has ${size} bytes where ${claims.size} are recorded; it is not served (run fsck --verify).`,
    );
  }

  // Bytes behind an etag never change, but the address stops working when it expires.
  const maxAge = Math.max(0, Math.floor((claims.expires - now) / 1000));
  reply.header('ETag', quotedEtag).header('Cache-Control', `private, max-age=${maxAge}`).header('Accept-Ranges', 'bytes');

  // RFC 9110 §13.2.2: If-Match first, then If-None-Match, then If-Range and Range.
  if (!ifMatchHolds(headerValue(request.headers['if-match']), quotedEtag)) {
    return reply.code(412).send(failure(412, 'PRECONDITION_FAILED', 'If-Match names another version of this file; ask for its download again.'));
  }
  if (ifNoneMatchHolds(request.headers['if-none-match'], quotedEtag)) return reply.code(304).send();

  const range = rangeStillValid(headerValue(request.headers['if-range']), quotedEtag)
    ? parseRange(headerValue(request.headers.range), size)
    : ({ kind: 'whole' } as const);

  if (range.kind === 'unsatisfiable') {
    const message = `The requested range is outside the file (${size} bytes).`;
    return reply
      .code(416)
      .header('Content-Range', `bytes */${size}`)
      .send(failure(416, 'RANGE_NOT_SATISFIABLE', message));
  }

  const partial = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined;
  // Open before setting the file's headers: if the content vanished meanwhile, the error
  // envelope must not go out dressed as an attachment. HEAD opens nothing: no stream to leak.
  const body = request.method === 'HEAD' ? undefined : await store.read(claims.etag, partial);

  const type = contentTypeFor(claims.name);
  // Only a PDF is ever shown inline, framed by this origin's viewer: the browser's own PDF
  // viewer draws it, and nothing it holds runs as a page of this origin.
  const framedPdf = inline && type === 'application/pdf';
  reply
    .header('Content-Type', type)
    .header('Content-Disposition', contentDisposition(claims.name, framedPdf ? 'inline' : 'attachment'))
    // The bytes are a download, never a page of this origin, whatever their type.
    .header('Content-Security-Policy', framedPdf ? "default-src 'none'; frame-ancestors 'self'" : "default-src 'none'; sandbox")
    .header('Content-Length', partial ? partial.end - partial.start + 1 : size);
  if (framedPdf) reply.header('X-Frame-Options', 'SAMEORIGIN');
  if (partial) reply.code(206).header('Content-Range', `bytes ${partial.start}-${partial.end}/${size}`);

  // Fastify destroys the stream (closing the file) when the client goes away mid-transfer.
  return reply.send(body);
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}
