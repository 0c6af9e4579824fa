import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { openDatabase, type Db } from './db/database.js';
import { FilesRepo } from './files/files.repo.js';
import { registerFileRoutes } from './files/files.routes.js';
import { FilesService } from './files/files.service.js';
import { createHttpServer, installAuth } from './http/server.js';
import { UsersRepo } from './users/users.repo.js';
import { registerUserRoutes } from './users/users.routes.js';
import { UsersService } from './users/users.service.js';

export interface OpenPan {
  config: Config;
  db: Db;
  http: FastifyInstance;
  users: UsersService;
  files: FilesService;
  /** Starts listening; returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Wires the whole server: database, domain services, HTTP routes. Nothing listens yet. */
export async function createOpenPan(config: Config): Promise<OpenPan> {
  const db = await openDatabase({ dataDir: config.dataDir });
  const users = new UsersService(new UsersRepo(db), { defaultQuota: config.defaultQuota, registration: config.registration });
  const files = new FilesService(db, new FilesRepo());

  const http = createHttpServer({ logLevel: config.logLevel });
  await http.register(async (v1) => {
    installAuth(v1, users);
    registerUserRoutes(v1, users);
    registerFileRoutes(v1, files);
  });

  let closed = false;
  return {
    config,
    db,
    http,
    users,
    files,
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
      await http.close();
      await db.destroy();
    },
  };
}
