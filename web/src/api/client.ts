// The 6pan v1 API over fetch: every call is a POST with a JSON body answered in the envelope
// {status, success, code, result}. Failures become ApiError with the stable code, which the UI
// turns into words (i18n) rather than showing the server's English sentence.
import type { AdminJobPage, AdminUser, AdminUserList, EngineStatsAnswer, ServerSettingsAnswer, StatsChart, StorageReportAnswer } from './types.js';
import type {
  AppPassword,
  CreatedAppPassword,
  OpenedShare,
  ShareObject,
  SharePage,
  FileObject,
  FilePage,
  MediaInfo,
  BinPage,
  SearchKind,
  SearchPage,
  LoginResult,
  ParseResult,
  SortOrder,
  TaskDetail,
  TaskFileAddress,
  StoreTokenResult,
  TaskObject,
  TaskRange,
  UserInfo,
} from './types.js';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** What the failure's `result` carries for the client to act on (TASK_EXISTS: `{ taskId }`), else null. */
    readonly details: Readonly<Record<string, unknown>> | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface Envelope {
  status?: number;
  success?: boolean;
  code?: string;
  message?: string;
  result?: unknown;
  token?: string;
}

export interface Session {
  token(): string;
  /** Called when the server no longer accepts the token: the UI goes back to sign-in. */
  expired(): void;
}

export class Api {
  constructor(private readonly session: Session) {}

  async call<T>(path: string, body: object = {}): Promise<T> {
    return (await this.send<T>(path, body)).result;
  }

  /** One call, with the envelope's token (login and register open a session there). */
  private async send<T>(path: string, body: object): Promise<{ result: T; token: string }> {
    const token = this.session.token();
    let res: Response;
    try {
      res = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError('NETWORK', 0, err instanceof Error ? err.message : String(err));
    }
    let envelope: Envelope;
    try {
      envelope = (await res.json()) as Envelope;
    } catch {
      throw new ApiError('BAD_ANSWER', res.status, `The server answered ${res.status} without JSON.`);
    }
    if (!res.ok || envelope.success !== true) {
      // 6pan answers an endpoint's errors over HTTP 200, with the status in the envelope.
      const code = envelope.code ?? 'UNKNOWN';
      if (code === 'UNAUTHORIZED' && token) this.session.expired();
      const details =
        envelope.result !== null && typeof envelope.result === 'object' && !Array.isArray(envelope.result)
          ? (envelope.result as Record<string, unknown>)
          : null;
      throw new ApiError(code, res.ok && typeof envelope.status === 'number' ? envelope.status : res.status, envelope.message ?? code, details);
    }
    return { result: envelope.result as T, token: envelope.token ?? '' };
  }

  async login(name: string, password: string): Promise<LoginResult> {
    const { result, token } = await this.send<UserInfo>('/v1/user/login', { name, password });
    return { token, user: result };
  }
  async register(name: string, password: string): Promise<LoginResult> {
    const { result, token } = await this.send<UserInfo>('/v1/user/register', { name, password });
    return { token, user: result };
  }
  logout(): Promise<boolean> {
    return this.call('/v1/user/logout');
  }
  userInfo(): Promise<UserInfo> {
    return this.call('/v1/user/info');
  }
  appPasswords(): Promise<AppPassword[]> {
    return this.call('/v1/user/appPassword/list');
  }
  createAppPassword(name: string): Promise<CreatedAppPassword> {
    return this.call('/v1/user/appPassword/create', { name });
  }
  removeAppPassword(id: number): Promise<true> {
    return this.call('/v1/user/appPassword/remove', { id });
  }

  page(path: string, page: number, pageSize: number, order: SortOrder, onlyDirectories = false): Promise<FilePage> {
    return this.call('/v1/files/page', {
      path,
      page,
      pageSize,
      orderBy: `${order.field} ${order.desc ? 'desc' : 'asc'}`,
      ...(onlyDirectories ? { type: 1 } : {}),
    });
  }
  get(path: string): Promise<FileObject> {
    return this.call('/v1/files/get', { path });
  }
  createDirectory(path: string): Promise<FileObject> {
    return this.call('/v1/files/createDirectory', { path });
  }
  rename(uuid: string, name: string): Promise<FileObject> {
    return this.call('/v1/files/rename', { uuid, name });
  }
  move(uuids: string[], destPath: string): Promise<boolean> {
    return this.call('/v1/files/move', { uuid: uuids, destPath });
  }
  copy(uuids: string[], destPath: string): Promise<boolean> {
    return this.call('/v1/files/copy', { uuid: uuids, destPath });
  }
  /** Into the recycle bin. */
  remove(uuids: string[]): Promise<boolean> {
    return this.call('/v1/files/remove', { uuid: uuids });
  }
  search(query: string, kind: SearchKind | '', page: number, pageSize: number): Promise<SearchPage> {
    return this.call('/v1/files/search', { query, page, pageSize, ...(kind ? { type: kind } : {}) });
  }
  binPage(page: number, pageSize: number): Promise<BinPage> {
    return this.call('/v1/recycle/page', { page, pageSize });
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
  downloadAddress(uuid: string): Promise<{ downloadAddress: string; expires: number }> {
    return this.call('/v1/files/download', { uuid });
  }

  /** A /zip/ address of a folder or a selection. */
  zipAddress(uuids: string[]): Promise<{ downloadAddress: string; expires: number }> {
    return this.call('/v1/files/zip', { uuid: uuids });
  }

  createShare(uuids: string[], options: { withCode: boolean; expiresIn: number; maxDownloads: number }): Promise<ShareObject> {
    return this.call('/v1/share/create', { uuid: uuids, ...options });
  }
  shares(page: number, pageSize: number): Promise<{ list: ShareObject[]; totalCount: number }> {
    return this.call('/v1/share/list', { page, pageSize });
  }
  removeShares(ids: string[]): Promise<number> {
    return this.call('/v1/share/remove', { id: ids });
  }
  openShare(id: string, code: string): Promise<OpenedShare> {
    return this.call('/v1/share/open', { id, ...(code ? { code } : {}) });
  }
  browseShare(id: string, access: string, uuid: string, page: number): Promise<SharePage> {
    return this.call('/v1/share/browse', { id, access, uuid, page, pageSize: 200 });
  }
  shareDownload(id: string, access: string, uuid: string): Promise<{ downloadAddress: string; expires: number }> {
    return this.call('/v1/share/download', { id, access, uuid });
  }
  shareZip(id: string, access: string, uuids: string[]): Promise<{ downloadAddress: string; expires: number }> {
    return this.call('/v1/share/zip', { id, access, uuid: uuids });
  }
  saveShare(id: string, access: string, uuids: string[], destPath: string): Promise<string[]> {
    return this.call('/v1/share/save', { id, access, uuid: uuids, destPath });
  }

  /** How to play a video or audio file, given the codecs this browser decodes. */
  mediaInfo(uuid: string, support: { video: string[]; audio: string[] }): Promise<MediaInfo> {
    return this.call('/v1/media/info', { uuid, ...support });
  }

  /** Thumbnail addresses of a folder's images and videos, by file uuid. */
  thumbnails(path: string): Promise<Record<string, string>> {
    return this.call('/v1/media/thumbnails', { path });
  }

  storeToken(name: string, hash: string, path: string): Promise<StoreTokenResult> {
    return this.call('/v1/store/token', { name, hash, path });
  }

  parseTorrent(uuid: string): Promise<ParseResult> {
    return this.call('/v1/offline/parseTorrent', { uuid });
  }
  /** One URL per line; the server answers one object per URL (an array when several). */
  async parseUrls(urls: string[]): Promise<ParseResult[]> {
    const result = await this.call<ParseResult | ParseResult[]>('/v1/offline/parseUrl', { url: urls.join('\n') });
    return Array.isArray(result) ? result : [result];
  }
  /** A magnet link alone (the server answers at once when it knows the torrent, e.g. from a task). */
  parseMagnet(url: string): Promise<ParseResult> {
    return this.call('/v1/offline/parseMagnet', { url });
  }
  startTask(taskHash: string, files: number[] | '*', savePath: string): Promise<TaskObject> {
    return this.call('/v1/offline/start', { taskHash, files, savePath });
  }
  /** `size` tasks from the `start`th newest: an offset rather than a page number, so tasks
   * added or removed since the last read do not shift the next read (see useTasks). */
  tasks(start: number, size: number): Promise<TaskRange> {
    return this.call('/v1/offline/list', { start, size, order: 1 });
  }
  /** One task, with `detail`: its selected files and whether each is in the drive yet. */
  getTask(taskId: string): Promise<TaskDetail> {
    return this.call('/v1/offline/get', { taskId });
  }
  /** An address that plays one of a task's files while it downloads (and once it is in the drive). */
  playTaskFile(taskId: string, index: number): Promise<TaskFileAddress> {
    return this.call('/v1/offline/play', { taskId, index });
  }
  /** Changes which files of a torrent task download (indices as parse results number them); the task as it is now. */
  editTask(taskId: string, files: number[]): Promise<TaskObject> {
    return this.call('/v1/offline/edit', { taskId, files });
  }
  removeTasks(taskIds: string[], deleteFiles: boolean): Promise<boolean> {
    return this.call('/v1/offline/remove', { taskId: taskIds, deleteFiles });
  }
  pauseTasks(taskIds: string[]): Promise<boolean> {
    return this.call('/v1/offline/pause', { taskId: taskIds });
  }
  resumeTasks(taskIds: string[]): Promise<boolean> {
    return this.call('/v1/offline/resume', { taskId: taskIds });
  }

  // ---- the admin console (administrators only) ----
  adminUsers(): Promise<AdminUserList> {
    return this.call('/v1/admin/users/list');
  }
  adminCreateUser(name: string, password: string, isAdmin: boolean): Promise<AdminUser> {
    return this.call('/v1/admin/users/create', { name, password, isAdmin });
  }
  adminSetDisabled(identity: number, disabled: boolean): Promise<AdminUser> {
    return this.call('/v1/admin/users/setDisabled', { identity, disabled });
  }
  adminResetPassword(identity: number, password: string): Promise<AdminUser> {
    return this.call('/v1/admin/users/resetPassword', { identity, password });
  }
  adminSetQuota(identity: number, quota: { spaceCapacity?: number; offlineQuota?: number }): Promise<AdminUser> {
    return this.call('/v1/admin/users/setQuota', { identity, ...quota });
  }
  adminSetAdmin(identity: number, isAdmin: boolean): Promise<AdminUser> {
    return this.call('/v1/admin/users/setAdmin', { identity, isAdmin });
  }
  adminSettings(): Promise<ServerSettingsAnswer> {
    return this.call('/v1/admin/settings/get');
  }
  adminSetSettings(patch: Partial<ServerSettingsAnswer>): Promise<ServerSettingsAnswer> {
    return this.call('/v1/admin/settings/set', patch);
  }
  adminJobs(page: number, pageSize: number, unfinished: boolean): Promise<AdminJobPage> {
    return this.call('/v1/admin/offline/jobs', { page, pageSize, unfinished });
  }
  adminCancelJob(jobId: string): Promise<{ cancelledTasks: number }> {
    return this.call('/v1/admin/offline/cancel', { jobId });
  }
  adminEngines(): Promise<EngineStatsAnswer[]> {
    return this.call('/v1/admin/offline/engines');
  }
  adminStorage(): Promise<StorageReportAnswer> {
    return this.call('/v1/admin/storage/info');
  }
  adminChart(): Promise<StatsChart> {
    return this.call('/v1/admin/storage/chart');
  }
}
