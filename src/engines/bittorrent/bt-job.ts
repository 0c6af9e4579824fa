import { type EngineFailure, type EngineJob, type EngineState, type EngineStatus, StreamRefusal, type StreamingHandle } from '../engine.js';
import { JobHandle, type JobControl } from '../job-handle.js';
import { readableRun, StreamFocus, streamedFile } from './bt-stream.js';
import { FileStatuses } from './file-statuses.js';
import type { PieceRanges } from './layout.js';
import { RefusedPeers } from './peer-guard.js';
import type { PreparedSource } from './source.js';
import type { WtBitfield, WtTorrent } from './webtorrent-api.js';
import type { TorrentMeta } from '../../torrent/index.js';

/** With no peer connected, the trackers are asked again after this, then after twice as long each time... */
export const REANNOUNCE_FIRST_MS = 5_000;
/** ... up to this. */
export const REANNOUNCE_MAX_MS = 10 * 60_000;

/** One job: its bookkeeping and the handle the caller holds. The engine drives it. */
export class BtJob extends JobHandle implements StreamingHandle {
  protected readonly control: JobControl<BtJob>;

  state: EngineState = 'queued';
  /** False for a job refused at start() (failed from birth). */
  accepted = false;
  error: EngineFailure | undefined;
  source: PreparedSource | null = null;
  requested: number[] | undefined;
  meta: TorrentMeta | null = null;
  /** The whole `.torrent`, known from the start or built when a magnet's metadata arrives. */
  torrentFile: Buffer | null = null;
  metaError: EngineFailure | null = null;
  layout: string[] | null = null;
  selected = new Set<number>();
  ranges: PieceRanges = [];
  /** The current WebTorrent torrent while active; null otherwise. */
  wt: WtTorrent | null = null;
  /** Bumped whenever the job leaves WebTorrent, so late callbacks of an old torrent are ignored. */
  generation = 0;
  bitfield: WtBitfield | null = null;
  resumedBytes: number | null = null;
  finishing = false;
  metadataEmitted = false;
  /** Teardown of the previous torrent; a new one is added only after it. */
  closing: Promise<void> = Promise.resolve();
  receivedBefore = 0;
  uploadedBefore = 0;
  lastReceived = 0;
  lastProgressAt = 0;
  /** While no peer is connected: when to ask the trackers again, and the wait after that (`reannounce`). */
  reannounceAt = 0;
  reannounceDelayMs = REANNOUNCE_FIRST_MS;
  /** Peer addresses the address policy kept this job from connecting to. */
  readonly refused = new RefusedPeers();
  /** Set when the policy refused every tracker (tracker-guard.ts `trackersRefused`). */
  notice: string | null = null;
  /** ... and nothing else could find a peer: the job fails instead of waiting. */
  isolated = false;
  /** What the job fetches first for readers of its files (bt-stream.ts). */
  readonly focus = new StreamFocus();
  /** Every file's status, for the current metadata, layout and selection. */
  #files: FileStatuses | null = null;

  constructor(engine: JobControl<BtJob>, job: EngineJob) {
    super(job);
    this.control = engine;
    this.requested = job.selectedFiles === undefined ? undefined : [...job.selectedFiles];
  }

  status(): EngineStatus {
    const files = this.#fileStatuses()?.now(this.bitfield, this.state === 'done');
    const wt = this.wt;
    return {
      id: this.id,
      state: this.state,
      downloaded: files?.downloaded ?? 0,
      selectedSize: files?.selectedSize ?? 0,
      resumedBytes: this.resumedBytes,
      speed: wt === null ? 0 : Math.round(wt.downloadSpeed),
      uploadSpeed: wt === null ? 0 : Math.round(wt.uploadSpeed),
      peers: wt === null ? 0 : wt.numPeers,
      received: this.receivedBefore + (wt?.received ?? 0),
      uploaded: this.uploadedBefore + (wt?.uploaded ?? 0),
      files: files?.files ?? [],
      ...(this.error === undefined ? {} : { error: this.error }),
      refusedPeers: this.refused.count,
      ...(this.notice === null ? {} : { notice: this.notice }),
    };
  }

  /** The files' statuses, kept between calls (file-statuses.ts); null until the metadata is known. */
  #fileStatuses(): FileStatuses | null {
    const meta = this.meta;
    if (meta === null || this.layout === null) return null;
    if (this.#files === null || !this.#files.isFor(meta.files, this.layout, this.selected)) {
      this.#files = new FileStatuses(meta.files, meta.pieceLength, meta.pieceCount, this.layout, this.selected);
    }
    return this.#files;
  }

  readable(index: number, offset: number, signal: AbortSignal): Promise<number> {
    const file = streamedFile(this, index);
    if (file instanceof StreamRefusal) return Promise.reject(file);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= file.size) return Promise.resolve(0);
    return this.waitReadable(
      signal,
      (wake) => this.onPieceVerified(wake),
      () => file.size - offset,
      () => readableRun(this, file, offset),
    );
  }

  /** A verified piece was written (fs-chunk-store's `put` completed). */
  pieceWritten(piece: number): void {
    this.reportPiece(piece);
  }
}

/** A job that selects no file fetches a magnet link's metadata only. */
export function fetchesMetadataOnly(job: BtJob): boolean {
  return job.requested !== undefined && job.requested.length === 0;
}
