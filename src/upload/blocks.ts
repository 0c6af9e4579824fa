import { open, type FileHandle } from 'node:fs/promises';
import { AppError, fromFsError } from '../errors.js';
import { errnoOf, unlinkIfExists } from '../store/fs-util.js';
import { SubblockHasher, eraseDigests, writeRecord, type AsmRecord, type AsmWrite, type Assemblies } from './assembly.js';
import { decodeCtx, encodeCtx, newBlockId, type BlockCtx, type Placement } from './ctx.js';
import { invalid } from './invalid.js';
import type { PendingBlocks } from './pending.js';
import { receive, syncReceived, type Body, type Received } from './receive.js';
import type { RunningHashes } from './running-hashes.js';
import type { UploadDir } from './upload-dir.js';
import type { UploadPolicy } from './upload-token.js';

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

export interface BlockUploadsDeps {
  /** Verifies an upload token (401 when forged, expired or its session ended) and returns its policy. */
  verify: (token: string) => Promise<UploadPolicy>;
  dir: UploadDir;
  asm: Assemblies;
  hashes: RunningHashes;
  /** Block bytes waiting for mkfile, per user. */
  pending: PendingBlocks;
  /** The bytes the token's file may take: the user's free space (plus the file it replaces). */
  room: (policy: UploadPolicy) => Promise<number>;
}

export interface BlockUploadsOptions {
  /** Signs and verifies ctxs. */
  secret: string;
  blockExpiryMs: number;
  uploadUrl: () => string;
  maxBlockSize: number;
  now: () => number;
}

/** Truncates `data` to `start` when nothing lies beyond the region [start, start + length). */
async function releaseTail(data: FileHandle, start: number, length: number): Promise<void> {
  const { size } = await data.stat();
  if (size > start && size <= start + length) await data.truncate(start);
}

/**
 * Block upload's receiving half (mkblk and bput): chunks go to disk, into the upload's assembly
 * file when the block has a place there, else into a file of the block's own, and every
 * answer carries a self-contained signed ctx, so that uploads survive a restart.
 */
export class BlockUploads {
  constructor(
    private readonly deps: BlockUploadsDeps,
    private readonly options: BlockUploadsOptions,
  ) {}

  /**
   * Starts a block: `body` is its first chunk (or all of it). With a `blockOrder` the block is
   * written straight into the upload's assembly file at its place in the file (when that place
   * is free), so that mkfile need not copy it; otherwise into a file of its own.
   */
  async mkblk(token: string, blockSize: number, body: Body, declaredLength?: number, blockOrder?: number): Promise<BlockAnswer> {
    const policy = await this.deps.verify(token);
    const { maxBlockSize } = this.options;
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw invalid(`The block size must be a positive integer, got ${blockSize}.`);
    if (blockSize > maxBlockSize) throw invalid(`Blocks are at most ${maxBlockSize} bytes, got ${blockSize}.`);
    if (policy.fsizeLimit > 0 && blockSize > policy.fsizeLimit) {
      throw new AppError('PAYLOAD_TOO_LARGE', `This token accepts files of at most ${policy.fsizeLimit} bytes.`);
    }
    this.checkDeclared(declaredLength, blockSize, 0);
    const blockId = newBlockId();
    // The whole block is charged before a byte of it is read (pending.ts).
    const { pending } = this.deps;
    pending.charge(policy.userId, this.deps.asm.nameFor(token), blockId, blockSize, false, await this.deps.room(policy));
    try {
      const answer = await this.mkblkCharged(token, policy, blockId, blockSize, body, blockOrder);
      // As late as its file's last write: the sweep forgets it when it deletes the file.
      pending.touch(blockId);
      return answer;
    } catch (err) {
      pending.failed(blockId);
      throw err;
    }
  }

  private async mkblkCharged(token: string, policy: UploadPolicy, blockId: string, blockSize: number, body: Body, blockOrder?: number): Promise<BlockAnswer> {
    const path = await this.deps.dir.blockPath(blockId);
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
      const got = await receive(handle, 0, 0, blockSize, body, null);
      await syncReceived(handle);
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
    const { asm, hashes } = this.deps;
    let w: AsmWrite | null;
    try {
      w = await asm.claim(asm.nameFor(token), order, blockSize, blockId);
    } catch (err) {
      throw fromFsError(err, 'receiving a block');
    }
    if (!w) return null;
    this.deps.pending.touch(blockId, true);
    try {
      const hasher = new SubblockHasher();
      const got = await receive(w.data, order * w.stride, 0, blockSize, body, hasher);
      if (got.size === blockSize) await writeRecord(w.map, w.stride, order, { blockId, digests: hasher.finish() });
      else hashes.keep(blockId, hasher);
      await syncReceived(w.data, w.map);
      return this.blockAnswer(token, policy, { blockId, blockSize, offset: got.size, placement: { order, stride: w.stride } }, got);
    } catch (err) {
      hashes.forget(blockId);
      // No ctx names this claim: give the position back for the client's retry.
      await asm.unclaim(w, order, blockId).catch(() => undefined);
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
    const policy = await this.deps.verify(token);
    const block = decodeCtx(ctx, token, this.options.secret);
    if (!Number.isSafeInteger(offset) || offset !== block.offset) {
      throw invalid(`The chunk's offset ${offset} does not follow its ctx, which expects offset ${block.offset}.`);
    }
    this.checkDeclared(declaredLength, block.blockSize, block.offset);
    const charged = await this.keepCharged(token, policy, block);
    try {
      const answer = await this.bputCharged(token, policy, block, body);
      this.deps.pending.touch(block.blockId);
      return answer;
    } catch (err) {
      // Charged anew but perhaps gone (swept): this process knows no more of it than before.
      if (charged) this.deps.pending.release(block.blockId);
      throw err;
    }
  }

  private async bputCharged(token: string, policy: UploadPolicy, block: BlockCtx, body: Body): Promise<BlockAnswer> {
    if (block.placement) return this.bputPlaced(token, policy, block, block.placement, body);
    let handle: FileHandle;
    try {
      handle = await open(await this.deps.dir.blockPath(block.blockId), 'r+');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        // Swept (or never here): whatever it was charged is free again.
        this.deps.pending.release(block.blockId);
        throw invalid('This block has expired or is unknown: send it again, starting with mkblk.');
      }
      throw fromFsError(err, 'receiving a block');
    }
    try {
      // The bytes before offset were synced before their ctx was answered; a shorter file
      // means they are gone, and writing after a hole would corrupt the block.
      if ((await handle.stat()).size < block.offset) throw invalid('This block is incomplete on the server: send it again, starting with mkblk.');
      const got = await receive(handle, 0, block.offset, block.blockSize, body, null);
      await syncReceived(handle);
      return this.blockAnswer(token, policy, { ...block, offset: block.offset + got.size }, got);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  private async bputPlaced(token: string, policy: UploadPolicy, block: BlockCtx, placement: Placement, body: Body): Promise<BlockAnswer> {
    const { asm, hashes } = this.deps;
    const { order } = placement;
    let opened: { write: AsmWrite; record: AsmRecord };
    try {
      opened = await asm.reopen(asm.nameFor(token), placement, block.blockId);
    } catch (err) {
      throw fromFsError(err, 'receiving a block');
    }
    const { write: w, record } = opened;
    try {
      const base = order * w.stride;
      if ((await w.data.stat()).size < base + block.offset) throw invalid('This block is incomplete on the server: send it again, starting with mkblk.');
      // The region is about to change: digests of its former bytes must go first, durably.
      if (record.digests) await eraseDigests(w, order, block.blockId);
      const hasher = hashes.take(block.blockId, block.offset);
      const got = await receive(w.data, base, block.offset, block.blockSize, body, hasher);
      const offset = block.offset + got.size;
      if (hasher && offset === block.blockSize) {
        await writeRecord(w.map, w.stride, order, { blockId: block.blockId, digests: hasher.finish() });
        await syncReceived(w.data, w.map);
      } else {
        if (hasher) hashes.keep(block.blockId, hasher);
        await syncReceived(w.data);
      }
      return this.blockAnswer(token, policy, { ...block, offset }, got);
    } catch (err) {
      throw fromFsError(err, 'receiving a block');
    } finally {
      await w.release();
    }
  }

  /**
   * A block continued by bput stays charged (mkblk charged all of it). One this process does not
   * know — a restart came between — is charged again, within the user's free space; true then.
   */
  private async keepCharged(token: string, policy: UploadPolicy, block: BlockCtx): Promise<boolean> {
    const { pending } = this.deps;
    if (pending.has(block.blockId)) {
      pending.touch(block.blockId);
      return false;
    }
    const room = await this.deps.room(policy);
    if (pending.has(block.blockId)) return false;
    pending.charge(policy.userId, this.deps.asm.nameFor(token), block.blockId, block.blockSize, block.placement !== undefined, room);
    return true;
  }

  /** Refuses a body by its Content-Length before reading it. */
  private checkDeclared(declared: number | undefined, blockSize: number, offset: number): void {
    if (declared === undefined) return;
    if (declared > this.options.maxBlockSize) throw new AppError('PAYLOAD_TOO_LARGE', `A chunk is at most ${this.options.maxBlockSize} bytes.`);
    if (offset + declared > blockSize) {
      throw invalid(`The chunk (${declared} bytes at offset ${offset}) goes beyond the end of the block (${blockSize} bytes).`);
    }
  }

  private blockAnswer(token: string, policy: UploadPolicy, ctx: BlockCtx, got: Omit<Received, 'size'>): BlockAnswer {
    const { secret, blockExpiryMs, uploadUrl, now } = this.options;
    const expires = Math.min(policy.deadline, now() + blockExpiryMs);
    return {
      ctx: encodeCtx(ctx, token, secret),
      checksum: got.checksum,
      crc32: got.crc,
      offset: ctx.offset,
      host: uploadUrl(),
      expired_at: Math.floor(expires / 1000),
    };
  }
}
