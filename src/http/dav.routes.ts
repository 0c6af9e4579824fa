import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DAV_METHODS, type DavService } from '../dav/dav.service.js';
import { DavError, davStatusOf } from '../dav/errors.js';
import { escapeXml } from '../dav/xml.js';
import { idleGuard } from '../upload/idle.js';

// WebDAV's HTTP face at /dav (src/dav does the protocol): HTTP Basic over the user's name and
// an app password, the request handed to DavService, its answer written out. Bodies stay
// streams (a PUT goes to the store as it arrives).

export const DAV_PREFIX = '/dav';

export interface DavRoutesOptions {
  service: DavService;
  /** The user a name and password log in as (an app password; the account's when allowed), or undefined. */
  authenticate: (name: string, password: string, ip: string) => Promise<number | undefined>;
  /** A body from which no byte arrives for this long is cut off, ms; 0: never. */
  bodyIdleTimeoutMs: number;
}

/** Methods Fastify does not route by default, and whether they carry a body. */
const EXTRA_METHODS: ReadonlyArray<[string, boolean]> = [
  ['PROPFIND', true],
  ['PROPPATCH', true],
  ['MKCOL', true],
  ['COPY', false],
  ['MOVE', false],
  ['LOCK', true],
  ['UNLOCK', false],
];

const REALM = 'Basic realm="openpan WebDAV", charset="UTF-8"';

function credentials(header: string | undefined): { name: string; password: string } | null {
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function errorBody(message: string, condition?: string): string {
  const inner = condition ? `<D:${condition}/>` : '';
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:">${inner}<D:responsedescription>${escapeXml(message)}</D:responsedescription></D:error>`;
}

function sendDavError(reply: FastifyReply, status: number, message: string, condition?: string): FastifyReply {
  return reply.code(status).type('application/xml; charset=utf-8').send(errorBody(message, condition));
}

/** The request's path below /dav, percent-decoded; null when its escapes are not UTF-8. */
function davPath(rawUrl: string): string | null {
  const path = rawUrl.split('?')[0].slice(DAV_PREFIX.length);
  // A fragment never belongs in a request: acting on the URL without it could delete a collection the client did not name.
  if (path.includes('#')) return null;
  try {
    return decodeURIComponent(path) || '/';
  } catch {
    return null;
  }
}

/** Adds the WebDAV methods to the router (on the root instance, before any route). */
export function addDavMethods(app: FastifyInstance): void {
  for (const [method, hasBody] of EXTRA_METHODS) {
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody });
  }
}

/**
 * `OPTIONS /`: Windows' Mini-Redirector asks the server's root what it speaks before it maps a
 * share below it. Registered on the root instance; it tells only that WebDAV is at /dav/.
 */
export function registerDavRootOptions(app: FastifyInstance, service: DavService): void {
  app.options(
    '/',
    {
      schema: {
        summary: 'What the server speaks, for WebDAV clients that ask its root (Windows)',
        tags: ['webdav'],
        security: [],
        response: { 200: { description: 'DAV: 1, 2 and MS-Author-Via: DAV; no body', type: 'null' } },
      },
    },
    async (_request, reply) => {
      const answer = service.options();
      for (const [key, value] of Object.entries(answer.headers)) reply.header(key, value);
      return reply.code(200).send();
    },
  );
}

const DOCS = {
  summary: 'WebDAV (RFC 4918 class 1 and 2) over the caller’s files; HTTP Basic with the user name and an app password',
  description:
    'GET/HEAD (one `Range`, `If-Match`, `If-None-Match`, `If-Range`), PUT (streamed into the store), DELETE and OPTIONS here; ' +
    'PROPFIND (Depth 0 or 1), PROPPATCH, MKCOL, COPY, MOVE, LOCK and UNLOCK, which OpenAPI cannot list, on the same paths. See docs/webdav.md.',
  tags: ['webdav'],
  security: [{ basic: [] }],
  response: {
    '2xx': { description: 'Done: the file’s bytes (200, 206), created (201), done without a body (204), a multistatus (207)', type: 'null' },
    '4xx': { description: '401 with WWW-Authenticate, 404, 409, 412, 423 Locked; a DAV:error body', type: 'null' },
    507: { description: 'Insufficient Storage: the file does not fit in the user’s space', type: 'null' },
  },
};
/** Methods an OpenAPI description can list; the other WebDAV methods are routed undocumented. */
const OPENAPI_METHODS: readonly string[] = ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'];

export const davRoutes: FastifyPluginAsync<DavRoutesOptions> = async (app: FastifyInstance, options) => {
  const { service, authenticate, bodyIdleTimeoutMs } = options;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.setErrorHandler((err: FastifyError | DavError, request, reply) => {
    const known = davStatusOf(err);
    if (known) {
      if (known.status >= 500 && known.status !== 507) request.log.error({ err }, known.message);
      return sendDavError(reply, known.status, known.message, known.condition);
    }
    const fe = err as FastifyError;
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return sendDavError(reply, fe.statusCode, fe.message);
    request.log.error({ err }, 'unhandled WebDAV error');
    return sendDavError(reply, 500, 'Something went wrong on the server; it has been logged.');
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = davPath(request.raw.url ?? '');
    if (path === null) throw new DavError(400, 'The path is not percent-encoded UTF-8, or carries a fragment.');
    // OPTIONS tells what the server speaks, nothing about anyone's files: Windows asks it
    // before it sends credentials.
    if (request.method === 'OPTIONS') return send(reply, service.options());
    const given = credentials(request.headers.authorization);
    const userId = given ? await authenticate(given.name, given.password, request.ip) : undefined;
    if (userId === undefined) {
      reply.header('WWW-Authenticate', REALM);
      return sendDavError(reply, 401, given ? 'Wrong user name or app password.' : 'Sign in with your user name and an app password.');
    }
    const headers: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(request.headers)) headers[key] = Array.isArray(value) ? value.join(', ') : value;
    const body = idleGuard(request.raw.iterator({ destroyOnReturn: false }), bodyIdleTimeoutMs, () => request.raw.destroy());
    const answer = await service.handle({ method: request.method, userId, path, headers, body });
    return send(reply, answer);
  };

  const send = (reply: FastifyReply, answer: Awaited<ReturnType<DavService['handle']>>) => {
    reply.code(answer.status);
    for (const [key, value] of Object.entries(answer.headers)) {
      if (key === 'Content-Length' && (answer.status === 204 || answer.status === 304)) continue;
      reply.header(key, value);
    }
    return reply.send(answer.body);
  };

  for (const url of ['/', '/*']) {
    app.route({ method: [...OPENAPI_METHODS], url, schema: DOCS, exposeHeadRoute: false, handler });
    app.route({ method: DAV_METHODS.filter((m) => !OPENAPI_METHODS.includes(m)), url, schema: { hide: true }, handler });
  }
};
