import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
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
import { registerPreviewRoutes } from './http/preview.routes.js';
import { BlobCollector } from './store/collector.js';
import { ContentLock } from './store/content-lock.js';
import { LocalDiskBlobStore } from './store/local-disk.js';
import { StoreTokenService } from './upload/store-token.js';
import { registerStoreTokenRoutes } from './http/store-token.routes.js';
import { UploadRepo } from './upload/upload.repo.js';
import { uploadRoutes } from './http/upload.routes.js';
import { UploadService } from './upload/upload.service.js';
import { LoginLimiter } from './users/login-limiter.js';
import { UsersRepo } from './users/users.repo.js';
import { registerUserRoutes } from './http/users.routes.js';
import { UsersService } from './users/users.service.js';
import { registerOfflineRoutes } from './http/offline.routes.js';
import { createOffline, type Offline } from './offline/index.js';

export interface OpenPan {
  config: Config;
  db: Db;
  http: FastifyInstance;
  users: UsersService;
  files: FilesService;
  uploads: UploadService;
  offline: Offline;
  /** Starts listening; returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

const CONTENT_GRACE_MS = 10 * 60 * 1000;
const COLLECT_INTERVAL_MS = 60 * 60 * 1000;
const TEMP_MAX_AGE_MS = 6 * 60 * 60 * 1000;

/** Wires the whole server: database, domain services, HTTP routes. Nothing listens yet. */
export async function createOpenPan(config: Config): Promise<OpenPan> {
  const layout = dataDirLayout(config.dataDir);
  const db = await openDatabase({ dataDir: config.dataDir });
  const loginLimiter = new LoginLimiter({ maxFailures: config.loginMaxFailures, windowMs: config.loginWindowMs });
  const users = new UsersService(new UsersRepo(db), {
    secret: config.secret,
    sessionClaims: sessionClaimsOf,
    defaultQuota: config.defaultQuota,
    registration: config.registration,
    loginLimiter,
    offlineDailyTasks: config.offline.quota.dailyTasks,
  });
  const files = new FilesService(db, new FilesRepo(), { recycleDays: config.recycleDays });
  const store = new LocalDiskBlobStore(layout.blobs);
  const contentLock = new ContentLock();
  const uploadUrl = () => `${config.publicUrl}/upload`;
  const uploads = new UploadService(
    { files, store, lock: contentLock, repo: new UploadRepo(db), sessionOpen: (userId, session) => users.sessionOpen(userId, session) },
    { secret: config.secret, dir: layout.uploads, blockExpiryMs: config.uploadExpiryMs, uploadUrl },
  );
  const storeToken = new StoreTokenService({ files, store, lock: contentLock }, { secret: config.secret, tokenTtlMs: config.uploadTokenTtlMs, uploadUrl });

  const http = createHttpServer({
    logLevel: config.logLevel,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    trustedProxies: config.trustedProxies,
  });
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
  });
  installCors(http, () => config.corsOrigins);
  const links = new DownloadLinks({ secret: config.secret, ttlMs: config.downloadUrlTtlMs, publicUrl: () => config.publicUrl });
  const v1Api: FastifyPluginAsync = async (v1) => {
    installSixpanWire(v1, users);
    registerUserRoutes(v1, users);
    registerFileRoutes(v1, files, links);
    registerRecycleRoutes(v1, files);
    registerPreviewRoutes(v1, files, links);
    registerCommonRoutes(v1);
    registerStoreTokenRoutes(v1, storeToken);
    registerOfflineRoutes(v1, offline.service);
  };
  await http.register(v1Api);
  await http.register(uploadRoutes, { prefix: '/upload', service: uploads, bodyIdleTimeoutMs: config.bodyIdleTimeoutMs });
  // Signed addresses authorise themselves: outside the /v1 plugin and its token check.
  registerDownloadRoutes(http, { secret: config.secret, store, fileHolds: (userId, uuid, etag) => files.fileHolds(userId, uuid, etag) });
  // The browser UI at `/`, with index.html for its own routes (never for /v1, /upload, /dl).
  registerWebUi(http, { publicUrl: () => config.publicUrl });

  // Content no file references any more is freed after a grace period (an instant upload may
  // still want it); temporary files a crash left behind, and expired sessions, are swept at
  // start and then hourly.
  // Recycle bin entries past OPENPAN_RECYCLE_DAYS are purged on the same schedule, before the
  // collection: their content is freed once no entry, in a bin or not, references it.
  const collector = new BlobCollector(db, store, contentLock, CONTENT_GRACE_MS);
  collector.start(COLLECT_INTERVAL_MS, (err) => http.log.error({ err }, 'content collection failed'));
  await store.sweepTemp(TEMP_MAX_AGE_MS);
  await users.sweepExpiredSessions();
  await files.purgeExpired();
  const sweeper = setInterval(() => {
    files.purgeExpired().catch((err) => http.log.error({ err }, 'recycle bin purge failed'));
    store.sweepTemp(TEMP_MAX_AGE_MS).catch((err) => http.log.error({ err }, 'temporary file sweep failed'));
    users.sweepExpiredSessions().catch((err) => http.log.error({ err }, 'expired session sweep failed'));
  }, COLLECT_INTERVAL_MS);
  sweeper.unref();
  // Offline downloads a previous run left unfinished continue now.
  await offline.start();

  let closed = false;
  return {
    config,
    db,
    http,
    users,
    files,
    uploads,
    offline,
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
      await collector.stop();
      await uploads.close();
      await offline.close();
      await db.destroy();
    },
  };
}
