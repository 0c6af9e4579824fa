import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { apiRoute } from './server.js';
import { sixpanFiles } from './sixpan/answers.js';
import { BinPageSchema, FileListSchema } from './sixpan/schemas.js';
import type { FilesService } from '../files/files.service.js';

/** Entries one restore or purge may name. */
const MAX_ENTRIES = 10_000;
const Uuids = Type.Union([Type.String(), Type.Array(Type.String())]);
const Page = Type.Object({ page: Type.Optional(Type.Integer()), pageSize: Type.Optional(Type.Integer()) });
const Entries = Type.Object({ uuid: Uuids });

function uuidsOf(v: string | string[]): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length > MAX_ENTRIES) throw new AppError('BAD_REQUEST', `Field "uuid" names ${list.length} entries; one call takes at most ${MAX_ENTRIES}.`);
  return list;
}

/** The caller's recycle bin: what files/remove put there, listed, restored or deleted for good. */
export function registerRecycleRoutes(app: FastifyInstance, files: FilesService): void {
  apiRoute(
    app,
    '/v1/recycle/page',
    {
      body: Page,
      result: BinPageSchema,
      summary: 'A page of the recycle bin, the most recently removed first',
      description: '`page` from 1, `pageSize` default 100, at most 999. `totalSize`: bytes still charged to the user until purged.',
    },
    ({ user, body }) => files.binPage(user.id, { page: body.page, pageSize: body.pageSize !== undefined && body.pageSize > 0 ? body.pageSize : undefined }),
  );
  apiRoute(
    app,
    '/v1/recycle/restore',
    {
      body: Entries,
      result: FileListSchema,
      summary: 'Puts bin entries (`uuid`, one or a list) back where they were, all or nothing',
      description: 'Missing parent directories are created again; a name taken there meanwhile gets a number ("a (1).txt"). Answers the restored entries.',
    },
    async ({ user, body }) => sixpanFiles(await files.restore(user.id, uuidsOf(body.uuid))),
  );
  apiRoute(
    app,
    '/v1/recycle/purge',
    { body: Entries, result: Type.Literal(true), summary: 'Deletes bin entries (`uuid`, one or a list) for good, freeing their space' },
    async ({ user, body }) => {
      await files.purge(user.id, uuidsOf(body.uuid));
      return true as const;
    },
  );
  apiRoute(
    app,
    '/v1/recycle/clear',
    { body: Type.Object({}), result: Type.Object({ purged: Type.Integer() }), summary: 'Empties the recycle bin, freeing its space' },
    async ({ user }) => ({ purged: await files.clearBin(user.id) }),
  );
}
