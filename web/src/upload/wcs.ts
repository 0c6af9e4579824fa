// The WCS/Qiniu block-upload protocol of docs/spec/UPLOAD.md, as the browser speaks it: mkblk with a
// whole block (XHR, for upload progress events, which fetch does not give), then mkfile.
import { ApiError } from '../api/client.js';
import type { BlockAnswer, FileObject, UploadAnswer } from '../api/types.js';

export interface SendOptions {
  onProgress(loadedBytes: number): void;
  signal?: AbortSignal;
}

function send(method: string, url: string, token: string, body: Blob | string | FormData, contentType: string | null, options: SendOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // An abort before the request starts fires no event the request would hear.
    if (options.signal?.aborted) return reject(new ApiError('ABORTED', 0, 'The upload was cancelled.'));
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader('Authorization', `UpToken ${token}`);
    if (contentType) xhr.setRequestHeader('Content-Type', contentType);
    xhr.upload.onprogress = (event) => options.onProgress(event.loaded);
    xhr.onload = () => {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(xhr.responseText);
      } catch {
        // an answer that is not JSON is reported by status below
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(parsed);
      const failure = (parsed ?? {}) as { code?: string; message?: string; error?: string };
      reject(new ApiError(failure.code ?? 'UPLOAD_FAILED', xhr.status, failure.message ?? failure.error ?? `HTTP ${xhr.status}`));
    };
    xhr.onerror = () => reject(new ApiError('NETWORK', 0, 'The upload connection failed.'));
    xhr.onabort = () => reject(new ApiError('ABORTED', 0, 'The upload was cancelled.'));
    options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

/** Sends one whole block; `order` puts it straight into its place in the assembled file. */
export async function mkblk(uploadUrl: string, token: string, block: Blob, order: number, options: SendOptions): Promise<BlockAnswer> {
  const answer = (await send('POST', `${uploadUrl}/mkblk/${block.size}/${order}`, token, block, 'application/octet-stream', options)) as BlockAnswer;
  if (typeof answer?.ctx !== 'string' || answer.offset !== block.size)
    throw new ApiError('UPLOAD_INVALID', 200, 'The server acknowledged a different block size.');
  return answer;
}

/** Assembles the file from the last ctx of every block, in order; answers the file object. */
export async function mkfile(uploadUrl: string, token: string, size: number, ctxs: string[], signal?: AbortSignal): Promise<FileObject> {
  const answer = (await send('POST', `${uploadUrl}/mkfile/${size}`, token, ctxs.join(','), 'text/plain', { onProgress: () => {}, signal })) as UploadAnswer;
  return fileFromAnswer(answer);
}

/** Form upload, for the empty file (no block to make). */
export async function formUpload(uploadUrl: string, token: string, file: File, options: SendOptions): Promise<FileObject> {
  const form = new FormData();
  form.append('token', token);
  form.append('file', file, file.name);
  return fileFromAnswer((await send('POST', `${uploadUrl}/file/upload`, token, form, null, options)) as UploadAnswer);
}

/** `response` is the API's envelope as a string (the 6pan web client reads `.result`). */
function fileFromAnswer(answer: UploadAnswer | null): FileObject {
  const envelope = JSON.parse(answer?.response ?? 'null') as { result?: FileObject } | null;
  if (!envelope?.result) throw new ApiError('BAD_ANSWER', 200, 'The upload service did not return the created file.');
  return envelope.result;
}
