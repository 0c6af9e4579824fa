// The headline figures of the benchmarks, machine-readable: a script records each figure it
// measured, `npm run bench` (bench/run-all.sh) collects them, and bench/report.ts writes
// docs/benchmarks.json, the chart docs/benchmarks.svg and the table in docs/benchmarks.md.
import { appendFileSync } from 'node:fs';

/** One figure: openpan's value, and the reference it was measured against in the same run. */
export interface BenchFigure {
  /** The script that measured it (bench/<bench>.ts). */
  bench: string;
  /** Stable key within the script. */
  id: string;
  /** What was measured, in a few words. */
  label: string;
  /** openpan's value (the median when repeated). */
  value: number;
  unit: string;
  /** Which way is better for `value`. */
  better: 'higher' | 'lower';
  /** Each run's value when the measurement was repeated. */
  runs?: number[];
  /** The contender measured side by side in the same run, in the same unit. */
  reference?: { label: string; value: number; runs?: number[] };
  /** The target: relative to the reference (`relative`, in speed terms, see relativeSpeed) or absolute (`value`, in `unit`). */
  goal?: { relative?: number; value?: number };
}

/**
 * openpan's speed as a multiple of the reference's, so that higher is better whatever the unit:
 * a throughput ratio, or the inverse of a time ratio (half the time is 2×).
 */
export function relativeSpeed(f: Pick<BenchFigure, 'value' | 'better'>, referenceValue: number): number {
  return f.better === 'higher' ? f.value / referenceValue : referenceValue / f.value;
}

/** The median of some runs (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Appends the figure to the file named by BENCH_FIGURES (one JSON object a line); a no-op without it. */
export function recordFigure(figure: BenchFigure): void {
  const file = process.env.BENCH_FIGURES;
  if (file) appendFileSync(file, `${JSON.stringify(figure)}\n`);
}
