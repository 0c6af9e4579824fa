import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { parse as parseQueryString } from 'node:querystring';
import { Type, TypeGuard, type Static, type TSchema } from '@sinclair/typebox';
import { AppError, ERRORS, isAppError, type ErrorCode } from '../errors.js';
import type { AuthenticatedUser, UsersService } from '../users/users.service.js';
import { failure, ok, type FailureEnvelope } from '../envelope.js';
import { installSecurityHeaders } from './security-headers.js';
import { coerceBody } from './sixpan/input.js';
import { FailureSchema, successOf } from './sixpan/schemas.js';
import { tokenOf, tokenOfBody } from './sixpan/token.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthenticatedUser | null;
    bearer: string;
  }
  interface FastifyInstance {
    /** Whether a session token still opens its session (long-lived answers check it again). */
    sessionAlive(token: string): Promise<boolean>;
  }
}

export interface HttpServerOptions {
  logLevel: string;
  /** Largest JSON body, bytes. */
  bodyLimit?: number;
  /**
   * Reverse proxies (addresses or CIDRs) whose `X-Forwarded-For` names the client: behind one,
   * the per-address login limit counts clients, not the proxy. Empty: the socket's address.
   */
  trustedProxies?: readonly string[];
  /** A request's headers must arrive within this, ms; 0: no limit. Default 60 s (Node's). */
  headersTimeoutMs?: number;
  /** A request's headers and body must arrive within this, ms (408 and closed after); 0: no limit. */
  requestTimeoutMs?: number;
}

/**
 * An idle keep-alive connection is closed after this: longer than the 60 s of common reverse
 * proxies, so a proxy never sends a request into a connection the server is closing.
 */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/** Node checks its header and request timeouts on a timer; often enough for the shortest. */
function checkingIntervalFor(...timeouts: number[]): number {
  const shortest = Math.min(...timeouts.filter((t) => t > 0));
  return Number.isFinite(shortest) ? Math.max(100, Math.min(30_000, Math.floor(shortest / 4))) : 30_000;
}

function validationMessage(err: FastifyError): string {
  const v = err.validation?.[0];
  if (!v) return err.message;
  const field = v.instancePath ? v.instancePath.slice(1).replace(/\//g, '.') : (v.params as { missingProperty?: string }).missingProperty;
  return field ? `Field "${field}" ${v.message ?? 'is invalid'}.` : `Request body ${v.message ?? 'is invalid'}.`;
}

/** An error as code, message and status, whatever threw it; logs what the caller cannot fix. */
function describeError(
  err: FastifyError | AppError,
  req: FastifyRequest,
): { code: ErrorCode; message: string; status: number; details?: FailureEnvelope['result'] } {
  if (isAppError(err)) {
    if (err.status >= 500) req.log.error({ err }, err.message);
    return { code: err.code, message: err.message, status: err.status, details: err.details };
  }
  const fe = err as FastifyError;
  if (fe.validation) return { code: 'BAD_REQUEST', message: validationMessage(fe), status: ERRORS.BAD_REQUEST };
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large.', status: ERRORS.PAYLOAD_TOO_LARGE };
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return { code: 'BAD_REQUEST', message: fe.message, status: ERRORS.BAD_REQUEST };
  req.log.error({ err }, 'unhandled error');
  return { code: 'INTERNAL_ERROR', message: 'Something went wrong on the server; it has been logged.', status: ERRORS.INTERNAL_ERROR };
}

function sendError(reply: FastifyReply, code: ErrorCode, message: string, status: number = ERRORS[code], details: FailureEnvelope['result'] = null): void {
  reply.code(status).send(failure(status, code, message, details));
}

export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  // A slow client holds a socket (and, uploading, a file) only so long. Node refuses a headers
  // timeout longer than the request timeout. The bodies of uploads also have an idle timeout
  // (upload.routes.ts).
  const requestTimeout = options.requestTimeoutMs ?? 0;
  const headersWanted = options.headersTimeoutMs ?? 60_000;
  const headersTimeout = requestTimeout > 0 && headersWanted > 0 ? Math.min(headersWanted, requestTimeout) : headersWanted;
  const app = Fastify({
    requestTimeout,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    http: { headersTimeout, requestTimeout, connectionsCheckingInterval: checkingIntervalFor(headersTimeout, requestTimeout) },
    logger: {
      level: options.logLevel,
      // Tokens travel in headers and query strings: never write them to the log.
      redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers.token', 'req.headers["qingzhen-token"]'],
      serializers: {
        req: (req) => ({ method: req.method, url: req.url.replace(/([?&](?:token|auth)=)[^&]*/g, '$1[redacted]') }),
      },
    },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
    trustProxy: options.trustedProxies !== undefined && options.trustedProxies.length > 0 ? [...options.trustedProxies] : false,
  });

  // Response schemas document the answers (/v1/openapi.json); they never shape them. Fastify
  // would compile them into fast-json-stringify serializers, which drop every property a schema
  // does not list and coerce values to the listed types, and 6pan's clients read exact fields:
  // every answer is written by JSON.stringify, byte for byte as without a schema.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.decorateRequest('user', null);
  app.decorateRequest('bearer', '');
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined || request.body === null) request.body = {};
  });

  // An empty body is an empty object: `POST /v1/user/logout` with nothing is a fine request.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new AppError('BAD_REQUEST', 'The request body is not valid JSON.'), undefined);
    }
  });
  // 6pan's clients also post forms (Retrofit's @FormUrlEncoded): repeated keys become arrays.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, { ...parseQueryString(body as string) });
  });
  // Body-less calls from old clients still carry their library's default type (jQuery's form
  // type, fetch's text/plain): an empty body is `{}` whatever its type; anything else in a type
  // the API does not read is refused.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    if ((body as Buffer).toString('utf8').trim() === '') return done(null, {});
    done(
      new AppError(
        'BAD_REQUEST',
        `Content-Type "${req.headers['content-type'] ?? ''}" is not read here: send JSON (application/json) or a form (application/x-www-form-urlencoded).`,
      ),
      undefined,
    );
  });

  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    const { code, message, status, details } = describeError(err, req);
    sendError(reply, code, message, status, details);
  });

  app.setNotFoundHandler((req, reply) => sendError(reply, 'NOT_FOUND', `No such endpoint: ${req.method} ${req.url.split('?')[0]}.`));

  installSecurityHeaders(app);

  return app;
}

/** Refuses the request before its body is looked at: no token, no information about fields. */
export async function requireUser(request: FastifyRequest): Promise<void> {
  if (!request.user) throw new AppError('UNAUTHORIZED', 'A valid token is required: send "Authorization: Bearer <token>".');
}

/** Refuses a signed-in caller who is not an administrator, before the body is looked at. */
export async function requireAdmin(request: FastifyRequest): Promise<void> {
  if (!request.user?.isAdmin) throw new AppError('FORBIDDEN', 'Only an administrator may do this.');
}

export interface ApiContext<B> {
  body: B;
  user: AuthenticatedUser;
  token: string;
  request: FastifyRequest;
}

/** Sends a success envelope; the session token also travels in `Authorization`, as 6pan sent it. */
function sendOk(reply: FastifyReply, result: unknown, token: string): FastifyReply {
  if (token) reply.header('Authorization', `Bearer ${token}`);
  return reply.send(ok(result, token));
}

/** What a route may do with its body as sent, before it is read as the gateway read it. */
export interface RouteOptions {
  /** Sees (and may rewrite) the body before coercion, e.g. to keep an empty string that means something. */
  raw?: (body: Record<string, unknown>) => void;
  /** Administrators only: anyone else is refused FORBIDDEN before the body is read. */
  adminOnly?: boolean;
}

function coerceFor(schema: TSchema, options: RouteOptions = {}) {
  return async (request: FastifyRequest) => {
    const body = request.body;
    if (options.raw && body && typeof body === 'object' && !Array.isArray(body)) options.raw(body as Record<string, unknown>);
    coerceBody(schema, body);
  };
}

/** What a `/v1` call takes and answers, for validation and for the API description. */
export interface ApiSpec<B extends TSchema, R extends TSchema> {
  /** The body, validated after it is read as the gateway read it. */
  body: B;
  /** The success envelope's `result`; `Type.Never()` for a call that always fails. */
  result: R;
  /** One line for the API description. */
  summary: string;
  description?: string;
}

/** Request bodies the wire reads (the content type parsers above). */
const API_CONSUMES = ['application/json', 'application/x-www-form-urlencoded'];
/** The session token, however it is sent (http/sixpan/token.ts). */
export const SESSION_SECURITY = [{ session: [] }];

/** `files/createDirectory` → `filesCreateDirectory`. */
function operationIdOf(url: string): string {
  return url
    .replace(/^\/v1\//, '')
    .split('/')
    .map((part, i) => (i === 0 ? part : part[0].toUpperCase() + part.slice(1)))
    .join('');
}

/** The documented answers of a `/v1` call: its envelope or a failure over HTTP 200, and 401 without a session. */
export function envelopeResponses(result: TSchema, needsSession: boolean): Record<number, TSchema> {
  const ok = TypeGuard.IsNever(result)
    ? Type.Union([FailureSchema], { description: 'Always a failure (over HTTP 200, the status inside)' })
    : Type.Union([successOf(result), FailureSchema], { description: 'The result in the envelope, or an endpoint error (over HTTP 200, the status inside)' });
  return needsSession ? { 200: ok, 401: Type.Union([FailureSchema], { description: 'UNAUTHORIZED: no valid session token' }) } : { 200: ok };
}

function routeSchema(url: string, spec: ApiSpec<TSchema, TSchema>, needsSession: boolean) {
  return {
    body: spec.body,
    response: envelopeResponses(spec.result, needsSession),
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [url.split('/')[2]],
    operationId: operationIdOf(url),
    consumes: API_CONSUMES,
    security: needsSession ? SESSION_SECURITY : [],
  };
}

/**
 * Registers `POST /v1/...` answering in the 6pan envelope. Handlers are thin: the schema
 * validates (after the body is read as the gateway read it), the handler calls the domain,
 * the envelope wraps the result, whose shape the spec documents.
 */
export function apiRoute<B extends TSchema, R extends TSchema>(
  app: FastifyInstance,
  url: string,
  spec: ApiSpec<B, R>,
  handler: (ctx: ApiContext<Static<B>>) => Promise<Static<R>>,
  options: RouteOptions = {},
): void {
  app.post(
    url,
    { schema: routeSchema(url, spec, true), preValidation: [requireUser, ...(options.adminOnly ? [requireAdmin] : []), coerceFor(spec.body, options)] },
    async (request, reply) => {
      const result = await handler({ body: request.body as Static<B>, user: request.user!, token: request.bearer, request });
      return sendOk(reply, result, request.bearer);
    },
  );
}

/** What a call that needs no token answers: its result, and a session token when it opened one. */
export interface PublicAnswer<R> {
  result: R;
  token?: string;
}

/** Like apiRoute, for the calls that need no token (register, login, common/time). */
export function publicRoute<B extends TSchema, R extends TSchema>(
  app: FastifyInstance,
  url: string,
  spec: ApiSpec<B, R>,
  handler: (ctx: { body: Static<B>; request: FastifyRequest }) => Promise<PublicAnswer<Static<R>>>,
): void {
  app.post(url, { schema: routeSchema(url, spec, false), preValidation: coerceFor(spec.body) }, async (request, reply) => {
    const answer = await handler({ body: request.body as Static<B>, request });
    return sendOk(reply, answer.result, answer.token ?? '');
  });
}

/**
 * The 6pan wire for every /v1 route of `app` (an encapsulated plugin): the caller is resolved
 * from wherever the gateway took a token, and an endpoint's errors answer HTTP 200 with the
 * status in the envelope — only a missing or bad token is HTTP 401, so clients that act on 401
 * (sign in again) still can. Unknown routes stay HTTP 404 (the root's not-found handler).
 */
export function installSixpanWire(app: FastifyInstance, users: UsersService): void {
  app.decorate('sessionAlive', async (token: string) => (await users.authenticate(token)) !== null);
  app.addHook('onRequest', async (request) => {
    const token = tokenOf(request.headers, request.query);
    if (!token) return;
    request.bearer = token;
    request.user = await users.authenticate(token);
  });
  // The gateway's last resort, a `token` field of the body, once the body has been read.
  app.addHook('preValidation', async (request) => {
    if (request.bearer) return;
    const token = tokenOfBody(request.body);
    if (!token) return;
    request.bearer = token;
    request.user = await users.authenticate(token);
  });
  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    const { code, message, status, details } = describeError(err, req);
    reply.code(code === 'UNAUTHORIZED' ? ERRORS.UNAUTHORIZED : 200).send(failure(status, code, message, details));
  });
}
