import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlockHasher, blockCount, blocksOfPiece, combineBlockDigests, EtagTracker, piecesOfBlock, type TrackedFile } from '../../src/offline/etag-tracker.js';
import { ETAG_BLOCK } from '../../src/store/etag.js';

const MiB = 1024 * 1024;
const KiB = 1024;

/** The etag of docs/spec/UPLOAD.md, computed independently of src/store/etag.ts. */
function referenceEtag(data: Buffer): string {
  const sha1 = (b: Buffer): Buffer => createHash('sha1').update(b).digest();
  if (data.length <= ETAG_BLOCK) return Buffer.concat([Buffer.from([0x16]), sha1(data)]).toString('base64url');
  const digests: Buffer[] = [];
  for (let at = 0; at < data.length; at += ETAG_BLOCK) digests.push(sha1(data.subarray(at, at + ETAG_BLOCK)));
  return Buffer.concat([Buffer.from([0x96]), sha1(Buffer.concat(digests))]).toString('base64url');
}

/** A layout: files (some of them tracked) laid end to end in a piece stream, optionally piece-aligned by pad files. */
interface Layout {
  files: Array<TrackedFile & { data: Buffer; tracked: boolean }>;
  pieceLength: number;
  length: number;
}

function layout(sizes: number[], pieceLength: number, opts: { pad?: boolean; untracked?: number[]; startAt?: number } = {}): Layout {
  let offset = opts.startAt ?? 0;
  const files: Layout['files'] = [];
  sizes.forEach((size, i) => {
    files.push({ index: i * 2, path: `/f${i}`, size, offset, data: randomBytes(size), tracked: !(opts.untracked ?? []).includes(i) });
    offset += size;
    if (opts.pad === true && offset % pieceLength !== 0) offset += pieceLength - (offset % pieceLength); // a pad file
  });
  return { files, pieceLength, length: offset };
}

/**
 * Feeds every piece of the layout in `order` to a tracker whose hasher hashes the in-memory bytes
 * and checks, at each request, that every byte of the range lies in an already reported piece.
 */
async function run(l: Layout, order: number[], repeat = false): Promise<Map<number, string | null>> {
  const reported = new Set<number>();
  const requests = new Map<string, number>();
  const byPath = new Map(l.files.map((f) => [f.path, f]));
  const hasher = {
    hash: async (path: string, start: number, end: number): Promise<Buffer> => {
      const f = byPath.get(path) as Layout['files'][number];
      assert.ok(f.tracked, `untracked file ${path} hashed`);
      assert.ok(start < end && end <= f.size && start % ETAG_BLOCK === 0, `bad range ${start}-${end} of ${f.size}`);
      assert.ok(end === f.size || end - start === ETAG_BLOCK, 'blocks are 4 MiB but the last');
      for (let b = start; b < end; b += 997)
        assert.ok(reported.has(Math.floor((f.offset + b) / l.pieceLength)), `byte ${b} of ${path} hashed before its piece`);
      assert.ok(reported.has(Math.floor((f.offset + end - 1) / l.pieceLength)));
      const key = `${path}:${start}`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
      await new Promise((r) => setImmediate(r));
      return createHash('sha1').update(f.data.subarray(start, end)).digest();
    },
  };
  const tracked = l.files.filter((f) => f.tracked);
  const tracker = new EtagTracker(tracked, l.pieceLength, hasher);
  for (const p of order) {
    reported.add(p);
    tracker.pieceVerified(p);
    if (repeat) tracker.pieceVerified(p);
  }
  for (const n of requests.values()) assert.equal(n, 1, 'each block is hashed once');
  const out = new Map<number, string | null>();
  for (const f of tracked) out.set(f.index, (await tracker.etag(f.index))?.etag ?? null);
  return out;
}

function shuffled(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let x = seed;
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

async function checkAll(l: Layout, seed: number): Promise<void> {
  const pieces = Math.ceil(l.length / l.pieceLength);
  for (const order of [shuffled(pieces, seed), [...Array(pieces).keys()].reverse()]) {
    const etags = await run(l, order, seed % 2 === 0);
    for (const f of l.files.filter((x) => x.tracked))
      assert.equal(etags.get(f.index), referenceEtag(f.data), `file ${f.index} (${f.size} bytes at ${f.offset})`);
  }
}

describe('etag tracker: block ↔ piece mapping', () => {
  it('counts blocks', () => {
    assert.equal(blockCount(0), 0);
    assert.equal(blockCount(1), 1);
    assert.equal(blockCount(ETAG_BLOCK), 1);
    assert.equal(blockCount(ETAG_BLOCK + 1), 2);
  });

  it('maps a file at an odd offset both ways', () => {
    const file = { offset: 3 * MiB + 5, size: 9 * MiB };
    const pl = 256 * KiB;
    assert.deepEqual(piecesOfBlock(file, pl, 0), [Math.floor(file.offset / pl), Math.floor((file.offset + ETAG_BLOCK - 1) / pl)]);
    assert.deepEqual(piecesOfBlock(file, pl, 2), [Math.floor((file.offset + 8 * MiB) / pl), Math.floor((file.offset + 9 * MiB - 1) / pl)]);
    assert.equal(blocksOfPiece(file, pl, 0), null);
    assert.deepEqual(blocksOfPiece(file, pl, Math.floor(file.offset / pl)), [0, 0]);
    // A piece larger than a block covers several blocks.
    assert.deepEqual(blocksOfPiece(file, 16 * MiB, 0), [0, 2]);
    // Consistency: piece p touches block k ⇔ p ∈ piecesOfBlock(k).
    for (const p of [1, 4, 16, 28, 40, 47, 60]) {
      const blocks = blocksOfPiece(file, pl, p);
      for (let k = 0; k < blockCount(file.size); k++) {
        const [a, b] = piecesOfBlock(file, pl, k);
        const touches = blocks !== null && k >= blocks[0] && k <= blocks[1];
        assert.equal(touches, p >= a && p <= b, `piece ${p} block ${k}`);
      }
    }
  });

  it('combines digests like an independent computation', () => {
    for (const size of [0, 1, ETAG_BLOCK, ETAG_BLOCK + 1, 3 * ETAG_BLOCK + 17]) {
      const data = randomBytes(size);
      const digests: Buffer[] = [];
      for (let k = 0; k < blockCount(size); k++)
        digests.push(
          createHash('sha1')
            .update(data.subarray(k * ETAG_BLOCK, (k + 1) * ETAG_BLOCK))
            .digest(),
        );
      assert.equal(combineBlockDigests(digests), referenceEtag(data), `size ${size}`);
    }
  });
});

describe('etag tracker: out-of-order pieces', () => {
  it('single file, not a multiple of the piece length', () => checkAll(layout([9 * MiB + 12345], 256 * KiB), 1));
  it('single file exactly one block, pieces larger than blocks', () => checkAll(layout([ETAG_BLOCK], 16 * MiB), 2));
  it('pieces larger than blocks, several files', () => checkAll(layout([5 * MiB + 3, 17, 11 * MiB + 1], 8 * MiB), 3));
  it('multi-file, files not aligned to pieces, some not tracked', () =>
    checkAll(layout([1 * MiB + 7, 6 * MiB + 1, 300, 0, 4 * MiB, 8 * MiB + 99, 513 * KiB], 512 * KiB, { untracked: [1, 5] }), 4));
  it('pad files align every file to a piece', () => checkAll(layout([3 * MiB + 1, 5 * MiB + 333, 1, 4 * MiB - 1], 1 * MiB, { pad: true }), 5));
  it('files smaller than a piece, and empty files', () => checkAll(layout([10, 0, 4000, 0, 70 * KiB, 1], 64 * KiB), 6));
  it('a torrent starting with a pad', () => checkAll(layout([2 * MiB, 9 * MiB], 1 * MiB, { startAt: 3 * MiB }), 7));

  it('has no etag until every block was reported', async () => {
    const l = layout([9 * MiB], 1 * MiB);
    const etags = await run(l, [0, 1, 2, 3, 4, 5, 6, 7]); // the last piece never comes (a restart's check)
    assert.equal(etags.get(0), null);
  });

  it('has no etag when a block could not be hashed', async () => {
    const l = layout([9 * MiB], 1 * MiB);
    const tracker = new EtagTracker(l.files, l.pieceLength, { hash: async () => Promise.reject(new Error('gone')) });
    for (let p = 0; p < 9; p++) tracker.pieceVerified(p);
    assert.equal(await tracker.etag(0), null);
    assert.equal(await tracker.etag(99), null);
  });

  it('has no etag once the engine discarded data it had reported, even when every piece comes again', async () => {
    // The first pass hashes bytes that a restarted transfer then rewrites: none of its digests,
    // and none taken after, may name the final file (src/store/README.md).
    const l = layout([9 * MiB], 1 * MiB);
    const digest = (b: Buffer) => createHash('sha1').update(b).digest();
    const tracker = new EtagTracker(l.files, l.pieceLength, { hash: async (_p, start, end) => digest(l.files[0].data.subarray(start, end)) });
    for (let p = 0; p < 9; p++) tracker.pieceVerified(p);
    assert.equal((await tracker.etag(0))?.etag, referenceEtag(l.files[0].data), 'one clean pass: the etag');
    tracker.discard();
    assert.equal(tracker.complete(0), false);
    for (let p = 0; p < 9; p++) tracker.pieceVerified(p);
    assert.equal(await tracker.etag(0), null);
  });

  it('a discard while the last blocks are being hashed voids them too', async () => {
    const l = layout([9 * MiB], 1 * MiB);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tracker = new EtagTracker(l.files, l.pieceLength, {
      hash: async (_p, start, end) => {
        await gate;
        return createHash('sha1').update(l.files[0].data.subarray(start, end)).digest();
      },
    });
    for (let p = 0; p < 9; p++) tracker.pieceVerified(p);
    const pending = tracker.etag(0);
    tracker.discard();
    release();
    assert.equal(await pending, null);
  });
});

describe('etag tracker: the hashing thread', () => {
  let dir: string;
  const hasher = new BlockHasher();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openpan-etag-'));
  });
  after(async () => {
    await hasher.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('hashes ranges of a real file, and the tracker yields its etag', async () => {
    const data = randomBytes(13 * MiB + 4321);
    const path = join(dir, 'file.bin');
    await writeFile(path, data);
    assert.deepEqual(
      await hasher.hash(path, 5, 1 * MiB + 7),
      createHash('sha1')
        .update(data.subarray(5, 1 * MiB + 7))
        .digest(),
    );
    const pl = 512 * KiB;
    const tracker = new EtagTracker([{ index: 3, path, size: data.length, offset: 100 }], pl, hasher);
    for (const p of shuffled(Math.ceil((data.length + 100) / pl), 9)) tracker.pieceVerified(p);
    assert.ok(tracker.complete(3));
    assert.deepEqual(await tracker.etag(3), { etag: referenceEtag(data), size: data.length });
  });

  it('reports a missing file as an error, and keeps working', async () => {
    await assert.rejects(hasher.hash(join(dir, 'nope'), 0, 10));
    const path = join(dir, 'short.bin');
    await writeFile(path, Buffer.alloc(10));
    await assert.rejects(hasher.hash(path, 0, 20));
    assert.deepEqual(await hasher.hash(path, 0, 10), createHash('sha1').update(Buffer.alloc(10)).digest());
  });
});
