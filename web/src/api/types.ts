// The shapes of API.md as the UI reads them. Only the fields the UI uses are listed.

export const FILE = 0;
export const DIRECTORY = 1;

export interface FileObject {
  uuid: string;
  storeId: string;
  path: string;
  name: string;
  ext: string;
  size: number;
  mime: string;
  parent: string;
  type: number;
  ctime: number;
  mtime: number;
}

export interface FilePage {
  list: FileObject[];
  page: number;
  pageSize: number;
  totalCount: number;
  totalPage: number;
  info: FileObject;
}

export interface UserInfo {
  identity: number | string;
  name: string;
  spaceUsed: number;
  spaceCapacity: number;
}

export interface LoginResult {
  token: string;
  user: UserInfo;
}

/** /v1/store/token without a known hash: where and how to send the bytes. */
export interface UploadTicket {
  uploadUrl: string;
  token: string;
  name: string;
}

export type StoreTokenResult = UploadTicket | FileObject;

export function isFileObject(value: StoreTokenResult): value is FileObject {
  return 'uuid' in value;
}

export interface ParsedFile {
  index: number;
  path: string;
  size: number;
  cached: boolean;
}

/** parseTorrent / parseUrl: one download the user may start. */
export interface ParseResult {
  taskHash: string;
  type: number;
  name: string;
  size: number;
  infoHash?: string;
  url?: string;
  /** Absent while a magnet link's metadata is still being fetched. */
  files?: ParsedFile[];
  metadataPending?: boolean;
  server?: boolean;
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

export interface TaskObject {
  taskId: string;
  type: number;
  name: string;
  infoHash: string;
  url: string;
  size: number;
  finishedSize: number;
  progress: number;
  speed: number;
  peers: number;
  status: number;
  /** 6pan's numeric error code (0: none). */
  errorCode: number;
  /** openpan's stable error code ("" when none). */
  error: string;
  message: string;
  savePath: string;
  saveUuid: string;
  files: number[];
  createTime: number;
  finishTime: number;
}

/** One selected file of a task, from /v1/offline/get. */
export interface TaskFileDetail {
  index: number;
  path: string;
  size: number;
  finishedSize: number;
  progress: number;
  /** 100 once the file is in the drive. */
  status: number;
  uuid: string;
  storeId: string;
}

export interface TaskDetail extends TaskObject {
  detail: TaskFileDetail[];
}

export interface TaskRange {
  list: TaskObject[];
  start: number;
  size: number;
  totalCount: number;
}

export type SortField = 'name' | 'size' | 'ctime' | 'mtime';
export interface SortOrder {
  field: SortField;
  desc: boolean;
}
