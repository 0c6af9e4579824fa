import { statfs } from 'node:fs/promises';
import { reportsPieces, type DownloadEngine, type EngineSource, type EngineStatus } from '../engines/index.js';
import type { FilesService } from '../files/files.service.js';
import type { BlobStore } from '../store/blob-store.js';
import { BlockHasher, EtagTracker, type TrackedFile } from './etag-tracker.js';
import { JobProgress } from './job-progress.js';
import type { LiveJob } from './live-progress.js';
import { parseUrlJobInfo, TYPE_URL, type Manifest } from './manifest.js';
import type { JobRow, OfflineRepo } from './offline.repo.js';
import { offlineRoom } from './quota.js';

export interface EngineLaunchDeps {
  repo: OfflineRepo;
  files: FilesService;
  store: BlobStore;
  engine: DownloadEngine;
  /** Where the engine's per-job working directories go (its free space caps a URL of unknown length). */
  tempRoot: string;
}

/**
 * Starts a job's engine job and the live record the scheduler keeps of it: what it was given,
 * its progress figures, and — when the engine reports verified pieces and the store can adopt
 * a file — a tracker that hashes each file while it downloads, so the import is a move.
 */
export class EngineLauncher {
  readonly #d: EngineLaunchDeps;
  /** The hashing thread of every job's EtagTracker. */
  readonly #hasher = new BlockHasher();

  constructor(deps: EngineLaunchDeps) {
    this.#d = deps;
  }

  /** Starts the engine on the `needed` engine files of the job; `cached` are those the store holds. */
  async launch(job: JobRow, meta: Manifest, needed: number[], cached: ReadonlySet<number>): Promise<LiveJob> {
    // A URL of unknown length may write only what its users have room for, and what the disk has.
    const maxBytes = job.type === TYPE_URL && parseUrlJobInfo(job.manifest).size === null ? await this.#roomForUnknownLength(job) : undefined;
    const handle = this.#d.engine.start({ id: job.id, dir: job.temp_dir, source: sourceOf(job), selectedFiles: needed, maxBytes });
    const selected = new Set(needed);
    const live: LiveJob = {
      handle,
      selected,
      status: handle.status(),
      progress: new JobProgress(selected, cached),
      etags: null,
      untrack: () => {},
      stored: new Set(),
      storesEachFile: job.type !== TYPE_URL,
      cached,
      persistedDownloaded: Number(job.downloaded),
    };
    live.progress.update(live.status.files);
    // A URL of unknown length has no block layout to hash along: it is hashed at the import.
    const layoutKnown = job.type !== TYPE_URL || parseUrlJobInfo(job.manifest).size !== null;
    if (layoutKnown && reportsPieces(handle) && this.#d.store.adoptFile !== undefined) {
      // Hash each file while it downloads: the import is then a move. An engine that lists its
      // files only once it has looked at the source (HTTP) gets its tracker then, before any
      // piece is written.
      const track = (files: EngineStatus['files']) => {
        if (live.etags !== null || files.length === 0) return;
        const etags = this.#etagTracker(meta, live.selected, files);
        live.etags = etags;
        const untrackPieces = handle.onPieceVerified((piece) => etags.pieceVerified(piece));
        const untrackDiscards = handle.onDataDiscarded(() => etags.discard());
        live.untrack = () => {
          untrackPieces();
          untrackDiscards();
        };
      };
      track(live.status.files);
      if (live.etags === null) handle.on('metadata', ({ status }) => track(status.files));
    }
    return live;
  }

  /** Stops the hashing thread (after the engine has closed). */
  close(): Promise<void> {
    return this.#hasher.close();
  }

  #etagTracker(meta: Manifest, selected: ReadonlySet<number>, engineFiles: EngineStatus['files']): EtagTracker {
    const paths = new Map(engineFiles.map((f) => [f.index, f.path]));
    const files: TrackedFile[] = [];
    for (const f of meta.files) {
      const path = paths.get(f.engineIndex);
      if (selected.has(f.engineIndex) && path !== undefined) files.push({ index: f.engineIndex, path, size: f.size, offset: f.offset });
    }
    return new EtagTracker(files, meta.pieceLength, this.#hasher);
  }

  /** The least room among the job's users (free space less other unfinished tasks) and on the disk. */
  async #roomForUnknownLength(job: JobRow): Promise<number> {
    let room = Number.MAX_SAFE_INTEGER;
    for (const task of await this.#d.repo.openTasks(job.id)) {
      room = Math.min(room, (await offlineRoom(this.#d.files, this.#d.repo, task.user_id)).room);
    }
    const disk = await statfs(this.#d.tempRoot).catch(() => null);
    if (disk !== null) room = Math.min(room, disk.bavail * disk.bsize);
    return Math.max(0, room);
  }
}

function sourceOf(job: JobRow): EngineSource {
  if (job.type === TYPE_URL) return { kind: 'url', url: job.source };
  return { kind: 'torrent', torrent: Buffer.from(job.torrent as Uint8Array) };
}
