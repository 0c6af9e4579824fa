// The data directory's layout is an on-disk contract: directories written by earlier versions
// must keep working. These are its paths, spelt out once more on purpose.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dataDirLayout, ensureDataDir, hasDatabase } from '../../src/data-dir/index.js';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';

test('every path of the layout keeps its name', () => {
  assert.deepEqual(dataDirLayout('/srv/openpan'), {
    root: '/srv/openpan',
    database: '/srv/openpan/openpan.db',
    secret: '/srv/openpan/secret',
    blobs: '/srv/openpan/blobs',
    blobTemp: '/srv/openpan/blobs/tmp',
    uploads: '/srv/openpan/uploads',
    uploadsDone: '/srv/openpan/uploads/done',
    offline: '/srv/openpan/offline',
    offlineStaging: '/srv/openpan/offline/.staging',
    seeding: '/srv/openpan/seeding',
    lostFound: '/srv/openpan/lost+found',
    mediaCache: '/srv/openpan/media-cache',
    lock: '/srv/openpan/openpan.lock',
    lockDb: '/srv/openpan/openpan.lock.db',
  });
});

test('the store writes its temporary files where the layout says', async () => {
  const root = mkdtempSync(join(tmpdir(), 'openpan-layout-'));
  try {
    const layout = dataDirLayout(root);
    const writer = await new LocalDiskBlobStore(layout.blobs).createWriter();
    assert.ok(statSync(layout.blobTemp).isDirectory());
    await writer.abort();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ensureDataDir creates the directory for its owner only; hasDatabase looks for the database', () => {
  const parent = mkdtempSync(join(tmpdir(), 'openpan-layout-'));
  try {
    const root = join(parent, 'data');
    const layout = ensureDataDir(root);
    assert.equal(statSync(root).mode & 0o777, 0o700);
    assert.equal(hasDatabase(root), false);
    writeFileSync(layout.database, '');
    assert.equal(hasDatabase(root), true);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
