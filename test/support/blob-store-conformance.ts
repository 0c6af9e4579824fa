// Behaviours every BlobStore driver must have. A driver's test file calls blobStoreConformance
// with a factory; each test gets a fresh, empty store and cleans it up.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { test } from 'node:test';
import { isAppError } from '../../src/errors.js';
import type { BlobStore, BlobWriter } from '../../src/store/blob-store.js';

export interface StoreUnderTest {
  store: BlobStore;
  cleanup(): Promise<void>;
  /** Names of the driver's temporary files, when it has any to inspect (local disk does). */
  tempFiles?(): Promise<string[]>;
}

const MiB = 1024 * 1024;
const BLOCK = 4 * MiB;
const EMPTY_ETAG = 'Fto5o-5ea0sNMlW_75VgGJCv2AcJ';

/** The etag of docs/spec/UPLOAD.md, written out from its definition (independent of src/store/etag.ts). */
export function referenceEtag(data: Uint8Array): string {
  const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest();
  if (data.length <= BLOCK) return Buffer.concat([Buffer.from([0x16]), sha1(data)]).toString('base64url');
  const blockDigests: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += BLOCK) blockDigests.push(sha1(data.subarray(offset, offset + BLOCK)));
  return Buffer.concat([Buffer.from([0x96]), sha1(Buffer.concat(blockDigests))]).toString('base64url');
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Writes in odd-sized chunks so block boundaries fall inside chunks. */
async function writeInChunks(writer: BlobWriter, data: Buffer, chunkSize = 64 * 1024 + 7): Promise<void> {
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    await writer.write(data.subarray(offset, offset + chunkSize));
  }
}

async function put(store: BlobStore, data: Buffer) {
  const writer = await store.createWriter();
  await writeInChunks(writer, data);
  return writer.commit();
}

function hasCode(code: string) {
  return (err: unknown) => isAppError(err) && err.code === code;
}

export function blobStoreConformance(name: string, make: () => Promise<StoreUnderTest>): void {
  /** Runs body against a fresh store and always cleans it up. */
  function withStore(title: string, body: (t: StoreUnderTest) => Promise<void>): void {
    test(`${name}: ${title}`, async () => {
      const subject = await make();
      try {
        await body(subject);
      } finally {
        await subject.cleanup();
      }
    });
  }

  test(`${name}: the reference etag of empty content is the one UPLOAD.md gives`, () => {
    assert.equal(referenceEtag(Buffer.alloc(0)), EMPTY_ETAG);
  });

  for (const size of [0, 1, BLOCK, BLOCK + 1, 9 * MiB]) {
    withStore(`write + commit of ${size} bytes returns the UPLOAD.md etag and stores exactly those bytes`, async ({ store }) => {
      const data = randomBytes(size);
      const info = await put(store, data);
      assert.deepEqual(info, { etag: referenceEtag(data), size });
      assert.equal(await store.exists(info.etag), true);
      assert.equal(await store.size(info.etag), size);
      assert.deepEqual(await readAll(await store.read(info.etag)), data);
    });
  }

  withStore('the same content written twice is stored once', async ({ store, tempFiles }) => {
    const data = randomBytes(BLOCK + 3);
    const first = await put(store, data);
    const second = await put(store, data);
    assert.deepEqual(second, first);
    assert.deepEqual(await collect(store.list()), [first.etag]);
    assert.deepEqual(await readAll(await store.read(first.etag)), data);
    if (tempFiles) assert.deepEqual(await tempFiles(), []);
  });

  withStore('two writers committing the same content at once both succeed with one stored copy', async ({ store }) => {
    const data = randomBytes(MiB);
    const [a, b] = await Promise.all([put(store, data), put(store, data)]);
    assert.deepEqual(a, b);
    assert.deepEqual(await collect(store.list()), [a.etag]);
    assert.deepEqual(await readAll(await store.read(a.etag)), data);
  });

  withStore('commit is idempotent: a second call returns the same result', async ({ store }) => {
    const writer = await store.createWriter();
    await writer.write(Buffer.from('hello'));
    const first = await writer.commit();
    assert.deepEqual(await writer.commit(), first);
    assert.equal(first.etag, referenceEtag(Buffer.from('hello')));
  });

  withStore('chunks written without awaiting each one are stored in call order', async ({ store }) => {
    const data = randomBytes(3 * 100_000);
    const writer = await store.createWriter();
    await Promise.all([0, 1, 2].map((i) => writer.write(data.subarray(i * 100_000, (i + 1) * 100_000))));
    const info = await writer.commit();
    assert.equal(info.etag, referenceEtag(data));
    assert.deepEqual(await readAll(await store.read(info.etag)), data);
  });

  withStore('abort leaves nothing behind, can be called twice, and the writer refuses more bytes', async ({ store, tempFiles }) => {
    const writer = await store.createWriter();
    const data = randomBytes(MiB);
    await writer.write(data);
    await writer.abort();
    await writer.abort();
    await assert.rejects(writer.write(Buffer.from('more')));
    assert.equal(await store.exists(referenceEtag(data)), false);
    assert.deepEqual(await collect(store.list()), []);
    if (tempFiles) assert.deepEqual(await tempFiles(), []);
  });

  withStore('abort after commit keeps the committed content', async ({ store }) => {
    const writer = await store.createWriter();
    await writer.write(Buffer.from('kept'));
    const info = await writer.commit();
    await writer.abort();
    assert.equal(await store.exists(info.etag), true);
  });

  withStore('read of a range returns exactly bytes start..end inclusive', async ({ store }) => {
    const data = randomBytes(9 * MiB);
    const { etag } = await put(store, data);
    const ranges: Array<[number, number]> = [
      [0, 0],
      [100, 199],
      [BLOCK - 10, BLOCK + 10],
      [5, data.length - 1],
      [data.length - 1, data.length - 1],
      [0, data.length - 1],
    ];
    for (const [start, end] of ranges) {
      const got = await readAll(await store.read(etag, { start, end }));
      assert.equal(got.length, end - start + 1, `length of ${start}-${end}`);
      assert.ok(got.equals(data.subarray(start, end + 1)), `bytes of ${start}-${end}`);
    }
  });

  withStore('read of a range outside the content is RANGE_NOT_SATISFIABLE', async ({ store }) => {
    const { etag, size } = await put(store, randomBytes(1000));
    await assert.rejects(store.read(etag, { start: size, end: size }), hasCode('RANGE_NOT_SATISFIABLE'));
    await assert.rejects(store.read(etag, { start: 10, end: size }), hasCode('RANGE_NOT_SATISFIABLE'));
    await assert.rejects(store.read(etag, { start: 10, end: 9 }), hasCode('RANGE_NOT_SATISFIABLE'));
    const empty = await put(store, Buffer.alloc(0));
    await assert.rejects(store.read(empty.etag, { start: 0, end: 0 }), hasCode('RANGE_NOT_SATISFIABLE'));
  });

  withStore('content that is not stored: exists false, size null, read FILE_NOT_FOUND', async ({ store }) => {
    const etag = referenceEtag(Buffer.from('never stored'));
    assert.equal(await store.exists(etag), false);
    assert.equal(await store.size(etag), null);
    await assert.rejects(store.read(etag), hasCode('FILE_NOT_FOUND'));
  });

  withStore('a string that is not an etag is refused with HASH_INVALID before touching storage', async ({ store }) => {
    for (const bad of ['../../../../etc/passwd', '', 'Fto5o-5ea0sNMlW_75VgGJCv2AcJ/..', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      await assert.rejects(store.read(bad), hasCode('HASH_INVALID'), bad);
      await assert.rejects(store.exists(bad), hasCode('HASH_INVALID'), bad);
      await assert.rejects(store.size(bad), hasCode('HASH_INVALID'), bad);
      await assert.rejects(store.delete(bad), hasCode('HASH_INVALID'), bad);
    }
  });

  withStore('delete removes the content and is idempotent', async ({ store }) => {
    const kept = await put(store, Buffer.from('kept'));
    const gone = await put(store, Buffer.from('gone'));
    await store.delete(gone.etag);
    await store.delete(gone.etag);
    assert.equal(await store.exists(gone.etag), false);
    await assert.rejects(store.read(gone.etag), hasCode('FILE_NOT_FOUND'));
    assert.deepEqual(await collect(store.list()), [kept.etag]);
  });

  withStore('a stream opened before delete still yields every byte', async ({ store }) => {
    const data = randomBytes(2 * MiB);
    const { etag } = await put(store, data);
    const stream = await store.read(etag);
    await store.delete(etag);
    assert.deepEqual(await readAll(stream), data);
  });

  withStore('list yields every stored etag once, and nothing for an empty store', async ({ store }) => {
    assert.deepEqual(await collect(store.list()), []);
    const etags = [];
    for (let i = 0; i < 20; i++) etags.push((await put(store, Buffer.from(`content ${i}`))).etag);
    const pending = await store.createWriter(); // an unfinished write is not content
    await pending.write(Buffer.from('unfinished'));
    assert.deepEqual((await collect(store.list())).sort(), etags.sort());
    await pending.abort();
  });

  withStore('importFile takes the file away and stores it under its etag', async ({ store }) => {
    const dir = await mkdtemp(join(tmpdir(), 'openpan-import-'));
    try {
      const data = randomBytes(BLOCK + 123);
      const source = join(dir, 'downloaded.bin');
      await writeFile(source, data);
      const info = await store.importFile(source);
      assert.deepEqual(info, { etag: referenceEtag(data), size: data.length });
      await assert.rejects(stat(source), { code: 'ENOENT' });
      assert.deepEqual(await readAll(await store.read(info.etag)), data);

      // Importing content that is already stored drops the duplicate.
      await writeFile(source, data);
      assert.deepEqual(await store.importFile(source), info);
      await assert.rejects(stat(source), { code: 'ENOENT' });
      assert.deepEqual(await collect(store.list()), [info.etag]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  withStore('adoptFile (when the driver has it) stores the file under the given etag without a copy', async ({ store, tempFiles }) => {
    if (!store.adoptFile) return;
    const dir = await mkdtemp(join(tmpdir(), 'openpan-adopt-'));
    try {
      const data = randomBytes(2 * BLOCK + 5);
      const source = join(dir, 'assembled.bin');
      await writeFile(source, data);
      const info = { etag: referenceEtag(data), size: data.length };
      assert.deepEqual(await store.adoptFile(source, info), info);
      await assert.rejects(stat(source), { code: 'ENOENT' });
      assert.deepEqual(await readAll(await store.read(info.etag)), data);
      assert.equal(await store.size(info.etag), data.length);

      // Adopting content that is already stored drops the duplicate.
      await writeFile(source, data);
      assert.deepEqual(await store.adoptFile(source, info), info);
      await assert.rejects(stat(source), { code: 'ENOENT' });
      assert.deepEqual(await collect(store.list()), [info.etag]);
      if (tempFiles) assert.deepEqual(await tempFiles(), []);

      // A size that does not match the file, or a malformed etag, is refused and stores nothing.
      const other = randomBytes(100);
      await writeFile(source, other);
      await assert.rejects(store.adoptFile(source, { etag: referenceEtag(other), size: 99 }));
      await assert.rejects(store.adoptFile(source, { etag: 'not-an-etag', size: 100 }), hasCode('HASH_INVALID'));
      assert.equal(await store.exists(referenceEtag(other)), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  withStore('importFile of an empty file gives the empty etag', async ({ store }) => {
    const dir = await mkdtemp(join(tmpdir(), 'openpan-import-'));
    try {
      const source = join(dir, 'empty');
      await writeFile(source, '');
      assert.deepEqual(await store.importFile(source), { etag: EMPTY_ETAG, size: 0 });
      assert.equal(await store.size(EMPTY_ETAG), 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  withStore('sweepTemp leaves writers that are still fresh alone', async ({ store }) => {
    const writer = await store.createWriter();
    await writer.write(Buffer.from('in progress'));
    assert.equal(await store.sweepTemp(60 * 60 * 1000), 0);
    await writer.write(Buffer.from(', still'));
    const info = await writer.commit();
    assert.equal(info.etag, referenceEtag(Buffer.from('in progress, still')));
  });
}
