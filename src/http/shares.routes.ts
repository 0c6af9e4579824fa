import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import type { SharesService } from '../shares/shares.service.js';
import { apiRoute, publicRoute } from './server.js';
import { DownloadLinkSchema, OpenedShareSchema, SharePageSchema, ShareSchema } from './sixpan/schemas.js';

const Str = Type.String();
const OptStr = Type.Optional(Str);
const OneOrMany = Type.Union([Type.String(), Type.Array(Type.String())]);
const OptInt = Type.Optional(Type.Integer());

const Create = Type.Object({
  uuid: Type.Optional(OneOrMany),
  path: Type.Optional(OneOrMany),
  code: OptStr,
  withCode: Type.Optional(Type.Boolean()),
  expiresIn: OptInt,
  maxDownloads: OptInt,
  title: OptStr,
});
const ListBody = Type.Object({ page: OptInt, pageSize: OptInt });
const Remove = Type.Object({ id: OneOrMany });
const Visit = { id: Str, access: OptStr };
const Open = Type.Object({ id: Str, code: OptStr, access: OptStr });
const Browse = Type.Object({ ...Visit, uuid: OptStr, path: OptStr, page: OptInt, pageSize: OptInt });
const Download = Type.Object({ ...Visit, uuid: Str });
const Zip = Type.Object({ ...Visit, uuid: Type.Optional(OneOrMany) });
const Save = Type.Object({ ...Visit, uuid: Type.Optional(OneOrMany), parent: OptStr, destPath: OptStr });

function listOf(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Share links: the owner's calls need a session; a visitor's (open, browse, download, zip) do not; save does. */
export function registerShareRoutes(app: FastifyInstance, shares: SharesService): void {
  apiRoute(
    app,
    '/v1/share/create',
    {
      body: Create,
      result: ShareSchema,
      summary: 'Shares entries (`uuid` and/or `path`: a file, a folder, a selection) by a link',
      description:
        'Optional: `code` (4–16 letters and digits) or `withCode: true` for a random 4-character extraction code; `expiresIn` seconds; `maxDownloads`; `title`.',
    },
    async ({ user, body }) =>
      shares.create(user.id, {
        uuids: listOf(body.uuid),
        paths: listOf(body.path),
        code: body.code,
        withCode: body.withCode,
        expiresIn: body.expiresIn,
        maxDownloads: body.maxDownloads,
        title: body.title,
      }),
  );
  apiRoute(
    app,
    '/v1/share/list',
    {
      body: ListBody,
      result: Type.Object({ list: Type.Array(ShareSchema), page: Type.Integer(), pageSize: Type.Integer(), totalCount: Type.Integer() }),
      summary: "A page of the caller's shares, newest first, with their views and downloads",
    },
    async ({ user, body }) => shares.list(user.id, body.page, body.pageSize),
  );
  apiRoute(
    app,
    '/v1/share/remove',
    { body: Remove, result: Type.Integer({ description: 'How many shares were removed' }), summary: "Removes the caller's shares (`id`, one or many)" },
    async ({ user, body }) => shares.remove(user.id, listOf(body.id)),
  );

  publicRoute(
    app,
    '/v1/share/open',
    {
      body: Open,
      result: OpenedShareSchema,
      summary: 'Opens a share (no account needed): its entries, and an `access` for the next calls',
      description: 'A share with an extraction code needs `code` (SHARE_CODE_REQUIRED, SHARE_CODE_WRONG; too many wrong: TOO_MANY_REQUESTS). Counts a view.',
    },
    async ({ body, request }) => ({ result: await shares.open(body.id, { code: body.code, access: body.access, ip: request.ip }) }),
  );
  publicRoute(
    app,
    '/v1/share/browse',
    {
      body: Browse,
      result: SharePageSchema,
      summary: 'A page of a folder of a share: `uuid`, or `path` from the share\'s top ("/Photos/2024"); neither: the top',
    },
    async ({ body }) => ({ result: await shares.browse(body.id, body.access ?? '', body) }),
  );
  publicRoute(
    app,
    '/v1/share/download',
    { body: Download, result: DownloadLinkSchema, summary: "A file's download address (GET /dl/...), counted as a download of the share" },
    async ({ body }) => ({ result: await shares.download(body.id, body.access ?? '', body.uuid) }),
  );
  publicRoute(
    app,
    '/v1/share/zip',
    {
      body: Zip,
      result: DownloadLinkSchema,
      summary: 'A zip download address (GET /zip/...) of entries of a share (`uuid`; none: the whole share), counted as a download',
    },
    async ({ body }) => ({ result: await shares.zip(body.id, body.access ?? '', listOf(body.uuid)) }),
  );
  apiRoute(
    app,
    '/v1/share/save',
    {
      body: Save,
      result: Type.Array(Str, { description: 'The names the entries got' }),
      summary: "Saves entries of a share (`uuid`; none: all of it) into the caller's drive: no bytes copied, space charged to the caller",
      description: 'The destination: `parent` (a uuid) or `destPath` (created when missing); default the root. Taken names get a number.',
    },
    async ({ user, body }) => {
      if (body.parent !== undefined && body.destPath !== undefined) throw new AppError('BAD_REQUEST', 'Name the destination once: "parent" or "destPath".');
      const dest = body.parent ? { uuid: body.parent } : { path: body.destPath ?? '/' };
      return shares.saveToDrive(body.id, body.access ?? '', user.id, listOf(body.uuid), dest);
    },
  );
}
