import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { apiRoute, requireUser } from '../http/server.js';
import type { OfflineService, TaskStreamEvent } from './offline.service.js';

const Str = Type.String();
const TaskIds = Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 1000 })]);
const Int = (opts: { minimum?: number } = {}) => Type.Optional(Type.Integer(opts));
const Order = Type.Optional(Type.Union([Type.Literal(1), Type.Literal(-1)]));
const Flag = Type.Optional(Type.Union([Type.Boolean(), Type.Integer(), Type.String()]));

const ParseTorrent = Type.Object({ uuid: Type.Optional(Str), path: Type.Optional(Str) });
const Start = Type.Object({
  taskHash: Str,
  files: Type.Optional(Type.Union([Type.String(), Type.Array(Type.Union([Type.Integer({ minimum: 0 }), Type.String()]), { maxItems: 100_000 }), Type.Null()])),
  savePath: Type.Optional(Type.Union([Str, Type.Null()])),
  saveUuid: Type.Optional(Type.Union([Str, Type.Null()])),
  name: Type.Optional(Type.Union([Str, Type.Null()])),
});
const ParseUrl = Type.Object({ url: Type.String({ maxLength: 1024 * 1024 }), password: Type.Optional(Type.String()) });
const ParseMagnet = Type.Object({ url: Type.String({ maxLength: 64 * 1024 }) });
const Empty = Type.Object({});
const Page = Type.Object({ page: Int({ minimum: 1 }), pageSize: Int({ minimum: 1 }), order: Order });
const List = Type.Object({ start: Int({ minimum: 0 }), size: Int({ minimum: 1 }), order: Order });
const Get = Type.Object({ taskId: Str });
const Remove = Type.Object({ taskId: TaskIds, deleteFiles: Flag });
const Ids = Type.Object({ taskId: TaskIds });

function truthy(v: boolean | number | string | undefined): boolean {
  return v === true || v === 1 || v === '1' || (typeof v === 'string' && v.toLowerCase() === 'true');
}

/** `/v1/offline/*` (API.md, Offline download): thin handlers over OfflineService. */
export function registerOfflineRoutes(app: FastifyInstance, offline: OfflineService): void {
  apiRoute(app, '/v1/offline/parseTorrent', ParseTorrent, ({ user, body }) => offline.parseTorrent(user.id, body));
  apiRoute(app, '/v1/offline/start', Start, ({ user, body }) => offline.start(user.id, body));
  apiRoute(app, '/v1/offline/page', Page, ({ user, body }) => offline.page(user.id, body));
  apiRoute(app, '/v1/offline/list', List, ({ user, body }) => offline.list(user.id, body));
  apiRoute(app, '/v1/offline/get', Get, ({ user, body }) => offline.get(user.id, body.taskId));
  apiRoute(app, '/v1/offline/remove', Remove, ({ user, body }) => offline.remove(user.id, body.taskId, truthy(body.deleteFiles)));
  apiRoute(app, '/v1/offline/pause', Ids, ({ user, body }) => offline.pause(user.id, body.taskId));
  apiRoute(app, '/v1/offline/resume', Ids, ({ user, body }) => offline.resume(user.id, body.taskId));
  apiRoute(app, '/v1/offline/parseUrl', ParseUrl, ({ user, body }) => offline.parseUrl(user.id, body.url));
  apiRoute(app, '/v1/offline/parseMagnet', ParseMagnet, ({ user, body }) => offline.parseMagnet(user.id, body.url));
  apiRoute(app, '/v1/offline/quota', Empty, ({ user }) => offline.quota(user.id));
  registerEventStream(app, offline);
}

/** Keep-alive comments keep proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

function sseFrame(e: TaskStreamEvent): string {
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/** `GET /v1/offline/events`: the caller's task changes as Server-Sent Events. */
function registerEventStream(app: FastifyInstance, offline: OfflineService): void {
  app.get('/v1/offline/events', { preValidation: requireUser, config: { tokenInQuery: true } }, (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
      // Tells nginx-style proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 3000\n: ${request.user!.name}\n\n`);
    const stop = offline.watch(request.user!.id, (e) => res.write(sseFrame(e)));
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    keepAlive.unref();
    res.on('close', () => {
      clearInterval(keepAlive);
      stop();
    });
  });
}
