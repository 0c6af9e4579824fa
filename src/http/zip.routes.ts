import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import type { FilesService } from '../files/files.service.js';
import type { BlobStore } from '../store/blob-store.js';
import { ZIP_PATH_PREFIX, archiveName, archivePlan, type ZipLinks } from '../zip/zip-links.js';
import { zipBytes } from '../zip/zip-writer.js';
import { contentDisposition } from './download.routes.js';
import { Binary } from './openapi.js';
import { apiRoute } from './server.js';
import { DownloadLinkSchema, FailureSchema } from './sixpan/schemas.js';

/** Entries one zip may name (as files/move and files/remove). */
const MAX_ENTRIES = 10_000;
const OneOrMany = Type.Union([Type.String(), Type.Array(Type.String())]);
const ZipBody = Type.Object({
  uuid: Type.Optional(OneOrMany),
  path: Type.Optional(OneOrMany),
  name: Type.Optional(Type.String({ description: 'The archive\'s file name (".zip" is added); default: the one entry\'s name, else a dated name' })),
});

function listOf(v: string | string[] | undefined): string[] {
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  if (list.length > MAX_ENTRIES) throw new AppError('BAD_REQUEST', `A zip names at most ${MAX_ENTRIES.toLocaleString('en')} entries.`);
  return list;
}

export interface ZipRouteDeps {
  files: FilesService;
  store: BlobStore;
  links: ZipLinks;
  /**
   * For an address a visitor took through a share: the paths the share still gives (its
   * entries as they are now), or null when the share no longer opens.
   */
  shareScope: (shareId: string) => Promise<string[] | null>;
}

/** `POST /v1/files/zip`: a zip download address for the caller's entries. */
export function registerZipRoutes(app: FastifyInstance, files: FilesService, links: ZipLinks): void {
  apiRoute(
    app,
    '/v1/files/zip',
    {
      body: ZipBody,
      result: DownloadLinkSchema,
      summary: 'A download address (GET /zip/...) of a zip of entries (`uuid` and/or `path`: a folder, a selection; "/" the whole drive)',
      description:
        'The archive is built as it is downloaded: entries are stored (not compressed), names are UTF-8, ZIP64 past 4 GiB or 65,535 entries. ' +
        'It holds what the entries hold when it is downloaded; the address expires like a /dl address.',
    },
    async ({ user, body }) => {
      const refs = [...listOf(body.uuid).map((uuid) => ({ uuid })), ...listOf(body.path).map((path) => ({ path }))];
      if (refs.length === 0) throw new AppError('BAD_REQUEST', 'Name at least one entry in "uuid" or "path".');
      const entries = [];
      for (const ref of refs) entries.push(await files.get(user.id, ref));
      const name = body.name?.trim() || archiveName(entries.map((e) => e.name));
      return links.create({ userId: user.id, uuids: entries.map((e) => e.uuid), name });
    },
  );
}

const ZIP_SCHEMA = {
  summary: 'Downloads a zip by its address (files/zip, share/zip)',
  description:
    'The path is `<id>/<url-encoded name>`; the address authorises itself. The archive streams as it is built; `Content-Length` is exact. No ranges.',
  tags: ['download'],
  security: [],
  response: {
    200: { description: 'The archive', content: { 'application/zip': { schema: Binary } } },
    '4xx': Type.Union([FailureSchema], { description: '403 FORBIDDEN (unknown or expired address), 404 FILE_NOT_FOUND, SHARE_NOT_FOUND' }),
  },
};

/** Adds `GET`/`HEAD` `/zip/...`. */
export function registerZipDownloadRoutes(app: FastifyInstance, deps: ZipRouteDeps): void {
  app.route({
    method: ['GET', 'HEAD'],
    url: `${ZIP_PATH_PREFIX}*`,
    schema: ZIP_SCHEMA,
    handler: async (request, reply) => {
      const link = await deps.links.resolve(request.url);
      let scope: string[] | undefined;
      if (link.shareId !== null) {
        const paths = await deps.shareScope(link.shareId);
        if (paths === null) throw new AppError('SHARE_NOT_FOUND', 'This share was removed or has expired.');
        scope = paths;
      }
      const items = await deps.files.archiveItems(link.userId, link.uuids, scope);
      if (items.length === 0) throw new AppError('FILE_NOT_FOUND', 'Nothing this zip named exists any more.');
      const plan = archivePlan(items, (etag) => deps.store.read(etag));
      reply
        .header('Content-Type', 'application/zip')
        .header('Content-Disposition', contentDisposition(link.name))
        .header('Content-Security-Policy', "default-src 'none'; sandbox")
        .header('Cache-Control', 'private, no-store')
        .header('Content-Length', plan.size);
      if (request.method === 'HEAD') return reply.send();
      // Pulled as the client reads: one chunk of content in memory at a time. A failure
      // midway (content gone) ends the connection short of Content-Length: the client sees it.
      const body = Readable.from(zipBytes(plan), { objectMode: false });
      body.on('error', (err) => request.log.warn({ err }, 'zip download ended early'));
      return reply.send(body);
    },
  });
}
