import { resolve } from 'node:path';
import {
  FINAL_STATES,
  type EngineEventName,
  type EngineHandle,
  type EngineJob,
  type EngineListener,
  type EngineState,
  type EngineStatus,
  type PieceVerifyingHandle,
  StreamRefusal,
} from './engine.js';
import { EngineListeners } from './listeners.js';

/** What an engine does for the handles of its jobs. */
export interface JobControl<J> {
  pauseJob(job: J): Promise<void>;
  resumeJob(job: J): Promise<void>;
  stopJob(job: J, deleteData: boolean): Promise<void>;
}

/**
 * The part of a job handle every engine shares: identity, the settled promise, event and piece
 * listeners, and pause/resume/stop handed to the engine that drives the job. Engines extend it
 * with their own bookkeeping and `status()`.
 */
export abstract class JobHandle implements EngineHandle, PieceVerifyingHandle {
  readonly id: string;
  readonly dir: string;
  readonly settled: Promise<EngineStatus>;
  readonly listeners = new EngineListeners();
  readonly #pieceListeners = new Set<(piece: number) => void>();
  readonly #discardListeners = new Set<() => void>();
  readonly #settle: (status: EngineStatus) => void;
  protected abstract readonly control: JobControl<this>;
  abstract state: EngineState;

  constructor(job: EngineJob) {
    this.id = job.id;
    this.dir = resolve(job.dir);
    let settle!: (status: EngineStatus) => void;
    this.settled = new Promise<EngineStatus>((res) => (settle = res));
    this.#settle = settle;
  }

  abstract status(): EngineStatus;

  /** Resolves `settled` with the current status (the engine calls it once, in a final state). */
  settle(): void {
    this.#settle(this.status());
  }

  pause(): Promise<void> {
    return this.control.pauseJob(this);
  }

  resume(): Promise<void> {
    return this.control.resumeJob(this);
  }

  stop(opts: { deleteData: boolean }): Promise<void> {
    return this.control.stopJob(this, opts.deleteData);
  }

  on<E extends EngineEventName>(event: E, listener: EngineListener<E>): this {
    this.listeners.on(event, listener);
    return this;
  }

  off<E extends EngineEventName>(event: E, listener: EngineListener<E>): this {
    this.listeners.off(event, listener);
    return this;
  }

  onPieceVerified(listener: (piece: number) => void): () => void {
    const entry = (piece: number): void => listener(piece);
    this.#pieceListeners.add(entry);
    return () => void this.#pieceListeners.delete(entry);
  }

  onDataDiscarded(listener: () => void): () => void {
    const entry = (): void => listener();
    this.#discardListeners.add(entry);
    return () => void this.#discardListeners.delete(entry);
  }

  /**
   * The wait of `StreamingHandle.readable`: `probe` answers with the bytes that can be read, or
   * null once it has asked for them; it runs again at each `wake` (which `subscribe` hands to the
   * engine's own signal of new bytes) and each state change. A job that is done answers with
   * `rest()`; one that pauses or ends otherwise, or an aborted `signal`, refuses.
   */
  protected waitReadable(signal: AbortSignal, subscribe: (wake: () => void) => () => void, rest: () => number, probe: () => number | null): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const check = (): void => {
        let verdict: number | StreamRefusal | null;
        if (signal.aborted) verdict = new StreamRefusal('aborted', 'The reader stopped waiting.');
        else if (this.state === 'done') verdict = rest();
        else if (FINAL_STATES.has(this.state)) verdict = new StreamRefusal('ended', 'The download ended before these bytes arrived.');
        else if (this.state === 'paused') verdict = new StreamRefusal('paused', 'The download is paused.');
        else verdict = probe();
        if (verdict === null) return;
        unsubscribe();
        this.off('state', check);
        signal.removeEventListener('abort', check);
        if (typeof verdict === 'number') resolve(verdict);
        else reject(verdict);
      };
      const unsubscribe = subscribe(check);
      this.on('state', check);
      signal.addEventListener('abort', check);
      check();
    });
  }

  /** Tells the piece listeners; a listener's failure is its own business, the download goes on. */
  protected reportPiece(piece: number): void {
    notifyAll(this.#pieceListeners, piece);
  }

  /** Tells the listeners that every piece reported so far is void (the data starts over). */
  protected discardPieces(): void {
    notifyAll(this.#discardListeners, undefined);
  }
}

function notifyAll<A>(listeners: Set<(arg: A) => void>, arg: A): void {
  for (const listener of [...listeners]) {
    try {
      listener(arg);
    } catch {
      // ignored on purpose
    }
  }
}
