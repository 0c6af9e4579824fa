import { AppError, isAppError } from '../errors.js';
import type { BlobStore, BlobWriter } from '../store/blob-store.js';
import { Crc32 } from './crc32.js';
import { checkSize, type Destination, type FileEntries, type UploadAnswer } from './file-entry.js';
import { invalid } from './invalid.js';
import type { PendingBlocks } from './pending.js';
import type { Body } from './receive.js';
import { mediaTypeOf } from './media-type.js';
import { assertRoom } from '../files/space.js';
import { UNFINISHED_UPLOADS } from './space.js';
import type { UploadPolicy } from './upload-token.js';

/** One part of a multipart form, in the order the client sent them. */
export type FormPart = { kind: 'field'; name: string; value: string } | { kind: 'file'; name: string; stream: Body };

export interface FormUploadDeps {
  /** Verifies an upload token (401 when forged, expired or its session ended) and returns its policy. */
  verify: (token: string) => Promise<UploadPolicy>;
  store: BlobStore;
  entries: FileEntries;
  /** Block bytes waiting for mkfile, per user: a form's file must fit beside them. */
  pending: PendingBlocks;
  /** Memory for files that arrive before their token, shared by every form in flight. */
  untokened: UntokenedBudget;
}

/**
 * Bytes of files held in memory because their token has not arrived yet, across every form in
 * flight: however many connections send a file first, together they hold at most `limit`.
 */
export class UntokenedBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Takes `bytes` of the budget; false (nothing taken) when they do not fit. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get inUse(): number {
    return this.used;
  }
}

function tokenFirst(message: string): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `${message}: put the "token" field before the file, or use block upload.`);
}

/**
 * Form upload: fields `token` and `file` in any order (plus optional `mimeType`, `crc32`; a
 * `key` is read past: the token names the file).
 * Nothing reaches the disk before the token verifies: a file that comes first is held in
 * memory, at most maxUntokenedFormBytes of it (and within the budget shared by every form),
 * and written once the token, arriving after it, verifies. A file after its token streams to
 * the store as it arrives, within the user's free space beside their waiting blocks.
 */
export async function formUpload(deps: FormUploadDeps, maxUntokenedFormBytes: number, parts: AsyncIterable<FormPart>): Promise<UploadAnswer> {
  const { verify, store, entries, pending, untokened } = deps;
  let token: string | null = null;
  let policy: UploadPolicy | null = null;
  let dest: Destination | null = null;
  let mime: string | undefined;
  let expectedCrc: number | undefined;
  let writer: BlobWriter | null = null;
  /** The file's bytes while its token has not arrived (they hold `held` bytes of the budget). */
  let early: Uint8Array[] | null = null;
  let held = 0;
  let received = 0;
  const crc = new Crc32();
  /** The 413 for `size` bytes that do not fit the token's limit or the user's space; null when they fit. */
  const tooBig = (size: number): AppError | null => {
    try {
      checkSize(policy!, size, Number.MAX_SAFE_INTEGER);
      assertRoom({ size, room: dest!.room, reserved: { bytes: pending.of(policy!.userId), by: UNFINISHED_UPLOADS } });
      return null;
    } catch (err) {
      if (isAppError(err)) return err;
      throw err;
    }
  };
  try {
    for await (const part of parts) {
      if (part.kind === 'field') {
        if (part.name === 'token' && token === null) {
          token = part.value;
          policy = await verify(token);
          dest = await entries.destination(policy);
          if (early) {
            const refused = tooBig(received);
            if (refused) throw refused;
            writer = await store.createWriter();
            for (const chunk of early) await writer.write(chunk);
            early = null;
          }
        } else if (part.name === 'mimeType') {
          mime = mediaTypeOf(part.value);
        } else if (part.name === 'crc32' && part.value !== '') {
          if (!/^\d{1,10}$/.test(part.value)) throw invalid('Field "crc32" must be an unsigned 32-bit decimal number.');
          expectedCrc = Number(part.value);
        }
        continue;
      }
      if (part.name !== 'file' || writer || early) {
        // Not ours, or a second file: read past it so the form can go on.
        for await (const _ of part.stream) void _;
        continue;
      }
      if (!policy) early = [];
      else writer = await store.createWriter();
      for await (const chunk of part.stream) {
        received += chunk.length;
        crc.update(chunk);
        if (writer) {
          if (tooBig(received)) {
            // The answer names the file's size, not what had arrived of it: the rest is read and dropped.
            await writer.abort();
            writer = null;
            for await (const rest of part.stream) received += rest.length;
            throw tooBig(received)!;
          }
          await writer.write(chunk);
          continue;
        }
        if (received > maxUntokenedFormBytes) throw tokenFirst(`A file sent before its token may be at most ${maxUntokenedFormBytes} bytes`);
        if (!untokened.take(chunk.length)) throw tokenFirst('The server holds too many files sent before their token right now');
        held += chunk.length;
        // A copy of exactly its bytes: a slice would pin the parser's larger buffer, which the
        // budget does not count.
        early!.push(Buffer.from(chunk));
      }
    }
    if (!policy || !dest) throw new AppError('UNAUTHORIZED', 'The form has no "token" field.');
    if (!writer) throw invalid('The form has no "file" field.');
    if (expectedCrc !== undefined && expectedCrc !== crc.value) {
      throw invalid(`The file's CRC-32 is ${crc.value}, but the form announced ${expectedCrc}: the bytes were damaged on the way.`);
    }
    const done = writer;
    writer = null;
    return await entries.complete(policy, dest.dir, { mime }, () => done.commit());
  } finally {
    early = null;
    untokened.give(held);
    await writer?.abort();
  }
}
