// Offline download: user tasks, system tasks, the scheduler and the import. The parsers live in
// ./torrent; the engines in ../engines.
import type { DataDirLayout } from '../data-dir/index.js';
import type { Db } from '../db/database.js';
import { EngineRouter, guardTorrentHints, HttpEngine, WebTorrentEngine, type DownloadEngine } from '../engines/index.js';
import type { FilesService } from '../files/files.service.js';
import type { BlobStore } from '../store/blob-store.js';
import { placeContent } from '../store/place-content.js';
import type { ContentLock } from '../store/content-lock.js';
import type { OfflineConfig } from './offline-config.js';
import { OfflineAdmin } from './admin.js';
import { JobLeases, newProcessId } from './job-leases.js';
import { OfflineRepo } from './offline.repo.js';
import { MetadataFetcher } from './metadata-fetcher.js';
import { OfflineService } from './offline.service.js';
import { SourceParser } from './parse.js';
import { OfflineQuota } from './quota.js';
import { TaskChangeFeed } from './task-change-feed.js';
import { TaskEvents } from './task-events.js';
import { urlProber } from './url-probe.js';
import { Scheduler, type SchedulerTiming } from './scheduler.js';
import { Seeding } from './seeding.js';
import { SeedingRepo } from './seeding.repo.js';

export { OfflineAdmin, JOB_CANCELLED } from './admin.js';
export type { AdminEngineView, AdminJobView, AdminTaskView, OfflineActivity } from './admin.js';
export { OfflineService } from './offline.service.js';
export { LIVE_PATH_PREFIX, liveBytes, TaskFileStreams, waitForLiveBytes, type TaskFileAddress } from './task-file-streams.js';
export type { ParsedFile, ParseFailure, ParseResult, TaskFileDetail, TaskObject, TaskStreamEvent } from './offline.service.js';
export { Scheduler, type SchedulerTiming } from './scheduler.js';
export { JobLeases, LeaseLost } from './job-leases.js';
export type { MagnetConfig, OfflineConfig, QuotaConfig } from './offline-config.js';
export type { SeedingConfig } from './seeding.js';

export interface OfflineDeps {
  db: Db;
  files: FilesService;
  store: BlobStore;
  lock: ContentLock;
  secret: string;
  /** The server's data directory: working directories go to its `offline`, next to the blobs. */
  layout: DataDirLayout;
  /** The settings (config.offline). */
  config: OfflineConfig;
  /** Another BitTorrent engine (tests); default: WebTorrent with the settings from `config`. */
  engine?: DownloadEngine;
  /** The scheduler's tick and retry delay (tests); default 1 s and 2 s. */
  schedulerTiming?: Partial<SchedulerTiming>;
  onError?: (err: unknown, what: string) => void;
  /** One of several processes on one database (OPENPAN_ROLE api or worker); none: the only process. */
  cluster?: OfflineCluster;
}

/** How this process takes part when several share the database. */
export interface OfflineCluster {
  /** `api`: serves users, runs no engine; `worker`: drives the jobs it holds a lease of. */
  role: 'api' | 'worker';
  /** How long a worker's claim on a job holds without a heartbeat, ms. */
  leaseMs: number;
  /** This process's id among them (default: host, pid and random bytes). */
  processId?: string;
  /** A worker's leases, when its caller built them (to report on them); default: made here. */
  leases?: JobLeases;
}

/** Jobs a worker holds at most: as many as its engines run at once; the rest wait for any worker. */
export function workerCapacity(config: OfflineConfig): number {
  return (config.engine.maxActive ?? 5) + (config.http.maxActive ?? 5);
}

/** What an API process has instead of a download engine: nothing runs here. */
const NO_ENGINE: DownloadEngine = {
  name: 'none',
  start() {
    throw new Error('this process runs no download engine (OPENPAN_ROLE=api): workers download');
  },
  close: async () => undefined,
};

export interface Offline {
  service: OfflineService;
  /** The admin console's view of every job, and cancelling one. */
  admin: OfflineAdmin;
  scheduler: Scheduler;
  seeding: Seeding;
  /** Recovery: continues the jobs a previous run left unfinished. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createOffline(deps: OfflineDeps): Offline {
  const config = deps.config;
  const tempRoot = deps.layout.offline;
  const repo = new OfflineRepo(deps.db);
  const cluster = deps.cluster;
  const api = cluster?.role === 'api';
  const bittorrent = api ? NO_ENGINE : (deps.engine ?? new WebTorrentEngine(config.engine));
  // Users' URLs, trackers and web seeds are reached under the address policy (SSRF): public
  // addresses only, unless the operator allows more.
  const policy = config.policy;
  const urlEngine = api ? NO_ENGINE : new HttpEngine(config.http);
  const engine = api ? NO_ENGINE : new EngineRouter(bittorrent, { url: urlEngine });
  const processId = cluster?.leases?.workerId ?? cluster?.processId ?? newProcessId();
  const leases =
    cluster?.role === 'worker'
      ? (cluster.leases ??
        new JobLeases({
          db: deps.db,
          workerId: processId,
          leaseMs: cluster.leaseMs,
          tempRoot,
          capacity: workerCapacity(config),
        }))
      : undefined;
  const probe = urlProber(policy);
  const store = deps.store;
  // Seeds read hard links to the blobs on local disk, copies of them from a bucket.
  const seeding = new Seeding({
    repo: new SeedingRepo(deps.db),
    engine: bittorrent,
    placeContent: (etag, target) => placeContent(store, etag, target),
    root: deps.layout.seeding,
    config: config.seeding,
    guardTorrent: (torrent) => guardTorrentHints(torrent, policy),
    onError: deps.onError,
  });
  const metadata = new MetadataFetcher({ engine, repo, tempRoot });
  const scheduler = new Scheduler({
    repo,
    files: deps.files,
    store,
    lock: deps.lock,
    engine,
    tempRoot,
    stagingDir: deps.layout.offlineStaging,
    onError: deps.onError,
    seeding,
    metadata,
    timing: deps.schedulerTiming,
    ownership: leases,
    drives: !api,
  });
  const parser = new SourceParser({ secret: deps.secret, scheduler, metadata, magnet: config.magnet, probe });
  const quota = new OfflineQuota(repo, config.quota);
  const events = new TaskEvents();
  const feed = cluster === undefined ? null : new TaskChangeFeed(deps.db, processId);
  const feedError = (err: unknown) => deps.onError?.(err, 'task change feed');
  repo.onTaskChange = (change) => {
    events.publish(change);
    feed?.record(change, feedError);
  };
  const service = new OfflineService({ repo, files: deps.files, store, scheduler, parser, metadata, quota, events }, { secret: deps.secret, tempRoot });
  const admin = new OfflineAdmin({ db: deps.db, repo, scheduler, service, seeding, engines: api ? [] : [bittorrent, urlEngine] });
  return {
    service,
    admin,
    scheduler,
    seeding,
    async start() {
      if (!api) await seeding.start();
      await scheduler.start();
      if (api) await feed?.follow((change) => events.publish(change), feedError);
    },
    async close() {
      feed?.close();
      // Seeds first: they keep their rows and links for the next start; then the engine closes.
      await seeding.close();
      await scheduler.close();
    },
  };
}
