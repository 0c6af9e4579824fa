// Over 400 lines, whole on purpose for now: the qBittorrent API and the admin queries under way
// are built on this service's methods and signatures; the presenter (taskObject) and the start
// path move out to task-view.ts and task-start.ts once those have merged.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AppError, isAppError } from '../errors.js';
import { assertRoom } from '../files/space.js';
import type { FilesService } from '../files/files.service.js';
import { sanitizeName } from '../names/file-names.js';
import type { BlobStore } from '../store/blob-store.js';
import { TYPE_MAGNET, TYPE_TORRENT, TYPE_URL, type Manifest } from './manifest.js';
import type { MetadataFetcher } from './metadata-fetcher.js';
import { newJobRow, TASK_ACTIVE, TASK_DONE, TASK_FAILED, TASK_PAUSED, type JobRow, type OfflineRepo, type TaskRow } from './offline.repo.js';
import type { ParseFailure, ParseResult, SourceParser } from './parse.js';
import { offlineRoom, type OfflineQuota, type QuotaView } from './quota.js';
import type { TaskEvents } from './task-events.js';
import { engineFilesOf, type LiveFile, type Scheduler } from './scheduler.js';
import { KeyedQueue } from './keyed-queue.js';
import { parseSelection } from './selection.js';
import { parseIndexList, SELECTION_MEMO_LIMITS, TextMemo } from './text-memo.js';
import { verifyTaskHash, type TaskHashClaims } from './task-hash.js';
import { assertDownloadable, parseMagnet, parseTorrentOnce, TORRENT_LIMITS } from '../torrent/index.js';

export { TYPE_TORRENT } from './manifest.js';
export type { ParsedFile, ParseFailure, ParseResult } from './parse.js';

/** A task object of docs/spec/API.md. */
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
  /** Peer addresses the address policy refused (BitTorrent). */
  refusedPeers: number;
  /** Files the task downloads (its selection), and how many of them and their bytes are in the drive. */
  fileCount: number;
  savedFiles: number;
  savedSize: number;
  status: number;
  errorCode: string;
  message: string;
  savePath: string;
  saveUuid: string;
  /** Shared with other task objects of the same row: never modify it. */
  files: readonly number[];
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

/** Where a task's file is read from: the drive, or the running download (play while downloading). */
export type TaskFileSource = { kind: 'drive'; fileUuid: string } | ({ kind: 'live'; name: string; size: number } & LiveFile);

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
  parser: SourceParser;
  metadata: MetadataFetcher;
  quota: OfflineQuota;
  events: TaskEvents;
}

/** What a task event stream carries (`/v1/offline/events`). */
export type TaskStreamEvent = { event: 'task'; data: TaskObject } | { event: 'remove'; data: { taskId: string } };

/** How often a stream reports the progress of the user's running tasks. */
const STREAM_PROGRESS_MS = 1000;

export interface OfflineServiceOptions {
  secret: string;
  /** Where system tasks' working directories go (one subdirectory per job). */
  tempRoot: string;
}

const MAX_PAGE_SIZE = 100;
const MAX_LIST_SIZE = 500;
const MAX_IDS = 1000;

/** Tasks' API file lists, parsed once per `files` text (text-memo.ts): the task page shows them on every request. */
const apiFileLists = new TextMemo<number, readonly number[]>(parseIndexList, SELECTION_MEMO_LIMITS);

function newId(): string {
  return randomUUID().replace(/-/g, '');
}

/** The `files` of a start, kept as text until the file list is known. */
function selectionText(files: StartInput['files']): string {
  if (files === undefined || files === null) return '*';
  return typeof files === 'string' ? files : files.join(',');
}

/** The name a user gave a task, made a safe name (no control characters, at most 255 bytes). */
function taskName(given: string | null | undefined, fallback: string): string {
  return given?.trim() ? sanitizeName(given, fallback) : fallback;
}

function progressOf(finished: number, size: number, status: number): number {
  if (status === TASK_DONE) return 100;
  if (size <= 0) return 0;
  return Math.min(99, Math.floor((finished * 100) / size));
}

/**
 * User tasks: parse, start, list, remove, pause, resume. The scheduler does the downloading and
 * importing; this service checks what users ask and turns rows into task objects.
 */
export class OfflineService {
  readonly #perUser = new KeyedQueue<number>();

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
    return this.deps.parser.torrent(userId, parseTorrentOnce(await this.readTorrent(file.storeId, file.size)), file.storeId);
  }

  /**
   * A `.torrent` given as bytes (a client's upload, not a file of the drive): kept in the store
   * for its start, which copies it into the job; the collector frees it later.
   */
  async parseTorrentBytes(userId: number, bytes: Buffer): Promise<ParseResult> {
    if (bytes.length > TORRENT_LIMITS.maxBytes)
      throw new AppError('TORRENT_INVALID', `Invalid torrent: the file is larger than ${TORRENT_LIMITS.maxBytes} bytes.`);
    const meta = parseTorrentOnce(bytes);
    const writer = await this.deps.store.createWriter();
    let stored: { etag: string };
    try {
      await writer.write(bytes);
      stored = await writer.commit();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    await this.deps.repo.recordUnreferencedBlob(stored.etag, bytes.length);
    return this.deps.parser.torrent(userId, meta, stored.etag);
  }

  parseUrl(userId: number, field: string): Promise<ParseResult | Array<ParseResult | ParseFailure>> {
    return this.deps.parser.lines(userId, field);
  }

  parseMagnet(userId: number, url: string): Promise<ParseResult> {
    return this.deps.parser.magnetOnly(userId, url);
  }

  quota(userId: number): Promise<QuotaView> {
    return this.deps.quota.view(userId);
  }

  // ---- start ----

  /**
   * One user's starts and resumes run one at a time, so the quota's look (tasks today, tasks
   * running) and the task it lets in cannot interleave with another request's: fifty parallel
   * starts get exactly what the quota allows.
   */
  start(userId: number, input: StartInput): Promise<TaskObject> {
    return this.#perUser.run(userId, () => this.#start(userId, input));
  }

  async #start(userId: number, input: StartInput): Promise<TaskObject> {
    const claims = verifyTaskHash(this.options.secret, input.taskHash, userId);
    await this.deps.quota.check(userId);
    let row: TaskRow;
    if (claims.source.startsWith('etag:') || claims.source.toLowerCase().startsWith('magnet:')) row = await this.#startBitTorrent(userId, input, claims);
    else if (/^https?:/i.test(claims.source)) row = await this.#startUrl(userId, input, claims);
    else if (claims.source.toLowerCase().startsWith('ed2k:'))
      throw new AppError('PROTOCOL_UNSUPPORTED', 'ed2k links can be parsed but not downloaded: openpan has no ed2k engine.');
    else throw new AppError('TASK_HASH_INVALID', 'The taskHash names a source openpan does not know.');
    await this.deps.quota.counted(userId);
    return this.#taskObjectOf(row);
  }

  async #destination(userId: number, input: StartInput) {
    return this.deps.files.ensureDir(userId, input.saveUuid ? { uuid: input.saveUuid } : { path: input.savePath ?? '/' });
  }

  /**
   * The drive's free space, less what the user's unfinished tasks have reserved, must hold
   * `size`; `ownReservation`: bytes of that reservation the caller's own task may use again.
   */
  async #checkSpace(userId: number, size: number, ownReservation = 0): Promise<void> {
    const found = await offlineRoom(this.deps.files, this.deps.repo, userId);
    const reserved = found.reserved - ownReservation;
    assertRoom({
      size,
      room: found.room + found.reserved,
      what: 'the selected files need',
      reserved: { bytes: reserved, by: 'your unfinished offline tasks' },
    });
  }

  /** A `.torrent` or a magnet link: one job per info hash, whichever way it was given. */
  async #startBitTorrent(userId: number, input: StartInput, claims: TaskHashClaims): Promise<TaskRow> {
    const own = await this.deps.repo.userTaskOfInfoHash(userId, claims.infoHash);
    if (own !== undefined) {
      // Two tasks of one user over one file set would share (and delete) each other's files.
      throw new AppError('TASK_EXISTS', `You already have a task of this torrent ("${own.name}"); change its files instead of starting it again.`, {
        details: { taskId: own.task_id },
      });
    }
    const fromMagnet = !claims.source.startsWith('etag:');
    const key = `bt:${claims.infoHash}`;
    const existing = await this.deps.repo.jobByKey(key);
    let torrent: Buffer | null = existing?.torrent ? Buffer.from(existing.torrent) : null;
    if (torrent === null) torrent = fromMagnet ? await this.deps.metadata.known(claims.infoHash) : await this.readTorrent(claims.source.slice(5));
    let meta = null;
    if (torrent !== null) {
      meta = parseTorrentOnce(torrent);
      if ((meta.infoHash ?? meta.infoHashV2) !== claims.infoHash) throw new AppError('TASK_HASH_INVALID', 'The taskHash does not match the torrent.');
      assertDownloadable(meta);
    }
    // Without metadata (a magnet link nobody fetched yet) the selection waits for the file list.
    const selection = meta === null ? null : parseSelection(input.files, meta.files.length);
    const chosen = meta === null || selection === null ? [] : selection.map((i) => meta.files[i]);
    const size = chosen.reduce((s, f) => s + f.size, 0);
    await this.#checkSpace(userId, size);
    const dest = await this.#destination(userId, input);

    const now = Date.now();
    const jobId = newId();
    // What this user knows the download as: never another user's name for the same job.
    const ownName = meta?.name ?? ((fromMagnet ? parseMagnet(claims.source).name : null) || claims.infoHash);
    const placeholder = meta?.name ?? (existing?.name || ownName);
    const job = await this.deps.repo.jobForKey({
      ...this.#newJob(jobId, now),
      type: torrent === null ? TYPE_MAGNET : TYPE_TORRENT,
      content_key: key,
      info_hash: claims.infoHash,
      name: placeholder,
      torrent,
      source: fromMagnet ? claims.source : '',
    });
    // A job that was waiting for a magnet link's metadata gets it from this `.torrent`.
    if (job.torrent === null && torrent !== null)
      await this.deps.scheduler.run(job.id, () => this.deps.repo.updateJob(job.id, { torrent, name: meta?.name ?? job.name }));
    const task = await this.deps.repo.insertTask({
      ...this.#newTask(userId, job, dest, now),
      type: fromMagnet ? TYPE_MAGNET : TYPE_TORRENT,
      name: taskName(input.name, ownName),
      source: claims.source,
      info_hash: claims.infoHash,
      files: JSON.stringify(selection ?? []),
      engine_files: JSON.stringify(chosen.map((f) => f.engineIndex)),
      pending_selection: selection === null ? selectionText(input.files) : null,
      size,
    });
    if (job.phase === 'failed') await this.deps.repo.updateJob(job.id, { attempts: 0 });
    const cached =
      meta === null
        ? new Map()
        : await this.deps.scheduler.cachedFiles(
            claims.infoHash,
            chosen.map((f) => f.engineIndex),
          );
    const update = this.deps.scheduler.update(job.id, async () => undefined);
    // Everything already stored: the files are created before the answer (instant completion).
    if (meta !== null && cached.size === chosen.length) await update;
    else update.catch(() => undefined);
    return (await this.deps.repo.taskById(task.id))!;
  }

  /** An HTTP/HTTPS URL: starts of the same URL while it downloads share the download. */
  async #startUrl(userId: number, input: StartInput, claims: TaskHashClaims): Promise<TaskRow> {
    const probed = claims.probed ?? { name: 'download', size: null };
    if (input.files !== undefined && input.files !== null) parseSelection(input.files, 1);
    await this.#checkSpace(userId, probed.size ?? 0);
    const dest = await this.#destination(userId, input);
    const key = `url:${claims.source}`;
    const existing = await this.deps.repo.jobByKey(key);
    // A finished or failed download of the URL is history: the content may have changed since.
    if (existing !== undefined && (existing.phase === 'done' || existing.phase === 'failed')) {
      await this.deps.repo.updateJob(existing.id, { content_key: `${key}#${existing.id}` });
    }
    const now = Date.now();
    const jobId = newId();
    const job = await this.deps.repo.jobForKey({
      ...this.#newJob(jobId, now),
      type: TYPE_URL,
      content_key: key,
      // URL content has no name of its own: what it downloaded is recorded under the job.
      info_hash: `job:${jobId}`,
      name: probed.name,
      torrent: null,
      source: claims.source,
      manifest: JSON.stringify(probed),
    });
    const task = await this.deps.repo.insertTask({
      ...this.#newTask(userId, job, dest, now),
      type: TYPE_URL,
      name: taskName(input.name, probed.name),
      source: claims.source,
      info_hash: '',
      files: '[0]',
      engine_files: '[0]',
      size: probed.size ?? 0,
    });
    this.deps.scheduler.update(job.id, async () => undefined).catch(() => undefined);
    return (await this.deps.repo.taskById(task.id))!;
  }

  #newJob(id: string, now: number) {
    return newJobRow(id, now, join(this.options.tempRoot, id));
  }

  #newTask(userId: number, job: JobRow, dest: { uuid: string; path: string }, now: number) {
    return {
      task_id: newId(),
      user_id: userId,
      job_id: job.id,
      save_uuid: dest.uuid,
      save_path: dest.path,
      status: TASK_ACTIVE,
      error_code: '',
      message: '',
      finished_size: 0,
      created_at: now,
      finished_at: 0,
    };
  }

  // ---- read ----

  /** The task objects of `rows`, each showing its folder's path as it is now (the user may have renamed or moved it). */
  async #taskObjects(userId: number, rows: TaskRow[]): Promise<TaskObject[]> {
    const paths = new Map<string, string>();
    for (const uuid of new Set(rows.map((r) => r.save_uuid))) {
      if (uuid === '') continue;
      const dir = await this.deps.files.get(userId, { uuid }).catch(() => null);
      if (dir !== null) paths.set(uuid, dir.path);
    }
    return rows.map((r) => this.taskObject(r, paths.get(r.save_uuid)));
  }

  async #taskObjectOf(row: TaskRow): Promise<TaskObject> {
    return (await this.#taskObjects(row.user_id, [row]))[0];
  }

  taskObject(row: TaskRow, savePath = row.save_path): TaskObject {
    const live = this.deps.scheduler.view(row);
    const size = Number(row.size);
    return {
      taskId: row.task_id,
      type: row.type,
      name: row.name,
      infoHash: row.info_hash,
      url: row.type === TYPE_TORRENT ? '' : row.source,
      size,
      finishedSize: live.status === TASK_DONE ? size : live.finishedSize,
      progress: progressOf(live.finishedSize, size, live.status),
      speed: live.speed,
      peers: live.peers,
      status: live.status,
      errorCode: row.error_code,
      message: row.message !== '' ? row.message : (live.notice ?? ''),
      refusedPeers: live.refusedPeers ?? 0,
      fileCount: engineFilesOf(row).length,
      savedFiles: Number(row.saved_files),
      savedSize: Number(row.saved_size),
      savePath,
      saveUuid: row.save_uuid,
      files: apiFileLists.get(row.id, row.files),
      createTime: Number(row.created_at),
      finishTime: Number(row.finished_at),
    };
  }

  async page(userId: number, opts: { page?: number; pageSize?: number; order?: number }) {
    const page = Math.max(1, opts.page ?? 1);
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, opts.pageSize ?? 20));
    const totalCount = await this.deps.repo.countUserTasks(userId);
    const rows = await this.deps.repo.userTasks(userId, (page - 1) * pageSize, pageSize, opts.order !== -1, totalCount);
    return { list: await this.#taskObjects(userId, rows), page, pageSize, totalCount, totalPage: Math.ceil(totalCount / pageSize) };
  }

  async list(userId: number, opts: { start?: number; size?: number; order?: number }) {
    const start = Math.max(0, opts.start ?? 0);
    const size = Math.min(MAX_LIST_SIZE, Math.max(1, opts.size ?? 100));
    const totalCount = await this.deps.repo.countUserTasks(userId);
    const rows = await this.deps.repo.userTasks(userId, start, size, opts.order !== -1, totalCount);
    return { list: await this.#taskObjects(userId, rows), start, size, totalCount };
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
    const task = await this.#taskObjectOf(row);
    const job = await this.deps.repo.jobById(row.job_id);
    const imports = await this.deps.repo.imports(row.id);
    const meta: Manifest | null = job === undefined ? null : this.deps.scheduler.manifestOf(job);
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

  /**
   * Where one of a task's files (`index` as in its `files`) can be read now: the drive's file
   * once it is there, else the download's own file while this process runs it.
   */
  async fileSource(userId: number, taskId: string, index: number): Promise<TaskFileSource> {
    const row = await this.ownTask(userId, taskId);
    const position = apiFileLists.get(row.id, row.files).indexOf(index);
    if (position < 0) throw new AppError('FILE_NOT_FOUND', `The task has no file ${index}.`);
    const engineIndex = engineFilesOf(row)[position];
    const imported = (await this.deps.repo.imports(row.id)).get(engineIndex);
    if (imported !== undefined) return { kind: 'drive', fileUuid: imported.fileUuid };
    const job = row.status === TASK_ACTIVE ? await this.deps.repo.jobById(row.job_id) : undefined;
    const file = job === undefined ? undefined : this.deps.scheduler.manifestOf(job)?.files[index];
    const live = file === undefined ? null : this.deps.scheduler.liveFile(row.job_id, engineIndex);
    if (file === undefined || live === null) {
      throw new AppError('TASK_FILE_UNAVAILABLE', 'This file is not in the drive yet, and its download is not running now (paused, waiting or failed).');
    }
    return { kind: 'live', name: file.path[file.path.length - 1], size: file.size, ...live };
  }

  /**
   * Where a task's download is in the drive now: the folder it created, or its one file;
   * null until it has created either.
   */
  async contentPath(userId: number, taskId: string): Promise<{ path: string; isFolder: boolean } | null> {
    const row = await this.ownTask(userId, taskId);
    const entry = async (uuid: string, isFolder: boolean) => {
      const found = await this.deps.files.get(userId, { uuid }).catch(() => null);
      return found === null ? null : { path: found.path, isFolder };
    };
    if (row.folder_uuid !== '') return entry(row.folder_uuid, true);
    const first = (await this.deps.repo.imports(row.id)).values().next();
    return first.done ? null : entry(first.value.fileUuid, false);
  }

  // ---- watch ----

  /**
   * Sends the user's task changes to `send` as they happen (created, status changed, removed),
   * and the progress of the running ones every second — only what changed since it was last
   * sent. Returns the function that stops it.
   */
  watch(userId: number, send: (event: TaskStreamEvent) => void): () => void {
    const lastSent = new Map<string, string>();
    const sendTask = (task: TaskObject) => {
      const json = JSON.stringify(task);
      if (lastSent.get(task.taskId) === json) return;
      lastSent.set(task.taskId, json);
      send({ event: 'task', data: task });
    };
    const unsubscribe = this.deps.events.subscribe(userId, (change) => {
      if (change.removed) {
        lastSent.delete(change.taskId);
        send({ event: 'remove', data: { taskId: change.taskId } });
        return;
      }
      this.deps.repo.taskById(change.id).then(
        (row) => {
          if (row !== undefined) return this.#taskObjectOf(row).then(sendTask);
        },
        () => undefined,
      );
    });
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.deps.repo
        .activeUserTasks(userId)
        .then((rows) => this.#taskObjects(userId, rows))
        .then((tasks) => tasks.forEach(sendTask))
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, STREAM_PROGRESS_MS);
    timer.unref();
    return () => {
      clearInterval(timer);
      unsubscribe();
    };
  }

  // ---- change ----

  /** `deleteFiles`: the task's files go to the recycle bin as files/remove puts them there (`permanent`: deleted for good). */
  async remove(userId: number, ids: string | string[], deleteFiles: boolean, opts: { permanent?: boolean } = {}): Promise<true> {
    for (const row of await this.ownTasks(userId, ids)) {
      await this.deps.scheduler.update(row.job_id, async () => {
        // Read again in the job's queue: an import that ran meanwhile may have created the task's folder.
        const current = await this.deps.repo.taskById(row.id);
        if (current === undefined) return;
        if (deleteFiles) await this.#deleteTaskFiles(userId, current, opts.permanent === true);
        await this.deps.repo.deleteTask(current.id);
      });
    }
    return true;
  }

  /** Deletes exactly the entries the task created (wherever they are now), then its folder if nothing is left in it. */
  async #deleteTaskFiles(userId: number, row: TaskRow, permanent: boolean): Promise<void> {
    const uuids = [...(await this.deps.repo.imports(row.id)).values()].map((i) => i.fileUuid);
    for (const uuid of uuids) {
      try {
        await this.deps.files.remove(userId, { uuids: [uuid] }, { permanent });
      } catch (err) {
        // Already removed by the user: nothing to delete.
        if (!isAppError(err) || err.code !== 'FILE_NOT_FOUND') throw err;
      }
    }
    if (row.folder_uuid !== '') await this.deps.files.removeIfNoFiles(userId, row.folder_uuid);
  }

  async pause(userId: number, ids: string | string[]): Promise<true> {
    for (const row of await this.ownTasks(userId, ids)) {
      if (row.status !== TASK_ACTIVE) continue;
      await this.deps.scheduler.update(row.job_id, async () => {
        const current = (await this.deps.repo.taskById(row.id))!;
        const imports = await this.deps.repo.imports(row.id);
        // Every file already in the drive (paused while saving): the task is done, not paused.
        if (current.pending_selection === null && engineFilesOf(current).every((i) => imports.has(i))) {
          await this.deps.repo.updateTask(row.id, {
            status: TASK_DONE,
            saved_size: Number(current.size),
            saved_files: engineFilesOf(current).length,
            finished_size: Number(current.size),
            finished_at: Date.now(),
          });
          return;
        }
        // The progress stays what the user saw.
        const shown = this.deps.scheduler.view(current).finishedSize;
        await this.deps.repo.updateTask(row.id, { status: TASK_PAUSED, finished_size: Math.max(shown, Number(current.finished_size)) });
      });
    }
    return true;
  }

  /**
   * Changes which files of a torrent the task downloads. Added files download (a task that had
   * ended runs again); files taken out stop downloading for it at once. Entries already in the
   * drive stay: they are the user's files now (`deleteFiles` still removes them with the task).
   */
  edit(userId: number, taskId: string, files: StartInput['files']): Promise<TaskObject> {
    return this.#perUser.run(userId, () => this.#edit(userId, taskId, files));
  }

  async #edit(userId: number, taskId: string, files: StartInput['files']): Promise<TaskObject> {
    const row = await this.ownTask(userId, taskId);
    if (row.type === TYPE_URL) throw new AppError('BAD_REQUEST', 'A URL task has one file: there is no selection to change.');
    const job = await this.deps.repo.jobById(row.job_id);
    const meta = job === undefined ? null : this.deps.scheduler.manifestOf(job);
    if (job === undefined || meta === null) {
      // The file list is not known yet (a magnet link): the new selection waits for it.
      if (row.pending_selection === null) throw new AppError('TASK_NOT_FOUND', `No offline task with id "${taskId}".`);
      await this.deps.scheduler.update(row.job_id, () => this.deps.repo.updateTask(row.id, { pending_selection: selectionText(files) }));
      return this.#taskObjectOf((await this.deps.repo.taskById(row.id))!);
    }
    const selection = parseSelection(files, meta.files.length);
    const chosen = selection.map((i) => meta.files[i]);
    const size = chosen.reduce((sum, f) => sum + f.size, 0);
    const imports = await this.deps.repo.imports(row.id);
    const complete = chosen.every((f) => imports.has(f.engineIndex));
    const saved = chosen.reduce((sum, f) => sum + (imports.has(f.engineIndex) ? f.size : 0), 0);
    // What this task reserves now is its to use again.
    const open = row.status === TASK_ACTIVE || row.status === TASK_PAUSED;
    await this.#checkSpace(userId, size - saved, open ? Number(row.size) - Number(row.saved_size) : 0);
    if (!open && !complete) await this.deps.quota.checkRunning(userId, 1);
    const status = complete ? TASK_DONE : row.status === TASK_PAUSED ? TASK_PAUSED : TASK_ACTIVE;
    await this.deps.scheduler.update(row.job_id, async () => {
      if (status === TASK_ACTIVE && row.status === TASK_FAILED) await this.deps.repo.updateJob(row.job_id, { attempts: 0 });
      await this.deps.repo.updateTask(row.id, {
        files: JSON.stringify(selection),
        engine_files: JSON.stringify(chosen.map((f) => f.engineIndex)),
        size,
        saved_size: saved,
        saved_files: chosen.filter((f) => imports.has(f.engineIndex)).length,
        status,
        finished_size: complete ? size : saved,
        finished_at: complete ? Date.now() : 0,
        error_code: '',
        message: '',
      });
    });
    return this.#taskObjectOf((await this.deps.repo.taskById(row.id))!);
  }

  resume(userId: number, ids: string | string[]): Promise<true> {
    return this.#perUser.run(userId, () => this.#resume(userId, ids));
  }

  async #resume(userId: number, ids: string | string[]): Promise<true> {
    const rows = (await this.ownTasks(userId, ids)).filter((row) => row.status === TASK_PAUSED || row.status === TASK_FAILED);
    // A resumed task runs again: it counts against the tasks a user may run at once.
    await this.deps.quota.checkRunning(userId, rows.length);
    for (const row of rows) {
      await this.deps.scheduler.update(row.job_id, async () => {
        if (row.status === TASK_FAILED) await this.deps.repo.updateJob(row.job_id, { attempts: 0 });
        await this.deps.repo.updateTask(row.id, { status: TASK_ACTIVE, error_code: '', message: '', finished_at: 0 });
      });
    }
    return true;
  }
}
