import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { apiRoute, requireUser, SESSION_SECURITY } from './server.js';
import { FailureSchema, MediaPreviewSchema, NoPreviewSchema, PreviewSchema } from './sixpan/schemas.js';
import type { DownloadLinks } from '../files/download-links.js';
import { FILE } from '../files/file-object.js';
import type { FilesService } from '../files/files.service.js';

const Ref = Type.Object({ uuid: Type.Optional(Type.String()), path: Type.Optional(Type.String()) });
/** Which files each preview shows; others have no preview, answered `{}` as the gateway did. */
const PREVIEW_KINDS = {
  image: (mime: string) => mime.startsWith('image/'),
  pdf: (mime: string) => mime === 'application/pdf',
  text: (mime: string) => mime.startsWith('text/') || mime === 'application/json' || mime === 'application/xml',
  audio: (mime: string) => mime.startsWith('audio/'),
  media: (mime: string) => mime.startsWith('video/') || mime.startsWith('audio/'),
} as const;

/**
 * 6pan's previews, answered from what openpan has: the file's own signed address, under the
 * gateway's names for it (`downloadAddress`, `url`, `address`). For media, `preview` lists the
 * playable renditions; until openpan transcodes, that is one entry, the original file.
 */
export function registerPreviewRoutes(app: FastifyInstance, files: FilesService, links: DownloadLinks): void {
  for (const [kind, shows] of Object.entries(PREVIEW_KINDS)) {
    const result = Type.Union([kind === 'media' ? MediaPreviewSchema : PreviewSchema, NoPreviewSchema]);
    const summary = `The ${kind} preview of a file (\`uuid\`, else \`path\`): its own signed address; {} for a file of another kind`;
    apiRoute(app, `/v1/preview/${kind}`, { body: Ref, result, summary }, async ({ user, body }) => {
      const file = await files.get(user.id, body);
      if (file.type !== FILE) throw new AppError('IS_A_DIRECTORY', `"${file.path}" is a directory; only files have previews.`);
      if (!shows(file.mime)) return {};
      const { downloadAddress, expires } = links.forFile(file);
      const base = {
        uuid: file.uuid,
        name: file.name,
        hash: file.storeId,
        storeId: file.storeId,
        mime: file.mime,
        size: file.size,
        downloadAddress,
        url: downloadAddress,
        address: downloadAddress,
        expires,
      };
      if (kind !== 'media') return base;
      return { ...base, preview: [{ url: downloadAddress, mime: file.mime, size: file.size, duration: 0, resolution: 0, original: true }] };
    });
  }
  // The gateway's HLS playlist of a transcoded rendition: openpan has none yet, and says so in
  // the gateway's words and way (a plain text answer).
  const plainText = (summary: string) => ({
    summary,
    tags: ['preview'],
    security: SESSION_SECURITY,
    response: {
      200: { description: 'Plain text', content: { 'text/plain': { schema: Type.String() } } },
      401: Type.Union([FailureSchema], { description: 'UNAUTHORIZED: no valid session token' }),
    },
  });
  app.get(
    '/v1/preview/play/:fileId/:index/index.m3u8',
    { schema: plainText("6pan's HLS playlist: a sentence saying the file cannot be streamed yet"), preValidation: requireUser },
    async (_request, reply) => reply.type('text/plain; charset=utf-8').send('This file cannot be viewed as a stream yet; play its download address.'),
  );
  app.get('/v1/preview/hlsKey/:hlsKey', { schema: plainText("6pan's HLS key: empty"), preValidation: requireUser }, async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send(''),
  );
}
