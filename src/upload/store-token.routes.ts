import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { apiRoute } from '../http/server.js';
import type { StoreTokenService } from './store-token.js';

const OptionalText = Type.Optional(Type.Union([Type.String(), Type.Null()]));

const StoreToken = Type.Object({
  name: Type.String(),
  hash: OptionalText,
  parent: OptionalText,
  path: OptionalText,
  override: Type.Optional(Type.Union([Type.Boolean(), Type.Integer(), Type.String(), Type.Null()])),
  size: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
});

export function registerStoreTokenRoutes(app: FastifyInstance, service: StoreTokenService): void {
  apiRoute(app, '/v1/store/token', StoreToken, ({ user, body }) => service.issue(user.id, body));
}
