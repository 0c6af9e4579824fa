import { AppError } from '../errors.js';

/**
 * `source` (a request body, a form's parts) with a deadline on every wait for the client's next
 * bytes: when none come for `ms`, `expire` is called — it closes the connection, so the socket
 * and whatever the upload holds are freed — and the iteration fails. Only waiting for the
 * client counts: while the server works on a chunk (disk, hashing) no clock runs, and a slow
 * body that keeps moving is never cut. `ms` 0: no deadline.
 */
export async function* idleGuard<T>(source: AsyncIterable<T>, ms: number, expire: () => void): AsyncGenerator<T> {
  if (ms <= 0) return yield* source;
  const it = source[Symbol.asyncIterator]();
  let expired = false;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          expired = true;
          reject(new AppError('UPLOAD_INVALID', `No bytes of the request arrived for ${ms / 1000} s: the connection was closed.`));
          expire();
        }, ms);
      });
      let next: IteratorResult<T>;
      try {
        next = await Promise.race([it.next(), deadline]);
      } finally {
        clearTimeout(timer);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // After a deadline the source's own wait is still pending (it ends with the connection):
    // returning it would wait for that.
    if (!expired) await it.return?.();
  }
}
