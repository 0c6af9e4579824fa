import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Static, TSchema } from '@sinclair/typebox';
import { AppError, ERRORS, isAppError, type ErrorCode } from '../errors.js';
import type { AuthenticatedUser, UsersService } from '../users/users.service.js';
import { failure, ok } from '../envelope.js';
import { installSecurityHeaders } from './security-headers.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthenticatedUser | null;
    bearer: string;
  }
  interface FastifyContextConfig {
    /** The route also takes the token as `?token=` (EventSource cannot send headers). */
    tokenInQuery?: boolean;
  }
}

export interface HttpServerOptions {
  logLevel: string;
  /** Largest JSON body, bytes. */
  bodyLimit?: number;
}

/** Reads the caller's token: `Bearer <t>`, or a bare `<t>` as old 6pan clients send it. */
export function bearerFrom(header: string | undefined): string {
  if (!header) return '';
  const trimmed = header.trim();
  const m = /^Bearer\s+(.+)$/i.exec(trimmed);
  return (m ? m[1] : trimmed).trim();
}

function validationMessage(err: FastifyError): string {
  const v = err.validation?.[0];
  if (!v) return err.message;
  const field = v.instancePath ? v.instancePath.slice(1).replace(/\//g, '.') : (v.params as { missingProperty?: string }).missingProperty;
  return field ? `Field "${field}" ${v.message ?? 'is invalid'}.` : `Request body ${v.message ?? 'is invalid'}.`;
}

function sendError(reply: FastifyReply, code: ErrorCode, message: string, status: number = ERRORS[code]): void {
  reply.code(status).send(failure(status, code, message));
}

export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    logger: {
      level: options.logLevel,
      // Tokens travel in headers and query strings: never write them to the log.
      redact: ['req.headers.authorization', 'req.headers.cookie'],
      serializers: {
        req: (req) => ({ method: req.method, url: req.url.replace(/([?&]token=)[^&]*/g, '$1[redacted]') }),
      },
    },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
    trustProxy: false,
  });

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

  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (isAppError(err)) {
      if (err.status >= 500) req.log.error({ err }, err.message);
      return sendError(reply, err.code, err.message, err.status);
    }
    const fe = err as FastifyError;
    if (fe.validation) return sendError(reply, 'BAD_REQUEST', validationMessage(fe));
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 'PAYLOAD_TOO_LARGE', 'The request body is too large.');
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return sendError(reply, 'BAD_REQUEST', fe.message);
    req.log.error({ err }, 'unhandled error');
    return sendError(reply, 'INTERNAL_ERROR', 'Something went wrong on the server; it has been logged.');
  });

  app.setNotFoundHandler((req, reply) => sendError(reply, 'NOT_FOUND', `No such endpoint: ${req.method} ${req.url.split('?')[0]}.`));

  installSecurityHeaders(app);

  return app;
}

/** Refuses the request before its body is looked at: no token, no information about fields. */
export async function requireUser(request: FastifyRequest): Promise<void> {
  if (!request.user) throw new AppError('UNAUTHORIZED', 'A valid token is required: send "Authorization: Bearer <token>".');
}

export interface ApiContext<B> {
  body: B;
  user: AuthenticatedUser;
  token: string;
  request: FastifyRequest;
}

/**
 * Registers `POST /v1/...` answering in the 6pan envelope. Handlers are thin: the schema
 * validates, the handler calls the domain, the envelope wraps the result.
 */
export function apiRoute<S extends TSchema, R>(
  app: FastifyInstance,
  url: string,
  schema: S,
  handler: (ctx: ApiContext<Static<S>>) => Promise<R>,
): void {
  app.post(url, { schema: { body: schema }, preValidation: requireUser }, async (request, reply) => {
    const result = await handler({ body: request.body as Static<S>, user: request.user!, token: request.bearer, request });
    return reply.send(ok(result, request.bearer));
  });
}

/** Like apiRoute, for the calls that need no token (register, login). */
export function publicRoute<S extends TSchema, R>(
  app: FastifyInstance,
  url: string,
  schema: S,
  handler: (ctx: { body: Static<S>; request: FastifyRequest }) => Promise<R & { token?: string }>,
): void {
  app.post(url, { schema: { body: schema } }, async (request, reply) => {
    const result = await handler({ body: request.body as Static<S>, request });
    return reply.send(ok(result, result && typeof result === 'object' && 'token' in result ? String(result.token) : ''));
  });
}

/** Resolves the caller from the Authorization header for every /v1 route. */
export function installAuth(app: FastifyInstance, users: UsersService): void {
  app.addHook('onRequest', async (request) => {
    let token = bearerFrom(request.headers.authorization);
    if (!token && request.routeOptions.config.tokenInQuery) {
      const fromQuery = (request.query as Record<string, unknown> | undefined)?.token;
      if (typeof fromQuery === 'string') token = fromQuery.trim();
    }
    if (!token) return;
    request.bearer = token;
    request.user = await users.authenticate(token);
  });
}
