// A set of byte ranges [start, end) of one file, kept sorted and merged. Pure.

export type ByteRange = readonly [start: number, end: number];

export class ByteRanges {
  #ranges: Array<[number, number]> = [];

  constructor(ranges: Iterable<ByteRange> = []) {
    for (const [s, e] of ranges) this.add(s, e);
  }

  /** Adds [start, end); overlapping or touching ranges merge. */
  add(start: number, end: number): void {
    if (end <= start) return;
    const out: Array<[number, number]> = [];
    let s = start;
    let e = end;
    let placed = false;
    for (const r of this.#ranges) {
      if (r[1] < s) out.push(r);
      else if (r[0] > e) {
        if (!placed) out.push([s, e]);
        placed = true;
        out.push(r);
      } else {
        s = Math.min(s, r[0]);
        e = Math.max(e, r[1]);
      }
    }
    if (!placed) out.push([s, e]);
    this.#ranges = out;
  }

  /** Bytes covered. */
  get size(): number {
    let n = 0;
    for (const [s, e] of this.#ranges) n += e - s;
    return n;
  }

  /** Whether every byte of [start, end) is in the set. */
  covers(start: number, end: number): boolean {
    if (end <= start) return true;
    return this.#ranges.some(([s, e]) => s <= start && end <= e);
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
