import type { TaskChange } from './offline.repo.js';

// The in-process fan-out of task changes to the event streams (`/v1/offline/events`) of their
// owner. The repository reports every write to a task; each stream subscribes for its user.

export type TaskChangeListener = (change: TaskChange) => void;

export class TaskEvents {
  readonly #byUser = new Map<number, Set<TaskChangeListener>>();

  publish(change: TaskChange): void {
    const listeners = this.#byUser.get(change.userId);
    if (listeners === undefined) return;
    for (const listener of [...listeners]) listener(change);
  }

  /** Returns the function that unsubscribes. */
  subscribe(userId: number, listener: TaskChangeListener): () => void {
    let set = this.#byUser.get(userId);
    if (set === undefined) {
      set = new Set();
      this.#byUser.set(userId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#byUser.get(userId) === set) this.#byUser.delete(userId);
    };
  }

  /** Streams open now (all users). */
  get subscribers(): number {
    let n = 0;
    for (const set of this.#byUser.values()) n += set.size;
    return n;
  }
}
