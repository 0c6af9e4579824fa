// A data directory with some ordinary use behind it, and ways to damage it on purpose, for the
// fsck tests. The server ran in this process and is stopped: the directory is at rest. With
// OPENPAN_TEST_DIALECT=postgres its database is the directory's PostgreSQL database.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { runFsck, type FsckOptions, type FsckReport } from '../../src/fsck/fsck.js';
import { databaseUrlFor, testsUsePostgres } from './postgres.js';
import { startServer } from './server.js';
import { blobPath, bytes, fileOf, formUpload, ticket } from './upload.js';

export interface World {
  dataDir: string;
  /** What was uploaded, by drive path. */
  files: Map<string, Buffer>;
  /** The database's URL when it is PostgreSQL, else null (SQLite in the directory). */
  databaseUrl: string | null;
  /** Runs SQL on the directory's database (the server is stopped); `?` marks a parameter. */
  sql(text: string, ...params: unknown[]): Promise<void>;
  one<T>(text: string, ...params: unknown[]): Promise<T>;
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
  const databaseUrl = testsUsePostgres() ? await databaseUrlFor(dataDir) : null;
  const run = async (text: string, params: unknown[]): Promise<unknown> => {
    if (databaseUrl === null) {
      const db = new Database(join(dataDir, 'openpan.db'));
      try {
        const stmt = db.prepare(text);
        return stmt.reader ? stmt.get(...params) : stmt.run(...params);
      } finally {
        db.close();
      }
    }
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      let n = 0;
      const { rows } = await client.query(
        text.replace(/\?/g, () => `$${++n}`),
        params,
      );
      // Counts come back as text from pg: as numbers, as SQLite gives them.
      const row = rows[0] as Record<string, unknown> | undefined;
      if (row) for (const [k, v] of Object.entries(row)) if (typeof v === 'string' && /^-?\d+$/.test(v)) row[k] = Number(v);
      return row;
    } finally {
      await client.end();
    }
  };
  return {
    dataDir,
    databaseUrl,
    files,
    async sql(text, ...params) {
      await run(text, params);
    },
    async one<T>(text: string, ...params: unknown[]): Promise<T> {
      return (await run(text, params)) as T;
    },
    contentPath(etag) {
      return blobPath(dataDir, etag);
    },
    fsck: (opts = {}) => runFsck({ dataDir, databaseUrl, ...opts }),
  };
}
