import type { EngineEventName, EngineEvents, EngineListener } from './engine.js';

type AnyListener = (...args: unknown[]) => void;

/**
 * The engine handles' events. Not Node's EventEmitter: an `error` with no listener must not throw
 * (failures are also in `status()` and `settled`), and a listener that throws must not break
 * the engine's bookkeeping — it is rethrown on a later microtask (an uncaught exception) instead.
 */
export class EngineListeners {
  readonly #listeners = new Map<EngineEventName, Set<AnyListener>>();

  on<E extends EngineEventName>(event: E, listener: EngineListener<E>): void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as unknown as AnyListener);
  }

  off<E extends EngineEventName>(event: E, listener: EngineListener<E>): void {
    this.#listeners.get(event)?.delete(listener as unknown as AnyListener);
  }

  emit<E extends EngineEventName>(event: E, ...args: EngineEvents[E]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
