// One URL job of the HTTP engine: its progress, its pieces and the handle the caller holds.
import { join } from 'node:path';
import type { ProbeResult } from '../../net/index.js';
import { ETAG_BLOCK } from '../../store/etag.js';
import { type EngineFailure, type EngineJob, type EngineState, type EngineStatus, StreamRefusal, type StreamingHandle } from '../engine.js';
import { JobHandle, type JobControl } from '../job-handle.js';
import { ByteRanges } from './byte-ranges.js';
import type { TransferHost } from './transfer.js';

/** What a job asks of the engine that drives it. */
export interface HttpJobControl extends JobControl<HttpJob> {
  setState(job: HttpJob, state: EngineState): void;
}

const DATA_FILE = 'download';
const STATE_FILE = 'download.state.json';
const SPEED_WINDOW = 5;
export const TICK_MS = 1000;

/** One URL job: its progress and the handle the caller holds. The engine drives it. */
export class HttpJob extends JobHandle implements TransferHost, StreamingHandle {
  readonly dataPath: string;
  readonly statePath: string;
  protected readonly control: HttpJobControl;

  url = '';
  /** False for a job refused at start(): it owns nothing, not even its directory. */
  accepted = false;
  readonly wanted: boolean;
  readonly maxBytes: number | null;
  state: EngineState = 'queued';
  error: EngineFailure | undefined;
  // TransferHost
  ranges = new ByteRanges();
  size: number | null = null;
  connections = 0;
  received = 0;
  probe: ProbeResult | null = null;
  resumedBytes: number | null = null;
  metadataEmitted = false;
  prioritize: ((at: number) => void) | null = null;
  /** Readers waiting for bytes (`readable`), told after each write and state change. */
  readonly #readers = new Set<() => void>();
  /** The current run, while active. */
  run: { abort: AbortController; done: Promise<void> } | null = null;
  readonly #reported = new Set<number>();
  /** Whether a piece was reported since the data last started over. */
  #reportedSinceReset = false;
  readonly #samples: number[] = [];

  constructor(engine: HttpJobControl, job: EngineJob) {
    super(job);
    this.control = engine;
    this.dataPath = join(this.dir, DATA_FILE);
    this.statePath = join(this.dir, STATE_FILE);
    this.wanted = job.selectedFiles === undefined || job.selectedFiles.includes(0);
    this.maxBytes = job.maxBytes ?? null;
  }

  status(): EngineStatus {
    const downloaded = this.ranges.size;
    const known = this.probe !== null;
    const size = this.size ?? downloaded;
    const done = this.state === 'done' || (this.size !== null && downloaded === this.size && known);
    const selectedSize = known && this.wanted ? size : 0;
    return {
      id: this.id,
      state: this.state,
      downloaded: this.wanted ? Math.min(downloaded, selectedSize) : 0,
      selectedSize,
      resumedBytes: this.resumedBytes,
      speed: this.speed(),
      uploadSpeed: 0,
      peers: this.connections,
      received: this.received,
      uploaded: 0,
      files: known ? [{ index: 0, path: this.dataPath, size, selected: this.wanted, downloaded, done: this.wanted ? done : false }] : [],
      ...(this.error === undefined ? {} : { error: this.error }),
    };
  }

  /** Bytes per second over the last few ticks; 0 when not transferring. */
  speed(): number {
    if (this.run === null || this.#samples.length < 2) return 0;
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    return Math.round(((last - first) * 1000) / (TICK_MS * (this.#samples.length - 1)));
  }

  tick(): void {
    this.#samples.push(this.received);
    if (this.#samples.length > SPEED_WINDOW + 1) this.#samples.shift();
  }

  clearSpeed(): void {
    this.#samples.length = 0;
  }

  /** Written bytes from `offset` on; a ranged run opens a connection there when none is about to reach it. */
  readable(index: number, offset: number, signal: AbortSignal): Promise<number> {
    if (index !== 0 || !this.wanted) return Promise.reject(new StreamRefusal('not-selected', 'The job does not download this file.'));
    if (this.size !== null && offset >= this.size) return Promise.resolve(0);
    return this.waitReadable(
      signal,
      (wake) => {
        this.#readers.add(wake);
        return () => void this.#readers.delete(wake);
      },
      () => Math.max(0, (this.size ?? 0) - offset),
      () => {
        if (this.size !== null && offset >= this.size) return 0;
        const run = this.ranges.runFrom(offset);
        if (run > 0) return run;
        this.prioritize?.(offset);
        return null;
      },
    );
  }

  // ---- TransferHost ----

  probed(probe: ProbeResult, resumedBytes: number): boolean {
    this.probe = probe;
    this.resumedBytes ??= resumedBytes;
    // Bytes already on disk were verified by a previous run: never reported again.
    if (this.size !== null) for (let p = 0; p * ETAG_BLOCK < this.size; p++) if (this.#pieceComplete(p)) this.#reported.add(p);
    if (!this.metadataEmitted) {
      this.metadataEmitted = true;
      this.listeners.emit('metadata', { status: this.status() });
    }
    if (!this.wanted) return false;
    this.control.setState(this, 'downloading');
    return true;
  }

  written(start: number, end: number): void {
    for (const reader of [...this.#readers]) reader();
    if (this.size === null) return; // reported when the stream ends and the length is known
    const first = Math.floor(start / ETAG_BLOCK);
    const last = Math.floor((end - 1) / ETAG_BLOCK);
    for (let p = first; p <= last; p++) this.#maybeReport(p);
  }

  reset(): void {
    this.ranges = new ByteRanges();
    this.size = null;
    this.#reported.clear();
    // The file is rewritten from zero: whatever was reported of it is void. (Every attempt
    // starts with a reset; only one that follows reports voids anything.)
    if (this.#reportedSinceReset) this.discardPieces();
    this.#reportedSinceReset = false;
  }

  /** The length is final (a stream without Content-Length ended): report what is complete. */
  lengthKnown(): void {
    if (this.size === null) return;
    for (let p = 0; p * ETAG_BLOCK < this.size; p++) this.#maybeReport(p);
  }

  #pieceComplete(piece: number): boolean {
    const size = this.size as number;
    return this.ranges.covers(piece * ETAG_BLOCK, Math.min(size, (piece + 1) * ETAG_BLOCK));
  }

  #maybeReport(piece: number): void {
    if (this.#reported.has(piece) || !this.#pieceComplete(piece)) return;
    this.#reported.add(piece);
    this.#reportedSinceReset = true;
    this.reportPiece(piece);
  }
}
