// Conformance of openpan with QZCloud, an Android (Kotlin) client of 6pan.
//
// Client: github.com/AllureCool/QZCloud, commit 48eab71 (the state where every call is v1), read,
// never copied. Paths below are inside `app/src/main/java/com/smile/qzclould/` unless they name
// another module (`wcs-android-sdk/…`).
// - Transport: Retrofit 2.4 + OkHttp 3.10 (repository/HttpRepository.kt:33-98). Every call is
//   `POST https://api.6pan.cn/v1/...` with a JSON body written by Gson from a Kotlin data class
//   (repository/CustomGsonRequestBodyConverter.java:18: `application/json; charset=UTF-8`): a
//   Kotlin `String` goes out as a JSON string, `Int`/`Long` as a number, `List<String>` /
//   `Array<Int>` as an array. Field order is the data class's.
// - Token: an interceptor puts `token: <saved token>` on EVERY request (HttpRepository.kt:77-81),
//   login and the SMS calls included; with nothing saved the header is there and empty. No
//   `Authorization` header ever. It also sends `User-Agent: QZCloud` and `user-timestamp: <ms>`.
//   The saved token is the envelope's `token` of login (user/loign/viewmodel/UserViewModel.kt:32)
//   and then of ANY 2xx answer that carries a non-empty one (CustomGsonResponseBodyConverter.java:35-38).
// - Password: md5 hex (lower case) of what was typed (user/loign/fragment/LoginFragment.kt:70,
//   utils/CommonUtils.kt:7). Login sends `{value, password}` only: no countryCode
//   (repository/requestbody/LoginBody.kt).
// - JSON layer `gson`: Gson 2.8.5 into Kotlin data classes (repository/Respone.kt: `success`
//   Boolean, `message` String?, `code` String, `status` Int, `result`, `token` String?). A failure
//   is shown with `errorMessage!!` (LoginFragment.kt:93 and every other screen): an answer with
//   `success:false` must carry a `message` string, or the app crashes. A non-2xx HTTP status is a
//   Retrofit HttpException: the app toasts "HTTP 401 …" and does nothing else (no re-login).
// Endpoints it sends (repository/ApiService.kt, bodies in repository/requestbody/):
//   /v1/user/login {value, password}                         (LoginFragment.kt:49)
//   /v1/user/logout {time: Long}                             (user/HomeFourthFragment.kt:61)
//   /v1/user/changeName {name}                               (user/info/ModifyNickNameFragment.kt:60)
//   /v1/user/sendRegisterMessage {countryCode, phone}        (register flow)
//   /v1/user/register {phoneInfo, code, name, password(md5)} (PwdInputFragment.kt:71, needs an SMS)
//   /v1/user/sendChangePasswordMessage {time: Long}          (HomeFourthFragment.kt:66)
//   /v1/user/sendChangePasswordMessage2 {phone}              (forgotten password)
//   /v1/user/changePasswordByMessage(2) {phoneInfo, code, newPassword(md5)} (needs an SMS)
//   /v1/files/page {path, page, pageSize: 20, orderBy: 0|1, type: -1} (cloud/fragment/HomeFirstFragment.kt:287,
//                                                            transfer/dialog/SelectDownloadPathDialog.kt:125)
//   /v1/files/createDirectory {name, path: <the folder shown>} (HomeFirstFragment.kt:115)
//   /v1/files/get {path}                                     (transfer/adapter/LocalDownloadAdapter.kt:202,
//                                                            preview/player/activity/PlayerActivity.kt:40)
//   /v1/files/move, /v1/files/copy {path: [paths], destPath} (cloud/adapter/FileListAdapter.kt:221,237)
//   /v1/files/remove {path: [paths]}                         (FileListAdapter.kt:205)
//   /v1/store/token {name, hash, parent, path, originalFilename} (repository/upload/UploadFile.kt:58)
//   /v1/offline/parseUrl {url}                               (transfer/dialog/AddTaskDialog.kt:49)
//   /v1/offline/start {taskHash, copyFile: [], savePath}     (AddTaskDialog.kt:71)
//   /v1/offline/page {page, pageSize: 3, order: 0}           (transfer/fragment/TransferFragment.kt:140)
//   /v1/offline/remove {taskId}                              (TransferFragment.kt:102)
//   /v1/preview/image|pdf|media {path}                       (preview/picture/PicturePreviewActivity.kt:35,
//                                                            preview/pdf/PdfViewActivity.kt:70, PlayerActivity.kt:38)
//   Declared but called by no screen: /v1/files/list (Respone<List<Direcotory>>: a bare array).
// Upload host: `POST {uploadUrl}/file/upload`, multipart, built by the bundled WCS SDK
//   (wcs-android-sdk/.../api/FileUploader.java:204-264, network/WcsRequestTask.java:214-222); no
//   token header; success is any 2xx (the answer's body is not needed). No block upload is used.
// Downloads: FileDownloader 1.7.5 (app/build.gradle:111) GETs `downloadAddress` with no token;
//   a finished download is kept only if the WCS etag of its bytes equals `storeId`
//   (LocalDownloadAdapter.kt:108-118), else it is deleted as damaged.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deflateSync } from 'node:zlib';
import { makeTorrent, startTracker, startWebTorrentSeeder, type Seeder, type Tracker } from '../support/swarm.js';
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

const gson: JsonLayer = 'gson';

// ---------------------------------------------------------------------------------------------
// What the client reads, per Kotlin data class. Required: fields a screen uses without a null
// check (a Kotlin String/List/object property left null by Gson crashes on first use). `?`: fields
// only declared; Gson still throws on them when the JSON type cannot convert (an array into a
// String, 37.5 into an Int, a number into a Boolean), so their type is checked when present.
// ---------------------------------------------------------------------------------------------

/** user/loign/bean/UserInfoBean.kt: `name` is the nickname shown (user/HomeFourthFragment.kt:44). */
const USER_READ: Shape = { uuid: 'string', name: 'string', phone: 'string?', icon: 'string?' };

/**
 * db/Direcotory.kt, an entry of a listing: `mime` decides the icon and what a tap does
 * (cloud/adapter/FileListAdapter.kt:50-66, HomeFirstFragment.kt:154-196, `mime!!`), `name` and
 * `ctime` are shown (FileListAdapter.kt:68-69), `path` is what is opened, moved, removed and
 * fetched, `uuid` is the download table's key and the entry's identity (Direcotory.kt:11-13,44-49).
 */
const ENTRY_READ: Shape = {
  uuid: 'string',
  name: 'string',
  mime: 'string',
  path: 'string',
  ctime: 'int',
  type: 'int?',
  parent: 'string?',
  mtime: 'int?',
  atime: 'int?',
  userId: 'int?',
  size: 'int?',
  flag: 'int?',
  preview: 'int?',
  hasPreview: 'bool?',
  recycle: 'int?',
  storeId: 'string?',
  lft: 'int?',
  rgt: 'int?',
  version: 'int?',
  locking: 'bool?',
  isSelected: 'bool?',
  isDownloading: 'bool?',
  downloadStatus: 'int?',
  downloadSize: 'int?',
  downProgress: 'int?',
  totalSize: 'int?',
  taskId: 'int?',
};
/** Direcotory's Kotlin `Int` properties: a number past 32 bits makes Gson throw. */
const ENTRY_INT32 = [
  'type',
  'userId',
  'flag',
  'preview',
  'recycle',
  'lft',
  'rgt',
  'version',
  'downloadStatus',
  'downloadSize',
  'downProgress',
  'totalSize',
  'taskId',
];

/** ui/cloud/bean/FileBean.kt (files/page): `list` is iterated (cloud/viewmodel/CloudViewModel.kt:53). */
const PAGE_READ: Shape = { list: [ENTRY_READ], page: 'int?', pageSize: 'int?', totalCount: 'int?', totalPage: 'int?' };

/**
 * ui/transfer/bean/FileDetailBean.kt (files/get): `downloadAddress` is fetched
 * (LocalDownloadAdapter.kt:135, PlayerActivity.kt:88), `storeId` checks the bytes
 * (LocalDownloadAdapter.kt:111), `name` names the temporary file (LocalDownloadAdapter.kt:196).
 */
const DETAIL_READ: Shape = { downloadAddress: 'string', storeId: 'string', name: 'string', uuid: 'string?', mime: 'string?', position: 'int?' };

/** ui/transfer/bean/UploadFileResponeBean.kt (store/token): UploadFile.kt:69,78. */
const UPLOAD_TOKEN_READ: Shape = { uploadUrl: 'string', token: 'string', type: 'int?', version: 'int?' };

/** ui/cloud/bean/ParseUrlResultBean.kt: only `taskHash` is used (AddTaskDialog.kt:71). */
const PARSE_READ: Shape = { taskHash: 'string', name: 'string?', server: 'bool?' };
const PARSE_FILE_DECLARED: Shape = { path: 'string?', size: 'int?', order: 'int?' };

/** ui/cloud/bean/OfflineDownloadResult.kt (offline/start): nothing is read, all declared. */
const START_DECLARED: Shape = {
  userId: 'int?',
  taskId: 'string?',
  copyFile: 'string?',
  copiedFile: 'string?',
  createTime: 'int?',
  savePath: 'string?',
  filePath: 'string?',
  copied: 'int?',
};

/**
 * ui/transfer/bean/DownloadTaskBean.kt, a task: `mime!!`, `name`, `progress` are shown
 * (transfer/adapter/DownloadTaskAdapter.kt:25-45), `taskId` is removed (TransferFragment.kt:102),
 * `savePath` is the folder opened on a tap (TransferFragment.kt:118). `copyFile`/`copiedFile`
 * are Strings, `errorCode` an Int: an array or a word there makes Gson throw.
 */
const TASK_READ: Shape = {
  taskId: 'string',
  name: 'string',
  mime: 'string',
  progress: 'int',
  savePath: 'string',
  userId: 'int?',
  copyFile: 'string?',
  copiedFile: 'string?',
  createTime: 'int?',
  filePath: 'string?',
  copied: 'int?',
  statue: 'int?',
  finishedSize: 'int?',
  size: 'int?',
  errorCode: 'int?',
  serverId: 'string?',
};
const TASK_INT32 = ['userId', 'statue', 'progress', 'errorCode'];
/** DownloadTaskBean: `list` is handed to the adapter and checked with `isEmpty()` (TransferFragment.kt:66-81). */
const TASK_PAGE_READ: Shape = { list: [TASK_READ], page: 'int?', pageSize: 'int?', totalCount: 'int?', totalPage: 'int?' };

/** ui/preview/picture/PictureBean.kt: `url` goes to Uri.parse (PicturePreviewActivity.kt:50). */
const PICTURE_READ: Shape = { url: 'string', address: 'string?', width: 'int?', height: 'int?' };
/** ui/preview/pdf/PdfDetailBean.kt: `url`, checked with TextUtils.isEmpty (PdfViewActivity.kt:38). */
const PDF_READ: Shape = { url: 'string?' };
/** ui/preview/player/bean/VideoDetailBean.kt: `preview[i].url` is played (PlayerActivity.kt:77-82). */
const MEDIA_READ: Shape = {
  preview: [{ url: 'string', clearText: 'string?', clear: 'int?', resolution: 'string?', duration: 'int?' }],
};

// ---------------------------------------------------------------------------------------------
// The app's HTTP side
// ---------------------------------------------------------------------------------------------

/** One installed app: the saved token, and the headers its interceptor adds (HttpRepository.kt:73-91). */
class QzApp {
  /** UserInfoManager.getUserToken(): "" until a login. */
  token = '';
  constructor(readonly base: string) {}

  async call(path: string, body: Record<string, unknown>): Promise<WireAnswer> {
    const answer = await send(this.base, {
      path,
      headers: {
        'content-type': 'application/json; charset=UTF-8',
        'user-agent': 'QZCloud',
        token: this.token,
        'user-timestamp': String(Date.now()),
        'accept-encoding': 'gzip',
      },
      json: body,
    });
    // CustomGsonResponseBodyConverter.java:35-38 (Retrofit runs it for 2xx answers only).
    const next = answer.httpStatus >= 200 && answer.httpStatus < 300 ? answer.body?.token : undefined;
    if (typeof next === 'string' && next !== '') this.token = next;
    return answer;
  }
}

/** LoginFragment.kt:49 → UserViewModel.kt:28-41: `{value, password: md5(typed)}`, then the token is saved. */
async function logIn(app: QzApp, value: string, typed: string): Promise<any> {
  const answer = await app.call('/v1/user/login', { value, password: md5hex(typed) });
  const user = assertOk(gson, answer, 'user/login');
  assertReads(gson, user, USER_READ, 'user/login result');
  assertReads(gson, answer.body, { token: 'string' }, 'user/login envelope');
  assert.notEqual(answer.body.token, '', 'user/login: the envelope carries the session token');
  app.token = answer.body.token;
  return user;
}

/** How every screen takes a failure: HTTP 200, `success:false`, and a `message` to toast with `!!`. */
function assertRefused(answer: WireAnswer, where: string): void {
  assert.equal(answer.httpStatus, 200, `${where}: errors raised by an endpoint travel over HTTP 200, got ${answer.httpStatus} ${answer.text.slice(0, 200)}`);
  assertReads(gson, answer.body, { success: 'bool', status: 'int', code: 'string', message: 'string' }, where);
  assert.equal(answer.body.success, false, `${where}: ${answer.text.slice(0, 200)}`);
  assert.ok(answer.body.status >= 400, `${where}: status ${answer.body.status}`);
}

/** A `Respone<String>` result: Gson takes a string, number or boolean (or null); an object or array throws. */
function assertGsonString(value: unknown, where: string): void {
  assert.ok(
    value === null || value === undefined || ['string', 'number', 'boolean'].includes(typeof value),
    `${where}: Gson reads a String here, the answer has ${JSON.stringify(value)?.slice(0, 200)}`,
  );
}

/** A `Respone<Boolean>` result: Gson takes a boolean or a string (or null); a number, object or array throws. */
function assertGsonBoolean(value: unknown, where: string): void {
  assert.ok(
    value === null || value === undefined || typeof value === 'boolean' || typeof value === 'string',
    `${where}: Gson reads a Boolean here, the answer has ${JSON.stringify(value)?.slice(0, 200)}`,
  );
}

/** Kotlin `Int` properties: Gson throws on a number outside 32 bits. */
function assertInt32(obj: Record<string, unknown>, fields: string[], where: string): void {
  for (const field of fields) {
    const v = obj[field];
    if (v === undefined || v === null) continue;
    const n = Number(v);
    assert.ok(Number.isInteger(n) && n >= -2147483648 && n <= 2147483647, `${where}.${field}: a Kotlin Int, the answer has ${JSON.stringify(v)}`);
  }
}

function assertEntry(entry: any, where: string): void {
  assertReads(gson, entry, ENTRY_READ, where);
  assertInt32(entry, ENTRY_INT32, where);
}

/** HomeFirstFragment.kt:287 → CloudViewModel.kt:48: one page of a folder, 20 a page, name order. */
async function listPage(app: QzApp, path: string, page = 1, orderBy = 0): Promise<any> {
  const answer = await app.call('/v1/files/page', { path, page, pageSize: 20, orderBy, type: -1 });
  const result = assertOk(gson, answer, `files/page ${path}`);
  assertReads(gson, result, PAGE_READ, `files/page ${path} result`);
  result.list.forEach((entry: any, i: number) => {
    assertInt32(entry, ENTRY_INT32, `files/page ${path} list[${i}]`);
  });
  if (result.info !== undefined && result.info !== null)
    assertReads(gson, result.info, { uuid: 'string?', name: 'string?', mime: 'string?', path: 'string?', type: 'int?' }, `files/page ${path} info`);
  return result;
}

/** What the screen shows: CloudViewModel.kt:52-57 drops entries with `locking: true`. */
function shown(page: any): any[] {
  return page.list.filter((entry: any) => !(entry.locking === true || entry.locking === 'true'));
}

// ---------------------------------------------------------------------------------------------
// Content: the WCS etag the app checks downloads with, a real PNG, OkHttp's multipart
// ---------------------------------------------------------------------------------------------

/** utils/WetagUtil.java:49-90: 4 MiB blocks, 0x16 + SHA-1 for one block, 0x96 + SHA-1 of the SHA-1s. */
function wcsEtag(data: Buffer): string {
  const block = 4 * 1024 * 1024;
  const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
  if (data.length <= block) return Buffer.concat([Buffer.from([0x16]), sha1(data)]).toString('base64url');
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += block) parts.push(sha1(data.subarray(at, at + block)));
  return Buffer.concat([Buffer.from([0x96]), sha1(Buffer.concat(parts))]).toString('base64url');
}

/** utils/EncodeUtils.java:176-196: the `hash` the app sends to store/token is the file's md5 hex. */
function fileMd5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    let c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A valid RGB PNG of the given size (the app uploads what its image picker returns). */
function pngImage(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) rows.push(Buffer.concat([Buffer.from([0]), randomBytes(width * 3)]));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** OkHttp 3.10's MultipartBody bytes: each part has a Content-Length; a part with no media type has no Content-Type. */
function okHttpMultipart(parts: FormPart[]): { contentType: string; body: Buffer } {
  const boundary = randomUUID();
  const out: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}\r\n`;
    if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}\r\n`;
    head += `Content-Length: ${part.data.length}\r\n\r\n`;
    out.push(Buffer.from(head, 'utf8'), part.data, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(out) };
}

const WCS_USER_AGENT = 'WCS-Android-SDK-1.6.4-Pixel-9(https://www.chinanetcenter.com)';

interface UploadRun {
  tokenAnswer: WireAnswer;
  uploadStatus: number;
  uploadText: string;
}

/**
 * repository/upload/UploadFile.kt:45-104 with the WCS SDK. The picker hands over absolute paths
 * and UploadFileFragment.kt:65 makes them the file's *name* too, so `name`, `originalFilename`,
 * the form's `key` and the file part's filename are the whole device path; `file` and `desc` are
 * the base name (FileUploader.java:230-240). Destination: `parent: "/"`, `path: "/"`.
 */
async function uploadAsTheApp(app: QzApp, devicePath: string, data: Buffer): Promise<UploadRun> {
  const tokenAnswer = await app.call('/v1/store/token', { name: devicePath, hash: fileMd5(data), parent: '/', path: '/', originalFilename: devicePath });
  const result = assertOk(gson, tokenAnswer, 'store/token');
  assertReads(gson, result, UPLOAD_TOKEN_READ, 'store/token result');
  assertInt32(result, ['type', 'version'], 'store/token result');
  assert.match(result.uploadUrl, /^https?:\/\//, 'store/token: OkHttp needs an absolute uploadUrl');
  const baseName = devicePath.slice(devicePath.lastIndexOf('/') + 1);
  // The params map is a java.util.HashMap: it iterates file, key, token, desc
  // (FileUploader.java:217-240); the file's bytes come last (WcsRequestTask.java:216-221), typed
  // with the request's own "multipart/form-data" header (FileUploader.java:250-251).
  const form = okHttpMultipart([
    { name: 'file', data: Buffer.from(baseName) },
    { name: 'key', data: Buffer.from(devicePath) },
    { name: 'token', data: Buffer.from(result.token) },
    { name: 'desc', data: Buffer.from(baseName) },
    { name: 'file', filename: devicePath, contentType: 'multipart/form-data', data },
  ]);
  const res = await fetch(result.uploadUrl + '/file/upload', {
    method: 'POST',
    headers: { 'content-type': form.contentType, 'user-agent': WCS_USER_AGENT, 'accept-encoding': 'gzip' },
    body: new Uint8Array(form.body),
  });
  return { tokenAnswer, uploadStatus: res.status, uploadText: await res.text() };
}

const DALVIK = 'Dalvik/2.1.0 (Linux; U; Android 9; Pixel Build/PQ3A.190801.002)';

/**
 * FileDownloader 1.7.5 as LocalDownloadAdapter.kt:133-142 starts it: a trial GET with
 * `Range: bytes=0-0`, then the download from 0 with `If-Match: <the trial's ETag>`; no token.
 */
async function downloadAsFileDownloader(url: string, size: number): Promise<{ bytes: Buffer; etag: string | null }> {
  const trial = await fetch(url, { headers: { range: 'bytes=0-0', 'user-agent': DALVIK, 'accept-encoding': 'identity' } });
  await trial.arrayBuffer();
  assert.equal(trial.status, 206, `trial connection: FileDownloader asks for bytes=0-0, got HTTP ${trial.status}`);
  assert.equal(trial.headers.get('content-range'), `bytes 0-0/${size}`, 'trial connection: the total size comes from Content-Range');
  const etag = trial.headers.get('etag');
  const headers: Record<string, string> = { range: 'bytes=0-', 'user-agent': DALVIK, 'accept-encoding': 'identity' };
  if (etag) headers['if-match'] = etag;
  const res = await fetch(url, { headers });
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.ok(res.status === 200 || res.status === 206, `download: HTTP ${res.status} (If-Match: ${etag})`);
  return { bytes, etag };
}

// ---------------------------------------------------------------------------------------------

describe('QZCloud Android: account', () => {
  let w: WireServer;
  before(async () => {
    w = await startWireServer();
    await w.createUser('qzuser', 'Typed-Passw0rd');
    await w.createUser('qznick', 'Nick-Passw0rd');
  });
  after(() => w?.close());

  it('logs in with {value: name, password: md5 hex} and an empty token header, and gets the user and a token', async () => {
    const app = new QzApp(w.url);
    const user = await logIn(app, 'qzuser', 'Typed-Passw0rd');
    assert.equal(String(user.name), 'qzuser');
    // The token the app saved works for the next call, sent in its `token` header.
    const page = await listPage(app, '/');
    assert.ok(Array.isArray(page.list));
  });

  it('logs in while still sending an old or broken token header (login is open to anyone)', async () => {
    const app = new QzApp(w.url);
    app.token = 'eyJhbGciOiJIUzI1NiJ9.eyJ1dWlkIjoxfQ.broken-signature';
    await logIn(app, 'qzuser', 'Typed-Passw0rd');
    const first = app.token;
    const again = new QzApp(w.url);
    again.token = first;
    await logIn(again, 'qzuser', 'Typed-Passw0rd');
  });

  it('a wrong password fails over HTTP 200 with success:false and a message to toast', async () => {
    const app = new QzApp(w.url);
    const answer = await app.call('/v1/user/login', { value: 'qzuser', password: md5hex('not-the-password') });
    assertRefused(answer, 'user/login with a wrong password');
    assert.ok(!answer.body.token, 'no token for a failed login');
    const nobody = await app.call('/v1/user/login', { value: 'nobody-here', password: md5hex('whatever') });
    assertRefused(nobody, 'user/login of an unknown name');
  });

  it('a broken or missing token answers HTTP 401 (the app only toasts it)', async () => {
    const app = new QzApp(w.url);
    app.token = 'not-a-token';
    const bad = await app.call('/v1/files/page', { path: '/', page: 1, pageSize: 20, orderBy: 0, type: -1 });
    assert.equal(bad.httpStatus, 401, bad.text.slice(0, 200));
    // After a logout UserInfoManager.kt:80-84 forgets the token: the header goes out empty.
    app.token = '';
    const none = await app.call('/v1/files/page', { path: '/', page: 1, pageSize: 20, orderBy: 0, type: -1 });
    assert.equal(none.httpStatus, 401, none.text.slice(0, 200));
  });

  it('the SMS calls fail with SMS_UNAVAILABLE and a message (register, change and forgotten password)', async () => {
    const app = new QzApp(w.url);
    // repository/requestbody/SendVerifyCodeBody.kt, ForgetPwdMsgBody.kt: sent before any login.
    const register = await app.call('/v1/user/sendRegisterMessage', { countryCode: '86', phone: '13800138000' });
    assertRefused(register, 'user/sendRegisterMessage');
    assert.equal(register.body.code, 'SMS_UNAVAILABLE');
    const forgot = await app.call('/v1/user/sendChangePasswordMessage2', { phone: '13800138000' });
    assertRefused(forgot, 'user/sendChangePasswordMessage2');
    assert.equal(forgot.body.code, 'SMS_UNAVAILABLE');
    // ChangePwdSendMsgBody.kt: `{time: Long}`, logged in (HomeFourthFragment.kt:66).
    await logIn(app, 'qzuser', 'Typed-Passw0rd');
    const change = await app.call('/v1/user/sendChangePasswordMessage', { time: Date.now() });
    assertRefused(change, 'user/sendChangePasswordMessage');
    assert.equal(change.body.code, 'SMS_UNAVAILABLE');
  });

  it('changeName {name} succeeds with a scalar result, and the new name logs in', async () => {
    const app = new QzApp(w.url);
    await logIn(app, 'qznick', 'Nick-Passw0rd');
    const answer = await app.call('/v1/user/changeName', { name: 'qznick2' });
    assertGsonString(assertOk(gson, answer, 'user/changeName'), 'user/changeName result');
    const again = new QzApp(w.url);
    const user = await logIn(again, 'qznick2', 'Nick-Passw0rd');
    assert.equal(String(user.name), 'qznick2');
  });

  it('logout {time} answers true; the app then forgets its token', async () => {
    const app = new QzApp(w.url);
    await logIn(app, 'qzuser', 'Typed-Passw0rd');
    const answer = await app.call('/v1/user/logout', { time: Date.now() });
    const result = assertOk(gson, answer, 'user/logout');
    assertGsonBoolean(result, 'user/logout result');
    assert.equal(result, true);
  });
});

describe('QZCloud Android: browsing, folders, upload, download, move/copy/remove, previews', () => {
  let w: WireServer;
  let app: QzApp;
  const png = pngImage(3, 2);
  const devicePath = '/storage/emulated/0/DCIM/Camera/IMG_20190302_101010.png';
  const imageName = 'IMG_20190302_101010.png';

  before(async () => {
    w = await startWireServer();
    await w.createUser('qzfiles', 'Files-Passw0rd');
    app = new QzApp(w.url);
    await logIn(app, 'qzfiles', 'Files-Passw0rd');
  });
  after(() => w?.close());

  it('lists the root as files/page {path:"/", page:1, pageSize:20, orderBy:0, type:-1}; both sort orders answer', async () => {
    const byName = await listPage(app, '/', 1, 0);
    const byTime = await listPage(app, '/', 1, 1);
    assert.deepEqual(byTime.list.map((e: any) => e.path).sort(), byName.list.map((e: any) => e.path).sort());
    // The next page past the end is an empty list (the app stops loading more on isEmpty()).
    const past = await listPage(app, '/', 2, 0);
    assert.deepEqual(past.list, []);
  });

  it('createDirectory {name, path: <folder shown>} makes the folder inside that folder, typed as a directory', async () => {
    const answer = await app.call('/v1/files/createDirectory', { name: 'Photos', path: '/' });
    const dir = assertOk(gson, answer, 'files/createDirectory');
    assertEntry(dir, 'files/createDirectory result');
    assert.equal(dir.name, 'Photos');
    assert.equal(dir.path, '/Photos');
    assert.equal(Number(dir.type), 1);
    // Folders are recognised by exactly this mime (HomeFirstFragment.kt:154, TransferViewModel.kt:115).
    assert.equal(dir.mime, 'application/x-directory');

    const root = shown(await listPage(app, '/'));
    const listed = root.find((e: any) => e.path === '/Photos');
    assert.ok(listed, 'the new folder is listed in the root');
    assert.equal(listed.mime, 'application/x-directory');
    assert.equal(listed.uuid, dir.uuid);
  });

  it('opens the folder by its path, and creates a folder inside it the same way', async () => {
    const inside = await listPage(app, '/Photos');
    assert.deepEqual(inside.list, []);
    const answer = await app.call('/v1/files/createDirectory', { name: '2019', path: '/Photos' });
    const dir = assertOk(gson, answer, 'files/createDirectory in /Photos');
    assertEntry(dir, 'files/createDirectory in /Photos result');
    assert.equal(dir.path, '/Photos/2019');
    const inPhotos = shown(await listPage(app, '/Photos'));
    assert.deepEqual(
      inPhotos.map((e: any) => e.path),
      ['/Photos/2019'],
    );
  });

  it('uploads a picked picture: store/token with the device path and md5, then the WCS form to {uploadUrl}/file/upload', async () => {
    const run = await uploadAsTheApp(app, devicePath, png);
    assert.ok(
      run.uploadStatus >= 200 && run.uploadStatus < 300,
      `file/upload: the SDK counts only 2xx as success, got ${run.uploadStatus} ${run.uploadText.slice(0, 300)}`,
    );
    // The file lands in the folder asked for ("/"), named after the picture, not after the device path.
    const root = shown(await listPage(app, '/'));
    const entry = root.find((e: any) => e.name === imageName);
    assert.ok(entry, `the upload is listed in the root as ${imageName}: ${JSON.stringify(root.map((e: any) => e.path))}`);
    assert.equal(entry.path, `/${imageName}`);
    assert.match(entry.mime, /^image\//, 'a picture opens in the picture viewer (HomeFirstFragment.kt:184)');
    assert.equal(Number(entry.size), png.length);
  });

  it('files/get {path} gives a downloadAddress FileDownloader fetches without a token, and storeId is the etag of those bytes', async () => {
    const answer = await app.call('/v1/files/get', { path: `/${imageName}` });
    const detail = assertOk(gson, answer, 'files/get');
    assertReads(gson, detail, DETAIL_READ, 'files/get result');
    assert.match(detail.downloadAddress, /^https?:\/\//, 'FileDownloader needs an absolute URL');
    assert.equal(detail.storeId, wcsEtag(png), 'LocalDownloadAdapter.kt:111 deletes a download whose etag is not storeId');
    const { bytes, etag } = await downloadAsFileDownloader(detail.downloadAddress, png.length);
    assert.ok(bytes.equals(png), 'the bytes downloaded are the bytes uploaded');
    assert.equal(wcsEtag(bytes), detail.storeId);

    // A paused download resumes from where it stopped, with the same If-Match (FileDownloader).
    const headers: Record<string, string> = { range: 'bytes=10-', 'user-agent': DALVIK, 'accept-encoding': 'identity' };
    if (etag) headers['if-match'] = etag;
    const resumed = await fetch(detail.downloadAddress, { headers });
    const tail = Buffer.from(await resumed.arrayBuffer());
    assert.equal(resumed.status, 206, 'a resumed download needs 206');
    assert.ok(tail.equals(png.subarray(10)));
  });

  it('uploading the same picture again (same md5) still gets an upload token and the form upload succeeds', async () => {
    // The app cannot use an instant-upload answer: it reads only uploadUrl and token (UploadFile.kt:60-61).
    const run = await uploadAsTheApp(app, devicePath, png);
    assert.ok(run.uploadStatus >= 200 && run.uploadStatus < 300, `file/upload again: ${run.uploadStatus} ${run.uploadText.slice(0, 300)}`);
    const matches = shown(await listPage(app, '/')).filter((e: any) => e.name === imageName);
    assert.equal(matches.length, 1, 'the same picture is not listed twice');
  });

  it('store/token with the md5 of content the server already stores is not an instant upload for this app', async () => {
    const answer = await app.call('/v1/store/token', {
      name: '/storage/emulated/0/DCIM/Camera/copy.png',
      hash: fileMd5(png),
      parent: '/',
      path: '/',
      originalFilename: '/storage/emulated/0/DCIM/Camera/copy.png',
    });
    const result = assertOk(gson, answer, 'store/token');
    assertReads(gson, result, UPLOAD_TOKEN_READ, 'store/token result');
  });

  it('preview/image {path} gives a url the picture viewer loads', async () => {
    const answer = await app.call('/v1/preview/image', { path: `/${imageName}` });
    const result = assertOk(gson, answer, 'preview/image');
    assertReads(gson, result, PICTURE_READ, 'preview/image result');
    assertInt32(result, ['width', 'height'], 'preview/image result');
    const res = await fetch(result.url, { headers: { 'user-agent': DALVIK } });
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(png));
  });

  it('preview/pdf {path}: a PDF gives a url serving the PDF; a text file gives no url that is not a PDF', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    const txt = Buffer.from('notes, not a pdf\n');
    for (const [path, data] of [
      ['/storage/emulated/0/Download/manual.pdf', pdf],
      ['/storage/emulated/0/Download/notes.txt', txt],
    ] as const) {
      const run = await uploadAsTheApp(app, path, data);
      assert.ok(run.uploadStatus >= 200 && run.uploadStatus < 300, `file/upload ${path}: ${run.uploadStatus} ${run.uploadText.slice(0, 200)}`);
    }
    const forPdf = assertOk(gson, await app.call('/v1/preview/pdf', { path: '/manual.pdf' }), 'preview/pdf of a pdf');
    assertReads(gson, forPdf, { url: 'string' }, 'preview/pdf of a pdf result');
    const got = await fetch(forPdf.url, { headers: { 'user-agent': DALVIK } });
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(pdf), 'PdfViewActivity.kt:41 downloads the url and opens it as a PDF');

    // The viewer saves whatever `url` serves as "<name>.pdf" and opens it with a PDF library.
    const forTxt = assertOk(gson, await app.call('/v1/preview/pdf', { path: '/notes.txt' }), 'preview/pdf of a text file');
    assertReads(gson, forTxt, PDF_READ, 'preview/pdf of a text file result');
    if (typeof forTxt.url === 'string' && forTxt.url !== '') {
      const body = Buffer.from(await (await fetch(forTxt.url)).arrayBuffer());
      assert.equal(body.subarray(0, 5).toString('latin1'), '%PDF-', 'a non-empty preview url must serve a PDF');
    }
  });

  it('a video plays from files/get when hasPreview is false, or from preview/media urls when it is true', async () => {
    const video = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42'), randomBytes(2048)]);
    const run = await uploadAsTheApp(app, '/storage/emulated/0/DCIM/Camera/VID_20190302_101010.mp4', video);
    assert.ok(run.uploadStatus >= 200 && run.uploadStatus < 300, `file/upload video: ${run.uploadStatus}`);
    const entry = shown(await listPage(app, '/')).find((e: any) => e.name === 'VID_20190302_101010.mp4');
    assert.ok(entry, 'the video is listed');
    assert.match(entry.mime, /^video\//, 'a video opens in the player (HomeFirstFragment.kt:160)');
    assertReads(gson, entry, { hasPreview: 'bool' }, 'the video entry');
    if (entry.hasPreview === true || entry.hasPreview === 'true') {
      const media = assertOk(gson, await app.call('/v1/preview/media', { path: entry.path }), 'preview/media');
      assertReads(gson, media, MEDIA_READ, 'preview/media result');
      assert.ok(media.preview.length > 0, 'PlayerActivity.kt:79 plays preview[0]');
      for (const p of media.preview) assert.ok(!String(p.url).includes('?'), 'PlayerActivity.kt:81 appends "?token=…" to the url');
    } else {
      const detail = assertOk(gson, await app.call('/v1/files/get', { path: entry.path }), 'files/get video');
      assertReads(gson, detail, DETAIL_READ, 'files/get video result');
      const res = await fetch(detail.downloadAddress, { headers: { 'user-agent': DALVIK } });
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(video), 'the player streams the downloadAddress');
    }
  });

  it('move {path: [..], destPath} moves the selection into the chosen folder', async () => {
    const answer = await app.call('/v1/files/move', { path: [`/${imageName}`], destPath: '/Photos' });
    assertGsonString(assertOk(gson, answer, 'files/move'), 'files/move result');
    const root = shown(await listPage(app, '/')).map((e: any) => e.path);
    const photos = shown(await listPage(app, '/Photos')).map((e: any) => e.path);
    assert.ok(!root.includes(`/${imageName}`), 'moved out of the root');
    assert.ok(photos.includes(`/Photos/${imageName}`), 'moved into /Photos');
  });

  it('copy {path: [..], destPath} copies the selection; the copy downloads the same bytes', async () => {
    const answer = await app.call('/v1/files/copy', { path: [`/Photos/${imageName}`], destPath: '/' });
    assertGsonString(assertOk(gson, answer, 'files/copy'), 'files/copy result');
    const root = shown(await listPage(app, '/'));
    const copy = root.find((e: any) => e.path === `/${imageName}`);
    assert.ok(copy, 'the copy is in the root');
    assert.ok(
      shown(await listPage(app, '/Photos')).some((e: any) => e.path === `/Photos/${imageName}`),
      'the original stays',
    );
    const detail = assertOk(gson, await app.call('/v1/files/get', { path: copy.path }), 'files/get copy');
    assertReads(gson, detail, DETAIL_READ, 'files/get copy result');
    const { bytes } = await downloadAsFileDownloader(detail.downloadAddress, png.length);
    assert.ok(bytes.equals(png));
  });

  it('remove {path: [..]} removes files and folders (recursively)', async () => {
    const answer = await app.call('/v1/files/remove', { path: ['/Photos', `/${imageName}`] });
    assertGsonString(assertOk(gson, answer, 'files/remove'), 'files/remove result');
    const root = shown(await listPage(app, '/')).map((e: any) => e.path);
    assert.ok(!root.includes('/Photos') && !root.includes(`/${imageName}`), JSON.stringify(root));
    const gone = await app.call('/v1/files/page', { path: '/Photos', page: 1, pageSize: 20, orderBy: 0, type: -1 });
    assertRefused(gone, 'files/page of a removed folder');
  });
});

/** A plain HTTP file server on 127.0.0.1 for URL tasks. */
async function startFileServer(files: Map<string, Buffer>): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const data = files.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!data) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': data.length });
    res.end(req.method === 'HEAD' ? undefined : data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** TransferFragment.kt:140 → TransferViewModel.kt:33: `{page, pageSize: 3, order: 0}`. */
async function taskPage(app: QzApp, page: number): Promise<any> {
  const answer = await app.call('/v1/offline/page', { page, pageSize: 3, order: 0 });
  const result = assertOk(gson, answer, 'offline/page');
  assertReads(gson, result, TASK_PAGE_READ, 'offline/page result');
  result.list.forEach((task: any, i: number) => {
    assertInt32(task, TASK_INT32, `offline/page list[${i}]`);
    const progress = Number(task.progress);
    assert.ok(progress >= 0 && progress <= 100, `offline/page list[${i}].progress ${task.progress}`);
  });
  return result;
}

/** The list refreshed by pulling it, until the task shows 100 % (DownloadTaskAdapter.kt:38). */
async function waitTaskDone(app: QzApp, taskId: string, timeoutMs: number): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const page = await taskPage(app, 1);
    const task = page.list.find((t: any) => t.taskId === taskId);
    assert.ok(task, `offline/page lists task ${taskId}: ${JSON.stringify(page.list).slice(0, 300)}`);
    if (Number(task.progress) === 100) return task;
    assert.ok(Number(task.status) !== -1, `task failed: ${JSON.stringify(task).slice(0, 300)}`);
    assert.ok(Date.now() < until, `task not done after ${timeoutMs} ms: ${JSON.stringify(task).slice(0, 300)}`);
    await sleep(300);
  }
}

/** AddTaskDialog.kt:49,71: parseUrl, then start with the parsed taskHash, `copyFile: []` and the folder chosen. */
async function addTask(app: QzApp, url: string, savePath: string): Promise<{ parsed: any; started: any }> {
  const parseAnswer = await app.call('/v1/offline/parseUrl', { url });
  const parsed = assertOk(gson, parseAnswer, 'offline/parseUrl');
  assertReads(gson, parsed, PARSE_READ, 'offline/parseUrl result');
  if (parsed.files !== undefined && parsed.files !== null) assertReads(gson, parsed.files, [PARSE_FILE_DECLARED], 'offline/parseUrl result.files');
  const startAnswer = await app.call('/v1/offline/start', { taskHash: parsed.taskHash, copyFile: [], savePath });
  const started = assertOk(gson, startAnswer, 'offline/start');
  if (started !== null && started !== undefined) {
    assertReads(gson, started, START_DECLARED, 'offline/start result');
    assertInt32(started, ['userId', 'copied'], 'offline/start result');
  }
  return { parsed, started };
}

/** Finds a task id: from start's result if it has one, else from the first page of tasks. */
async function taskIdOf(app: QzApp, started: any): Promise<string> {
  if (started && typeof started.taskId === 'string' && started.taskId !== '') return started.taskId;
  const page = await taskPage(app, 1);
  assert.equal(page.list.length, 1, 'one task was started');
  return page.list[0].taskId;
}

describe('QZCloud Android: offline tasks', { timeout: 180_000 }, () => {
  let w: WireServer;
  let web: { origin: string; close(): Promise<void> };
  let tracker: Tracker;
  const seeders: Seeder[] = [];
  const dirs: string[] = [];
  const clip = randomBytes(96 * 1024 + 5);

  before(async () => {
    web = await startFileServer(new Map([['/videos/sample.mp4', clip]]));
    tracker = await startTracker({ intervalMs: 1000 });
    w = await startWireServer({ OPENPAN_MAGNET_WAIT: '15' });
    await w.createUser('qzurl', 'Url-Passw0rd');
    await w.createUser('qzmagnet', 'Magnet-Passw0rd');
  });
  after(async () => {
    await w?.close();
    await Promise.all(seeders.map((s) => s.close()));
    await tracker?.close();
    await web?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('an HTTP URL: parseUrl, start {copyFile: [], savePath}, the task list shows it to 100 %, the file is in that folder, remove drops it', async () => {
    const app = new QzApp(w.url);
    await logIn(app, 'qzurl', 'Url-Passw0rd');
    // The folder is picked in SelectDownloadPathDialog.kt:61 as a folder's `path`.
    assertOk(gson, await app.call('/v1/files/createDirectory', { name: 'Offline', path: '/' }), 'files/createDirectory');
    const { started } = await addTask(app, `${web.origin}/videos/sample.mp4`, '/Offline');
    const taskId = await taskIdOf(app, started);
    const done = await waitTaskDone(app, taskId, 60_000);
    assert.equal(done.savePath, '/Offline', 'a tap on the task opens its savePath (TransferFragment.kt:118)');
    assert.equal(String(done.name), 'sample.mp4');

    // The page past the end is empty, not null (the adapter stops loading on isEmpty()).
    const past = await taskPage(app, 2);
    assert.deepEqual(past.list, []);

    const entry = shown(await listPage(app, done.savePath)).find((e: any) => e.name === 'sample.mp4');
    assert.ok(entry, 'the downloaded file is in the folder chosen');
    const detail = assertOk(gson, await app.call('/v1/files/get', { path: entry.path }), 'files/get');
    assertReads(gson, detail, DETAIL_READ, 'files/get result');
    assert.equal(detail.storeId, wcsEtag(clip));
    const { bytes } = await downloadAsFileDownloader(detail.downloadAddress, clip.length);
    assert.ok(bytes.equals(clip), 'the bytes in the drive are the bytes served');

    const removed = await app.call('/v1/offline/remove', { taskId });
    assertGsonString(assertOk(gson, removed, 'offline/remove'), 'offline/remove result');
    const afterRemove = await taskPage(app, 1);
    assert.ok(!afterRemove.list.some((t: any) => t.taskId === taskId), 'the task is gone from the list');
  });

  it('a magnet link from a loopback swarm: parseUrl gives a taskHash, start with savePath "/" downloads it', async () => {
    const payload = randomBytes(200 * 1024 + 11);
    const built = makeTorrent([{ path: 'holiday.mkv', bytes: payload }], { announce: [tracker.httpUrl] });
    const dir = mkdtempSync(join(tmpdir(), 'openpan-qz-seed-'));
    dirs.push(dir);
    seeders.push(await startWebTorrentSeeder(built, dir, tracker));
    const app = new QzApp(w.url);
    await logIn(app, 'qzmagnet', 'Magnet-Passw0rd');
    const magnet = `magnet:?xt=urn:btih:${built.infoHash}&dn=${encodeURIComponent(built.name)}&tr=${encodeURIComponent(tracker.httpUrl)}`;
    const { started } = await addTask(app, magnet, '/');
    const taskId = await taskIdOf(app, started);
    const done = await waitTaskDone(app, taskId, 90_000);
    assert.equal(done.savePath, '/');
    const entry = shown(await listPage(app, '/')).find((e: any) => e.name === 'holiday.mkv');
    assert.ok(entry, "the torrent's file is in the root");
    const detail = assertOk(gson, await app.call('/v1/files/get', { path: entry.path }), 'files/get');
    assertReads(gson, detail, DETAIL_READ, 'files/get result');
    const { bytes } = await downloadAsFileDownloader(detail.downloadAddress, payload.length);
    assert.ok(bytes.equals(payload));
  });
});
