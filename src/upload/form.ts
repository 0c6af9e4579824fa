import { AppError } from '../errors.js';
import type { BlobStore, BlobWriter } from '../store/blob-store.js';
import { Crc32 } from './crc32.js';
import { checkSize, type Destination, type FileEntries, type UploadAnswer } from './file-entry.js';
import { invalid } from './invalid.js';
import type { Body } from './receive.js';
import type { UploadPolicy } from './upload-token.js';

/** One part of a multipart form, in the order the client sent them. */
export type FormPart =
  | { kind: 'field'; name: string; value: string }
  | { kind: 'file'; name: string; stream: Body };

export interface FormUploadDeps {
  /** Verifies an upload token (401 when forged or expired) and returns its policy. */
  verify: (token: string) => UploadPolicy;
  store: BlobStore;
  entries: FileEntries;
}

/**
 * Form upload: fields `token` and `file` in any order (plus optional `key`, `crc32`).
 * A file before its token is streamed to the store anyway (up to maxUntokenedFormBytes) and
 * dropped unless the token, once it arrives, verifies.
 */
export async function formUpload({ verify, store, entries }: FormUploadDeps, maxUntokenedFormBytes: number, parts: AsyncIterable<FormPart>): Promise<UploadAnswer> {
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
          policy = verify(token);
          dest = await entries.destination(policy);
          if (writer) checkSize(policy, received, dest.room);
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
      writer = await store.createWriter();
      for await (const chunk of part.stream) {
        received += chunk.length;
        if (policy && dest) checkSize(policy, received, dest.room);
        else if (received > maxUntokenedFormBytes) {
          throw new AppError(
            'PAYLOAD_TOO_LARGE',
            `A file sent before its token may be at most ${maxUntokenedFormBytes} bytes: put the "token" field first, or use block upload.`,
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
    return await entries.complete(policy, dest.dir, key ?? policy.name, () => done.commit());
  } finally {
    await writer?.abort();
  }
}
