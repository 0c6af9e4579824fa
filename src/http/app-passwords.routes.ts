import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import type { AppPasswords } from '../users/app-passwords.js';
import { apiRoute } from './server.js';
import { AppPasswordSchema, CreatedAppPasswordSchema } from './sixpan/schemas.js';

const Name = Type.Object({ name: Type.Optional(Type.String()) });
const Id = Type.Object({ id: Type.Optional(Type.Integer()) });
const Any = Type.Object({});

/** `/v1/user/appPassword/*`: the caller's passwords for WebDAV and the qBittorrent API. */
export function registerAppPasswordRoutes(app: FastifyInstance, appPasswords: AppPasswords): void {
  apiRoute(
    app,
    '/v1/user/appPassword/create',
    {
      body: Name,
      result: CreatedAppPasswordSchema,
      summary: 'Makes an app password for WebDAV and the qBittorrent API (the password is in this answer only)',
    },
    async ({ user, body }) => {
      if (body.name === undefined) throw new AppError('BAD_REQUEST', 'Field "name" is required.');
      const created = await appPasswords.create(user.id, body.name);
      return { id: created.id, name: created.name, password: created.password, createTime: created.createdAt };
    },
  );
  apiRoute(
    app,
    '/v1/user/appPassword/list',
    { body: Any, result: Type.Array(AppPasswordSchema), summary: "The caller's app passwords, without the passwords" },
    async ({ user }) => (await appPasswords.list(user.id)).map((p) => ({ id: p.id, name: p.name, createTime: p.createdAt, lastUseTime: p.lastUsedAt })),
  );
  apiRoute(
    app,
    '/v1/user/appPassword/remove',
    { body: Id, result: Type.Literal(true), summary: "Revokes one of the caller's app passwords (NOT_FOUND when it has no such one)" },
    async ({ user, body }) => {
      if (body.id === undefined) throw new AppError('BAD_REQUEST', 'Field "id" is required.');
      await appPasswords.remove(user.id, body.id);
      return true as const;
    },
  );
}
