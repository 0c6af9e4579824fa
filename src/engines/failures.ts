import { isDiskFullError } from '../errors.js';
import type { EngineErrorCode, EngineFailure } from './engine.js';

/**
 * What starting a job again after each engine error can do — the one table both engines, the
 * fake engine and the scheduler read:
 *   never  the source, the selection or the policy is wrong: again gives the same answer;
 *   later  may succeed once something outside changes (peers appear, space is freed): the job
 *          fails, and the user's resume starts it again;
 *   now    a passing fault (the network, the disk, the engine itself): the scheduler starts the
 *          job again by itself after a short wait, a few times.
 * `EngineFailure.retryable` is "not never".
 */
export type RetryKind = 'never' | 'later' | 'now';

const RETRY: Readonly<Record<Exclude<EngineErrorCode, `HTTP_${number}`>, RetryKind>> = {
  SOURCE_INVALID: 'never',
  PROTOCOL_UNSUPPORTED: 'never',
  SELECTION_INVALID: 'never',
  DUPLICATE_JOB: 'never',
  URL_FORBIDDEN: 'never',
  REDIRECT_INVALID: 'never',
  SPACE_EXCEEDED: 'never',
  NO_PEERS_TIMEOUT: 'later',
  DISK_FULL: 'later',
  IO_ERROR: 'now',
  ENGINE_ERROR: 'now',
  NETWORK_ERROR: 'now',
  SIZE_MISMATCH: 'now',
};

/** An HTTP status the origin answered with after the engine's own retries: the server side's trouble, a timeout, or a rate limit may pass. */
function httpRetry(status: number): RetryKind {
  return status >= 500 || status === 408 || status === 429 ? 'now' : 'never';
}

export function retryKindOf(code: EngineErrorCode): RetryKind {
  if (code.startsWith('HTTP_')) return httpRetry(Number(code.slice(5)));
  return RETRY[code as keyof typeof RETRY] ?? 'never';
}

/** A failure with the retryability of its code. */
export function engineFailure(code: EngineErrorCode, message: string): EngineFailure {
  return { code, message, retryable: retryKindOf(code) !== 'never' };
}

/** Whether the scheduler starts a job that failed so again by itself (attempts permitting). */
export function retriesAtOnce(failure: EngineFailure): boolean {
  return failure.retryable && retryKindOf(failure.code) === 'now';
}

/** A filesystem error under the job's directory → DISK_FULL or IO_ERROR; null for anything else. */
export function failureFromFsError(err: unknown): EngineFailure | null {
  const message = err instanceof Error ? err.message : String(err);
  if (isDiskFullError(err)) return engineFailure('DISK_FULL', `No space left on the download disk: ${message}`);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return engineFailure('IO_ERROR', message);
  return null;
}
