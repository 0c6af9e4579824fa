import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { NoResultError } from 'kysely';
import { AppError, fromFsError } from '../errors.js';
import type { DirRef, FileObject } from '../files/file-object.js';
import type { FilesService } from '../files/files.service.js';
import { ok } from '../http/envelope.js';
import type { BlobStore, BlobWriter } from '../store/blob-store.js';
import type { ContentLock } from '../store/content-lock.js';
import { ETAG_BLOCK, isEtag } from '../store/etag.js';
import { Crc32 } from './crc32.js';
import { decodeCtx, encodeCtx, isBlockId, newBlockId, type BlockCtx } from './ctx.js';
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

interface Destination {
  dir: DirRef;
  /** Bytes the file may take (free space, plus the replaced file when overwriting). */
  room: number;
}

function invalid(message: string): AppError {
  return new AppError('UPLOAD_INVALID', message);
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch((err: unknown) => {
    if (errnoOf(err) !== 'ENOENT') throw err;
  });
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

  constructor(
    private readonly deps: UploadServiceDeps,
    private readonly options: UploadServiceOptions,
  ) {
    this.maxBlockSize = options.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE;
    this.maxBlocks = options.maxBlocks ?? DEFAULT_MAX_BLOCKS;
    this.maxUntokenedFormBytes = options.maxUntokenedFormBytes ?? DEFAULT_MAX_UNTOKENED_FORM_BYTES;
    this.now = options.now ?? Date.now;
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

  /** Starts a block: `body` is its first chunk (or all of it). */
  async mkblk(token: string, blockSize: number, body: Body, declaredLength?: number): Promise<BlockAnswer> {
    const policy = this.verify(token);
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw invalid(`The block size must be a positive integer, got ${blockSize}.`);
    if (blockSize > this.maxBlockSize) throw invalid(`Blocks are at most ${this.maxBlockSize} bytes, got ${blockSize}.`);
    if (policy.fsizeLimit > 0 && blockSize > policy.fsizeLimit) {
      throw new AppError('PAYLOAD_TOO_LARGE', `This token accepts files of at most ${policy.fsizeLimit} bytes.`);
    }
    this.checkDeclared(declaredLength, blockSize, 0);
    const blockId = newBlockId();
    const path = await this.blockPath(blockId);
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx');
    } catch (err) {
      throw fromFsError(err, 'receiving a block');
    }
    try {
      const got = await this.receive(handle, 0, blockSize, body);
      return this.blockAnswer(token, policy, { blockId, blockSize, offset: got.size }, got);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlinkQuietly(path).catch(() => undefined);
      throw err;
    } finally {
      await handle.close().catch(() => undefined);
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
      const got = await this.receive(handle, block.offset, block.blockSize, body);
      return this.blockAnswer(token, policy, { ...block, offset: block.offset + got.size }, got);
    } finally {
      await handle.close().catch(() => undefined);
    }
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
    const paths = await Promise.all(blocks.map((b) => this.blockPath(b.blockId)));
    for (const [i, path] of paths.entries()) {
      let size: number;
      try {
        size = (await stat(path)).size;
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') throw invalid(`Block ${i} is missing on the server (expired or never sent): upload it again.`);
        throw err;
      }
      if (size < blocks[i].blockSize) throw invalid(`Block ${i} is short on the server: upload it again.`);
    }

    const writer = await this.deps.store.createWriter();
    try {
      for (const [i, path] of paths.entries()) await this.copyBlock(path, blocks[i].blockSize, writer, i);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    const answer = await this.complete(policy, dest.dir, writer, key);
    await this.remember(id, JSON.parse(answer.response).result as FileObject);
    await Promise.all(paths.map((p) => unlinkQuietly(p).catch(() => undefined)));
    return answer;
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

  private async copyBlock(path: string, blockSize: number, writer: BlobWriter, index: number): Promise<void> {
    let copied = 0;
    try {
      for await (const chunk of createReadStream(path, { start: 0, end: blockSize - 1, highWaterMark: READ_SLICE })) {
        copied += (chunk as Buffer).length;
        await writer.write(chunk as Buffer);
      }
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw invalid(`Block ${index} expired while the file was being assembled: upload it again.`);
      throw fromFsError(err, 'assembling an upload');
    }
    if (copied !== blockSize) throw invalid(`Block ${index} is short on the server: upload it again.`);
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
      return await this.complete(policy, dest.dir, done, key ?? policy.name);
    } finally {
      await writer?.abort();
    }
  }

  // ---- abandoned blocks ---------------------------------------------------------------------

  /** Deletes block files (and finished-upload records) untouched for maxAgeMs; returns how many. */
  async sweepBlocks(maxAgeMs: number = this.options.blockExpiryMs): Promise<number> {
    const cutoff = this.now() - maxAgeMs;
    let removed = 0;
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

  // ---- shared steps -------------------------------------------------------------------------

  /**
   * Commits the bytes and creates the file entry under the content lock, so the collector
   * cannot free the content between the two. Content nobody took is handed to the collector.
   */
  private async complete(policy: UploadPolicy, dir: DirRef, writer: BlobWriter, key: string): Promise<UploadAnswer> {
    const file = await this.deps.lock.shared(async () => {
      const info = await writer.commit();
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
   * Writes `body` into a block file from `start`, positionally (a re-sent chunk lands on the
   * same bytes), in slices of WRITE_SLICE, and fsyncs before returning.
   */
  private async receive(handle: FileHandle, start: number, blockSize: number, body: Body): Promise<{ size: number; crc: number; checksum: string }> {
    const crc = new Crc32();
    const sha1 = createHash('sha1');
    let position = start;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const slice = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
      pending = [];
      let done = 0;
      while (done < slice.length) {
        const { bytesWritten } = await handle.write(slice, done, slice.length - done, position + done);
        done += bytesWritten;
      }
      position += slice.length;
      pendingBytes = 0;
    };
    try {
      for await (const chunk of body) {
        if (position + pendingBytes + chunk.length > blockSize) {
          throw invalid(`The chunk goes beyond the end of the block (${blockSize} bytes).`);
        }
        crc.update(chunk);
        sha1.update(chunk);
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= WRITE_SLICE) await flush();
      }
      await flush();
      await handle.sync();
    } catch (err) {
      throw fromFsError(err, 'receiving a block');
    }
    return { size: position - start, crc: crc.value, checksum: sha1.digest('base64url') };
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
    const path = join(this.options.dir, DONE_DIR, id);
    try {
      await writeFile(path + '.tmp', JSON.stringify({ etag: file.storeId, size: file.size }));
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
