import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { FileObject } from '../files/file-object.js';
import type { BlobInfo } from '../store/blob-store.js';
import { ETAG_BLOCK } from '../store/etag.js';
import { errnoOf, unlinkIfExists } from '../store/fs-util.js';
import { assembleByCopy, assembleInPlace, shortBlock, type AssembleDeps, type Source } from './assemble.js';
import { decodeCtx, type BlockCtx } from './ctx.js';
import { checkSize, type FileDetails, type FileEntries, type UploadAnswer } from './file-entry.js';
import { invalid } from './invalid.js';
import type { PendingBlocks } from './pending.js';
import type { UploadDir } from './upload-dir.js';
import type { UploadPolicy } from './upload-token.js';

export interface MkfileDeps extends AssembleDeps {
  /** Verifies an upload token (401 when forged, expired or its session ended) and returns its policy. */
  verify: (token: string) => Promise<UploadPolicy>;
  dir: UploadDir;
  entries: FileEntries;
  /** Block bytes waiting for mkfile, per user: what mkfile consumes is no longer waiting. */
  pending: PendingBlocks;
}

export interface MkfileOptions {
  /** Verifies ctxs. */
  secret: string;
  maxBlocks: number;
}

/** The rules of docs/spec/UPLOAD.md for a ctx list: complete blocks, uniform size, the announced total. */
function checkBlocks(blocks: BlockCtx[], fileSize: number): void {
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
      if (blocks[i].blockSize !== size)
        throw invalid(`Every block but the last must have the same size: block ${i} has ${blocks[i].blockSize}, block 0 has ${size}.`);
    }
    const last = blocks[blocks.length - 1].blockSize;
    if (last > size) throw invalid(`The last block (${last} bytes) is larger than the others (${size} bytes).`);
  }
  if (total !== fileSize) throw invalid(`The blocks hold ${total} bytes but mkfile announced ${fileSize}.`);
}

/**
 * Block upload's finishing half (mkfile): checks the ctx list, finds every block, assembles
 * them in place or by copy (assemble.ts), creates the file and cleans up. A retry of a
 * mkfile still running joins it; one that already succeeded is answered from its record.
 */
export class FileAssembler {
  /** mkfile calls in progress, by token and ctx list: a client's retry joins the first call. */
  private readonly finishing = new Map<string, Promise<UploadAnswer>>();

  constructor(
    private readonly deps: MkfileDeps,
    private readonly options: MkfileOptions,
  ) {}

  /**
   * Assembles the blocks named by `ctxList` (their last ctxs, in file order, comma-separated)
   * into one stored content and creates the file the token describes.
   */
  async mkfile(token: string, fileSize: number, ctxList: string, details: FileDetails = {}): Promise<UploadAnswer> {
    const policy = await this.deps.verify(token);
    if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw invalid(`The file size must be a non-negative integer, got ${fileSize}.`);
    const ctxs = ctxList.trim() === '' ? [] : ctxList.split(',').map((c) => c.trim());
    const id = createHash('sha256').update(token).update('\n').update(String(fileSize)).update('\n').update(ctxs.join(',')).digest('hex');
    const running = this.finishing.get(id);
    if (running !== undefined) return running;
    const work = this.assemble(id, token, policy, fileSize, ctxs, details);
    this.finishing.set(id, work);
    try {
      return await work;
    } finally {
      this.finishing.delete(id);
    }
  }

  private async assemble(id: string, token: string, policy: UploadPolicy, fileSize: number, ctxs: string[], details: FileDetails): Promise<UploadAnswer> {
    const { asm, dir, entries } = this.deps;
    const { maxBlocks, secret } = this.options;
    if (ctxs.length > maxBlocks) throw invalid(`An upload has at most ${maxBlocks} blocks, got ${ctxs.length}.`);
    const blocks = ctxs.map((c, i) => {
      if (c === '') throw invalid(`The ctx list has an empty entry at position ${i}.`);
      return decodeCtx(c, token, secret);
    });
    checkBlocks(blocks, fileSize);

    // A retry of a mkfile that succeeded (its answer was lost): the blocks are gone, the file is not.
    const replay = await this.replay(id, policy, details);
    if (replay) return replay;

    const dest = await entries.destination(policy);
    checkSize(policy, fileSize, dest.room);
    const name = asm.nameFor(token);
    const usesAsm = blocks.some((b) => b.placement);
    // Writers of the assembly are kept out from here on: what is hashed is what is stored.
    const reopen = usesAsm ? await asm.exclusive(name) : null;
    try {
      const sources = await this.locate(name, blocks);
      const size0 = blocks[0]?.blockSize ?? 0;
      const inPlace = usesAsm && sources.every((src, i) => src.kind === 'file' || src.start === i * size0);
      const commit = inPlace ? await assembleInPlace(this.deps, name, blocks, sources, fileSize) : await assembleByCopy(this.deps, name, blocks, sources);
      const blockIds = blocks.map((b) => b.blockId);
      const onCreateFailed = inPlace
        ? async (stored: BlobInfo) => {
            // The bytes are in the store and the blocks are gone: a retry must find them by replay.
            this.deps.pending.consumed(name, blockIds, true);
            await dir.remember(id, stored);
          }
        : undefined;
      const answer = await entries.complete(policy, dest.dir, details, commit, onCreateFailed);
      const file = JSON.parse(answer.response).result as FileObject;
      await dir.remember(id, { etag: file.storeId, size: file.size });
      await Promise.all(sources.map((src) => (src.kind === 'file' ? unlinkIfExists(src.path).catch(() => undefined) : undefined)));
      if (usesAsm && !inPlace) await asm.remove(name).catch(() => undefined);
      this.deps.pending.consumed(name, blockIds, usesAsm);
      return answer;
    } finally {
      reopen?.();
    }
  }

  /** The answer of a mkfile that succeeded before, or null when there is none to give. */
  private async replay(id: string, policy: UploadPolicy, details: FileDetails): Promise<UploadAnswer | null> {
    const stored = await this.deps.dir.recall(id);
    return stored ? this.deps.entries.recreate(policy, stored, details) : null;
  }

  /** Where each listed block is; 400 when one is missing (expired, replaced, never sent) or short. */
  private async locate(name: string, blocks: BlockCtx[]): Promise<Source[]> {
    const orders = blocks.flatMap((b) => (b.placement ? [b.placement.order] : []));
    const asm = orders.length > 0 ? await this.deps.asm.inspect(name, orders) : null;
    const missing = (i: number) => invalid(`Block ${i} is missing on the server (expired or never sent): upload it again.`);
    return Promise.all(
      blocks.map(async (b, i): Promise<Source> => {
        if (b.placement) {
          const record = asm?.records.get(b.placement.order);
          if (!asm || !record || record.blockId !== b.blockId || asm.stride !== b.placement.stride) throw missing(i);
          const start = b.placement.order * b.placement.stride;
          if (asm.size < start + b.blockSize) throw shortBlock(i);
          return { kind: 'asm', start, record };
        }
        const path = await this.deps.dir.blockPath(b.blockId);
        let size: number;
        try {
          size = (await stat(path)).size;
        } catch (err) {
          if (errnoOf(err) === 'ENOENT') throw missing(i);
          throw err;
        }
        if (size < b.blockSize) throw shortBlock(i);
        return { kind: 'file', path };
      }),
    );
  }
}
