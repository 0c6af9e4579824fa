import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mock, test } from 'node:test';
import { isAppError } from '../../src/errors.js';
import { EtagMismatch } from '../../src/store/blob-store.js';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';
import { blobStoreConformance, readAll, referenceEtag } from '../support/blob-store-conformance.js';

async function tempStore() {
  const root = await mkdtemp(join(tmpdir(), 'openpan-blobs-'));
  const store = new LocalDiskBlobStore(root);
  return {
    root,
    store,
    tempFiles: async () => readdir(join(root, 'tmp')).catch(() => []),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

blobStoreConformance('LocalDiskBlobStore', tempStore);

test('content lives at <root>/<2 chars>/<next 2 chars>/<etag> and the temp dir is empty after commit', async () => {
  const { root, store, tempFiles, cleanup } = await tempStore();
  try {
    const data = Buffer.from('sharded');
    const writer = await store.createWriter();
    await writer.write(data);
    const { etag } = await writer.commit();
    const expected = join(root, etag.slice(0, 2), etag.slice(2, 4), etag);
    assert.equal(store.contentPath(etag), expected);
    assert.equal((await stat(expected)).size, data.length);
    assert.deepEqual(await tempFiles(), []);
  } finally {
    await cleanup();
  }
});

test('content already stored under an etag: an incoming file of another size that lies is refused, a stored copy that lies is replaced', async () => {
  const { root, store, cleanup } = await tempStore();
  try {
    const data = randomBytes(5000);
    const genuine = join(root, 'genuine.bin');
    await writeFile(genuine, data);
    const { etag } = await store.importFile(genuine);
    // An incoming file that claims the etag with other bytes of another size: refused, left where it is.
    const liar = join(root, 'liar.bin');
    await writeFile(liar, randomBytes(4000));
    await assert.rejects(store.adoptFile(liar, { etag, size: 4000 }), (err: unknown) => err instanceof EtagMismatch);
    assert.equal((await stat(liar)).size, 4000);
    assert.deepEqual(await readFile(store.contentPath(etag)), data);
    // A damaged stored copy (another size, not hashing to its etag) gives way to genuine bytes.
    await writeFile(store.contentPath(etag), randomBytes(3000));
    await writeFile(genuine, data);
    assert.deepEqual(await store.importFile(genuine), { etag, size: data.length });
    assert.deepEqual(await readFile(store.contentPath(etag)), data);
    await assert.rejects(stat(genuine), { code: 'ENOENT' });
  } finally {
    await cleanup();
  }
});

test('a writer keeps its bytes in <root>/tmp until commit', async () => {
  const { root, store, tempFiles, cleanup } = await tempStore();
  try {
    const writer = await store.createWriter();
    await writer.write(Buffer.from('partial'));
    const temps = await tempFiles();
    assert.equal(temps.length, 1);
    assert.equal(await readFile(join(root, 'tmp', temps[0]), 'utf8'), 'partial');
    await writer.abort();
  } finally {
    await cleanup();
  }
});

test('sweepTemp deletes temp files idle longer than maxAgeMs, keeps newer ones, and counts them', async () => {
  const { root, store, tempFiles, cleanup } = await tempStore();
  try {
    const fresh = await store.createWriter();
    await fresh.write(Buffer.from('fresh'));
    const crashed = await store.createWriter();
    await crashed.write(Buffer.from('left by a crash'));
    // Two temp files; make one of them look two days old.
    const [abandoned] = await tempFiles();
    const old = join(root, 'tmp', abandoned);
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(old, twoDaysAgo, twoDaysAgo);

    assert.equal(await store.sweepTemp(24 * 3600 * 1000), 1);
    const left = await tempFiles();
    assert.equal(left.length, 1);
    assert.notEqual(left[0], abandoned);
    await fresh.abort();
    await crashed.abort();
  } finally {
    await cleanup();
  }
});

test('sweepTemp on a store that never wrote anything removes nothing', async () => {
  const { store, cleanup } = await tempStore();
  try {
    assert.equal(await store.sweepTemp(0), 0);
  } finally {
    await cleanup();
  }
});

test('list ignores the temp dir and stray files that are not etags', async () => {
  const { root, store, cleanup } = await tempStore();
  try {
    const writer = await store.createWriter();
    await writer.write(Buffer.from('real'));
    const { etag } = await writer.commit();
    await writeFile(join(root, etag.slice(0, 2), etag.slice(2, 4), 'notes.txt'), 'stray');
    await writeFile(join(root, 'tmp', 'Fto5o-5ea0sNMlW_75VgGJCv2AcJ'), 'temp with an etag-like name');
    const listed: string[] = [];
    for await (const e of store.list()) listed.push(e);
    assert.deepEqual(listed, [etag]);
  } finally {
    await cleanup();
  }
});

test('importFile from another filesystem falls back to copy, and the source is gone', { skip: !(await isSeparateFilesystem('/dev/shm')) }, async () => {
  const { store, cleanup } = await tempStore();
  const dir = await mkdtemp('/dev/shm/openpan-import-');
  try {
    const data = randomBytes(5 * 1024 * 1024);
    const source = join(dir, 'other-fs.bin');
    await writeFile(source, data);
    const info = await store.importFile(source);
    assert.deepEqual(info, { etag: referenceEtag(data), size: data.length });
    await assert.rejects(stat(source), { code: 'ENOENT' });
    assert.deepEqual(await readAll(await store.read(info.etag)), data);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await cleanup();
  }
});

test('a full disk (ENOSPC) while writing is DISK_FULL, and abort still removes the temp file', async () => {
  const { store, tempFiles, cleanup } = await tempStore();
  // FileHandle is not exported: reach its prototype through an instance.
  const probe = await open(join(tmpdir(), `openpan-probe-${process.pid}`), 'w');
  const fileHandleProto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
  await probe.close();
  await rm(join(tmpdir(), `openpan-probe-${process.pid}`), { force: true });
  const diskFull = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const writeMock = mock.method(fileHandleProto, 'write', async () => {
    throw diskFull;
  });
  try {
    const writer = await store.createWriter();
    await assert.rejects(writer.write(Buffer.from('does not fit')), (err: unknown) => isAppError(err) && err.code === 'DISK_FULL' && err.status === 503);
    await assert.rejects(writer.commit(), (err: unknown) => isAppError(err) && err.code === 'DISK_FULL');
    writeMock.mock.restore();
    await writer.abort();
    assert.deepEqual(await tempFiles(), []);
  } finally {
    writeMock.mock.restore();
    await cleanup();
  }
});

async function isSeparateFilesystem(dir: string): Promise<boolean> {
  try {
    const [a, b] = await Promise.all([stat(dir), stat(tmpdir())]);
    return a.dev !== b.dev;
  } catch {
    return false;
  }
}
