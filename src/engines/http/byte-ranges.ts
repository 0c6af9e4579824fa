// A set of byte ranges [start, end) of one file, kept sorted and merged. Pure.

export type ByteRange = readonly [start: number, end: number];

export class ByteRanges {
  #ranges: Array<[number, number]> = [];
  #size = 0;

  constructor(ranges: Iterable<ByteRange> = []) {
    for (const [s, e] of ranges) this.add(s, e);
  }

  /**
   * Adds [start, end); overlapping or touching ranges merge. In place: it runs after every write,
   * and the usual case (a segment's range grows at its end) allocates nothing.
   */
  add(start: number, end: number): void {
    if (end <= start) return;
    const r = this.#ranges;
    let i = 0;
    while (i < r.length && r[i][1] < start) i++;
    // r[i..j) overlap or touch [start, end)
    let j = i;
    let s = start;
    let e = end;
    let merged = 0;
    while (j < r.length && r[j][0] <= e) {
      s = Math.min(s, r[j][0]);
      e = Math.max(e, r[j][1]);
      merged += r[j][1] - r[j][0];
      j++;
    }
    if (j === i + 1) {
      r[i][0] = s;
      r[i][1] = e;
    } else r.splice(i, j - i, [s, e]);
    this.#size += e - s - merged;
  }

  /** Bytes covered. */
  get size(): number {
    return this.#size;
  }

  /** Whether every byte of [start, end) is in the set. */
  covers(start: number, end: number): boolean {
    if (end <= start) return true;
    return this.#ranges.some(([s, e]) => s <= start && end <= e);
  }

  /** How many bytes from `at` on are in the set without a gap (0 when `at` is not). */
  runFrom(at: number): number {
    const range = this.#ranges.find(([s, e]) => s <= at && at < e);
    return range === undefined ? 0 : range[1] - at;
  }

  /** The gaps of [0, total), in order. */
  missing(total: number): ByteRange[] {
    const gaps: ByteRange[] = [];
    let at = 0;
    for (const [s, e] of this.#ranges) {
      if (s >= total) break;
      if (s > at) gaps.push([at, s]);
      at = Math.max(at, e);
    }
    if (at < total) gaps.push([at, total]);
    return gaps;
  }

  toJSON(): ByteRange[] {
    return this.#ranges.map(([s, e]) => [s, e] as const);
  }
}

/** Cuts `gaps` into at most about `parts` pieces of similar size (never smaller than `minPart`). */
export function splitRanges(gaps: readonly ByteRange[], parts: number, minPart: number): ByteRange[] {
  const total = gaps.reduce((n, [s, e]) => n + (e - s), 0);
  const target = Math.max(minPart, Math.ceil(total / Math.max(1, parts)));
  const out: ByteRange[] = [];
  for (const [s, e] of gaps) {
    for (let at = s; at < e; at += target) out.push([at, Math.min(e, at + target)]);
  }
  return out;
}
