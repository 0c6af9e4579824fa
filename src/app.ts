import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ActivitySampler } from './admin/sampler.js';
import { storageReport, type SweepRun } from './admin/storage.js';
import type { Config } from './config/index.js';
import { dataDirLayout } from './data-dir/index.js';
import { openDatabase, type Db } from './db/database.js';
import { DownloadLinks } from './files/download-links.js';
import { FilesRepo } from './files/files.repo.js';
import { registerFileRoutes } from './http/files.routes.js';
import { registerRecycleRoutes } from './http/recycle.routes.js';
import { FilesService } from './files/files.service.js';
import { registerDownloadRoutes } from './http/download.routes.js';
import { registerWebUi } from './http/static.js';
import { registerCommonRoutes } from './http/common.routes.js';
import { registerApiDescription } from './http/openapi.js';
import { createHttpServer, installSixpanWire } from './http/server.js';
import { sessionClaimsOf } from './http/sixpan/answers.js';
import { installCors } from './http/sixpan/cors.js';
import { DavService } from './dav/dav.service.js';
import { DavLocks } from './dav/locks.js';
import { DavPropertiesRepo } from './dav/properties.repo.js';
import { publicEtag } from './files/download-url.js';
import { DAV_PREFIX, addDavMethods, davRoutes, registerDavRootOptions } from './http/dav.routes.js';
import { registerPreviewRoutes } from './http/preview.routes.js';
import { BlobCollector } from './store/collector.js';
import { ContentLock } from './store/content-lock.js';
import { openBlobStore, subprocessInput } from './store/open-store.js';
import { StoreTokenService } from './upload/store-token.js';
import { registerStoreTokenRoutes } from './http/store-token.routes.js';
import { UploadRepo } from './upload/upload.repo.js';
import { uploadRoutes } from './http/upload.routes.js';
import { UploadService } from './upload/upload.service.js';
import { LoginLimiter } from './users/login-limiter.js';
import { UsersRepo } from './users/users.repo.js';
import { registerUserRoutes } from './http/users.routes.js';
import { registerAppPasswordRoutes } from './http/app-passwords.routes.js';
import { AppPasswords } from './users/app-passwords.js';
import { AppPasswordsRepo } from './users/app-passwords.repo.js';
import { registerAdminRoutes } from './http/admin.routes.js';
import { Settings } from './settings/settings.js';
import { UsersService } from './users/users.service.js';
import { registerOfflineRoutes } from './http/offline.routes.js';
import { registerLiveFileRoutes, registerTaskFileAddressRoute } from './http/live.routes.js';
import { createOffline, TaskFileStreams, type Offline } from './offline/index.js';
import { registerZipDownloadRoutes, registerZipRoutes } from './http/zip.routes.js';
import { ZipLinks } from './zip/zip-links.js';
import { registerShareRoutes } from './http/shares.routes.js';
import { SharesService } from './shares/shares.service.js';
import { qbtRoutes } from './http/qbt.routes.js';
import { QbtPaths, QbtRepo, QbtService, QbtSessions, torrentLinkFetcher } from './qbt/index.js';
import { findFfmpeg } from './media/ffmpeg.js';
import { loadSharp } from './media/image-thumbnail.js';
import { MediaService } from './media/media.service.js';
import { registerMediaInfoRoute, registerMediaStreamRoutes, registerThumbnailsRoute } from './http/media.routes.js';

export interface OpenPan {
  config: Config;
  db: Db;
  http: FastifyInstance;
  users: UsersService;
  /** Passwords for WebDAV and the qBittorrent API. */
  appPasswords: AppPasswords;
  files: FilesService;
  uploads: UploadService;
  offline: Offline;
  /** Registration and the default quota, as stored by the admin console over the OPENPAN_* values. */
  settings: Settings;
  /** Writes the admin console's chart rows. */
  sampler: ActivitySampler;
  /** Playback in the browser: probes, HLS, thumbnails. */
  media: MediaService;
  /** Starts listening; returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

const CONTENT_GRACE_MS = 10 * 60 * 1000;
const COLLECT_INTERVAL_MS = 60 * 60 * 1000;
const TEMP_MAX_AGE_MS = 6 * 60 * 60 * 1000;
/** The admin console's chart: one row per minute. */
const SAMPLE_INTERVAL_MS = 60 * 1000;

/** Wires the whole server: database, domain services, HTTP routes. Nothing listens yet. */
export async function createOpenPan(config: Config): Promise<OpenPan> {
  if (config.role === 'worker') throw new Error('OPENPAN_ROLE=worker runs createWorker (src/worker.ts), not the API');
  const layout = dataDirLayout(config.dataDir);
  // Probing ffmpeg runs two programs: it goes on while the database opens.
  const ffmpegFound = findFfmpeg(config.media.ffmpeg);
  const db = await openDatabase({ dataDir: layout.root, databaseUrl: config.databaseUrl });
  const loginLimiter = new LoginLimiter({ maxFailures: config.loginMaxFailures, windowMs: config.loginWindowMs });
  const settings = await Settings.load(db, { registration: config.registration, defaultQuota: config.defaultQuota });
  const users = new UsersService(new UsersRepo(db), {
    secret: config.secret,
    sessionClaims: sessionClaimsOf,
    defaultQuota: config.defaultQuota,
    registration: config.registration,
    settings,
    loginLimiter,
    offlineDailyTasks: config.offline.quota.dailyTasks,
  });
  const appPasswords = new AppPasswords(new AppPasswordsRepo(db), users);
  const files = new FilesService(db, new FilesRepo(), { maxEntries: config.maxEntries, recycleDays: config.recycleDays });
  const store = await openBlobStore(config.store, layout);
  const contentLock = new ContentLock();
  // Each process hands out its own upload address (OPENPAN_UPLOAD_URL): the blocks of an upload
  // wait in the data directory of the process that received them, so all of them must come back there.
  const uploadUrl = () => config.uploadUrl ?? `${config.publicUrl}/upload`;
  const uploads = new UploadService(
    { files, store, lock: contentLock, repo: new UploadRepo(db), sessionOpen: (userId, session) => users.sessionOpen(userId, session) },
    { secret: config.secret, dir: layout.uploads, blockExpiryMs: config.uploadExpiryMs, uploadUrl },
  );
  const uploadRepo = new UploadRepo(db);
  const dav = new DavService({
    files,
    store,
    lock: contentLock,
    properties: new DavPropertiesRepo(db),
    locks: new DavLocks(),
    adoptUnreferenced: (etag, size) => uploadRepo.adoptUnreferenced(etag, size),
    pendingUploadBytes: (userId) => uploads.pending.of(userId),
    entityTag: (storeId) => publicEtag(config.secret, storeId),
    prefix: DAV_PREFIX,
  });
  const storeToken = new StoreTokenService({ files, store, lock: contentLock }, { secret: config.secret, tokenTtlMs: config.uploadTokenTtlMs, uploadUrl });

  const http = createHttpServer({
    logLevel: config.logLevel,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    trustedProxies: config.trustedProxies,
  });
  addDavMethods(http);
  // First: the description collects the routes registered after it.
  await registerApiDescription(http);
  const offline = createOffline({
    db,
    files,
    store,
    lock: contentLock,
    secret: config.secret,
    layout,
    config: config.offline,
    onError: (err, what) => http.log.error({ err }, what),
    // An API process of several: no engine here, the workers download (OPENPAN_ROLE=api).
    cluster: config.role === 'api' ? { role: 'api', leaseMs: config.jobLeaseMs } : undefined,
  });
  installCors(http, () => config.corsOrigins);
  // Built before the routes that read them; started below with the other timers.
  const collector = new BlobCollector(db, store, contentLock, CONTENT_GRACE_MS);
  let lastSweep: SweepRun | null = null;
  const sampler = new ActivitySampler(
    db,
    () => offline.admin.speeds(),
    () => offline.admin.activity(),
    (err) => http.log.error({ err }, 'activity sample failed'),
    { writeMs: SAMPLE_INTERVAL_MS },
  );
  const links = new DownloadLinks({ secret: config.secret, ttlMs: config.downloadUrlTtlMs, publicUrl: () => config.publicUrl });
  const zipLinks = new ZipLinks(db, { ttlMs: config.downloadUrlTtlMs, publicUrl: () => config.publicUrl });
  const shares = new SharesService({
    db,
    files,
    downloadLinks: links,
    zipLinks,
    // Wrong extraction codes are limited like failed logins, per share and per address.
    codeLimiter: new LoginLimiter({ maxFailures: config.loginMaxFailures, windowMs: config.loginWindowMs }),
    secret: config.secret,
    publicUrl: () => config.publicUrl,
  });
  const taskFiles = new TaskFileStreams({
    service: offline.service,
    files,
    links,
    secret: config.secret,
    ttlMs: config.downloadUrlTtlMs,
    publicUrl: () => config.publicUrl,
  });
  const tools = await ffmpegFound;
  const sharp = await loadSharp();
  if (sharp === null) http.log.warn('sharp could not be loaded on this platform: ffmpeg makes image thumbnails, when it is there.');
  if (!tools.ffmpeg) http.log.warn(`ffmpeg (${config.media.ffmpeg}) was not found: files the browser cannot play as they are will not play (OPENPAN_FFMPEG).`);
  const media = new MediaService({
    files,
    links,
    contentInput: (etag) => subprocessInput(store, etag),
    store,
    secret: config.secret,
    ttlMs: config.downloadUrlTtlMs,
    publicUrl: () => config.publicUrl,
    tools,
    sharp,
    cacheDir: layout.mediaCache,
    cacheMaxBytes: config.media.cacheMaxBytes,
    transcodeMax: config.media.transcodeMax,
    onError: (err, what) => http.log.error({ err }, what),
  });
  await media.open();
  const v1Api: FastifyPluginAsync = async (v1) => {
    installSixpanWire(v1, users);
    registerUserRoutes(v1, users);
    registerAppPasswordRoutes(v1, appPasswords);
    registerFileRoutes(v1, files, links);
    registerZipRoutes(v1, files, zipLinks);
    registerShareRoutes(v1, shares);
    registerRecycleRoutes(v1, files);
    registerPreviewRoutes(v1, files, links);
    registerCommonRoutes(v1);
    registerStoreTokenRoutes(v1, storeToken);
    registerOfflineRoutes(v1, offline.service);
    registerTaskFileAddressRoute(v1, taskFiles);
    registerAdminRoutes(v1, {
      users,
      settings,
      offline: offline.admin,
      storage: () => storageReport({ db, storeDir: layout.blobs, collector: () => collector.lastRun, sweep: () => lastSweep }),
      chart: () => sampler.lastDay(),
      chartIntervalMs: SAMPLE_INTERVAL_MS,
    });
    registerMediaInfoRoute(v1, media);
    registerThumbnailsRoute(v1, media);
  };
  await http.register(v1Api);
  // The qBittorrent Web API, for Sonarr, Radarr and remote apps: its own wire format and SID sessions.
  const qbt = new QbtService({
    offline: offline.service,
    repo: new QbtRepo(db),
    paths: new QbtPaths(config.qbtPathRoot),
    authenticate: (name, password, ip) => appPasswords.authenticate(name, password, { allowAccountPassword: config.davAccountPassword, ip }),
    fetchTorrentLink: torrentLinkFetcher(config.offline.policy),
    dht: config.offline.engine.dht,
  });
  await http.register(qbtRoutes, { prefix: '/api/v2', qbt, sessions: new QbtSessions() });
  await http.register(uploadRoutes, { prefix: '/upload', service: uploads, bodyIdleTimeoutMs: config.bodyIdleTimeoutMs });
  await http.register(davRoutes, {
    prefix: DAV_PREFIX,
    service: dav,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
    authenticate: (name, password, ip) => appPasswords.authenticate(name, password, { allowAccountPassword: config.davAccountPassword, ip }),
  });
  registerDavRootOptions(http, dav);
  // Signed addresses authorise themselves: outside the /v1 plugin and its token check.
  registerDownloadRoutes(http, {
    secret: config.secret,
    store,
    presign: config.store.kind === 's3' && config.store.presign,
    fileHolds: (userId, uuid, etag) => files.fileHolds(userId, uuid, etag),
  });
  registerZipDownloadRoutes(http, { files, store, links: zipLinks, shareScope: (shareId) => shares.scope(shareId) });
  registerMediaStreamRoutes(http, media);
  registerLiveFileRoutes(http, taskFiles);
  // The browser UI at `/`, with index.html for its own routes (never for /v1, /upload, /dl).
  registerWebUi(http, { publicUrl: () => config.publicUrl });

  // Content no file references any more is freed after a grace period (an instant upload may
  // still want it); temporary files a crash left behind, and expired sessions, are swept at
  // start and then hourly.
  // Recycle bin entries past OPENPAN_RECYCLE_DAYS are purged on the same schedule, before the
  // collection: their content is freed once no entry, in a bin or not, references it.
  collector.start(COLLECT_INTERVAL_MS, (err) => http.log.error({ err }, 'content collection failed'));
  lastSweep = { at: Date.now(), tempFilesRemoved: await store.sweepTemp(TEMP_MAX_AGE_MS), error: null };
  await users.sweepExpiredSessions();
  await files.purgeExpired();
  const sweeper = setInterval(() => {
    files.purgeExpired().catch((err) => http.log.error({ err }, 'recycle bin purge failed'));
    store.sweepTemp(TEMP_MAX_AGE_MS).then(
      (removed) => {
        lastSweep = { at: Date.now(), tempFilesRemoved: removed, error: null };
      },
      (err: unknown) => {
        lastSweep = { at: Date.now(), tempFilesRemoved: 0, error: err instanceof Error ? err.message : String(err) };
        http.log.error({ err }, 'temporary file sweep failed');
      },
    );
    users.sweepExpiredSessions().catch((err) => http.log.error({ err }, 'expired session sweep failed'));
    zipLinks.sweepExpired().catch((err) => http.log.error({ err }, 'expired zip address sweep failed'));
  }, COLLECT_INTERVAL_MS);
  sweeper.unref();
  sampler.start();
  // Offline downloads a previous run left unfinished continue now.
  await offline.start();

  let closed = false;
  return {
    config,
    db,
    http,
    users,
    appPasswords,
    files,
    uploads,
    offline,
    settings,
    sampler,
    media,
    async listen() {
      await http.listen({ host: config.host, port: config.port });
      const address = http.server.address();
      if (!config.publicUrl && address && typeof address === 'object') {
        // Derived from where we listen; a wildcard address is reached through loopback locally.
        const ip = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
        config.publicUrl = `http://${address.family === 'IPv6' ? `[${ip}]` : ip}:${address.port}`;
      }
      return config.publicUrl;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      await sampler.stop();
      // Idle keep-alive connections would hold close() until they time out — including those
      // whose last response was still being written when the close began: keep closing them.
      const closing = http.close();
      http.server.closeIdleConnections();
      const reaper = setInterval(() => http.server.closeIdleConnections(), 200);
      try {
        await closing;
      } finally {
        clearInterval(reaper);
      }
      media.close();
      await collector.stop();
      await uploads.close();
      await offline.close();
      store.close?.();
      await db.destroy();
    },
  };
}
