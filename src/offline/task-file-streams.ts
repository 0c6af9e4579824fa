import { open, type FileHandle } from 'node:fs/promises';
import { StreamRefusal } from '../engines/index.js';
import { AppError } from '../errors.js';
import type { DownloadLinks } from '../files/download-links.js';
import type { FilesService } from '../files/files.service.js';
import { openClaims, sealClaims } from '../sealed-claims.js';
import type { OfflineService, TaskFileSource } from './offline.service.js';

// Play while downloading: an address for one file of an offline task that works before the file
// is in the drive. Until then it serves the running download's own file, waiting for the bytes
// a reader asks for (which the engine then fetches first); once the file is in the drive the
// same address leads to the drive's file. The address is a sealed capability for that user's
// task file, expiring like download addresses, and it is checked again at every request: a
// removed task's file stops being served.

export const LIVE_PATH_PREFIX = '/live/';
const PURPOSE = 'openpan task file stream';
/** Bytes read from disk at a time. */
const READ_CHUNK = 1024 * 1024;

export interface TaskFileAddress {
  /** Signed, expiring: `/live/…` while downloading, the drive file's `/dl/…` once it is there. */
  address: string;
  name: string;
  size: number;
  /** The file is in the drive (`fileUuid`); the address is its download address. */
  inDrive: boolean;
  fileUuid: string;
  expires: number;
}

interface Claims {
  u: number;
  t: string;
  i: number;
  e: number;
}

/** What a `/live/` address leads to now. */
export type LiveTarget = { kind: 'drive'; address: string } | Extract<TaskFileSource, { kind: 'live' }>;

export interface TaskFileStreamsDeps {
  service: Pick<OfflineService, 'fileSource'>;
  files: Pick<FilesService, 'get'>;
  links: DownloadLinks;
  secret: string;
  ttlMs: number;
  publicUrl(): string;
}

export class TaskFileStreams {
  constructor(private readonly deps: TaskFileStreamsDeps) {}

  async address(userId: number, taskId: string, index: number, now = Date.now()): Promise<TaskFileAddress> {
    const source = await this.deps.service.fileSource(userId, taskId, index);
    if (source.kind === 'drive') {
      const file = await this.deps.files.get(userId, { uuid: source.fileUuid });
      const link = this.deps.links.forFile(file, now);
      return { address: link.downloadAddress, name: file.name, size: file.size, inDrive: true, fileUuid: file.uuid, expires: link.expires };
    }
    const expires = now + this.deps.ttlMs;
    const token = sealClaims(this.deps.secret, PURPOSE, { u: userId, t: taskId, i: index, e: expires } satisfies Claims);
    const address = `${this.deps.publicUrl()}${LIVE_PATH_PREFIX}${token}/${encodeURIComponent(source.name)}`;
    return { address, name: source.name, size: source.size, inDrive: false, fileUuid: '', expires };
  }

  /** What the address with this token leads to; FORBIDDEN when it was altered or expired. */
  async target(token: string, now = Date.now()): Promise<LiveTarget> {
    const claims = openClaims(this.deps.secret, PURPOSE, token) as Claims | null;
    if (claims === null || typeof claims.u !== 'number' || typeof claims.t !== 'string' || typeof claims.i !== 'number' || typeof claims.e !== 'number') {
      throw new AppError('FORBIDDEN', 'This address is invalid.');
    }
    if (now > claims.e) throw new AppError('FORBIDDEN', 'This address has expired; open the file again.');
    const source = await this.deps.service.fileSource(claims.u, claims.t, claims.i);
    if (source.kind === 'live') return source;
    const file = await this.deps.files.get(claims.u, { uuid: source.fileUuid });
    return { kind: 'drive', address: this.deps.links.forFile(file, now).downloadAddress };
  }
}

/**
 * Waits until the byte at `offset` of a live file can be read; the refusal (paused, ended) as a
 * TASK_FILE_UNAVAILABLE, and SERVICE_UNAVAILABLE when nothing came within `waitMs`.
 */
export async function waitForLiveBytes(file: LiveTarget & { kind: 'live' }, offset: number, signal: AbortSignal, waitMs: number): Promise<number> {
  const waiting = AbortSignal.any([signal, AbortSignal.timeout(waitMs)]);
  try {
    return await file.handle.readable(file.engineIndex, offset, waiting);
  } catch (err) {
    if (!(err instanceof StreamRefusal)) throw err;
    if (err.reason === 'aborted' && !signal.aborted) {
      throw new AppError('SERVICE_UNAVAILABLE', `No peer sent these bytes within ${Math.round(waitMs / 1000)} s; try again.`);
    }
    throw new AppError('TASK_FILE_UNAVAILABLE', `This file cannot be read now: ${err.message}`);
  }
}

/** Bytes `start`..`end` (inclusive) of a live file, each chunk as soon as it is on disk. */
export async function* liveBytes(
  file: LiveTarget & { kind: 'live' },
  range: { start: number; end: number },
  signal: AbortSignal,
  waitMs: number,
): AsyncGenerator<Buffer> {
  let handle: FileHandle | null = null;
  try {
    for (let at = range.start; at <= range.end; ) {
      const available = await waitForLiveBytes(file, at, signal, waitMs);
      // Opened once the first bytes are there, and kept: the import may move the file meanwhile.
      handle ??= await open(file.path, 'r');
      for (let left = Math.min(available, range.end - at + 1); left > 0; ) {
        const buffer = Buffer.allocUnsafe(Math.min(left, READ_CHUNK));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
        if (bytesRead === 0) throw new AppError('INTERNAL_ERROR', `The download's file ended at ${at} bytes.`);
        yield buffer.subarray(0, bytesRead);
        at += bytesRead;
        left -= bytesRead;
      }
    }
  } finally {
    await handle?.close();
  }
}
