import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { lookup } from 'mime-types';
import { FailureSchema } from './sixpan/schemas.js';

// Serves the browser UI built by `vite build` (dist/web/) at `/`. Hashed assets are cached for
// a year; index.html is revalidated on every load so a new build is picked up at once. Paths
// the UI routes itself (/drive/..., /offline) get index.html; API, upload and download paths
// never do: a mistyped API address must answer the API's 404, not a page.

/** The package root, from src/http/ (tsx) and from dist/http/ (compiled) alike. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_WEB_DIR = join(PACKAGE_ROOT, 'dist', 'web');

const NEVER_THE_UI = ['/v1', '/upload', '/dl', '/dav', '/zip', '/api', '/media'];
const HASHED_ASSETS = '/assets/';
const YEAR_SECONDS = 365 * 24 * 60 * 60;

export interface WebUiOptions {
  /** The built UI (default: dist/web in the package). */
  dir?: string;
  /**
   * The server's public URL: upload addresses are built from it, and when a browser reaches the
   * UI under another name (localhost vs 127.0.0.1), uploads still go there. Read per request:
   * it is known only once the server listens.
   */
  publicUrl: () => string;
}

function isUiPath(urlPath: string): boolean {
  return !NEVER_THE_UI.some((prefix) => urlPath === prefix || urlPath.startsWith(`${prefix}/`));
}

/**
 * Everything the UI loads comes from this origin, scripts never inline (Vite emits files);
 * only the upload service and the signed downloads (images, media, PDFs the viewers show) may live
 * at another origin (OPENPAN_PUBLIC_URL).
 */
export function contentSecurityPolicy(publicUrl: string): string {
  let uploadOrigin = '';
  try {
    uploadOrigin = publicUrl ? ` ${new URL(publicUrl).origin}` : '';
  } catch {
    // an unparsable public URL adds nothing
  }
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    // Images, media and PDFs come from signed download addresses, which live at the public URL;
    // hls.js plays through a blob: MediaSource.
    `img-src 'self' data: blob:${uploadOrigin}`,
    `media-src 'self' blob:${uploadOrigin}`,
    `frame-src 'self'${uploadOrigin}`,
    "font-src 'self'",
    `connect-src 'self'${uploadOrigin}`,
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

async function readIfFile(path: string): Promise<Buffer | null> {
  try {
    if (!(await stat(path)).isFile()) return null;
    return await readFile(path);
  } catch {
    return null;
  }
}

function contentType(path: string): string {
  const type = lookup(extname(path)) || 'application/octet-stream';
  return type.startsWith('text/') || type === 'application/javascript' || type === 'image/svg+xml' ? `${type}; charset=utf-8` : type;
}

/** Adds `GET`/`HEAD` for the UI: its files, and index.html for the UI's own routes. */
export function registerWebUi(app: FastifyInstance, options: WebUiOptions): void {
  const root = resolve(options.dir ?? DEFAULT_WEB_DIR);

  const send = (request: FastifyRequest, reply: FastifyReply, path: string, body: Buffer, cacheControl: string) => {
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    reply
      .header('Content-Security-Policy', contentSecurityPolicy(options.publicUrl()))
      .header('Referrer-Policy', 'no-referrer')
      .header('X-Frame-Options', 'DENY')
      .header('Cache-Control', cacheControl)
      .header('ETag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type(contentType(path)).send(body);
  };

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const urlPath = decodeURIComponentSafe(request.url.split('?')[0]);
    if (urlPath === null || !isUiPath(urlPath)) return reply.callNotFound();
    const indexPath = join(root, 'index.html');
    if (urlPath !== '/' && urlPath !== '/index.html') {
      const filePath = resolve(root, `.${urlPath}`);
      if (filePath.startsWith(root + sep)) {
        const body = await readIfFile(filePath);
        if (body !== null) {
          const immutable = urlPath.startsWith(HASHED_ASSETS);
          return send(request, reply, filePath, body, immutable ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache');
        }
      }
      // A missing hashed asset is a stale page asking for an old build: 404, not HTML as script.
      if (urlPath.startsWith(HASHED_ASSETS)) return reply.callNotFound();
    }
    const index = await readIfFile(indexPath);
    if (index === null) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web UI has not been built: run `npm run build` (npm ci does it), then restart the server.');
    }
    return send(request, reply, indexPath, index, 'no-cache');
  };

  const schema = {
    summary: 'The browser UI: its files, and index.html for its own paths (never for /v1, /upload, /dl, /dav, /zip, /api)',
    tags: ['web'],
    security: [],
    response: {
      200: { description: 'A file of the UI', content: { 'text/html': { schema: Type.String() }, '*/*': { schema: Type.String({ format: 'binary' }) } } },
      304: { description: 'Not modified (If-None-Match)', type: 'null' },
      404: Type.Union([FailureSchema], { description: 'NOT_FOUND: a missing asset, or an API path' }),
      503: { description: 'The UI has not been built', content: { 'text/plain': { schema: Type.String() } } },
    },
  };
  app.get('/', { schema }, serve);
  app.get('/*', { schema }, serve);
}

function decodeURIComponentSafe(path: string): string | null {
  try {
    return decodeURIComponent(path);
  } catch {
    return null;
  }
}
