// The admin console's 24-hour chart as SVG path data: pure (unit-tested in Node). Speeds share
// one scale, active tasks have their own; time runs from `now - span` at the left to `now`.
// A gap longer than two sampling intervals (the server was down) breaks the line.

export interface ChartSample {
  at: number;
  downloadSpeed: number;
  uploadSpeed: number;
  activeTasks: number;
}

export interface ChartGeometry {
  width: number;
  height: number;
  now: number;
  spanMs: number;
  intervalMs: number;
}

export interface ChartPaths {
  download: string;
  upload: string;
  tasks: string;
  /** The tops of the two scales: bytes per second, and tasks. */
  maxSpeed: number;
  maxTasks: number;
}

/** A round number at or above `value` (1, 2, 5 × 10^n), so the axis reads well. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** niceCeiling in the binary unit the value is shown in (KiB, MiB, ...), so speed labels read 2 MiB/s, not 2.38. */
export function niceBytesCeiling(value: number): number {
  if (!(value > 0)) return 1024;
  let unit = 1;
  while (value / unit >= 1024) unit *= 1024;
  return niceCeiling(value / unit) * unit;
}

function path(samples: readonly ChartSample[], g: ChartGeometry, value: (s: ChartSample) => number, max: number): string {
  const from = g.now - g.spanMs;
  let d = '';
  let last = -Infinity;
  for (const s of samples) {
    if (s.at < from || s.at > g.now) continue;
    const x = ((s.at - from) / g.spanMs) * g.width;
    const y = g.height - (Math.min(value(s), max) / max) * g.height;
    d += `${s.at - last > 2 * g.intervalMs ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
    last = s.at;
  }
  return d;
}

export function chartPaths(samples: readonly ChartSample[], g: ChartGeometry): ChartPaths {
  const maxSpeed = niceBytesCeiling(Math.max(0, ...samples.map((s) => Math.max(s.downloadSpeed, s.uploadSpeed))));
  const maxTasks = niceCeiling(Math.max(0, ...samples.map((s) => s.activeTasks)));
  return {
    download: path(samples, g, (s) => s.downloadSpeed, maxSpeed),
    upload: path(samples, g, (s) => s.uploadSpeed, maxSpeed),
    tasks: path(samples, g, (s) => s.activeTasks, maxTasks),
    maxSpeed,
    maxTasks,
  };
}

/** "10G", "500 MiB", "1.5T", plain bytes → bytes; null when it does not read as a size. */
export function parseSizeInput(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return null;
  const power = ' kmgtp'.indexOf(m[2].toLowerCase() || ' ');
  const bytes = Math.round(Number(m[1]) * 1024 ** power);
  return Number.isSafeInteger(bytes) ? bytes : null;
}
