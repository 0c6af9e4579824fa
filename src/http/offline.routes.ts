import { Type, type Static } from '@sinclair/typebox';
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { apiRoute, requireUser, SESSION_SECURITY } from './server.js';
import { sixpanParse, sixpanParseLine, sixpanTask } from './sixpan/answers.js';
import {
  CopyFileSchema,
  FailureSchema,
  OfflineStartSchema,
  OfflineStartSelectionSchema,
  ParseResultSchema,
  ParseUrlResultSchema,
  QuotaSchema,
  TaskDetailSchema,
  TaskPageSchema,
  TaskRangeSchema,
  TaskSchema,
} from './sixpan/schemas.js';
import { isOn } from './sixpan/input.js';
import type { OfflineService, TaskStreamEvent } from '../offline/index.js';

const Str = Type.String();
const TaskIds = Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 1000 })]);
const Int = (opts: { minimum?: number } = {}) => Type.Optional(Type.Integer(opts));
/** -1 oldest first; anything else (1, 6pan's default 0) newest first. */
const Order = Type.Optional(Type.Integer());
const Flag = Type.Optional(Type.Union([Type.Boolean(), Type.Integer(), Type.String()]));

const ParseTorrent = Type.Object({ uuid: Type.Optional(Str), path: Type.Optional(Str) });
const Selection = OfflineStartSelectionSchema;
type StartSelection = Static<typeof Selection>;
const Start = OfflineStartSchema;
const CopyFile = CopyFileSchema;
const ParseUrl = Type.Object({ url: Type.String({ maxLength: 1024 * 1024 }), password: Type.Optional(Type.String()) });
const ParseMagnet = Type.Object({ url: Type.String({ maxLength: 64 * 1024 }) });
const Empty = Type.Object({});
const Page = Type.Object({ page: Int(), pageSize: Int(), order: Order });
const List = Type.Object({ start: Int(), size: Int(), order: Order });
const Get = Type.Object({ taskId: Str });
const Remove = Type.Object({ taskId: TaskIds, deleteFiles: Flag, permanent: Flag });
const Ids = Type.Object({ taskId: TaskIds });
const Edit = Type.Object({ taskId: Str, copyFile: CopyFile, files: Selection });
const True = Type.Literal(true);
const SELECTION_DOC =
  '`files`: "*", "0,2,5" or [0, 2, 5]; without it `copyFile` (6pan\'s name, which may be the text of a JSON array with nulls for unchecked files); none: every file.';

/**
 * 6pan's `copyFile`: `"*"`, indices, or the text of a JSON array of them (`'["*"]'`,
 * `'[0,null,2]'` with holes for unchecked files); an empty array meant every file.
 */
function selectionOfCopyFile(copyFile: unknown): StartSelection {
  let value: unknown = copyFile;
  if (typeof value === 'string' && value.trim().startsWith('[')) {
    try {
      value = JSON.parse(value);
    } catch {
      return value as string;
    }
  }
  if (!Array.isArray(value)) return value as StartSelection;
  const picked = value.filter((v): v is number | string => typeof v === 'number' || typeof v === 'string');
  return picked.length === 0 || picked.includes('*') ? '*' : picked;
}

/** `/v1/offline/*` (docs/spec/API.md, Offline download): thin handlers over OfflineService. */
export function registerOfflineRoutes(app: FastifyInstance, offline: OfflineService): void {
  apiRoute(
    app,
    '/v1/offline/parseTorrent',
    { body: ParseTorrent, result: ParseResultSchema, summary: 'Reads a .torrent in the drive (`uuid`, else `path`): its files and a taskHash to start it' },
    async ({ user, body }) => sixpanParse(await offline.parseTorrent(user.id, body)),
  );
  apiRoute(
    app,
    '/v1/offline/start',
    {
      body: Start,
      result: TaskSchema,
      summary: 'Starts a task from a taskHash, into `saveUuid` or `savePath` (created when missing)',
      description: `${SELECTION_DOC} TASK_EXISTS carries the existing task's id in \`result.taskId\`.`,
    },
    async ({ user, body }) => {
      const { copyFile, ...input } = body;
      return sixpanTask(await offline.start(user.id, { ...input, files: input.files ?? selectionOfCopyFile(copyFile) }), user.id);
    },
  );
  apiRoute(
    app,
    '/v1/offline/page',
    { body: Page, result: TaskPageSchema, summary: "A page of the caller's tasks (`pageSize` 1-100; `order` -1 oldest first)" },
    async ({ user, body }) => {
      const page = await offline.page(user.id, body);
      return { ...page, list: page.list.map((t) => sixpanTask(t, user.id)) };
    },
  );
  apiRoute(
    app,
    '/v1/offline/list',
    { body: List, result: TaskRangeSchema, summary: "A window of the caller's tasks (`start`, `size` 1-500; `order` -1 oldest first)" },
    async ({ user, body }) => {
      const listed = await offline.list(user.id, body);
      return { ...listed, list: listed.list.map((t) => sixpanTask(t, user.id)) };
    },
  );
  apiRoute(app, '/v1/offline/get', { body: Get, result: TaskDetailSchema, summary: 'A task with the state of each selected file' }, async ({ user, body }) =>
    sixpanTask(await offline.get(user.id, body.taskId), user.id),
  );
  apiRoute(
    app,
    '/v1/offline/remove',
    {
      body: Remove,
      result: True,
      summary: 'Removes tasks (at most 1000); with `deleteFiles`, the files they imported go to the recycle bin too',
      description: 'With `permanent` as well, those files are deleted for good at once instead.',
    },
    ({ user, body }) => offline.remove(user.id, body.taskId, isOn(body.deleteFiles), { permanent: isOn(body.permanent) }),
  );
  apiRoute(
    app,
    '/v1/offline/edit',
    { body: Edit, result: TaskSchema, summary: 'Changes which files of a torrent task download', description: SELECTION_DOC },
    async ({ user, body }) => {
      if (body.files === undefined && body.copyFile === undefined)
        throw new AppError('BAD_REQUEST', 'Field "files" (or "copyFile") names the files the task should download.');
      return sixpanTask(await offline.edit(user.id, body.taskId, body.files ?? selectionOfCopyFile(body.copyFile)), user.id);
    },
  );
  apiRoute(app, '/v1/offline/pause', { body: Ids, result: True, summary: 'Pauses running tasks' }, ({ user, body }) => offline.pause(user.id, body.taskId));
  apiRoute(app, '/v1/offline/resume', { body: Ids, result: True, summary: 'Resumes paused and failed tasks' }, ({ user, body }) =>
    offline.resume(user.id, body.taskId),
  );
  apiRoute(
    app,
    '/v1/offline/parseUrl',
    {
      body: ParseUrl,
      result: ParseUrlResultSchema,
      summary: 'Reads links (one per line, at most 100): magnet, http(s), ed2k, thunder://, flashget://, qqdl://',
      description:
        "One line: its parse result. Several: an array with a failing line in place as a ParseFailure. A magnet link's metadata is awaited up to OPENPAN_MAGNET_WAIT seconds (then `metadataPending: true`).",
    },
    async ({ user, body }) => {
      const parsed = await offline.parseUrl(user.id, body.url);
      return Array.isArray(parsed) ? parsed.map(sixpanParseLine) : sixpanParse(parsed);
    },
  );
  apiRoute(app, '/v1/offline/parseMagnet', { body: ParseMagnet, result: ParseResultSchema, summary: 'Reads one magnet link' }, async ({ user, body }) =>
    sixpanParse(await offline.parseMagnet(user.id, body.url)),
  );
  apiRoute(app, '/v1/offline/quota', { body: Empty, result: QuotaSchema, summary: "The caller's offline task quota" }, ({ user }) => offline.quota(user.id));
  registerEventStream(app, offline);
}

/** Keep-alive comments keep proxies from closing an idle stream; each also re-checks the session. */
const KEEP_ALIVE_MS = 15_000;
/** Each stream polls the database every second: a user gets a few (tabs, devices), not thousands. */
const MAX_STREAMS_PER_USER = 8;

/** A stream frame carries the task as `/v1/offline/page` shows it. */
function sseFrame(e: TaskStreamEvent, userId: number): string {
  const data = e.event === 'task' ? sixpanTask(e.data, userId) : e.data;
  return `event: ${e.event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** `GET /v1/offline/events`: the caller's task changes as Server-Sent Events. */
function registerEventStream(app: FastifyInstance, offline: OfflineService): void {
  const open = new Map<number, number>();
  const schema = {
    summary: "The caller's task changes as Server-Sent Events",
    description:
      'Starts with `retry: 3000`. `event: task` with a Task as `data` when a task is created or changes (each second for running tasks whose view changed); ' +
      '`event: remove` with `{"taskId"}`; a `: keep-alive` comment every 15 s. The token may come as `?token=` or `?auth=` (EventSource sends no headers). ' +
      `At most ${MAX_STREAMS_PER_USER} streams per user (TOO_MANY_REQUESTS, over HTTP 200). The stream ends with its session.`,
    tags: ['offline'],
    operationId: 'offlineEvents',
    security: SESSION_SECURITY,
    response: {
      200: {
        description: 'The event stream; a failure envelope when refused',
        content: { 'text/event-stream': { schema: Type.String() }, 'application/json': { schema: FailureSchema } },
      },
      401: Type.Union([FailureSchema], { description: 'UNAUTHORIZED: no valid session token' }),
    },
  };
  app.get('/v1/offline/events', { schema, preValidation: requireUser }, (request, reply) => {
    const userId = request.user!.id;
    const count = open.get(userId) ?? 0;
    if (count >= MAX_STREAMS_PER_USER) {
      throw new AppError('TOO_MANY_REQUESTS', `At most ${MAX_STREAMS_PER_USER} event streams per user are open at once; close another first.`);
    }
    open.set(userId, count + 1);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      // The headers hooks set so far (CORS for a listed origin, security headers) still apply.
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
      // Tells nginx-style proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 3000\n: ${request.user!.name}\n\n`);
    const stop = offline.watch(userId, (e) => res.write(sseFrame(e, userId)));
    const token = request.bearer;
    // A stream outlives no session: logout or a new password ends it at the next tick.
    const keepAlive = setInterval(() => {
      app.sessionAlive(token).then(
        (alive) => (alive ? res.write(': keep-alive\n\n') : res.end()),
        () => res.end(),
      );
    }, KEEP_ALIVE_MS);
    keepAlive.unref();
    res.on('close', () => {
      clearInterval(keepAlive);
      stop();
      const left = (open.get(userId) ?? 1) - 1;
      if (left > 0) open.set(userId, left);
      else open.delete(userId);
    });
  });
}
