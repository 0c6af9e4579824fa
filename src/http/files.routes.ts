import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { apiRoute } from './server.js';
import { isOn } from './sixpan/input.js';
import { sixpanFile, sixpanFiles } from './sixpan/answers.js';
import { DownloadLinkSchema, FileList2Schema, FileListSchema, FilePageSchema, FileSchema, SearchPageSchema } from './sixpan/schemas.js';
import type { DownloadLinks } from '../files/download-links.js';
import { DIRECTORY, FILE } from '../files/file-object.js';
import type { DirSelector, FilesService } from '../files/files.service.js';

const MAX_LIST_WINDOW = 999;
/** The gateway's page size when a client names none. */
const DEFAULT_PAGE_SIZE = 20;
/** Entries one move, copy or remove may name. */
const MAX_ENTRIES = 10_000;
const Str = Type.String();
const OptStr = Type.Optional(Str);
const OneOrMany = Type.Union([Type.String(), Type.Array(Type.String())]);
const Int = (opts: { minimum?: number } = {}) => Type.Optional(Type.Integer(opts));
/** `name`, `size desc`, … or 6pan's numbers (see orderOf). */
const OrderBy = Type.Optional(Type.Union([Str, Type.Integer()]));
/** The direction on its own: `asc`/`desc` or `1`/`-1` (see directionOf). */
const Order = Type.Optional(Type.Union([Str, Type.Integer()]));
/** 0 files, 1 directories; 6pan's -1 (or anything else) means both. */
const FileType = Type.Optional(Type.Integer());

const Dir = { uuid: OptStr, parent: OptStr, path: OptStr };
const Page = Type.Object({ ...Dir, page: Int(), pageSize: Int(), orderBy: OrderBy, order: Order, type: FileType });
const List = Type.Object({ ...Dir, start: Int(), size: Int(), orderBy: OrderBy, order: Order, type: FileType });
const Get = Type.Object({ uuid: OptStr, path: OptStr });
const CreateDirectory = Type.Object({ path: OptStr, parent: OptStr, name: OptStr });
const Rename = Type.Object({ uuid: OptStr, path: OptStr, name: OptStr, newName: OptStr });
const Many = Type.Object({ uuid: Type.Optional(OneOrMany), path: Type.Optional(OneOrMany) });
/** true, 1 or "true": a removal skips the recycle bin. */
const Flag = Type.Optional(Type.Union([Type.Boolean(), Type.Integer(), Type.String()]));
const Remove = Type.Object({ uuid: Type.Optional(OneOrMany), path: Type.Optional(OneOrMany), permanent: Flag });
const True = Type.Literal(true);
const Search = Type.Object({ query: OptStr, name: OptStr, type: OptStr, page: Int(), pageSize: Int() });
const ORDER_DOC =
  "`orderBy`: 6pan's number or `name`/`size`/`ctime`/`mtime` with `asc`/`desc`; `order`: `asc`/`desc` or 1/-1; `type`: 0 files, 1 directories, else both.";
const Transfer = Type.Object({ uuid: Type.Optional(OneOrMany), path: Type.Optional(OneOrMany), parent: OptStr, destUuid: OptStr, destPath: OptStr });

function asList(v: string | string[] | undefined, field: string): string[] | undefined {
  if (Array.isArray(v) && v.length > MAX_ENTRIES) {
    throw new AppError(
      'BAD_REQUEST',
      `Field "${field}" names ${v.length.toLocaleString('en')} entries; one call takes at most ${MAX_ENTRIES.toLocaleString('en')}.`,
    );
  }
  return v === undefined ? undefined : Array.isArray(v) ? v : [v];
}

function refsOf(body: Static<typeof Many>) {
  return { uuids: asList(body.uuid, 'uuid'), paths: asList(body.path, 'path') };
}

/**
 * The root's uuid is "", which the wire reads as "not given": a destination sent as "" is kept
 * as the root's path, so that `parent: ""` names the root while a missing one names nothing.
 */
function keepRootDestination(body: Record<string, unknown>): void {
  for (const field of ['parent', 'destUuid', 'destPath']) if (body[field] === '') body[field] = '/';
}

/**
 * Where move and copy put entries: `parent` or `destUuid` (a uuid, `:torrent`, or as in
 * store/token a path starting with `/`) and `destPath`. One is required — a client that names the
 * destination in a field openpan does not know must not have its files moved to the root —
 * and when several are given they must name the same directory (the service checks).
 */
function destinationsOf(body: Static<typeof Transfer>): DirSelector[] {
  const selectors: DirSelector[] = [];
  for (const uuid of [body.parent, body.destUuid]) {
    if (uuid !== undefined) selectors.push(uuid.startsWith('/') ? { path: uuid } : { uuid });
  }
  if (body.destPath !== undefined) selectors.push({ path: body.destPath });
  if (selectors.length === 0) {
    throw new AppError('BAD_REQUEST', 'Name the destination directory in "parent" (its uuid; "" for the root) or "destPath" (its path; "/" for the root).');
  }
  return selectors;
}

/** The directory a listing names: `parent` or `uuid` first, as the gateway read them, else `path`. */
function dirOf(body: { uuid?: string; parent?: string; path?: string }): DirSelector {
  const uuid = body.parent ?? body.uuid;
  return uuid !== undefined ? { uuid } : { path: body.path };
}

/**
 * 6pan's numeric orders: its web front end's table headers send 2/3 name ascending/descending,
 * 12/13 size, 1 by time (oldest first) and -1 newest first; the Android app 0 by name and 1 by
 * time. -1, and any other number, is newest first. A string is openpan's own syntax; none at
 * all, by name.
 */
const NUMERIC_ORDERS: Record<number, string> = { 0: 'name asc', 1: 'ctime asc', 2: 'name asc', 3: 'name desc', 12: 'size asc', 13: 'size desc' };

function orderOf(orderBy: string | number | undefined): string | undefined {
  if (typeof orderBy !== 'number') return orderBy;
  return NUMERIC_ORDERS[orderBy] ?? 'ctime desc';
}

/**
 * `order`, beside `orderBy`: `asc`/`desc` (any case), or `1` ascending and `-1` descending (the
 * sign of the comparison). It sets the direction whatever `orderBy` says.
 */
function directionOf(order: string | number | undefined): 'asc' | 'desc' | undefined {
  if (order === undefined) return undefined;
  const word = order === 1 ? 'asc' : order === -1 ? 'desc' : String(order).trim().toLowerCase();
  if (word === 'asc' || word === 'desc') return word;
  throw new AppError('BAD_REQUEST', 'Field "order" must be asc or desc (or 1 or -1).');
}

function typeOf(type: number | undefined): number | undefined {
  return type === FILE || type === DIRECTORY ? type : undefined;
}

export function registerFileRoutes(app: FastifyInstance, files: FilesService, links: DownloadLinks): void {
  apiRoute(
    app,
    '/v1/files/page',
    {
      body: Page,
      result: FilePageSchema,
      summary: 'A page of a directory (directories first) and the directory itself',
      description: `The directory: \`parent\` or \`uuid\`, else \`path\` (default /). \`page\` from 1, \`pageSize\` default 20, at most 999. ${ORDER_DOC}`,
    },
    async ({ user, body }) => {
      const page = await files.page(user.id, dirOf(body), {
        page: body.page,
        pageSize: body.pageSize !== undefined && body.pageSize > 0 ? body.pageSize : DEFAULT_PAGE_SIZE,
        orderBy: orderOf(body.orderBy),
        order: directionOf(body.order),
        type: typeOf(body.type),
      });
      return { ...page, list: sixpanFiles(page.list), info: sixpanFile(page.info) };
    },
  );
  // 6pan's list answers the children as a bare array; list2 adds the directory itself.
  const window = async (userId: number, body: Static<typeof List>) => {
    const sel = dirOf(body);
    // The gateway's default (-1, or none) was the whole directory, up to the largest window.
    const size = body.size !== undefined && body.size > 0 ? body.size : MAX_LIST_WINDOW;
    const listed = await files.list(userId, sel, {
      start: body.start,
      size,
      orderBy: orderOf(body.orderBy),
      order: directionOf(body.order),
      type: typeOf(body.type),
    });
    return { sel, list: sixpanFiles(listed.list) };
  };
  apiRoute(
    app,
    '/v1/files/list',
    {
      body: List,
      result: FileListSchema,
      summary: 'A window of a directory (`start`, `size` up to 999), as a bare array',
      description: ORDER_DOC,
    },
    async ({ user, body }) => (await window(user.id, body)).list,
  );
  apiRoute(
    app,
    '/v1/files/list2',
    { body: List, result: FileList2Schema, summary: 'As files/list, with the directory itself', description: ORDER_DOC },
    async ({ user, body }) => {
      const { sel, list } = await window(user.id, body);
      return { info: sixpanFile(await files.get(user.id, sel)), list };
    },
  );
  apiRoute(
    app,
    '/v1/files/get',
    { body: Get, result: FileSchema, summary: 'A file or directory by `uuid`, else `path`; a file with its download address' },
    async ({ user, body }) => {
      const file = await files.get(user.id, body);
      return sixpanFile(file, file.type === FILE ? links.forFile(file).downloadAddress : undefined);
    },
  );
  apiRoute(
    app,
    '/v1/files/createDirectory',
    {
      body: CreateDirectory,
      result: FileSchema,
      summary: 'Creates a directory and its missing parents; an existing one is answered as is',
      description: "`path`; or `name` with `parent` (a uuid) or `path` (the parent's path).",
    },
    async ({ user, body }) => sixpanFile(await files.createDirectory(user.id, body)),
  );
  apiRoute(
    app,
    '/v1/files/rename',
    { body: Rename, result: FileSchema, summary: 'Renames an entry (`uuid` or `path`) to `name` (or `newName`)' },
    async ({ user, body }) => {
      const name = body.name ?? body.newName;
      if (name === undefined) throw new AppError('BAD_REQUEST', 'Field "name" (or "newName") is required: the new name.');
      return sixpanFile(await files.rename(user.id, body, name));
    },
  );
  const transfer = { raw: keepRootDestination };
  apiRoute(
    app,
    '/v1/files/move',
    {
      body: Transfer,
      result: True,
      summary: 'Moves entries (`uuid` and/or `path`, at most 10,000) into a directory, all or nothing',
      description: 'The destination is required: `parent` or `destUuid` (a uuid, `:torrent`, "" for the root, or a path) and/or `destPath`.',
    },
    async ({ user, body }) => {
      await files.move(user.id, refsOf(body), destinationsOf(body));
      return true as const;
    },
    transfer,
  );
  apiRoute(
    app,
    '/v1/files/copy',
    {
      body: Transfer,
      result: True,
      summary: 'Copies entries into a directory (content is shared, space is charged), all or nothing',
      description: 'The destination as for files/move.',
    },
    async ({ user, body }) => {
      await files.copy(user.id, refsOf(body), destinationsOf(body));
      return true as const;
    },
    transfer,
  );
  apiRoute(
    app,
    '/v1/files/remove',
    {
      body: Remove,
      result: True,
      summary: 'Moves entries (`uuid` and/or `path`, at most 10,000) and what they contain to the recycle bin',
      description:
        'Their names are free at once; their space stays charged until they are purged (recycle/purge, recycle/clear, or OPENPAN_RECYCLE_DAYS later). With `permanent` true they are deleted for good at once.',
    },
    async ({ user, body }) => {
      await files.remove(user.id, refsOf(body), { permanent: isOn(body.permanent) });
      return true as const;
    },
  );
  apiRoute(
    app,
    '/v1/files/search',
    {
      body: Search,
      result: SearchPageSchema,
      summary: 'Files and directories whose name contains `query` (any case), newest first',
      description:
        '`query` (or `name`): the text, at least one character; `type`: video, audio, image, document or archive keeps files of that kind (by extension or media type); `page` from 1, `pageSize` default 100, at most 999. Entries in the recycle bin are not found. `totalCount` counts at most 1,000 (`totalCountCapped` then is true).',
    },
    async ({ user, body }) => {
      const found = await files.search(user.id, {
        query: body.query ?? body.name,
        type: body.type,
        page: body.page,
        pageSize: body.pageSize !== undefined && body.pageSize > 0 ? body.pageSize : undefined,
      });
      return { ...found, list: sixpanFiles(found.list) };
    },
  );
  apiRoute(
    app,
    '/v1/files/download',
    { body: Get, result: DownloadLinkSchema, summary: "A file's signed download address (GET /dl/...)" },
    async ({ user, body }) => links.forFile(await files.fileForDownload(user.id, body)),
  );
}
