import type { Selectable } from 'kysely';
import type { FilesTable } from '../db/schema.js';

export type FileRow = Selectable<FilesTable>;

/** A file row with its parent's uuid (`""` under the root), as the queries return it. */
export type FileRowWithParent = FileRow & { parent_uuid: string | null };

export const FILE = 0;
export const DIRECTORY = 1;

/** The API's file object (docs/spec/API.md, Conventions). */
export interface FileObject {
  uuid: string;
  storeId: string;
  userId: number;
  path: string;
  name: string;
  ext: string;
  size: number;
  mime: string;
  parent: string;
  type: number;
  atime: number;
  ctime: number;
  mtime: number;
  version: number;
  locking: boolean;
}

/** The columns a file object is made of: a row as read, or the values an insert just wrote. */
export type FileObjectColumns = Pick<
  FileRowWithParent,
  'uuid' | 'store_id' | 'user_id' | 'path' | 'name' | 'ext' | 'size' | 'mime' | 'parent_uuid' | 'type' | 'atime' | 'ctime' | 'mtime' | 'version' | 'locking'
>;

export function fileObject(row: FileObjectColumns): FileObject {
  return {
    uuid: row.uuid,
    storeId: row.store_id,
    userId: row.user_id,
    path: row.path,
    name: row.name,
    ext: row.ext,
    size: Number(row.size),
    mime: row.mime,
    parent: row.parent_uuid ?? '',
    type: row.type,
    atime: Number(row.atime),
    ctime: Number(row.ctime),
    mtime: Number(row.mtime),
    version: row.version,
    locking: row.locking === 1,
  };
}

/** The user's root directory, which has no row of its own. */
export function rootObject(userId: number): FileObject {
  return {
    uuid: '',
    storeId: '',
    userId,
    path: '/',
    name: '',
    ext: '',
    size: 0,
    mime: '',
    parent: '',
    type: DIRECTORY,
    atime: 0,
    ctime: 0,
    mtime: 0,
    version: 0,
    locking: false,
  };
}

/** A directory the service has resolved: the root is id 0 and path "/". */
export interface DirRef {
  id: number;
  uuid: string;
  path: string;
  depth: number;
}

export const ROOT_DIR: DirRef = { id: 0, uuid: '', path: '/', depth: 0 };
