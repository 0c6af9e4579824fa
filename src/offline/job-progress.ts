import type { EngineFileStatus } from '../engines/index.js';

// What the task page and the tick read of a running job, kept up to date from the engine's file
// list. A torrent may have 100,000 files; the page asks for a task's progress on every request
// (polled several times a second) and the tick asks every second whether a completed file waits
// to be stored. Walking every file for each of those held the event loop for seconds. Instead,
// each new status's file list is compared with the previous one entry by entry (an engine hands
// out a new entry only for a file that changed, status() in engine.ts), and only the changed
// files update the running totals below.

/** A task's finished bytes, and what they were counted from. */
interface TaskBytes {
  /** The task's `engine_files` text and the job's file sizes these figures are for. */
  selection: string;
  sizes: ReadonlyMap<number, number>;
  /** How many times the task lists each file (by position in the file list) that the engine downloads. */
  counted: Uint32Array;
  /** Verified bytes of those files. */
  downloading: number;
  /** Bytes of the task's other files that the store held when the engine started. */
  stored: number;
}

export class JobProgress {
  /** Engine file indices given to the engine. */
  readonly #selected: ReadonlySet<number>;
  /** Engine file indices the store held when the engine started (not given to it). */
  readonly #cached: ReadonlySet<number>;
  #files: readonly EngineFileStatus[] = [];
  /** Engine file index → position in #files. */
  #position = new Map<number, number>();
  /** Selected files that are done, perhaps stored already (engine indices); `hasDoneOutside` drops the stored ones. */
  readonly #doneSelected = new Set<number>();
  readonly #tasks = new Map<number, TaskBytes>();

  constructor(selected: ReadonlySet<number>, cached: ReadonlySet<number>) {
    this.#selected = selected;
    this.#cached = cached;
  }

  /** Takes the engine's files as of its latest status. */
  update(files: readonly EngineFileStatus[]): void {
    const before = this.#files;
    if (files === before) return;
    this.#files = files;
    if (files.length !== before.length) {
      this.#restart();
      return;
    }
    for (let k = 0; k < files.length; k++) {
      const was = before[k];
      const is = files[k];
      if (was === is) continue;
      if (was.index !== is.index) {
        this.#restart();
        return;
      }
      this.#changed(k, was, is);
    }
  }

  /** Verified bytes of a file from the latest status; undefined when the engine does not list it. */
  fileBytes(index: number): number | undefined {
    const k = this.#position.get(index);
    return k === undefined ? undefined : this.#files[k].downloaded;
  }

  /**
   * The task's finished bytes: verified bytes of its files that the engine downloads, and in full
   * those the store held when the engine started (a file it added since has nothing yet). `sizes`
   * maps engine file indices to sizes; `indices` (the task's engine file indices) is called when
   * the task's `selection` (its `engine_files` text) or `sizes` is new here.
   */
  taskBytes(taskId: number, selection: string, sizes: ReadonlyMap<number, number>, indices: () => readonly number[]): number {
    let task = this.#tasks.get(taskId);
    if (task === undefined || task.selection !== selection || task.sizes !== sizes) {
      task = this.#count(selection, sizes, indices());
      this.#tasks.set(taskId, task);
    }
    return task.downloading + task.stored;
  }

  /** Whether a selected file is done and not in `stored` (which only grows while the job runs). */
  hasDoneOutside(stored: ReadonlySet<number>): boolean {
    for (const index of this.#doneSelected) {
      if (!stored.has(index)) return true;
      this.#doneSelected.delete(index);
    }
    return false;
  }

  /** A file list of another shape (the metadata arrived): everything is counted again. */
  #restart(): void {
    this.#position = new Map(this.#files.map((f, k) => [f.index, k]));
    this.#doneSelected.clear();
    for (const f of this.#files) if (f.done && this.#selected.has(f.index)) this.#doneSelected.add(f.index);
    this.#tasks.clear();
  }

  #changed(k: number, was: EngineFileStatus, is: EngineFileStatus): void {
    if (is.done && this.#selected.has(is.index)) this.#doneSelected.add(is.index);
    else this.#doneSelected.delete(is.index);
    const delta = is.downloaded - was.downloaded;
    if (delta === 0) return;
    for (const task of this.#tasks.values()) if (task.counted[k] !== 0) task.downloading += delta * task.counted[k];
  }

  #count(selection: string, sizes: ReadonlyMap<number, number>, indices: readonly number[]): TaskBytes {
    const task: TaskBytes = { selection, sizes, counted: new Uint32Array(this.#files.length), downloading: 0, stored: 0 };
    for (const index of indices) {
      if (!this.#selected.has(index)) {
        if (this.#cached.has(index)) task.stored += sizes.get(index) ?? 0;
        continue;
      }
      const k = this.#position.get(index);
      if (k === undefined) continue;
      task.counted[k]++;
      task.downloading += this.#files[k].downloaded;
    }
    return task;
  }
}
