// The BitTorrent job's file statuses, kept up to date piece by piece (file-statuses.ts): after any
// sequence of bitfield changes they equal the statuses computed from scratch, and a status once
// handed out never changes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineFileStatus } from '../../src/engines/index.js';
import { FileStatuses, type PieceBits } from '../../src/engines/bittorrent/file-statuses.js';
import { diskLayout, verifiedBytes } from '../../src/engines/bittorrent/layout.js';
import { parseTorrent, type TorrentMeta } from '../../src/torrent/index.js';
import { buildV1, type FileSpec } from '../support/torrent-builder.js';

/** bitfield@4's layout: piece p is bit 7 - p % 8 of byte p >> 3. */
class Bits implements PieceBits {
  readonly buffer: Uint8Array;
  constructor(pieces: number) {
    this.buffer = new Uint8Array(Math.ceil(pieces / 8));
  }
  get(p: number): boolean {
    return ((this.buffer[p >> 3] ?? 0) & (128 >> (p & 7))) !== 0;
  }
  set(p: number): void {
    this.buffer[p >> 3] |= 128 >> (p & 7);
  }
}

/** xorshift32, so a failure reproduces. */
function random(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** What BtJob.status() computed before file-statuses.ts, on every call. */
function fromScratch(meta: TorrentMeta, paths: string[], selected: ReadonlySet<number>, bits: PieceBits | null, jobDone: boolean) {
  const has = (p: number): boolean => bits?.get(p) ?? false;
  const files: EngineFileStatus[] = [];
  let downloaded = 0;
  let selectedSize = 0;
  for (const f of meta.files) {
    const isSelected = selected.has(f.engineIndex);
    const bytes = verifiedBytes(f, meta.pieceLength, has);
    const done = f.size === 0 ? isSelected && jobDone : bytes === f.size;
    files.push({ index: f.engineIndex, path: paths[f.engineIndex], size: f.size, selected: isSelected, downloaded: bytes, done });
    if (isSelected) {
      downloaded += bytes;
      selectedSize += f.size;
    }
  }
  return { files, downloaded, selectedSize };
}

/** A torrent of `count` files of random sizes (some empty, some over several pieces), with pad files here and there. */
function randomTorrent(rand: (n: number) => number, count: number, pieceLength: number): TorrentMeta {
  const files: FileSpec[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rand(10);
    const size = kind === 0 ? 0 : kind === 1 ? pieceLength * (1 + rand(3)) + rand(pieceLength) : 1 + rand(pieceLength);
    files.push({ path: [`d${rand(3)}`, `f${i}`], size });
    if (rand(8) === 0) files.push({ path: ['.pad', String(i)], size: 1 + rand(pieceLength), attr: 'p' });
  }
  return parseTorrent(buildV1({ name: 'random', files, pieceLength }).torrent);
}

test('after any sequence of verified pieces, pauses and the end of the job, the statuses equal those computed from scratch', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const rand = random(seed * 7919);
    const pieceLength = [16, 1024, 4096][seed % 3];
    const meta = randomTorrent(rand, 40 + rand(60), pieceLength);
    const paths = diskLayout(meta, '/job');
    const selected = new Set(meta.files.filter(() => rand(3) !== 0).map((f) => f.engineIndex));
    const statuses = new FileStatuses(meta.files, meta.pieceLength, meta.pieceCount, paths, selected);
    let bits: Bits | null = null;
    let jobDone = false;
    const handedOut: Array<{ now: ReturnType<FileStatuses['now']>; copy: string }> = [];
    for (let step = 0; step < 200; step++) {
      const action = rand(20);
      if (action === 0)
        bits = null; // before the metadata, or a bitfield not there yet
      else if (action === 1)
        bits = new Bits(meta.pieceCount); // paused and resumed: checked again from nothing
      else if (action === 2) jobDone = !jobDone;
      else if (bits !== null) for (let n = rand(4); n >= 0; n--) bits.set(rand(meta.pieceCount));
      else bits = new Bits(meta.pieceCount);
      const now = statuses.now(bits, jobDone);
      assert.deepEqual({ ...now, files: [...now.files] }, fromScratch(meta, paths, selected, bits, jobDone), `seed ${seed}, step ${step}`);
      handedOut.push({ now, copy: JSON.stringify(now) });
    }
    for (const { now, copy } of handedOut) assert.equal(JSON.stringify(now), copy, 'a status handed out earlier changed');
  }
});

test('nothing changed: the same array; a change: a new array sharing the entries of the files that did not change', () => {
  const meta = parseTorrent(
    buildV1({
      name: 't',
      pieceLength: 16,
      files: [
        { path: ['a'], size: 20 },
        { path: ['b'], size: 0 },
        { path: ['c'], size: 12 },
      ],
    }).torrent,
  );
  const selected = new Set([0, 1, 2]);
  const statuses = new FileStatuses(meta.files, meta.pieceLength, meta.pieceCount, diskLayout(meta, '/job'), selected);
  const bits = new Bits(meta.pieceCount);
  const first = statuses.now(bits, false).files;
  assert.equal(statuses.now(bits, false).files, first);
  assert.ok(first.every((f) => Object.isFrozen(f)));
  bits.set(1); // bytes 16..31: the end of a, and c
  const second = statuses.now(bits, false).files;
  assert.notEqual(second, first);
  assert.equal(second[1], first[1], 'b touches no piece of the change');
  assert.notEqual(second[0], first[0]);
  assert.deepEqual(
    second.map((f) => f.downloaded),
    [4, 0, 12],
  );
  assert.deepEqual(
    first.map((f) => f.downloaded),
    [0, 0, 0],
  );
  const done = statuses.now(bits, true).files;
  assert.equal(done[1].done, true, 'an empty selected file is done with its job');
  assert.equal(done[0], second[0]);
  assert.equal(second[1].done, false);
});

test('a bitfield object without its bytes is read piece by piece', () => {
  const meta = parseTorrent(buildV1({ name: 't', pieceLength: 16, files: [{ path: ['a'], size: 40 }] }).torrent);
  const paths = diskLayout(meta, '/job');
  const statuses = new FileStatuses(meta.files, meta.pieceLength, meta.pieceCount, paths, new Set([0]));
  const verified = new Set([0, 2]);
  const bits: PieceBits = { get: (p) => verified.has(p) };
  assert.deepEqual(statuses.now(bits, false), fromScratch(meta, paths, new Set([0]), bits, false));
  verified.delete(0);
  assert.deepEqual(statuses.now(bits, false), fromScratch(meta, paths, new Set([0]), bits, false));
});
