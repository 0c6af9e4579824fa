// Conformance of openpan's /v1 wire layer with one real 6pan client:
//
//   qingzhenyun-lite-cf, the desktop client (C++, wxWidgets + cpprestsdk), github
//   zzzhr1990/qingzhenyun-lite-cf at commit 5686e6f33bdbafc1a0d39981361bd091ac081b35 (2018-11-13).
//
// Transport (src/api_model/base/base_api_model.h:61-133): every call is `POST https://api.6pan.cn
// /v1/...` with a cpprest `json::value` body (`Content-Type: application/json`, `Accept:
// application/json`). The token travels in a `Token` header (no `Bearer`), only when the client
// holds one; whenever an answer has a `token` field the client keeps it for the next calls.
// JSON layer: cpprest (`at()` throws on a missing field; `as_string()`/`as_integer()`/`as_bool()`
// throw on any other JSON type, null included). Of the envelope it reads `success` with
// `as_bool()` always, and `token`, `message`, `code`, `status` with `has_field` then `as_*()`: so
// `success` must be a boolean on every answer, the others absent or typed, never null; `status`
// in the body replaces the HTTP status.
//
// Upload (src/wcs/wcs_toolbox.cpp): the WCS block protocol at `uploadUrl`, whole 4 MiB blocks in
// one `mkblk/<size>/<index>` each (never `bput`), then `mkfile/<size>`; `Authorization: <upload
// token>` (raw) and `UploadBatch: <62 shuffled chars>-<user uuid>` on both. Only .torrent files
// are uploaded, to `:torrent/<file name>`, before `offline/parseTorrent`.
//
// Endpoints it sends (all live code; the rest of the app is commented out "TODO:FIX"):
//   /v1/user/login, /v1/user/info, /v1/user/logout, /v1/user/changeNameAndGet,
//   /v1/user/sendRegisterMessage (also from the login dialog's SMS tab), /v1/user/loginByMessage
//   and /v1/user/register (both only after sendRegisterMessage gave a phoneInfo),
//   /v1/files/page, /v1/files/list2, /v1/files/createDirectory, /v1/store/token,
//   {uploadUrl}/mkblk/{size}/{index}, {uploadUrl}/mkfile/{size},
//   /v1/offline/parseTorrent, /v1/offline/parseUrl, /v1/offline/start, /v1/offline/page.
// It never calls files/get, download, rename, move, copy, remove, bput, form upload, or
// offline/remove (those menu items are commented out).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTorrent, startTracker, startWebTorrentSeeder, type BuiltTorrent, type Seeder, type Tracker } from '../support/swarm.js';
import {
  assertOk,
  assertReads,
  md5hex,
  send,
  startWireServer,
  type JsonLayer,
  type Shape,
  type WireAnswer,
  type WireServer,
} from '../support/client-harness.js';

const LAYER: JsonLayer = 'cpprest';
const KiB = 1024;
const BLOCK = 4 * 1024 * 1024;
const OFFLINE_TIMEOUT = 150_000;

// ---- what the client reads ----

/**
 * The envelope as base_api_model.h:80-98 reads every answer, success or not: the body must be a
 * JSON object (extract_json), `success` a boolean (`v[U("success")].as_bool()`), and `token`,
 * `message`, `code` strings and `status` an integer when present (has_field, then as_*: a null
 * throws, the call is lost and the client sees garbage).
 */
function assertEnvelopeReadable(a: WireAnswer, where: string): void {
  assert.ok(
    a.body !== null && typeof a.body === 'object' && !Array.isArray(a.body),
    `${where}: HTTP ${a.httpStatus}, not a JSON object: ${a.text.slice(0, 200)}`,
  );
  assertReads(LAYER, a.body.success, 'bool', `${where}.success`);
  for (const field of ['token', 'message', 'code'] as const) {
    if (field in a.body) assertReads(LAYER, a.body[field], 'string', `${where}.${field}`);
  }
  if ('status' in a.body) assertReads(LAYER, a.body.status, 'int', `${where}.status`);
}

/** A field the client guards with `has_field` before `as_*()`: absent is fine, null is not. */
function assertGuarded(obj: Record<string, unknown>, field: string, kind: string, where: string): void {
  if (field in obj) assertReads(LAYER, obj[field], kind, `${where}.${field}`);
}

/** What `success` and `status` mean to the client after a call (status from the body wins). */
function statusSeen(a: WireAnswer): number {
  return typeof a.body?.status === 'number' ? a.body.status : a.httpStatus;
}

// The user object: uuid read with as_number().to_int64() (api_user_model.cpp:126, the upload
// batch id) and must exist for the client to count itself logged in (api_user_model.cpp:76);
// name with at().as_string() (userdialog.cpp:131); spaceUsed/spaceCapacity with
// at().as_number().to_int64() (userdialog.cpp:163-164, mainframe.cpp:451).
const USER_SHAPE: Shape = { uuid: 'int', name: 'string', spaceUsed: 'number', spaceCapacity: 'number' };

// A row of the file list, my_remote_file.cpp:769-802 (type, locking, name, size, ext, ctime) and
// :510-511 (path, type when a row is opened). `preview` is has_field-guarded (:521-522).
const FILE_ROW_SHAPE: Shape = { type: 'int', locking: 'bool', name: 'string', size: 'number', ext: 'string', ctime: 'number', path: 'string' };

// files/page, api_remote_file_model.cpp:77-90: info.path/uuid/parent as strings, page,
// pageSize, totalPage with as_integer, list as an array.
const PAGE_SHAPE: Shape = {
  info: { path: 'string', uuid: 'string', parent: 'string' },
  page: 'int',
  pageSize: 'int',
  totalPage: 'int',
  list: [FILE_ROW_SHAPE],
};

// files/list2 for the folder tree of the move / save-to dialog, remove_file_select.cpp:247-257.
const LIST2_SHAPE: Shape = { info: { path: 'string' }, list: [{ name: 'string', path: 'string' }] };

// offline/page, api_offline_task_model.cpp:53-59, rows offline_download_task_panel.cpp:633-672:
// name as_string, size as_number, progress as_integer (a double would be truncated, not thrown),
// status as_integer, createTime as_number; errorCode as_integer only when status < 0.
const TASK_PAGE_SHAPE: Shape = {
  page: 'int',
  pageSize: 'int',
  totalPage: 'int',
  list: [{ name: 'string', size: 'number', progress: 'number', status: 'int', createTime: 'number' }],
};

function checkFileRows(list: any[], where: string): void {
  list.forEach((row, i) => {
    assertGuarded(row, 'preview', 'int', `${where}.list[${i}]`);
  });
}

function checkTaskPage(result: any, where: string): void {
  assertReads(LAYER, result, TASK_PAGE_SHAPE, where);
  result.list.forEach((t: any, i: number) => {
    if (t.status < 0) assertReads(LAYER, t.errorCode, 'int', `${where}.list[${i}].errorCode`);
  });
}

// ---- the client, replayed ----

/**
 * The content hash as the client computes it before store/token (wcs_toolbox.cpp:61-122):
 * SHA-1 per 4 MiB block; exactly one block → 0x16 + that SHA-1, otherwise 0x96 + SHA-1 of the
 * concatenated block SHA-1s; URL-safe base64. (An empty file has no block and so gets 0x96 +
 * SHA-1 of nothing, unlike the standard etag; the client never uploads one.)
 */
function clientEtag(data: Buffer): string {
  const digests: Buffer[] = [];
  for (let at = 0; at < data.length; at += BLOCK)
    digests.push(
      createHash('sha1')
        .update(data.subarray(at, at + BLOCK))
        .digest(),
    );
  const head =
    digests.length === 1
      ? Buffer.concat([Buffer.from([0x16]), digests[0]])
      : Buffer.concat([Buffer.from([0x96]), createHash('sha1').update(Buffer.concat(digests)).digest()]);
  return head.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** api_user_model.cpp:123-129: the UploadBatch value, 62 shuffled characters, '-', the user's uuid. */
function uploadBatch(userUuid: number): string {
  const chars = [...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'];
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomBytes(1)[0] % (i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return `${chars.join('')}-${userUuid}`;
}

/** One desktop client: a token store and post_json (base_api_model.h:61-133). */
class LiteCf {
  token = '';
  user: any = null;

  constructor(readonly base: string) {}

  async post(path: string, json: unknown): Promise<WireAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== '') headers.Token = this.token;
    const a = await send(this.base, { path, json, headers });
    assertEnvelopeReadable(a, path);
    // base_api_model.h:81-84: any answer with a token replaces the stored one.
    if ('token' in a.body) this.token = a.body.token;
    return a;
  }

  /** api_user_model.cpp:30-39; countryCode is "" for every choice but the last (common_constants_wx.cpp:26-35). */
  login(value: string, typed: string): Promise<WireAnswer> {
    return this.post('/v1/user/login', { countryCode: '', value, password: md5hex(typed) });
  }

  /** api_user_model.cpp:41-46: `time` is an int32 number of seconds. */
  info(): Promise<WireAnswer> {
    return this.post('/v1/user/info', { time: Math.floor(Date.now() / 1000) });
  }

  /** api_remote_file_model.cpp:14-27 (GotoPath, refresh): path, page, pageSize, order (-1). */
  page(path: string, page = 1, pageSize = 50): Promise<WireAnswer> {
    return this.post('/v1/files/page', { path, page, pageSize, order: -1 });
  }

  /** api_remote_file_model.cpp:150-163 (GotoUUID: "..", parent button): uuid "" and no path. */
  up(): Promise<WireAnswer> {
    return this.post('/v1/files/page', { uuid: '', page: 1, pageSize: 50, order: -1 });
  }

  /** api_remote_file_model.cpp:29-42 from remove_file_select.cpp:225-226: directories only. */
  tree(path: string): Promise<WireAnswer> {
    return this.post('/v1/files/list2', { path, start: -1, size: 50, order: -1, type: 1 });
  }

  /** api_remote_file_model.cpp:172-181 (my_remote_file.cpp:581): the current directory and a name. */
  mkdir(path: string, name: string): Promise<WireAnswer> {
    return this.post('/v1/files/createDirectory', { path, name });
  }

  /** api_offline_task_model.cpp:28-35: page (current page), pageSize 50. */
  tasks(page = 1): Promise<WireAnswer> {
    return this.post('/v1/offline/page', { page, pageSize: 50 });
  }

  /** api_offline_task_model.cpp:81-91: copyFile is text holding a JSON array. */
  start(taskHash: string, savePath: string, copyFile: string): Promise<WireAnswer> {
    return this.post('/v1/offline/start', { taskHash, savePath, copyFile });
  }

  /**
   * post_simple_file (api_file_store_model.cpp:33-159) for a torrent picked in the "new task"
   * dialog: remote path ":torrent/<file name>" (offline_download_task_panel.cpp:500). Returns what
   * the client keeps: the drive path for parseTorrent, and whether it was an instant upload.
   */
  async uploadTorrent(fileName: string, data: Buffer): Promise<{ remotePath: string; instant: boolean; hash: string }> {
    const hash = clientEtag(data);
    // api_file_store_model.cpp:10-17: hash and path, no name, no parent.
    const t = await this.post('/v1/store/token', { hash, path: `:torrent/${fileName}` });
    const result = assertOk(LAYER, t, 'store/token');
    assertReads(LAYER, result, 'any', 'store/token result');
    // api_file_store_model.cpp:72-95: storeId present means "already stored" (path optional).
    if ('storeId' in result) {
      assertReads(LAYER, result.storeId, 'string', 'store/token (instant).storeId');
      assertGuarded(result, 'path', 'string', 'store/token (instant)');
      return { remotePath: result.path ?? '', instant: true, hash: result.storeId };
    }
    assertReads(LAYER, result, { token: 'string', uploadUrl: 'string' }, 'store/token');
    assert.match(result.uploadUrl, /^https?:\/\//, 'cpprest http_client needs an absolute uploadUrl');
    const base = result.uploadUrl.replace(/\/+$/, '');
    const batch = uploadBatch(this.user.uuid);
    const upHeaders = { accept: 'application/json', Authorization: result.token, UploadBatch: batch };
    // wcs_toolbox.cpp:207-253: whole blocks, one mkblk each, index from 0.
    const ctxs: string[] = [];
    for (let at = 0, index = 0; at < data.length; at += BLOCK, index++) {
      const block = data.subarray(at, at + BLOCK);
      // wcs_toolbox.cpp:265-292
      const res = await fetch(`${base}/mkblk/${block.length}/${index}`, {
        method: 'POST',
        headers: { ...upHeaders, 'content-type': 'application/octet-stream' },
        body: new Uint8Array(block),
      });
      const text = await res.text();
      const answer = parseObject(text, `mkblk ${index}`);
      assertReads(LAYER, answer, { ctx: 'string' }, `mkblk ${index} (HTTP ${res.status})`);
      ctxs.push(answer.ctx);
    }
    // wcs_toolbox.cpp:309-342
    const res = await fetch(`${base}/mkfile/${data.length}`, {
      method: 'POST',
      headers: { ...upHeaders, 'content-type': 'text/plain' },
      body: ctxs.join(','),
    });
    const made = parseObject(await res.text(), 'mkfile');
    assertReads(LAYER, made, { hash: 'string' }, `mkfile (HTTP ${res.status})`);
    // wcs_toolbox.cpp:175-186: a hash other than the client's own fails the upload (hash_not_match).
    assert.equal(made.hash, hash, 'mkfile answers the hash the client computed');
    // wcs_toolbox.cpp:328-336: `response` (a string of JSON) gives the drive path; without it the
    // client sends its *local* file path to parseTorrent (offline_download_task_panel.cpp:514).
    assertReads(LAYER, made.response, 'string', 'mkfile.response');
    const inner = parseObject(made.response, 'mkfile.response');
    assertReads(LAYER, inner, { success: 'bool' }, 'mkfile.response');
    assert.equal(inner.success, true, 'mkfile.response.success');
    assertReads(LAYER, inner.result, { path: 'string' }, 'mkfile.response.result');
    return { remotePath: inner.result.path, instant: false, hash: made.hash };
  }
}

function parseObject(text: string, where: string): any {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    assert.fail(`${where}: not JSON: ${text.slice(0, 200)}`);
  }
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${where}: not a JSON object: ${text.slice(0, 200)}`);
  return value;
}

async function loggedIn(w: WireServer, name: string, typed: string): Promise<LiteCf> {
  const c = new LiteCf(w.url);
  const result = assertOk(LAYER, await c.login(name, typed), 'login');
  assertReads(LAYER, result, USER_SHAPE, 'login result');
  c.user = result;
  return c;
}

/** Polls offline/page as the client's 5-second timer does, checking every answer, until `done`. */
async function pollTasks(c: LiteCf, what: string, done: (list: any[]) => boolean): Promise<any[]> {
  const until = Date.now() + OFFLINE_TIMEOUT;
  for (let n = 0; ; n++) {
    const result = assertOk(LAYER, await c.tasks(), `offline/page (poll ${n})`);
    checkTaskPage(result, `offline/page (poll ${n})`);
    if (done(result.list)) return result.list;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(result.list).slice(0, 500)}`);
    await sleep(300);
  }
}

function taskDone(list: any[], name: string): any {
  const t = list.find((x) => x.name === name);
  if (t?.status < 0) assert.fail(`task ${name} failed: ${JSON.stringify(t)}`);
  return t?.status === 100 ? t : undefined;
}

/** Every row of a directory as the client pages it (50 a page, following totalPage). */
async function rows(c: LiteCf, path: string): Promise<any[]> {
  const out: any[] = [];
  for (let page = 1; ; page++) {
    const result = assertOk(LAYER, await c.page(path, page), `files/page ${path} p${page}`);
    assertReads(LAYER, result, PAGE_SHAPE, `files/page ${path} p${page}`);
    checkFileRows(result.list, `files/page ${path} p${page}`);
    out.push(...result.list);
    if (page >= result.totalPage) return out;
  }
}

// ---- signing in ----

describe('lite-cf desktop: signing in', () => {
  let w: WireServer;
  before(async () => {
    w = await startWireServer();
    await w.createUser('desk_alice', 'Alice-Passw0rd');
    await w.createUser('desk_bob', 'Bob-Passw0rd');
  });
  after(() => w.close());

  it('login with value, the md5 of the typed password and an empty countryCode answers the user object and a token in the envelope', async () => {
    const c = new LiteCf(w.url);
    const a = await c.login('desk_alice', 'Alice-Passw0rd');
    const result = assertOk(LAYER, a, 'login');
    assertReads(LAYER, result, USER_SHAPE, 'login result');
    assert.equal(result.name, 'desk_alice');
    assert.ok(Number.isSafeInteger(result.uuid), 'uuid is an integral number (to_int64)');
    assertReads(LAYER, a.body.token, 'string', 'login envelope token');
    assert.notEqual(a.body.token, '', 'the envelope carries the session token');
  });

  it('the token kept from the envelope works in a Token header: user/info answers the same user object', async () => {
    const c = await loggedIn(w, 'desk_alice', 'Alice-Passw0rd');
    const result = assertOk(LAYER, await c.info(), 'user/info');
    assertReads(LAYER, result, USER_SHAPE, 'user/info result');
    assert.equal(result.uuid, c.user.uuid);
    assert.equal(result.name, 'desk_alice');
    // The client keeps whichever token the last answer carried; it must go on working.
    const again = assertOk(LAYER, await c.info(), 'user/info with the refreshed token');
    assert.equal(again.uuid, c.user.uuid);
  });

  it('a wrong password answers success:false over HTTP 200 (the client reopens the login dialog)', async () => {
    const c = new LiteCf(w.url);
    const a = await c.login('desk_alice', 'not-her-password');
    assert.equal(a.httpStatus, 200, `errors travel over HTTP 200: ${a.text.slice(0, 200)}`);
    assert.equal(a.body.success, false);
    assert.notEqual(statusSeen(a), -99999, 'a status of -99999 would read as "cancelled" and show nothing');
    assert.equal(c.token, '', 'no session token for a failed login');
    const b = await c.login('desk_nobody', 'Alice-Passw0rd');
    assert.equal(b.httpStatus, 200);
    assert.equal(b.body.success, false, 'an unknown user fails the same way');
  });

  it('login still works while the client sends a stale Token header (a token saved by an earlier session)', async () => {
    const c = new LiteCf(w.url);
    c.token = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1dWlkIjoxfQ.c3RhbGUtc2lnbmF0dXJl';
    const result = assertOk(LAYER, await c.login('desk_bob', 'Bob-Passw0rd'), 'login with a stale Token header');
    assertReads(LAYER, result, USER_SHAPE, 'login result');
    assert.equal(result.name, 'desk_bob');
    assertOk(LAYER, await c.info(), 'user/info with the new token');
  });

  it('a tampered token on user/info answers HTTP 401 with a readable body whose status is 401 or 403 (the client asks to log in again)', async () => {
    const c = await loggedIn(w, 'desk_alice', 'Alice-Passw0rd');
    const good = c.token;
    c.token = good.slice(0, -2) + (good.endsWith('AA') ? 'BB' : 'AA');
    const a = await c.info();
    assert.equal(a.httpStatus, 401, a.text.slice(0, 200));
    assert.equal(a.body.success, false);
    // mainframe.cpp:470: only 401/403 (body status if any, else HTTP status) bring the login back.
    assert.ok([401, 403].includes(statusSeen(a)), `status the client sees: ${statusSeen(a)}`);
  });

  it('logout goes out without a token (the client drops it first) and must answer success or code CREDENTIALS_REQUIRED', async () => {
    const c = await loggedIn(w, 'desk_bob', 'Bob-Passw0rd');
    // api_user_model.cpp:24: token_store.remove_token() before the request.
    c.token = '';
    const a = await c.post('/v1/user/logout', {});
    // userdialog.cpp:312: anything else leaves the user dialog open, logout looks broken.
    assert.ok(a.body.success === true || a.body.code === 'CREDENTIALS_REQUIRED', `logout answer: HTTP ${a.httpStatus} ${a.text.slice(0, 200)}`);
  });

  it('sendRegisterMessage (the SMS button of the login and register dialogs) fails with a message the client can show, even with a stale token', async () => {
    const c = new LiteCf(w.url);
    c.token = 'stale-token-from-last-week';
    // api_user_model.cpp:93-101; userlogindialog.cpp:365-376 shows r.message on failure.
    const a = await c.post('/v1/user/sendRegisterMessage', { countryCode: '', phone: '13800138000' });
    assert.equal(a.httpStatus, 200, a.text.slice(0, 200));
    assert.equal(a.body.success, false);
    assert.equal(a.body.code, 'SMS_UNAVAILABLE');
    assertReads(LAYER, a.body.message, 'string', 'sendRegisterMessage.message');
  });

  it('changeNameAndGet answers the whole user object with the new name (the client replaces its user info with it)', async () => {
    await w.createUser('desk_carol', 'Carol-Passw0rd');
    const c = await loggedIn(w, 'desk_carol', 'Carol-Passw0rd');
    // api_user_model.cpp:114-121; userdialog.cpp:342-349 → set_user_info (needs uuid, api_user_model.cpp:76).
    const result = assertOk(LAYER, await c.post('/v1/user/changeNameAndGet', { name: 'desk_caroline' }), 'changeNameAndGet');
    assertReads(LAYER, result, USER_SHAPE, 'changeNameAndGet result');
    assert.equal(result.name, 'desk_caroline');
    assert.equal(result.uuid, c.user.uuid);
    const info = assertOk(LAYER, await c.info(), 'user/info after the rename');
    assert.equal(info.name, 'desk_caroline');
    assertOk(LAYER, await new LiteCf(w.url).login('desk_caroline', 'Carol-Passw0rd'), 'login with the new name');
  });
});

// ---- browsing ----

describe('lite-cf desktop: browsing and folders', () => {
  let w: WireServer;
  let c: LiteCf;
  let rootUuid = '';
  before(async () => {
    w = await startWireServer();
    await w.createUser('desk_dave', 'Dave-Passw0rd');
    c = await loggedIn(w, 'desk_dave', 'Dave-Passw0rd');
  });
  after(() => w.close());

  it('files/page of "/" answers info (path "/", parent ""), page, pageSize, totalPage and list as the client reads them', async () => {
    const result = assertOk(LAYER, await c.page('/'), 'files/page /');
    assertReads(LAYER, result, PAGE_SHAPE, 'files/page /');
    checkFileRows(result.list, 'files/page /');
    // api_remote_file_model.cpp:93: "/" (or "") means root, no ".." row is added.
    assert.equal(result.info.path, '/');
    // my_remote_file.cpp:623: an empty parent disables the parent button at the root.
    assert.equal(result.info.parent, '');
    // The client stores page and pageSize and sends them back on the next refresh.
    assert.equal(result.page, 1);
    assert.equal(result.pageSize, 50);
    rootUuid = result.info.uuid;
  });

  it('createDirectory with the current path and a name makes a folder that the refreshed list shows as a directory', async () => {
    assertOk(LAYER, await c.mkdir('/', 'Movies'), 'createDirectory / Movies');
    assertOk(LAYER, await c.mkdir('/', 'Music'), 'createDirectory / Music');
    const list = await rows(c, '/');
    const movies = list.find((f) => f.name === 'Movies');
    assert.ok(movies, `Movies in ${JSON.stringify(list.map((f) => f.name))}`);
    assert.equal(movies.type, 1);
    assert.equal(movies.path, '/Movies');
    assert.equal(movies.locking, false);
    assert.equal(movies.ext, '');
    assert.equal(movies.size, 0);
  });

  it('opening a folder sends its path; info names it (path, uuid) and its parent is the root uuid', async () => {
    assertOk(LAYER, await c.mkdir('/Movies', '2018'), 'createDirectory /Movies 2018');
    const result = assertOk(LAYER, await c.page('/Movies'), 'files/page /Movies');
    assertReads(LAYER, result, PAGE_SHAPE, 'files/page /Movies');
    assert.equal(result.info.path, '/Movies');
    assert.equal(result.info.parent, rootUuid, 'the ".." row and the parent button go to info.parent');
    assert.deepEqual(
      result.list.map((f: any) => [f.name, f.path, f.type]),
      [['2018', '/Movies/2018', 1]],
    );
  });

  it('the ".." row and the parent button send uuid "" with no path, which lists the root', async () => {
    const result = assertOk(LAYER, await c.up(), 'files/page uuid ""');
    assertReads(LAYER, result, PAGE_SHAPE, 'files/page uuid ""');
    assert.equal(result.info.path, '/');
    assert.ok(result.list.some((f: any) => f.name === 'Movies'));
  });

  it('a folder that is gone answers success:false code FILE_NOT_FOUND over HTTP 200 (the client then goes to the root)', async () => {
    const a = await c.page('/No such folder');
    assert.equal(a.httpStatus, 200, a.text.slice(0, 200));
    assert.equal(a.body.success, false);
    // my_remote_file.cpp:727
    assert.equal(a.body.code, 'FILE_NOT_FOUND');
  });

  it('paging: totalPage and page follow pageSize 50 when a folder has more than 50 entries', async () => {
    for (let i = 0; i < 52; i++) assertOk(LAYER, await c.mkdir('/Music', `album ${String(i).padStart(2, '0')}`), `createDirectory album ${i}`);
    const first = assertOk(LAYER, await c.page('/Music', 1), 'files/page /Music p1');
    assertReads(LAYER, first, PAGE_SHAPE, 'files/page /Music p1');
    assert.equal(first.totalPage, 2);
    assert.equal(first.list.length, 50);
    const second = assertOk(LAYER, await c.page('/Music', 2), 'files/page /Music p2');
    assertReads(LAYER, second, PAGE_SHAPE, 'files/page /Music p2');
    assert.equal(second.page, 2);
    assert.equal(second.list.length, 2);
  });

  it('the folder tree (files/list2, type 1, start -1) answers info.path equal to the path asked and the sub-folders with their paths', async () => {
    const root = assertOk(LAYER, await c.tree('/'), 'files/list2 /');
    assertReads(LAYER, root, LIST2_SHAPE, 'files/list2 /');
    // remove_file_select.cpp:250: the answer is used only if info.path is the path asked.
    assert.equal(root.info.path, '/');
    assert.deepEqual(root.list.map((f: any) => f.path).sort(), ['/Movies', '/Music']);
    const movies = assertOk(LAYER, await c.tree('/Movies'), 'files/list2 /Movies');
    assertReads(LAYER, movies, LIST2_SHAPE, 'files/list2 /Movies');
    assert.equal(movies.info.path, '/Movies');
    assert.deepEqual(
      movies.list.map((f: any) => [f.name, f.path]),
      [['2018', '/Movies/2018']],
    );
  });

  it('createDirectory from the folder tree dialog (path of the selected folder, a name) succeeds and the tree shows it', async () => {
    // remove_file_select.cpp:309: create_new_directory(name, selected folder path).
    assertOk(LAYER, await c.mkdir('/Movies/2018', 'Autumn'), 'createDirectory /Movies/2018 Autumn');
    const tree = assertOk(LAYER, await c.tree('/Movies/2018'), 'files/list2 /Movies/2018');
    assertReads(LAYER, tree, LIST2_SHAPE, 'files/list2 /Movies/2018');
    assert.deepEqual(
      tree.list.map((f: any) => f.path),
      ['/Movies/2018/Autumn'],
    );
  });
});

// ---- torrent upload and offline download ----

function fileBytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('lite-cf desktop: torrent upload and offline download', () => {
  let w: WireServer;
  let c: LiteCf;
  let tracker: Tracker;
  let seeder: Seeder;
  let seedDir: string;
  let built: BuiltTorrent;
  let torrentPath = '';
  before(async () => {
    tracker = await startTracker();
    built = makeTorrent(
      [
        { path: 'a.bin', bytes: fileBytes(120 * KiB + 5, 1) },
        { path: 'sub/b.bin', bytes: fileBytes(80 * KiB + 3, 2) },
        { path: 'sub/deep/c.txt', bytes: fileBytes(20 * KiB + 1, 3) },
      ],
      { announce: [tracker.httpUrl], name: 'Desk Payload' },
    );
    seedDir = mkdtempSync(join(tmpdir(), 'openpan-litecf-seed-'));
    seeder = await startWebTorrentSeeder(built, seedDir, tracker);
    w = await startWireServer();
    await w.createUser('desk_erin', 'Erin-Passw0rd');
    c = await loggedIn(w, 'desk_erin', 'Erin-Passw0rd');
  });
  after(async () => {
    await w?.close();
    await seeder?.close();
    await tracker?.close();
    if (seedDir) rmSync(seedDir, { recursive: true, force: true });
  });

  it('a .torrent goes up as store/token {hash, path ":torrent/<file>"} then mkblk/mkfile; mkfile answers the client\'s hash and the drive path', async () => {
    const up = await c.uploadTorrent('desk-payload.torrent', built.torrent);
    assert.equal(up.instant, false, 'first upload of these bytes: store/token must not answer storeId');
    assert.match(up.remotePath, /\/desk-payload\.torrent$/, `drive path ${up.remotePath}`);
    torrentPath = up.remotePath;
    // The torrent folder is an ordinary folder to the file list: the file row reads as the client reads rows.
    const dir = torrentPath.slice(0, torrentPath.lastIndexOf('/')) || '/';
    const list = await rows(c, dir);
    const row = list.find((f) => f.path === torrentPath);
    assert.ok(row, `${torrentPath} listed in ${dir}: ${JSON.stringify(list.map((f) => f.path))}`);
    assert.equal(row.type, 0);
    assert.equal(row.size, built.torrent.length);
    assert.equal(row.ext, '.torrent');
    // The folder tree asks for directories only (type 1): the torrent file is not a folder.
    const tree = assertOk(LAYER, await c.tree(dir), `files/list2 ${dir}`);
    assertReads(LAYER, tree, LIST2_SHAPE, `files/list2 ${dir}`);
    assert.equal(tree.info.path, dir);
    assert.deepEqual(tree.list, [], 'list2 type 1 lists no files');
  });

  it("the same bytes under another name are an instant upload: store/token answers storeId (the client's hash) and path", async () => {
    const up = await c.uploadTorrent('desk-payload copy.torrent', built.torrent);
    assert.equal(up.instant, true);
    assert.equal(up.hash, clientEtag(built.torrent));
    assert.match(up.remotePath, /\/desk-payload copy\.torrent$/, `drive path ${up.remotePath}`);
  });

  it('a torrent larger than one block goes up as two whole-block mkblk calls (index 0 and 1) and one mkfile', async () => {
    const big = Buffer.concat([built.torrent, fileBytes(BLOCK, 9)]);
    const up = await c.uploadTorrent('big.torrent', big);
    assert.equal(up.instant, false);
    assert.equal(up.hash, clientEtag(big));
    assert.match(up.remotePath, /\/big\.torrent$/);
  });

  it('parseTorrent {path} answers taskHash and the file list (path of each file), which the client shows for selection', async () => {
    assert.ok(torrentPath, 'needs the uploaded torrent');
    const result = assertOk(LAYER, await c.post('/v1/offline/parseTorrent', { path: torrentPath }), 'parseTorrent');
    // offline_download_task_panel.cpp:695-717
    assertGuarded(result, 'needPassword', 'bool', 'parseTorrent');
    assertReads(LAYER, result, { taskHash: 'string', files: [{ path: 'string' }] }, 'parseTorrent');
    assert.equal(result.files.length, 3);
    result.files.forEach((f: any, i: number) => {
      assert.ok(f.path.endsWith(built.files[i].path), `file ${i}: ${f.path}`);
    });
  });

  it('start with the client\'s partial selection "[0,null,2]" (holes for unchecked files) downloads files 0 and 2 only', async () => {
    const parsed = assertOk(LAYER, await c.post('/v1/offline/parseTorrent', { path: torrentPath }), 'parseTorrent');
    // The save-to folder is picked in the folder tree, so it exists.
    assertOk(LAYER, await c.mkdir('/', 'Downloads'), 'createDirectory / Downloads');
    // add_task_result_dialog.cpp:198-216: arr[i] = i for each checked item, with i counting every
    // item, so an unchecked middle file leaves a null hole; all checked gives ["*"].
    const started = await c.start(parsed.taskHash, '/Downloads', '[0,null,2]');
    assertOk(LAYER, started, 'offline/start');
    const list = await pollTasks(c, 'the torrent task to finish', (l) => taskDone(l, built.name) !== undefined);
    const task = taskDone(list, built.name);
    assert.equal(task.progress, 100);
    const saved = await rows(c, `/Downloads/${built.name}`);
    assert.deepEqual(saved.map((f) => f.name).sort(), ['a.bin', 'sub']);
    assert.equal(saved.find((f) => f.name === 'a.bin').size, built.files[0].bytes.length);
    const deep = await rows(c, `/Downloads/${built.name}/sub`);
    assert.deepEqual(
      deep.map((f) => f.name),
      ['deep'],
      'sub/b.bin was not selected',
    );
    const c3 = await rows(c, `/Downloads/${built.name}/sub/deep`);
    assert.deepEqual(
      c3.map((f) => [f.name, f.size]),
      [['c.txt', built.files[2].bytes.length]],
    );
  });

  it('parseUrl of an http URL answers taskHash; start with ["*"] into "/" fetches it and the task list reads at every poll', async () => {
    const payload = fileBytes(200 * KiB + 17, 7);
    const http: Server = createServer((req, res) => {
      if (req.url !== '/files/desk-notes.bin') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(payload.length) });
      res.end(payload);
    });
    await new Promise<void>((res) => http.listen(0, '127.0.0.1', res));
    try {
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/files/desk-notes.bin`;
      const result = assertOk(LAYER, await c.post('/v1/offline/parseUrl', { url }), 'parseUrl http');
      assertGuarded(result, 'needPassword', 'bool', 'parseUrl');
      assertReads(LAYER, result, { taskHash: 'string' }, 'parseUrl');
      if ('files' in result) assertReads(LAYER, result.files, [{}], 'parseUrl.files');
      // offline_download_task_panel.cpp:726: no file list → all files.
      assertOk(LAYER, await c.start(result.taskHash, '/', '["*"]'), 'offline/start url');
      await pollTasks(c, 'the URL task to finish', (l) => taskDone(l, 'desk-notes.bin') !== undefined);
      const root = await rows(c, '/');
      const got = root.find((f) => f.name === 'desk-notes.bin');
      assert.ok(got, `desk-notes.bin in / : ${JSON.stringify(root.map((f) => f.name))}`);
      assert.equal(got.size, payload.length);
      assert.equal(got.ext, '.bin');
    } finally {
      await new Promise<void>((res) => http.close(() => res()));
    }
  });

  it('parseUrl of a magnet link answers taskHash (files when known); start with ["*"] completes and the list reads at every poll', async () => {
    const other = makeTorrent([{ path: 'desk-magnet.dat', bytes: fileBytes(90 * KiB + 11, 5) }], { announce: [tracker.httpUrl] });
    const dir = mkdtempSync(join(tmpdir(), 'openpan-litecf-magnet-'));
    const seed2 = await startWebTorrentSeeder(other, dir, tracker);
    try {
      const magnet = `magnet:?xt=urn:btih:${other.infoHash}&dn=${encodeURIComponent(other.name)}&tr=${encodeURIComponent(tracker.httpUrl)}`;
      const result = assertOk(LAYER, await c.post('/v1/offline/parseUrl', { url: magnet }), 'parseUrl magnet');
      assertGuarded(result, 'needPassword', 'bool', 'parseUrl magnet');
      assertReads(LAYER, result, { taskHash: 'string' }, 'parseUrl magnet');
      if ('files' in result) assertReads(LAYER, result.files, [{ path: 'string' }], 'parseUrl magnet.files');
      assertOk(LAYER, await c.start(result.taskHash, '/', '["*"]'), 'offline/start magnet');
      await pollTasks(c, 'the magnet task to finish', (l) => taskDone(l, other.name) !== undefined);
      const root = await rows(c, '/');
      assert.ok(
        root.some((f) => f.name === 'desk-magnet.dat' && f.size === other.files[0].bytes.length),
        `desk-magnet.dat in / : ${JSON.stringify(root.map((f) => f.name))}`,
      );
    } finally {
      await seed2.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a link the server cannot take and a forged taskHash fail with success:false and a message (shown as "Add task failed %s")', async () => {
    const bad = await c.post('/v1/offline/parseUrl', { url: 'gopher://127.0.0.1/x' });
    assert.equal(bad.httpStatus, 200, bad.text.slice(0, 200));
    assert.equal(bad.body.success, false);
    assertReads(LAYER, bad.body.message, 'string', 'parseUrl gopher.message');
    const forged = await c.start('bm90LWEtdGFzay1oYXNo', '/', '["*"]');
    assert.equal(forged.httpStatus, 200, forged.text.slice(0, 200));
    assert.equal(forged.body.success, false);
    assertReads(LAYER, forged.body.message, 'string', 'start forged.message');
  });
});
