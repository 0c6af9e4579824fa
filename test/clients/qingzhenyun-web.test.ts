// 6pan's own web front end (zzzhr1990/qingzhenyun-web, Nuxt 1.4 + Vuetify 1.0 + axios, 2018)
// against openpan: every request it sends, sent as it sends it, and every answer field it reads,
// checked with the type rules of a JavaScript front end (layer `js`: the type must be exact).
//
// How it talks (read from its source, never copied):
// - Two axios instances, both with baseURL `env.baseURL` in the browser and `env.serverBaseURL`
//   when the Nuxt server renders a page (nuxt.config.js `env`; plugins/axios.js,
//   plugins/services.js). `$axios` (login, register, SMS) sends no token; `$http` adds
//   `Authorization: Bearer <token>` (plugins/services.js:29-33), stores every answer's `token`
//   (services.js:38-41), and on HTTP 401 logs out and goes to /login (services.js:43-47).
//   Endpoint errors over HTTP 200 resolve like successes (the stores read `result` only).
// - Bodies are JSON objects (axios: `Content-Type: application/json;charset=utf-8`); with no
//   body (user/info, store/login.js:125) axios sends no Content-Type at all.
// - The token lives in a cookie `token` (store/login.js:26-37); on a page load the Nuxt
//   server decodes it with jwt-decode (store/index.js:38-56) and makes it the user, after
//   replacing every top-level `{low, high}` object by a number — a `null` field throws there.
// - The browser calls the API from the front end's own origin: a CORS preflight for
//   `content-type` (login) and `authorization, content-type` (the rest); uploads go to
//   `uploadUrl` with `Authorization: <upload token>`, `UploadBatch` and
//   `Content-Type: application/octet-stream` (store/upload.js:193-200).
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTorrent, startTracker, startWebTorrentSeeder, type BuiltTorrent, type Seeder, type Tracker } from '../support/swarm.js';
import { assertFailed, assertOk, assertReads, md5hex, send, startWireServer, type Shape, type WireAnswer, type WireServer } from '../support/client-harness.js';
import { payload } from '../support/torrent-builder.js';

const ORIGIN = 'http://127.0.0.1:3000';
const USER = 'webuser';
const PASSWORD = 'web-Passw0rd';
const MiB = 1024 * 1024;
const BLOCK = 4 * MiB; // store/upload.js:8 BlockSize
const CHUNK = 1 * MiB; // store/upload.js:9 ChunkSize

// ---- what the front end reads

/** A file object as the listing, the folder chooser and ADD_FILE read it (components/home/list.vue, listMixins.js, store/files.js:80-97). */
const FILE: Shape = {
  uuid: 'string', // row key for renaming (list.vue:18,37), ADD_FILE dedupe (store/files.js:89-91)
  path: 'string', // item-key (list.vue:4), every action's argument (listMixins.js:48-88), ADD_FILE parent (store/files.js:82)
  name: 'string', // list.vue:23,48; fileTypeFilter (listMixins.js:146)
  mime: 'string', // 'application/x-directory' opens the folder (listMixins.js:92), hides download (list.vue:52)
  size: 'number', // fileSizeFilter (list.vue:74)
  ctime: 'number', // timeFilter: new Date(ctime) (list.vue:75, filters/index.js:3)
  preview: 'number', // item.preview / 100 picks the viewer (listMixins.js:129, list.vue:180)
  locking: 'bool', // disables the checkbox and menu (list.vue:13,30,54)
};

/**
 * A file the page adds to the open folder after an upload (ADD_FILE with the mkfile answer's
 * `response.result`, or with store/token's answer for an instant upload). The gateway answered
 * the bare user-file record there (userFileService.createFile): no `mime`, no `preview`; the
 * page copes (fileTypeFilter falls back to the name, `preview / 100` is NaN).
 */
const NEW_FILE: Shape = {
  uuid: 'string',
  path: 'string',
  name: 'string',
  size: 'number',
  ctime: 'number',
  locking: 'bool',
  mime: 'string?',
  preview: 'number?',
};

/** files/page (store/files.js:237-247, listHeaderMixin.js:7-23, getters.breadcrumbs). */
const PAGE: Shape = {
  list: [FILE],
  info: { path: 'string', uuid: 'string' }, // breadcrumbs split info.path (files.js:42); FAKE_MOVE compares info.uuid (files.js:134)
  page: 'int',
  pageSize: 'int',
  totalCount: 'int',
  totalPage: 'int', // new Array(totalPage) (listHeaderMixin.js:22): a non-integer throws
};

/** The user: login's result, user/info's result, and the session token's payload (components/Wrap.vue:9-12, pages/profile.vue:9-60). */
const USER_SHAPE: Shape = { name: 'string', spaceUsed: 'number', spaceCapacity: 'number', phone: 'string?' };

/** An offline task row (components/offline/list.vue:14-20, cloudStatusFilter in filters/index.js:32-42). */
const TASK: Shape = { name: 'string', savePath: 'string?', progress: 'number', createTime: 'number', status: 'int' };

// ---- sending as the front end sends

/** `$http` (plugins/services.js): the session token as a Bearer header, a JSON body, the page's Origin. */
function http(base: string, token: string, path: string, body?: Record<string, unknown>): Promise<WireAnswer> {
  const headers: Record<string, string> = { Accept: 'application/json, text/plain, */*', Authorization: `Bearer ${token}`, Origin: ORIGIN };
  if (body === undefined) return send(base, { path, headers }); // axios drops Content-Type when there is no body
  return send(base, { path, headers: { ...headers, 'Content-Type': 'application/json;charset=UTF-8' }, json: body });
}

/** The same call made by the Nuxt server while it renders a page: no Origin (serverBaseURL, same-process axios). */
function ssr(base: string, token: string, path: string, body: Record<string, unknown>): Promise<WireAnswer> {
  return send(base, {
    path,
    headers: { Accept: 'application/json, text/plain, */*', Authorization: `Bearer ${token}`, 'Content-Type': 'application/json;charset=utf-8' },
    json: body,
  });
}

/** pages/login/index.vue:73-79 → store/login.js:90: `$axios` (no token), password md5'd in the page. */
function login(base: string, value: string, password: string): Promise<WireAnswer> {
  return send(base, {
    path: '/v1/user/login',
    headers: { Accept: 'application/json, text/plain, */*', Origin: ORIGIN, 'Content-Type': 'application/json;charset=UTF-8' },
    json: { value, password: md5hex(password), countryCode: '86', rememberUsername: false, rememberMe: false },
  });
}

function jwtPayload(token: string): Record<string, unknown> {
  const parts = token.split('.');
  assert.equal(parts.length, 3, `jwt-decode needs a JWT (header.payload.signature), got ${token.slice(0, 40)}`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

/** The content hash utils/File/index.js:239-265 computes in the browser (0x16 + sha1, or 0x96 + sha1 of block sha1s; `+/` → `-_`). */
function etag(data: Buffer): string {
  const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
  if (data.length <= BLOCK) return Buffer.concat([Buffer.from([0x16]), sha1(data)]).toString('base64url');
  const blocks: Buffer[] = [];
  for (let at = 0; at < data.length; at += BLOCK) blocks.push(sha1(data.subarray(at, at + BLOCK)));
  return Buffer.concat([Buffer.from([0x96]), sha1(Buffer.concat(blocks))]).toString('base64url');
}

interface Uploaded {
  /** The store/token answer (an upload ticket, or the file itself for an instant upload). */
  ticket: any;
  /** The file object the front end adds to the listing (ADD_FILE). */
  file: any;
  instant: boolean;
}

/**
 * An upload exactly as store/upload.js + utils/File/index.js run it: hash, /v1/store/token
 * {hash, path: <folder path>, name, override}; a `uuid` in the answer means the file exists
 * (instant upload); otherwise 1 MiB chunks into 4 MiB blocks: mkblk/<blockSize>/<blockIndex>
 * for a block's first chunk, bput/<previous ctx>/<offset> for the next, then
 * mkfile/<size> with the last ctx of every block joined by commas.
 */
async function uploadAsWeb(base: string, token: string, folder: string, name: string, data: Buffer, override = false): Promise<Uploaded> {
  const hash = etag(data);
  const t = await http(base, token, '/v1/store/token', { hash, path: folder, name, override }); // store/upload.js:65-70
  const ticket = assertOk('js', t, 'store/token');
  assertReads('js', ticket, 'any', 'store/token result');
  if (ticket.uuid) {
    assertReads('js', ticket, NEW_FILE, 'store/token (instant upload) result'); // ADD_FILE(tokenInfo), store/upload.js:138
    return { ticket, file: ticket, instant: true };
  }
  assertReads('js', ticket, { uploadUrl: 'string', token: 'string' }, 'store/token result'); // File.getServerInfo: uploadUrl + '/mkblk/…', Authorization: token
  assert.match(ticket.uploadUrl, /^https?:\/\//, 'uploadUrl is absolute: the browser posts to it from another origin');
  const batch = randomUUID();
  const headers = (type: string) => ({ Authorization: ticket.token, UploadBatch: batch, 'Content-Type': type, Origin: ORIGIN });
  const ctx: string[] = [];
  const blockEnds: number[] = [];
  const chunksPerBlock = BLOCK / CHUNK;
  const blocks = Math.ceil(data.length / BLOCK);
  for (let b = 0; b < blocks; b++) {
    const blockStart = b * BLOCK;
    const blockEnd = Math.min(blockStart + BLOCK, data.length);
    for (let c = 0; c < chunksPerBlock && blockStart + c * CHUNK < blockEnd; c++) {
      const start = blockStart + c * CHUNK;
      const end = Math.min(start + CHUNK, blockEnd);
      const url = c === 0 ? `${ticket.uploadUrl}/mkblk/${blockEnd - blockStart}/${b}` : `${ticket.uploadUrl}/bput/${ctx[ctx.length - 1]}/${c * CHUNK}`;
      const res = await fetch(url, { method: 'POST', headers: headers('application/octet-stream'), body: data.subarray(start, end) });
      const text = await res.text();
      assert.equal(res.status, 200, `${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
      assert.ok(res.headers.get('access-control-allow-origin'), `${url}: the browser needs Access-Control-Allow-Origin on the upload answer`);
      const answer = JSON.parse(text);
      assert.ok(!answer.code, `${url}: a truthy "code" makes the front end throw (store/upload.js:211): ${text.slice(0, 200)}`);
      assertReads('js', answer, { ctx: 'string' }, url);
      ctx.push(answer.ctx);
      if (end === blockEnd) blockEnds.push(ctx.length - 1);
    }
  }
  const mkfile = `${ticket.uploadUrl}/mkfile/${data.length}`;
  const res = await fetch(mkfile, { method: 'POST', headers: headers('text/plain;charset=UTF-8'), body: blockEnds.map((i) => ctx[i]).join(',') });
  const text = await res.text();
  assert.equal(res.status, 200, `mkfile: HTTP ${res.status} ${text.slice(0, 300)}`);
  const done = JSON.parse(text);
  assert.ok(!done.code, `mkfile: a truthy "code" makes the front end throw (store/upload.js:254): ${text.slice(0, 200)}`);
  assertReads('js', done, { hash: 'string', response: 'string' }, 'mkfile answer');
  assert.equal(done.hash, hash, 'mkfile hash equals the hash the browser computed (store/upload.js:257)');
  const file = JSON.parse(done.response).result; // store/upload.js:260
  assertReads('js', file, NEW_FILE, 'mkfile response.result');
  return { ticket, file, instant: false };
}

/** Where ADD_FILE puts a new file: it must match files/page's info.path exactly (store/files.js:82-85). */
function parentOf(path: string): string {
  return path.split('/').slice(0, -1).join('/') || '/';
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe('6pan web front end (qingzhenyun-web) against openpan', { timeout: 240_000 }, () => {
  let s: WireServer;
  let base: string;
  let token: string;
  let tracker: Tracker;
  let seeder: Seeder;
  let built: BuiltTorrent;
  let seedDir: string;
  const notes = payload(20 * 1024 + 3, 11);
  const blob = payload(150 * 1024 + 5, 12);

  before(async () => {
    s = await startWireServer({ OPENPAN_CORS_ORIGINS: ORIGIN });
    base = s.url;
    await s.createUser(USER, PASSWORD);
    const r = await login(base, USER, PASSWORD);
    assertOk('js', r, 'login');
    token = r.body.token;
    tracker = await startTracker();
    built = makeTorrent(
      [
        { path: 'notes.txt', bytes: notes },
        { path: 'data/blob.bin', bytes: blob },
      ],
      { name: 'web-pack', announce: [tracker.httpUrl] },
    );
    seedDir = mkdtempSync(join(tmpdir(), 'openpan-qzweb-seed-'));
    seeder = await startWebTorrentSeeder(built, seedDir, tracker);
  });

  after(async () => {
    await seeder?.close();
    await tracker?.close();
    if (seedDir) rmSync(seedDir, { recursive: true, force: true });
    await s?.close();
  });

  describe('CORS: the front end calls the API from its own origin', () => {
    it('answers the preflight of login (content-type) for a listed origin', async () => {
      const r = await send(base, {
        path: '/v1/user/login',
        method: 'OPTIONS',
        headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
      });
      assert.ok(r.httpStatus >= 200 && r.httpStatus < 300, `preflight: HTTP ${r.httpStatus}`);
      assert.ok([ORIGIN, '*'].includes(r.headers.get('access-control-allow-origin') ?? ''), `Allow-Origin: ${r.headers.get('access-control-allow-origin')}`);
      assert.match(r.headers.get('access-control-allow-headers') ?? '', /content-type|\*/i);
      const methods = r.headers.get('access-control-allow-methods');
      if (methods !== null) assert.match(methods, /POST|\*/);
    });

    it('answers the preflight of a $http call (authorization, content-type)', async () => {
      const r = await send(base, {
        path: '/v1/files/page',
        method: 'OPTIONS',
        headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
      });
      assert.ok(r.httpStatus >= 200 && r.httpStatus < 300, `preflight: HTTP ${r.httpStatus}`);
      const allowed = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      assert.ok(allowed === '*' || (allowed.includes('authorization') && allowed.includes('content-type')), `Allow-Headers: ${allowed}`);
    });

    it('puts Access-Control-Allow-Origin on the answers themselves, errors and 401 included', async () => {
      const ok = await login(base, USER, PASSWORD);
      assert.ok([ORIGIN, '*'].includes(ok.headers.get('access-control-allow-origin') ?? ''), 'on a success');
      const bad = await http(base, 'not-a-token', '/v1/files/page', { path: '' });
      assert.equal(bad.httpStatus, 401);
      assert.ok(bad.headers.get('access-control-allow-origin'), 'on a 401, or the page cannot see the status and never logs out');
    });

    it('does not open the API to an origin that is not listed', async () => {
      const r = await send(base, {
        path: '/v1/user/login',
        method: 'OPTIONS',
        headers: { Origin: 'http://127.0.0.1:4444', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
      });
      assert.notEqual(r.headers.get('access-control-allow-origin'), 'http://127.0.0.1:4444');
    });

    it('answers the preflight of an upload (authorization, content-type, uploadbatch) for any origin', async () => {
      const t = assertOk(
        'js',
        await http(base, token, '/v1/store/token', { hash: etag(Buffer.from('preflight')), path: '/', name: 'pf.txt', override: false }),
        'store/token',
      );
      const r = await send(t.uploadUrl, {
        path: '/mkblk/9/0',
        method: 'OPTIONS',
        headers: {
          Origin: 'http://127.0.0.1:4444',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization,content-type,uploadbatch',
        },
      });
      assert.ok(r.httpStatus >= 200 && r.httpStatus < 300, `upload preflight: HTTP ${r.httpStatus}`);
      assert.ok(r.headers.get('access-control-allow-origin'));
      const allowed = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const h of ['authorization', 'content-type', 'uploadbatch'])
        assert.ok(allowed === '*' || allowed.includes(h), `Allow-Headers lacks ${h}: ${allowed}`);
    });
  });

  describe('logging in and staying logged in', () => {
    it('logs in with value + md5 password and answers the user and a token the page keeps', async () => {
      const r = await login(base, USER, PASSWORD);
      const user = assertOk('js', r, 'login');
      assertReads('js', r.body, { token: 'string' }, 'login envelope'); // store/login.js:89,101
      assertReads('js', user, USER_SHAPE, 'login result');
      assert.equal(user.name, USER);
    });

    it('refuses a wrong password or an unknown user over HTTP 200 with a code its dictionary translates', async () => {
      // store/login.js:103-107 shows i18n.t('LOGIN_' + code); lang/zh-CN.js:6-9 knows
      // PHONE_REQUIRED, PASSWORD_REQUIRED, USER_LOGIN_FAILED and USER_NOT_FOUND (HalalCloud's
      // login widget checks the same two codes). Any other code is shown as the raw key.
      for (const [value, password] of [
        [USER, 'wrong-password'],
        ['nobody-here', 'whatever'],
      ]) {
        const r = await login(base, value, password);
        assert.equal(r.httpStatus, 200, 'the login page reads success/code from a 200 (store/login.js:98-108)');
        assertReads('js', r.body, { success: 'bool', code: 'string', message: 'string', status: 'int' }, 'login refused');
        assert.equal(r.body.success, false);
        assert.ok(
          ['USER_LOGIN_FAILED', 'USER_NOT_FOUND'].includes(r.body.code),
          `login of ${value}: code ${r.body.code} is shown as the raw key "LOGIN_${r.body.code}"`,
        );
      }
    });

    it('issues a JWT whose payload the Nuxt server can decode into the user (no null field, the name)', async () => {
      const payload = jwtPayload(token);
      assert.ok(payload && typeof payload === 'object');
      // store/index.js:10-18: `typeof v === 'object' && v.low !== undefined` on every field: null throws.
      for (const [k, v] of Object.entries(payload)) assert.notEqual(v, null, `JWT payload field "${k}" is null: formatNumber throws and every page load fails`);
      // Wrap.vue shows user.name, user.spaceUsed, user.spaceCapacity; profile.vue user.phone.
      assertReads('js', payload, { name: 'string', phone: 'string?', spaceUsed: 'number?', spaceCapacity: 'number?' }, 'JWT payload');
      assert.equal(payload.name, USER);
    });

    it('refreshes the token in every $http answer, and the refreshed one is a JWT that works', async () => {
      const r = await http(base, token, '/v1/files/page', { path: '', orderBy: -1, page: 1, pageSize: 20 });
      assertOk('js', r, 'files/page');
      assertReads('js', r.body, { token: 'string' }, 'files/page envelope'); // services.js:38-41 → cookie
      jwtPayload(r.body.token);
      assertOk('js', await http(base, r.body.token, '/v1/user/info'), 'user/info with the refreshed token');
    });

    it('answers user/info sent with no body and no Content-Type (the refresh on mount)', async () => {
      const r = await http(base, token, '/v1/user/info'); // store/login.js:125 with opts undefined
      const user = assertOk('js', r, 'user/info');
      assertReads('js', user, USER_SHAPE, 'user/info result');
    });

    it('serves a page rendered by the Nuxt server (the cookie token as Bearer, no Origin)', async () => {
      assertOk('js', await ssr(base, token, '/v1/offline/page', { page: 1, pageSize: 20, orderBy: -1 }), 'offline/page from the Nuxt server');
      assertOk(
        'js',
        await ssr(base, token, '/v1/files/page', { path: '', page: '1', recycle: 1, pageSize: 20, orderBy: -1 }),
        'recycle page from the Nuxt server (page from the query string)',
      );
    });

    it('answers a missing or bad token with HTTP 401, which sends the page back to /login', async () => {
      assert.equal((await send(base, { path: '/v1/files/page', headers: { Origin: ORIGIN }, json: { path: '' } })).httpStatus, 401);
      assert.equal((await http(base, `${token}x`, '/v1/files/page', { path: '' })).httpStatus, 401);
    });
  });

  describe('the drive', () => {
    it('lists the root as the home page asks (path "", orderBy -1): info.path is "/"', async () => {
      const r = await http(base, token, '/v1/files/page', { path: '', orderBy: -1, page: 1, pageSize: 20 }); // pages/home/_path.vue:60-64, store/files.js:241-245
      const page = assertOk('js', r, 'files/page');
      assertReads('js', page, PAGE, 'files/page result');
      assert.equal(page.info.path, '/', 'breadcrumbs (store/files.js:42-44) and ADD_FILE (files.js:82-83) need "/" for the root');
      assert.equal(page.page, 1);
      assert.ok(page.totalPage >= 0);
    });

    it('creates a folder in the root from info.path, answering a path whose parent is info.path', async () => {
      const r = await http(base, token, '/v1/files/createDirectory', { path: '/', name: 'from-web' }); // components/home/topHeaderMixin.js:25-28
      const dir = assertOk('js', r, 'createDirectory');
      assertReads('js', dir, FILE, 'createDirectory result');
      assert.equal(dir.path, '/from-web');
      assert.equal(dir.mime, 'application/x-directory');
      assert.equal(parentOf(dir.path), '/');
      const again = assertOk('js', await http(base, token, '/v1/files/createDirectory', { path: '/', name: 'from-web' }), 'createDirectory again');
      assert.equal(again.uuid, dir.uuid, 'the same name again answers the existing folder (store/files.js:87-91)');
    });

    it('creates a folder from the folder chooser, whose root is path ""', async () => {
      const dir = assertOk('js', await http(base, token, '/v1/files/createDirectory', { path: '', name: 'chosen' }), 'createDirectory'); // components/toolkit/selectFolder/index.vue:256-259
      assert.equal(dir.path, '/chosen');
      const sub = assertOk('js', await http(base, token, '/v1/files/createDirectory', { path: '/chosen', name: 'inner' }), 'createDirectory in a folder');
      assert.equal(sub.path, '/chosen/inner');
    });

    it('lists a folder opened from the list (path "/from-web"): info.path has no trailing slash', async () => {
      const page = assertOk('js', await http(base, token, '/v1/files/page', { path: '/from-web', orderBy: -1, page: 1, pageSize: 20 }), 'files/page');
      assertReads('js', page, PAGE, 'files/page result');
      assert.equal(page.info.path, '/from-web');
    });

    it('lists only folders, as a bare array, for the folder chooser (type 1, size 999)', async () => {
      await uploadAsWeb(base, token, '/', 'not-a-folder.txt', Buffer.from('a file next to the folders'));
      const r = await http(base, token, '/v1/files/list', { path: '', pageSize: 999, type: 1, size: 999 }); // store/files.js:359-362, selectFolder/index.vue:177-180
      const list = assertOk('js', r, 'files/list');
      assertReads('js', list, [{ uuid: 'string', path: 'string', name: 'string' }], 'files/list result'); // result.map (selectFolder/index.vue:182)
      const paths = list.map((f: { path: string }) => f.path).sort();
      assert.deepEqual(paths, ['/chosen', '/from-web'], 'folders only, each path "/" + name (isNeedShow splits it, selectFolder/index.vue:152-161)');
      const inner = assertOk('js', await http(base, token, '/v1/files/list', { path: '/chosen', pageSize: 999, type: 1, size: 999 }), 'files/list of a folder');
      assert.deepEqual(
        inner.map((f: { path: string }) => f.path),
        ['/chosen/inner'],
      );
    });

    it('sorts as the table headers ask: orderBy 2/3 name ascending/descending, 12/13 size', async () => {
      await uploadAsWeb(base, token, '/chosen', 'b-small.txt', Buffer.from('b'));
      await uploadAsWeb(base, token, '/chosen', 'a-large.txt', Buffer.from('a much larger file than the other one'));
      await uploadAsWeb(base, token, '/chosen', 'c-middle.txt', Buffer.from('c middle size'));
      const files = async (orderBy: number) => {
        const page = assertOk(
          'js',
          await http(base, token, '/v1/files/page', { path: '/chosen', page: 1, orderBy, pageSize: 20 }),
          `files/page orderBy ${orderBy}`,
        ); // list.vue:106-125
        return page.list.filter((f: { mime: string }) => f.mime !== 'application/x-directory').map((f: { name: string }) => f.name);
      };
      assert.deepEqual(await files(2), ['a-large.txt', 'b-small.txt', 'c-middle.txt']);
      assert.deepEqual(await files(3), ['c-middle.txt', 'b-small.txt', 'a-large.txt']);
      assert.deepEqual(await files(12), ['b-small.txt', 'c-middle.txt', 'a-large.txt']);
      assert.deepEqual(await files(13), ['a-large.txt', 'c-middle.txt', 'b-small.txt']);
    });

    it('uploads as the browser does (1 MiB chunks, mkblk/bput/mkfile) into the folder shown', async () => {
      const data = payload(5 * MiB + 12345, 21); // two blocks: mkblk, bput ×3, mkblk, bput, mkfile
      const up = await uploadAsWeb(base, token, '/from-web', 'big.bin', data);
      assert.equal(up.instant, false);
      assert.equal(up.file.path, '/from-web/big.bin');
      assert.equal(parentOf(up.file.path), '/from-web', 'ADD_FILE shows it in the open folder');
      assert.equal(up.file.size, data.length);
      const page = assertOk('js', await http(base, token, '/v1/files/page', { path: '/from-web', orderBy: -1, page: 1, pageSize: 20 }), 'files/page');
      assert.ok(page.list.some((f: { uuid: string }) => f.uuid === up.file.uuid));
    });

    it('answers known content at once with the file itself (a uuid), which the page adds to the list', async () => {
      const data = payload(70 * 1024, 22);
      await uploadAsWeb(base, token, '/', 'first.bin', data);
      const again = await uploadAsWeb(base, token, '/from-web', 'second.bin', data);
      assert.equal(again.instant, true, 'File.isExisted: tokenInfo.uuid (utils/File/index.js:348-355)');
      assert.equal(again.file.path, '/from-web/second.bin');
      assert.equal(again.file.name, 'second.bin');
    });

    it('downloads from files/get: downloadAddress and name, served as an attachment', async () => {
      const data = payload(300 * 1024 + 1, 23);
      await uploadAsWeb(base, token, '/from-web', 'dl.bin', data);
      const r = await http(base, token, '/v1/files/get', { path: '/from-web/dl.bin' }); // listMixins.js:47-53
      const file = assertOk('js', r, 'files/get');
      assertReads('js', file, { downloadAddress: 'string', name: 'string' }, 'files/get result'); // openDownloadSource (listMixins.js:61-73)
      assert.match(file.downloadAddress, /^https?:\/\//, 'an <a href> on another origin: absolute');
      // A plain navigation: no token header, no Origin. The <a download> attribute is ignored
      // across origins, so only Content-Disposition: attachment keeps the page where it is.
      const res = await fetch(file.downloadAddress);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-disposition') ?? '', /^attachment/i);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), data);
    });

    it('renames, copies, moves and recycles by path as the list menu does', async () => {
      await uploadAsWeb(base, token, '/', 'menu.txt', Buffer.from('menu item'));
      assertOk('js', await http(base, token, '/v1/files/rename', { path: '/menu.txt', name: 'renamed.txt' }), 'files/rename'); // listMixins.js:77-80
      assertOk('js', await http(base, token, '/v1/files/copy', { path: ['/renamed.txt'], destPath: '/chosen' }), 'files/copy'); // list.vue:239-244
      assertOk('js', await http(base, token, '/v1/files/move', { path: ['/renamed.txt'], destPath: '/from-web' }), 'files/move'); // list.vue:221-226
      assertOk('js', await http(base, token, '/v1/files/remove', { path: ['/chosen/renamed.txt'], recycle: 1 }), 'files/remove'); // listMixins.js:84-88, store/files.js:221-223
      const root = assertOk('js', await http(base, token, '/v1/files/list', { path: '', size: 999 }), 'files/list');
      assert.ok(!root.some((f: { path: string }) => f.path === '/renamed.txt'));
      const inFolder = assertOk('js', await http(base, token, '/v1/files/list', { path: '/from-web', size: 999 }), 'files/list');
      assert.ok(inFolder.some((f: { path: string }) => f.path === '/from-web/renamed.txt'));
      const chosen = assertOk('js', await http(base, token, '/v1/files/list', { path: '/chosen', size: 999 }), 'files/list');
      assert.ok(!chosen.some((f: { path: string }) => f.path === '/chosen/renamed.txt'));
    });

    it('answers a folder that does not exist over HTTP 200 (the page shows a message, it does not log out)', async () => {
      assertFailed('js', await http(base, token, '/v1/files/page', { path: '/nowhere', orderBy: -1, page: 1, pageSize: 20 }), 'files/page', {
        status: 404,
        code: 'FILE_NOT_FOUND',
      });
    });

    it('answers the recycle page (files/page with recycle 1; files/recycle, a route 6pan never had) without HTTP 401', async () => {
      // pages/recycle/_path.vue:28-31 + store/recycle.js:88-92; recovery posts /v1/files/recycle (store/recycle.js:64).
      assertReads(
        'js',
        assertOk('js', await http(base, token, '/v1/files/page', { path: '', page: 1, recycle: 1, pageSize: 20, orderBy: -1 }), 'recycle page'),
        PAGE,
        'recycle page result',
      );
      const r = await http(base, token, '/v1/files/recycle', { path: '/from-web/dl.bin', recycle: 0 });
      assert.notEqual(r.httpStatus, 401, 'a 401 would log the user out');
      assertReads('js', r.body, { success: 'bool', message: 'string' }, 'files/recycle answer'); // getErrorMsg shows data.message
    });

    it('answers the preview calls of the viewer pages without HTTP 401', async () => {
      // pages/v/_path.vue:31 dispatches preview/<type> with {path}; store/preview.js posts
      // /v1/preview/audio, /v1/preview/media, /v1/preview/image, /v1/preview/text.
      for (const kind of ['image', 'media', 'audio', 'text']) {
        const r = await http(base, token, `/v1/preview/${kind}`, { path: '/from-web/dl.bin' });
        assert.notEqual(r.httpStatus, 401, `preview/${kind}: a 401 would log the user out`);
        assert.ok(r.body && typeof r.body === 'object', `preview/${kind}: a JSON envelope, got ${r.text.slice(0, 120)}`);
      }
    });
  });

  describe('offline download', () => {
    const magnet = () => `magnet:?xt=urn:btih:${built.infoHash}&dn=web-pack&tr=${encodeURIComponent(tracker.httpUrl)}`;
    /** A user has one task per torrent: each start below follows the removal of the one before (files kept). */
    const removeTasks = async () => {
      const p = assertOk('js', await http(base, token, '/v1/offline/page', { page: 1, pageSize: 100 }), 'offline/page');
      const ids = p.list.map((t: { taskId: string }) => t.taskId);
      if (ids.length > 0) assertOk('js', await http(base, token, '/v1/offline/remove', { taskId: ids }), 'offline/remove');
    };

    it('parses a magnet link pasted in the prompt: taskHash, and files (path, size) when known', async () => {
      const r = await http(base, token, '/v1/offline/parseUrl', { url: magnet() }); // components/offline/topHeaderMixin.js:50-53
      const parsed = assertOk('js', r, 'offline/parseUrl');
      assertReads('js', parsed, { taskHash: 'string' }, 'parseUrl result');
      // `!result.files` means "all files" (topHeaderMixin.js:56); an array goes to the file list dialog.
      if (parsed.files !== undefined && parsed.files !== null) assertReads('js', parsed.files, [{ path: 'string', size: 'number' }], 'parseUrl result.files');
    });

    it('starts a magnet task with copyFile "*" into a chosen folder, and lists it', async () => {
      const parsed = assertOk('js', await http(base, token, '/v1/offline/parseUrl', { url: magnet() }), 'offline/parseUrl');
      const started = await http(base, token, '/v1/offline/start', { taskHash: parsed.taskHash, copyFile: '*', savePath: '/from-web' }); // topHeaderMixin.js:56-75
      assertOk('js', started, 'offline/start');
      const page = await waitFor('the task to finish', async () => {
        const p = assertOk('js', await http(base, token, '/v1/offline/page', { page: 1, pageSize: 20, orderBy: -1 }), 'offline/page'); // store/offline.js:57-60
        const t = p.list.find((x: { name: string }) => x.name === 'web-pack');
        return t && t.progress === 100 ? p : undefined;
      });
      assertReads('js', page, { list: [TASK], page: 'int', pageSize: 'int', totalCount: 'int', totalPage: 'int' }, 'offline/page result');
      const task = page.list.find((x: { name: string }) => x.name === 'web-pack');
      assert.equal(task.savePath, '/from-web', 'the list shows savePath (components/offline/list.vue:17)');
      const inFolder = assertOk('js', await http(base, token, '/v1/files/list', { path: '/from-web/web-pack', size: 999 }), 'files/list');
      assert.ok(inFolder.some((f: { name: string }) => f.name === 'notes.txt'));
    });

    it('starts into the root when the chooser is left on 根目录 (savePath "")', async () => {
      await removeTasks();
      const parsed = assertOk('js', await http(base, token, '/v1/offline/parseUrl', { url: magnet() }), 'offline/parseUrl');
      assertOk('js', await http(base, token, '/v1/offline/start', { taskHash: parsed.taskHash, copyFile: '*', savePath: '' }), 'offline/start into ""');
      await waitFor('web-pack in the root', async () => {
        const root = assertOk('js', await http(base, token, '/v1/files/list', { path: '', size: 999 }), 'files/list');
        return root.some((f: { path: string }) => f.path === '/web-pack');
      });
    });

    it('uploads a .torrent to :torrent (override), parses it by uuid, and starts the files picked by position', async () => {
      await removeTasks();
      const up = await uploadAsWeb(base, token, ':torrent', 'web-pack.torrent', built.torrent, true); // components/offline/topHeaderMixin.js:148-153
      const uuid = up.file.uuid;
      assertReads('js', uuid, 'string', 'uploaded torrent uuid'); // File.getUuid, then parseTorrent {uuid}
      const parsed = assertOk('js', await http(base, token, '/v1/offline/parseTorrent', { uuid }), 'offline/parseTorrent'); // topHeaderMixin.js:156-159
      assertReads('js', parsed, { taskHash: 'string', files: [{ path: 'string', size: 'number' }] }, 'parseTorrent result');
      // components/offline/fileSelectList.vue:107-122: the selection is sent as positions in `files`, "1" or "0,1", "*" for all.
      const position = parsed.files.findIndex((f: { path: string }) => f.path.endsWith('blob.bin'));
      assert.ok(position >= 0, `files: ${JSON.stringify(parsed.files)}`);
      assertOk(
        'js',
        await http(base, token, '/v1/offline/start', { taskHash: parsed.taskHash, copyFile: String(position), savePath: '/chosen' }),
        'offline/start with positions',
      );
      const landed = await waitFor('the picked file', async () => {
        const r = await http(base, token, '/v1/files/list', { path: '/chosen/web-pack', size: 999 });
        return r.body?.success ? (r.body.result as { name: string }[]) : undefined;
      });
      await sleep(500);
      const names = assertOk('js', await http(base, token, '/v1/files/list', { path: '/chosen/web-pack', size: 999 }), 'files/list').map(
        (f: { name: string }) => f.name,
      );
      assert.ok(landed.length > 0);
      assert.ok(!names.includes('notes.txt'), `only the picked file: ${names}`);
      const deep = assertOk('js', await http(base, token, '/v1/files/list', { path: '/chosen/web-pack/data', size: 999 }), 'files/list');
      assert.deepEqual(
        deep.map((f: { name: string }) => f.name),
        ['blob.bin'],
      );
    });

    it('answers the delete button ({taskHash: [row.taskHash]}) over HTTP 200, and removes a task by taskId', async () => {
      const page = assertOk('js', await http(base, token, '/v1/offline/page', { page: 1, pageSize: 20, orderBy: -1 }), 'offline/page');
      const task = page.list[0];
      // components/offline/listMixin.js:27-30 sends the row's taskHash; 6pan's gateway reads taskId only.
      const r = await http(base, token, '/v1/offline/remove', { taskHash: [task.taskHash ?? null] });
      assert.equal(r.httpStatus, 200, `offline/remove as the page sends it: HTTP ${r.httpStatus} ${r.text.slice(0, 200)}`);
      assertReads('js', r.body, { success: 'bool', code: 'string' }, 'offline/remove envelope');
      const id = task.taskId;
      assertReads('js', id, 'any', 'task.taskId');
      assertOk('js', await http(base, token, '/v1/offline/remove', { taskId: [id] }), 'offline/remove by taskId');
      const after = assertOk('js', await http(base, token, '/v1/offline/page', { page: 1, pageSize: 20, orderBy: -1 }), 'offline/page');
      assert.ok(!after.list.some((t: { taskId: unknown }) => t.taskId === id));
    });
  });

  describe('the SMS and account pages', () => {
    it('answers the SMS code requests of the register, SMS login and forgotten-password pages with SMS_UNAVAILABLE over HTTP 200', async () => {
      // store/regist.js:57, store/login.js:151, store/ipp.js:57: `$axios`, {countryCode, phone}.
      for (const path of ['/v1/user/sendRegisterMessage', '/v1/user/sendLoginMessage', '/v1/user/sendChangePasswordMessage2']) {
        const r = await send(base, {
          path,
          headers: { Origin: ORIGIN, 'Content-Type': 'application/json;charset=UTF-8' },
          json: { countryCode: '86', phone: '13800000000' },
        });
        assertFailed('js', r, path, { status: r.body?.status ?? 0, code: 'SMS_UNAVAILABLE' });
      }
    });

    it('answers the register form (md5 password, an SMS code it never got) over HTTP 200, and a user it makes can log in from the login page', async () => {
      // pages/regist.vue:155-160 → store/regist.js:67: {code, name, phoneInfo, password: md5}.
      const r = await send(base, {
        path: '/v1/user/register',
        headers: { Origin: ORIGIN, 'Content-Type': 'application/json;charset=UTF-8' },
        json: { code: '123456', name: 'webreg', phoneInfo: '', password: md5hex('reg-Passw0rd') },
      });
      assert.equal(r.httpStatus, 200, `register: HTTP ${r.httpStatus} ${r.text.slice(0, 200)}`);
      assertReads('js', r.body, { success: 'bool', code: 'string' }, 'register envelope');
      if (r.body.success) {
        assertReads('js', r.body, { token: 'string' }, 'register envelope'); // SET_TOKEN (store/regist.js:70)
        jwtPayload(r.body.token);
        assertOk('js', await login(base, 'webreg', 'reg-Passw0rd'), 'login after the web registered the account');
      }
    });

    it('never locks the user out when the profile page changes the password (it sends both in clear)', async () => {
      await s.createUser('pwuser', 'old-Passw0rd');
      const first = await login(base, 'pwuser', 'old-Passw0rd');
      assertOk('js', first, 'login');
      const t = first.body.token as string;
      // pages/profile.vue:194-197 → store/pwd.js:30: {newPassword, oldPassword}, not md5'd.
      const r = await http(base, t, '/v1/user/changePassword', { newPassword: 'new-Passw0rd', oldPassword: 'old-Passw0rd' });
      assert.equal(r.httpStatus, 200, `changePassword: HTTP ${r.httpStatus} ${r.text.slice(0, 200)}`);
      assertReads('js', r.body, { success: 'bool', code: 'string' }, 'changePassword envelope');
      // Whatever it answered, the login page (md5 of what is typed) gets in with one of them.
      const now = r.body.success ? 'new-Passw0rd' : 'old-Passw0rd';
      assertOk('js', await login(base, 'pwuser', now), `login with the ${r.body.success ? 'new' : 'old'} password`);
    });
  });

  describe('logging out', () => {
    it('logs out ({time}) and the old token then answers HTTP 401', async () => {
      const r = await login(base, USER, PASSWORD);
      const mine = r.body.token as string;
      assertOk('js', await http(base, mine, '/v1/user/logout', { time: Date.now() }), 'user/logout'); // store/login.js:136-138
      assert.equal((await http(base, mine, '/v1/files/page', { path: '' })).httpStatus, 401);
    });
  });
});
