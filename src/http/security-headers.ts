import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

// Security headers on every answer, added last (onSend) and never over a header the route set
// itself: the download route's sandbox CSP and cache lifetime, the upload service's CORS
// headers and the web UI's own CSP all stay as their routes wrote them.
//
//   X-Content-Type-Options: nosniff   a browser never guesses a type (JSON as HTML, a download as script)
//   Referrer-Policy: no-referrer      signed addresses and tokens in URLs never leak to other sites
//   X-Frame-Options: DENY             no page of this origin inside another site's frame (clickjacking)
//   Cross-Origin-Resource-Policy      API answers: same-origin; the upload service and signed
//                                     downloads are meant for other origins: cross-origin
//   Cache-Control: no-store           on API and upload answers: they carry tokens and private data
//   Content-Security-Policy           on JSON answers without one: nothing may load or frame them

const API_CSP = "default-src 'none'; frame-ancestors 'none'";

function isCrossOriginService(url: string): boolean {
  return url === '/upload' || url.startsWith('/upload/') || url.startsWith('/upload?') || url.startsWith('/dl/');
}

function isApi(url: string): boolean {
  return url.startsWith('/v1/') || url === '/upload' || url.startsWith('/upload/') || url.startsWith('/upload?');
}

function setIfAbsent(reply: FastifyReply, name: string, value: string): void {
  if (!reply.hasHeader(name)) reply.header(name, value);
}

/** Applies the headers to one answer. */
export function applySecurityHeaders(request: FastifyRequest, reply: FastifyReply): void {
  const url = request.url;
  setIfAbsent(reply, 'X-Content-Type-Options', 'nosniff');
  setIfAbsent(reply, 'Referrer-Policy', 'no-referrer');
  setIfAbsent(reply, 'X-Frame-Options', 'DENY');
  setIfAbsent(reply, 'Cross-Origin-Resource-Policy', isCrossOriginService(url) ? 'cross-origin' : 'same-origin');
  if (isApi(url) || url.startsWith('/dl/')) setIfAbsent(reply, 'Cache-Control', 'no-store');
  const type = reply.getHeader('content-type');
  if (typeof type === 'string' && type.startsWith('application/json')) setIfAbsent(reply, 'Content-Security-Policy', API_CSP);
}

/** Installs the hook on the root instance, so it covers every route and plugin registered after it. */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    applySecurityHeaders(request, reply);
    return payload;
  });
}
