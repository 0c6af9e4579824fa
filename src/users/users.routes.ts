import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { apiRoute, publicRoute } from '../http/server.js';
import { LoginThrottled } from './login-limiter.js';
import type { UsersService } from './users.service.js';

const Credentials = Type.Object({ name: Type.String(), password: Type.String() });
const Empty = Type.Object({});

export function registerUserRoutes(app: FastifyInstance, users: UsersService): void {
  publicRoute(app, '/v1/user/register', Credentials, ({ body }) => users.register(body.name, body.password));
  publicRoute(app, '/v1/user/login', Credentials, ({ body, request }) => users.login(body.name, body.password, request.ip));
  app.addHook('onError', async (_request, reply, err) => {
    if (err instanceof LoginThrottled) reply.header('Retry-After', String(err.retryAfterSeconds));
  });
  apiRoute(app, '/v1/user/logout', Empty, async ({ token }) => {
    await users.logout(token);
    return true;
  });
  // The token check already read the account in this request: no second query.
  apiRoute(app, '/v1/user/info', Empty, async ({ user }) => user.view);
}
