import type { AssemblyStats } from './assemble.js';
import { Assemblies } from './assembly.js';
import { BlockUploads, type BlockAnswer } from './blocks.js';
import { AppError } from '../errors.js';
import { FileEntries, type FileDetails, type FileEntriesDeps, type UploadAnswer } from './file-entry.js';
import { formUpload, UntokenedBudget, type FormPart, type FormUploadDeps } from './form.js';
import { FileAssembler } from './mkfile.js';
import { PendingBlocks } from './pending.js';
import type { Body } from './receive.js';
import { RunningHashes } from './running-hashes.js';
import { Sweeper } from './sweep.js';
import { UploadDir } from './upload-dir.js';
import { verifyUploadToken, type UploadPolicy } from './upload-token.js';

export type { AssemblyStats } from './assemble.js';
export type { BlockAnswer } from './blocks.js';
export { uploadAnswer, type FileDetails, type UploadAnswer } from './file-entry.js';
export type { FormPart } from './form.js';
export type { Body } from './receive.js';

const MIB = 1024 * 1024;
export const DEFAULT_MAX_BLOCK_SIZE = 32 * MIB;
/** Qiniu's limit too: 10,000 blocks of 4 MiB is 39 GiB; larger blocks go further. */
export const DEFAULT_MAX_BLOCKS = 10_000;
/**
 * A form whose `file` comes before its `token` is received unauthenticated: it is held in
 * memory, never written, and kept small — per form, and across all forms in flight.
 */
export const DEFAULT_MAX_UNTOKENED_FORM_BYTES = MIB;
export const DEFAULT_MAX_UNTOKENED_BYTES_IN_FLIGHT = 64 * MIB;

/**
 * The files service, blob store, content lock and upload repository (the file-entry step uses
 * them all), and whether the session an upload token was issued in is still open.
 */
export interface UploadServiceDeps extends FileEntriesDeps {
  sessionOpen: (userId: number, session: string) => Promise<boolean>;
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
  /** Bytes of files before their token held by all forms in flight together. */
  maxUntokenedBytesInFlight?: number;
  /** How often abandoned blocks are swept; 0 disables the timer. Default: a quarter of the expiry, at most hourly. */
  sweepIntervalMs?: number;
  now?: () => number;
}

/**
 * The WCS/Qiniu-compatible upload service of docs/spec/UPLOAD.md: form upload (form.ts), and block
 * upload — mkblk/bput (blocks.ts) and mkfile (mkfile.ts, assemble.ts) — with self-contained
 * signed ctxs and block files on disk, so uploads survive a restart; abandoned uploads are
 * swept (sweep.ts). Bytes are streamed to disk and from disk into the blob store; nothing
 * holds more than a slice of a block in memory. This class only wires those parts together.
 */
export class UploadService {
  readonly maxBlockSize: number;
  readonly maxBlocks: number;
  readonly maxUntokenedFormBytes: number;
  /** Block bytes waiting for their mkfile, per user (pending.ts). */
  readonly pending: PendingBlocks;
  readonly untokened: UntokenedBudget;
  readonly stats: AssemblyStats = { inPlace: 0, blocksFromDigests: 0, blocksRehashed: 0, blocksCopiedIn: 0, copied: 0 };
  private readonly now: () => number;
  private readonly form: FormUploadDeps;
  private readonly blocks: BlockUploads;
  private readonly assembler: FileAssembler;
  private readonly sweeper: Sweeper;

  constructor(
    private readonly deps: UploadServiceDeps,
    private readonly options: UploadServiceOptions,
  ) {
    this.maxBlockSize = options.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE;
    this.maxBlocks = options.maxBlocks ?? DEFAULT_MAX_BLOCKS;
    this.maxUntokenedFormBytes = options.maxUntokenedFormBytes ?? DEFAULT_MAX_UNTOKENED_FORM_BYTES;
    this.now = options.now ?? Date.now;
    const { secret, blockExpiryMs, uploadUrl } = options;
    const now = this.now;
    const verify = (token: string) => this.verify(token);
    const dir = new UploadDir(options.dir);
    const asm = new Assemblies(options.dir, this.maxBlocks);
    const hashes = new RunningHashes(now);
    const entries = new FileEntries(deps);
    const pending = new PendingBlocks(now);
    this.pending = pending;
    this.untokened = new UntokenedBudget(options.maxUntokenedBytesInFlight ?? DEFAULT_MAX_UNTOKENED_BYTES_IN_FLIGHT);
    const room = async (policy: UploadPolicy) => (await entries.destination(policy)).room;
    this.form = { verify, store: deps.store, entries, pending, untokened: this.untokened };
    this.blocks = new BlockUploads({ verify, dir, asm, hashes, pending, room }, { secret, blockExpiryMs, uploadUrl, maxBlockSize: this.maxBlockSize, now });
    this.assembler = new FileAssembler({ verify, dir, asm, store: deps.store, entries, stats: this.stats, pending }, { secret, maxBlocks: this.maxBlocks });
    this.sweeper = new Sweeper({ dir: options.dir, asm, hashes, pending }, { blockExpiryMs, intervalMs: options.sweepIntervalMs, now });
  }

  /** Stops the sweep timer and waits for a sweep in progress. */
  close(): Promise<void> {
    return this.sweeper.close();
  }

  /**
   * Verifies an upload token and returns its policy: 401 when it is forged, altered, expired, or
   * the session it was issued in has ended (logout, a new password), as that session's token is.
   */
  async verify(token: string): Promise<UploadPolicy> {
    const policy = verifyUploadToken(token, this.options.secret, this.now());
    if (policy.session === undefined || !(await this.deps.sessionOpen(policy.userId, policy.session))) {
      throw new AppError(
        'UNAUTHORIZED',
        'The session this upload token was issued in has ended (signed out, or the password changed); ask /v1/store/token for a new one.',
      );
    }
    return policy;
  }

  /** Starts a block (blocks.ts); with a `blockOrder`, at its place in the upload's assembly file. */
  mkblk(token: string, blockSize: number, body: Body, declaredLength?: number, blockOrder?: number): Promise<BlockAnswer> {
    return this.blocks.mkblk(token, blockSize, body, declaredLength, blockOrder);
  }

  /** Continues a block at `offset`, which must be the ctx's offset (blocks.ts). */
  bput(token: string, ctx: string, offset: number, body: Body, declaredLength?: number): Promise<BlockAnswer> {
    return this.blocks.bput(token, ctx, offset, body, declaredLength);
  }

  /** Assembles the blocks named by `ctxList` into the file the token describes (mkfile.ts). */
  mkfile(token: string, fileSize: number, ctxList: string, details?: FileDetails): Promise<UploadAnswer> {
    return this.assembler.mkfile(token, fileSize, ctxList, details);
  }

  /** Form upload: fields `token` and `file` in any order, plus optional `mimeType` and `crc32` (form.ts). */
  formUpload(parts: AsyncIterable<FormPart>): Promise<UploadAnswer> {
    return formUpload(this.form, this.maxUntokenedFormBytes, parts);
  }

  /** Deletes block files (and finished-upload records) untouched for maxAgeMs; returns how many. */
  sweepBlocks(maxAgeMs: number = this.options.blockExpiryMs): Promise<number> {
    return this.sweeper.sweep(maxAgeMs);
  }
}
