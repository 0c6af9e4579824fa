// The download engine interface: what `offline/` (tasks, scheduler, import) sees of a
// downloader. Engine-neutral: the BitTorrent engine implements it today, an HTTP engine and an
// external daemon (aria2, libtorrent) can implement it later without `offline/` changing.
//
// The contract, which test/support/engine-conformance.ts checks for every engine:
// * `start()` never throws. A job that cannot run (bad source, duplicate) comes back as a handle
//   already in state `failed`, with its `error` event delivered asynchronously.
// * `status()` is cheap and can be called at any time (the scheduler polls it every second).
// * Every job ends in exactly one of `done`, `failed` or `stopped`; `settled` resolves then, with
//   the final status. `done` means every selected file is complete and verified on disk and the
//   engine has closed its files: the importer may read or move them at once.
// * Data lives only under `job.dir`, which the engine creates; `stop({ deleteData: true })`
//   removes that directory, whatever state the job was in.

/**
 * Where the bytes come from. A `.torrent` is passed as its bytes, never as a path or URL.
 * `url`: one HTTP/HTTPS resource, downloaded as the job's single file (engine index 0); the
 * address policy (SSRF) is the engine's to enforce on every connection it makes.
 */
export type EngineSource = { kind: 'torrent'; torrent: Buffer } | { kind: 'magnet'; uri: string } | { kind: 'url'; url: string };

export type EngineSourceKind = EngineSource['kind'];

export interface EngineJob {
  /** The caller's id for the job (the system task id); unique among the engine's live jobs. */
  id: string;
  /** Per-task working directory; created when missing; the engine writes nothing outside it. */
  dir: string;
  source: EngineSource;
  /**
   * Files to download, by engine file index (`TorrentFile.engineIndex`). Omitted: every file.
   * An empty list: nothing to download (the job is done as soon as it has metadata).
   */
  selectedFiles?: number[];
  /**
   * Bytes the job may write at most (the room its users have), for a source whose length is
   * not known in advance; past it the job fails with SPACE_EXCEEDED. Omitted: no cap.
   */
  maxBytes?: number;
}

/**
 * queued: waiting for a free slot (the engine's limit on active jobs);
 * metadata: fetching the file list (a magnet link) from peers;
 * checking: verifying data already on disk (a restart, a resume);
 * downloading: transferring; paused: holds no slot, no connection, no open file;
 * done / failed / stopped: final.
 */
export type EngineState = 'queued' | 'metadata' | 'checking' | 'downloading' | 'paused' | 'done' | 'failed' | 'stopped';

export const FINAL_STATES: ReadonlySet<EngineState> = new Set(['done', 'failed', 'stopped']);

export type EngineErrorCode =
  /** The source is malformed (not a torrent, not a magnet link). Not retryable. */
  | 'SOURCE_INVALID'
  /** Understood but not supported by this engine (e.g. a pure BitTorrent v2 torrent). Not retryable. */
  | 'PROTOCOL_UNSUPPORTED'
  /** `selectedFiles` names a file the source does not have. Not retryable. */
  | 'SELECTION_INVALID'
  /** Another live job has the same id or the same content (info hash). */
  | 'DUPLICATE_JOB'
  /** No peer and no progress for the engine's configured time. Retryable later. */
  | 'NO_PEERS_TIMEOUT'
  /** ENOSPC / EDQUOT while writing. Retryable once space is freed. */
  | 'DISK_FULL'
  /** Any other filesystem error under `dir`. */
  | 'IO_ERROR'
  /** The engine was closed, or its network stack failed (e.g. the listening port). Retryable. */
  | 'ENGINE_ERROR'
  /** The source (or a redirect) points at an address the policy refuses. Not retryable. */
  | 'URL_FORBIDDEN'
  /** An HTTP source answered with this status after the engine's retries (e.g. HTTP_404). */
  | `HTTP_${number}`
  /** Connections kept failing (refused, reset, timed out) after the engine's retries. Retryable later. */
  | 'NETWORK_ERROR'
  /**
   * The source delivered a different length than it announced, or changed during the download
   * (HTTP: a response whose ETag / Last-Modified / length differ from the first's, each time the
   * engine started over). Retryable.
   */
  | 'SIZE_MISMATCH'
  /** Too many redirects, or a redirect to an unsupported scheme. Not retryable. */
  | 'REDIRECT_INVALID'
  /** The source is longer than the job's `maxBytes`. Not retryable. */
  | 'SPACE_EXCEEDED';

export interface EngineFailure {
  code: EngineErrorCode;
  message: string;
  /** Whether starting the same job again may succeed. */
  retryable: boolean;
}

export interface EngineFileStatus {
  /** Engine file index (`TorrentFile.engineIndex`). */
  index: number;
  /** Absolute path of the file's bytes on disk, under `job.dir`. */
  path: string;
  size: number;
  selected: boolean;
  /** Verified bytes of this file on disk. */
  downloaded: number;
  /**
   * Every byte of the file is on disk and verified. Unselected files may be done by chance.
   * While the job runs, a done file's bytes are final: the engine may still read the file (to
   * verify a neighbouring piece, to upload) and may write the same bytes again, never others;
   * a caller may hard-link it, never move it.
   */
  done: boolean;
}

export interface EngineStatus {
  id: string;
  state: EngineState;
  /** Verified bytes of the selected files (never more than `selectedSize`). */
  downloaded: number;
  /** Total size of the selected files; 0 until the metadata is known. */
  selectedSize: number;
  /**
   * Verified bytes of the selected files that were already on disk when the engine first
   * started the job (a restart or a resume after a crash); null until that check has finished.
   */
  resumedBytes: number | null;
  /** Bytes per second, averaged over the last few seconds. */
  speed: number;
  uploadSpeed: number;
  /** Connected sources (BitTorrent peers, web seeds, HTTP connections). */
  peers: number;
  /** Total bytes received and sent by this job in this process, protocol overhead excluded. */
  received: number;
  uploaded: number;
  /**
   * Every file of the source (pad files excluded), in engine index order; empty until metadata.
   * Read-only: an engine may return the same array (and entries) from several calls while
   * nothing changed, and never changes one it has returned.
   */
  files: readonly EngineFileStatus[];
  error?: EngineFailure;
  /**
   * BitTorrent: distinct peer addresses (from the magnet link, trackers, the DHT or peer
   * exchange) that the address policy refused for this job; none of them was connected to.
   */
  refusedPeers?: number;
  /**
   * A sentence the user should see while the job runs, e.g. that the address policy refused
   * every tracker of the torrent. Absent when there is nothing to say.
   */
  notice?: string;
}

/** What is known once the file list is: the status, plus the source's own description. */
export interface EngineMetadata {
  status: EngineStatus;
  /** BitTorrent: the complete `.torrent` (info dictionary and trackers), to keep for restarts of a magnet job. */
  torrent?: Buffer;
}

export interface EngineEvents {
  metadata: [metadata: EngineMetadata];
  state: [state: EngineState, status: EngineStatus];
  done: [status: EngineStatus];
  error: [failure: EngineFailure, status: EngineStatus];
}

export type EngineEventName = keyof EngineEvents;
export type EngineListener<E extends EngineEventName> = (...args: EngineEvents[E]) => void;

export interface EngineHandle {
  readonly id: string;
  status(): EngineStatus;
  /** Resolves once the job holds no connection, slot or open file. No-op in a final state. */
  pause(): Promise<void>;
  /** Queues a paused job again; it re-checks its data and continues. No-op unless paused. */
  resume(): Promise<void>;
  /**
   * Ends the job (state `stopped` unless it had already ended) and releases everything it holds.
   * With `deleteData`, `job.dir` is removed as well.
   */
  stop(opts: { deleteData: boolean }): Promise<void>;
  /** Resolves (never rejects) with the final status when the job is done, failed or stopped. */
  readonly settled: Promise<EngineStatus>;
  on<E extends EngineEventName>(event: E, listener: EngineListener<E>): this;
  off<E extends EngineEventName>(event: E, listener: EngineListener<E>): this;
}

export interface DownloadEngine {
  /** A short name for logs and the admin UI, e.g. "webtorrent". */
  readonly name: string;
  start(job: EngineJob): EngineHandle;
  /** Stops every job (data kept) and releases the engine's sockets. */
  close(): Promise<void>;
}

// ---- totals: what the admin console shows of an engine ----

/** An engine's figures right now, every job and seed together. */
export interface EngineStats {
  /** Jobs the engine holds (queued, running or paused) and those transferring now. */
  jobs: number;
  activeJobs: number;
  /** Seeds uploading after their import (0 for an engine that does not seed). */
  seeds: number;
  /** Connected sources and peers (BitTorrent wires, HTTP connections). */
  connections: number;
  /** Bytes per second, every job (and seed) together. */
  downloadSpeed: number;
  uploadSpeed: number;
  /** The engine's global rate limits, bytes per second; null: none. */
  downloadLimit: number | null;
  uploadLimit: number | null;
}

/** An engine that reports its totals. Optional: the console shows an engine without it by name only. */
export interface StatsReportingEngine {
  stats(): EngineStats;
}

export function reportsStats(engine: DownloadEngine): engine is DownloadEngine & StatsReportingEngine {
  return typeof (engine as Partial<StatsReportingEngine>).stats === 'function';
}

// ---- verified pieces: what a job has finished, piece by piece ----

/**
 * A job that reports each piece as it is verified, so a caller can hash the data while the rest
 * downloads (offline/etag-tracker.ts). Optional: a handle without it is imported by re-reading.
 * Pieces are numbered as in the source's metadata (BitTorrent: `piece length` of the info
 * dictionary over the concatenation of every file, pad files included).
 */
export interface PieceVerifyingHandle {
  /**
   * Calls `listener` with the index of each piece this handle verifies and writes from now on,
   * once its bytes are on disk in every file they belong to; the handle never writes those bytes
   * again. Pieces found valid on disk when the job (re)starts are not reported. A piece may be
   * reported more than once. Returns a function that removes the listener.
   */
  onPieceVerified(listener: (piece: number) => void): () => void;
  /**
   * Calls `listener` when the handle throws away bytes it wrote and starts over (a transfer
   * restarted from zero, content that changed at the source): every piece reported before is
   * void, and pieces are reported again as they are written anew. Returns a remover.
   */
  onDataDiscarded(listener: () => void): () => void;
}

export function reportsPieces(handle: EngineHandle): handle is EngineHandle & PieceVerifyingHandle {
  return typeof (handle as Partial<PieceVerifyingHandle>).onPieceVerified === 'function';
}

// ---- seeding: uploading content an engine job finished with ----

/** A seeding job: the files of `torrent` present under `dir`, in the engine's layout (`seedLayout`). */
export interface SeedJob {
  /** The caller's id (the system task id); unique among live seeds. */
  id: string;
  /** Holds the files; the engine only reads it: it never writes, creates or deletes anything there. */
  dir: string;
  /** The `.torrent` bytes. */
  torrent: Buffer;
}

/** checking: verifying the files under `dir`; seeding: uploading what verified; stopped / failed: final. */
export type SeedState = 'checking' | 'seeding' | 'stopped' | 'failed';

export interface SeedStatus {
  id: string;
  state: SeedState;
  /** Payload bytes sent by this seed (this process). */
  uploaded: number;
  uploadSpeed: number;
  peers: number;
  error?: EngineFailure;
}

export interface SeedHandle {
  readonly id: string;
  status(): SeedStatus;
  /** Ends the seed (no connection, no open file); `dir` is left as it is. */
  stop(): Promise<void>;
  /** Resolves (never rejects) with the final status when the seed is stopped or failed. */
  readonly settled: Promise<SeedStatus>;
}

/**
 * An engine that can keep uploading after a job is over, from files it did not download into
 * its own directory (openpan gives it hard links to the stored blobs). Optional: an engine
 * without it simply never seeds after the import.
 */
export interface SeedingEngine {
  /** Where `seed` expects each file's bytes under `dir`, by engine file index (pad files included). */
  seedLayout(torrent: Buffer, dir: string): string[];
  /** Verifies the files present under `dir` and uploads the verified pieces; never downloads. Never throws. */
  seed(job: SeedJob): SeedHandle;
}

export function canSeed(engine: DownloadEngine): engine is DownloadEngine & SeedingEngine {
  const e = engine as Partial<SeedingEngine>;
  return typeof e.seed === 'function' && typeof e.seedLayout === 'function';
}

// ---- streaming: reading a file while its job downloads it ----

/** Why a file cannot be read now: the job ended or paused, the file is not downloaded, or the reader gave up. */
export type StreamRefusalReason = 'ended' | 'paused' | 'not-selected' | 'aborted';

export class StreamRefusal extends Error {
  constructor(
    readonly reason: StreamRefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'StreamRefusal';
  }
}

/**
 * A job whose files can be read before it is done (play while downloading). Optional: the
 * files of a job without it can be read only once they are in the drive.
 */
export interface StreamingHandle {
  /**
   * Wants the bytes of file `index` (engine index) from `offset` on before the rest of the job
   * (BitTorrent: the pieces from there on, with the file's first and last pieces, where media
   * containers keep their index), and resolves with how many bytes from `offset` on are on
   * disk, verified and final, as soon as there is at least one. They are read from the file's
   * `path` in `status().files`, which the caller should open once and keep open: when the job
   * is done its files are moved away. Rejects with a StreamRefusal when the file is not being
   * downloaded, the job pauses or ends before a byte is there, or `signal` aborts.
   */
  readable(index: number, offset: number, signal: AbortSignal): Promise<number>;
}

export function streams(handle: EngineHandle): handle is EngineHandle & StreamingHandle {
  return typeof (handle as Partial<StreamingHandle>).readable === 'function';
}
