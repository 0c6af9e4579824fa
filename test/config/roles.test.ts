// OPENPAN_ROLE and what it needs: api and worker processes share a database, and SQLite in a
// process's own data directory is refused with the reason, before anything is written.
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
    assert.equal(config.sharedDir, null);
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
      const config = loadConfig({ ...cluster, OPENPAN_DATA_DIR: join(root, role), OPENPAN_ROLE: role });
      assert.equal(config.role, role);
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

test('the test-only shared directory carries the roles, and is refused for a single process', () => {
  withDirs((root) => {
    const shared = join(root, 'shared');
    const worker = loadConfig({ OPENPAN_DATA_DIR: join(root, 'w'), OPENPAN_ROLE: 'worker', OPENPAN_TEST_SHARED_DIR: shared, OPENPAN_JOB_LEASE: '2' });
    assert.equal(worker.role, 'worker');
    assert.equal(worker.sharedDir, shared);
    assert.equal(worker.jobLeaseMs, 2000);
    // Every process of the test signs with the shared directory's secret.
    const api = loadConfig({ OPENPAN_DATA_DIR: join(root, 'a'), OPENPAN_ROLE: 'api', OPENPAN_TEST_SHARED_DIR: shared });
    assert.equal(api.secret, worker.secret);
    assert.throws(
      () => loadConfig({ OPENPAN_DATA_DIR: join(root, 'all'), OPENPAN_TEST_SHARED_DIR: shared }),
      /OPENPAN_TEST_SHARED_DIR is for tests of OPENPAN_ROLE=api and worker/,
    );
  });
});
