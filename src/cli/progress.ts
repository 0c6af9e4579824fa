import { formatProgress, RateMeter } from './format.js';

/** Where transfer progress goes; `NO_PROGRESS` when nothing should be drawn. */
export interface Progress {
  /** Starts a new phase (e.g. "hashing", then the transfer) with its own total. */
  start(label: string, total: number): void;
  /** Sets the running total of bytes done in the current phase. */
  update(done: number): void;
  /** Removes the line, so the next output starts on a clean line. */
  clear(): void;
}

export const NO_PROGRESS: Progress = { start() {}, update() {}, clear() {} };

const MIN_REDRAW_MS = 100;

/** A one-line bar redrawn in place on a terminal, at most ten times a second. */
export class TerminalProgress implements Progress {
  private label = '';
  private total = 0;
  private done = 0;
  private meter = new RateMeter();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly now: () => number = Date.now,
  ) {}

  start(label: string, total: number): void {
    this.label = label;
    this.total = total;
    this.done = 0;
    this.meter = new RateMeter();
    this.meter.add(this.now(), 0);
    this.draw(true);
  }

  update(done: number): void {
    this.done = done;
    const t = this.now();
    this.meter.add(t, done);
    this.draw(done >= this.total);
  }

  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(force: boolean): void {
    const t = this.now();
    if (!force && t - this.lastDraw < MIN_REDRAW_MS) return;
    this.lastDraw = t;
    const width = Math.max(20, (this.out.columns || 80) - 1);
    const line = formatProgress({ label: this.label, done: this.done, total: this.total, rate: this.meter.rate(), width });
    this.out.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }
}

/** A terminal bar when `stream` is a TTY and output is wanted; nothing otherwise. */
export function progressFor(stream: NodeJS.WriteStream, quiet: boolean): Progress {
  return !quiet && stream.isTTY ? new TerminalProgress(stream) : NO_PROGRESS;
}

/**
 * A block of lines redrawn in place on a terminal (one progress line per task). Lines are cut to
 * the terminal width, so none wraps and the cursor arithmetic stays right.
 */
export class LiveLines {
  private shown = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  get width(): number {
    return Math.max(20, (this.out.columns || 80) - 1);
  }

  draw(lines: readonly string[]): void {
    const width = this.width;
    // Never more lines than the terminal shows: lines scrolled away cannot be redrawn.
    const room = Math.max(1, (this.out.rows || 25) - 1);
    const visible = lines.length > room ? [...lines.slice(0, room - 1), `… and ${lines.length - room + 1} more`] : lines;
    this.out.write(this.erase() + visible.map((l) => ([...l].length > width ? [...l].slice(0, width).join('') : l)).join('\n'));
    this.shown = visible.length;
  }

  clear(): void {
    if (this.shown) this.out.write(this.erase());
    this.shown = 0;
  }

  /** Moves to the first drawn line, erasing each on the way up. */
  private erase(): string {
    if (this.shown === 0) return '';
    return '\r\x1b[2K' + '\x1b[1A\x1b[2K'.repeat(this.shown - 1);
  }
}
