// The API description: every route's request and response schemas, gathered by @fastify/swagger
// into an OpenAPI 3.1 document at GET /v1/openapi.json, and the same as a page for people at
// GET /v1/openapi.html (rendered here, without scripts). Both need no token.
import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyContextConfig, FastifyInstance, FastifySchema } from 'fastify';
import { API_PAGE_CSP, renderApiPage, type OpenApiDocument } from './openapi-page.js';

export const OPENAPI_JSON = '/v1/openapi.json';
export const OPENAPI_HTML = '/v1/openapi.html';

const DESCRIPTION = [
  "openpan speaks 6pan's v1 API as 6pan's gateway answered it (docs/api.md is the full reference).",
  '',
  'Calls are `POST /v1/<area>/<call>` with a JSON or form body (`application/x-www-form-urlencoded`); an empty body is `{}` whatever its type.',
  'Numbers may come as numeric strings, an empty string in an optional field means "not given", and unknown fields are ignored.',
  '',
  "Every answer is the envelope `{status, success, code, result, token}`. An endpoint's error answers **HTTP 200** with `success: false`,",
  'a stable `code`, a `message` and the status in `status`; only a missing or bad token is HTTP 401, and an unknown route HTTP 404.',
  '',
  'The session token is taken from `Authorization: Bearer <token>` (or a bare `Authorization: <token>`), a `Token` or `Qingzhen-Token`',
  'header, the query parameters `auth` and `token`, or a `token` field of the body, in that order.',
  '',
  'Every GET route also answers HEAD. The upload service (`/upload`) and the signed downloads (`/dl/`) use real HTTP statuses.',
].join('\n');

const TAGS = [
  { name: 'user', description: 'Accounts and sessions' },
  { name: 'files', description: "The caller's file tree" },
  { name: 'preview', description: "Previews: the original file's signed address" },
  { name: 'store', description: 'Starting an upload (instant upload when the content is known)' },
  { name: 'offline', description: 'Offline download of torrents, magnet links and URLs' },
  { name: 'common', description: 'The server' },
  { name: 'upload', description: 'The WCS/Qiniu-compatible upload service, authorised by the upload token of store/token' },
  { name: 'download', description: 'Signed download addresses' },
  { name: 'web', description: 'The browser UI and this description' },
  { name: 'webdav', description: 'WebDAV at /dav (RFC 4918 class 1 and 2), for file managers, media players and rclone' },
  {
    name: 'qbittorrent',
    description:
      "The qBittorrent Web API v2 at /api/v2/ over the user's offline tasks (docs/qbittorrent.md): its own wire format, a SID cookie from auth/login",
  },
];

function packageVersion(): string {
  // ../../package.json from both src/http/openapi.ts and dist/http/openapi.js.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * A route's documentation that its Fastify schema cannot carry without Fastify acting on it:
 * a body the handler streams itself (no body schema may validate it), a signed query whose
 * parameters the handler checks. Added to the description only.
 */
export function documentedOnly(extra: FastifySchema): FastifyContextConfig {
  return { swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, ...extra }, url }) };
}

/** Bytes, as a body or an answer. */
export const Binary = Type.String({ format: 'binary' });

/**
 * The shapes with a `title` (schemas.ts) are listed once under components.schemas and referred
 * to from the operations: a File, a Task, a Failure are named where they appear.
 */
function nameTitledShapes(document: Record<string, unknown>): Record<string, unknown> {
  document.components ??= {};
  const components = document.components as { schemas?: Record<string, unknown> };
  components.schemas ??= {};
  const shapes = components.schemas;
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = visit(value);
    if (typeof out.title !== 'string' || !('type' in out || 'anyOf' in out)) return out;
    // Where a shape stands for one answer it may carry that answer's description: kept beside the reference.
    const { description, ...shape } = out;
    const title = out.title;
    const known = shapes[title];
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(shape)) throw new Error(`Two different schemas are titled "${title}".`);
    shapes[title] = shape;
    return description === undefined ? { $ref: `#/components/schemas/${title}` } : { $ref: `#/components/schemas/${title}`, description };
  };
  document.paths = visit(document.paths);
  return document;
}

const DocumentSchema = Type.Object(
  {
    openapi: Type.String({ description: '3.1.0' }),
    info: Type.Object({ title: Type.String(), version: Type.String() }),
    paths: Type.Record(Type.String(), Type.Unknown()),
    components: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { description: 'This description, OpenAPI 3.1 (only its outline is listed here)' },
);

function webSchema(summary: string, response: Record<string, TSchema | object>): FastifySchema {
  return { summary, tags: ['web'], security: [], response };
}

/**
 * Registers the description's collector and its two routes. Call it before any other route:
 * the collector sees the routes registered after it.
 */
export async function registerApiDescription(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'openpan', version: packageVersion(), description: DESCRIPTION },
      tags: TAGS,
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic', description: 'WebDAV: the user name and an app password (/v1/user/appPassword/create).' },
          session: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'The session token of user/login or user/register; also accepted as a bare Authorization, a Token or Qingzhen-Token header, ?auth=, ?token= or a body field `token`.',
          },
        },
      },
    },
    exposeHeadRoutes: true,
    transformObject: (document) => nameTitledShapes(('openapiObject' in document ? document.openapiObject : document.swaggerObject) as Record<string, unknown>),
  });

  let json: string | null = null;
  let page: string | null = null;
  app.get(
    OPENAPI_JSON,
    { schema: { ...webSchema('This description as OpenAPI 3.1 (JSON)', { 200: DocumentSchema }), operationId: 'openapi' } },
    async (_request, reply) => {
      json ??= JSON.stringify(app.swagger());
      return reply.type('application/json; charset=utf-8').send(json);
    },
  );
  app.get(
    OPENAPI_HTML,
    { schema: webSchema('This description as a page', { 200: { description: 'An HTML page', content: { 'text/html': { schema: Type.String() } } } }) },
    async (_request, reply) => {
      page ??= renderApiPage(app.swagger() as unknown as OpenApiDocument, OPENAPI_JSON);
      return reply.type('text/html; charset=utf-8').header('Content-Security-Policy', API_PAGE_CSP).send(page);
    },
  );
}
