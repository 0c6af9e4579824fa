import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { apiRoute } from '../http/server.js';
import type { DownloadLinks } from './download-links.js';
import type { FilesService } from './files.service.js';

const Str = Type.String();
const OneOrMany = Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 10000 })]);
const EntryRef = { uuid: Type.Optional(Str), path: Type.Optional(Str) };
const Int = (opts: { minimum?: number } = {}) => Type.Optional(Type.Integer(opts));
const FileType = Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)]));

const Page = Type.Object({ ...EntryRef, page: Int({ minimum: 1 }), pageSize: Int({ minimum: 1 }), orderBy: Type.Optional(Str), type: FileType });
const List = Type.Object({ path: Type.Optional(Str), parent: Type.Optional(Str), start: Int({ minimum: 0 }), size: Int({ minimum: 1 }), orderBy: Type.Optional(Str), type: FileType });
const Get = Type.Object(EntryRef);
const CreateDirectory = Type.Object({ path: Type.Optional(Str), parent: Type.Optional(Str), name: Type.Optional(Str) });
const Rename = Type.Object({ ...EntryRef, name: Str });
const Many = Type.Object({ uuid: Type.Optional(OneOrMany), path: Type.Optional(OneOrMany) });
const Transfer = Type.Object({ uuid: Type.Optional(OneOrMany), path: Type.Optional(OneOrMany), parent: Type.Optional(Str), destPath: Type.Optional(Str) });

function asList(v: string | string[] | undefined): string[] | undefined {
  return v === undefined ? undefined : Array.isArray(v) ? v : [v];
}

function refsOf(body: Static<typeof Many>) {
  return { uuids: asList(body.uuid), paths: asList(body.path) };
}

function destOf(body: Static<typeof Transfer>) {
  return body.parent !== undefined ? { uuid: body.parent } : { path: body.destPath ?? '/' };
}

export function registerFileRoutes(app: FastifyInstance, files: FilesService, links: DownloadLinks): void {
  apiRoute(app, '/v1/files/page', Page, ({ user, body }) => files.page(user.id, { uuid: body.uuid, path: body.path }, body));
  apiRoute(app, '/v1/files/list', List, ({ user, body }) =>
    files.list(user.id, body.parent !== undefined ? { uuid: body.parent } : { path: body.path }, body),
  );
  apiRoute(app, '/v1/files/get', Get, ({ user, body }) => files.get(user.id, body));
  apiRoute(app, '/v1/files/createDirectory', CreateDirectory, ({ user, body }) => files.createDirectory(user.id, body));
  apiRoute(app, '/v1/files/rename', Rename, ({ user, body }) => files.rename(user.id, body, body.name));
  apiRoute(app, '/v1/files/move', Transfer, async ({ user, body }) => {
    await files.move(user.id, refsOf(body), destOf(body));
    return true;
  });
  apiRoute(app, '/v1/files/copy', Transfer, async ({ user, body }) => {
    await files.copy(user.id, refsOf(body), destOf(body));
    return true;
  });
  apiRoute(app, '/v1/files/remove', Many, async ({ user, body }) => {
    await files.remove(user.id, refsOf(body));
    return true;
  });
  apiRoute(app, '/v1/files/download', Get, async ({ user, body }) => links.forFile(await files.fileForDownload(user.id, body)));
}
