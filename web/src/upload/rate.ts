// Transfer rate over a sliding window, so the shown rate and ETA follow the recent pace
// rather than the average since the start.
const WINDOW_MS = 5000;

export class RateMeter {
  private samples: Array<{ at: number; bytes: number }> = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Records the running total of bytes; returns bytes/s over the window. */
  record(totalBytes: number): number {
    const at = this.now();
    this.samples.push({ at, bytes: totalBytes });
    while (this.samples.length > 2 && at - this.samples[0].at > WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    const seconds = (at - first.at) / 1000;
    return seconds > 0.2 ? Math.max(0, (totalBytes - first.bytes) / seconds) : 0;
  }
}
