import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { NoResultError } from 'kysely';
import { AppError, fromFsError } from '../errors.js';
import type { DirRef, FileObject } from '../files/file-object.js';
import type { FilesService } from '../files/files.service.js';
import { ok } from '../envelope.js';
import type { BlobInfo, BlobStore, BlobWriter } from '../store/blob-store.js';
import type { ContentLock } from '../store/content-lock.js';
import { errnoOf, unlinkIfExists } from '../store/fs-util.js';
import { ETAG_BLOCK, isEtag } from '../store/etag.js';
import { Crc32 } from './crc32.js';
import { ASM_MAP_RE, ASM_RE, Assemblies, SubblockHasher, eraseDigests, etagFromDigests, subblockCount, writeRecord, type AsmRecord } from './assembly.js';
import { decodeCtx, encodeCtx, isBlockId, newBlockId, type BlockCtx, type Placement } from './ctx.js';
import { existingEntry, roomFor, spaceExceeded } from './space.js';
import type { UploadRepo } from './upload.repo.js';
import { verifyUploadToken, type UploadPolicy } from './upload-token.js';

const MIB = 1024 * 1024;
export const DEFAULT_MAX_BLOCK_SIZE = 32 * MIB;
/** Qiniu's limit too: 10,000 blocks of 4 MiB is 39 GiB; larger blocks go further. */
export const DEFAULT_MAX_BLOCKS = 10_000;
/** A form whose `file` comes before its `token` is received unauthenticated: keep that small. */
export const DEFAULT_MAX_UNTOKENED_FORM_BYTES = 64 * MIB;
/** Received bytes are written to disk in slices of this size: few syscalls, flat memory. */
const WRITE_SLICE = MIB;
const READ_SLICE = MIB;
const DONE_DIR = 'done';
/** Sub-block hash states of blocks being sent in several chunks (bput), at most this many. */
const MAX_HASH_STATES = 1024;

/** A request body: the raw HTTP stream in production, any async iterable in tests. */
export type Body = AsyncIterable<Uint8Array>;

/** The answer to mkblk and bput (Qiniu's fields). */
export interface BlockAnswer {
  ctx: string;
  /** URL-safe base64 SHA-1 of the chunk just received. */
  checksum: string;
  /** CRC-32 of the chunk just received, for the client to compare with its own. */
  crc32: number;
  /** Bytes of the block received so far: where the next chunk goes. */
  offset: number;
  /** Where to send the next requests (the uploadUrl). */
  host: string;
  /** Unix seconds after which the ctx is no longer usable. */
  expired_at: number;
}

/** The answer to form upload and mkfile (UPLOAD.md). */
export interface UploadAnswer {
  hash: string;
  key: string;
  /** The API envelope of the created file, as a JSON string (the 6pan web client parses it). */
  response: string;
}

/** One part of a multipart form, in the order the client sent them. */
export type FormPart =
  | { kind: 'field'; name: string; value: string }
  | { kind: 'file'; name: string; stream: Body };

export interface UploadServiceDeps {
  files: FilesService;
  store: BlobStore;
  lock: ContentLock;
  repo: UploadRepo;
}

export interface UploadServiceOptions {
  /** Signs and verifies upload tokens and ctxs. */
  secret: string;
  /** Where block files live (`<dataDir>/uploads`). */
  dir: string;
  /** Blocks untouched for this long are deleted (config.uploadExpiryMs). */
  blockExpiryMs: number;
  /** The upload service's public address, read at answer time (it is known once listening). */
  uploadUrl: () => string;
  maxBlockSize?: number;
  maxBlocks?: number;
  maxUntokenedFormBytes?: number;
  /** How often abandoned blocks are swept; 0 disables the timer. Default: a quarter of the expiry, at most hourly. */
  sweepIntervalMs?: number;
  now?: () => number;
}

/** Where mkfile finds a listed block. */
type Source =
  | { kind: 'file'; path: string }
  | { kind: 'asm'; start: number; record: AsmRecord };

/** How the last mkfile was done (for tests and benchmarks: counts, never decisions). */
export interface AssemblyStats {
  /** Uploads moved into the store from their assembly file (no copy). */
  inPlace: number;
  /** Of their blocks: digests taken from the map, re-hashed in place, copied in from a block file. */
  blocksFromDigests: number;
  blocksRehashed: number;
  blocksCopiedIn: number;
  /** Uploads copied block by block into a new blob writer. */
  copied: number;
}

interface Destination {
  dir: DirRef;
  /** Bytes the file may take (free space, plus the replaced file when overwriting). */
  room: number;
}

/** Truncates `data` to `start` when nothing lies beyond the region [start, start + length). */
async function releaseTail(data: FileHandle, start: number, length: number): Promise<void> {
  const { size } = await data.stat();
  if (size > start && size <= start + length) await data.truncate(start);
}

function invalid(message: string): AppError {
  return new AppError('UPLOAD_INVALID', message);
}

export function uploadAnswer(file: FileObject, key: string): UploadAnswer {
  return { hash: file.storeId, key, response: JSON.stringify(ok(file, '')) };
}

/**
 * The WCS/Qiniu-compatible upload service of UPLOAD.md: form upload, and block upload
 * (mkblk/bput/mkfile) with self-contained signed ctxs and block files on disk, so uploads
 * survive a restart. Bytes are streamed to disk and from disk into the blob store; nothing
 * holds more than a slice of a block in memory.
 */
export class UploadService {
  readonly maxBlockSize: number;
  readonly maxBlocks: number;
  readonly maxUntokenedFormBytes: number;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;
  private dirReady: Promise<unknown> | null = null;
  /** mkfile calls in progress, by token and ctx list: a client's retry joins the first call. */
  private readonly finishing = new Map<string, Promise<UploadAnswer>>();
  private readonly asm: Assemblies;
  /** Running sub-block hashes of placed blocks sent in chunks, by blockId (lost on restart: then re-hashed at mkfile). */
  private readonly hashStates = new Map<string, { hasher: SubblockHasher; touched: number }>();
  readonly stats: AssemblyStats = { inPlace: 0, blocksFromDigests: 0, blocksRehashed: 0, blocksCopiedIn: 0, copied: 0 };

  constructor(
    private readonly deps: UploadServiceDeps,
    private readonly options: UploadServiceOptions,
  ) {
    this.maxBlockSize = options.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE;
    this.maxBlocks = options.maxBlocks ?? DEFAULT_MAX_BLOCKS;
    this.maxUntokenedFormBytes = options.maxUntokenedFormBytes ?? DEFAULT_MAX_UNTOKENED_FORM_BYTES;
    this.now = options.now ?? Date.now;
    this.asm = new Assemblies(options.dir, this.maxBlocks);
    const interval = options.sweepIntervalMs ?? Math.min(3600_000, Math.max(1000, Math.floor(options.blockExpiryMs / 4)));
    if (interval > 0) {
      this.timer = setInterval(() => {
        if (this.sweeping) return;
        this.sweeping = this.sweepBlocks();
        this.sweeping.catch(() => undefined).finally(() => (this.sweeping = null));
      }, interval);
      // The sweep alone must never keep the process alive.
      this.timer.unref();
    }
  }

  /** Stops the sweep timer and waits for a sweep in progress. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping?.catch(() => undefined);
  }

  /** Verifies an upload token (401 when forged or expired) and returns its policy. */
  verify(token: string): UploadPolicy {
    return verifyUploadToken(token, this.options.secret, this.now());
  }

  // ---- block upload -------------------------------------------------------------------------

  /**
   * Starts a block: `body` is its first chunk (or all of it). With a `blockOrder` the block is
   * written straight into the upload's assembly file at its place in the file (when that place
   * is free), so that mkfile need not copy it; otherwise into a file of its own.
   */
  async mkblk(token: string, blockSize: number, body: Body, declaredLength?: number, blockOrder?: number): Promise<BlockAnswer> {
    const policy = this.verify(token);
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw invalid(`The block size must be a positive integer, got ${blockSize}.`);
    if (blockSize > this.maxBlockSize) throw invalid(`Blocks are at most ${this.maxBlockSize} bytes, got ${blockSize}.`);
    if (policy.fsizeLimit > 0 && blockSize > policy.fsizeLimit) {
      throw new AppError('PAYLOAD_TOO_LARGE', `This token accepts files of at most ${policy.fsizeLimit} bytes.`);
    }
    this.checkDeclared(declaredLength, blockSize, 0);
    const blockId = newBlockId();
    const path = await this.blockPath(blockId);
    if (blockOrder !== undefined) {
      const placed = await this.mkblkPlaced(token, policy, blockId, blockSize, blockOrder, body);
      if (placed) return placed;
    }
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx');
    } catch (err) {
      throw fromFsError(err, 'receiving a block');
    }
    try {
      const got = await this.receive(handle, 0, 0, blockSize, body, null);
      await this.sync(handle);
      return this.blockAnswer(token, policy, { blockId, blockSize, offset: got.size }, got);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlinkIfExists(path).catch(() => undefined);
      throw err;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** mkblk into the assembly file; null when the block cannot be placed there. */
  private async mkblkPlaced(token: string, policy: UploadPolicy, blockId: string, blockSize: number, order: number, body: Body): Promise<BlockAnswer | null> {
    let w;
    try {
      w = await this.asm.claim(this.asm.nameFor(token), order, blockSize, blockId);
    } catch (err) {
      throw fromFsError(err, 'receiving a block');
    }
    if (!w) return null;
    try {
      const hasher = new SubblockHasher();
      const got = await this.receive(w.data, order * w.stride, 0, blockSize, body, hasher);
      if (got.size === blockSize) await writeRecord(w.map, w.stride, order, { blockId, digests: hasher.finish() });
      else this.keepHasher(blockId, hasher);
      await this.sync(w.data, w.map);
      return this.blockAnswer(token, policy, { blockId, blockSize, offset: got.size, placement: { order, stride: w.stride } }, got);
    } catch (err) {
      this.hashStates.delete(blockId);
      // No ctx names this claim: give the position back for the client's retry.
      await this.asm.unclaim(w, order, blockId).catch(() => undefined);
      // A block cut short by a full disk gives back the bytes it took when its region ends the
      // file: otherwise they fill the disk until the upload expires, and not even a delete can
      // be written to the database meanwhile.
      if (err instanceof AppError && err.code === 'DISK_FULL') await releaseTail(w.data, order * w.stride, w.stride).catch(() => undefined);
      throw err;
    } finally {
      await w.release();
    }
  }

  /** Continues a block at `offset`, which must be the ctx's offset. Re-sending a chunk is harmless. */
  async bput(token: string, ctx: string, offset: number, body: Body, declaredLength?: number): Promise<BlockAnswer> {
    const policy = this.verify(token);
    const block = decodeCtx(ctx, token, this.options.secret);
    if (!Number.isSafeInteger(offset) || offset !== block.offset) {
      throw invalid(`The chunk's offset ${offset} does not follow its ctx, which expects offset ${block.offset}.`);
    }
    this.checkDeclared(declaredLength, block.blockSize, block.offset);
    if (block.placement) return this.bputPlaced(token, policy, block, block.placement, body);
    let handle: FileHandle;
    try {
      handle = await open(await this.blockPath(block.blockId), 'r+');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw invalid('This block has expired or is unknown: send it again, starting with mkblk.');
      throw fromFsError(err, 'receiving a block');
    }
    try {
      // The bytes before offset were synced before their ctx was answered; a shorter file
      // means they are gone, and writing after a hole would corrupt the block.
      if ((await handle.stat()).size < block.offset) throw invalid('This block is incomplete on the server: send it again, starting with mkblk.');
      const got = await this.receive(handle, 0, block.offset, block.blockSize, body, null);
      await this.sync(handle);
      return this.blockAnswer(token, policy, { ...block, offset: block.offset + got.size }, got);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  private async bputPlaced(token: string, policy: UploadPolicy, block: BlockCtx, placement: Placement, body: Body): Promise<BlockAnswer> {
    const { order } = placement;
    let opened;
    try {
      opened = await this.asm.reopen(this.asm.nameFor(token), placement, block.blockId);
    } catch (err) {
      throw fromFsError(err, 'receiving a block');
    }
    const { write: w, record } = opened;
    try {
      const base = order * w.stride;
      if ((await w.data.stat()).size < base + block.offset) throw invalid('This block is incomplete on the server: send it again, starting with mkblk.');
      // The region is about to change: digests of its former bytes must go first, durably.
      if (record.digests) await eraseDigests(w, order, block.blockId);
      const hasher = this.takeHasher(block.blockId, block.offset);
      const got = await this.receive(w.data, base, block.offset, block.blockSize, body, hasher);
      const offset = block.offset + got.size;
      if (hasher && offset === block.blockSize) {
        await writeRecord(w.map, w.stride, order, { blockId: block.blockId, digests: hasher.finish() });
        await this.sync(w.data, w.map);
      } else {
        if (hasher) this.keepHasher(block.blockId, hasher);
        await this.sync(w.data);
      }
      return this.blockAnswer(token, policy, { ...block, offset }, got);
    } catch (err) {
      throw fromFsError(err, 'receiving a block');
    } finally {
      await w.release();
    }
  }

  private keepHasher(blockId: string, hasher: SubblockHasher): void {
    this.hashStates.delete(blockId);
    while (this.hashStates.size >= MAX_HASH_STATES) {
      const oldest = this.hashStates.keys().next().value as string;
      this.hashStates.delete(oldest);
    }
    this.hashStates.set(blockId, { hasher, touched: this.now() });
  }

  /** The running hash of a block, if it covers exactly the bytes before `offset`. */
  private takeHasher(blockId: string, offset: number): SubblockHasher | null {
    const state = this.hashStates.get(blockId);
    this.hashStates.delete(blockId);
    return state && state.hasher.offset === offset ? state.hasher : null;
  }

  /**
   * Assembles the blocks named by `ctxList` (their last ctxs, in file order, comma-separated)
   * into one stored content and creates the file the token describes.
   */
  async mkfile(token: string, fileSize: number, ctxList: string, key?: string): Promise<UploadAnswer> {
    const policy = this.verify(token);
    if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw invalid(`The file size must be a non-negative integer, got ${fileSize}.`);
    const ctxs = ctxList.trim() === '' ? [] : ctxList.split(',').map((c) => c.trim());
    const id = createHash('sha256').update(token).update('\n').update(String(fileSize)).update('\n').update(ctxs.join(',')).digest('hex');
    const running = this.finishing.get(id);
    if (running) return running.then((answer) => ({ ...answer, key: key ?? answer.key }));
    const work = this.assemble(id, token, policy, fileSize, ctxs, key ?? policy.name);
    this.finishing.set(id, work);
    try {
      return await work;
    } finally {
      this.finishing.delete(id);
    }
  }

  private async assemble(id: string, token: string, policy: UploadPolicy, fileSize: number, ctxs: string[], key: string): Promise<UploadAnswer> {
    if (ctxs.length > this.maxBlocks) throw invalid(`An upload has at most ${this.maxBlocks} blocks, got ${ctxs.length}.`);
    const blocks = ctxs.map((c, i) => {
      if (c === '') throw invalid(`The ctx list has an empty entry at position ${i}.`);
      return decodeCtx(c, token, this.options.secret);
    });
    this.checkBlocks(blocks, fileSize);

    // A retry of a mkfile that succeeded (its answer was lost): the blocks are gone, the file is not.
    const replay = await this.replay(id, policy, key);
    if (replay) return replay;

    const dest = await this.destination(policy);
    this.checkSize(policy, fileSize, dest.room);
    const name = this.asm.nameFor(token);
    const usesAsm = blocks.some((b) => b.placement);
    // Writers of the assembly are kept out from here on: what is hashed is what is stored.
    const reopen = usesAsm ? await this.asm.exclusive(name) : null;
    try {
      const sources = await this.locate(name, blocks);
      const size0 = blocks[0]?.blockSize ?? 0;
      const inPlace = usesAsm && sources.every((src, i) => src.kind === 'file' || src.start === i * size0);
      const answer = inPlace ? await this.assembleInPlace(id, policy, dest.dir, key, name, blocks, sources, fileSize) : await this.assembleByCopy(policy, dest.dir, key, name, blocks, sources);
      await this.remember(id, JSON.parse(answer.response).result as FileObject);
      await Promise.all(sources.map((src) => (src.kind === 'file' ? unlinkIfExists(src.path).catch(() => undefined) : undefined)));
      if (usesAsm && !inPlace) await this.asm.remove(name).catch(() => undefined);
      return answer;
    } finally {
      reopen?.();
    }
  }

  /** Where each listed block is; 400 when one is missing (expired, replaced, never sent) or short. */
  private async locate(name: string, blocks: BlockCtx[]): Promise<Source[]> {
    const orders = blocks.flatMap((b) => (b.placement ? [b.placement.order] : []));
    const asm = orders.length > 0 ? await this.asm.inspect(name, orders) : null;
    const missing = (i: number) => invalid(`Block ${i} is missing on the server (expired or never sent): upload it again.`);
    const short = (i: number) => invalid(`Block ${i} is short on the server: upload it again.`);
    return Promise.all(
      blocks.map(async (b, i): Promise<Source> => {
        if (b.placement) {
          const record = asm?.records.get(b.placement.order);
          if (!asm || !record || record.blockId !== b.blockId || asm.stride !== b.placement.stride) throw missing(i);
          const start = b.placement.order * b.placement.stride;
          if (asm.size < start + b.blockSize) throw short(i);
          return { kind: 'asm', start, record };
        }
        const path = await this.blockPath(b.blockId);
        let size: number;
        try {
          size = (await stat(path)).size;
        } catch (err) {
          if (errnoOf(err) === 'ENOENT') throw missing(i);
          throw err;
        }
        if (size < b.blockSize) throw short(i);
        return { kind: 'file', path };
      }),
    );
  }

  /**
   * The fast path: every placed block already sits at its place in the assembly file. Blocks in
   * files of their own are copied into their place; the etag comes from the digests the server
   * recorded while receiving, or from hashing a block's region where it has none; then the
   * file is truncated to its size and moved into the store as it is.
   */
  private async assembleInPlace(
    id: string,
    policy: UploadPolicy,
    dir: DirRef,
    key: string,
    name: string,
    blocks: BlockCtx[],
    sources: Source[],
    fileSize: number,
  ): Promise<UploadAnswer> {
    const size0 = blocks[0].blockSize;
    // From here the data file is this mkfile's alone: no ctx can name a region of it any more.
    await this.asm.dropMap(name);
    const path = this.asm.dataPath(name);
    const digests: Buffer[] = [];
    let handle: FileHandle | null = null;
    try {
      handle = await open(path, 'r+');
      for (const [i, src] of sources.entries()) {
        const size = blocks[i].blockSize;
        if (src.kind === 'asm' && src.record.digests && src.record.digests.length === subblockCount(size)) {
          digests.push(...src.record.digests);
          this.stats.blocksFromDigests++;
        } else if (src.kind === 'asm') {
          digests.push(...(await this.hashRegion(handle, src.start, size, i)));
          this.stats.blocksRehashed++;
        } else {
          digests.push(...(await this.copyIntoRegion(src.path, handle, i * size0, size, i)));
          this.stats.blocksCopiedIn++;
        }
      }
      await handle.truncate(fileSize);
    } catch (err) {
      throw fromFsError(err, 'assembling an upload');
    } finally {
      await handle?.close().catch(() => undefined);
    }
    const info: BlobInfo = { etag: etagFromDigests(digests), size: fileSize };
    this.stats.inPlace++;
    const store = this.deps.store;
    return this.complete(policy, dir, key, async () => (store.adoptFile ? store.adoptFile(path, info) : store.importFile(path)), async (stored) => {
      // The bytes are in the store and the blocks are gone: a retry must find them by replay.
      await this.rememberInfo(id, stored);
    });
  }

  /** The slow path: every block copied (and hashed by the store) into a new blob writer. */
  private async assembleByCopy(policy: UploadPolicy, dir: DirRef, key: string, name: string, blocks: BlockCtx[], sources: Source[]): Promise<UploadAnswer> {
    const writer = await this.deps.store.createWriter();
    try {
      for (const [i, src] of sources.entries()) {
        const path = src.kind === 'file' ? src.path : this.asm.dataPath(name);
        await this.copyBlock(path, src.kind === 'file' ? 0 : src.start, blocks[i].blockSize, writer, i);
      }
    } catch (err) {
      await writer.abort();
      throw err;
    }
    this.stats.copied++;
    return this.complete(policy, dir, key, () => writer.commit());
  }

  /** The rules of UPLOAD.md for a ctx list: complete blocks, uniform size, the announced total. */
  private checkBlocks(blocks: BlockCtx[], fileSize: number): void {
    const seen = new Set<string>();
    let total = 0;
    for (const [i, b] of blocks.entries()) {
      if (b.offset !== b.blockSize) throw invalid(`Block ${i} is incomplete: ${b.offset} of ${b.blockSize} bytes received.`);
      if (seen.has(b.blockId)) throw invalid(`Block ${i} appears twice in the ctx list.`);
      seen.add(b.blockId);
      total += b.blockSize;
    }
    if (blocks.length > 1) {
      const size = blocks[0].blockSize;
      if (size % ETAG_BLOCK !== 0) throw invalid(`Blocks must be a multiple of ${ETAG_BLOCK} bytes (4 MiB), except the last; block 0 has ${size}.`);
      for (let i = 1; i < blocks.length - 1; i++) {
        if (blocks[i].blockSize !== size) throw invalid(`Every block but the last must have the same size: block ${i} has ${blocks[i].blockSize}, block 0 has ${size}.`);
      }
      const last = blocks[blocks.length - 1].blockSize;
      if (last > size) throw invalid(`The last block (${last} bytes) is larger than the others (${size} bytes).`);
    }
    if (total !== fileSize) throw invalid(`The blocks hold ${total} bytes but mkfile announced ${fileSize}.`);
  }

  private async copyBlock(path: string, start: number, blockSize: number, writer: BlobWriter, index: number): Promise<void> {
    let copied = 0;
    try {
      for await (const chunk of createReadStream(path, { start, end: start + blockSize - 1, highWaterMark: READ_SLICE })) {
        copied += (chunk as Buffer).length;
        await writer.write(chunk as Buffer);
      }
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw invalid(`Block ${index} expired while the file was being assembled: upload it again.`);
      throw fromFsError(err, 'assembling an upload');
    }
    if (copied !== blockSize) throw invalid(`Block ${index} is short on the server: upload it again.`);
  }

  /** SHA-1 per 4 MiB sub-block of bytes [start, start + size) of an assembly file. */
  private async hashRegion(handle: FileHandle, start: number, size: number, index: number): Promise<Buffer[]> {
    const hasher = new SubblockHasher();
    const buf = Buffer.allocUnsafe(Math.min(READ_SLICE, size));
    while (hasher.offset < size) {
      const want = Math.min(buf.length, size - hasher.offset);
      const { bytesRead } = await handle.read(buf, 0, want, start + hasher.offset);
      if (bytesRead === 0) throw invalid(`Block ${index} is short on the server: upload it again.`);
      hasher.update(buf.subarray(0, bytesRead));
    }
    return hasher.finish();
  }

  /** Copies a block file into its place in the assembly file, hashing it on the way. */
  private async copyIntoRegion(path: string, target: FileHandle, start: number, size: number, index: number): Promise<Buffer[]> {
    const hasher = new SubblockHasher();
    try {
      for await (const chunk of createReadStream(path, { start: 0, end: size - 1, highWaterMark: READ_SLICE })) {
        const piece = chunk as Buffer;
        let done = 0;
        while (done < piece.length) done += (await target.write(piece, done, piece.length - done, start + hasher.offset + done)).bytesWritten;
        hasher.update(piece);
      }
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw invalid(`Block ${index} expired while the file was being assembled: upload it again.`);
      throw err;
    }
    if (hasher.offset !== size) throw invalid(`Block ${index} is short on the server: upload it again.`);
    return hasher.finish();
  }

  // ---- form upload --------------------------------------------------------------------------

  /**
   * Form upload: fields `token` and `file` in any order (plus optional `key`, `crc32`).
   * A file before its token is streamed to the store anyway (up to maxUntokenedFormBytes) and
   * dropped unless the token, once it arrives, verifies.
   */
  async formUpload(parts: AsyncIterable<FormPart>): Promise<UploadAnswer> {
    let token: string | null = null;
    let policy: UploadPolicy | null = null;
    let dest: Destination | null = null;
    let key: string | undefined;
    let expectedCrc: number | undefined;
    let writer: BlobWriter | null = null;
    let received = 0;
    const crc = new Crc32();
    try {
      for await (const part of parts) {
        if (part.kind === 'field') {
          if (part.name === 'token' && token === null) {
            token = part.value;
            policy = this.verify(token);
            dest = await this.destination(policy);
            if (writer) this.checkSize(policy, received, dest.room);
          } else if (part.name === 'key') {
            key = part.value;
          } else if (part.name === 'crc32' && part.value !== '') {
            if (!/^\d{1,10}$/.test(part.value)) throw invalid('Field "crc32" must be an unsigned 32-bit decimal number.');
            expectedCrc = Number(part.value);
          }
          continue;
        }
        if (part.name !== 'file' || writer) {
          // Not ours, or a second file: read past it so the form can go on.
          for await (const _ of part.stream) void _;
          continue;
        }
        writer = await this.deps.store.createWriter();
        for await (const chunk of part.stream) {
          received += chunk.length;
          if (policy && dest) this.checkSize(policy, received, dest.room);
          else if (received > this.maxUntokenedFormBytes) {
            throw new AppError(
              'PAYLOAD_TOO_LARGE',
              `A file sent before its token may be at most ${this.maxUntokenedFormBytes} bytes: put the "token" field first, or use block upload.`,
            );
          }
          crc.update(chunk);
          await writer.write(chunk);
        }
      }
      if (!policy || !dest) throw new AppError('UNAUTHORIZED', 'The form has no "token" field.');
      if (!writer) throw invalid('The form has no "file" field.');
      if (expectedCrc !== undefined && expectedCrc !== crc.value) {
        throw invalid(`The file's CRC-32 is ${crc.value}, but the form announced ${expectedCrc}: the bytes were damaged on the way.`);
      }
      const done = writer;
      writer = null;
      return await this.complete(policy, dest.dir, key ?? policy.name, () => done.commit());
    } finally {
      await writer?.abort();
    }
  }

  // ---- abandoned blocks ---------------------------------------------------------------------

  /** Deletes block files (and finished-upload records) untouched for maxAgeMs; returns how many. */
  async sweepBlocks(maxAgeMs: number = this.options.blockExpiryMs): Promise<number> {
    const cutoff = this.now() - maxAgeMs;
    let removed = 0;
    for (const [blockId, state] of this.hashStates) if (state.touched < cutoff) this.hashStates.delete(blockId);
    removed += await this.sweepAssemblies(cutoff);
    for (const dir of [this.options.dir, join(this.options.dir, DONE_DIR)]) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') continue;
        throw err;
      }
      for (const name of names) {
        if (!isBlockId(name) && !/^[0-9a-f]{64}(\.tmp)?$/.test(name)) continue;
        const path = join(dir, name);
        try {
          const s = await stat(path);
          if (!s.isFile() || s.mtimeMs >= cutoff) continue;
          await unlink(path);
          removed++;
        } catch (err) {
          if (errnoOf(err) !== 'ENOENT') throw err;
        }
      }
    }
    return removed;
  }

  /** Deletes assembly files (map first) whose data and map are both untouched since `cutoff`. */
  private async sweepAssemblies(cutoff: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.options.dir);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return 0;
      throw err;
    }
    const mtime = async (path: string) => {
      try {
        return (await stat(path)).mtimeMs;
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') return null;
        throw err;
      }
    };
    let removed = 0;
    for (const file of names) {
      const name = ASM_RE.test(file) ? file : ASM_MAP_RE.test(file) ? file.slice(0, -'.map'.length) : null;
      if (name === null || this.asm.busy(name)) continue;
      // Each assembly once, from its data file; a map alone from its own name.
      if (file !== name && names.includes(name)) continue;
      const times = [await mtime(this.asm.dataPath(name)), await mtime(this.asm.mapPath(name))].filter((t): t is number => t !== null);
      if (times.length === 0 || Math.max(...times) >= cutoff) continue;
      await this.asm.remove(name);
      removed += times.length;
    }
    return removed;
  }

  // ---- shared steps -------------------------------------------------------------------------

  /**
   * Commits the bytes and creates the file entry under the content lock, so the collector
   * cannot free the content between the two. Content nobody took is handed to the collector.
   */
  private async complete(
    policy: UploadPolicy,
    dir: DirRef,
    key: string,
    commit: () => Promise<BlobInfo>,
    onCreateFailed?: (stored: BlobInfo) => Promise<void>,
  ): Promise<UploadAnswer> {
    const file = await this.deps.lock.shared(async () => {
      const info = await commit();
      try {
        const { file } = await this.deps.files.createFile(policy.userId, {
          dir,
          name: policy.name,
          etag: info.etag,
          size: info.size,
          onConflict: policy.overwrite ? 'overwrite' : 'error',
        });
        return file;
      } catch (err) {
        await this.deps.repo.adoptUnreferenced(info.etag, info.size).catch(() => undefined);
        await onCreateFailed?.(info).catch(() => undefined);
        throw err;
      }
    });
    return uploadAnswer(file, key);
  }

  /** Where the token's file goes, and how many bytes it may take. */
  private async destination(policy: UploadPolicy): Promise<Destination> {
    let free: number;
    try {
      free = await this.deps.files.freeSpace(policy.userId);
    } catch (err) {
      if (err instanceof NoResultError) throw new AppError('UNAUTHORIZED', 'The user this upload token was issued to no longer exists.');
      throw err;
    }
    const dir = await this.deps.files.resolveDir(policy.userId, { uuid: policy.dir }, 'PARENT_NOT_FOUND');
    const existing = policy.overwrite ? await existingEntry(this.deps.files, policy.userId, dir, policy.name) : null;
    return { dir, room: roomFor(free, existing, policy.overwrite === 1) };
  }

  private checkSize(policy: UploadPolicy, size: number, room: number): void {
    if (policy.fsizeLimit > 0 && size > policy.fsizeLimit) {
      throw new AppError('PAYLOAD_TOO_LARGE', `The file (${size} bytes) is larger than this token allows (${policy.fsizeLimit} bytes).`);
    }
    if (size > room) throw spaceExceeded(size, room);
  }

  /** Refuses a body by its Content-Length before reading it. */
  private checkDeclared(declared: number | undefined, blockSize: number, offset: number): void {
    if (declared === undefined) return;
    if (declared > this.maxBlockSize) throw new AppError('PAYLOAD_TOO_LARGE', `A chunk is at most ${this.maxBlockSize} bytes.`);
    if (offset + declared > blockSize) {
      throw invalid(`The chunk (${declared} bytes at offset ${offset}) goes beyond the end of the block (${blockSize} bytes).`);
    }
  }

  /**
   * Writes `body` into a block from `start` (the file holds the block from `base`),
   * positionally (a re-sent chunk lands on the same bytes), in slices of WRITE_SLICE. With a
   * `hasher` (which must have hashed exactly the block's bytes before `start`) the bytes are
   * fed to it as well. The caller syncs before answering.
   */
  private async receive(
    handle: FileHandle,
    base: number,
    start: number,
    blockSize: number,
    body: Body,
    hasher: SubblockHasher | null,
  ): Promise<{ size: number; crc: number; checksum: string }> {
    const crc = new Crc32();
    // The chunk's own SHA-1 (the answer's checksum): when the chunk starts a sub-block, its
    // first 4 MiB are hashed by the sub-block hasher anyway, so it is taken from there.
    let sha1: Hash | null = hasher?.atBoundary ? null : createHash('sha1');
    let received = 0;
    let position = base + start;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const slices = pending;
      const total = pendingBytes;
      pending = [];
      pendingBytes = 0;
      // One pwritev per slice of socket chunks: no copy into a joint buffer.
      let done = (await handle.writev(slices, position)).bytesWritten;
      if (done < total) {
        // A short write (rare): the rest, joined, until it is all written.
        const rest = Buffer.concat(slices, total).subarray(done);
        for (let at = 0; at < rest.length; ) at += (await handle.write(rest, at, rest.length - at, position + done + at)).bytesWritten;
        done = total;
      }
      position += total;
    };
    try {
      for await (const chunk of body) {
        if (start + received + chunk.length > blockSize) {
          throw invalid(`The chunk goes beyond the end of the block (${blockSize} bytes).`);
        }
        crc.update(chunk);
        if (sha1) {
          sha1.update(chunk);
          hasher?.update(chunk);
        } else {
          const room = ETAG_BLOCK - received;
          if (chunk.length <= room) {
            hasher!.update(chunk);
          } else {
            hasher!.update(chunk.subarray(0, room));
            sha1 = hasher!.copySub();
            const rest = chunk.subarray(room);
            hasher!.update(rest);
            sha1.update(rest);
          }
        }
        received += chunk.length;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= WRITE_SLICE) await flush();
      }
      await flush();
    } catch (err) {
      throw fromFsError(err, 'receiving a block');
    }
    const checksum = sha1 ? sha1.digest('base64url') : received === 0 ? createHash('sha1').digest('base64url') : hasher!.copySub().digest('base64url');
    return { size: received, crc: crc.value, checksum };
  }

  /** Makes received bytes (and assembly records) durable before their ctx is answered. */
  private async sync(...handles: FileHandle[]): Promise<void> {
    try {
      await Promise.all(handles.map((h) => h.datasync()));
    } catch (err) {
      throw fromFsError(err, 'receiving a block');
    }
  }

  private blockAnswer(token: string, policy: UploadPolicy, ctx: BlockCtx, got: { crc: number; checksum: string }): BlockAnswer {
    const expires = Math.min(policy.deadline, this.now() + this.options.blockExpiryMs);
    return {
      ctx: encodeCtx(ctx, token, this.options.secret),
      checksum: got.checksum,
      crc32: got.crc,
      offset: ctx.offset,
      host: this.options.uploadUrl(),
      expired_at: Math.floor(expires / 1000),
    };
  }

  private async blockPath(blockId: string): Promise<string> {
    this.dirReady ??= mkdir(join(this.options.dir, DONE_DIR), { recursive: true }).catch((err: unknown) => {
      this.dirReady = null;
      throw fromFsError(err, 'preparing the upload directory');
    });
    await this.dirReady;
    return join(this.options.dir, blockId);
  }

  /** Records a finished mkfile so that a retry of it answers the same (until swept). */
  private async remember(id: string, file: FileObject): Promise<void> {
    await this.rememberInfo(id, { etag: file.storeId, size: file.size });
  }

  private async rememberInfo(id: string, info: BlobInfo): Promise<void> {
    const path = join(this.options.dir, DONE_DIR, id);
    try {
      await writeFile(path + '.tmp', JSON.stringify({ etag: info.etag, size: info.size }));
      await rename(path + '.tmp', path);
    } catch {
      // Only a retry's convenience is lost.
    }
  }

  private async replay(id: string, policy: UploadPolicy, key: string): Promise<UploadAnswer | null> {
    let record: { etag?: unknown; size?: unknown };
    try {
      record = JSON.parse(await readFile(join(this.options.dir, DONE_DIR, id), 'utf8'));
    } catch {
      return null;
    }
    const { etag, size } = record;
    if (!isEtag(etag) || typeof size !== 'number') return null;
    const dest = await this.destination(policy);
    const file = await this.deps.lock.shared(async () => {
      if (!(await this.deps.store.exists(etag))) return null;
      // Same name and content: createFile returns the file created the first time.
      const { file } = await this.deps.files.createFile(policy.userId, {
        dir: dest.dir,
        name: policy.name,
        etag,
        size,
        onConflict: policy.overwrite ? 'overwrite' : 'error',
      });
      return file;
    });
    return file ? uploadAnswer(file, key) : null;
  }
}
