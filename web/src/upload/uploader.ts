// One file's upload, start to finish: etag in the worker → /v1/store/token (instant upload when
// the server knows the hash) → blocks in parallel with mkblk → mkfile. Acknowledged blocks are
// saved after each block so a reload can resume (resume-store.ts).
import { ApiError, type Api } from '../api/client.js';
import { isFileObject, type FileObject, type UploadTicket } from '../api/types.js';
import { BLOCK_SIZE, blockCount } from './etag.js';
import { computeEtag } from './hash.js';
import { RateMeter } from './rate.js';
import { forgetUpload, loadUpload, saveUpload, type SavedUpload } from './resume-store.js';
import { formUpload, mkblk, mkfile } from './wcs.js';

/** Blocks in flight at once for one file. */
export const PARALLEL_BLOCKS = 3;
const RETRIES = 3;

export type UploadPhase = 'waiting' | 'hashing' | 'checking' | 'uploading' | 'instant' | 'done' | 'failed';

export interface UploadProgress {
  phase: UploadPhase;
  hashedBytes: number;
  sentBytes: number;
  /** bytes/s over the last seconds */
  rate: number;
  /** Blocks found already on the server after a reload. */
  resumedBlocks: number;
  error?: ApiError;
  file?: FileObject;
}

export type ProgressListener = (patch: Partial<UploadProgress>) => void;

/** Stops an upload whose page signed out: not one more request, not one more saved record. */
function stopIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new ApiError('ABORTED', 0, 'The upload was cancelled.');
}

/** Uploads `file` into the folder at path `folder` (or `:torrent`); resolves with the created file. */
export async function uploadFile(api: Api, file: File, folder: string, update: ProgressListener, signal?: AbortSignal): Promise<FileObject> {
  update({ phase: 'hashing', hashedBytes: 0 });
  const etag = await computeEtag(file, (hashedBytes) => update({ hashedBytes }));
  stopIfAborted(signal);
  update({ phase: 'checking', hashedBytes: file.size });
  const answer = await api.storeToken(file.name, etag, folder);
  if (isFileObject(answer)) {
    forgetUpload(etag, folder, file.name);
    update({ phase: 'instant', sentBytes: file.size, file: answer });
    return answer;
  }
  const saved = loadUpload(etag, folder, file.name);
  try {
    const created = await sendBlocks(file, etag, folder, saved ?? freshState(file, folder, answer), update, signal);
    update({ phase: 'done', file: created });
    return created;
  } catch (err) {
    // A resumed upload the server no longer knows (expired blocks, new secret): start over once.
    if (saved && !signal?.aborted && err instanceof ApiError && (err.code === 'UPLOAD_INVALID' || err.status === 401)) {
      forgetUpload(etag, folder, file.name);
      update({ resumedBlocks: 0, sentBytes: 0 });
      const created = await sendBlocks(file, etag, folder, freshState(file, folder, answer), update, signal);
      update({ phase: 'done', file: created });
      return created;
    }
    throw err;
  }
}

function freshState(file: File, folder: string, ticket: UploadTicket): SavedUpload {
  return { name: file.name, folder, size: file.size, uploadUrl: ticket.uploadUrl, token: ticket.token, blockSize: BLOCK_SIZE, ctxs: {}, savedAt: Date.now() };
}

async function sendBlocks(file: File, etag: string, folder: string, state: SavedUpload, update: ProgressListener, signal?: AbortSignal): Promise<FileObject> {
  const meter = new RateMeter();
  if (file.size === 0) {
    update({ phase: 'uploading', sentBytes: 0 });
    return formUpload(state.uploadUrl, state.token, file, { onProgress: () => {}, signal });
  }
  const blocks = blockCount(file.size);
  const blockBytes = (i: number) => Math.min(BLOCK_SIZE, file.size - i * BLOCK_SIZE);
  const todo: number[] = [];
  let acknowledged = 0;
  for (let i = 0; i < blocks; i++) {
    if (state.ctxs[i]) acknowledged += blockBytes(i);
    else todo.push(i);
  }
  const resumedBlocks = blocks - todo.length;
  const inFlight = new Map<number, number>();
  const report = () => {
    let sent = acknowledged;
    for (const loaded of inFlight.values()) sent += loaded;
    update({ phase: 'uploading', sentBytes: sent, rate: meter.record(sent - resumedBytes) });
  };
  const resumedBytes = acknowledged;
  update({ phase: 'uploading', resumedBlocks, sentBytes: acknowledged, rate: 0 });

  const sendOne = async (index: number) => {
    const block = file.slice(index * BLOCK_SIZE, index * BLOCK_SIZE + blockBytes(index));
    for (let attempt = 1; ; attempt++) {
      stopIfAborted(signal);
      inFlight.set(index, 0);
      try {
        const answer = await mkblk(state.uploadUrl, state.token, block, index, {
          signal,
          onProgress: (loaded) => {
            inFlight.set(index, loaded);
            report();
          },
        });
        inFlight.delete(index);
        stopIfAborted(signal);
        acknowledged += block.size;
        state.ctxs[index] = answer.ctx;
        saveUpload(etag, state);
        report();
        return;
      } catch (err) {
        inFlight.delete(index);
        // Only a dropped connection is worth repeating; a refusal would be refused again.
        if (!(err instanceof ApiError) || err.code !== 'NETWORK' || attempt >= RETRIES) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  };
  const queue = [...todo];
  const worker = async () => {
    for (let index = queue.shift(); index !== undefined; index = queue.shift()) await sendOne(index);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_BLOCKS, queue.length) }, worker));
  const ctxs = Array.from({ length: blocks }, (_, i) => state.ctxs[i]);
  stopIfAborted(signal);
  const created = await mkfile(state.uploadUrl, state.token, file.size, ctxs, signal);
  forgetUpload(etag, folder, file.name);
  return created;
}
