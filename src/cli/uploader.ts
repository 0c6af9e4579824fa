// Uploading one local file (docs/spec/API.md "Upload", docs/spec/UPLOAD.md): hash it, ask for a token (instant upload
// when the server knows the content), else send it as a form (small) or as 4 MiB blocks in
// parallel (large), resumable through a state file.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { EtagHasher, ETAG_BLOCK } from '../store/etag.js';
import { type ApiClient, ApiError, isFileObject, UploadService, type FileObject, type UploadTicket } from './api-client.js';
import { crc32 } from '../upload/crc32.js';
import { CliError } from './errors.js';
import type { Progress } from './progress.js';
import { deleteState, loadState, saveState, stateFile, unusableReason, type UploadIdentity, type UploadState } from './upload-state.js';

export const BLOCK_SIZE = ETAG_BLOCK;
const BLOCK_ATTEMPTS = 3;

export interface UploadOptions {
  /** Destination directory path in the drive, or `:torrent`. */
  dest: string;
  override: boolean;
  /** Name in the drive; default the local file's name. */
  name?: string;
  /** Blocks sent at the same time (memory use is about this many blocks). */
  parallel: number;
  stateDir: string;
  /** Name of the signed-in user, part of the resume key. */
  user: string;
  progress: Progress;
  /** Informational lines (resume notices). */
  log: (line: string) => void;
  /** Test hook: exit(3) after this many acknowledged blocks, as if the process were killed. */
  failAfterBlocks?: number;
}

export interface UploadOutcome {
  file: FileObject;
  /** `instant`: the server already had the content; `form` or `blocks`: bytes were sent. */
  mode: 'instant' | 'form' | 'blocks';
  /** Bytes actually sent in this run. */
  sentBytes: number;
}

/** The etag (docs/spec/UPLOAD.md) of a local file, read as a stream. */
export async function etagOfFile(path: string, onBytes: (done: number) => void = () => {}): Promise<string> {
  const hasher = new EtagHasher();
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hasher.update(chunk as Buffer);
    onBytes(hasher.size);
  }
  return hasher.digest();
}

export async function uploadFile(client: ApiClient, localPath: string, opts: UploadOptions): Promise<UploadOutcome> {
  const path = resolve(localPath);
  const st = await stat(path);
  if (st.isDirectory()) throw new CliError(`${localPath} is a directory (upload takes files)`);
  if (!st.isFile()) throw new CliError(`${localPath} is not a regular file`);
  const name = opts.name ?? basename(path);
  const size = st.size;

  if (size > BLOCK_SIZE) opts.progress.start(`hashing ${name}`, size);
  const hash = await etagOfFile(path, (done) => size > BLOCK_SIZE && opts.progress.update(done));

  const ticket = await client.storeToken({ name, hash, path: opts.dest, size, override: opts.override || undefined });
  const identity: UploadIdentity = { server: client.url, user: opts.user, localPath: path, size, mtimeMs: st.mtimeMs, dest: opts.dest, name };
  const file = stateFile(opts.stateDir, identity);
  if (isFileObject(ticket)) {
    deleteState(file);
    return { file: ticket, mode: 'instant', sentBytes: 0 };
  }
  if (typeof ticket.uploadUrl !== 'string' || typeof ticket.token !== 'string') {
    throw new ApiError(200, 'UPLOAD_ANSWER_INVALID', `/v1/store/token answered neither a file nor an upload ticket: ${JSON.stringify(ticket).slice(0, 200)}`);
  }

  if (size <= BLOCK_SIZE) {
    const handle = await open(path, 'r');
    let data: Buffer;
    try {
      data = await readExactly(handle, 0, size);
    } finally {
      await handle.close();
    }
    opts.progress.start(name, size);
    const result = await new UploadService(ticket.uploadUrl, ticket.token, randomUUID()).form(name, data);
    opts.progress.update(size);
    checkHash(result.hash, hash, localPath);
    return { file: result.file, mode: 'form', sentBytes: size };
  }

  const blocks = Math.ceil(size / BLOCK_SIZE);
  const fresh = (t: UploadTicket): UploadState => ({
    version: 1,
    identity,
    hash,
    uploadUrl: t.uploadUrl,
    token: t.token,
    batch: randomUUID(),
    blockSize: BLOCK_SIZE,
    ctxs: new Array<string | null>(blocks).fill(null),
    createdAt: Date.now(),
  });

  let state = loadState(file);
  let resumed = false;
  if (state) {
    const why = unusableReason(state, { identity, hash, blockSize: BLOCK_SIZE, blocks }, Date.now());
    if (why) {
      opts.log(`starting ${name} over: the saved partial upload cannot be resumed (${why})`);
      state = null;
    } else {
      const done = state.ctxs.filter(Boolean).length;
      opts.log(`resumed: ${done}/${blocks} blocks already uploaded`);
      resumed = done > 0;
    }
  }
  state ??= fresh(ticket);

  try {
    return await sendBlocks(path, name, size, hash, state, file, opts);
  } catch (err) {
    // The server forgot the saved blocks (cleaned up, restarted with another secret) or no longer
    // takes the saved token: start over with the ticket just issued.
    if (resumed && err instanceof ApiError && (err.status === 400 || err.status === 401)) {
      opts.log(`starting ${name} over: the server refused the saved partial upload (${err.code}: ${err.message})`);
      deleteState(file);
      return sendBlocks(path, name, size, hash, fresh(ticket), file, opts);
    }
    throw err;
  }
}

function checkHash(server: string, local: string, localPath: string): void {
  if (server !== local) {
    throw new CliError(`the server stored ${localPath} with hash ${server}, but its local hash is ${local}: did the file change while uploading?`);
  }
}

async function readExactly(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw new CliError('the file got shorter while it was being uploaded');
    got += bytesRead;
  }
  return buf;
}

/** Sends the blocks not acknowledged yet, `parallel` at a time, then assembles the file. */
async function sendBlocks(
  path: string,
  name: string,
  size: number,
  hash: string,
  state: UploadState,
  file: string,
  opts: UploadOptions,
): Promise<UploadOutcome> {
  const service = new UploadService(state.uploadUrl, state.token, state.batch);
  const blockLength = (order: number) => Math.min(BLOCK_SIZE, size - order * BLOCK_SIZE);
  const todo = state.ctxs.flatMap((ctx, order) => (ctx ? [] : [order]));
  let doneBytes = state.ctxs.reduce((sum, ctx, order) => (ctx ? sum + blockLength(order) : sum), 0);
  let sentBytes = 0;
  let acknowledged = 0;
  let next = 0;
  let failure: unknown = null;
  saveState(file, state);
  opts.progress.start(name, size);
  opts.progress.update(doneBytes);

  const handle = await open(path, 'r');
  const worker = async () => {
    while (failure === null && next < todo.length) {
      const order = todo[next++];
      const length = blockLength(order);
      // One block in memory per worker: memory stays at `parallel` blocks whatever the file size.
      const block = await readExactly(handle, order * BLOCK_SIZE, length);
      const answer = await withRetries(() => service.mkblk(order, block));
      if (answer.offset !== length)
        throw new ApiError(200, 'UPLOAD_ANSWER_INVALID', `block ${order}: the server acknowledged ${answer.offset} of ${length} bytes`);
      if (typeof answer.crc32 === 'number' && answer.crc32 !== crc32(block)) {
        throw new ApiError(200, 'UPLOAD_CORRUPTED', `block ${order}: CRC-32 mismatch (the bytes were damaged on the way)`);
      }
      state.ctxs[order] = answer.ctx;
      saveState(file, state);
      doneBytes += length;
      sentBytes += length;
      opts.progress.update(doneBytes);
      acknowledged++;
      if (opts.failAfterBlocks !== undefined && acknowledged >= opts.failAfterBlocks) {
        opts.progress.clear();
        process.stderr.write(`openpan: interrupted after ${acknowledged} blocks (OPENPAN_CLI_FAIL_AFTER_BLOCKS)\n`);
        process.exit(3);
      }
    }
  };
  try {
    const results = await Promise.allSettled(
      Array.from({ length: Math.max(1, Math.min(opts.parallel, todo.length)) }, () =>
        worker().catch((err: unknown) => {
          failure ??= err;
          throw err;
        }),
      ),
    );
    if (results.some((r) => r.status === 'rejected')) throw failure;
  } finally {
    await handle.close();
  }

  const result = await withRetries(() => service.mkfile(size, state.ctxs as string[]));
  checkHash(result.hash, hash, path);
  deleteState(file);
  return { file: result.file, mode: 'blocks', sentBytes };
}

/** Retries requests that failed on the way or with a server error; a 4xx answer is final. */
async function withRetries<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const transient = err instanceof ApiError && (err.status === 0 || err.status >= 500) && err.status !== 507;
      if (!transient || attempt >= BLOCK_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 500 * 2 ** (attempt - 1)));
    }
  }
}
