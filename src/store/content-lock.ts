/**
 * An in-process readers/writer lock between the code that makes content referenced (uploads
 * and imports: commit bytes, then create the file entry, under `shared`) and the garbage
 * collector (find unreferenced blobs, delete row and bytes, under `exclusive`). Any number of
 * shared holders run together; an exclusive holder runs alone.
 *
 * Waiters are served in arrival order, so a steady stream of uploads cannot starve the
 * collector and a collector pass cannot starve uploads that arrived before the next pass.
 * It protects one process only: several API processes need a database-level guard instead.
 */
export class ContentLock {
  private readers = 0;
  private writer = false;
  private readonly waiting: Array<{ exclusive: boolean; grant: () => void }> = [];

  shared<T>(fn: () => Promise<T>): Promise<T> {
    return this.run(false, fn);
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.run(true, fn);
  }

  /** Holders and waiters right now; for tests and diagnostics. */
  get state(): { readers: number; writer: boolean; waiting: number } {
    return { readers: this.readers, writer: this.writer, waiting: this.waiting.length };
  }

  private async run<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    await this.acquire(exclusive);
    try {
      return await fn();
    } finally {
      if (exclusive) this.writer = false;
      else this.readers--;
      this.dispatch();
    }
  }

  private acquire(exclusive: boolean): Promise<void> {
    if (this.waiting.length === 0 && this.canEnter(exclusive)) {
      this.enter(exclusive);
      return Promise.resolve();
    }
    return new Promise((grant) => this.waiting.push({ exclusive, grant }));
  }

  private canEnter(exclusive: boolean): boolean {
    return exclusive ? !this.writer && this.readers === 0 : !this.writer;
  }

  private enter(exclusive: boolean): void {
    if (exclusive) this.writer = true;
    else this.readers++;
  }

  /** Admits waiters from the front of the queue while they fit (a run of readers, or one writer). */
  private dispatch(): void {
    while (this.waiting.length > 0 && this.canEnter(this.waiting[0].exclusive)) {
      const next = this.waiting.shift()!;
      this.enter(next.exclusive);
      next.grant();
    }
  }
}
