import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { contentTypeFor, parseRange } from '../files/byte-ranges.js';
import { LIVE_PATH_PREFIX, liveBytes, type TaskFileStreams, waitForLiveBytes } from '../offline/index.js';
import { Binary } from './openapi.js';
import { apiRoute } from './server.js';
import { FailureSchema, TaskFileAddressSchema } from './sixpan/schemas.js';

/** How long a request waits for the first bytes it asks for before giving up (503). */
const FIRST_BYTES_WAIT_MS = 60_000;
/** ... and for each further run of bytes while it streams. */
const NEXT_BYTES_WAIT_MS = 120_000;

const LIVE_FAILURE = Type.Union([FailureSchema], {
  description:
    '403 FORBIDDEN (altered or expired address), 404 TASK_NOT_FOUND / FILE_NOT_FOUND, 409 TASK_FILE_UNAVAILABLE (paused, waiting or failed), 503 SERVICE_UNAVAILABLE (no bytes in time)',
});

/** `POST /v1/offline/play`: an address to read (play) one of a task's files, before it is in the drive. */
export function registerTaskFileAddressRoute(app: FastifyInstance, streams: TaskFileStreams): void {
  apiRoute(
    app,
    '/v1/offline/play',
    {
      body: Type.Object({ taskId: Type.String(), index: Type.Integer({ minimum: 0, description: "The file's index, as in the task's `files`" }) }),
      result: TaskFileAddressSchema,
      summary: "An address to play or read one of a task's files while it downloads (and once it is in the drive)",
    },
    ({ user, body }) => streams.address(user.id, body.taskId, body.index),
  );
}

/**
 * `/live/<token>/<name>`: the signed address of a task's file. While the file downloads, the
 * bytes asked for (one range) are served as they arrive; once it is in the drive, 307 to its
 * download address.
 */
export function registerLiveFileRoutes(app: FastifyInstance, streams: TaskFileStreams): void {
  app.get(
    `${LIVE_PATH_PREFIX}*`,
    {
      schema: {
        summary: "A signed address of a downloading task's file (`<token>/<name>`), ranged",
        tags: ['offline'],
        security: [],
        response: {
          200: { description: 'The bytes, as they arrive', content: { 'application/octet-stream': { schema: Binary } } },
          '4xx': LIVE_FAILURE,
          '5xx': LIVE_FAILURE,
        },
      },
    },
    async (request, reply) => {
      const rest = request.url.slice(request.url.indexOf(LIVE_PATH_PREFIX) + LIVE_PATH_PREFIX.length).split('?')[0];
      const [token, name, ...more] = rest.split('/');
      if (name === undefined || more.length > 0) throw new AppError('NOT_FOUND', 'No such address.');
      const target = await streams.target(token);
      if (target.kind === 'drive') return reply.code(307).header('Location', target.address).header('Cache-Control', 'private, no-store').send();

      const range = parseRange(request.headers.range, target.size);
      if (range.kind === 'unsatisfiable') {
        throw new AppError('RANGE_NOT_SATISFIABLE', `The requested range is outside the file (${target.size} bytes).`);
      }
      const span = range.kind === 'partial' ? range : { start: 0, end: target.size - 1 };
      const gone = new AbortController();
      request.raw.once('close', () => gone.abort());
      // The first bytes before the headers: a paused task or a silent swarm answers with an error, not an empty 200.
      if (target.size > 0) await waitForLiveBytes(target, span.start, gone.signal, FIRST_BYTES_WAIT_MS);
      reply
        .header('Content-Type', contentTypeFor(target.name))
        .header('Accept-Ranges', 'bytes')
        .header('Cache-Control', 'private, no-store')
        .header('Content-Security-Policy', "default-src 'none'; sandbox")
        .header('Content-Length', span.end - span.start + 1);
      if (range.kind === 'partial') reply.code(206).header('Content-Range', `bytes ${span.start}-${span.end}/${target.size}`);
      if (request.method === 'HEAD' || target.size === 0) return reply.send();
      return reply.send(Readable.from(liveBytes(target, span, gone.signal, NEXT_BYTES_WAIT_MS)));
    },
  );
}
