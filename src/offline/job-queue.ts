import { AppError } from '../errors.js';
import { KeyedQueue } from './keyed-queue.js';

/**
 * The offline jobs' work, one piece at a time per job (different jobs run side by side): a
 * task's change and the reconcile after it never interleave with another's. Once closed, new
 * work is refused (SERVICE_UNAVAILABLE) and background kicks are dropped.
 */
export class JobQueue {
  readonly #queues = new KeyedQueue<string>();
  readonly #reconcile: (jobId: string) => Promise<void>;
  readonly #onError: (err: unknown, what: string) => void;
  #closing = false;

  /** `reconcile` takes a job's next step; it runs in the job's queue. */
  constructor(reconcile: (jobId: string) => Promise<void>, onError: (err: unknown, what: string) => void) {
    this.#reconcile = reconcile;
    this.#onError = onError;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Refuses new work and settles once the work queued so far has. */
  close(): Promise<void> {
    this.#closing = true;
    return this.#queues.idle();
  }

  /** Runs `fn` in the job's queue: nothing else happens to that job meanwhile. */
  run<T>(jobId: string, fn: () => Promise<T>): Promise<T> {
    return this.#queues.run(jobId, () => {
      if (this.#closing) throw new AppError('SERVICE_UNAVAILABLE', 'The server is shutting down.');
      return fn();
    });
  }

  /** Runs `fn` in the job's queue in the background; a failure is reported, unless closing. */
  background(jobId: string, what: string, fn: () => Promise<void>): void {
    if (this.#closing) return;
    this.run(jobId, fn).catch((err) => {
      if (!this.#closing) this.#onError(err, what);
    });
  }

  /** Reconciles the job in its queue; settles when that reconcile has. */
  reconcile(jobId: string): Promise<void> {
    return this.run(jobId, () => this.#reconcile(jobId));
  }

  /** Reconciles the job in its queue, in the background. */
  kick(jobId: string): void {
    this.background(jobId, `driving offline job ${jobId}`, () => this.#reconcile(jobId));
  }

  /** Runs `change` (a task was added, removed, paused, resumed) then reconciles the job, in its queue. */
  update<T>(jobId: string, change: () => Promise<T>): Promise<T> {
    return this.run(jobId, async () => {
      const result = await change();
      await this.#reconcile(jobId);
      return result;
    });
  }

  /** Whether work for the job is running or waiting. */
  busy(jobId: string): boolean {
    return this.#queues.busy(jobId);
  }
}
