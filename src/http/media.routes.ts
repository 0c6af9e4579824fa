import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../errors.js';
import { AUDIO_CODECS, BASELINE_SUPPORT, VIDEO_CODECS } from '../media/decision.js';
import type { MediaService } from '../media/media.service.js';
import { Binary } from './openapi.js';
import { apiRoute } from './server.js';
import { FailureSchema, MediaInfoSchema } from './sixpan/schemas.js';

const Codecs = (names: readonly string[]) =>
  Type.Optional(Type.Array(Type.String({ maxLength: 16 }), { maxItems: 32, description: `Of ${names.join(', ')}: what the browser reports it decodes` }));
const InfoBody = Type.Object({
  uuid: Type.Optional(Type.String()),
  path: Type.Optional(Type.String()),
  video: Codecs(VIDEO_CODECS),
  audio: Codecs(AUDIO_CODECS),
});

const MEDIA_FAILURE = Type.Union([FailureSchema], {
  description: '403 FORBIDDEN (altered or expired address), 404 FILE_NOT_FOUND / NOT_FOUND, 503 SERVICE_UNAVAILABLE (no ffmpeg, or busy)',
});
const mediaSchema = (summary: string, type: string) => ({
  summary,
  tags: ['media'],
  security: [],
  response: {
    200: { description: summary, content: { [type]: { schema: type.startsWith('video') ? Binary : Type.String() } } },
    '4xx': MEDIA_FAILURE,
    '5xx': MEDIA_FAILURE,
  },
});
const SEGMENT_RE = /^(\d{5})\.ts$/;

async function sendFile(reply: FastifyReply, path: string, type: string, maxAgeSeconds: number): Promise<FastifyReply> {
  const { size } = await stat(path);
  return reply
    .type(type)
    .header('Content-Length', size)
    .header('Cache-Control', `private, max-age=${maxAgeSeconds}`)
    .header('Content-Security-Policy', "default-src 'none'; sandbox")
    .send(createReadStream(path));
}

/**
 * `POST /v1/media/info` (a session's call: how to play a file) and the signed stream addresses
 * it hands out, `/media/<token>/…`, which authorise themselves like /dl addresses do: the HLS
 * playlist, its segments and WebVTT subtitles.
 */
export function registerMediaInfoRoute(app: FastifyInstance, media: MediaService): void {
  apiRoute(
    app,
    '/v1/media/info',
    {
      body: InfoBody,
      result: MediaInfoSchema,
      summary: 'How the browser plays a video or audio file (`uuid`, else `path`): directly, as HLS made by ffmpeg, or not without ffmpeg; with its subtitles',
    },
    async ({ user, body }) => {
      const support = {
        video: body.video ?? BASELINE_SUPPORT.video,
        audio: body.audio ?? BASELINE_SUPPORT.audio,
      };
      return media.info(user.id, body, support);
    },
  );
}

export function registerThumbnailsRoute(app: FastifyInstance, media: MediaService): void {
  apiRoute(
    app,
    '/v1/media/thumbnails',
    {
      body: Type.Object({ uuid: Type.Optional(Type.String()), path: Type.Optional(Type.String()) }),
      result: Type.Record(Type.String(), Type.String(), { description: "Signed thumbnail addresses of the folder's images and videos, by file uuid" }),
      summary: "Thumbnail addresses of a folder's images and videos (`uuid`, else `path`; its first 999 files)",
    },
    async ({ user, body }) => media.thumbnails(user.id, body),
  );
}

export function registerMediaStreamRoutes(app: FastifyInstance, media: MediaService): void {
  // A wildcard, not params: a token is longer than the router's parameter length limit.
  app.get(
    '/media/*',
    {
      schema: mediaSchema(
        'A signed media address: `<token>/index.m3u8` (HLS playlist), `<token>/00000.ts`… (its segments), `<token>/subtitle.vtt`, `<token>/thumbnail.jpg`',
        'video/mp2t',
      ),
    },
    async (request, reply) => {
      const rest = request.url.slice(request.url.indexOf('/media/') + '/media/'.length).split('?')[0];
      const [token, part, ...more] = rest.split('/');
      if (part === undefined || more.length > 0) throw new AppError('NOT_FOUND', 'No such part of this stream.');
      const claims = await media.claimsOf(token);
      const maxAge = Math.max(0, Math.floor((claims.expires - Date.now()) / 1000));
      if (part === 'index.m3u8') {
        return reply
          .type('application/vnd.apple.mpegurl')
          .header('Cache-Control', 'private, no-cache')
          .header('Content-Security-Policy', "default-src 'none'; sandbox")
          .send(media.playlist(claims));
      }
      if (part === 'thumbnail.jpg') return sendFile(reply, await media.thumbnail(claims), 'image/jpeg', maxAge);
      if (part === 'subtitle.vtt') return sendFile(reply, await media.subtitle(claims), 'text/vtt; charset=utf-8', maxAge);
      const m = SEGMENT_RE.exec(part);
      if (!m) throw new AppError('NOT_FOUND', 'No such part of this stream.');
      return sendFile(reply, await media.segment(claims, Number(m[1])), 'video/mp2t', maxAge);
    },
  );
}
