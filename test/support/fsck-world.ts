// A data directory with some ordinary use behind it, and ways to damage it on purpose, for the
// fsck tests. The server ran in this process and is stopped: the directory is at rest.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { runFsck, type FsckOptions, type FsckReport } from '../../src/fsck/fsck.js';
import { startServer } from './server.js';
import { blobPath, bytes, fileOf, formUpload, ticket } from './upload.js';

export interface World {
  dataDir: string;
  /** What was uploaded, by drive path. */
  files: Map<string, Buffer>;
  /** Runs SQL on the directory's database (the server is stopped). */
  sql(text: string, ...params: unknown[]): void;
  one<T>(text: string, ...params: unknown[]): T;
  contentPath(etag: string): string;
  fsck(opts?: Omit<FsckOptions, 'dataDir'>): Promise<FsckReport>;
}

export async function makeWorld(): Promise<World> {
  const server = await startServer();
  const files = new Map<string, Buffer>();
  try {
    const alice = await server.newUser('alice');
    const bob = await server.newUser('bob');
    for (const [client, path, data] of [
      [alice, '/docs/a.bin', bytes(70_000, 1)],
      [alice, '/docs/deep/b.bin', bytes(5 * 1024 * 1024 + 3, 2)],
      [bob, '/c.bin', bytes(1234, 3)],
      [bob, '/same-as-a.bin', bytes(70_000, 1)],
    ] as const) {
      const slash = path.lastIndexOf('/');
      const t = await ticket(client, { name: path.slice(slash + 1), path: path.slice(0, slash) || '/' });
      fileOf(await formUpload(t.uploadUrl, t.token, data));
      files.set(path, Buffer.from(data));
    }
    await alice.call('/v1/files/createDirectory', { path: '/backup' });
    await alice.call('/v1/files/copy', { path: ['/docs'], destPath: '/backup' });
    await alice.call('/v1/files/createDirectory', { path: '/empty/dir' });
    await alice.call('/v1/files/move', { path: ['/empty/dir'], destPath: '/docs' });
  } finally {
    await server.stop();
  }
  const dataDir = server.dataDir;
  const open = () => new Database(join(dataDir, 'openpan.db'));
  return {
    dataDir,
    files,
    sql(text, ...params) {
      const db = open();
      try {
        db.prepare(text).run(...params);
      } finally {
        db.close();
      }
    },
    one<T>(text: string, ...params: unknown[]): T {
      const db = open();
      try {
        return db.prepare(text).get(...params) as T;
      } finally {
        db.close();
      }
    },
    contentPath(etag) {
      return blobPath(dataDir, etag);
    },
    fsck: (opts = {}) => runFsck({ dataDir, ...opts }),
  };
}
