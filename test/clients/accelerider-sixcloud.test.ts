// Conformance of Accelerider.Windows's SixCloud (6pan) module.
//
// Client: Accelerider/Accelerider.Windows, commit c0d05575d5ae7b44546972857a642a64147678d1 (HEAD),
// module Source/Accelerider.Windows.Modules.NetDisk (Models/SixCloud/*, Models/Results/*).
// The SixCloud code was written against Refit 4.6.30 + Newtonsoft.Json 12 (packages.config before
// commit 4fcfca8; later bumps of Refit by a bot do not change what it sends).
//
// How it talks:
// - Refit interface ISixCloudApi (Models/SixCloud/ISixCloudApi.cs): every call is a POST, the
//   base address is the API host, and every call carries the static headers
//   `User-Agent: Accelerider.Windows.Wpf: v1.0.0-pre` and `Authorization: Bearer`, whose
//   credential Refit's AuthenticatedHttpClientHandler fills with the stored AccessToken
//   (SixCloudUser.cs:50). Before the first login AccessToken is null, so /v1/user/login (and the
//   sign-up calls) go out with a bare `Authorization: Bearer` and no token.
// - Bodies: `[Body(BodySerializationMethod.Json)]`, buffered (Refit 4.6 default), serialised by
//   Newtonsoft with default settings: `Content-Type: application/json; charset=utf-8`, strings
//   as strings, `pageSize` as a JSON number. /v1/user/info has no body at all (Content-Length 0,
//   no Content-Type).
// - Password: md5 of the typed text, lower-case hex (SecureExtensions.ToMd5). No countryCode.
// - Answers: Refit deserialises the whole body into ResultBase (Models/Results/ResultBase.cs:
//   `errno` int, `error` JToken, `success` bool, `result` JToken, `request_id` long) or
//   SixCloudLoginResult (+ `token` string, `code` string) with Json.NET: null in one of the
//   non-nullable fields throws. A non-2xx status makes Refit throw ApiException; only login and
//   user/info are wrapped (ApiExceptionResolverExtension.cs:47), which parses the error body as
//   JSON and reads its `status` — so a 401 must carry a JSON body with `status`.
// - Downloads: POST /v1/files/get {path} → result.downloadAddress, then plain HttpWebRequest
//   GETs on that address (no token, `User-Agent: Accelerider.Windows.DownloadEngine`): one GET
//   without Range for Content-Length, then one ranged GET per 20 MB block
//   (TransferService/Download/FileDownloaderBuilder.cs:173-240), each after a fresh files/get.
// JSON layer: newtonsoft.
//
// Endpoints it uses: /v1/user/login, /v1/user/info, /v1/files/page, /v1/files/get,
// /v1/files/remove, the downloadAddress; declared but not reachable from its UI (the sign-up view
// model's commands are empty): /v1/user/sendRegisterMessage, /v1/user/register.
// It has no upload, no directory creation, rename, move, copy or offline download; the fixtures
// below make folders and files with the openpan wire API (marked "fixture"), not as this client.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assertOk, assertReads, md5hex, send, startWireServer, type Shape, type WireAnswer, type WireServer } from '../support/client-harness.js';

const LAYER = 'newtonsoft';
// ISixCloudApi.cs:8-10, the static headers of every API call.
const USER_AGENT = 'Accelerider.Windows.Wpf: v1.0.0-pre';
// TransferService/Download/Extensions.IDownloaderBuilder.cs:19, the downloader's only header.
const DOWNLOAD_AGENT = 'Accelerider.Windows.DownloadEngine';

/** One API call as the Refit client sends it; `token` null is the client before its first login. */
function callAsClient(base: string, path: string, token: string | null, body?: Record<string, unknown>): Promise<WireAnswer> {
  const headers: Record<string, string> = {
    'user-agent': USER_AGENT,
    // Refit rebuilds the header as AuthenticationHeaderValue("Bearer", token): "Bearer" alone when null.
    authorization: token ? `Bearer ${token}` : 'Bearer',
  };
  if (body === undefined) return send(base, { path, headers });
  headers['content-type'] = 'application/json; charset=utf-8';
  return send(base, { path, headers, json: body });
}

/**
 * Refit reads every answer into ResultBase (and the login into SixCloudLoginResult) with Json.NET:
 * its value-typed fields may be absent, never null, and must convert to their C# types.
 */
function assertResultBase(answer: WireAnswer, where: string, login = false): void {
  const body = answer.body;
  assert.ok(body !== null && typeof body === 'object' && !Array.isArray(body), `${where}: the body is not a JSON object: ${answer.text.slice(0, 200)}`);
  // bool Success, int ErrorCode ("errno"), long RequestId ("request_id"): absent is fine, null throws.
  assertReads(LAYER, body.success, 'bool', `${where}.success`);
  for (const field of ['errno', 'request_id']) {
    if (field in body) assertReads(LAYER, body[field], 'int', `${where}.${field} (a non-nullable C# integer)`);
  }
  if (login) assertReads(LAYER, body, { token: 'string?', code: 'string?' }, where);
}

/** Json.NET's `JToken["x"].ToObject<T>()` dereferences the token: the field must exist (null is fine for a string). */
function assertPresent(value: Record<string, unknown>, field: string, where: string): void {
  assert.ok(field in value, `${where}: the client reads result["${field}"].ToObject<...>(); absent, it throws NullReferenceException`);
}

/** An error answer Refit turns into ApiException: the resolver parses the body and reads `status`. */
function assertApiExceptionBody(answer: WireAnswer, where: string): void {
  assert.ok(
    answer.body !== null && typeof answer.body === 'object' && !Array.isArray(answer.body),
    `${where}: JObject.Parse needs a JSON object, got ${answer.text.slice(0, 200)}`,
  );
  assert.ok('status' in answer.body, `${where}: the client reads ["status"] of the error body: ${answer.text.slice(0, 200)}`);
}

// SixCloudFile.cs:12-25: what JToken.ToObject<SixCloudFile>() fills. `type`, `size` and `ctime`
// are C# int/long (null throws; absent gives 0, which makes a folder a file and the date 1970);
// `path` is how the client names the file in every later call (absent means "/").
const FILE_ITEM: Shape = { uuid: 'string', name: 'string', ext: 'string?', type: 'int', size: 'int', ctime: 'int', path: 'string' };

/** The 6pan etag of content of at most 4 MiB (docs/spec/UPLOAD.md): 0x16 + SHA-1, URL-safe base64. */
function smallEtag(data: Buffer): string {
  assert.ok(data.length <= 4 * 1024 * 1024);
  return Buffer.concat([Buffer.from([0x16]), createHash('sha1').update(data).digest()]).toString('base64url');
}

/** Fixture (not this client): a directory through the openpan wire API. */
async function fixtureDir(base: string, token: string, path: string): Promise<void> {
  const a = await send(base, { path: '/v1/files/createDirectory', headers: { authorization: `Bearer ${token}` }, json: { path } });
  assertOk(LAYER, a, `fixture: createDirectory ${path}`);
}

/** Fixture (not this client): a file with real bytes through store/token and the form upload. */
async function fixtureFile(base: string, token: string, dir: string, name: string, data: Buffer): Promise<void> {
  const t = assertOk(
    LAYER,
    await send(base, { path: '/v1/store/token', headers: { authorization: `Bearer ${token}` }, json: { name, hash: smallEtag(data), path: dir } }),
    `fixture: store/token ${name}`,
  );
  if (typeof t?.uuid === 'string') return; // already stored: an instant upload made the file
  assert.equal(typeof t?.uploadUrl, 'string', `fixture: store/token ${name} gave no uploadUrl: ${JSON.stringify(t)}`);
  const form = new FormData();
  form.append('token', t.token);
  form.append('file', new Blob([data]), name);
  const res = await fetch(`${t.uploadUrl}/file/upload`, { method: 'POST', body: form });
  assert.equal(res.status, 200, `fixture: upload of ${name}: HTTP ${res.status} ${await res.text()}`);
}

function pseudoRandom(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Logs in exactly as SixCloudUser.LoginAsync does (SixCloudUser.cs:208) and returns the token it keeps. */
async function loginAsClient(base: string, account: string, typedPassword: string): Promise<string> {
  const a = await callAsClient(base, '/v1/user/login', null, { value: account, password: md5hex(typedPassword) });
  assertOk(LAYER, a, 'user/login');
  assertResultBase(a, 'user/login', true);
  assertReads(LAYER, a.body.token, 'string', 'user/login token (SixCloudUser.cs:214 keeps result.Token)');
  return a.body.token;
}

/** GET as HttpWebRequest does it in the downloader (PrimitiveMethods.Download.cs, WebRequestExtensions.cs:55). */
async function downloaderGet(address: string, range?: [number, number]): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const headers: Record<string, string> = { 'user-agent': DOWNLOAD_AGENT };
  if (range) headers.range = `bytes=${range[0]}-${range[1]}`;
  const res = await fetch(address, { headers, redirect: 'follow' });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('Accelerider SixCloud: signing in and the account', () => {
  let w: WireServer;
  let token = '';
  const typed = 'Accel-Passw0rd!';

  before(async () => {
    w = await startWireServer();
    await w.createUser('alice', typed);
  });
  after(() => w.close());

  it('logs in with value + md5 hex password only (no countryCode), despite the empty "Authorization: Bearer" header, and answers the token in the envelope', async () => {
    // ISixCloudApi.cs:31 + SixCloudUser.cs:208-214: {value, password: ToMd5()}, token read from the envelope.
    token = await loginAsClient(w.url, 'alice', typed);
    assert.equal(token.split('.').length, 3, `the session token is a JWT, got ${token}`);
  });

  it('the login answer reads as SixCloudLoginResult: success true, code a string, no null value-typed field', async () => {
    const a = await callAsClient(w.url, '/v1/user/login', null, { value: 'alice', password: md5hex(typed) });
    assertOk(LAYER, a, 'user/login');
    assertResultBase(a, 'user/login', true);
    assert.equal(a.body.code, 'OK');
    assert.notEqual(a.body.token, '', 'an empty token would be stored and sent as "Bearer "');
  });

  it('a wrong password answers success:false over HTTP 200 and no token, so LoginAsync returns false', async () => {
    const a = await callAsClient(w.url, '/v1/user/login', null, { value: 'alice', password: md5hex('not-the-password') });
    assert.equal(a.httpStatus, 200, `errors of an endpoint travel over HTTP 200: HTTP ${a.httpStatus} ${a.text.slice(0, 200)}`);
    assertResultBase(a, 'user/login (wrong password)', true);
    assert.equal(a.body.success, false);
    assertReads(LAYER, a.body, { status: 'int', code: 'string', message: 'string' }, 'user/login (wrong password)');
    assert.equal(a.body.code, 'USER_LOGIN_FAILED');
    assert.ok(!a.body.token, 'a failed login gives no token');
  });

  it('an unknown account fails the same way as a wrong password', async () => {
    const a = await callAsClient(w.url, '/v1/user/login', null, { value: 'nobody-here', password: md5hex(typed) });
    assert.equal(a.httpStatus, 200, `HTTP ${a.httpStatus} ${a.text.slice(0, 200)}`);
    assertResultBase(a, 'user/login (unknown account)', true);
    assert.equal(a.body.success, false);
    assert.equal(a.body.code, 'USER_LOGIN_FAILED');
  });

  it('user/info, a POST without any body, answers the fields RefreshAsync reads: uuid as a long, name, email, phone, spaceUsed, spaceCapacity', async () => {
    // SixCloudUser.cs:190-198.
    const a = await callAsClient(w.url, '/v1/user/info', token);
    const r = assertOk(LAYER, a, 'user/info');
    assertResultBase(a, 'user/info');
    assertReads(LAYER, r, { uuid: 'int', name: 'string', email: 'string?', phone: 'string?', spaceUsed: 'int', spaceCapacity: 'int' }, 'user/info result');
    for (const field of ['uuid', 'name', 'email', 'phone', 'spaceUsed', 'spaceCapacity']) assertPresent(r, field, 'user/info result');
    assert.equal(r.name, 'alice');
    assert.ok(Number(r.spaceCapacity) > 0, `spaceCapacity ${r.spaceCapacity}`);
    assert.ok(Number(r.spaceUsed) >= 0, `spaceUsed ${r.spaceUsed}`);
  });

  it('the user object of the login is the same account as user/info (uuid is a number in both)', async () => {
    const login = assertOk(LAYER, await callAsClient(w.url, '/v1/user/login', null, { value: 'alice', password: md5hex(typed) }), 'user/login');
    const info = assertOk(LAYER, await callAsClient(w.url, '/v1/user/info', token), 'user/info');
    assertReads(LAYER, login, { uuid: 'int', name: 'string' }, 'user/login result');
    assert.equal(typeof login.uuid, 'number');
    assert.equal(String(login.uuid), String(info.uuid));
  });

  it('a tampered token on user/info is HTTP 401 with a JSON body carrying status (the resolver parses it)', async () => {
    const parts = token.split('.');
    const last = parts[2] ?? '';
    parts[2] = (last[0] === 'A' ? 'B' : 'A') + last.slice(1);
    const a = await callAsClient(w.url, '/v1/user/info', parts.join('.'));
    assert.equal(a.httpStatus, 401, `HTTP ${a.httpStatus} ${a.text.slice(0, 200)}`);
    assertApiExceptionBody(a, 'user/info (tampered token)');
  });

  it('user/info with no token (the bare "Authorization: Bearer" of a signed-out user) is HTTP 401 with a JSON body carrying status', async () => {
    const a = await callAsClient(w.url, '/v1/user/info', null);
    assert.equal(a.httpStatus, 401, `HTTP ${a.httpStatus} ${a.text.slice(0, 200)}`);
    assertApiExceptionBody(a, 'user/info (no token)');
  });

  it('sendRegisterMessage {phone} answers over HTTP 200 with success:false SMS_UNAVAILABLE (SendSmsAsync then returns null)', async () => {
    // ISixCloudApi.cs:25, SixCloudUser.cs:224-225: not wrapped in RunApi, so a non-2xx would throw.
    const a = await callAsClient(w.url, '/v1/user/sendRegisterMessage', null, { phone: '13800138000' });
    assert.equal(a.httpStatus, 200, `HTTP ${a.httpStatus} ${a.text.slice(0, 200)}`);
    assertResultBase(a, 'user/sendRegisterMessage');
    assert.equal(a.body.success, false);
    assert.equal(a.body.code, 'SMS_UNAVAILABLE');
  });

  it('register {name, md5 password, code, phoneInfo} answers over HTTP 200; if it makes the account, the client logs into it with the same md5', async () => {
    // ISixCloudApi.cs:28 + SixCloudUser.cs:235-241: the answer is ignored, but a non-2xx would throw.
    const a = await callAsClient(w.url, '/v1/user/register', null, {
      name: 'bob',
      password: md5hex('bob-Passw0rd'),
      code: '123456',
      phoneInfo: 'not-a-phone-info',
    });
    assert.equal(a.httpStatus, 200, `HTTP ${a.httpStatus} ${a.text.slice(0, 200)}`);
    assertResultBase(a, 'user/register');
    if (a.body.success === true) {
      const bobToken = await loginAsClient(w.url, 'bob', 'bob-Passw0rd');
      assertOk(LAYER, await callAsClient(w.url, '/v1/user/info', bobToken), 'user/info of the registered account');
    } else {
      assertReads(LAYER, a.body, { status: 'int', code: 'string' }, 'user/register (refused)');
    }
  });
});

describe('Accelerider SixCloud: browsing, downloading and deleting', () => {
  let w: WireServer;
  let token = '';
  const typed = 'Browse-Passw0rd';
  const hello = pseudoRandom(70_001, 7);
  const report = Buffer.from('季度报告 — quarterly report\n'.repeat(300), 'utf8');
  const manyCount = 120;

  before(async () => {
    w = await startWireServer();
    await w.createUser('carol', typed);
    token = await loginAsClient(w.url, 'carol', typed);
    await fixtureDir(w.url, token, '/Docs/Sub');
    await fixtureDir(w.url, token, '/Trash me/inner');
    await fixtureFile(w.url, token, '/', 'hello.bin', hello);
    await fixtureFile(w.url, token, '/Docs', '报告 2024.txt', report);
    await fixtureFile(w.url, token, '/Trash me', 'old.txt', Buffer.from('old'));
    await fixtureFile(w.url, token, '/', 'delete-me.txt', Buffer.from('bye'));
    for (let i = 0; i < manyCount; i++) await fixtureDir(w.url, token, `/Many/d${String(i).padStart(3, '0')}`);
  });
  after(() => w.close());

  /** GetFileRootAsync's ChildrenProvider (SixCloudUser.cs:160-164): {path, pageSize: 999}, reads result.list. */
  async function children(path: string): Promise<any[]> {
    const a = await callAsClient(w.url, '/v1/files/page', token, { path, pageSize: 999 });
    const r = assertOk(LAYER, a, `files/page ${path}`);
    assertResultBase(a, `files/page ${path}`);
    assertReads(LAYER, r, { list: [FILE_ITEM] }, `files/page ${path} result`);
    return r.list;
  }

  it('lists the root with {path:"/", pageSize:999}: result.list holds the folders and files with type, size, ctime (ms) and full path', async () => {
    const list = await children('/');
    const docs = list.find((f) => f.name === 'Docs');
    const file = list.find((f) => f.name === 'hello.bin');
    assert.ok(docs, `Docs is listed: ${JSON.stringify(list.map((f) => f.name))}`);
    assert.ok(file, 'hello.bin is listed');
    assert.equal(Number(docs.type), 1, 'a folder is type 1 (SixCloudFile.cs:29)');
    assert.equal(docs.path, '/Docs');
    assert.equal(Number(file.type), 0);
    assert.equal(file.path, '/hello.bin');
    assert.equal(Number(file.size), hello.length);
    // ModifiedTime = 1970-01-01 + ctime milliseconds (SixCloudFile.cs:35).
    for (const f of [docs, file]) {
      const ms = Number(f.ctime);
      assert.ok(Math.abs(ms - Date.now()) < 24 * 3600 * 1000, `${f.name}: ctime ${f.ctime} is not milliseconds of today`);
    }
  });

  it('opens a folder by the path the listing gave (the client keeps no uuid): sub-folders and files with their full paths', async () => {
    const docs = (await children('/')).find((f) => f.name === 'Docs');
    assert.ok(docs);
    const list = await children(docs.path);
    const sub = list.find((f) => f.name === 'Sub');
    const rep = list.find((f) => f.name === '报告 2024.txt');
    assert.ok(sub, `Sub is listed: ${JSON.stringify(list.map((f) => f.name))}`);
    assert.ok(rep, 'the report is listed');
    assert.equal(Number(sub.type), 1);
    assert.equal(sub.path, '/Docs/Sub');
    assert.equal(rep.path, '/Docs/报告 2024.txt');
    assert.equal(Number(rep.size), report.length);
  });

  it('an empty folder lists as an empty array (result.list.Select on null would throw)', async () => {
    assert.deepEqual(await children('/Docs/Sub'), []);
  });

  it('pageSize 999 lists a folder of 120 entries in one answer (the client never asks for page 2)', async () => {
    const list = await children('/Many');
    assert.equal(list.length, manyCount);
    assert.ok(list.every((f) => Number(f.type) === 1 && f.path === `/Many/${f.name}`));
  });

  it('listing a path that does not exist answers success:false over HTTP 200 (the client shows an empty folder)', async () => {
    const a = await callAsClient(w.url, '/v1/files/page', token, { path: '/No such folder', pageSize: 999 });
    assert.equal(a.httpStatus, 200, `a non-2xx throws ApiException out of ChildrenProvider: HTTP ${a.httpStatus} ${a.text.slice(0, 200)}`);
    assertResultBase(a, 'files/page (missing)');
    assert.equal(a.body.success, false);
  });

  it('files/get {path} of a file answers an absolute downloadAddress (WebRequest.CreateHttp needs one)', async () => {
    // RemotePathProvider.GetAsync, SixCloudUser.cs:264-266.
    const a = await callAsClient(w.url, '/v1/files/get', token, { path: '/hello.bin' });
    const r = assertOk(LAYER, a, 'files/get');
    assertResultBase(a, 'files/get');
    assertReads(LAYER, r, { downloadAddress: 'string' }, 'files/get result');
    const url = new URL(r.downloadAddress);
    assert.ok(url.protocol === 'http:' || url.protocol === 'https:', r.downloadAddress);
  });

  it('downloads as the block downloader does: a plain GET gives Content-Length, a ranged GET of the whole block gives the bytes', async () => {
    for (const [path, data] of [
      ['/hello.bin', hello],
      ['/Docs/报告 2024.txt', report],
    ] as const) {
      const r = assertOk(LAYER, await callAsClient(w.url, '/v1/files/get', token, { path }), `files/get ${path}`);
      const probe = await downloaderGet(r.downloadAddress);
      assert.equal(probe.status, 200, `${path}: GET ${r.downloadAddress} → ${probe.status}`);
      assert.equal(probe.headers.get('content-length'), String(data.length), `${path}: the size comes from Content-Length only (FileDownloaderBuilder.cs:188)`);
      assert.ok(probe.bytes.equals(data), `${path}: the bytes downloaded are the bytes uploaded`);
      // Each block asks files/get again (BlockTransferContext.RemotePathGetter), then GETs its range.
      const again = assertOk(LAYER, await callAsClient(w.url, '/v1/files/get', token, { path }), `files/get ${path} (block)`);
      const block = await downloaderGet(again.downloadAddress, [0, data.length - 1]);
      assert.ok(block.status === 200 || block.status === 206, `${path}: ranged GET → ${block.status}`);
      assert.ok(block.bytes.equals(data), `${path}: the block holds the file's bytes`);
    }
  });

  it('a block that starts inside the file gets 206 and exactly its range (blocks are written at their offset)', async () => {
    const r = assertOk(LAYER, await callAsClient(w.url, '/v1/files/get', token, { path: '/hello.bin' }), 'files/get');
    const from = 20_000;
    const to = 45_999;
    const block = await downloaderGet(r.downloadAddress, [from, to]);
    assert.equal(block.status, 206);
    assert.equal(block.headers.get('content-range'), `bytes ${from}-${to}/${hello.length}`);
    assert.ok(block.bytes.equals(hello.subarray(from, to + 1)));
  });

  it('files/remove {path} with one path string (not an array) deletes a file over HTTP 200', async () => {
    // DeleteFileAsync, SixCloudUser.cs:178: not wrapped, a non-2xx would throw.
    const a = await callAsClient(w.url, '/v1/files/remove', token, { path: '/delete-me.txt' });
    assertOk(LAYER, a, 'files/remove');
    assertResultBase(a, 'files/remove');
    assert.ok(!(await children('/')).some((f) => f.name === 'delete-me.txt'), 'the file is gone from the listing');
  });

  it('files/remove {path} of a folder deletes it with everything inside', async () => {
    const a = await callAsClient(w.url, '/v1/files/remove', token, { path: '/Trash me' });
    assertOk(LAYER, a, 'files/remove (folder)');
    assert.ok(!(await children('/')).some((f) => f.name === 'Trash me'));
    const gone = await callAsClient(w.url, '/v1/files/page', token, { path: '/Trash me/inner', pageSize: 999 });
    assert.equal(gone.httpStatus, 200);
    assert.equal(gone.body?.success, false, 'the inner folder went with it');
  });

  it('files/get of a path that was removed answers over HTTP 200 without a downloadAddress (the downloader gives up)', async () => {
    const a = await callAsClient(w.url, '/v1/files/get', token, { path: '/delete-me.txt' });
    assert.equal(a.httpStatus, 200, `HTTP ${a.httpStatus} ${a.text.slice(0, 200)}`);
    assertResultBase(a, 'files/get (removed)');
    assert.ok(!a.body.result?.downloadAddress, 'no address for a removed file');
  });

  it('a listing with a tampered token is HTTP 401 with a JSON body', async () => {
    const a = await callAsClient(w.url, '/v1/files/page', `${token}x`, { path: '/', pageSize: 999 });
    assert.equal(a.httpStatus, 401, `HTTP ${a.httpStatus} ${a.text.slice(0, 200)}`);
    assertApiExceptionBody(a, 'files/page (tampered token)');
  });
});
