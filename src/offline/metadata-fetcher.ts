import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DownloadEngine, EngineFailure, EngineHandle } from '../engines/index.js';
import type { OfflineRepo } from './offline.repo.js';
import { parseTorrentOnce } from '../torrent/index.js';

// A magnet link's metadata (the info dictionary, BEP 9), fetched from peers once per info hash
// and kept in `offline_metadata`, so the next user who parses the link gets the file list at
// once. One engine job per info hash, shared by everyone who wants it: a `parseUrl` that waits
// a few seconds, and the scheduler's job that cannot start before it has the file list.
//
// Each party states until when it wants the metadata (a job: for as long as it lives, i.e.
// `Infinity`); the fetch stops once nobody does. The engine job downloads no file (an empty
// selection), so it ends by itself when the metadata arrived.

/** Why a fetch ended without metadata. */
export class MetadataUnavailable extends Error {
  constructor(readonly failure: EngineFailure) {
    super(failure.message);
    this.name = 'MetadataUnavailable';
  }
}

interface Fetch {
  handle: EngineHandle;
  promise: Promise<Buffer>;
  /** requester → wanted until (ms since the epoch). */
  wanted: Map<string, number>;
  /** Being stopped: a newcomer must not join it, but start afresh once it has ended. */
  stopping: boolean;
}

export interface MetadataFetcherDeps {
  engine: DownloadEngine;
  repo: OfflineRepo;
  /** Working directories go here (`meta-<infoHash>-<n>`); the scheduler frees strays at start. */
  tempRoot: string;
}

const SWEEP_MS = 1000;

export class MetadataFetcher {
  readonly #d: MetadataFetcherDeps;
  readonly #fetches = new Map<string, Fetch>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(deps: MetadataFetcherDeps) {
    this.#d = deps;
  }

  /** The `.torrent` of `infoHash` if anyone fetched (or uploaded) it before, else null. */
  async known(infoHash: string): Promise<Buffer | null> {
    const fromMagnet = await this.#d.repo.metadata(infoHash);
    if (fromMagnet !== null) return fromMagnet;
    const job = await this.#d.repo.jobByKey(`bt:${infoHash}`);
    return job?.torrent ? Buffer.from(job.torrent) : null;
  }

  /** Whether a fetch of `infoHash` is running. */
  fetching(infoHash: string): boolean {
    return this.#fetches.has(infoHash);
  }

  /** Running fetches that some requester starting with `prefix` still wants. */
  wantedBy(prefix: string, now = Date.now()): number {
    let n = 0;
    for (const fetch of this.#fetches.values()) {
      for (const [requester, until] of fetch.wanted) {
        if (until > now && requester.startsWith(prefix)) {
          n++;
          break;
        }
      }
    }
    return n;
  }

  /**
   * The metadata of `infoHash`, fetched with the hints of `magnetUri`. `requester` wants it until
   * `until` (ms since the epoch; Infinity: until `release`). Rejects with MetadataUnavailable
   * when the engine gives up (no peers) or nobody wants it any more.
   */
  fetch(infoHash: string, magnetUri: string, requester: string, until: number): Promise<Buffer> {
    const running = this.#fetches.get(infoHash);
    if (running?.stopping) {
      return running.promise.then(
        (torrent) => torrent,
        () => this.fetch(infoHash, magnetUri, requester, until),
      );
    }
    if (running !== undefined) {
      running.wanted.set(requester, Math.max(until, running.wanted.get(requester) ?? 0));
      return running.promise;
    }
    if (this.#closed) return Promise.reject(new MetadataUnavailable({ code: 'ENGINE_ERROR', message: 'The server is shutting down.', retryable: true }));
    // A directory (and engine id) of its own per attempt: a fetch being stopped may still be
    // removing its directory while the next one starts.
    const id = `meta-${infoHash}-${randomBytes(4).toString('hex')}`;
    const dir = join(this.#d.tempRoot, id);
    let handle: EngineHandle;
    try {
      handle = this.#d.engine.start({ id, dir, source: { kind: 'magnet', uri: magnetUri }, selectedFiles: [] });
    } catch (err) {
      // No engine here (an API process of a cluster): the job's worker fetches it.
      return Promise.reject(new MetadataUnavailable({ code: 'ENGINE_ERROR', message: err instanceof Error ? err.message : String(err), retryable: true }));
    }
    let received: Buffer | null = null;
    handle.on('metadata', ({ torrent }) => {
      if (torrent !== undefined) received = torrent;
    });
    const promise = handle.settled.then(async (status) => {
      this.#fetches.delete(infoHash);
      await rm(dir, { recursive: true, force: true });
      const torrent = received;
      if (torrent !== null && parseTorrentOnce(torrent).infoHash === infoHash) {
        await this.#d.repo.saveMetadata(infoHash, torrent);
        return torrent;
      }
      throw new MetadataUnavailable(status.error ?? { code: 'NO_PEERS_TIMEOUT', message: 'No peer sent the metadata of this magnet link.', retryable: true });
    });
    // Parties that gave up before the end must not see an unhandled rejection.
    promise.catch(() => undefined);
    this.#fetches.set(infoHash, { handle, promise, wanted: new Map([[requester, until]]), stopping: false });
    this.#ensureSweeping();
    return promise;
  }

  /** `requester` no longer wants the metadata of `infoHash`. */
  release(infoHash: string, requester: string): void {
    this.#fetches.get(infoHash)?.wanted.delete(requester);
  }

  /**
   * Ends the fetch of `infoHash` now, whoever wants it (the metadata came another way, or its
   * job is about to download: the engine takes an info hash once). Resolves once the engine
   * holds nothing of it.
   */
  async stop(infoHash: string): Promise<void> {
    const fetch = this.#fetches.get(infoHash);
    if (fetch === undefined) return;
    fetch.wanted.clear();
    fetch.stopping = true;
    await fetch.handle.stop({ deleteData: true });
    await fetch.promise.catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await Promise.all([...this.#fetches.values()].map((f) => f.handle.stop({ deleteData: true })));
  }

  #ensureSweeping(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#timer.unref();
  }

  /** Stops fetches nobody wants any more. */
  #sweep(): void {
    const now = Date.now();
    for (const fetch of this.#fetches.values()) {
      const until = Math.max(0, ...fetch.wanted.values());
      if (until <= now && !fetch.stopping) {
        fetch.stopping = true;
        void fetch.handle.stop({ deleteData: true });
      }
    }
    if (this.#fetches.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}
