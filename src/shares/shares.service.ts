import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import type { DownloadLink, DownloadLinks } from '../files/download-links.js';
import { DIRECTORY, FILE, type FileObject } from '../files/file-object.js';
import type { DirSelector, FilesService } from '../files/files.service.js';
import { pathSegments } from '../names/file-names.js';
import { LoginThrottled, type LoginLimiter } from '../users/login-limiter.js';
import type { ZipLinkAnswer, ZipLinks } from '../zip/zip-links.js';
import { type ShareItemRow, type ShareRow, SharesRepo } from './shares.repo.js';

/** A share as its owner sees it (share/create, share/list). */
export interface ShareView {
  id: string;
  /** The public page: `<public URL>/s/<id>`. */
  url: string;
  title: string;
  /** The extraction code; "" for none. */
  code: string;
  /** Ms since the epoch; 0: never expires. */
  expires: number;
  /** 0: no limit. */
  maxDownloads: number;
  views: number;
  downloads: number;
  createdAt: number;
  /** How many of the shared entries still exist (0: the share no longer opens). */
  entries: number;
}

/**
 * An entry as a visitor sees it: no content hash (an etag is a capability, SECURITY.md), and a
 * path from the share's top (`/Photos/2024/a.jpg`), never the owner's.
 */
export interface SharedEntry {
  uuid: string;
  name: string;
  path: string;
  type: number;
  size: number;
  ext: string;
  mime: string;
  mtime: number;
}

/** What a visitor learns on opening a share. */
export interface OpenedShare {
  id: string;
  title: string;
  owner: string;
  createdAt: number;
  expires: number;
  /** Give it back to browse, download or save: it stands for the extraction code. */
  access: string;
  list: SharedEntry[];
}

export interface SharePage {
  /** The directory listed; none for the share's top. */
  info: SharedEntry | null;
  list: SharedEntry[];
  page: number;
  pageSize: number;
  totalCount: number;
}

export interface CreateShareInput {
  uuids: readonly string[];
  paths: readonly string[];
  /** An extraction code of the owner's choice (4 to 16 letters and digits). */
  code?: string;
  /** Generate a 4-character code. */
  withCode?: boolean;
  /** Seconds from now; none or 0: never. */
  expiresIn?: number;
  maxDownloads?: number;
  title?: string;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 10 characters of 62: 59 bits, not worth guessing. */
const ID_LENGTH = 10;
const ID_RE = /^[A-Za-z0-9]{10}$/;
const CODE_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const CODE_RE = /^[A-Za-z0-9]{4,16}$/;
const MAX_SHARED_ENTRIES = 1000;
const MAX_PAGE_SIZE = 999;

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

function notFound(): AppError {
  return new AppError('SHARE_NOT_FOUND', 'This share does not exist, was removed, or what it gave is gone.');
}

/**
 * Share links: an owner gives some entries to whoever has the link (and the extraction code).
 * A visitor reaches only what the share's entries hold *now*: every request resolves the
 * entries' current paths and checks that what it names is at or below one of them, so a file
 * moved out of a shared folder leaves the share, a renamed parent does not break it, and no
 * path leads outside. A share dies with its entries (share_items cascade with files), with its
 * owner's account (cascade) and on removal; wrong codes are limited per share and address
 * like failed logins.
 */
export class SharesService {
  private readonly repo = new SharesRepo();
  private readonly now: () => number;

  constructor(
    private readonly deps: {
      db: Db;
      files: FilesService;
      downloadLinks: DownloadLinks;
      zipLinks: ZipLinks;
      /** Wrong codes per share (the account key) and per address. */
      codeLimiter: LoginLimiter;
      secret: string;
      publicUrl: () => string;
      now?: () => number;
    },
  ) {
    this.now = deps.now ?? Date.now;
  }

  // ---- the owner ------------------------------------------------------------------------------

  async create(userId: number, input: CreateShareInput): Promise<ShareView> {
    const refs = [...input.uuids.map((uuid) => ({ uuid })), ...input.paths.map((path) => ({ path }))];
    if (refs.length === 0) throw new AppError('BAD_REQUEST', 'Name at least one entry to share in "uuid" or "path".');
    if (refs.length > MAX_SHARED_ENTRIES) throw new AppError('BAD_REQUEST', `A share gives at most ${MAX_SHARED_ENTRIES} entries.`);
    const entries: FileObject[] = [];
    for (const ref of refs) {
      const entry = await this.deps.files.get(userId, ref);
      if (entry.uuid === '') throw new AppError('BAD_REQUEST', 'The root directory cannot be shared; share its entries.');
      if (!entries.some((e) => e.uuid === entry.uuid)) entries.push(entry);
    }
    let code = '';
    if (input.code !== undefined && input.code !== '') {
      if (!CODE_RE.test(input.code)) throw new AppError('BAD_REQUEST', 'Field "code" must be 4 to 16 letters and digits.');
      code = input.code.toLowerCase();
    } else if (input.withCode) code = randomString(CODE_ALPHABET, 4);
    if (input.expiresIn !== undefined && (!Number.isSafeInteger(input.expiresIn) || input.expiresIn < 0))
      throw new AppError('BAD_REQUEST', 'Field "expiresIn" must be a whole number of seconds (0: never).');
    if (input.maxDownloads !== undefined && (!Number.isSafeInteger(input.maxDownloads) || input.maxDownloads < 0))
      throw new AppError('BAD_REQUEST', 'Field "maxDownloads" must be a whole number (0: no limit).');
    const now = this.now();
    const title = input.title?.trim() || (entries.length === 1 ? entries[0].name : `${entries[0].name} +${entries.length - 1}`);
    const id = randomString(ID_ALPHABET, ID_LENGTH);
    const fileIds = await this.repo.fileIds(
      this.deps.db,
      userId,
      entries.map((e) => e.uuid),
    );
    const row = {
      id,
      user_id: userId,
      title,
      code,
      expires_at: input.expiresIn ? now + input.expiresIn * 1000 : null,
      max_downloads: input.maxDownloads ?? 0,
      created_at: now,
    };
    await this.deps.db.transaction().execute((trx) => this.repo.insert(trx, row, fileIds));
    return this.view({ ...row, views: 0, downloads: 0, items: fileIds.length });
  }

  async list(userId: number, page = 1, pageSize = 50): Promise<{ list: ShareView[]; page: number; pageSize: number; totalCount: number }> {
    const size = Math.min(MAX_PAGE_SIZE, Math.max(1, pageSize));
    const at = Math.max(1, page);
    const { rows, total } = await this.repo.page(this.deps.db, userId, (at - 1) * size, size);
    return { list: rows.map((r) => this.view(r)), page: at, pageSize: size, totalCount: total };
  }

  /** Removes the caller's shares among `ids`; answers how many were removed. */
  remove(userId: number, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) throw new AppError('BAD_REQUEST', 'Name the shares to remove in "id".');
    return this.repo.remove(this.deps.db, userId, ids);
  }

  private view(row: ShareRow & { items: number }): ShareView {
    return {
      id: row.id,
      url: `${this.deps.publicUrl().replace(/\/+$/, '')}/s/${row.id}`,
      title: row.title,
      code: row.code,
      expires: Number(row.expires_at ?? 0),
      maxDownloads: Number(row.max_downloads),
      views: Number(row.views),
      downloads: Number(row.downloads),
      createdAt: Number(row.created_at),
      entries: row.items,
    };
  }

  // ---- visitors -------------------------------------------------------------------------------

  /** Opens a share: checks the code (limited), counts a view, lists the shared entries. */
  async open(id: string, input: { code?: string; access?: string; ip: string }): Promise<OpenedShare> {
    const share = await this.live(id);
    let access = input.access ?? '';
    if (share.code !== '' && !this.accessOk(share, access)) {
      if (!input.code) throw new AppError('SHARE_CODE_REQUIRED', 'This share has an extraction code: give it in "code".');
      try {
        this.deps.codeLimiter.attempt(`share:${id}`, input.ip);
      } catch (err) {
        if (err instanceof LoginThrottled) err.message = `Too many wrong extraction codes; try again in ${err.retryAfterSeconds} seconds.`;
        throw err;
      }
      if (!sameText(input.code.toLowerCase(), share.code)) throw new AppError('SHARE_CODE_WRONG', 'The extraction code is wrong.');
      this.deps.codeLimiter.succeed(`share:${id}`, input.ip);
      access = this.accessOf(share);
    }
    const items = await this.items(id);
    await this.repo.countView(this.deps.db, id);
    return {
      id,
      title: share.title,
      owner: share.owner,
      createdAt: Number(share.created_at),
      expires: Number(share.expires_at ?? 0),
      access: share.code === '' ? '' : access,
      list: items.map(topEntry),
    };
  }

  /** A page of a directory in the share (`uuid`, or `path` from the share's top), or of the top. */
  async browse(id: string, access: string, where: { uuid?: string; path?: string; page?: number; pageSize?: number }): Promise<SharePage> {
    const { share, items } = await this.enter(id, access);
    const page = Math.max(1, where.page ?? 1);
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, where.pageSize ?? 100));
    const segments = where.path !== undefined ? pathSegments(where.path) : [];
    if ((where.uuid === undefined || where.uuid === '') && segments.length === 0) {
      const list = items.map(topEntry);
      return { info: null, list: list.slice((page - 1) * pageSize, page * pageSize), page, pageSize, totalCount: list.length };
    }
    const dir = await this.entryIn(share, items, where.uuid ? { uuid: where.uuid } : { segments });
    if (dir.type !== DIRECTORY) throw new AppError('NOT_A_DIRECTORY', `"${this.relative(items, dir)}" is a file, not a directory.`);
    const listed = await this.deps.files.page(share.user_id, { uuid: dir.uuid }, { page, pageSize });
    return {
      info: this.shared(items, dir),
      list: listed.list.map((f) => this.shared(items, f)),
      page,
      pageSize,
      totalCount: listed.totalCount,
    };
  }

  /** A /dl address for a file of the share; counts a download. */
  async download(id: string, access: string, uuid: string): Promise<DownloadLink> {
    const { share, items } = await this.enter(id, access);
    const file = await this.entryIn(share, items, { uuid });
    if (file.type !== FILE) throw new AppError('IS_A_DIRECTORY', 'Only files download one by one; take a folder as a zip.');
    await this.countDownload(id);
    return this.deps.downloadLinks.forFile(file);
  }

  /** A /zip address for entries of the share (default: all of it); counts a download. */
  async zip(id: string, access: string, uuids: readonly string[]): Promise<ZipLinkAnswer> {
    const { share, items } = await this.enter(id, access);
    const chosen = uuids.length === 0 ? items.map((i) => i.uuid) : [];
    for (const uuid of uuids) chosen.push((await this.entryIn(share, items, { uuid })).uuid);
    await this.countDownload(id);
    const name = uuids.length === 0 ? share.title : chosen.length === 1 ? (await this.deps.files.get(share.user_id, { uuid: chosen[0] })).name : share.title;
    return this.deps.zipLinks.create({ userId: share.user_id, uuids: chosen, name, shareId: id });
  }

  /**
   * Saves entries of the share (default: all of it) into the visitor's drive: new entries for
   * the same content, no bytes copied, the space charged to the visitor. Answers their names.
   */
  async saveToDrive(id: string, access: string, visitorId: number, uuids: readonly string[], dest: DirSelector): Promise<string[]> {
    const { share, items } = await this.enter(id, access);
    const chosen = uuids.length === 0 ? items.map((i) => i.uuid) : [];
    for (const uuid of uuids) chosen.push((await this.entryIn(share, items, { uuid })).uuid);
    return this.deps.files.copyFromUser(share.user_id, chosen, visitorId, dest);
  }

  /** The owner's paths a share gives now, or null when it no longer opens (for /zip addresses taken through it). */
  async scope(id: string): Promise<string[] | null> {
    try {
      await this.live(id);
    } catch {
      return null;
    }
    const items = await this.items(id).catch(() => []);
    return items.length === 0 ? null : items.map((i) => i.path);
  }

  // ---- checks ---------------------------------------------------------------------------------

  /** The share while it opens: it exists, its owner too, and it has not expired. */
  private async live(id: string): Promise<ShareRow & { owner: string }> {
    if (!ID_RE.test(id)) throw notFound();
    const share = await this.repo.byId(this.deps.db, id);
    if (!share) throw notFound();
    if (share.expires_at !== null && this.now() > Number(share.expires_at)) throw new AppError('SHARE_EXPIRED', 'This share has expired.');
    return share;
  }

  private async items(id: string): Promise<ShareItemRow[]> {
    const items = await this.repo.items(this.deps.db, id);
    if (items.length === 0) throw notFound();
    return items;
  }

  /** The share and its entries, for a visitor who opened it (and gave the code, if it has one). */
  private async enter(id: string, access: string): Promise<{ share: ShareRow & { owner: string }; items: ShareItemRow[] }> {
    const share = await this.live(id);
    if (share.code !== '' && !this.accessOk(share, access)) {
      throw new AppError('SHARE_CODE_REQUIRED', 'Open the share with its extraction code first (share/open), then give its "access".');
    }
    return { share, items: await this.items(id) };
  }

  private async countDownload(id: string): Promise<void> {
    if (!(await this.repo.countDownload(this.deps.db, id))) throw new AppError('SHARE_EXPIRED', 'This share has reached its download limit.');
  }

  /**
   * The owner's entry a visitor names, checked to be at or below one of the shared entries as
   * they are now. Anything else is FILE_NOT_FOUND, as if it did not exist.
   */
  private async entryIn(share: ShareRow, items: readonly ShareItemRow[], ref: { uuid: string } | { segments: string[] }): Promise<FileObject> {
    let path: string;
    if ('uuid' in ref) {
      if (!/^[0-9a-f]{32}$/.test(ref.uuid)) throw new AppError('FILE_NOT_FOUND', `No entry "${ref.uuid}" in this share.`);
      let entry: FileObject;
      try {
        entry = await this.deps.files.get(share.user_id, { uuid: ref.uuid });
      } catch {
        throw new AppError('FILE_NOT_FOUND', `No entry "${ref.uuid}" in this share.`);
      }
      path = entry.path;
      if (within(items, path)) return entry;
      throw new AppError('FILE_NOT_FOUND', `No entry "${ref.uuid}" in this share.`);
    }
    // A path from the share's top: its first segment names a shared entry.
    const top = items.find((i) => i.name === ref.segments[0]);
    const shown = `/${ref.segments.join('/')}`;
    if (!top) throw new AppError('FILE_NOT_FOUND', `No entry "${shown}" in this share.`);
    path = [top.path, ...ref.segments.slice(1)].join('/');
    let entry: FileObject;
    try {
      entry = await this.deps.files.get(share.user_id, { path });
    } catch {
      throw new AppError('FILE_NOT_FOUND', `No entry "${shown}" in this share.`);
    }
    if (!within(items, entry.path)) throw new AppError('FILE_NOT_FOUND', `No entry "${shown}" in this share.`);
    return entry;
  }

  private relative(items: readonly ShareItemRow[], entry: FileObject): string {
    const top = items.find((i) => entry.path === i.path || entry.path.startsWith(`${i.path}/`));
    return top ? `/${top.name}${entry.path.slice(top.path.length)}` : `/${entry.name}`;
  }

  private shared(items: readonly ShareItemRow[], f: FileObject): SharedEntry {
    return { uuid: f.uuid, name: f.name, path: this.relative(items, f), type: f.type, size: f.size, ext: f.ext, mime: f.mime, mtime: f.mtime };
  }

  private accessOf(share: ShareRow): string {
    return createHmac('sha256', this.deps.secret)
      .update(JSON.stringify(['openpan-share-access', share.id, share.code]))
      .digest('base64url')
      .slice(0, 32);
  }

  private accessOk(share: ShareRow, access: string): boolean {
    return access !== '' && sameText(access, this.accessOf(share));
  }
}

function within(items: readonly ShareItemRow[], path: string): boolean {
  return items.some((i) => path === i.path || path.startsWith(`${i.path}/`));
}

function topEntry(i: ShareItemRow): SharedEntry {
  return { uuid: i.uuid, name: i.name, path: `/${i.name}`, type: i.type, size: Number(i.size), ext: i.ext, mime: i.mime, mtime: Number(i.mtime) };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
