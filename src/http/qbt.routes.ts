import busboy from 'busboy';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../errors.js';
import { QBT_VERSION, QBT_WEBAPI_VERSION, type QbtService, type QbtSession, type QbtSessions, SESSION_TTL_MS, splitTags } from '../qbt/index.js';

// `/api/v2/`: the qBittorrent Web API's wire format, not the 6pan envelope. Parameters come as a
// query string, a form or a multipart form; answers are plain text ("Ok.", "Fails.", a version)
// or JSON; errors are an HTTP status with a plain-text message. A `SID` cookie from
// `auth/login` opens every other call (403 without one, which clients answer by logging in).

/** A form's `.torrent` files together, at most. */
const MAX_TORRENT_BYTES = 64 * 1024 * 1024;
const MAX_FORM_FILES = 100;

type Params = Record<string, string>;

/** What each call does, for the API description (/v1/openapi.json); docs/qbittorrent.md has the details. */
const SUMMARIES: Record<string, string> = {
  '/auth/login': 'Logs in with `username` and an app password: `Ok.` and a `SID` cookie, or `Fails.`',
  '/auth/logout': 'Ends the session',
  '/app/version': 'The qBittorrent version answered as',
  '/app/webapiVersion': 'The Web API version answered as',
  '/app/buildInfo': 'Library versions, as qBittorrent reports them',
  '/app/preferences': 'The settings clients read: save path, DHT, ratio limits (off)',
  '/app/setPreferences': 'Accepted; changes nothing',
  '/app/defaultSavePath': 'OPENPAN_QBT_PATH_ROOT',
  '/transfer/info': "The user's download speed and bytes",
  '/sync/maindata': 'Everything, then (with `rid`) only what changed since that answer',
  '/torrents/info': "The user's tasks as torrents: `filter`, `category`, `tag`, `hashes`, `sort`, `reverse`, `limit`, `offset`",
  '/torrents/properties': 'One torrent (`hash`)',
  '/torrents/files': "One torrent's selected files (`hash`)",
  '/torrents/trackers': "One torrent's trackers (`hash`)",
  '/torrents/webseeds': 'No web seeds are listed',
  '/torrents/categories': "The user's categories",
  '/torrents/tags': "The user's tags",
  '/torrents/add': 'Starts tasks: `urls` (magnet and .torrent links), `torrents` (files), `savepath`, `category`, `tags`, `paused`/`stopped`, `rename`',
  '/torrents/delete': 'Removes tasks (`hashes`), with `deleteFiles` the files they created',
  '/torrents/pause': 'Pauses tasks (`hashes`)',
  '/torrents/stop': 'Pauses tasks (`hashes`), 5.x name',
  '/torrents/resume': 'Resumes tasks (`hashes`)',
  '/torrents/start': 'Resumes tasks (`hashes`), 5.x name',
  '/torrents/setCategory': 'Sets the category of tasks',
  '/torrents/createCategory': 'Creates a category (`category`, `savePath`)',
  '/torrents/editCategory': "Changes a category's save path",
  '/torrents/removeCategories': 'Removes categories (one per line)',
  '/torrents/addTags': 'Adds tags to tasks',
  '/torrents/removeTags': 'Takes tags off tasks',
  '/torrents/createTags': 'Creates tags',
  '/torrents/deleteTags': 'Deletes tags',
  '/torrents/setShareLimits': 'Stores share limits (`ratioLimit`, `seedingTimeLimit`)',
  '/torrents/topPrio': 'Accepted; the scheduler orders downloads',
  '/torrents/bottomPrio': 'Accepted; the scheduler orders downloads',
  '/torrents/increasePrio': 'Accepted; the scheduler orders downloads',
  '/torrents/decreasePrio': 'Accepted; the scheduler orders downloads',
  '/torrents/setForceStart': 'Accepted; the scheduler orders downloads',
};

/** The description of a call: qBittorrent's own wire, never the 6pan envelope. */
function describedAs(path: string, needsSession = true) {
  const answer = {
    description: 'Plain text (`Ok.`, `Fails.`, a version, or empty) or JSON, as qBittorrent answers',
    content: { 'text/plain': { schema: { type: 'string' } }, 'application/json': { schema: {} } },
  };
  const refused = { description: 'No live `SID` session (log in again)', content: { 'text/plain': { schema: { type: 'string' } } } };
  return { summary: SUMMARIES[path] ?? path, tags: ['qbittorrent'], response: needsSession ? { 200: answer, 403: refused } : { 200: answer } };
}

interface CallContext {
  userId: number;
  session: QbtSession;
  params: Params;
  /** `.torrent` files of a multipart form. */
  files: Buffer[];
}

type Answer = string | object;

interface QbtBody {
  params: Params;
  files: Buffer[];
}

declare module 'fastify' {
  interface FastifyRequest {
    qbtSession: QbtSession | null;
  }
}

/** The last value of each key (a form's repeated key, or a query's). */
function flatten(input: unknown): Params {
  const out: Params = {};
  if (input === null || typeof input !== 'object') return out;
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (typeof last === 'string') out[key] = last;
    else if (typeof last === 'number' || typeof last === 'boolean') out[key] = String(last);
  }
  return out;
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(true|1|yes)$/i.test(value.trim());
}

function numberOr(value: string | undefined, fallback: number): number {
  const n = value === undefined || value.trim() === '' ? Number.NaN : Number(value);
  return Number.isFinite(n) ? n : fallback;
}

function optionalInt(value: string | undefined): number | undefined {
  const n = numberOr(value, Number.NaN);
  return Number.isFinite(n) ? Math.trunc(n) : undefined;
}

function required(params: Params, name: string): string {
  const value = params[name];
  if (value === undefined) throw new AppError('BAD_REQUEST', `Missing parameter: ${name}`);
  return value;
}

function sidOf(request: FastifyRequest): string | undefined {
  const match = /(?:^|;\s*)SID=([^;]*)/.exec(request.headers.cookie ?? '');
  return match?.[1];
}

/** A multipart form: its fields, and the bytes of its files (the `.torrent`s of `torrents/add`). */
function parseMultipart(request: FastifyRequest): Promise<QbtBody> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: request.headers, limits: { files: MAX_FORM_FILES, fileSize: MAX_TORRENT_BYTES, fields: 100, fieldSize: 1024 * 1024 } });
    } catch (err) {
      reject(new AppError('BAD_REQUEST', 'The multipart form is malformed.', { cause: err }));
      return;
    }
    const params: Params = {};
    const files: Buffer[] = [];
    let total = 0;
    let failed: AppError | null = null;
    parser.on('field', (name, value) => {
      // `urls` may be repeated: every line of every one counts.
      params[name] = name === 'urls' && params[name] !== undefined ? `${params[name]}\n${value}` : value;
    });
    parser.on('file', (_name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > MAX_TORRENT_BYTES) failed ??= new AppError('PAYLOAD_TOO_LARGE', 'The torrent files are too large.');
        else chunks.push(chunk);
      });
      stream.on('end', () => files.push(Buffer.concat(chunks)));
      stream.on('error', () => undefined);
    });
    parser.on('close', () => (failed !== null ? reject(failed) : resolve({ params, files })));
    parser.on('error', (err) => reject(new AppError('BAD_REQUEST', `The multipart form is malformed: ${(err as Error).message}`, { cause: err })));
    request.raw.pipe(parser);
  });
}

/** qBittorrent's status and text for an error. */
function wireError(err: FastifyError | AppError): { status: number; text: string } {
  if (isAppError(err)) {
    switch (err.code) {
      case 'TASK_NOT_FOUND':
        return { status: 404, text: 'Torrent hash was not found' };
      case 'CATEGORY_EXISTS':
      case 'CATEGORY_NOT_FOUND':
        return { status: 409, text: err.message };
      case 'TOO_MANY_REQUESTS':
        return { status: 403, text: 'Your IP address has been banned after too many failed authentication attempts.' };
      default:
        return { status: err.status >= 500 ? err.status : 400, text: err.message };
    }
  }
  const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  return { status, text: status === 500 ? 'Internal Server Error' : err.message };
}

function text(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=UTF-8').send(body);
}

export interface QbtRoutesOptions {
  qbt: QbtService;
  sessions: QbtSessions;
}

/** `/api/v2/*` (docs/qbittorrent.md): thin handlers over QbtService. */
export const qbtRoutes: FastifyPluginAsync<QbtRoutesOptions> = async (app, opts) => {
  const { qbt, sessions } = opts;
  app.decorateRequest('qbtSession', null);
  app.addContentTypeParser('multipart/form-data', (request, _payload, done) => {
    parseMultipart(request).then(
      (body) => done(null, body),
      (err: Error) => done(err, undefined),
    );
  });
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    const { status, text: message } = wireError(err);
    if (status >= 500) request.log.error({ err }, 'qBittorrent API call failed');
    if (!request.raw.readableEnded) request.raw.resume();
    return text(reply, status, message);
  });
  app.setNotFoundHandler((_request, reply) => text(reply, 404, 'Not Found'));

  /** Query and body parameters together (the body wins), and a multipart form's files. */
  const input = (request: FastifyRequest): QbtBody => {
    const body = request.body as QbtBody | Record<string, unknown> | undefined;
    const fromBody = body !== undefined && 'files' in body && Array.isArray(body.files) ? (body as QbtBody) : { params: flatten(body), files: [] };
    return { params: { ...flatten(request.query), ...fromBody.params }, files: fromBody.files };
  };

  const call = (path: string, handler: (ctx: CallContext) => Promise<Answer> | Answer) => {
    app.route({
      method: ['GET', 'POST'],
      url: path,
      schema: describedAs(path),
      handler: async (request, reply) => {
        const session = sessions.get(sidOf(request));
        if (session === undefined) return text(reply, 403, 'Forbidden');
        const { params, files } = input(request);
        const answer = await handler({ userId: session.userId, session, params, files });
        return typeof answer === 'string' ? text(reply, 200, answer) : reply.code(200).type('application/json').send(JSON.stringify(answer));
      },
    });
  };

  // ---- auth ----
  app.post('/auth/login', { schema: describedAs('/auth/login', false) }, async (request, reply) => {
    const { params } = input(request);
    const userId = await qbt.login(params.username ?? '', params.password ?? '', request.ip).catch((err: unknown) => {
      if (isAppError(err) && err.code === 'TOO_MANY_REQUESTS') throw err;
      if (isAppError(err) && err.status < 500) return undefined;
      throw err;
    });
    if (userId === undefined) return text(reply, 200, 'Fails.');
    const sid = sessions.open(userId);
    reply.header('set-cookie', `SID=${sid}; HttpOnly; SameSite=Strict; path=/; Max-Age=${SESSION_TTL_MS / 1000}`);
    return text(reply, 200, 'Ok.');
  });
  app.route({
    method: ['GET', 'POST'],
    url: '/auth/logout',
    schema: describedAs('/auth/logout', false),
    handler: async (request, reply) => {
      sessions.close(sidOf(request));
      reply.header('set-cookie', 'SID=; HttpOnly; SameSite=Strict; path=/; Max-Age=0');
      return text(reply, 200, '');
    },
  });

  // ---- app ----
  call('/app/version', () => QBT_VERSION);
  call('/app/webapiVersion', () => QBT_WEBAPI_VERSION);
  call('/app/buildInfo', () => ({ qt: '6.5.3', libtorrent: '2.0.10.0', boost: '1.83.0', openssl: '3.0.13', zlib: '1.3', bitness: 64 }));
  call('/app/preferences', () => qbt.preferences());
  call('/app/setPreferences', () => '');
  call('/app/defaultSavePath', () => qbt.defaultSavePath());

  // ---- transfer and sync ----
  call('/transfer/info', ({ userId }) => qbt.transferInfo(userId));
  call('/sync/maindata', ({ userId, session, params }) => qbt.mainData(userId, session, optionalInt(params.rid) ?? 0));

  // ---- torrents: reading ----
  call('/torrents/info', ({ userId, params }) =>
    qbt.info(userId, {
      filter: params.filter,
      category: params.category,
      tag: params.tag,
      hashes: params.hashes,
      sort: params.sort,
      reverse: isTrue(params.reverse),
      limit: optionalInt(params.limit),
      offset: optionalInt(params.offset),
    }),
  );
  call('/torrents/properties', ({ userId, params }) => qbt.properties(userId, required(params, 'hash')));
  call('/torrents/files', ({ userId, params }) => qbt.files(userId, required(params, 'hash')));
  call('/torrents/trackers', ({ userId, params }) => qbt.trackers(userId, required(params, 'hash')));
  call('/torrents/webseeds', () => []);
  call('/torrents/categories', ({ userId }) => qbt.categories(userId));
  call('/torrents/tags', ({ userId }) => qbt.tags(userId));

  // ---- torrents: changing ----
  call('/torrents/add', async ({ userId, params, files }) => {
    const urls = (params.urls ?? '')
      .split(/\r?\n/)
      .map((u) => u.trim())
      .filter(Boolean);
    if (urls.length === 0 && files.length === 0) throw new AppError('BAD_REQUEST', 'Missing parameter: urls or torrents');
    const result = await qbt.add(userId, {
      urls,
      torrents: files,
      savepath: params.savepath,
      category: params.category,
      tags: splitTags(params.tags),
      paused: isTrue(params.paused) || isTrue(params.stopped),
      rename: params.rename,
      ratioLimit: params.ratioLimit !== undefined ? numberOr(params.ratioLimit, -2) : undefined,
      seedingTimeLimit: params.seedingTimeLimit !== undefined ? optionalInt(params.seedingTimeLimit) : undefined,
    });
    return result.added > 0 ? 'Ok.' : 'Fails.';
  });
  call('/torrents/delete', async ({ userId, params }) => {
    await qbt.remove(userId, required(params, 'hashes'), isTrue(params.deleteFiles));
    return '';
  });
  for (const path of ['/torrents/pause', '/torrents/stop']) {
    call(path, async ({ userId, params }) => {
      await qbt.pause(userId, required(params, 'hashes'));
      return '';
    });
  }
  for (const path of ['/torrents/resume', '/torrents/start']) {
    call(path, async ({ userId, params }) => {
      await qbt.resume(userId, required(params, 'hashes'));
      return '';
    });
  }
  call('/torrents/setCategory', async ({ userId, params }) => {
    await qbt.setCategory(userId, required(params, 'hashes'), params.category ?? '');
    return '';
  });
  call('/torrents/createCategory', async ({ userId, params }) => {
    await qbt.createCategory(userId, required(params, 'category'), params.savePath ?? '');
    return '';
  });
  call('/torrents/editCategory', async ({ userId, params }) => {
    await qbt.editCategory(userId, required(params, 'category'), params.savePath ?? '');
    return '';
  });
  call('/torrents/removeCategories', async ({ userId, params }) => {
    await qbt.removeCategories(userId, (params.categories ?? '').split(/\r?\n/));
    return '';
  });
  call('/torrents/addTags', async ({ userId, params }) => {
    await qbt.addTags(userId, required(params, 'hashes'), splitTags(params.tags));
    return '';
  });
  call('/torrents/removeTags', async ({ userId, params }) => {
    await qbt.removeTags(userId, required(params, 'hashes'), splitTags(params.tags));
    return '';
  });
  call('/torrents/createTags', async ({ userId, params }) => {
    await qbt.createTags(userId, splitTags(params.tags));
    return '';
  });
  call('/torrents/deleteTags', async ({ userId, params }) => {
    await qbt.deleteTags(userId, splitTags(params.tags));
    return '';
  });
  call('/torrents/setShareLimits', async ({ userId, params }) => {
    await qbt.setShareLimits(userId, required(params, 'hashes'), numberOr(params.ratioLimit, -2), optionalInt(params.seedingTimeLimit) ?? -2);
    return '';
  });
  // Accepted, changing nothing: openpan runs a user's tasks in the order the scheduler gives them.
  for (const path of ['/torrents/topPrio', '/torrents/bottomPrio', '/torrents/increasePrio', '/torrents/decreasePrio', '/torrents/setForceStart']) {
    call(path, () => '');
  }
};
