import { isDescriptorExhaustion, DescriptorsExhaustedError } from '../fd-pool.js';
import type { EngineFailure } from '../engine.js';
import { engineFailure, failureFromFsError } from '../failures.js';

/** Errors from WebTorrent and the filesystem → a failure with a stable code. */
export function failureFromError(err: unknown): EngineFailure {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | null)?.code;
  // The pool's DescriptorsExhaustedError says what happened and what to do; a bare EMFILE gets the same sense.
  if (isDescriptorExhaustion(err) && !(err instanceof DescriptorsExhaustedError)) {
    return engineFailure('IO_ERROR', `Too many open files in the server (${code}): ${message}`);
  }
  const fs = failureFromFsError(err);
  if (fs !== null) return fs;
  if (/duplicate torrent/i.test(message)) return engineFailure('DUPLICATE_JOB', message);
  return engineFailure('ENGINE_ERROR', message);
}
