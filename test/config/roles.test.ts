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
