import { rm } from 'node:fs/promises';
import type { EngineFileStatus, EngineStatus } from '../engines/index.js';
import { type AppError, isAppError } from '../errors.js';
import type { Db } from '../db/database.js';
import type { DirRef } from '../files/file-object.js';
import type { FilesService } from '../files/files.service.js';
import { numberedName } from '../names/file-names.js';
import { forEachInParallel, mapInParallel } from '../parallel.js';
import { storeFiles, type BlobStore } from '../store/blob-store.js';
import type { ContentLock } from '../store/content-lock.js';
import { errnoOf } from '../store/fs-util.js';
import { destinationPath, type TorrentFile } from '../torrent/index.js';
import { engineFilesOf } from './engine-files.js';
import type { KnownContent, StoredContent } from './known-content.js';
import type { LiveJob } from './live-progress.js';
import type { Manifest } from './manifest.js';
import { TASK_ACTIVE, TASK_DONE, TASK_FAILED, type JobRow, type OfflineRepo, type TaskRow } from './offline.repo.js';
import { stageFile } from './staging.js';

// The import, in two steps, file by file as each completes (not when the whole job does):
// 1. store: the verified file is hard-linked out of the working directory and the link moved
//    into the blob store (the engine keeps its copy: it still reads it to verify neighbouring
//    pieces and to upload), recorded as (info hash, engine file index) → etag;
// 2. hand out: every active task wanting it gets its own file entry (`createFile`, never taking
//    over an entry the user already has: clashing names are numbered), recorded per task and
//    file so an import re-run after a crash creates nothing twice. A task is done when its own
//    files are in its drive.
// Both steps hold the content lock shared, so the collector never frees content between
// "stored" and "referenced".

/** Files stored (and recorded) together: one transaction and one sync per directory for each batch. */
const STORE_BATCH = 1000;
/** Entries created in the user's drive per transaction. */
const IMPORT_BATCH = 1000;
/** Filesystem operations of a batch in flight at once. */
const STORE_PARALLEL = 16;

export interface ImporterDeps {
  repo: OfflineRepo;
  files: FilesService;
  store: BlobStore;
  lock: ContentLock;
  /** Links on their way into the store (the data directory's `offlineStaging`). */
  stagingDir: string;
  content: KnownContent;
  /**
   * Runs in the transaction that creates a task's entries, before they commit: throws when this
   * process no longer drives the job (job-leases.ts), so the entries are never made twice.
   */
  fence?: (q: Db, jobId: string) => Promise<void>;
}

/**
 * Where each of a task's files goes, relative to its destination: the torrent's (safe) path,
 * with a file numbered (`name (1).ext`) when an earlier file of the task or one of its folders
 * has that path — so names do not depend on which file completes first.
 */
export function plannedPaths(meta: Manifest, engineFiles: readonly number[]): Map<number, string[]> {
  const byEngine = new Map<number, TorrentFile>(meta.files.map((f) => [f.engineIndex, f]));
  const paths = new Map<number, string[]>();
  for (const i of engineFiles) {
    const file = byEngine.get(i);
    if (file !== undefined) paths.set(i, destinationPath(meta, file));
  }
  const taken = new Set<string>();
  for (const segments of paths.values()) for (let d = 1; d < segments.length; d++) taken.add(segments.slice(0, d).join('/'));
  for (const [i, segments] of [...paths].sort((x, y) => x[0] - y[0])) {
    const dir = segments.slice(0, -1);
    const name = segments[segments.length - 1];
    let candidate = name;
    for (let n = 1; taken.has([...dir, candidate].join('/')); n++) candidate = numberedName(name, n);
    taken.add([...dir, candidate].join('/'));
    paths.set(i, [...dir, candidate]);
  }
  return paths;
}

/** Stores finished engine files and gives them to the tasks that want them. */
export class Importer {
  readonly #d: ImporterDeps;
  /** Each task's planned file paths, for the selection they were planned for (a torrent may have 100,000 files). */
  readonly #plans = new Map<number, { jobId: string; selection: string; paths: Map<number, string[]> }>();
  /**
   * Each open task's import records, read once and then kept up to date here: read again at
   * every hand-out, the records of a 100,000-file task held the event loop for a moment each
   * second. Only this importer writes them; any failure drops the copy (read again next time).
   * Keyed by the task's own id, which no later task takes (a row id may be given again).
   */
  readonly #imports = new Map<string, { jobId: string; records: Map<number, { fileUuid: string; etag: string }> }>();
  /** Each manifest's files by engine index (a torrent may have 100,000). */
  readonly #filesByEngine = new WeakMap<Manifest, Map<number, TorrentFile>>();

  constructor(deps: ImporterDeps) {
    this.#d = deps;
  }

  /** The job is over: its tasks' plans are not needed again. */
  forgetJob(jobId: string): void {
    for (const [taskId, plan] of this.#plans) if (plan.jobId === jobId) this.#plans.delete(taskId);
    for (const [taskId, kept] of this.#imports) if (kept.jobId === jobId) this.#imports.delete(taskId);
  }

  async #importsOf(task: TaskRow): Promise<Map<number, { fileUuid: string; etag: string }>> {
    const kept = this.#imports.get(task.task_id);
    if (kept !== undefined) return kept.records;
    const records = await this.#d.repo.imports(task.id);
    this.#imports.set(task.task_id, { jobId: task.job_id, records });
    return records;
  }

  #byEngine(meta: Manifest): Map<number, TorrentFile> {
    let files = this.#filesByEngine.get(meta);
    if (files === undefined) {
      files = new Map(meta.files.map((f) => [f.engineIndex, f]));
      this.#filesByEngine.set(meta, files);
    }
    return files;
  }

  /**
   * Stores `files` (verified, complete) in the blob store, a batch at a time, adding each stored
   * one to `live.stored`. Returns the DISK_FULL error that stopped it, or null.
   */
  async storeFiles(job: JobRow, files: readonly EngineFileStatus[], live: Pick<LiveJob, 'stored' | 'etags'>): Promise<AppError | null> {
    const known = await this.#d.content.held(
      job.info_hash,
      files.map((f) => f.index),
    );
    for (const f of files) if (known.has(f.index)) live.stored.add(f.index);
    const todo = files.filter((f) => !known.has(f.index));
    for (let at = 0; at < todo.length; at += STORE_BATCH) {
      const diskFull = await this.#storeBatch(job, todo.slice(at, at + STORE_BATCH), live);
      if (diskFull !== null) return diskFull;
    }
    return null;
  }

  /**
   * Stores a batch of files under their etags, leaving the engine's own copies where they are:
   * staged (hard links), moved into the store together (one sync per directory), recorded in
   * one transaction. A file gone from the working directory is skipped: the next reconcile
   * downloads it again. Returns the DISK_FULL error that stopped the batch, or null.
   */
  async #storeBatch(job: JobRow, batch: readonly EngineFileStatus[], live: Pick<LiveJob, 'stored' | 'etags'>): Promise<AppError | null> {
    // Hashed during the download: a move. Anything else (a restart, an engine that does not
    // report pieces, a failed hash) is hashed now.
    const claims = await Promise.all(
      batch.map(async (f) => {
        const hashed = live.etags === null ? null : await live.etags.etag(f.index);
        return hashed !== null && hashed.size === f.size ? hashed : null;
      }),
    );
    const staged = await mapInParallel(batch, STORE_PARALLEL, (f) =>
      stageFile(f.path, this.#d.stagingDir).catch((err: unknown) => {
        if (errnoOf(err) === 'ENOENT') return null;
        throw err;
      }),
    );
    // A stored file was moved into the store: only the others are left to remove.
    const moved = new Set<number>();
    try {
      return await this.#d.lock.shared(async () => {
        const present = batch.flatMap((_, i) => (staged[i] === null ? [] : [i]));
        const results = await storeFiles(
          this.#d.store,
          present.map((i) => ({ path: staged[i] as string, info: claims[i] })),
        );
        const stored: { engineIndex: number; etag: string; size: number }[] = [];
        let failure: unknown = null;
        results.forEach((result, k) => {
          if (!(result instanceof Error)) {
            stored.push({ engineIndex: batch[present[k]].index, etag: result.etag, size: result.size });
            moved.add(present[k]);
          } else if (errnoOf(result) !== 'ENOENT') failure ??= result;
        });
        await this.#d.repo.recordContents(job.info_hash, stored);
        for (const f of stored) live.stored.add(f.engineIndex);
        if (failure === null) return null;
        if (isAppError(failure) && failure.code === 'DISK_FULL') return failure;
        throw failure;
      });
    } finally {
      const left = staged.filter((path, i): path is string => path !== null && !moved.has(i));
      await forEachInParallel(left, STORE_PARALLEL, (path) => rm(path, { force: true }));
    }
  }

  /** After the engine finished: stores every finished file the job's active tasks still want. Returns DISK_FULL or null. */
  async storeFinished(job: JobRow, status: EngineStatus, live: Pick<LiveJob, 'stored' | 'etags'>): Promise<AppError | null> {
    const wanted = new Set((await this.#d.repo.openTasks(job.id)).filter((t) => t.status === TASK_ACTIVE).flatMap(engineFilesOf));
    const files = status.files.filter((f) => f.selected && f.done && wanted.has(f.index) && !live.stored.has(f.index));
    return this.storeFiles(job, files, live);
  }

  /**
   * While the job runs: stores the files completed since the last look, then gives them to
   * their tasks. Returns the DISK_FULL error that stopped the store, or null.
   */
  async importCompleted(
    job: JobRow,
    status: EngineStatus,
    live: Pick<LiveJob, 'stored' | 'etags' | 'selected'>,
    manifest: () => Manifest | null,
  ): Promise<AppError | null> {
    const files = status.files.filter((f) => f.done && live.selected.has(f.index) && !live.stored.has(f.index));
    if (files.length === 0) return null;
    const diskFull = await this.storeFiles(job, files, live);
    if (diskFull !== null) return diskFull;
    const meta = manifest();
    if (meta !== null)
      await this.handOut(
        job,
        meta,
        files.map((f) => f.index),
      );
    return null;
  }

  /**
   * Gives files just stored to the job's active tasks that want them. Only these are handed out
   * (a full reconcile would look at every file of the job again, each second): earlier ones are
   * in every task that wanted them already.
   */
  async handOut(job: JobRow, meta: Manifest, indices: readonly number[]): Promise<void> {
    const fresh = await this.#d.content.recorded(job.info_hash, indices);
    for (const task of await this.#d.repo.openTasks(job.id)) {
      if (task.status === TASK_ACTIVE && engineFilesOf(task).some((i) => fresh.has(i))) await this.importInto(task, meta, fresh);
    }
  }

  /**
   * Creates the task's entries for its stored files not in its drive yet (each once); the task
   * is done once all of its own files are there, whatever else the job still downloads.
   */
  async importInto(task: TaskRow, meta: Manifest, cached: Map<number, StoredContent>): Promise<void> {
    const imports = await this.#importsOf(task);
    const mine = engineFilesOf(task);
    const todo = mine.filter((i) => !imports.has(i) && cached.has(i));
    const complete = mine.every((i) => imports.has(i) || cached.has(i));
    if (todo.length === 0 && !complete) return;
    const byEngine = this.#byEngine(meta);
    const plan = this.#planOf(task, meta, mine);
    try {
      const base = await this.#saveDir(task);
      const dirs = new Map<string, DirRef>();
      const entries: { index: number; dir: DirRef; name: string; content: StoredContent }[] = [];
      for (const i of todo) {
        const segments = plan.get(i);
        const content = cached.get(i);
        if (segments === undefined || content === undefined) continue;
        let dir = base;
        for (let depth = 1; depth < segments.length; depth++) {
          const sub = segments.slice(0, depth).join('/');
          let found = dirs.get(sub);
          if (found === undefined) {
            found = await this.#taskDir(task, dir, segments[depth - 1], depth === 1);
            dirs.set(sub, found);
          }
          dir = found;
        }
        entries.push({ index: i, dir, name: segments[segments.length - 1], content });
      }
      // What "saving" shows, written after each batch: files and bytes of the selection in the drive.
      let savedFiles = 0;
      let savedSize = 0;
      for (const i of mine) {
        if (!imports.has(i)) continue;
        savedFiles++;
        savedSize += byEngine.get(i)?.size ?? 0;
      }
      for (let at = 0; at < entries.length; at += IMPORT_BATCH) {
        const batch = entries.slice(at, at + IMPORT_BATCH);
        const complete = await this.#d.lock.shared(async () => {
          // Content freed meanwhile is not given out: the next reconcile downloads it again.
          const held = await mapInParallel(batch, STORE_PARALLEL, (e) => this.#d.store.exists(e.content.etag));
          const usable = held.indexOf(false) === -1 ? batch : batch.slice(0, held.indexOf(false));
          const { created, error } = await this.#d.files.createFiles(
            task.user_id,
            usable.map((e) => ({ dir: e.dir, name: e.name, etag: e.content.etag, size: e.content.size, onConflict: 'rename' as const, reuseIdentical: false })),
            // A crash between the entries and their records would give second entries at the re-run.
            async (q, made) => {
              await this.#d.fence?.(q, task.job_id);
              await this.#d.repo.recordImports(
                q,
                task.id,
                made.map((c) => ({ engineIndex: usable[c.index].index, fileUuid: c.uuid, etag: usable[c.index].content.etag })),
              );
            },
          );
          for (const c of created) {
            const { index } = usable[c.index];
            if (imports.has(index)) continue;
            imports.set(index, { fileUuid: c.uuid, etag: usable[c.index].content.etag });
            savedFiles++;
            savedSize += byEngine.get(index)?.size ?? 0;
          }
          if (error !== null) throw error;
          return usable.length === batch.length;
        });
        if (!complete || at + IMPORT_BATCH < entries.length) await this.#d.repo.updateTask(task.id, { saved_files: savedFiles, saved_size: savedSize });
        if (!complete) return;
      }
      const done = mine.every((i) => imports.has(i));
      if (done) this.#imports.delete(task.task_id);
      const saved = { saved_files: savedFiles, saved_size: savedSize };
      await this.#d.repo.updateTask(
        task.id,
        done ? { status: TASK_DONE, ...saved, finished_size: Number(task.size), finished_at: Date.now(), error_code: '', message: '' } : saved,
      );
    } catch (err) {
      // Which of the batches committed is not known here: the records are read again next time.
      this.#imports.delete(task.task_id);
      if (!isAppError(err) || err.status >= 500) throw err;
      // A destination that became a file, a drive that shrank below the reservation...: this
      // task fails, keeping what it saved; the others go on.
      await this.failTask(task, err.code, err.message);
    }
  }

  /** Fails an open task with `message`, saying how many of its files are in the drive. */
  async failTask(task: TaskRow, code: string, message: string): Promise<void> {
    const mine = engineFilesOf(task);
    const imports = await this.#d.repo.imports(task.id);
    const saved = mine.filter((i) => imports.has(i)).length;
    const note = saved > 0 ? ` (${saved} of ${mine.length} files saved)` : '';
    await this.#d.repo.updateTask(task.id, {
      status: TASK_FAILED,
      error_code: code,
      message: `${message}${note}`,
      saved_files: saved,
      finished_at: Date.now(),
    });
  }

  #planOf(task: TaskRow, meta: Manifest, mine: readonly number[]): Map<number, string[]> {
    const cached = this.#plans.get(task.id);
    if (cached !== undefined && cached.selection === task.engine_files) return cached.paths;
    const paths = plannedPaths(meta, mine);
    this.#plans.set(task.id, { jobId: task.job_id, selection: task.engine_files, paths });
    return paths;
  }

  /** The task's destination directory: its folder by uuid, or by path when that is gone. */
  async #saveDir(task: TaskRow): Promise<DirRef> {
    if (task.save_uuid !== '') {
      try {
        return await this.#d.files.resolveDir(task.user_id, { uuid: task.save_uuid }, 'PARENT_NOT_FOUND');
      } catch (err) {
        if (!isAppError(err) || (err.code !== 'PARENT_NOT_FOUND' && err.code !== 'FILE_NOT_FOUND')) throw err;
      }
    }
    return this.#d.files.ensureDir(task.user_id, { path: task.save_path || '/' });
  }

  /**
   * The directory `name` in `parent`, created when missing. A file standing there gives the
   * directory a numbered name (`name (1)`), the same one every time. The task's own top folder
   * is recorded when the task creates it.
   */
  async #taskDir(task: TaskRow, parent: DirRef, name: string, top: boolean): Promise<DirRef> {
    for (let n = 0; ; n++) {
      const path = `${parent.path === '/' ? '' : parent.path}/${n === 0 ? name : numberedName(name, n)}`;
      try {
        const existed =
          top && task.folder_uuid === ''
            ? await this.#d.files.get(task.user_id, { path }).then(
                () => true,
                () => false,
              )
            : true;
        const dir = await this.#d.files.ensureDir(task.user_id, { path });
        if (!existed) {
          task.folder_uuid = dir.uuid;
          await this.#d.repo.updateTask(task.id, { folder_uuid: dir.uuid });
        }
        return dir;
      } catch (err) {
        if (!isAppError(err) || (err.code !== 'FILE_ALREADY_EXISTS' && err.code !== 'NOT_A_DIRECTORY')) throw err;
      }
    }
  }
}
