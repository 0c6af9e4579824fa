import { mkdir, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseTorrentOnce } from '../../torrent/index.js';
import {
  FINAL_STATES,
  type DownloadEngine,
  type EngineFailure,
  type EngineHandle,
  type EngineJob,
  type EngineState,
  type EngineStats,
  type SeedHandle,
  type SeedingEngine,
  type SeedJob,
} from '../engine.js';
import { engineFailure as failure } from '../failures.js';
import { FdPool, openRetrying } from '../fd-pool.js';
import { BtJob, fetchesMetadataOnly, REANNOUNCE_FIRST_MS, REANNOUNCE_MAX_MS } from './bt-job.js';
import type { BtSeed } from './bt-seed.js';
import { BtSeeds } from './bt-seeds.js';
import { failureFromError } from './failures.js';
import { adoptMeta, chunkStoreFor, guardedTorrentId, isMetaFailure, metaFromPeers } from './job-torrent.js';
import { diskLayout, rangesComplete } from './layout.js';
import { SharedClient } from './client.js';
import { DEFAULTS, type ResolvedOptions, type WebTorrentEngineOptions } from './options.js';
import { isFailure, prepareSource } from './source.js';
import { kickIdleWires, reannounce } from './stall-guards.js';
import { WebTorrent, interceptMetadata, type WtParsedTorrent, type WtTorrent, type WtWire } from './webtorrent-api.js';

// The BitTorrent engine: webtorrent@1.9.7 in process, behind the DownloadEngine interface. A
// little over 400 lines, 50 of them this header: the queue and the job states are one piece.
//
// How it uses WebTorrent, and why (each point was seen to matter with 1.9.7):
// * One WebTorrent client, created on the first active job. LSD (local peer discovery, which
//   multicasts to the LAN) is always off; 1.9.7 has no UPnP / NAT-PMP at all; DHT only when
//   `dht` is set; uTP off by default (utp-native is a native addon with crash reports; 1.9.7
//   only ever uses it for incoming connections anyway). So the process opens one TCP listening
//   port, talks to the trackers, web seeds and peers of its jobs, and — with `dht` — the DHT.
// * Only the selected files: WebTorrent selects the whole torrent when the metadata arrives,
//   so the engine deselects the full piece range first, then selects the pieces of the wanted
//   files (merged into intervals). Completion is judged from the bitfield over each file's
//   piece range (layout.ts), never from `file.progress`, which lies for some files.
// * Files are written where openpan's parser says (layout.ts): WebTorrent's own names are lossy
//   for non-UTF-8 torrents. The chunk store is openpan's (pooled-store.ts), not fs-chunk-store,
//   which held one descriptor per file until the torrent closed (100,000 files: the process's
//   whole limit, and the server refused every connection). Every job's and seed's files are
//   opened through one descriptor pool (fd-pool.ts, `maxOpenFiles`, OPENPAN_MAX_OPEN_FILES):
//   the number of files in a torrent never decides how many descriptors the server holds, and
//   a job that still meets EMFILE fails alone (IO_ERROR) after the pool's retries.
// * Pause closes the torrent (no connection, no slot, no open file); resume adds it again, and
//   WebTorrent re-verifies the data on disk (~0.4 s per 256 MiB), exactly as after a restart.
//   1.9.7's own `torrent.pause()` only stops *new* connections: existing peers keep sending.
// * `done`: the torrent is closed (files flushed and closed) before the event, so the importer
//   can move the files. The engine does not seed after `done`.
// * Seeding after the import is a separate, read-only torrent (`seed`): the caller lays the
//   files out under a directory (hard links to the stored blobs, in `seedLayout`'s paths); the
//   engine verifies them, selects no piece (so it never downloads) and uploads what verified,
//   through a chunk store that refuses writes. Seeds hold no download slot.
// * With an address policy, nothing a torrent names is reached unless the policy allows it:
//   trackers and web seeds (tracker-guard.ts) and every outgoing peer address, whether from
//   `x.pe`, a tracker, the DHT or PEX (peer-guard.ts). Refused peers are dropped and counted
//   (`refusedPeers`); a job whose every tracker is refused says so (`notice`), and fails at once
//   with URL_FORBIDDEN when nothing else could find it a peer.
// * Two ways 1.9.7 can leave a job at 0 % for good, which the one-second tick undoes: a wire
//   whose unchoke arrived before WebTorrent listened to it is never asked for a block
//   (`kickIdleWires`), and a first tracker announce that failed is not retried for 30 minutes
//   (`reannounce`, while the job has no peer).
//
// The parts: this file queues jobs, drives each through its states and runs the tick; bt-job.ts
// and bt-seed.ts are the handles, bt-seeds.ts the seeds, client.ts the shared client,
// job-torrent.ts what a job hands WebTorrent, source.ts the checked source, failures.ts the
// error mapping, stall-guards.ts the two 1.9.7 workarounds, options.ts the settings.

const TICK_MS = 1000;

export type { WebTorrentEngineOptions } from './options.js';

export class WebTorrentEngine implements DownloadEngine, SeedingEngine {
  readonly name = 'webtorrent';
  readonly #opts: ResolvedOptions;
  /** Every job's and seed's files are opened through it. */
  readonly #pool: FdPool;
  readonly #client: SharedClient;
  readonly #jobs = new Map<string, BtJob>();
  readonly #queue: BtJob[] = [];
  readonly #active = new Set<BtJob>();
  readonly #seeds: BtSeeds;
  #tick: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(opts: WebTorrentEngineOptions) {
    this.#opts = { ...DEFAULTS, ...opts };
    for (const key of ['maxConns', 'maxActive', 'maxMetadataFetches', 'noPeersTimeoutMs', 'maxOpenFiles'] as const) {
      const v = this.#opts[key];
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`WebTorrentEngine: ${key} must be a positive integer, got ${v}`);
    }
    this.#pool = opts.fdPool ?? new FdPool({ max: this.#opts.maxOpenFiles });
    this.#client = new SharedClient(this.#opts, {
      activeJobs: () => this.#active.size,
      onError: (err) => this.#onClientError(err),
    });
    this.#seeds = new BtSeeds({ pool: this.#pool, client: this.#client, onWire: (wire) => this.#onWire(wire) });
  }

  /** The pool the engine opens job and seed files through (its `held`, `peak`, `max`). */
  get fdPool(): FdPool {
    return this.#pool;
  }

  /** WebTorrent's version, for logs. */
  static get version(): string {
    return WebTorrent.VERSION;
  }

  /** The TCP port peers can connect to, once the client is listening; null before. */
  get port(): number | null {
    return this.#client.port;
  }

  /** Totals over the live jobs and seeds (each one's status is cheap). */
  stats(): EngineStats {
    const totals: EngineStats = {
      jobs: this.#jobs.size,
      activeJobs: this.#active.size,
      seeds: this.#seeds.size,
      connections: 0,
      downloadSpeed: 0,
      uploadSpeed: 0,
      downloadLimit: this.#opts.downloadLimit ?? null,
      uploadLimit: this.#opts.uploadLimit ?? null,
    };
    for (const job of this.#active) {
      const status = job.status();
      totals.connections += status.peers;
      totals.downloadSpeed += status.speed;
      totals.uploadSpeed += status.uploadSpeed;
    }
    for (const seed of this.#seeds.all()) {
      const status = seed.status();
      totals.connections += status.peers;
      totals.uploadSpeed += status.uploadSpeed;
    }
    return totals;
  }

  /** Changes the global rate limits at run time (undefined: unlimited). */
  setRateLimits(limits: { downloadLimit?: number; uploadLimit?: number }): void {
    this.#client.setRateLimits(limits);
  }

  start(spec: EngineJob): EngineHandle {
    const job = new BtJob(this, spec);
    if (this.#closed) return this.#born(job, failure('ENGINE_ERROR', 'The engine is closed.'));
    const prepared = prepareSource(spec.source);
    if (isFailure(prepared)) return this.#born(job, prepared);
    // Only live jobs count: a finished or failed job's id and content may be started again.
    for (const other of this.#jobs.values()) {
      if (other.id === job.id) return this.#born(job, failure('DUPLICATE_JOB', `A job with id ${job.id} is already in this engine.`));
      if (other.source?.infoHash === prepared.infoHash) {
        return this.#born(job, failure('DUPLICATE_JOB', `Torrent ${prepared.infoHash} is already being downloaded by job ${other.id}.`));
      }
    }
    job.source = prepared;
    if (prepared.meta !== null) {
      const bad = adoptMeta(job, prepared.meta, spec.source.kind === 'torrent' ? spec.source.torrent : null);
      if (bad !== null) return this.#born(job, bad);
    }
    job.accepted = true;
    this.#jobs.set(job.id, job);
    this.#queue.push(job);
    this.#ensureTick();
    queueMicrotask(() => this.#pump());
    return job;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#jobs.values()].map((job) => this.stopJob(job, false)));
    await Promise.all([...this.#seeds.all()].map((seed) => this.endSeed(seed)));
    if (this.#tick !== null) clearInterval(this.#tick);
    this.#tick = null;
    await this.#client.close();
  }

  // ---- seeding (bt-seeds.ts) ----

  seedLayout(torrent: Buffer, dir: string): string[] {
    return diskLayout(parseTorrentOnce(torrent), resolve(dir));
  }

  seed(spec: SeedJob): SeedHandle {
    return this.#seeds.start(spec, {
      closed: this.#closed,
      downloading: (infoHash) => [...this.#jobs.values()].some((job) => job.source?.infoHash === infoHash),
    });
  }

  /** Ends a seed (stopped, or failed with `fail`): the torrent leaves WebTorrent, files untouched. */
  endSeed(seed: BtSeed, fail?: EngineFailure): Promise<void> {
    return this.#seeds.end(seed, fail);
  }

  // ---- job control (called through the handles) ----

  async pauseJob(job: BtJob): Promise<void> {
    if (FINAL_STATES.has(job.state) || job.state === 'paused') return job.closing;
    this.#dequeue(job);
    this.#setState(job, 'paused');
    await this.#leave(job);
  }

  async resumeJob(job: BtJob): Promise<void> {
    if (job.state !== 'paused') return;
    if (this.#closed) return this.#fail(job, failure('ENGINE_ERROR', 'The engine is closed.'));
    this.#setState(job, 'queued');
    this.#queue.push(job);
    this.#pump();
  }

  async stopJob(job: BtJob, deleteData: boolean): Promise<void> {
    if (!FINAL_STATES.has(job.state)) {
      this.#dequeue(job);
      this.#setState(job, 'stopped');
      await this.#leave(job);
      job.settle();
    }
    await job.closing;
    // A job refused at start() never owned its directory (it may be a live twin's): leave it.
    if (deleteData && job.accepted) await rm(job.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  // ---- lifecycle ----

  /** A handle for a job that can never run: failed from birth, its event on the next tick. */
  #born(job: BtJob, fail: EngineFailure): EngineHandle {
    job.state = 'failed';
    job.error = fail;
    queueMicrotask(() => {
      job.listeners.emit('error', fail, job.status());
      job.settle();
    });
    return job;
  }

  /** Starts queued jobs, first come first served, while their pool (downloads, metadata fetches) has room. */
  #pump(): void {
    for (let i = 0; !this.#closed && i < this.#queue.length; ) {
      const job = this.#queue[i];
      const metadataOnly = fetchesMetadataOnly(job);
      let running = 0;
      for (const other of this.#active) if (fetchesMetadataOnly(other) === metadataOnly) running++;
      if (running < (metadataOnly ? this.#opts.maxMetadataFetches : this.#opts.maxActive)) {
        this.#queue.splice(i, 1);
        void this.#activate(job);
      } else {
        i++;
      }
    }
  }

  #dequeue(job: BtJob): void {
    const at = this.#queue.indexOf(job);
    if (at >= 0) this.#queue.splice(at, 1);
  }

  async #activate(job: BtJob): Promise<void> {
    this.#active.add(job);
    this.#client.rebalance();
    const generation = ++job.generation;
    this.#setState(job, job.meta === null ? 'metadata' : 'checking');
    try {
      await job.closing;
      await mkdir(job.dir, { recursive: true });
    } catch (err) {
      if (job.generation === generation) this.#fail(job, failureFromError(err));
      return;
    }
    if (job.generation !== generation) return; // paused or stopped meanwhile
    let torrentId: WtParsedTorrent | Buffer | string;
    try {
      torrentId = await guardedTorrentId(job, this.#opts);
    } catch (err) {
      if (job.generation === generation) this.#fail(job, failureFromError(err));
      return;
    }
    if (job.generation !== generation) return;
    let torrent: WtTorrent;
    try {
      const client = this.#client.get();
      torrent = client.add(torrentId, { path: job.dir, store: chunkStoreFor(job, this.#pool) });
    } catch (err) {
      this.#fail(job, failureFromError(err));
      return;
    }
    job.wt = torrent;
    job.finishing = false;
    job.lastReceived = 0;
    job.lastProgressAt = Date.now();
    job.reannounceDelayMs = REANNOUNCE_FIRST_MS;
    job.reannounceAt = job.lastProgressAt + REANNOUNCE_FIRST_MS;
    const current = (): boolean => job.generation === generation && job.wt === torrent;
    if (job.meta === null) interceptMetadata(torrent, (file) => (current() ? this.#adoptMetaFromPeers(job, file) : null));
    torrent.on('metadata', () => current() && this.#onMetadata(job, torrent));
    torrent.on('ready', () => current() && this.#onReady(job));
    torrent.on('done', () => current() && this.#checkDone(job));
    torrent.on('error', (err) => current() && this.#fail(job, failureFromError(err)));
    torrent.on('warning', () => {});
    torrent.on('wire', (wire) => this.#onWire(wire));
    // A tracker's, the DHT's or a PEX peer the policy refused (the client's blocklist, peer-guard.ts).
    torrent.on('blockedPeer', (peer) => current() && typeof peer === 'string' && job.refused.add(peer));
  }

  /** A magnet job's metadata from a peer, as WebTorrent is to take it (job-torrent.ts); null when the job failed on it. */
  #adoptMetaFromPeers(job: BtJob, torrentFile: Buffer): WtParsedTorrent | null {
    const parsed = metaFromPeers(job, torrentFile);
    if (!isMetaFailure(parsed)) return parsed;
    this.#fail(job, parsed);
    return null;
  }

  #onMetadata(job: BtJob, torrent: WtTorrent): void {
    if (job.meta === null && job.metaError === null) job.metaError = failure('ENGINE_ERROR', 'WebTorrent adopted metadata that openpan did not parse.');
    if (job.metaError !== null) {
      this.#fail(job, job.metaError);
      return;
    }
    // WebTorrent has just selected every piece at priority 0: replace that with our selection.
    const pieceCount = torrent.pieces.length;
    if (pieceCount > 0) torrent.deselect(0, pieceCount - 1, false);
    for (const [from, to] of job.ranges) torrent.select(from, to, false);
    job.bitfield = torrent.bitfield ?? null;
    this.#setState(job, 'checking');
    if (!job.metadataEmitted) {
      job.metadataEmitted = true;
      job.listeners.emit('metadata', { status: job.status(), ...(job.torrentFile === null ? {} : { torrent: job.torrentFile }) });
    }
  }

  /** Existing data is verified: record how much there was, then download (or finish). */
  #onReady(job: BtJob): void {
    if (job.state !== 'checking') return;
    if (job.resumedBytes === null) job.resumedBytes = job.status().downloaded;
    job.lastProgressAt = Date.now();
    this.#setState(job, 'downloading');
    this.#checkDone(job);
  }

  #checkDone(job: BtJob): void {
    if (job.state !== 'downloading' || job.finishing || job.bitfield === null) return;
    const bitfield = job.bitfield;
    if (!rangesComplete(job.ranges, (p) => bitfield.get(p))) return;
    job.finishing = true;
    void this.#finish(job);
  }

  async #finish(job: BtJob): Promise<void> {
    await this.#leave(job);
    try {
      // The store never writes an empty file: create the selected ones.
      for (const f of job.meta?.files ?? []) {
        if (f.size !== 0 || !job.selected.has(f.engineIndex)) continue;
        const path = (job.layout as string[])[f.engineIndex];
        await mkdir(dirname(path), { recursive: true });
        await (await openRetrying(path, 'a')).close();
      }
    } catch (err) {
      if (job.state === 'downloading') this.#fail(job, failureFromError(err));
      return;
    }
    if (job.state !== 'downloading') return; // paused or stopped while closing
    this.#setState(job, 'done');
    const status = job.status();
    job.listeners.emit('done', status);
    job.settle();
  }

  #fail(job: BtJob, fail: EngineFailure): void {
    if (FINAL_STATES.has(job.state)) return;
    this.#dequeue(job);
    job.error = fail;
    this.#setState(job, 'failed');
    void this.#leave(job);
    job.listeners.emit('error', fail, job.status());
    job.settle();
  }

  /** Takes the job out of WebTorrent (data kept) and gives its slot to the next in the queue. */
  #leave(job: BtJob): Promise<void> {
    job.generation++;
    const torrent = job.wt;
    job.wt = null;
    if (torrent !== null) {
      job.receivedBefore += torrent.received;
      job.uploadedBefore += torrent.uploaded;
      if (!torrent.destroyed) {
        const previous = job.closing;
        job.closing = new Promise<void>((res) => torrent.destroy({ destroyStore: false }, () => res())).then(() => previous);
      }
    }
    if (this.#active.delete(job)) {
      this.#client.rebalance();
      queueMicrotask(() => this.#pump());
    }
    return job.closing;
  }

  #setState(job: BtJob, state: EngineState): void {
    if (job.state === state) return;
    job.state = state;
    if (FINAL_STATES.has(state) && this.#jobs.get(job.id) === job) this.#jobs.delete(job.id);
    job.listeners.emit('state', state, job.status());
  }

  // ---- the shared client ----

  /** WebTorrent destroys the whole client on a listening or DHT socket error: fail what ran on it. */
  #onClientError(err: Error | string): void {
    const fail = failure('ENGINE_ERROR', `The BitTorrent client failed: ${err instanceof Error ? err.message : String(err)}`);
    for (const job of [...this.#active]) this.#fail(job, fail);
    for (const seed of [...this.#seeds.all()]) void this.endSeed(seed, fail);
  }

  #onWire(wire: WtWire): void {
    if (!this.#opts.pex && wire.ut_pex !== undefined) {
      // 1.9.7 has no switch for PEX: forget what peers tell us, and stop its timer.
      wire.ut_pex.removeAllListeners('peer');
      wire.ut_pex.reset();
    }
    if (wire.type === 'webSeed') return;
    let total = 0;
    for (const job of this.#active) total += job.wt?.wires.length ?? 0;
    for (const seed of this.#seeds.all()) total += seed.wt?.wires.length ?? 0;
    if (total > this.#opts.maxConns) wire.destroy();
  }

  #ensureTick(): void {
    if (this.#tick !== null) return;
    this.#tick = setInterval(() => this.#onTick(), TICK_MS);
    this.#tick.unref();
  }

  /** Every second: the stall timer (NO_PEERS_TIMEOUT) and a completion check. */
  #onTick(): void {
    const now = Date.now();
    for (const job of [...this.#active]) {
      const torrent = job.wt;
      if (torrent === null || (job.state !== 'metadata' && job.state !== 'downloading')) continue;
      // A web seed is always "connected", even when it answers 404: only bytes count for it.
      const peers = torrent.wires.some((w) => w.type !== 'webSeed');
      if (job.isolated && !peers && !job.finishing) {
        // Every tracker refused and nothing else to ask: waiting for NO_PEERS_TIMEOUT would only hide why.
        this.#fail(job, failure('URL_FORBIDDEN', job.notice ?? 'The address policy refused every source of this torrent.'));
        continue;
      }
      const received = torrent.received !== job.lastReceived;
      if (peers || received) {
        job.lastProgressAt = now;
        job.reannounceDelayMs = REANNOUNCE_FIRST_MS;
        job.reannounceAt = now + REANNOUNCE_FIRST_MS;
      } else if (now >= job.reannounceAt) {
        reannounce(torrent);
        job.reannounceDelayMs = Math.min(job.reannounceDelayMs * 2, REANNOUNCE_MAX_MS);
        job.reannounceAt = now + job.reannounceDelayMs;
      }
      job.lastReceived = torrent.received;
      if (!received && job.state === 'downloading' && !job.finishing) kickIdleWires(torrent);
      if (now - job.lastProgressAt >= this.#opts.noPeersTimeoutMs) {
        const seconds = Math.round(this.#opts.noPeersTimeoutMs / 1000);
        this.#fail(job, failure('NO_PEERS_TIMEOUT', `No peer and no data for ${seconds} s.`));
        continue;
      }
      this.#checkDone(job);
    }
    if (this.#jobs.size === 0 && this.#tick !== null) {
      clearInterval(this.#tick);
      this.#tick = null;
    }
  }
}
