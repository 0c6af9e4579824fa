// Over 400 lines, whole on purpose: the write-once assembly of one upload (parts, the binary
// map of what is written, the final commit) shares one set of files and one crash-recovery rule;
// split apart, each piece would have to restate that rule.
import { createHash, type Hash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid } from './invalid.js';
import { ETAG_BLOCK } from '../store/etag.js';
import { STRIDE_UNIT, placeable, type Placement } from './ctx.js';

// Assembly files: blocks sent with a blockOrder are written straight into one file per upload,
// `<uploads>/asm-<id>`, at order × stride, so that mkfile can move that file into the store
// instead of copying every byte again. Next to it, `asm-<id>.map` records who owns each
// position and, once a block's bytes were all hashed by the server in one pass, their SHA-1
// per 4 MiB sub-block:
//
//   map    = header:16 ‖ record[0] ‖ record[1] ‖ ...
//   header = "OPASM" 1 ‖ strideUnits:1 ‖ 0:9
//   record = blockId:16 ‖ digestCount:1 ‖ 0:3 ‖ digest:20 × strideUnits   (all zero: free)
//
// Rules that keep mkfile's etag equal to the bytes it stores:
// - A position is claimed once (by a fresh blockId, under a per-assembly mutex); a block sent
//   again at a claimed order gets a file of its own. So a region only ever holds the bytes of
//   the block whose id its record names; a ctx is honoured only while that record names it.
// - A record's digests are written only after the server hashed the whole block itself in
//   order; any later write into the region (a re-sent chunk) first erases them durably.
// - The map goes before the data: mkfile and the sweep delete the map (and fsync the
//   directory) before the data file is moved or deleted; a data file created anew gets a
//   new, empty map. A record can therefore never outlive the bytes it describes.
// - Claims, digests and bytes are synced before the ctx that names them is answered.
// - Writers register with the assembly; mkfile excludes them (in-process: one upload service
//   owns its uploads directory) and waits for those in flight before it reads or moves it.

const MAGIC = Buffer.from('OPASM\x01', 'latin1');
const HEADER_BYTES = 16;
const RECORD_HEAD = 20;
const DIGEST_BYTES = 20;
import { errnoOf, fsyncDirectory } from '../store/fs-util.js';

const ZERO_ID = '0'.repeat(32);
export const ASM_RE = /^asm-[0-9a-f]{32}$/;
export const ASM_MAP_RE = /^asm-[0-9a-f]{32}\.map$/;

/** SHA-1 per 4 MiB sub-block of one block, fed in order from the block's first byte. */
export class SubblockHasher {
  private sub: Hash = createHash('sha1');
  private fill = 0;
  private readonly done: Buffer[] = [];
  /** Bytes of the block hashed so far. */
  offset = 0;

  update(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.fill === ETAG_BLOCK) this.close();
      const take = Math.min(ETAG_BLOCK - this.fill, chunk.length - at);
      this.sub.update(at === 0 && take === chunk.length ? chunk : chunk.subarray(at, at + take));
      this.fill += take;
      at += take;
    }
    this.offset += chunk.length;
  }

  /** Whether the next byte starts a sub-block (its SHA-1 state is fresh or about to be). */
  get atBoundary(): boolean {
    return this.fill === 0 || this.fill === ETAG_BLOCK;
  }

  /** A copy of the current sub-block's hash state (the bytes hashed since its start). */
  copySub(): Hash {
    return this.sub.copy();
  }

  /** The digests of every sub-block; the hasher is finished afterwards. */
  finish(): Buffer[] {
    if (this.fill > 0 || this.done.length === 0) this.close();
    return this.done;
  }

  private close(): void {
    this.done.push(this.sub.digest());
    this.sub = createHash('sha1');
    this.fill = 0;
  }
}

export function subblockCount(size: number): number {
  return Math.max(1, Math.ceil(size / ETAG_BLOCK));
}

/** The etag of docs/spec/UPLOAD.md from the SHA-1 of every 4 MiB sub-block of the content, in order. */
export function etagFromDigests(digests: Buffer[]): string {
  if (digests.length === 1) return Buffer.concat([Buffer.from([0x16]), digests[0]]).toString('base64url');
  const combined = createHash('sha1').update(Buffer.concat(digests)).digest();
  return Buffer.concat([Buffer.from([0x96]), combined]).toString('base64url');
}

export interface AsmRecord {
  blockId: string;
  /** The block's sub-block digests, when the server hashed all of its bytes in one pass. */
  digests: Buffer[] | null;
}

interface AsmState {
  writers: number;
  closing: boolean;
  drained: Array<() => void>;
  /** Serializes creation and claims. */
  mutex: Promise<unknown>;
  /** Serializes writes to one position (a re-sent chunk waits for the first). */
  positions: Map<number, Promise<unknown>>;
}

/** An open assembly for one write into one position. */
export interface AsmWrite {
  data: FileHandle;
  map: FileHandle;
  stride: number;
  release(): Promise<void>;
}

export class Assemblies {
  private readonly live = new Map<string, AsmState>();

  constructor(
    private readonly dir: string,
    private readonly maxBlocks: number,
  ) {}

  /** The assembly of an upload token (one token, one file). */
  nameFor(token: string): string {
    return 'asm-' + createHash('sha256').update('openpan upload assembly\n').update(token).digest('hex').slice(0, 32);
  }

  dataPath(name: string): string {
    return join(this.dir, name);
  }

  mapPath(name: string): string {
    return join(this.dir, name + '.map');
  }

  /** Whether an assembly has writers or a mkfile in this process (the sweep leaves it alone). */
  busy(name: string): boolean {
    return this.live.has(name);
  }

  private state(name: string): AsmState {
    let s = this.live.get(name);
    if (!s) {
      s = { writers: 0, closing: false, drained: [], mutex: Promise.resolve(), positions: new Map() };
      this.live.set(name, s);
    }
    return s;
  }

  private forget(name: string, s: AsmState): void {
    if (s.writers === 0 && !s.closing && s.positions.size === 0 && this.live.get(name) === s) this.live.delete(name);
  }

  private serial<T>(s: AsmState, fn: () => Promise<T>): Promise<T> {
    const run = s.mutex.then(fn, fn);
    s.mutex = run.catch(() => undefined);
    return run;
  }

  /**
   * Claims position `order` for a new block, creating the assembly when needed. Null when the
   * block cannot be placed (position taken, size does not fit the stride, mkfile running):
   * it then goes to a file of its own, as blocks without an order do.
   */
  async claim(name: string, order: number, blockSize: number, blockId: string): Promise<AsmWrite | null> {
    if (!Number.isSafeInteger(order) || order < 0 || order >= this.maxBlocks) return null;
    const s = this.state(name);
    if (s.closing) return null;
    s.writers++;
    let result: AsmWrite | null = null;
    try {
      const wantStride = blockSize % STRIDE_UNIT === 0 ? blockSize : STRIDE_UNIT;
      result = await this.serial(s, async (): Promise<AsmWrite | null> => {
        const { data, map, stride } = await this.openOrCreate(name, wantStride);
        let claimed = false;
        try {
          if (placeable(blockSize, { order, stride }) && !(await readRecord(map, stride, order))) {
            await writeRecord(map, stride, order, { blockId, digests: null });
            claimed = true;
          }
        } finally {
          if (!claimed) await Promise.all([data.close(), map.close()]).catch(() => undefined);
        }
        return claimed ? { data, map, stride, release: async () => undefined } : null;
      });
      if (!result) return null;
      const lockRelease = await this.lockPosition(name, s, order);
      const opened = result;
      result.release = async () => {
        await Promise.all([opened.data.close(), opened.map.close()]).catch(() => undefined);
        lockRelease();
        this.leave(name, s);
      };
      return result;
    } finally {
      if (!result) this.leave(name, s);
    }
  }

  /**
   * Opens an existing claim for more bytes (bput). 400 when the assembly or the claim is gone
   * (expired, or its upload finished) or mkfile is running.
   */
  async reopen(name: string, placement: Placement, blockId: string): Promise<{ write: AsmWrite; record: AsmRecord }> {
    const s = this.state(name);
    if (s.closing) {
      this.forget(name, s);
      throw invalid('This upload is being assembled (mkfile): no more chunks are accepted.');
    }
    s.writers++;
    let lockRelease: (() => void) | null = null;
    let data: FileHandle | null = null;
    let map: FileHandle | null = null;
    try {
      lockRelease = await this.lockPosition(name, s, placement.order);
      const gone = () => invalid('This block has expired or is unknown: send it again, starting with mkblk.');
      try {
        map = await open(this.mapPath(name), 'r+');
        data = await open(this.dataPath(name), 'r+');
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') throw gone();
        throw err;
      }
      const stride = await readStride(map);
      if (stride !== placement.stride) throw gone();
      const record = await readRecord(map, stride, placement.order);
      if (!record || record.blockId !== blockId) throw gone();
      const [d, m, l] = [data, map, lockRelease];
      const write: AsmWrite = {
        data: d,
        map: m,
        stride,
        release: async () => {
          await Promise.all([d.close(), m.close()]).catch(() => undefined);
          l();
          this.leave(name, s);
        },
      };
      return { write, record };
    } catch (err) {
      await data?.close().catch(() => undefined);
      await map?.close().catch(() => undefined);
      lockRelease?.();
      this.leave(name, s);
      throw err;
    }
  }

  /** Gives a position back (its block failed before any ctx named it). */
  async unclaim(write: AsmWrite, order: number, blockId: string): Promise<void> {
    const record = await readRecord(write.map, write.stride, order);
    if (record?.blockId === blockId) await write.map.write(Buffer.alloc(RECORD_HEAD), 0, RECORD_HEAD, recordAt(write.stride, order));
  }

  /**
   * Stops new writers and waits for those in flight; the returned function lets them in again
   * (call it whatever happened: once the files are gone, late writers find nothing).
   */
  async exclusive(name: string): Promise<() => void> {
    const s = this.state(name);
    if (s.closing) throw invalid('This upload is already being assembled.');
    s.closing = true;
    if (s.writers > 0) await new Promise<void>((resolve) => s.drained.push(resolve));
    return () => {
      s.closing = false;
      this.forget(name, s);
    };
  }

  /** Reads the records of `orders` (null where free) and the stride; null when there is no assembly. */
  async inspect(name: string, orders: number[]): Promise<{ stride: number; size: number; records: Map<number, AsmRecord | null> } | null> {
    let map: FileHandle;
    try {
      map = await open(this.mapPath(name), 'r');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return null;
      throw err;
    }
    try {
      const stride = await readStride(map);
      if (stride === 0) return null;
      let size: number;
      try {
        size = (await stat(this.dataPath(name))).size;
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') return null;
        throw err;
      }
      const records = new Map<number, AsmRecord | null>();
      for (const order of orders) records.set(order, await readRecord(map, stride, order));
      return { stride, size, records };
    } finally {
      await map.close();
    }
  }

  /** Forgets every claim durably (deletes the map): the data file is then the caller's alone. */
  async dropMap(name: string): Promise<void> {
    await unlink(this.mapPath(name)).catch((err: unknown) => {
      if (errnoOf(err) !== 'ENOENT') throw err;
    });
    await fsyncDirectory(this.dir);
  }

  /** Deletes an assembly, map first. */
  async remove(name: string): Promise<void> {
    await this.dropMap(name);
    await unlink(this.dataPath(name)).catch((err: unknown) => {
      if (errnoOf(err) !== 'ENOENT') throw err;
    });
  }

  private leave(name: string, s: AsmState): void {
    s.writers--;
    if (s.writers === 0) for (const wake of s.drained.splice(0)) wake();
    this.forget(name, s);
  }

  private async lockPosition(name: string, s: AsmState, order: number): Promise<() => void> {
    const previous = s.positions.get(order) ?? Promise.resolve();
    let unlock!: () => void;
    const mine = new Promise<void>((resolve) => (unlock = resolve));
    const chained = previous.then(() => mine);
    s.positions.set(order, chained);
    await previous;
    return () => {
      unlock();
      if (s.positions.get(order) === chained) {
        s.positions.delete(order);
        this.forget(name, s);
      }
    };
  }

  /** Opens the assembly's files, creating both (durably) when the data file is new or the map gone. */
  private async openOrCreate(name: string, wantStride: number): Promise<{ data: FileHandle; map: FileHandle; stride: number }> {
    const dataPath = this.dataPath(name);
    let data: FileHandle;
    let created = false;
    try {
      data = await open(dataPath, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
      created = true;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      data = await open(dataPath, 'r+');
    }
    try {
      if (!created) {
        try {
          const map = await open(this.mapPath(name), 'r+');
          const stride = await readStride(map).catch(() => 0);
          if (stride > 0) return { data, map, stride };
          await map.close();
        } catch (err) {
          if (errnoOf(err) !== 'ENOENT') throw err;
        }
      }
      // A new data file, or a data file whose map is gone: a fresh map without claims.
      const map = await open(this.mapPath(name), 'w+', 0o600);
      try {
        const header = Buffer.alloc(HEADER_BYTES);
        MAGIC.copy(header);
        header[MAGIC.length] = wantStride / STRIDE_UNIT;
        await map.write(header, 0, HEADER_BYTES, 0);
        await Promise.all([map.datasync(), created ? data.datasync() : undefined]);
        await fsyncDirectory(this.dir);
      } catch (err) {
        await map.close().catch(() => undefined);
        throw err;
      }
      return { data, map, stride: wantStride };
    } catch (err) {
      await data.close().catch(() => undefined);
      throw err;
    }
  }
}

function recordBytes(stride: number): number {
  return RECORD_HEAD + DIGEST_BYTES * (stride / STRIDE_UNIT);
}

function recordAt(stride: number, order: number): number {
  return HEADER_BYTES + order * recordBytes(stride);
}

async function readStride(map: FileHandle): Promise<number> {
  const header = Buffer.alloc(HEADER_BYTES);
  const { bytesRead } = await map.read(header, 0, HEADER_BYTES, 0);
  if (bytesRead < HEADER_BYTES || !header.subarray(0, MAGIC.length).equals(MAGIC)) return 0;
  return header[MAGIC.length] * STRIDE_UNIT;
}

async function readRecord(map: FileHandle, stride: number, order: number): Promise<AsmRecord | null> {
  const size = recordBytes(stride);
  const buf = Buffer.alloc(size);
  const { bytesRead } = await map.read(buf, 0, size, recordAt(stride, order));
  if (bytesRead < RECORD_HEAD) return null;
  const blockId = buf.subarray(0, 16).toString('hex');
  if (blockId === ZERO_ID) return null;
  const count = buf[16];
  if (count === 0 || bytesRead < RECORD_HEAD + count * DIGEST_BYTES) return { blockId, digests: null };
  const digests: Buffer[] = [];
  for (let i = 0; i < count; i++) digests.push(Buffer.from(buf.subarray(RECORD_HEAD + i * DIGEST_BYTES, RECORD_HEAD + (i + 1) * DIGEST_BYTES)));
  return { blockId, digests };
}

/** Writes a record (not synced: the caller syncs the map before answering). */
export async function writeRecord(map: FileHandle, stride: number, order: number, record: AsmRecord): Promise<void> {
  const digests = record.digests ?? [];
  if (digests.length > stride / STRIDE_UNIT) throw new TypeError('too many digests for the stride');
  const buf = Buffer.alloc(RECORD_HEAD + digests.length * DIGEST_BYTES);
  Buffer.from(record.blockId, 'hex').copy(buf, 0);
  buf[16] = digests.length;
  digests.forEach((d, i) => {
    d.copy(buf, RECORD_HEAD + i * DIGEST_BYTES);
  });
  await map.write(buf, 0, buf.length, recordAt(stride, order));
}

/** Erases a record's digests and waits until that is on disk (before its region is rewritten). */
export async function eraseDigests(write: AsmWrite, order: number, blockId: string): Promise<void> {
  await writeRecord(write.map, write.stride, order, { blockId, digests: null });
  await write.map.datasync();
}
