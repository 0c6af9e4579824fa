import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { apiRoute } from '../http/server.js';
import type { OfflineService } from './offline.service.js';

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
}
