// The shapes 6pan's gateway answered, built from openpan's domain objects. Everything a client
// reads is here, with the gateway's field names and JSON types; openpan's own fields stay
// beside them where no client minds. The shapes themselves are the schemas of ./schemas.ts.
import type { FileObject } from '../../files/file-object.js';
import { mimeOf } from '../../files/files.service.js';
import type { ParseFailure, ParseResult, TaskFileDetail, TaskObject } from '../../offline/index.js';
import type { UserView } from '../../users/users.service.js';
import type { SixpanFile, SixpanParse, SixpanParseFailure, SixpanTask, SixpanUser, TaskDetail } from './schemas.js';

export type { SixpanFile, SixpanParse, SixpanParseFailure, SixpanTask, SixpanUser, TaskDetail };

/** The gateway's user object (usercenter.UserDataResponse), `uuid` a number. */
export function sixpanUser(view: UserView): SixpanUser {
  return {
    ...view,
    uuid: view.identity,
    email: '',
    countryCode: '',
    phone: '',
    createIp: '',
    icon: '',
    type: 0,
    status: 0,
    version: 0,
  };
}

/** What a session token carries for 6pan's web front end, which decodes it to show the user. */
export function sessionClaimsOf(view: UserView): Record<string, unknown> {
  const u = sixpanUser(view);
  return {
    uuid: u.uuid,
    name: u.name,
    email: u.email,
    phone: u.phone,
    icon: u.icon,
    spaceUsed: u.spaceUsed,
    spaceCapacity: u.spaceCapacity,
    version: u.version,
  };
}

export const DIRECTORY_MIME = 'application/x-directory';

/** The gateway's file object: directories carry `application/x-directory` (the Android app opens a folder only then). */
export function sixpanFile(file: FileObject, downloadAddress?: string): SixpanFile {
  const isDirectory = file.type === 1;
  return {
    ...file,
    mime: isDirectory ? file.mime || DIRECTORY_MIME : file.mime || 'application/octet-stream',
    preview: -1,
    hasPreview: false,
    flag: 0,
    ...(downloadAddress !== undefined ? { downloadAddress } : {}),
  };
}

export function sixpanFiles(files: FileObject[]): SixpanFile[] {
  return files.map((f) => sixpanFile(f));
}

/**
 * Task error codes as numbers (the gateway's `errorCode` was an int): 0 none, each stable
 * openpan code a number of its own, kept in `error` by name. New codes take new numbers.
 */
const TASK_ERROR_NUMBERS: Record<string, number> = {
  '': 0,
  NO_PEERS_TIMEOUT: 1,
  SPACE_EXCEEDED: 2,
  DISK_FULL: 3,
  URL_FORBIDDEN: 4,
  URL_UNREACHABLE: 5,
  URL_INVALID: 6,
  REDIRECT_INVALID: 7,
  TORRENT_INVALID: 8,
  SOURCE_INVALID: 9,
  SELECTION_INVALID: 10,
  SIZE_MISMATCH: 11,
  PROTOCOL_UNSUPPORTED: 12,
  NETWORK_ERROR: 13,
  IO_ERROR: 14,
  ENGINE_ERROR: 15,
  PARENT_NOT_FOUND: 16,
  FILE_NOT_FOUND: 17,
  INTERNAL_ERROR: 18,
  ENTRIES_EXCEEDED: 19,
};

/** Codes not in the table: HTTP statuses as 1000 + status, anything else -1 (the gateway's "error"). */
export function taskErrorNumber(code: string): number {
  if (code in TASK_ERROR_NUMBERS) return TASK_ERROR_NUMBERS[code];
  const http = /^HTTP_(\d{3})$/.exec(code);
  return http ? 1000 + Number(http[1]) : -1;
}

const TORRENT_MIME = 'application/x-bittorrent';

/**
 * `copyFile` of a task's file list. A task object's list is one frozen array for as long as the
 * task's selection stays the same (offline.service.ts), and the task page, polled several times
 * a second, would join its 100,000 indices on every request: the text is kept with the array.
 */
const joined = new WeakMap<readonly number[], string>();

function joinedIndices(list: readonly number[]): string {
  if (!Object.isFrozen(list)) return list.join(',');
  let text = joined.get(list);
  if (text === undefined) {
    text = list.join(',');
    joined.set(list, text);
  }
  return text;
}

/**
 * The gateway's user task: `errorCode` a number with openpan's code in `error`, which files were
 * asked for and which are in the drive (`copyFile`, `copiedFile`), and `mime` (the Android app
 * picks its icon by it). A task with `detail` (offline/get) keeps it.
 */
export function sixpanTask(task: TaskObject & { detail: TaskFileDetail[] }, userId: number): TaskDetail;
export function sixpanTask(task: TaskObject, userId: number): SixpanTask;
export function sixpanTask(task: TaskObject & { detail?: TaskFileDetail[] }, userId: number): SixpanTask | TaskDetail {
  const { errorCode, ...rest } = task;
  const copyFile = joinedIndices(task.files);
  return {
    ...rest,
    // Only ever serialized: the shared, frozen array goes out as it is.
    files: task.files as number[],
    errorCode: taskErrorNumber(errorCode),
    error: errorCode,
    copyFile,
    copiedFile: task.status === 100 ? copyFile : '',
    userId,
    mime: task.infoHash ? TORRENT_MIME : mimeOf(task.name),
  };
}

/** A parse result as the gateway answered it, with `needPassword` and `fail` (`files` only once known). */
export function sixpanParse(parsed: ParseResult): SixpanParse {
  return { ...parsed, needPassword: false, fail: false };
}

export function sixpanParseLine(parsed: ParseResult | ParseFailure): SixpanParse | SixpanParseFailure {
  return 'taskHash' in parsed ? sixpanParse(parsed) : { ...parsed, fail: true, needPassword: false };
}
