// CORS for the API, for the origins an operator lists (OPENPAN_CORS_ORIGINS): 6pan's web front
// end calls the API from its own origin, and a browser sends nothing before a preflight passes.
// The upload service keeps its own, open, policy (its tokens authorise themselves).
import type { FastifyInstance } from 'fastify';

/** Headers a front end may read from an answer: the refreshed session token among them. */
const EXPOSED = 'Authorization, Content-Disposition, Content-Length, Content-Range, ETag, Retry-After';
const METHODS = 'GET, HEAD, POST, OPTIONS';
const PREFLIGHT_MAX_AGE_S = '600';

function isUploadService(url: string): boolean {
  return url === '/upload' || url.startsWith('/upload/') || url.startsWith('/upload?');
}

export function installCors(app: FastifyInstance, origins: () => readonly string[]): void {
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin || isUploadService(request.url)) return;
    const allowed = origins();
    if (!allowed.includes('*') && !allowed.includes(origin)) return;
    reply.header('Access-Control-Allow-Origin', origin);
    reply.header('Access-Control-Allow-Credentials', 'true');
    reply.header('Access-Control-Expose-Headers', EXPOSED);
    reply.header('Vary', 'Origin');
    const requestedMethod = request.headers['access-control-request-method'];
    if (request.method === 'OPTIONS' && requestedMethod) {
      reply.header('Access-Control-Allow-Methods', METHODS);
      const requestedHeaders = request.headers['access-control-request-headers'];
      if (requestedHeaders) reply.header('Access-Control-Allow-Headers', requestedHeaders);
      reply.header('Access-Control-Max-Age', PREFLIGHT_MAX_AGE_S);
      return reply.code(204).send();
    }
  });
}
