// Conformance of openpan with HalalCloud, a Qt/C++ desktop client of 6pan.
//
// Client: github.com/iMageChans/HalalCloud, commit 8e25506fe2e181752d5fd645ed9b17c609725419 (HEAD),
// read, never copied. Paths below are inside its `src/`.
// - Transport (util/baseapi.cpp, util/abstract.h): every call is `POST https://api.6pan.cn/v1/...`
//   with `Content-Type: application/json`; the body is a QJsonObject serialised compactly
//   (util/networkdata.h), so keys go out in alphabetical order (QJsonObject is a sorted map).
//   Calls after login carry `Authorization: Bearer <token>` (abstract.h:9-18); login, register
//   and sendRegisterMessage carry no Authorization header (abstract.h:21-27). With no saved
//   token the header is `Bearer ` with nothing after it.
// - Token: the envelope's `token` of login (util.cpp:23-29) and of user/info (util.cpp:47-53)
//   is saved (QSettings) and sent from then on; user/info *replaces* the saved token with its own.
// - Password: the text typed, as is: no md5 (view/loginwidget.cpp:59, util/networkdata.h:18-23).
//   No countryCode.
// - JSON layer `qt`: QJsonValue::toString()/toDouble()/toBool() give a default on a missing field
//   or a wrong type (model/model.cpp:112-154); the upload token is read with a helper that takes a
//   string or a number (model/multiparuploadmodel.cpp:66-78). Answers are read whatever the HTTP
//   status is (the body of a 401 is parsed too, baseapi.cpp:55-71).
// Endpoints it sends (util/util.cpp unless said otherwise):
//   /v1/user/login {password, value}               (UI: login button, loginwidget.cpp:57)
//   /v1/user/info  (empty body)                    (UI: auto login, loginwidget.cpp:114)
//   /v1/user/logout {time}                         (UI: mainwindow.cpp:58)
//   /v1/user/sendRegisterMessage {phone}           (UI: registerwidget.cpp:79)
//   /v1/user/register {code, name, password, phoneInfo} (UI: registerwidget.cpp:48)
//   /v1/files/page {orderBy, parent, path, type}   (UI: the file list, mainwindow.cpp:195)
//   /v1/files/createDirectory {name, path}         (UI: mkdir dialog, view/mkdirwidget.cpp:23)
//   /v1/store/token {hash, name, parent, path}     (UI: upload button, mainwindow.cpp:151 →
//                                                    util/multiparupload.cpp:20)
//   Defined in Util but called by no widget: /v1/files/list, /v1/files/get, /v1/files/move,
//   /v1/files/rename, /v1/files/recycle, /v1/files/remove, /v1/preview/pdf, /v1/preview/image
//   (their answers are only logged).
//   Upload host: the client builds `{uploadUrl}/mkblk/{size}/{blockIndex}` with a raw
//   `Authorization: <upload token>` and an `UploadBatch: {uuid}` header
//   (multiparupload.cpp:47-58, abstract.h:30-42), but never sends it (no mkblk/bput/mkfile
//   call is wired); no download, no offline calls.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assertOk, assertReads, send, startWireServer, type JsonLayer, type Shape, type WireAnswer, type WireServer } from '../support/client-harness.js';

const qt: JsonLayer = 'qt';

/** What QNetworkAccessManager adds to every request by itself. */
const QT_HEADERS: Record<string, string> = {
  'user-agent': 'Mozilla/5.0',
  'accept-language': 'en-US,*',
  'accept-encoding': 'gzip, deflate',
};

/**
 * One call as the client sends it: JSON content type always, `Authorization: Bearer <token>`
 * when `token` is given (util/abstract.h:9), none for login/register (abstract.h:21).
 * `body` undefined sends no bytes at all, still typed as JSON (user/info, util.cpp:49).
 */
function qtPost(base: string, path: string, token: string | undefined, body?: Record<string, unknown>): Promise<WireAnswer> {
  const headers: Record<string, string> = { ...QT_HEADERS, 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return send(base, { path, headers, json: body });
}

// What the client reads, field by field.
/** model/model.cpp:31-40 (UserInfo, struct.h:33-40): uuid into an int, the rest strings/ints. */
const USER_READ: Shape = { uuid: 'int', name: 'string', icon: 'string', phone: 'string', spaceUsed: 'int', spaceCapacity: 'int' };
/** model/model.cpp:72-88: the directory listed (`info` of files/page). */
const INFO_READ: Shape = {
  uuid: 'string',
  storeId: 'string',
  userId: 'int',
  path: 'string',
  name: 'string',
  ext: 'string',
  size: 'int',
  parent: 'string',
  type: 'int',
  atime: 'int',
  ctime: 'int',
  mtime: 'int',
  version: 'int',
  locking: 'bool',
};
/**
 * model/model.cpp:91-109: each entry of files/page `list`. It also reads `preview` and `flag`
 * with toBool(), but 6pan's gateway answers numbers there (files.js fillDirectoryData /
 * fillSimpleData), so the client always sees false: a client bug, not checked here.
 */
const ITEM_READ: Shape = INFO_READ;
/** model/model.cpp:61-70: the page around the list. */
const PAGE_READ: Shape = { page: 'int', pageSize: 'int', totalCount: 'int', totalPage: 'int', list: [ITEM_READ], info: INFO_READ };

/** The failure envelope as model.cpp:14-29 reads it (status ≠ 200: message and code). */
function assertReadableFailure(answer: WireAnswer, where: string, httpStatus = 200): void {
  assert.equal(answer.httpStatus, httpStatus, `${where}: HTTP ${answer.httpStatus} ${answer.text.slice(0, 300)}`);
  assertReads(qt, answer.body, { status: 'int', success: 'bool', code: 'string', message: 'string' }, where);
  assert.equal(answer.body.success, false, `${where}: ${answer.text.slice(0, 300)}`);
  assert.notEqual(answer.body.status, 200, `${where}: a failure must not say status 200 (the client then reads result)`);
}

/** The success envelope with the `status == 200` test the client makes (model.cpp:19) and its token. */
function assertQtOk(answer: WireAnswer, where: string): any {
  const result = assertOk(qt, answer, where);
  assert.equal(answer.body.status, 200, `${where}: the client tests status == 200`);
  assertReads(qt, answer.body, { token: 'string' }, where);
  return result;
}

function sha1hex(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

/**
 * Test setup, not client behaviour: puts a file into the drive through openpan's public upload
 * protocol (docs/spec/UPLOAD.md form upload), so the file calls have a file to work on.
 */
async function seedFile(base: string, token: string, name: string, data: Buffer): Promise<{ uuid: string; path: string }> {
  const ticket = assertOk(
    qt,
    await send(base, { path: '/v1/store/token', headers: { authorization: `Bearer ${token}` }, json: { name, path: '/' } }),
    'seed store/token',
  );
  const form = new FormData();
  form.set('token', ticket.token);
  form.set('file', new Blob([new Uint8Array(data)]), name);
  const res = await fetch(`${ticket.uploadUrl}/file/upload`, { method: 'POST', body: form });
  const text = await res.text();
  assert.equal(res.status, 200, `seed upload: ${text.slice(0, 300)}`);
  const created = JSON.parse(JSON.parse(text).response).result;
  return { uuid: created.uuid, path: created.path };
}

async function listRoot(base: string, token: string): Promise<any> {
  // MainWindow::setItem("", "/") → Util::getPageFile (mainwindow.cpp:195-200, networkdata.h:44-52)
  return assertQtOk(await qtPost(base, '/v1/files/page', token, { orderBy: 1, parent: '', path: '/', type: -1 }), 'files/page');
}

describe('HalalCloud (Qt): signing in and out', () => {
  let wire: WireServer;
  const name = 'halal';
  const typed = 'Bismillah-2024';

  before(async () => {
    wire = await startWireServer();
    await wire.createUser(name, typed);
  });
  after(() => wire.close());

  it('logs in with value + the password exactly as typed (no md5, no countryCode) and answers the user and a token', async () => {
    // util.cpp:23-29, networkdata.h:18-23: {password, value}, no Authorization header
    const answer = await qtPost(wire.url, '/v1/user/login', undefined, { password: typed, value: name });
    const user = assertQtOk(answer, 'user/login');
    assertReads(qt, user, USER_READ, 'user/login result');
    assert.equal(user.name, name);
    assert.ok(answer.body.token.length > 0, 'user/login: the envelope token is what the client saves');
    // MainWindow::progressInt divides spaceUsed by spaceCapacity as ints (mainwindow.cpp:78-81):
    // a capacity of 0 is an integer division by zero in the client.
    assert.ok(user.spaceCapacity > 0, `user/login: spaceCapacity must not be 0, got ${user.spaceCapacity}`);
    assert.ok(user.spaceUsed >= 0);
  });

  it('a wrong password fails over HTTP 200 with success false, a status other than 200, a code and a message', async () => {
    // loginwidget.cpp:69-73 shows a box chosen by `code` (USER_LOGIN_FAILED, USER_NOT_FOUND, …)
    const answer = await qtPost(wire.url, '/v1/user/login', undefined, { password: 'not-the-password', value: name });
    assertReadableFailure(answer, 'user/login (wrong password)');
    assert.equal(answer.body.token, undefined, 'user/login (wrong password): no token');
  });

  it('an unknown user fails over HTTP 200 with success false and a code', async () => {
    const answer = await qtPost(wire.url, '/v1/user/login', undefined, { password: typed, value: 'nobody-here' });
    assertReadableFailure(answer, 'user/login (unknown user)');
  });

  it('an empty password field is {PASSWORD}_REQUIRED (status 400) over HTTP 200, as the client expects', async () => {
    // loginwidget.cpp:104: the client has a message for "{PASSWORD}_REQUIRED"; the gateway
    // (controllers/v1/user.js /login) raises it for an empty password.
    const answer = await qtPost(wire.url, '/v1/user/login', undefined, { password: '', value: name });
    assertReadableFailure(answer, 'user/login (empty password)');
    assert.equal(answer.body.status, 400);
    assert.equal(answer.body.code, '{PASSWORD}_REQUIRED');
  });

  it('an empty user field is {VALUE}_REQUIRED (status 400) over HTTP 200', async () => {
    const answer = await qtPost(wire.url, '/v1/user/login', undefined, { password: typed, value: '' });
    assertReadableFailure(answer, 'user/login (empty value)');
    assert.equal(answer.body.status, 400);
    assert.equal(answer.body.code, '{VALUE}_REQUIRED');
  });

  it('user/info with a JSON content type and no body at all answers the user and a fresh token that works', async () => {
    const login = await qtPost(wire.url, '/v1/user/login', undefined, { password: typed, value: name });
    assertQtOk(login, 'user/login');
    const token = login.body.token as string;
    // Auto login: util.cpp:47-53 posts "" as the body with Content-Type: application/json.
    const answer = await qtPost(wire.url, '/v1/user/info', token);
    const user = assertQtOk(answer, 'user/info');
    assertReads(qt, user, USER_READ, 'user/info result');
    assert.equal(user.name, name);
    assert.ok(user.spaceCapacity > 0, 'user/info: spaceCapacity must not be 0 (integer division in the client)');
    // The client replaces its saved token with this one and uses it from then on.
    const fresh = answer.body.token as string;
    assert.ok(fresh.length > 0, 'user/info: the envelope must carry a token (the client saves it over the old one)');
    assertQtOk(await qtPost(wire.url, '/v1/files/page', fresh, { orderBy: 1, parent: '', path: '/', type: -1 }), 'files/page with the token from user/info');
  });

  it('user/info with no saved token ("Authorization: Bearer ") is HTTP 401 with a JSON envelope the client can read', async () => {
    // loginwidget.cpp:128 explains only the gateway's express-jwt code "CREDENTIALS_REQUIRED"
    // ("login expired"); openpan keeps its documented UNAUTHORIZED (docs/spec/API.md), so the client
    // shows its generic sign-in failure and goes back to the login form all the same.
    const answer = await qtPost(wire.url, '/v1/user/info', '');
    assertReadableFailure(answer, 'user/info (no token)', 401);
    assert.equal(answer.body.status, 401);
    assert.equal(answer.body.code, 'UNAUTHORIZED');
  });

  it('user/info with a token that is not valid is HTTP 401 with a JSON envelope the client can read', async () => {
    const answer = await qtPost(wire.url, '/v1/user/info', 'eyJhbGciOiJIUzI1NiJ9.eyJ1dWlkIjoxfQ.bm90LWEtc2lnbmF0dXJl');
    assertReadableFailure(answer, 'user/info (bad token)', 401);
    assert.equal(answer.body.status, 401);
  });

  it('logout with {time} (seconds, a number) answers status 200', async () => {
    const token = (await qtPost(wire.url, '/v1/user/login', undefined, { password: typed, value: name })).body.token as string;
    // util.cpp:64-71, networkdata.h:26-30: {time: int}; the client only tests status == 200.
    const answer = await qtPost(wire.url, '/v1/user/logout', token, { time: Math.floor(Date.now() / 1000) });
    assert.equal(answer.httpStatus, 200, answer.text.slice(0, 300));
    assertReads(qt, answer.body, { status: 'int', success: 'bool' }, 'user/logout');
    assert.equal(answer.body.status, 200, answer.text.slice(0, 300));
    assert.equal(answer.body.success, true);
  });
});

describe('HalalCloud (Qt): registering', () => {
  let wire: WireServer;
  before(async () => {
    wire = await startWireServer();
  });
  after(() => wire.close());

  it('sendRegisterMessage {phone} answers success false with code SMS_UNAVAILABLE over HTTP 200', async () => {
    // util.cpp:31-37, networkdata.h:122-127; model.cpp:43-49 reads status, result, success
    const answer = await qtPost(wire.url, '/v1/user/sendRegisterMessage', undefined, { phone: '13800138000' });
    assertReadableFailure(answer, 'user/sendRegisterMessage');
    assert.equal(answer.body.code, 'SMS_UNAVAILABLE');
  });

  it('register {code, name, password as typed, phoneInfo ""} answers an envelope the client can read over HTTP 200', async () => {
    // registerwidget.cpp:48-64 → util.cpp:39-45, networkdata.h:129-137. With no SMS the client
    // sends phoneInfo "" (the failed sendRegisterMessage has no string result). 6pan's gateway
    // refuses it ({PHONE_INFO}_REQUIRED); openpan may instead register by name when
    // registration is open. Either way the client reads the User envelope (model.cpp:14-29).
    const answer = await qtPost(wire.url, '/v1/user/register', undefined, { code: '123456', name: 'newcomer', password: 'Typed-Pass-1', phoneInfo: '' });
    assert.equal(answer.httpStatus, 200, answer.text.slice(0, 300));
    assertReads(qt, answer.body, { status: 'int', success: 'bool' }, 'user/register');
    if (answer.body.success) {
      const user = assertQtOk(answer, 'user/register');
      assertReads(qt, user, USER_READ, 'user/register result');
    } else {
      assertReadableFailure(answer, 'user/register');
    }
  });
});

describe('HalalCloud (Qt): the file list and the file calls', () => {
  let wire: WireServer;
  let token: string;
  const notes = Buffer.from('Assalamu alaikum: notes for the file calls.\n');
  let seeded: { uuid: string; path: string };

  before(async () => {
    wire = await startWireServer();
    await wire.createUser('amina', 'Amina-Pass-7');
    const login = await qtPost(wire.url, '/v1/user/login', undefined, { password: 'Amina-Pass-7', value: 'amina' });
    assertQtOk(login, 'user/login');
    token = login.body.token;
    seeded = await seedFile(wire.url, token, 'notes.txt', notes);
  });
  after(() => wire.close());

  it('files/page of the root as the client asks ({orderBy:1, parent:"", path:"/", type:-1}) answers every field it reads', async () => {
    const page = await listRoot(wire.url, token);
    assertReads(qt, page, PAGE_READ, 'files/page result');
    assert.equal(page.page, 1);
    assert.equal(page.totalCount, page.list.length);
    assert.equal(page.totalPage, Math.ceil(page.totalCount / page.pageSize));
    assert.equal(page.info.type, 1, 'files/page info: the root is a directory');
    assert.equal(page.info.path, '/');
    const file = page.list.find((f: { name: string }) => f.name === 'notes.txt');
    assert.ok(file, `files/page: notes.txt is listed: ${JSON.stringify(page.list.map((f: { name: string }) => f.name))}`);
    assert.equal(file.type, 0);
    assert.equal(file.size, notes.length, 'files/page: size in bytes (the client shows it)');
    assert.equal(file.ext, '.txt');
    // FilesItemWidget::setTime shows atime / 1000 as seconds (view/filesitemwidget.cpp:29-33).
    assert.ok(Math.abs(file.atime - Date.now()) < 10 * 60 * 1000, `files/page: atime in milliseconds, got ${file.atime}`);
  });

  it('files/page without page/pageSize (the client sends neither and never pages) answers page 1 of 20, as the gateway', async () => {
    // request_util.js getPageObjecet: page 1, pageSize 20 when not given. The client shows only
    // this first page (mainwindow.cpp:195-208).
    const page = await listRoot(wire.url, token);
    assert.equal(page.page, 1);
    assert.equal(page.pageSize, 20);
  });

  it('createDirectory {name, path:""} (the dialog never sets a path) makes the folder in the root and answers success', async () => {
    // view/mkdirwidget.cpp:23-42 → util.cpp:92-95, networkdata.h:62-68; only `success` is read.
    const answer = await qtPost(wire.url, '/v1/files/createDirectory', token, { name: 'Ramadan 2024', path: '' });
    assertQtOk(answer, 'files/createDirectory');
    assertReads(qt, answer.body, { success: 'bool' }, 'files/createDirectory');
    const page = await listRoot(wire.url, token);
    assertReads(qt, page, PAGE_READ, 'files/page after createDirectory');
    const dir = page.list.find((f: { name: string }) => f.name === 'Ramadan 2024');
    assert.ok(dir, 'the new folder is listed in the root');
    assert.equal(dir.type, 1);
    assert.equal(dir.path, '/Ramadan 2024');
    assert.equal(dir.parent, page.info.uuid);
  });

  it('createDirectory with the default name the dialog uses when the field is empty ("新建文件夹") works', async () => {
    const answer = await qtPost(wire.url, '/v1/files/createDirectory', token, { name: '新建文件夹', path: '' });
    assertQtOk(answer, 'files/createDirectory (default name)');
    const page = await listRoot(wire.url, token);
    assert.ok(
      page.list.some((f: { name: string; type: number }) => f.name === '新建文件夹' && f.type === 1),
      'the folder with the default name is listed',
    );
  });

  it('files/list {mime, orderBy, parent, path, recycle, type} answers a bare array of the root entries', async () => {
    // util.cpp:73-78, networkdata.h:32-42 (the answer is only logged)
    const answer = await qtPost(wire.url, '/v1/files/list', token, { mime: '', orderBy: 1, parent: '', path: '/', recycle: -1, type: -1 });
    const list = assertQtOk(answer, 'files/list');
    assertReads(qt, list, [ITEM_READ], 'files/list result');
    assert.ok(list.some((f: { name: string }) => f.name === 'notes.txt'));
  });

  it('files/get {path, uuid} answers the file', async () => {
    // util.cpp:86-90, networkdata.h:54-60 (the answer is only logged)
    const file = assertQtOk(await qtPost(wire.url, '/v1/files/get', token, { path: seeded.path, uuid: seeded.uuid }), 'files/get');
    assertReads(qt, file, ITEM_READ, 'files/get result');
    assert.equal(file.uuid, seeded.uuid);
    assert.equal(file.name, 'notes.txt');
  });

  it('preview/image and preview/pdf {path, uuid} of a text file answer success', async () => {
    // util.cpp:121-131, networkdata.h:106-120 (answers only logged); the gateway answers {} then.
    assertQtOk(await qtPost(wire.url, '/v1/preview/image', token, { path: seeded.path, uuid: seeded.uuid }), 'preview/image');
    assertQtOk(await qtPost(wire.url, '/v1/preview/pdf', token, { path: seeded.path, uuid: seeded.uuid }), 'preview/pdf');
  });

  it('rename {name, overwrite:"flase", path, uuid} renames (the misspelt string overwrite is ignored)', async () => {
    // util.cpp:103-107, networkdata.h:80-88: overwrite is the *string* "flase"
    const created = assertQtOk(await qtPost(wire.url, '/v1/files/createDirectory', token, { name: 'Old name', path: '' }), 'files/createDirectory');
    const page = await listRoot(wire.url, token);
    const dir = page.list.find((f: { name: string }) => f.name === 'Old name');
    assert.ok(dir, `the folder to rename is listed (createDirectory answered ${JSON.stringify(created)})`);
    const answer = await qtPost(wire.url, '/v1/files/rename', token, { name: 'New name', overwrite: 'flase', path: dir.path, uuid: dir.uuid });
    assertQtOk(answer, 'files/rename');
    const renamed = await listRoot(wire.url, token);
    const names = renamed.list.map((f: { name: string }) => f.name);
    assert.ok(names.includes('New name') && !names.includes('Old name'), `files/rename: root now has ${JSON.stringify(names)}`);
  });

  it('move {overwrite:"flase", parent, path, uuid} moves a folder into another folder', async () => {
    // util.cpp:97-101, networkdata.h:70-78
    assertQtOk(await qtPost(wire.url, '/v1/files/createDirectory', token, { name: 'Box', path: '' }), 'createDirectory Box');
    assertQtOk(await qtPost(wire.url, '/v1/files/createDirectory', token, { name: 'Moved', path: '' }), 'createDirectory Moved');
    const root = await listRoot(wire.url, token);
    const box = root.list.find((f: { name: string }) => f.name === 'Box');
    const moved = root.list.find((f: { name: string }) => f.name === 'Moved');
    assert.ok(box && moved);
    assertQtOk(await qtPost(wire.url, '/v1/files/move', token, { overwrite: 'flase', parent: box.uuid, path: moved.path, uuid: moved.uuid }), 'files/move');
    const inBox = assertQtOk(await qtPost(wire.url, '/v1/files/page', token, { orderBy: 1, parent: box.uuid, path: '', type: -1 }), 'files/page of Box');
    assertReads(qt, inBox, PAGE_READ, 'files/page of Box');
    assert.deepEqual(
      inBox.list.map((f: { name: string }) => f.name),
      ['Moved'],
    );
    assert.equal(inBox.info.uuid, box.uuid);
    const rootAfter = await listRoot(wire.url, token);
    assert.ok(!rootAfter.list.some((f: { name: string }) => f.name === 'Moved'), 'files/move: no longer in the root');
  });

  it('remove {path, uuid} removes the entry', async () => {
    // util.cpp:115-119, networkdata.h:98-104
    assertQtOk(await qtPost(wire.url, '/v1/files/createDirectory', token, { name: 'Trash me', path: '' }), 'createDirectory');
    const dir = (await listRoot(wire.url, token)).list.find((f: { name: string }) => f.name === 'Trash me');
    assert.ok(dir);
    assertQtOk(await qtPost(wire.url, '/v1/files/remove', token, { path: dir.path, uuid: dir.uuid }), 'files/remove');
    const names = (await listRoot(wire.url, token)).list.map((f: { name: string }) => f.name);
    assert.ok(!names.includes('Trash me'), `files/remove: root now has ${JSON.stringify(names)}`);
  });

  it('files/recycle, which 6pan v1 does not have, is an unknown route: HTTP 404 (the client only logs it)', async () => {
    // util.cpp:109-113; the gateway's files.js has no /recycle, so its 404 handler answers.
    const answer = await qtPost(wire.url, '/v1/files/recycle', token, { path: seeded.path, uuid: seeded.uuid });
    assert.equal(answer.httpStatus, 404, answer.text.slice(0, 300));
    const still = assertQtOk(await qtPost(wire.url, '/v1/files/get', token, { path: seeded.path, uuid: seeded.uuid }), 'files/get after recycle');
    assert.equal(still.uuid, seeded.uuid, 'the file is still there');
  });
});

describe('HalalCloud (Qt): upload', () => {
  let wire: WireServer;
  let token: string;

  before(async () => {
    wire = await startWireServer();
    await wire.createUser('yusuf', 'Yusuf-Pass-3');
    const login = await qtPost(wire.url, '/v1/user/login', undefined, { password: 'Yusuf-Pass-3', value: 'yusuf' });
    assertQtOk(login, 'user/login');
    token = login.body.token;
  });
  after(() => wire.close());

  it('store/token {hash: SHA-1 hex (not an etag), name, parent:"", path:""} answers an upload token and uploadUrl', async () => {
    // mainwindow.cpp:151-160 → multiparupload.cpp:20-45: hash is the file's SHA-1 in hex
    // (multiparupload.cpp:70-81); parent and path are "" (upload to the root).
    const data = Buffer.from('a fresh file the server has never seen ' + randomUUID());
    const answer = await qtPost(wire.url, '/v1/store/token', token, { hash: sha1hex(data), name: 'fresh.txt', parent: '', path: '' });
    const result = assertQtOk(answer, 'store/token');
    // multiparuploadmodel.cpp:25-47 reads token and uploadUrl (string or number) and keeps them.
    assertReads(qt, result, { token: 'string', uploadUrl: 'string' }, 'store/token result');
    assert.ok(result.token.length > 0);
    assert.match(result.uploadUrl, /^https?:\/\//);
  });

  it('store/token with the SHA-1 hex of content the drive already holds still succeeds (the hash is only a lookup)', async () => {
    // 6pan's gateway looks the hash up and, finding nothing, hands out a token (store.js /token):
    // a hash that is not an etag must not be refused.
    const data = Buffer.from('already stored content for the instant-upload lookup');
    await seedFile(wire.url, token, 'first.txt', data);
    const answer = await qtPost(wire.url, '/v1/store/token', token, { hash: sha1hex(data), name: 'second.txt', parent: '', path: '' });
    const result = assertQtOk(answer, 'store/token (known content)');
    // Either an upload token (as the gateway, whose hashes are etags) or an instant upload (a file).
    if (typeof result?.uuid === 'string') {
      assertReads(qt, result, ITEM_READ, 'store/token instant upload');
      assert.equal(result.name, 'second.txt');
    } else {
      assertReads(qt, result, { token: 'string', uploadUrl: 'string' }, 'store/token result');
    }
  });

  it('the block the client prepares (mkblk/{size}/{index}, raw Authorization, UploadBatch {uuid}, form Content-Type) keeps its exact bytes', async () => {
    // The client builds this request but never sends it (multiparupload.cpp:47-58, abstract.h:30-42):
    // Content-Type ends up application/x-www-form-urlencoded (setHeader after setRawHeader) over
    // binary bytes, and QUuid::toString() puts braces around the UploadBatch id. mkfile is not in
    // the client; it is sent here, with files/get and the download, only to check the stored bytes.
    const data = Buffer.concat([Buffer.from('a=1&b=%20+c\n'), Buffer.from(Array.from({ length: 256 }, (_, i) => i))]);
    const ticket = assertQtOk(
      await qtPost(wire.url, '/v1/store/token', token, { hash: sha1hex(data), name: 'block.bin', parent: '', path: '' }),
      'store/token',
    );
    assertReads(qt, ticket, { token: 'string', uploadUrl: 'string' }, 'store/token result');
    const blk = await fetch(`${ticket.uploadUrl}/mkblk/${data.length}/0`, {
      method: 'POST',
      headers: { ...QT_HEADERS, authorization: ticket.token, uploadbatch: `{${randomUUID()}}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: data,
    });
    const blkText = await blk.text();
    assert.equal(blk.status, 200, `mkblk: ${blkText.slice(0, 300)}`);
    const ctx = JSON.parse(blkText).ctx as string;
    assert.equal(typeof ctx, 'string');
    const mk = await fetch(`${ticket.uploadUrl}/mkfile/${data.length}`, {
      method: 'POST',
      headers: { authorization: ticket.token, 'content-type': 'text/plain' },
      body: ctx,
    });
    const mkText = await mk.text();
    assert.equal(mk.status, 200, `mkfile: ${mkText.slice(0, 300)}`);
    const page = await listRoot(wire.url, token);
    const entry = page.list.find((f: { name: string }) => f.name === 'block.bin');
    assert.ok(entry, 'the uploaded file is in the root');
    assert.equal(entry.size, data.length);
    const file = assertQtOk(await qtPost(wire.url, '/v1/files/get', token, { path: entry.path, uuid: entry.uuid }), 'files/get');
    assert.equal(typeof file.downloadAddress, 'string', 'files/get of a file has a downloadAddress');
    const got = Buffer.from(await (await fetch(file.downloadAddress)).arrayBuffer());
    assert.deepEqual(got, data, 'the bytes downloaded are the bytes of the block');
  });
});
