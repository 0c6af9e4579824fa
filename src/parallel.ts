// Bounded concurrency for I/O-bound work over many items: enough requests in flight to keep the
// disk and libuv's thread pool busy, never one per item (100,000 files must not mean 100,000
// pending operations).

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first failure (after the running calls end). */
export async function forEachInParallel<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  await mapInParallel(items, limit, fn);
}

/** `fn` over `items`, at most `limit` at a time; the results in the order of `items`. */
export async function mapInParallel<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  const outcomes = await Promise.allSettled(workers);
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
  return results;
}
