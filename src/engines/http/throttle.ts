import { setTimeout as sleep } from 'node:timers/promises';

// A token bucket shared by every connection of an engine: the download limit is global, as the
// BitTorrent engine's is. Debt is allowed (a chunk already received is never split): the next
// taker waits until the bucket is positive again.

export class Throttle {
  #tokens: number;
  #last = Date.now();

  constructor(readonly bytesPerSecond: number) {
    this.#tokens = bytesPerSecond / 10;
  }

  /** Accounts for `bytes` just received; resolves when the next read may happen. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    const burst = this.bytesPerSecond / 10;
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#last) / 1000) * this.bytesPerSecond);
    this.#last = now;
    this.#tokens -= bytes;
    if (this.#tokens >= 0) return;
    const waitMs = Math.ceil((-this.#tokens / this.bytesPerSecond) * 1000);
    await sleep(waitMs, undefined, { signal }).catch(() => {});
  }
}
