// OPENPAN_ROLE and what it needs: api and worker processes share PostgreSQL, a bucket and the
// secret; SQLite or the store in a process's own data directory is refused with the reason,
// before anything is written.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';

function withDirs(body: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'openpan-roles-'));
  try {
    body(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('the role is all unless set, with a 30 s job lease', () => {
  withDirs((root) => {
    const config = loadConfig({ OPENPAN_DATA_DIR: join(root, 'data') });
    assert.equal(config.role, 'all');
    assert.equal(config.jobLeaseMs, 30_000);
  });
});

test('api and worker on their own SQLite database are refused, naming the reason, and write nothing', () => {
  withDirs((root) => {
    for (const role of ['api', 'worker']) {
      assert.throws(() => loadConfig({ OPENPAN_DATA_DIR: join(root, role), OPENPAN_ROLE: role }), {
        message: new RegExp(`^OPENPAN_ROLE=${role} needs a database and a content store that several processes share`),
      });
      assert.equal(existsSync(join(root, role)), false);
    }
    assert.throws(() => loadConfig({ OPENPAN_DATA_DIR: join(root, 'x'), OPENPAN_ROLE: 'leader' }), {
      message: 'OPENPAN_ROLE must be "all" or "api" or "worker", got "leader"',
    });
  });
});

test('api and worker run on PostgreSQL and a bucket, with the secret every process shares', () => {
  withDirs((root) => {
    const cluster = {
      OPENPAN_DATABASE_URL: 'postgres://openpan@127.0.0.1:5432/openpan',
      OPENPAN_STORE: 's3://drive/openpan',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000',
      OPENPAN_SECRET: 'a'.repeat(64),
    };
    for (const role of ['api', 'worker'] as const) {
      const config = loadConfig({ ...cluster, OPENPAN_DATA_DIR: join(root, role), OPENPAN_ROLE: role, OPENPAN_JOB_LEASE: '2' });
      assert.equal(config.role, role);
      assert.equal(config.jobLeaseMs, 2000);
      assert.equal(config.secret, cluster.OPENPAN_SECRET);
      assert.equal(config.store.kind, 's3');
      assert.equal(config.databaseUrl, cluster.OPENPAN_DATABASE_URL);
    }
    // Half of it is not enough: PostgreSQL with the data directory's store, or a bucket with SQLite.
    const { OPENPAN_STORE: _store, ...withoutBucket } = cluster;
    assert.throws(() => loadConfig({ ...withoutBucket, OPENPAN_DATA_DIR: join(root, 'b'), OPENPAN_ROLE: 'worker' }), /needs a database and a content store/);
    const { OPENPAN_DATABASE_URL: _url, ...withoutPostgres } = cluster;
    assert.throws(() => loadConfig({ ...withoutPostgres, OPENPAN_DATA_DIR: join(root, 'c'), OPENPAN_ROLE: 'api' }), /needs a database and a content store/);
    // Without a common secret, a token one process signs would be refused by the next.
    const { OPENPAN_SECRET: _secret, ...withoutSecret } = cluster;
    assert.throws(
      () => loadConfig({ ...withoutSecret, OPENPAN_DATA_DIR: join(root, 'd'), OPENPAN_ROLE: 'api' }),
      /^Error: OPENPAN_ROLE=api needs OPENPAN_SECRET/,
    );
  });
});
