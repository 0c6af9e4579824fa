import type { FastifyInstance } from 'fastify';
import { apiRoute } from './server.js';
import { sixpanFile } from './sixpan/answers.js';
import { isOn } from './sixpan/input.js';
import { StoreTokenResultSchema } from './sixpan/schemas.js';
import { isEtag } from '../store/etag.js';
import type { StoreTokenService } from '../upload/store-token.js';
import { StoreTokenBodySchema } from './sixpan/schemas.js';

const StoreToken = StoreTokenBodySchema;

function lastSegment(path: string): { dir: string; name: string } {
  const trimmed = path.replace(/\/+$/, '');
  const cut = trimmed.lastIndexOf('/');
  return { dir: cut > 0 ? trimmed.slice(0, cut) : cut === 0 ? '/' : '', name: trimmed.slice(cut + 1) };
}

/**
 * Where the file goes, as 6pan's clients say it: without `name`, `path` names the file itself
 * (`:torrent/a.torrent`; the gateway took the name from its end); a `name` that is an absolute
 * path (the Android app sends the device path) is its last segment; a `parent` that is a path
 * (`"/"`) is one.
 */
function destinationOf(body: { name?: string | null; path?: string | null; parent?: string | null }) {
  let { name, path, parent } = body;
  if (!name && path) ({ dir: path, name } = lastSegment(path));
  if (name?.startsWith('/')) name = lastSegment(name).name;
  if (parent?.startsWith('/')) {
    path = path || parent;
    parent = null;
  }
  return { name: name ?? '', path: path || null, parent };
}

/** Hex digests of another kind: md5 (the Android app), SHA-1 (the Qt client), SHA-256. */
const OTHER_DIGEST = /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i;

/**
 * The etag to match for an instant upload. 6pan's clients also send digests of other kinds,
 * which the gateway only looked up: they mean "nothing to match", an ordinary upload follows.
 * Anything else is passed on for the service to refuse as HASH_INVALID.
 */
function hashOf(hash: string | null | undefined): string | null {
  if (!hash) return null;
  return !isEtag(hash) && OTHER_DIGEST.test(hash) ? null : hash;
}

export function registerStoreTokenRoutes(app: FastifyInstance, service: StoreTokenService): void {
  apiRoute(
    app,
    '/v1/store/token',
    {
      body: StoreToken,
      result: StoreTokenResultSchema,
      summary: 'Starts an upload: the file at once when the server holds `hash` (instant upload), else an upload ticket',
      description:
        'Destination: `parent` (a uuid) or `path` (created when missing); without `name`, `path` names the file itself. `override` replaces a file in place; `size` is checked against the free space.',
    },
    async ({ user, body }) => {
      const answer = await service.issue(
        user.id,
        { ...body, ...destinationOf(body), hash: hashOf(body.hash || body.fileHash), override: isOn(body.override) },
        user.session,
      );
      return 'uuid' in answer ? sixpanFile(answer) : answer;
    },
  );
}
