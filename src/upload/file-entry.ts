import { NoResultError } from 'kysely';
import { AppError } from '../errors.js';
import { ok } from '../envelope.js';
import type { DirRef, FileObject } from '../files/file-object.js';
import type { FilesService } from '../files/files.service.js';
import type { BlobInfo, BlobStore } from '../store/blob-store.js';
import type { ContentLock } from '../store/content-lock.js';
import { assertRoom } from '../files/space.js';
import { existingEntry, roomFor } from './space.js';
import type { UploadRepo } from './upload.repo.js';
import type { UploadPolicy } from './upload-token.js';

// The last step of every upload, whichever way its bytes came: the file the token describes,
// created for content in the store.

/** The answer to form upload and mkfile (docs/spec/UPLOAD.md). */
export interface UploadAnswer {
  hash: string;
  /** The created file's name: the token decides it, whatever key the uploader sent. */
  key: string;
  /** The API envelope of the created file, as a JSON string (the 6pan web client parses it). */
  response: string;
}

export interface Destination {
  dir: DirRef;
  /** Bytes the file may take (free space, plus the replaced file when overwriting). */
  room: number;
}

export function uploadAnswer(file: FileObject): UploadAnswer {
  return { hash: file.storeId, key: file.name, response: JSON.stringify(ok(file, '')) };
}

/** 413 when the file is larger than the token allows, or than the room it has. */
export function checkSize(policy: UploadPolicy, size: number, room: number): void {
  if (policy.fsizeLimit > 0 && size > policy.fsizeLimit) {
    throw new AppError('PAYLOAD_TOO_LARGE', `The file (${size} bytes) is larger than this token allows (${policy.fsizeLimit} bytes).`);
  }
  assertRoom({ size, room });
}

export interface FileEntriesDeps {
  files: FilesService;
  store: BlobStore;
  lock: ContentLock;
  repo: UploadRepo;
}

/** What the uploader may say about the file besides its bytes. */
export interface FileDetails {
  /** A media type already checked (media-type.ts); none: from the name. */
  mime?: string;
}

export class FileEntries {
  constructor(private readonly deps: FileEntriesDeps) {}

  /** Where the token's file goes, and how many bytes it may take. */
  async destination(policy: UploadPolicy): Promise<Destination> {
    let free: number;
    try {
      free = await this.deps.files.freeSpace(policy.userId);
    } catch (err) {
      if (err instanceof NoResultError) throw new AppError('UNAUTHORIZED', 'The user this upload token was issued to no longer exists.');
      throw err;
    }
    const dir = await this.deps.files.resolveDir(policy.userId, { uuid: policy.dir }, 'PARENT_NOT_FOUND');
    const existing = policy.overwrite ? await existingEntry(this.deps.files, policy.userId, dir, policy.name) : null;
    return { dir, room: roomFor(free, existing, policy.overwrite === 1) };
  }

  /**
   * Commits the bytes and creates the file entry under the content lock, so the collector
   * cannot free the content between the two. Content nobody took is handed to the collector.
   */
  async complete(
    policy: UploadPolicy,
    dir: DirRef,
    details: FileDetails,
    commit: () => Promise<BlobInfo>,
    onCreateFailed?: (stored: BlobInfo) => Promise<void>,
  ): Promise<UploadAnswer> {
    const file = await this.deps.lock.shared(async () => {
      const info = await commit();
      try {
        return await this.create(policy, dir, info, details);
      } catch (err) {
        await this.deps.repo.adoptUnreferenced(info.etag, info.size).catch(() => undefined);
        await onCreateFailed?.(info).catch(() => undefined);
        throw err;
      }
    });
    return uploadAnswer(file);
  }

  /** The file again for content stored before (a retried mkfile); null when the content is gone. */
  async recreate(policy: UploadPolicy, info: BlobInfo, details: FileDetails): Promise<UploadAnswer | null> {
    const dest = await this.destination(policy);
    const file = await this.deps.lock.shared(async () => {
      if (!(await this.deps.store.exists(info.etag))) return null;
      // Same name and content: createFile returns the file created the first time.
      return this.create(policy, dest.dir, info, details);
    });
    return file ? uploadAnswer(file) : null;
  }

  private async create(policy: UploadPolicy, dir: DirRef, info: BlobInfo, details: FileDetails): Promise<FileObject> {
    const { file } = await this.deps.files.createFile(policy.userId, {
      dir,
      name: policy.name,
      etag: info.etag,
      size: info.size,
      onConflict: policy.overwrite ? 'overwrite' : 'error',
      ...(details.mime ? { mime: details.mime } : {}),
    });
    return file;
  }
}
