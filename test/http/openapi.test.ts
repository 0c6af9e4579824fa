// The API description (/v1/openapi.json, /v1/openapi.html): it covers every route the router
// has, it is OpenAPI 3.1 in its basics, and real answers of a running server validate against
// the response schemas it documents — with every documented object closed, so an answer field
// the description does not list fails as surely as a missing one. And the response schemas never
// change what is sent: answers are still written by JSON.stringify.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import { createHttpServer } from '../../src/http/server.js';
import { listRoutes } from '../support/routes.js';
import { Client, startServer, type TestServer } from '../support/server.js';
import { makeTorrent } from '../support/swarm.js';
import { bytes, etagOf, fileOf, formUpload, mkblk, mkfile, ticket } from '../support/upload.js';

type Json = Record<string, any>;

/** The router's `:name` and `*` as OpenAPI writes them. */
function openapiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*/g, '{*}');
}

/** A deep copy where every object schema that lists its properties allows no others. */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node))
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, closed(v)])) : closed(value);
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

const pointer = (...parts: string[]) => parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

describe('API description', () => {
  let s: TestServer;
  let doc: Json;
  let ajv: Ajv;
  const validators = new Map<string, ValidateFunction>();

  before(async () => {
    s = await startServer({ OPENPAN_MAGNET_WAIT: '0', OPENPAN_MAGNET_PREFETCH: '1' });
    const res = await fetch(`${s.url}/v1/openapi.json`);
    assert.equal(res.status, 200, 'no token is needed');
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    doc = (await res.json()) as Json;
    ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, validateSchema: false });
    ajv.addSchema(closed(doc) as Json, 'openapi');
  });
  after(() => s.close());

  /** Asserts that `body` is what `method path` documents for `status`. */
  function assertDocumented(method: string, path: string, status: number, body: unknown, type = 'application/json'): void {
    const responses = doc.paths[path]?.[method]?.responses;
    assert.ok(responses, `${method} ${path} is not documented`);
    const key = String(status) in responses ? String(status) : `${String(status)[0]}XX`;
    assert.ok(responses[key]?.content?.[type]?.schema, `${method} ${path} documents no ${type} answer for ${status}`);
    const ref = `openapi#/${pointer('paths', path, method, 'responses', key, 'content', type, 'schema')}`;
    let validate = validators.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: ref });
      validators.set(ref, validate);
    }
    assert.ok(validate(body), `${method} ${path} → ${status} is not as documented: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 1500)}`);
  }

  /** Calls `POST /v1/...`, checks the answer against the description, and returns its result. */
  async function call(client: Client, path: string, body: unknown = {}): Promise<any> {
    const { httpStatus, json } = await client.raw(path, body);
    assertDocumented('post', path, httpStatus, json);
    assert.equal(json.success, true, `${path}: ${json.code} ${json.message}`);
    return json.result;
  }

  test('is OpenAPI 3.1 in its basics: versions, paths, operations with answers, named shapes', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(doc.info.title, 'openpan');
    assert.equal(typeof doc.info.version, 'string');
    assert.ok(Object.keys(doc.paths).length > 50);
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      assert.ok(path.startsWith('/'), path);
      for (const [method, op] of Object.entries<Json>(item)) {
        assert.ok(['get', 'head', 'post', 'options'].includes(method) || (path.startsWith('/dav') && ['put', 'delete'].includes(method)), `${method} ${path}`);
        if (op.operationId !== undefined) {
          assert.ok(!operationIds.has(op.operationId), `operationId ${op.operationId} is unique`);
          operationIds.add(op.operationId);
        }
        assert.ok(op.summary, `${method} ${path} has a summary`);
        assert.ok(Object.keys(op.responses ?? {}).length > 0, `${method} ${path} has answers`);
        for (const [status, r] of Object.entries<Json>(op.responses)) assert.ok(r.description, `${method} ${path} ${status} is described`);
      }
    }
    for (const name of ['Failure', 'User', 'File', 'Task', 'TaskDetail', 'ParseResult', 'UploadTicket', 'BlockAnswer', 'UploadAnswer']) {
      assert.ok(doc.components.schemas[name], `components.schemas.${name}`);
    }
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) assert.ok(doc.components.schemas[JSON.parse(ref).split('/').pop()], `${ref} resolves`);
  });

  test('every route the router has is documented; JSON routes with their body and answer schemas', () => {
    const routes = listRoutes(s.openpan.http);
    assert.ok(routes.length > 50, 'the router was read');
    for (const route of routes) {
      // Fastify answers a prefix's root with and without its slash (`/upload`, `/upload/`).
      const path = openapiPath(route.url);
      const item = doc.paths[path] ?? doc.paths[path.endsWith('/') ? path.slice(0, -1) : `${path}/`];
      assert.ok(item, `${route.url} is not in the description`);
      for (const method of route.methods) {
        // WebDAV's own methods (PROPFIND, LOCK, …) are not methods OpenAPI 3.1 can list.
        if (route.url.startsWith('/dav') && !['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'].includes(method)) continue;
        const op = item[method.toLowerCase()];
        assert.ok(op, `${method} ${route.url} is not in the description`);
        if (method === 'POST' && route.url.startsWith('/v1/')) {
          assert.ok(op.requestBody?.content?.['application/json']?.schema, `POST ${route.url}: its JSON body`);
          assert.ok(op.requestBody?.content?.['application/x-www-form-urlencoded']?.schema, `POST ${route.url}: its form body`);
          assert.ok(op.responses['200']?.content?.['application/json']?.schema, `POST ${route.url}: its answer`);
          assert.deepEqual(
            op.security,
            route.url.match(/\/user\/(register|login|logout|checkUpdate|send(Register|Login)Message|loginByMessage|\w+2)$|\/share\/(open|browse|download|zip)$/)
              ? []
              : [{ session: [] }],
            `POST ${route.url}: its token`,
          );
        }
        if (method === 'POST' && route.url.startsWith('/upload')) {
          assert.ok(op.requestBody?.content, `POST ${route.url}: its body's type`);
          assert.ok(op.responses['200']?.content?.['application/json']?.schema, `POST ${route.url}: its answer`);
          assert.ok(op.responses['4XX']?.content?.['application/json']?.schema, `POST ${route.url}: its errors`);
        }
      }
    }
    assert.ok(doc.paths['/v1/offline/events'].get.responses['200'].content['text/event-stream'], 'the event stream is text/event-stream');
    assert.ok(doc.paths['/dl/{*}'].get.responses['206'].content['application/octet-stream'], 'downloads are bytes');
  });

  test('real answers validate against their documented schemas', async () => {
    const alice = await s.newUser('alice');
    const anonymous = new Client(s.url);

    // users
    const login = await anonymous.raw('/v1/user/login', { value: 'alice', password: 'alice-Passw0rd' });
    assertDocumented('post', '/v1/user/login', login.httpStatus, login.json);
    const info = await alice.raw('/v1/user/info');
    assertDocumented('post', '/v1/user/info', info.httpStatus, info.json);
    // The check is closed: a field the description does not list fails, as does a wrong type.
    assert.throws(() => assertDocumented('post', '/v1/user/info', 200, { ...info.json, result: { ...info.json.result, surprise: 1 } }), /not as documented/);
    assert.throws(() => assertDocumented('post', '/v1/user/info', 200, { ...info.json, result: { ...info.json.result, uuid: '1' } }), /not as documented/);
    await call(alice, '/v1/user/changeNameAndGet', { name: '' });
    await call(alice, '/v1/user/checkUpdate');
    const sms = await anonymous.raw('/v1/user/sendLoginMessage', {});
    assert.equal(sms.json.code, 'SMS_UNAVAILABLE');
    assertDocumented('post', '/v1/user/sendLoginMessage', sms.httpStatus, sms.json);
    const noToken = await anonymous.raw('/v1/user/info');
    assert.equal(noToken.httpStatus, 401);
    assertDocumented('post', '/v1/user/info', 401, noToken.json);

    // files
    const dir = await call(alice, '/v1/files/createDirectory', { path: '/docs' });
    const t = await call(alice, '/v1/store/token', { name: 'a.txt', path: '/docs' });
    const uploaded = await formUpload(t.uploadUrl, t.token, Buffer.from('hello'));
    assertDocumented('post', '/upload/file/upload', uploaded.status, uploaded.json);
    const file = fileOf(uploaded);
    await call(alice, '/v1/store/token', { name: 'b.txt', path: '/docs', hash: file.storeId }); // instant: a file
    await call(alice, '/v1/files/page', { path: '/docs' });
    await call(alice, '/v1/files/list', { path: '/docs' });
    await call(alice, '/v1/files/list2', { uuid: dir.uuid });
    const got = await call(alice, '/v1/files/get', { uuid: file.uuid });
    assert.equal(typeof got.downloadAddress, 'string');
    await call(alice, '/v1/files/get', { path: '/' });
    await call(alice, '/v1/files/rename', { uuid: file.uuid, name: 'c.txt' });
    await call(alice, '/v1/files/copy', { uuid: file.uuid, destPath: '/' });
    await call(alice, '/v1/files/download', { uuid: file.uuid });
    await call(alice, '/v1/preview/text', { uuid: file.uuid });
    await call(alice, '/v1/preview/image', { uuid: file.uuid });
    await call(alice, '/v1/preview/media', { uuid: file.uuid });
    const missing = await alice.raw('/v1/files/get', { path: '/nope' });
    assert.equal(missing.json.code, 'FILE_NOT_FOUND');
    assertDocumented('post', '/v1/files/get', missing.httpStatus, missing.json);

    // the upload service: blocks, and an error under its HTTP status
    const data = bytes(64 * 1024);
    const bt = await ticket(alice, { name: 'blocks.bin', path: '/docs' });
    const block = await mkblk(bt.uploadUrl, bt.token, data.length, data);
    assertDocumented('post', '/upload/mkblk/{blockSize}', block.status, block.json);
    const made = await mkfile(bt.uploadUrl, bt.token, data.length, [block.json.ctx]);
    assertDocumented('post', '/upload/mkfile/{fileSize}', made.status, made.json);
    assert.equal(fileOf(made).storeId, etagOf(data));
    const refused = await mkblk(bt.uploadUrl, 'forged', data.length, data);
    assert.equal(refused.status, 401);
    assertDocumented('post', '/upload/mkblk/{blockSize}', refused.status, refused.json);

    // offline: a torrent whose tracker answers nothing (loopback), a magnet and a bad line
    const built = makeTorrent(
      [
        { path: 'one.bin', bytes: bytes(40_000, 7) },
        { path: 'two.bin', bytes: bytes(20_000, 8) },
      ],
      { announce: ['http://127.0.0.1:9/announce'], name: 'pair' },
    );
    const tt = await ticket(alice, { name: 'pair.torrent', path: ':torrent' });
    const torrentFile = fileOf(await formUpload(tt.uploadUrl, tt.token, built.torrent));
    const parsed = await call(alice, '/v1/offline/parseTorrent', { uuid: torrentFile.uuid });
    const task = await call(alice, '/v1/offline/start', { taskHash: parsed.taskHash, files: [0], savePath: '/dl' });
    const exists = await alice.raw('/v1/offline/start', { taskHash: parsed.taskHash });
    assert.equal(exists.json.code, 'TASK_EXISTS');
    assertDocumented('post', '/v1/offline/start', exists.httpStatus, exists.json);
    await call(alice, '/v1/offline/page');
    await call(alice, '/v1/offline/list');
    const detail = await call(alice, '/v1/offline/get', { taskId: task.taskId });
    assert.ok(Array.isArray(detail.detail));
    await call(alice, '/v1/offline/edit', { taskId: task.taskId, files: [0, 1] });
    await call(alice, '/v1/offline/pause', { taskId: task.taskId });
    await call(alice, '/v1/offline/quota');
    const lines = await call(alice, '/v1/offline/parseUrl', { url: `magnet:?xt=urn:btih:${'cd'.repeat(20)}&dn=x\nnot a link` });
    assert.ok(Array.isArray(lines) && lines.length === 2 && lines[1].fail === true, JSON.stringify(lines));
    await call(alice, '/v1/offline/remove', { taskId: task.taskId, deleteFiles: true });

    // GET answers
    const time = await fetch(`${s.url}/v1/common/time`);
    assertDocumented('get', '/v1/common/time', time.status, await time.json());
  });

  test('the page for people lists every path, runs no script and allows nothing else', async () => {
    const res = await fetch(`${s.url}/v1/openapi.html`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|script-src/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.doesNotMatch(html, /<script|https?:\/\//i, 'no script, nothing from elsewhere');
    for (const path of Object.keys(doc.paths)) assert.ok(html.includes(`<code>${path.replace(/&/g, '&#38;')}</code>`), `${path} is on the page`);
    for (const name of Object.keys(doc.components.schemas)) assert.ok(html.includes(`id="shape-${name}"`), `${name} is on the page`);
  });
});

describe('response schemas document, never serialise', () => {
  test('an answer keeps fields its schema lacks and the types it has, byte for byte as JSON.stringify writes it', async () => {
    const app = createHttpServer({ logLevel: 'silent' });
    const payload = { kept: 'yes', count: '12', extra: { nested: [1, 'two', null] }, big: 2 ** 53 + 2, missing: undefined };
    app.get(
      '/x',
      { schema: { response: { 200: Type.Object({ kept: Type.String(), count: Type.Integer() }, { additionalProperties: false }) } } },
      async () => payload,
    );
    try {
      const res = await app.inject({ method: 'GET', url: '/x' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, JSON.stringify(payload));
      assert.match(res.headers['content-type'] as string, /^application\/json; charset=utf-8$/);
    } finally {
      await app.close();
    }
  });
});
