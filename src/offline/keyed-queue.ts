/**
 * Runs work one at a time per key (a job, a user), in the order it was asked for; different keys
 * run side by side. A failure of one piece of work does not stop the next.
 */
export class KeyedQueue<K> {
  readonly #tails = new Map<K, Promise<void>>();

  run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Whether work for `key` is running or waiting. */
  busy(key: K): boolean {
    return this.#tails.has(key);
  }

  /** Settles once everything queued so far has. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#tails.values()]);
  }
}
