// Pure text formatting for the terminal: sizes, durations, tables, the progress line.

const SIZE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `0 B`, `1023 B`, `1.5 KiB`, `12.3 MiB`, `100 GiB` (binary units, one decimal, no `.0`). */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.floor(bytes || 0))} B`;
  let v = bytes;
  let unit = -1;
  while (v >= 1024 && unit < SIZE_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  // 1023.96 KiB would print as "1024 KiB": carry to the next unit instead.
  if (Number(v.toFixed(1)) >= 1024 && unit < SIZE_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${v.toFixed(1).replace(/\.0$/, '')} ${SIZE_UNITS[unit]}`;
}

/** `0:05`, `12:34`, `1:02:03`; `--:--` when unknown (not finite or negative). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatSize(bytesPerSecond)}/s`;
}

/** Characters kept for `100%  123.4 MiB/567.8 GiB  12.3 MiB/s  ETA 12:34`. */
const STATS_ROOM = 46;
const MIN_BAR = 10;
const MAX_BAR = 40;
const MIN_LABEL = 12;

export interface ProgressState {
  label: string;
  done: number;
  total: number;
  /** Bytes per second, 0 when not known yet. */
  rate: number;
  /** Width of the terminal line. */
  width: number;
}

/**
 * One progress line, at most `width` characters:
 * `name.iso  [#########.........]  45%  1.2 GiB/2.7 GiB  12.5 MiB/s  ETA 2:03`.
 * The bar takes the room that is left; the label is shortened (with `…`) first when space is short.
 */
export function formatProgress({ label, done, total, rate, width }: ProgressState): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : done > 0 ? 1 : 0;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const eta = rate > 0 ? formatDuration((total - done) / rate) : '--:--';
  const stats = `${percent}  ${formatSize(done)}/${formatSize(total)}  ${rate > 0 ? formatRate(rate) : '-'}  ETA ${eta}`;
  // Room is planned for the widest usual stats, so the bar keeps its width while numbers change.
  const avail = width - Math.max(stats.length, STATS_ROOM);
  const chars = [...label];
  const shorten = (room: number) => (chars.length <= room ? label : room < 4 ? '' : chars.slice(0, room - 1).join('') + '…');
  let name: string;
  let barWidth = 0;
  if (avail >= chars.length + 2 + MIN_BAR + 4) {
    name = label;
    barWidth = Math.min(MAX_BAR, avail - chars.length - 2 - 4);
  } else if (avail >= MIN_LABEL + 2 + MIN_BAR + 4) {
    name = shorten(avail - 2 - MIN_BAR - 4);
    barWidth = MIN_BAR;
  } else {
    // Narrow terminal: the name matters more than the bar.
    name = shorten(width - stats.length - 2);
  }
  let line = name ? `${name}  ` : '';
  if (barWidth > 0) {
    const filled = Math.round(fraction * barWidth);
    line += `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]  `;
  }
  line += stats;
  return line.length > width ? line.slice(0, Math.max(0, width)) : line;
}

/**
 * Left-aligned columns separated by two spaces; columns listed in `right` are right-aligned.
 * Column widths count code points, which is right for most names (not for wide CJK glyphs).
 */
export function formatTable(header: string[], rows: string[][], right: number[] = []): string {
  const len = (s: string) => [...s].length;
  const widths = header.map((h, i) => Math.max(len(h), ...rows.map((r) => len(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => {
        const pad = ' '.repeat(widths[i] - len(c));
        return right.includes(i) ? pad + c : i === cells.length - 1 ? c : c + pad;
      })
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** `2024-05-01 13:45` in local time; `-` for 0. */
export function formatTime(ms: number): string {
  if (!ms) return '-';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * Bytes per second over a sliding window of recent samples, so the rate follows the current
 * speed instead of averaging since the start.
 */
export class RateMeter {
  private readonly samples: Array<{ t: number; bytes: number }> = [];

  constructor(private readonly windowMs = 5000) {}

  /** Records that `bytes` (a running total) were done at time `t` (ms). */
  add(t: number, bytes: number): void {
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[1].t >= this.windowMs) this.samples.shift();
  }

  rate(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? Math.max(0, (last.bytes - first.bytes) / dt) : 0;
  }
}
