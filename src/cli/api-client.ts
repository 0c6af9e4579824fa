// The command line's one client for the 6pan v1 API (docs/spec/API.md) and the upload service (docs/spec/UPLOAD.md).

import type {
  AppPassword,
  BinPage,
  OfflineStartBody,
  StoreTokenBody,
  BlockAnswer,
  CreatedAppPassword,
  FilePage,
  ParsedFile,
  ParseUrlResult,
  SearchPage,
  SixpanFile,
  SixpanParse,
  SixpanTask,
  SixpanUser,
  Success,
  TaskDetail,
  TaskFileDetail,
  TaskRange,
  UploadTicket,
} from '../http/sixpan/schemas.js';

// The API's shapes are the server's own answer schemas (also published at /v1/openapi.json):
// one definition for both sides.
export type FileObject = SixpanFile;
export type TaskObject = SixpanTask;
export type ParseResult = SixpanParse;
export type UserInfo = SixpanUser;
export type {
  AppPassword,
  BinPage,
  BlockAnswer,
  CreatedAppPassword,
  FilePage,
  SearchPage,
  ParsedFile,
  ParseUrlResult,
  TaskDetail,
  TaskFileDetail,
  TaskRange,
  UploadTicket,
};

/** `/v1/offline/start`'s body, as the server's schema states it. */
export type OfflineStartRequest = OfflineStartBody;

/** A failed call: the server's HTTP status and stable code, or status 0 when it was not reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
  }
}

/** `/v1/store/token`'s body, as the server's schema states it. */
export type StoreTokenRequest = StoreTokenBody;

/** The answer to a finished upload (form upload or mkfile). */
export interface UploadResult {
  hash: string;
  file: FileObject;
}

/** What a client reads of an answer before it knows whether it succeeded. */
type Envelope<T> = Omit<Success<T>, 'status' | 'success' | 'code'> & { status: number; success: boolean; code: string; message?: string };

export function isFileObject(v: unknown): v is FileObject {
  return typeof v === 'object' && v !== null && typeof (v as FileObject).uuid === 'string' && (v as FileObject).uuid !== '';
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new ApiError(0, 'NETWORK_ERROR', `cannot reach ${new URL(url).origin}: ${why}`, { cause: err });
  }
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'NOT_JSON', `the server answered HTTP ${res.status} with something that is not JSON: ${text.slice(0, 200)}`);
  }
}

/** An error answer of the upload service: the API's envelope, or Qiniu's `{"error": "..."}`. */
function uploadError(status: number, body: unknown): ApiError {
  const b = (body ?? {}) as { code?: unknown; message?: unknown; error?: unknown };
  const code = typeof b.code === 'string' ? b.code : `HTTP_${status}`;
  const message = typeof b.message === 'string' ? b.message : typeof b.error === 'string' ? b.error : `upload request failed with HTTP ${status}`;
  return new ApiError(status, code, message);
}

export class ApiClient {
  readonly url: string;

  constructor(
    url: string,
    public token = '',
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  /** POST /v1/... with a JSON body; returns `result` or throws ApiError with the server's code. */
  async call<T>(path: string, body: object = {}): Promise<T> {
    return (await this.send<T>(path, body)).result;
  }

  /** One call, with the envelope's token (login opens a session there). */
  private async send<T>(path: string, body: object): Promise<{ result: T; token: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await send(this.url + path, { method: 'POST', headers, body: JSON.stringify(body) });
    const json = (await readJson(res)) as Partial<Envelope<T>>;
    if (!res.ok || json.success !== true) {
      if (res.status === 404 && json.code === undefined) {
        throw new ApiError(404, 'NOT_FOUND', `${path} does not exist on this server (is ${this.url} an openpan server, and is it up to date?)`);
      }
      // 6pan answers an endpoint's errors over HTTP 200, with the status in the envelope.
      const status = res.ok && typeof json.status === 'number' ? json.status : res.status;
      throw new ApiError(status, json.code ?? `HTTP_${res.status}`, json.message ?? `${path} failed with HTTP ${status}`);
    }
    return { result: json.result as T, token: json.token ?? '' };
  }

  async login(name: string, password: string): Promise<{ token: string; user: UserInfo }> {
    const { result, token } = await this.send<UserInfo>('/v1/user/login', { name, password });
    return { token, user: result };
  }

  logout(): Promise<boolean> {
    return this.call('/v1/user/logout');
  }

  info(): Promise<UserInfo> {
    return this.call('/v1/user/info');
  }

  createAppPassword(name: string): Promise<CreatedAppPassword> {
    return this.call('/v1/user/appPassword/create', { name });
  }

  appPasswords(): Promise<AppPassword[]> {
    return this.call('/v1/user/appPassword/list');
  }

  removeAppPassword(id: number): Promise<true> {
    return this.call('/v1/user/appPassword/remove', { id });
  }

  /** Instant upload (a file object) when the server knows the hash, otherwise an upload ticket. */
  storeToken(req: StoreTokenRequest): Promise<FileObject | UploadTicket> {
    return this.call('/v1/store/token', req);
  }

  page(req: { path: string; page: number; pageSize: number; orderBy?: string }): Promise<FilePage> {
    return this.call('/v1/files/page', req);
  }

  get(path: string): Promise<FileObject> {
    return this.call('/v1/files/get', { path });
  }

  createDirectory(path: string): Promise<FileObject> {
    return this.call('/v1/files/createDirectory', { path });
  }

  /** Into the recycle bin, or for good with `permanent`. */
  remove(paths: string[], permanent = false): Promise<boolean> {
    return this.call('/v1/files/remove', permanent ? { path: paths, permanent: true } : { path: paths });
  }

  // ---- recycle bin and search ----

  binPage(req: { page?: number; pageSize?: number } = {}): Promise<BinPage> {
    return this.call('/v1/recycle/page', req);
  }

  binRestore(uuids: string[]): Promise<FileObject[]> {
    return this.call('/v1/recycle/restore', { uuid: uuids });
  }

  binPurge(uuids: string[]): Promise<boolean> {
    return this.call('/v1/recycle/purge', { uuid: uuids });
  }

  binClear(): Promise<{ purged: number }> {
    return this.call('/v1/recycle/clear', {});
  }

  search(req: { query: string; type?: string; page?: number; pageSize?: number }): Promise<SearchPage> {
    return this.call('/v1/files/search', req);
  }

  download(path: string): Promise<{ downloadAddress: string; expires: number }> {
    return this.call('/v1/files/download', { path });
  }

  // ---- offline download (docs/spec/API.md "Offline download") ----

  /** The file list of a `.torrent` already in the drive, by its uuid (or path). */
  parseTorrent(source: { uuid: string } | { path: string }): Promise<ParseResult> {
    return this.call('/v1/offline/parseTorrent', source);
  }

  /** A magnet link or an HTTP(S) URL; one answer per line of `url` (an array when several). */
  parseUrl(url: string, password?: string): Promise<ParseUrlResult> {
    return this.call('/v1/offline/parseUrl', password === undefined ? { url } : { url, password });
  }

  offlineStart(req: OfflineStartRequest): Promise<TaskObject> {
    return this.call('/v1/offline/start', req);
  }

  /** `start`/`size` window of the caller's tasks; `order` 1 newest first (default), -1 oldest first. */
  offlineList(req: { start?: number; size?: number; order?: 1 | -1 } = {}): Promise<TaskRange> {
    return this.call('/v1/offline/list', req);
  }

  offlineGet(taskId: string): Promise<TaskDetail> {
    return this.call('/v1/offline/get', { taskId });
  }

  offlineRemove(taskIds: string[], deleteFiles = false): Promise<boolean> {
    return this.call('/v1/offline/remove', deleteFiles ? { taskId: taskIds, deleteFiles: true } : { taskId: taskIds });
  }

  offlinePause(taskIds: string[]): Promise<boolean> {
    return this.call('/v1/offline/pause', { taskId: taskIds });
  }

  offlineResume(taskIds: string[]): Promise<boolean> {
    return this.call('/v1/offline/resume', { taskId: taskIds });
  }
}

/** The upload service at a ticket's `uploadUrl`, authorised by the ticket's token (docs/spec/UPLOAD.md). */
export class UploadService {
  readonly url: string;

  constructor(
    uploadUrl: string,
    readonly token: string,
    /** `UploadBatch` header: one id per file upload. */
    readonly batch: string,
  ) {
    this.url = uploadUrl.replace(/\/+$/, '');
  }

  private headers(contentType: string): Record<string, string> {
    return { authorization: this.token, uploadbatch: this.batch, 'content-type': contentType };
  }

  /** Form upload: the whole (small) file in one multipart request. */
  async form(name: string, data: Uint8Array, mime = 'application/octet-stream'): Promise<UploadResult> {
    const form = new FormData();
    form.set('token', this.token);
    form.set('file', new Blob([data], { type: mime }), name);
    const res = await send(`${this.url}/file/upload`, { method: 'POST', body: form });
    return this.finished(res);
  }

  /** One whole block, `order` 0-based. */
  async mkblk(order: number, block: Uint8Array): Promise<BlockAnswer> {
    const res = await send(`${this.url}/mkblk/${block.length}/${order}`, {
      method: 'POST',
      headers: this.headers('application/octet-stream'),
      body: block,
    });
    const json = await readJson(res);
    if (!res.ok) throw uploadError(res.status, json);
    const answer = json as Partial<BlockAnswer>;
    if (typeof answer.ctx !== 'string' || typeof answer.offset !== 'number') {
      throw new ApiError(res.status, 'UPLOAD_ANSWER_INVALID', `mkblk answered without ctx/offset: ${JSON.stringify(json).slice(0, 200)}`);
    }
    return answer as BlockAnswer;
  }

  /** Assembles the file from the last ctx of every block, in block order. */
  async mkfile(size: number, ctxs: string[]): Promise<UploadResult> {
    const res = await send(`${this.url}/mkfile/${size}`, {
      method: 'POST',
      headers: this.headers('text/plain'),
      body: ctxs.join(','),
    });
    return this.finished(res);
  }

  /** `{hash, key, response}` where `response` is the API's envelope of the created file, as a string. */
  private async finished(res: Response): Promise<UploadResult> {
    const json = await readJson(res);
    if (!res.ok) throw uploadError(res.status, json);
    const answer = json as { hash?: unknown; response?: unknown };
    const env = (typeof answer.response === 'string' ? JSON.parse(answer.response) : answer.response) as Partial<Envelope<FileObject>> | undefined;
    if (env && env.success === false) throw new ApiError(env.status ?? res.status, env.code ?? 'UPLOAD_FAILED', env.message ?? 'the upload was refused');
    if (typeof answer.hash !== 'string' || !env || !isFileObject(env.result)) {
      throw new ApiError(res.status, 'UPLOAD_ANSWER_INVALID', `the upload service answered without hash/file: ${JSON.stringify(json).slice(0, 200)}`);
    }
    return { hash: answer.hash, file: env.result };
  }
}
