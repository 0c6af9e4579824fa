import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { dataDirLayout } from './data-dir/index.js';
import { openDatabase, type Db } from './db/database.js';
import { FilesRepo } from './files/files.repo.js';
import { FilesService } from './files/files.service.js';
import { registerHealthRoute } from './http/health.routes.js';
import { createHttpServer } from './http/server.js';
import { createOffline, JobLeases, workerCapacity, type Offline } from './offline/index.js';
import { ContentLock } from './store/content-lock.js';
import { openBlobStore } from './store/open-store.js';

// A download worker (OPENPAN_ROLE=worker): the offline engines and the scheduler over the shared
// database and content store, claiming jobs through leases (offline/job-leases.ts). It serves
// no public HTTP: only `GET /health` on OPENPAN_PORT. Its data directory is scratch: the jobs'
// working directories and the staging of files on their way into the store.

export interface OpenPanWorker {
  config: Config;
  db: Db;
  offline: Offline;
  /** The health endpoint only. */
  http: FastifyInstance;
  /** Starts listening; returns the base URL of the health endpoint. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function createWorker(config: Config): Promise<OpenPanWorker> {
  const layout = dataDirLayout(config.dataDir);
  // The database and the content store every process shares: PostgreSQL and a bucket.
  const db = await openDatabase({ dataDir: layout.root, databaseUrl: config.databaseUrl });
  const files = new FilesService(db, new FilesRepo(), { maxEntries: config.maxEntries, recycleDays: config.recycleDays });
  const store = await openBlobStore(config.store, layout);
  const http = createHttpServer({
    logLevel: config.logLevel,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    trustedProxies: config.trustedProxies,
  });
  const leases = new JobLeases({
    db,
    leaseMs: config.jobLeaseMs,
    tempRoot: layout.offline,
    capacity: workerCapacity(config.offline),
  });
  const offline = createOffline({
    db,
    files,
    store,
    lock: new ContentLock(),
    secret: config.secret,
    layout,
    config: config.offline,
    onError: (err, what) => http.log.error({ err }, what),
    cluster: { role: 'worker', leaseMs: config.jobLeaseMs, leases },
  });
  registerHealthRoute(http, () => ({ status: 'ok', role: 'worker', workerId: leases.workerId, jobs: leases.held.size }));
  await offline.start();

  let closed = false;
  return {
    config,
    db,
    offline,
    http,
    async listen() {
      await http.listen({ host: config.host, port: config.port });
      const address = http.server.address();
      const port = address !== null && typeof address === 'object' ? address.port : config.port;
      return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      await http.close();
      await offline.close();
      store.close?.();
      await db.destroy();
    },
  };
}
