import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AppError, isAppError } from '../errors.js';
import type { FilesService } from '../files/files.service.js';
import type { BlobStore } from '../store/blob-store.js';
import { TASK_ACTIVE, TASK_DONE, TASK_FAILED, TASK_PAUSED, type OfflineRepo, type TaskRow } from './offline.repo.js';
import { engineFilesOf, type Scheduler } from './scheduler.js';
import { signTaskHash, verifyTaskHash } from './task-hash.js';
import { assertDownloadable, parseTorrent, TORRENT_LIMITS, type TorrentMeta } from './torrent/index.js';

/** Task type of API.md: a BitTorrent file. */
export const TYPE_TORRENT = 0;

export interface ParsedFile {
  index: number;
  path: string;
  size: number;
  cached: boolean;
}

export interface ParseResult {
  taskHash: string;
  type: number;
  name: string;
  infoHash: string;
  size: number;
  files: ParsedFile[];
  server: boolean;
}

/** A task object of API.md. */
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
  errorCode: string;
  message: string;
  savePath: string;
  saveUuid: string;
  files: number[];
  createTime: number;
  finishTime: number;
}

export interface TaskFileDetail {
  index: number;
  path: string;
  size: number;
  finishedSize: number;
  progress: number;
  /** 100 once the file is in the drive. */
  status: number;
  /** The file entry created for it ("" until then). */
  uuid: string;
  storeId: string;
}

export interface StartInput {
  taskHash: string;
  files?: string | Array<number | string> | null;
  savePath?: string | null;
  saveUuid?: string | null;
  name?: string | null;
}

export interface OfflineServiceDeps {
  repo: OfflineRepo;
  files: FilesService;
  store: BlobStore;
  scheduler: Scheduler;
}

export interface OfflineServiceOptions {
  secret: string;
  /** Where system tasks' working directories go (one subdirectory per job). */
  tempRoot: string;
}

const MAX_PAGE_SIZE = 100;
const MAX_LIST_SIZE = 500;
const MAX_IDS = 1000;

function newId(): string {
  return randomUUID().replace(/-/g, '');
}

function progressOf(finished: number, size: number, status: number): number {
  if (status === TASK_DONE) return 100;
  if (size <= 0) return 0;
  return Math.min(99, Math.floor((finished * 100) / size));
}

/** `"*"`, `"0,2,5"`, `[0, 2, 5]` (default all) → sorted distinct API file indices. */
export function parseSelection(files: StartInput['files'], count: number): number[] {
  if (files === undefined || files === null || (typeof files === 'string' && (files.trim() === '' || files.trim() === '*'))) {
    return Array.from({ length: count }, (_, i) => i);
  }
  const parts = typeof files === 'string' ? files.split(',').map((p) => p.trim()) : files;
  const out = new Set<number>();
  for (const p of parts) {
    const n = typeof p === 'number' ? p : /^\d+$/.test(p) ? Number(p) : NaN;
    if (!Number.isSafeInteger(n)) throw new AppError('BAD_REQUEST', 'Field "files" must be "*", a comma-separated list of file indices, or an array of them.');
    if (n < 0 || n >= count) throw new AppError('BAD_REQUEST', `Field "files" names file ${n}; the torrent has files 0 to ${count - 1}.`);
    out.add(n);
  }
  if (out.size === 0) throw new AppError('BAD_REQUEST', 'Field "files" selects no file.');
  return [...out].sort((a, b) => a - b);
}

/**
 * User tasks: parse, start, list, remove, pause, resume. The scheduler does the downloading and
 * importing; this service checks what users ask and turns rows into task objects.
 */
export class OfflineService {
  constructor(
    private readonly deps: OfflineServiceDeps,
    private readonly options: OfflineServiceOptions,
  ) {}

  // ---- parse ----

  /** A `.torrent` of the store, with a size limit. */
  private async readTorrent(etag: string, size?: number): Promise<Buffer> {
    const limit = TORRENT_LIMITS.maxBytes;
    if (size !== undefined && size > limit) throw new AppError('TORRENT_INVALID', `Invalid torrent: the file is larger than ${limit} bytes.`);
    if (!(await this.deps.store.exists(etag))) throw new AppError('TORRENT_INVALID', 'The torrent file is no longer stored; upload it again.');
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of await this.deps.store.read(etag)) {
      total += (chunk as Buffer).length;
      if (total > limit) throw new AppError('TORRENT_INVALID', `Invalid torrent: the file is larger than ${limit} bytes.`);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  async parseTorrent(userId: number, ref: { uuid?: string; path?: string }): Promise<ParseResult> {
    const file = await this.deps.files.fileForDownload(userId, ref);
    const meta = parseTorrent(await this.readTorrent(file.storeId, file.size));
    const infoHash = meta.infoHash ?? meta.infoHashV2 ?? '';
    const cached = meta.infoHash === null ? new Map() : await this.deps.scheduler.cachedFiles(meta.infoHash, meta.files.map((f) => f.engineIndex));
    const files = meta.files.map((f) => ({ index: f.index, path: f.path.join('/'), size: f.size, cached: cached.has(f.engineIndex) }));
    return {
      taskHash: signTaskHash(this.options.secret, { userId, source: `etag:${file.storeId}`, infoHash }),
      type: TYPE_TORRENT,
      name: meta.name,
      infoHash,
      size: meta.totalSize,
      files,
      server: files.length > 0 && files.every((f) => f.cached),
    };
  }

  // ---- start ----

  async start(userId: number, input: StartInput): Promise<TaskObject> {
    const claims = verifyTaskHash(this.options.secret, input.taskHash, userId);
    const key = `bt:${claims.infoHash}`;
    const existing = await this.deps.repo.jobByKey(key);
    let torrent: Buffer;
    if (existing?.torrent) {
      torrent = Buffer.from(existing.torrent);
    } else {
      if (!claims.source.startsWith('etag:')) throw new AppError('TASK_HASH_INVALID', 'The taskHash does not name a torrent file.');
      torrent = await this.readTorrent(claims.source.slice(5));
    }
    const meta = parseTorrent(torrent);
    if ((meta.infoHash ?? meta.infoHashV2) !== claims.infoHash) throw new AppError('TASK_HASH_INVALID', 'The taskHash does not match the torrent.');
    assertDownloadable(meta);
    const infoHash = meta.infoHash as string;

    const selection = parseSelection(input.files, meta.files.length);
    const chosen = selection.map((i) => meta.files[i]);
    const size = chosen.reduce((s, f) => s + f.size, 0);
    const free = await this.deps.files.freeSpace(userId);
    if (free < size) throw new AppError('SPACE_EXCEEDED', `Not enough space left in the drive: the selected files need ${size} bytes, ${Math.max(0, free)} are free.`);
    const dest = await this.deps.files.ensureDir(userId, input.saveUuid ? { uuid: input.saveUuid } : { path: input.savePath ?? '/' });

    const now = Date.now();
    const jobId = newId();
    const job = await this.deps.repo.jobForKey({
      id: jobId,
      type: TYPE_TORRENT,
      content_key: key,
      info_hash: infoHash,
      name: meta.name,
      torrent,
      phase: 'queued',
      selected: '[]',
      temp_dir: join(this.options.tempRoot, jobId),
      size: 0,
      downloaded: 0,
      attempts: 0,
      error_code: '',
      message: '',
      created_at: now,
      updated_at: now,
      finished_at: 0,
    });
    const name = input.name?.trim() || meta.name;
    const task = await this.deps.repo.insertTask({
      task_id: newId(),
      user_id: userId,
      job_id: job.id,
      type: TYPE_TORRENT,
      name,
      source: claims.source,
      info_hash: infoHash,
      files: JSON.stringify(selection),
      engine_files: JSON.stringify(chosen.map((f) => f.engineIndex)),
      save_uuid: dest.uuid,
      save_path: dest.path,
      status: TASK_ACTIVE,
      error_code: '',
      message: '',
      size,
      finished_size: 0,
      created_at: now,
      finished_at: 0,
    });
    // A retry after a failure starts from a clean slate of attempts.
    if (job.phase === 'failed') await this.deps.repo.updateJob(job.id, { attempts: 0 });
    const cached = await this.deps.scheduler.cachedFiles(infoHash, chosen.map((f) => f.engineIndex));
    const update = this.deps.scheduler.update(job.id, async () => undefined);
    // Everything already stored: the files are created before the answer (instant completion).
    if (cached.size === chosen.length) await update;
    else update.catch(() => undefined);
    return this.taskObject((await this.deps.repo.taskById(task.id))!);
  }

  // ---- read ----

  taskObject(row: TaskRow): TaskObject {
    const live = this.deps.scheduler.view(row);
    const size = Number(row.size);
    return {
      taskId: row.task_id,
      type: row.type,
      name: row.name,
      infoHash: row.info_hash,
      url: '',
      size,
      finishedSize: live.status === TASK_DONE ? size : live.finishedSize,
      progress: progressOf(live.finishedSize, size, live.status),
      speed: live.speed,
      peers: live.peers,
      status: live.status,
      errorCode: row.error_code,
      message: row.message,
      savePath: row.save_path,
      saveUuid: row.save_uuid,
      files: JSON.parse(row.files) as number[],
      createTime: Number(row.created_at),
      finishTime: Number(row.finished_at),
    };
  }

  async page(userId: number, opts: { page?: number; pageSize?: number; order?: number }) {
    const page = Math.max(1, opts.page ?? 1);
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, opts.pageSize ?? 20));
    const totalCount = await this.deps.repo.countUserTasks(userId);
    const rows = await this.deps.repo.userTasks(userId, (page - 1) * pageSize, pageSize, opts.order !== -1, totalCount);
    return { list: rows.map((r) => this.taskObject(r)), page, pageSize, totalCount, totalPage: Math.ceil(totalCount / pageSize) };
  }

  async list(userId: number, opts: { start?: number; size?: number; order?: number }) {
    const start = Math.max(0, opts.start ?? 0);
    const size = Math.min(MAX_LIST_SIZE, Math.max(1, opts.size ?? 100));
    const totalCount = await this.deps.repo.countUserTasks(userId);
    const rows = await this.deps.repo.userTasks(userId, start, size, opts.order !== -1, totalCount);
    return { list: rows.map((r) => this.taskObject(r)), start, size, totalCount };
  }

  private async ownTask(userId: number, taskId: string): Promise<TaskRow> {
    const row = typeof taskId === 'string' && /^[0-9a-f]{32}$/.test(taskId) ? await this.deps.repo.userTask(userId, taskId) : undefined;
    if (!row) throw new AppError('TASK_NOT_FOUND', `No offline task with id "${taskId}".`);
    return row;
  }

  private async ownTasks(userId: number, ids: string | string[]): Promise<TaskRow[]> {
    const list = [...new Set(Array.isArray(ids) ? ids : [ids])];
    if (list.length === 0) throw new AppError('BAD_REQUEST', 'Field "taskId" names no task.');
    if (list.length > MAX_IDS) throw new AppError('BAD_REQUEST', `Field "taskId" names more than ${MAX_IDS} tasks.`);
    const rows: TaskRow[] = [];
    for (const id of list) rows.push(await this.ownTask(userId, id));
    return rows;
  }

  async get(userId: number, taskId: string): Promise<TaskObject & { detail: TaskFileDetail[] }> {
    const row = await this.ownTask(userId, taskId);
    const task = this.taskObject(row);
    const job = await this.deps.repo.jobById(row.job_id);
    const imports = await this.deps.repo.imports(row.id);
    let meta: TorrentMeta | null = null;
    if (job?.torrent) meta = this.deps.scheduler.metaOf(job);
    const detail: TaskFileDetail[] = [];
    if (meta !== null) {
      const engineFiles = engineFilesOf(row);
      task.files.forEach((index, k) => {
        const file = meta.files[index];
        const imported = imports.get(engineFiles[k]);
        const live = this.deps.scheduler.fileProgress(row.job_id, file.engineIndex);
        const finished = imported ? file.size : row.status === TASK_ACTIVE && live === null ? 0 : (live ?? 0);
        const status = imported ? TASK_DONE : row.status === TASK_ACTIVE ? task.status : row.status;
        detail.push({
          index,
          path: file.path.join('/'),
          size: file.size,
          finishedSize: finished,
          progress: imported ? 100 : progressOf(finished, file.size, status),
          status,
          uuid: imported?.fileUuid ?? '',
          storeId: imported?.etag ?? '',
        });
      });
    }
    return { ...task, detail };
  }

  // ---- change ----

  async remove(userId: number, ids: string | string[], deleteFiles: boolean): Promise<true> {
    for (const row of await this.ownTasks(userId, ids)) {
      await this.deps.scheduler.update(row.job_id, async () => {
        if (deleteFiles) {
          for (const { fileUuid } of (await this.deps.repo.imports(row.id)).values()) {
            try {
              await this.deps.files.remove(userId, { uuids: [fileUuid] });
            } catch (err) {
              // Already removed or moved away by the user: nothing to delete.
              if (!isAppError(err) || err.code !== 'FILE_NOT_FOUND') throw err;
            }
          }
        }
        await this.deps.repo.deleteTask(row.id);
      });
    }
    return true;
  }

  async pause(userId: number, ids: string | string[]): Promise<true> {
    for (const row of await this.ownTasks(userId, ids)) {
      if (row.status !== TASK_ACTIVE) continue;
      await this.deps.scheduler.update(row.job_id, () => this.deps.repo.updateTask(row.id, { status: TASK_PAUSED }));
    }
    return true;
  }

  async resume(userId: number, ids: string | string[]): Promise<true> {
    for (const row of await this.ownTasks(userId, ids)) {
      if (row.status !== TASK_PAUSED && row.status !== TASK_FAILED) continue;
      await this.deps.scheduler.update(row.job_id, async () => {
        if (row.status === TASK_FAILED) await this.deps.repo.updateJob(row.job_id, { attempts: 0 });
        await this.deps.repo.updateTask(row.id, { status: TASK_ACTIVE, error_code: '', message: '', finished_at: 0 });
      });
    }
    return true;
  }
}
