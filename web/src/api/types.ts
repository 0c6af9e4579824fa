// The shapes of docs/spec/API.md as the UI reads them, and the constants it names them by.

export const FILE = 0;
export const DIRECTORY = 1;

// The answers' shapes are the server's own schemas (src/http/sixpan/schemas.ts, also published
// at /v1/openapi.json): imported as types only, so no server code reaches the bundle.
import type { SixpanFile, SixpanParse, SixpanTask, SixpanUser, StoreTokenResult } from '../../../src/http/sixpan/schemas.js';

export type {
  AppPassword,
  OpenedShare,
  SharedEntry,
  ShareObject,
  SharePage,
  BinPage,
  BlockAnswer,
  CreatedAppPassword,
  FilePage,
  MediaInfo,
  ParsedFile,
  SearchPage,
  StoreTokenResult,
  TaskDetail,
  TaskFileAddress,
  TaskFileDetail,
  TaskRange,
  UploadAnswer,
  UploadTicket,
} from '../../../src/http/sixpan/schemas.js';
export type {
  AdminJob,
  AdminJobPage,
  AdminTask,
  AdminUser,
  AdminUserList,
  EngineStatsAnswer,
  ServerSettingsAnswer,
  StatsChart,
  StatsSample,
  StorageReportAnswer,
} from '../../../src/http/sixpan/admin-schemas.js';
export type FileObject = SixpanFile;
export type UserInfo = SixpanUser;
/** parseTorrent / parseUrl: one download the user may start. */
export type ParseResult = SixpanParse;
export type TaskObject = SixpanTask;

/** What files/search filters by (src/files/search.ts). */
export const SEARCH_KINDS = ['video', 'audio', 'image', 'document', 'archive'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number];

export interface LoginResult {
  token: string;
  user: UserInfo;
}

export function isFileObject(value: StoreTokenResult): value is FileObject {
  return 'uuid' in value;
}

/** A task's (and a parse result's) `type`. */
export const SOURCE_TORRENT = 0;
export const SOURCE_MAGNET = 10;
export const SOURCE_URL = 20;

/** Whether a task downloads a torrent, whose file selection can change (not a URL's one file). */
export function isTorrentTask(task: Pick<TaskObject, 'type'>): boolean {
  return task.type === SOURCE_TORRENT || task.type === SOURCE_MAGNET;
}

export const TASK_FAILED = -1;
export const TASK_QUEUED = 0;
export const TASK_PAUSED = 5;
export const TASK_METADATA = 10;
export const TASK_DOWNLOADING = 20;
export const TASK_SAVING = 50;
export const TASK_DONE = 100;

export type SortField = 'name' | 'size' | 'ctime' | 'mtime';
export interface SortOrder {
  field: SortField;
  desc: boolean;
}
