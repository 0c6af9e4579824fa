import { setTimeout as sleep } from 'node:timers/promises';
import { asFetchError, FetchError } from '../../net/index.js';
import { ContentChanged, type TransferConfig } from './transfer-host.js';

/** Retries `fn` on transient failures with exponential backoff and jitter; `progressed` resets the count. */
export async function withRetries<T>(cfg: TransferConfig, signal: AbortSignal, fn: () => Promise<T>, progressed: () => boolean = () => false): Promise<T> {
  let failures = 0;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      signal.throwIfAborted();
      if (err instanceof ContentChanged || !isNetworkSide(err)) throw err;
      const fe = asFetchError(err);
      if (!fe.transient) throw fe;
      if (progressed()) failures = 0;
      if (++failures > cfg.retries) throw fe;
      const delay = Math.min(30_000, cfg.retryDelayMs * 2 ** (failures - 1)) * (0.5 + Math.random());
      await sleep(delay, undefined, { signal });
    }
  }
}

/** Filesystem errors (errno codes from fs calls) are not retried here; everything else is the network's. */
function isNetworkSide(err: unknown): boolean {
  if (err instanceof FetchError) return true;
  const syscall = (err as NodeJS.ErrnoException | null)?.syscall;
  return !(typeof syscall === 'string' && ['open', 'write', 'read', 'ftruncate', 'fsync', 'fdatasync', 'close', 'rename', 'unlink', 'mkdir'].includes(syscall));
}
