import { AppError } from '../errors.js';
import { DIRECTORY, type DirRef, type FileObject } from '../files/file-object.js';
import type { FilesService } from '../files/files.service.js';
import { assertName } from '../names/file-names.js';
import type { BlobStore } from '../store/blob-store.js';
import type { ContentLock } from '../store/content-lock.js';
import { isEtag } from '../store/etag.js';
import { assertRoom } from '../files/space.js';
import { existingEntry, roomFor } from './space.js';
import { UPLOAD_SCOPE, signUploadToken, type UploadPolicy } from './upload-token.js';

/** `/v1/store/token`'s body (docs/spec/API.md, seed STEP 1). */
export interface StoreTokenInput {
  name: string;
  /** The content's etag; when the server holds that content, the file is created at once. */
  hash?: string | null;
  /** uuid of the destination directory (`:torrent` allowed); wins over `path`. */
  parent?: string | null;
  /** Destination directory path (`:torrent` allowed), created when missing. */
  path?: string | null;
  /** Replace a same-named file. */
  override?: boolean;
  /** The file's size in bytes, when the client says it: checked against free space now. */
  size?: number | null;
}

/** What a client needs to send the bytes (the seed's "token" answer). */
export interface UploadTicket {
  uploadUrl: string;
  type: 0;
  token: string;
  version: 1;
  name: string;
  /** The destination as the client gave it (":torrent", a uuid, a path, or "" for the root). */
  parent: string;
  userId: number;
}

export type StoreTokenResult = FileObject | UploadTicket;

export interface StoreTokenDeps {
  files: FilesService;
  store: BlobStore;
  lock: ContentLock;
}

export interface StoreTokenOptions {
  secret: string;
  tokenTtlMs: number;
  /** The upload service's public address, read per request (known once the server listens). */
  uploadUrl: () => string;
  now?: () => number;
}

/**
 * Seed STEP 1: answers a client about to upload a file, with the file itself when the content
 * is already stored (instant upload, 秒传), else with a token for the upload service.
 */
export class StoreTokenService {
  private readonly now: () => number;

  constructor(
    private readonly deps: StoreTokenDeps,
    private readonly options: StoreTokenOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** `session`: the caller's session (AuthenticatedUser.session); the upload token dies with it. */
  async issue(userId: number, input: StoreTokenInput, session: string): Promise<StoreTokenResult> {
    const hash = input.hash ?? '';
    if (hash !== '' && !isEtag(hash)) {
      throw new AppError('HASH_INVALID', 'Field "hash" is not a content hash: 28 URL-safe base64 characters as UPLOAD.md describes.');
    }
    const name = assertName(input.name);
    const override = input.override === true;
    const dir = await this.destination(userId, input);

    if (hash !== '') {
      const file = await this.instantUpload(userId, dir, name, hash, override);
      if (file) return file;
    }

    const existing = await existingEntry(this.deps.files, userId, dir, name);
    if (existing && (existing.type === DIRECTORY || !override)) {
      // Same name and content (its bytes missing from the store) is still the same file.
      if (existing.type !== DIRECTORY && hash !== '' && existing.storeId === hash) return existing;
      // Without a hash the content is unknown until it arrives, so the upload decides: the same
      // bytes are the same file again, other bytes FILE_ALREADY_EXISTS.
      if (existing.type === DIRECTORY || hash !== '') throw new AppError('FILE_ALREADY_EXISTS', `"${existing.path}" already exists.`);
    }
    const room = roomFor(await this.deps.files.freeSpace(userId), existing, override);
    const size = input.size ?? null;
    assertRoom({ size, room });

    const policy: UploadPolicy = {
      scope: UPLOAD_SCOPE,
      deadline: this.now() + this.options.tokenTtlMs,
      overwrite: override ? 1 : 0,
      fsizeLimit: 0,
      userId,
      dir: dir.uuid,
      path: dir.path,
      name,
      session,
    };
    if (hash !== '') policy.hash = hash;
    return {
      uploadUrl: this.options.uploadUrl(),
      type: 0,
      token: signUploadToken(policy, this.options.secret),
      version: 1,
      name,
      parent: input.parent || input.path || '',
      userId,
    };
  }

  /** `parent` (must exist) wins over `path` (created like mkdir -p); neither means the root. */
  private destination(userId: number, input: StoreTokenInput): Promise<DirRef> {
    if (input.parent) return this.deps.files.resolveDir(userId, { uuid: input.parent }, 'PARENT_NOT_FOUND');
    return this.deps.files.ensureDir(userId, { path: input.path || '/' });
  }

  /**
   * Creates the file from content already stored, or returns null when there is none. Runs
   * under the content lock so the collector cannot free the bytes between look and reference.
   */
  private async instantUpload(userId: number, dir: DirRef, name: string, hash: string, override: boolean): Promise<FileObject | null> {
    const size = await this.deps.files.knownContentSize(hash);
    if (size === null) return null;
    return this.deps.lock.shared(async () => {
      if (!(await this.deps.store.exists(hash))) return null;
      const { file } = await this.deps.files.createFile(userId, { dir, name, etag: hash, size, onConflict: override ? 'overwrite' : 'error' });
      return file;
    });
  }
}
