// A task row keeps its selection as JSON text (`files`, `engine_files`): 100,000 numbers for a
// big torrent. The task page (polled several times a second), the scheduler's tick and the
// import read it again and again, and parsing it each time held the event loop for milliseconds
// per read. A TextMemo parses a key's text once and hands out that value for as long as the key
// comes with the very same text; a new text is parsed again. It keeps the most recently used
// keys only, within a budget of text length.

export interface TextMemoLimits {
  /** Most keys kept. */
  maxEntries: number;
  /** Most characters of text kept, all keys together. */
  maxChars: number;
}

export class TextMemo<K, V> {
  readonly #entries = new Map<K, { text: string; value: V }>();
  readonly #parse: (text: string) => V;
  readonly #limits: TextMemoLimits;
  #chars = 0;

  /** `parse` must give a value nobody changes (it is shared by every reader of the text). */
  constructor(parse: (text: string) => V, limits: TextMemoLimits) {
    this.#parse = parse;
    this.#limits = limits;
  }

  /** The parse of `text`, the value handed out for `key` before when its text was the same. */
  get(key: K, text: string): V {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      this.#drop(key);
      if (hit.text === text) {
        this.#keep(key, hit);
        return hit.value;
      }
    }
    const entry = { text, value: this.#parse(text) };
    if (text.length <= this.#limits.maxChars) this.#keep(key, entry);
    return entry.value;
  }

  /** Keeps `entry` as the most recently used, forgetting the least recently used beyond the limits. */
  #keep(key: K, entry: { text: string; value: V }): void {
    this.#entries.set(key, entry);
    this.#chars += entry.text.length;
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#limits.maxEntries && this.#chars <= this.#limits.maxChars) break;
      this.#drop(oldest);
    }
  }

  #drop(key: K): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#chars -= entry.text.length;
  }
}

/** For tasks' selections: 16 Mi characters hold the lists of some 25 tasks of 100,000 files each. */
export const SELECTION_MEMO_LIMITS: TextMemoLimits = { maxEntries: 10_000, maxChars: 16 * 1024 * 1024 };

/** A selection's JSON list of indices, parsed and frozen (the array is shared by every reader). */
export function parseIndexList(text: string): readonly number[] {
  return Object.freeze(JSON.parse(text) as number[]);
}
