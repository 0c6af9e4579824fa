import { mkdir, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isAppError } from '../../errors.js';
import { guardedAgents, installDefaultAgents, type AddressPolicy, type GuardedAgents } from '../../net/index.js';
import { assertDownloadable, parseMagnet, parseTorrent, parseTorrentOnce, type TorrentFile, type TorrentMeta } from '../../torrent/index.js';
import {
  FINAL_STATES,
  type DownloadEngine,
  type EngineErrorCode,
  type EngineFailure,
  type EngineHandle,
  type EngineJob,
  type EngineSource,
  type EngineState,
  type EngineStats,
  type EngineStatus,
  type SeedHandle,
  type SeedingEngine,
  type SeedJob,
  type SeedState,
  type SeedStatus,
} from '../engine.js';
import { DEFAULT_MAX_OPEN_FILES, DescriptorsExhaustedError, FdPool, isDescriptorExhaustion, openRetrying } from '../fd-pool.js';
import { JobHandle } from '../job-handle.js';
import { FileStatuses } from './file-statuses.js';
import { diskLayout, pieceRanges, rangesComplete, type PieceRanges } from './layout.js';
import { allowedPeers, policedDhtSocket, policyBlocklist, RefusedPeers } from './peer-guard.js';
import { PooledChunkStore, storeFiles } from './pooled-store.js';
import { readOnlyStore } from './seed-store.js';
import { parsedForWebTorrent } from './parsed-torrent.js';
import { allowedUrls, magnetWithHints, torrentWithHints, trackersRefused, withHints } from './tracker-guard.js';
import {
  interceptMetadata,
  WebTorrent,
  type WtBitfield,
  type WtClient,
  type WtParsedTorrent,
  type WtStoreConstructor,
  type WtStoreOptions,
  type WtTorrent,
  type WtWire,
} from './webtorrent-api.js';

// The BitTorrent engine: webtorrent@1.9.7 in process, behind the DownloadEngine interface.
//
// How it uses WebTorrent, and why (each point was seen to matter with 1.9.7):
// * One WebTorrent client, created on the first active job. LSD (local peer discovery, which
//   multicasts to the LAN) is always off; 1.9.7 has no UPnP / NAT-PMP at all; DHT only when
//   `dht` is set; uTP off by default (utp-native is a native addon with crash reports; 1.9.7
//   only ever uses it for incoming connections anyway). So the process opens one TCP listening
//   port, talks to the trackers, web seeds and peers of its jobs, and — with `dht` — the DHT.
// * Only the selected files: WebTorrent selects the whole torrent when the metadata arrives,
//   so the engine deselects the full piece range first, then selects the pieces of the wanted
//   files (merged into intervals). Completion is judged from the bitfield over each file's
//   piece range (layout.ts), never from `file.progress`, which lies for some files.
// * Files are written where openpan's parser says (layout.ts): WebTorrent's own names are lossy
//   for non-UTF-8 torrents. The chunk store is openpan's (pooled-store.ts), not fs-chunk-store,
//   which held one descriptor per file until the torrent closed (100,000 files: the process's
//   whole limit, and the server refused every connection). Every job's and seed's files are
//   opened through one descriptor pool (fd-pool.ts, `maxOpenFiles`, OPENPAN_MAX_OPEN_FILES):
//   the number of files in a torrent never decides how many descriptors the server holds, and
//   a job that still meets EMFILE fails alone (IO_ERROR) after the pool's retries.
// * Pause closes the torrent (no connection, no slot, no open file); resume adds it again, and
//   WebTorrent re-verifies the data on disk (~0.4 s per 256 MiB), exactly as after a restart.
//   1.9.7's own `torrent.pause()` only stops *new* connections: existing peers keep sending.
// * `done`: the torrent is closed (files flushed and closed) before the event, so the importer
//   can move the files. The engine does not seed after `done`.
// * Seeding after the import is a separate, read-only torrent (`seed`): the caller lays the
//   files out under a directory (hard links to the stored blobs, in `seedLayout`'s paths); the
//   engine verifies them, selects no piece (so it never downloads) and uploads what verified,
//   through a chunk store that refuses writes. Seeds hold no download slot.
// * With an address policy, nothing a torrent names is reached unless the policy allows it:
//   trackers and web seeds (tracker-guard.ts) and every outgoing peer address, whether from
//   `x.pe`, a tracker, the DHT or PEX (peer-guard.ts). Refused peers are dropped and counted
//   (`refusedPeers`); a job whose every tracker is refused says so (`notice`), and fails at once
//   with URL_FORBIDDEN when nothing else could find it a peer.
// * Two ways 1.9.7 can leave a job at 0 % for good, which the one-second tick undoes: a wire
//   whose unchoke arrived before WebTorrent listened to it is never asked for a block
//   (`kickIdleWires`), and a first tracker announce that failed is not retried for 30 minutes
//   (`reannounce`, while the job has no peer).

/** Options of the BitTorrent engine. The caller reads the environment (src/offline/offline-config.ts). */
export interface WebTorrentEngineOptions {
  /** Mainline DHT (BEP 5). The server turns it on unless OPENPAN_BT_DHT=0; tests turn it off. */
  dht: boolean;
  /** Peer exchange (BEP 11): accept peers that connected peers tell us about. */
  pex: boolean;
  /** Accept incoming uTP connections (utp-native). Default false. */
  utp?: boolean;
  /** Global cap on peer connections across all jobs. Default 200. */
  maxConns?: number;
  /** Jobs downloading at once; the others wait in state `queued`, first come first served. Default 5. */
  maxActive?: number;
  /**
   * Jobs that only fetch a magnet link's metadata (they select no file) running at once, in a
   * pool of their own: lookups of links nobody seeds never take the slots of downloads. Default 20.
   */
  maxMetadataFetches?: number;
  /** Global download rate limit, bytes per second. Default: none. */
  downloadLimit?: number;
  /** Global upload rate limit, bytes per second. Default: none. */
  uploadLimit?: number;
  /** A job with no peer and no data for this long fails with NO_PEERS_TIMEOUT. Default 30 minutes. */
  noPeersTimeoutMs?: number;
  /** TCP port for incoming peer connections; 0 picks a free one. Default 0. */
  torrentPort?: number;
  /**
   * Trackers and web seeds whose host the policy refuses are dropped before a job starts
   * (tracker-guard.ts), and no connection is made to a peer address it refuses (peer-guard.ts).
   * Default: none, every tracker, web seed and peer is used.
   */
  addressPolicy?: AddressPolicy;
  /**
   * Descriptors the engine may hold for job and seed files at once, all jobs together
   * (OPENPAN_MAX_OPEN_FILES). Default 256. Ignored when `fdPool` is given.
   */
  maxOpenFiles?: number;
  /** The descriptor pool to open files through (shared with others, or a test's). Default: the engine's own, of `maxOpenFiles`. */
  fdPool?: FdPool;
}

const DEFAULTS = {
  utp: false,
  maxConns: 200,
  maxActive: 5,
  maxMetadataFetches: 20,
  noPeersTimeoutMs: 30 * 60_000,
  torrentPort: 0,
  maxOpenFiles: DEFAULT_MAX_OPEN_FILES,
} as const;

const TICK_MS = 1000;
/** How ut_metadata's `{info: ...}` starts. */
const INFO_ONLY_PREFIX = Buffer.from('d4:info', 'latin1');
/** With no peer connected, the trackers are asked again after this, then after twice as long each time... */
const REANNOUNCE_FIRST_MS = 5_000;
/** ... up to this. */
const REANNOUNCE_MAX_MS = 10 * 60_000;

function failure(code: EngineErrorCode, message: string): EngineFailure {
  const retryable = code === 'NO_PEERS_TIMEOUT' || code === 'DISK_FULL' || code === 'IO_ERROR' || code === 'ENGINE_ERROR';
  return { code, message, retryable };
}

/** Errors from WebTorrent and the filesystem → a failure with a stable code. */
export function failureFromError(err: unknown): EngineFailure {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return failure('DISK_FULL', `No space left on the download disk: ${message}`);
  // The pool's DescriptorsExhaustedError says what happened and what to do; a bare EMFILE gets the same sense.
  if (isDescriptorExhaustion(err) && !(err instanceof DescriptorsExhaustedError)) {
    return failure('IO_ERROR', `Too many open files in the server (${code}): ${message}`);
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return failure('IO_ERROR', message);
  if (/duplicate torrent/i.test(message)) return failure('DUPLICATE_JOB', message);
  return failure('ENGINE_ERROR', message);
}

/** A job's source, checked and normalised before anything touches the network. */
interface PreparedSource {
  infoHash: string;
  /** What WebTorrent is given: the `.torrent` bytes, or a magnet link rebuilt from its parsed parts. */
  torrentId: Buffer | string;
  meta: TorrentMeta | null;
  /** Trackers and web seeds from the magnet link, for the `.torrent` built once metadata arrives. */
  trackers: string[];
  webSeeds: string[];
  /** The magnet link's `x.pe` peers. */
  peers: string[];
}

function prepareSource(source: EngineSource): PreparedSource | EngineFailure {
  try {
    if (source.kind === 'torrent') {
      const meta = parseTorrentOnce(source.torrent);
      assertDownloadable(meta);
      return { infoHash: meta.infoHash as string, torrentId: source.torrent, meta, trackers: [], webSeeds: [], peers: [] };
    }
    if (source.kind !== 'magnet') return failure('PROTOCOL_UNSUPPORTED', `The BitTorrent engine does not download ${source.kind} sources.`);
    const magnet = parseMagnet(source.uri);
    if (magnet.infoHash === null) return failure('PROTOCOL_UNSUPPORTED', 'This magnet link names only a BitTorrent v2 info hash; the engine speaks v1.');
    // Rebuilt from the parsed link: only the hash, name, http(s)/udp trackers, web seeds and
    // peers reach WebTorrent (no `xs`/`as`, which would make it fetch arbitrary URLs).
    const parts = [`xt=urn:btih:${magnet.infoHash}`];
    if (magnet.name !== null) parts.push(`dn=${encodeURIComponent(magnet.name)}`);
    for (const tr of magnet.trackers) parts.push(`tr=${encodeURIComponent(tr)}`);
    for (const ws of magnet.webSeeds) parts.push(`ws=${encodeURIComponent(ws)}`);
    // Unencoded: magnet-uri 6.2.0 does not decode `x.pe`, and a percent-encoded address is one
    // WebTorrent cannot use. parseMagnet's spelling (an IP, `[v6]` or a host name, then `:port`)
    // holds no `&` or `=`.
    for (const pe of magnet.peers) parts.push(`x.pe=${pe}`);
    return {
      infoHash: magnet.infoHash,
      torrentId: `magnet:?${parts.join('&')}`,
      meta: null,
      trackers: magnet.trackers,
      webSeeds: magnet.webSeeds,
      peers: magnet.peers,
    };
  } catch (err) {
    if (isAppError(err) && err.code === 'PROTOCOL_UNSUPPORTED') return failure('PROTOCOL_UNSUPPORTED', err.message);
    if (isAppError(err)) return failure('SOURCE_INVALID', err.message);
    return failure('SOURCE_INVALID', err instanceof Error ? err.message : String(err));
  }
}

function isFailure(value: PreparedSource | EngineFailure): value is EngineFailure {
  return 'code' in value;
}

/** One seed: a read-only torrent uploading verified pieces until stopped. */
class BtSeed implements SeedHandle {
  readonly settled: Promise<SeedStatus>;
  readonly #settle: (status: SeedStatus) => void;
  state: SeedState = 'checking';
  wt: WtTorrent | null = null;
  error: EngineFailure | undefined;
  uploadedBefore = 0;
  closing: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly infoHash: string,
    private readonly engine: WebTorrentEngine,
  ) {
    let settle!: (status: SeedStatus) => void;
    this.settled = new Promise<SeedStatus>((res) => (settle = res));
    this.#settle = settle;
  }

  settle(): void {
    this.#settle(this.status());
  }

  status(): SeedStatus {
    const wt = this.wt;
    return {
      id: this.id,
      state: this.state,
      uploaded: this.uploadedBefore + (wt?.uploaded ?? 0),
      uploadSpeed: wt === null ? 0 : Math.round(wt.uploadSpeed),
      peers: wt === null ? 0 : wt.numPeers,
      ...(this.error === undefined ? {} : { error: this.error }),
    };
  }

  stop(): Promise<void> {
    return this.engine.endSeed(this);
  }
}

/** One job: its bookkeeping and the handle the caller holds. The engine drives it. */
class BtJob extends JobHandle {
  protected readonly control: WebTorrentEngine;

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
  /** Every file's status, for the current metadata, layout and selection. */
  #files: FileStatuses | null = null;

  constructor(engine: WebTorrentEngine, job: EngineJob) {
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

  /** A verified piece was written (fs-chunk-store's `put` completed). */
  pieceWritten(piece: number): void {
    this.reportPiece(piece);
  }
}

/** What `kickIdleWires` reads of WebTorrent 1.9.7's torrent and wires (private API). */
interface WtRequester {
  ready?: boolean;
  destroyed: boolean;
  wires: Array<{ type: string; destroyed?: boolean; peerChoking?: boolean; requests?: unknown[] }>;
  _update?: () => void;
}

/**
 * WebTorrent 1.9.7 asks a wire for blocks only when something happens on it (an `unchoke`, a
 * `have`, a `bitfield`, a block received...), and it starts listening to a new wire one microtask
 * after the handshake. A peer's handshake, have-all (or bitfield) and unchoke that arrive in one
 * read — a busy server, a seeder that unchokes at once — are all handled before anyone listens:
 * the wire stays unchoked and idle, nothing is ever requested, and with a peer connected the job
 * never reaches NO_PEERS_TIMEOUT either: it sits at 0 % for ever. Called on a tick that received
 * nothing, this asks again when some peer lets us request and nothing is asked of it — what
 * WebTorrent does itself after every block it receives.
 */
function kickIdleWires(torrent: WtTorrent): void {
  const wt = torrent as unknown as WtRequester;
  if (wt.ready !== true || wt.destroyed || typeof wt._update !== 'function') return;
  if (!wt.wires.some((w) => w.type !== 'webSeed' && w.destroyed !== true && w.peerChoking === false && w.requests?.length === 0)) return;
  try {
    wt._update();
  } catch {
    // WebTorrent's own business; the next tick asks again.
  }
}

/**
 * Asks the torrent's trackers for peers again now. bittorrent-tracker 9 (under WebTorrent 1.9.7)
 * announces once when a torrent starts and then only at the tracker's interval — 30 minutes until
 * a tracker has answered once: a first announce that fails (a timeout, a reset, a busy tracker)
 * leaves the job without a peer for half an hour, and it then fails with NO_PEERS_TIMEOUT. The
 * engine asks again while a job has no peer, backing off (REANNOUNCE_FIRST_MS doubling up to
 * REANNOUNCE_MAX_MS). `discovery.tracker` is WebTorrent's private API; `update()` is
 * bittorrent-tracker's public one (an announce without event, which trackers take as a start
 * from a peer they do not know).
 */
function reannounce(torrent: WtTorrent): void {
  const tracker = (torrent as unknown as { discovery?: { tracker?: { update?: () => void } | null } | null }).discovery?.tracker;
  if (typeof tracker?.update !== 'function') return;
  try {
    tracker.update();
  } catch {
    // WebTorrent's own business; asked again later.
  }
}

/** A job that selects no file fetches a magnet link's metadata only. */
function fetchesMetadataOnly(job: BtJob): boolean {
  return job.requested !== undefined && job.requested.length === 0;
}

export class WebTorrentEngine implements DownloadEngine, SeedingEngine {
  readonly name = 'webtorrent';
  readonly #opts: Required<Omit<WebTorrentEngineOptions, 'downloadLimit' | 'uploadLimit' | 'addressPolicy' | 'fdPool'>> &
    Pick<WebTorrentEngineOptions, 'downloadLimit' | 'uploadLimit' | 'addressPolicy'>;
  /** Every job's and seed's files are opened through it. */
  readonly #pool: FdPool;
  #client: WtClient | null = null;
  readonly #jobs = new Map<string, BtJob>();
  readonly #queue: BtJob[] = [];
  readonly #active = new Set<BtJob>();
  readonly #seeds = new Map<string, BtSeed>();
  #tick: NodeJS.Timeout | null = null;
  #closed = false;
  /** With an address policy: the guarded pools trackers and web seeds connect through. */
  readonly #agents: GuardedAgents | null;
  readonly #restoreDefaultAgents: () => void;

  constructor(opts: WebTorrentEngineOptions) {
    this.#opts = { ...DEFAULTS, ...opts };
    for (const key of ['maxConns', 'maxActive', 'maxMetadataFetches', 'noPeersTimeoutMs', 'maxOpenFiles'] as const) {
      const v = this.#opts[key];
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`WebTorrentEngine: ${key} must be a positive integer, got ${v}`);
    }
    this.#pool = opts.fdPool ?? new FdPool({ max: this.#opts.maxOpenFiles });
    // Trackers take an agent (proxyOpts); web seeds use the process's default agents, which
    // are the guarded ones while this engine lives. Both follow redirects by themselves: each
    // hop is a connection the guard judges.
    this.#agents = opts.addressPolicy === undefined ? null : guardedAgents(opts.addressPolicy);
    this.#restoreDefaultAgents = this.#agents === null ? () => {} : installDefaultAgents(this.#agents);
  }

  /** The pool the engine opens job and seed files through (its `held`, `peak`, `max`). */
  get fdPool(): FdPool {
    return this.#pool;
  }

  /** WebTorrent's version, for logs. */
  static get version(): string {
    return WebTorrent.VERSION;
  }

  /** The TCP port peers can connect to, once the client is listening; null before. */
  get port(): number | null {
    return this.#client?.address()?.port ?? null;
  }

  /** Totals over the live jobs and seeds (each one's status is cheap). */
  stats(): EngineStats {
    const totals: EngineStats = {
      jobs: this.#jobs.size,
      activeJobs: this.#active.size,
      seeds: this.#seeds.size,
      connections: 0,
      downloadSpeed: 0,
      uploadSpeed: 0,
      downloadLimit: this.#opts.downloadLimit ?? null,
      uploadLimit: this.#opts.uploadLimit ?? null,
    };
    for (const job of this.#active) {
      const status = job.status();
      totals.connections += status.peers;
      totals.downloadSpeed += status.speed;
      totals.uploadSpeed += status.uploadSpeed;
    }
    for (const seed of this.#seeds.values()) {
      const status = seed.status();
      totals.connections += status.peers;
      totals.uploadSpeed += status.uploadSpeed;
    }
    return totals;
  }

  /** Changes the global rate limits at run time (undefined: unlimited). */
  setRateLimits(limits: { downloadLimit?: number; uploadLimit?: number }): void {
    this.#opts.downloadLimit = limits.downloadLimit;
    this.#opts.uploadLimit = limits.uploadLimit;
    this.#client?.throttleDownload(limits.downloadLimit ?? -1);
    this.#client?.throttleUpload(limits.uploadLimit ?? -1);
  }

  start(spec: EngineJob): EngineHandle {
    const job = new BtJob(this, spec);
    if (this.#closed) return this.#born(job, failure('ENGINE_ERROR', 'The engine is closed.'));
    const prepared = prepareSource(spec.source);
    if (isFailure(prepared)) return this.#born(job, prepared);
    // Only live jobs count: a finished or failed job's id and content may be started again.
    for (const other of this.#jobs.values()) {
      if (other.id === job.id) return this.#born(job, failure('DUPLICATE_JOB', `A job with id ${job.id} is already in this engine.`));
      if (other.source?.infoHash === prepared.infoHash) {
        return this.#born(job, failure('DUPLICATE_JOB', `Torrent ${prepared.infoHash} is already being downloaded by job ${other.id}.`));
      }
    }
    job.source = prepared;
    if (prepared.meta !== null) {
      const bad = this.#useMeta(job, prepared.meta, spec.source.kind === 'torrent' ? spec.source.torrent : null);
      if (bad !== null) return this.#born(job, bad);
    }
    job.accepted = true;
    this.#jobs.set(job.id, job);
    this.#queue.push(job);
    this.#ensureTick();
    queueMicrotask(() => this.#pump());
    return job;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#jobs.values()].map((job) => this.stopJob(job, false)));
    await Promise.all([...this.#seeds.values()].map((seed) => this.endSeed(seed)));
    if (this.#tick !== null) clearInterval(this.#tick);
    this.#tick = null;
    const client = this.#client;
    this.#client = null;
    if (client !== null && !client.destroyed) await new Promise<void>((res) => client.destroy(() => res()));
    this.#restoreDefaultAgents();
    this.#agents?.http.destroy();
    this.#agents?.https.destroy();
  }

  // ---- seeding ----

  seedLayout(torrent: Buffer, dir: string): string[] {
    return diskLayout(parseTorrentOnce(torrent), resolve(dir));
  }

  seed(spec: SeedJob): SeedHandle {
    let meta: TorrentMeta;
    try {
      meta = parseTorrentOnce(spec.torrent);
      assertDownloadable(meta);
    } catch (err) {
      return this.#seedBorn(new BtSeed(spec.id, '', this), failure('SOURCE_INVALID', err instanceof Error ? err.message : String(err)));
    }
    const seed = new BtSeed(spec.id, meta.infoHash as string, this);
    if (this.#closed) return this.#seedBorn(seed, failure('ENGINE_ERROR', 'The engine is closed.'));
    const busy =
      this.#seeds.has(spec.id) ||
      [...this.#seeds.values(), ...this.#jobs.values()].some((o) => (o instanceof BtSeed ? o.infoHash : o.source?.infoHash) === seed.infoHash);
    if (busy) return this.#seedBorn(seed, failure('DUPLICATE_JOB', `Torrent ${seed.infoHash} is already in this engine.`));
    // Pad files read as zeros; every other file is read from its path, never written.
    const real = new Set(meta.files.map((f) => f.engineIndex));
    const paths = diskLayout(meta, resolve(spec.dir)).map((p, i) => (real.has(i) ? p : null));
    let torrent: WtTorrent;
    try {
      const parsed = parsedForWebTorrent(meta, spec.torrent, meta.announce, meta.urlList) ?? spec.torrent;
      torrent = this.#ensureClient().add(parsed, { path: resolve(spec.dir), store: readOnlyStore(this.#pool, paths) });
    } catch (err) {
      return this.#seedBorn(seed, failureFromError(err));
    }
    seed.wt = torrent;
    this.#seeds.set(seed.id, seed);
    const current = (): boolean => seed.wt === torrent;
    torrent.on('metadata', () => {
      // WebTorrent selects every piece: a seed wants none, so it never requests anything.
      if (current() && torrent.pieces.length > 0) torrent.deselect(0, torrent.pieces.length - 1, false);
    });
    torrent.on('ready', () => {
      if (current() && seed.state === 'checking') seed.state = 'seeding';
    });
    torrent.on('error', (err) => current() && void this.endSeed(seed, failureFromError(err)));
    torrent.on('warning', () => {});
    torrent.on('wire', (wire) => this.#onWire(wire));
    return seed;
  }

  /** Ends a seed (stopped, or failed with `fail`): the torrent leaves WebTorrent, files untouched. */
  endSeed(seed: BtSeed, fail?: EngineFailure): Promise<void> {
    if (seed.state === 'stopped' || seed.state === 'failed') return seed.closing;
    seed.state = fail === undefined ? 'stopped' : 'failed';
    seed.error = fail;
    if (this.#seeds.get(seed.id) === seed) this.#seeds.delete(seed.id);
    const torrent = seed.wt;
    seed.wt = null;
    if (torrent !== null) {
      seed.uploadedBefore += torrent.uploaded;
      if (!torrent.destroyed) seed.closing = new Promise<void>((res) => torrent.destroy({ destroyStore: false }, () => res()));
    }
    void seed.closing.then(() => seed.settle());
    return seed.closing;
  }

  #seedBorn(seed: BtSeed, fail: EngineFailure): SeedHandle {
    seed.state = 'failed';
    seed.error = fail;
    queueMicrotask(() => seed.settle());
    return seed;
  }

  // ---- job control (called through the handles) ----

  async pauseJob(job: BtJob): Promise<void> {
    if (FINAL_STATES.has(job.state) || job.state === 'paused') return job.closing;
    this.#dequeue(job);
    this.#setState(job, 'paused');
    await this.#leave(job);
  }

  async resumeJob(job: BtJob): Promise<void> {
    if (job.state !== 'paused') return;
    if (this.#closed) return this.#fail(job, failure('ENGINE_ERROR', 'The engine is closed.'));
    this.#setState(job, 'queued');
    this.#queue.push(job);
    this.#pump();
  }

  async stopJob(job: BtJob, deleteData: boolean): Promise<void> {
    if (!FINAL_STATES.has(job.state)) {
      this.#dequeue(job);
      this.#setState(job, 'stopped');
      await this.#leave(job);
      job.settle();
    }
    await job.closing;
    // A job refused at start() never owned its directory (it may be a live twin's): leave it.
    if (deleteData && job.accepted) await rm(job.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  // ---- lifecycle ----

  /** A handle for a job that can never run: failed from birth, its event on the next tick. */
  #born(job: BtJob, fail: EngineFailure): EngineHandle {
    job.state = 'failed';
    job.error = fail;
    queueMicrotask(() => {
      job.listeners.emit('error', fail, job.status());
      job.settle();
    });
    return job;
  }

  /** Adopts the metadata: disk layout, selection. Returns a failure if the selection is bad. */
  #useMeta(job: BtJob, meta: TorrentMeta, torrentFile: Buffer | null): EngineFailure | null {
    const byIndex = new Map<number, TorrentFile>(meta.files.map((f) => [f.engineIndex, f]));
    const requested = job.requested ?? meta.files.map((f) => f.engineIndex);
    for (const index of requested) {
      if (!byIndex.has(index)) return failure('SELECTION_INVALID', `The torrent has no file with engine index ${index}.`);
    }
    job.meta = meta;
    job.torrentFile = torrentFile;
    job.layout = diskLayout(meta, job.dir);
    job.selected = new Set(requested);
    job.ranges = pieceRanges(requested.map((i) => byIndex.get(i) as TorrentFile));
    return null;
  }

  /** Starts queued jobs, first come first served, while their pool (downloads, metadata fetches) has room. */
  #pump(): void {
    for (let i = 0; !this.#closed && i < this.#queue.length; ) {
      const job = this.#queue[i];
      const metadataOnly = fetchesMetadataOnly(job);
      let running = 0;
      for (const other of this.#active) if (fetchesMetadataOnly(other) === metadataOnly) running++;
      if (running < (metadataOnly ? this.#opts.maxMetadataFetches : this.#opts.maxActive)) {
        this.#queue.splice(i, 1);
        void this.#activate(job);
      } else {
        i++;
      }
    }
  }

  #dequeue(job: BtJob): void {
    const at = this.#queue.indexOf(job);
    if (at >= 0) this.#queue.splice(at, 1);
  }

  async #activate(job: BtJob): Promise<void> {
    this.#active.add(job);
    this.#rebalance();
    const generation = ++job.generation;
    this.#setState(job, job.meta === null ? 'metadata' : 'checking');
    try {
      await job.closing;
      await mkdir(job.dir, { recursive: true });
    } catch (err) {
      if (job.generation === generation) this.#fail(job, failureFromError(err));
      return;
    }
    if (job.generation !== generation) return; // paused or stopped meanwhile
    let torrentId: WtParsedTorrent | Buffer | string;
    try {
      torrentId = await this.#guardedTorrentId(job);
    } catch (err) {
      if (job.generation === generation) this.#fail(job, failureFromError(err));
      return;
    }
    if (job.generation !== generation) return;
    let torrent: WtTorrent;
    try {
      const client = this.#ensureClient();
      torrent = client.add(torrentId, { path: job.dir, store: this.#storeFor(job) });
    } catch (err) {
      this.#fail(job, failureFromError(err));
      return;
    }
    job.wt = torrent;
    job.finishing = false;
    job.lastReceived = 0;
    job.lastProgressAt = Date.now();
    job.reannounceDelayMs = REANNOUNCE_FIRST_MS;
    job.reannounceAt = job.lastProgressAt + REANNOUNCE_FIRST_MS;
    const current = (): boolean => job.generation === generation && job.wt === torrent;
    if (job.meta === null) interceptMetadata(torrent, (file) => (current() ? this.#metaFromPeers(job, file) : null));
    torrent.on('metadata', () => current() && this.#onMetadata(job, torrent));
    torrent.on('ready', () => current() && this.#onReady(job));
    torrent.on('done', () => current() && this.#checkDone(job));
    torrent.on('error', (err) => current() && this.#fail(job, failureFromError(err)));
    torrent.on('warning', () => {});
    torrent.on('wire', (wire) => this.#onWire(wire));
    // A tracker's, the DHT's or a PEX peer the policy refused (the client's blocklist, peer-guard.ts).
    torrent.on('blockedPeer', (peer) => current() && typeof peer === 'string' && job.refused.add(peer));
  }

  /**
   * What WebTorrent is given for the job: its torrent (parsed already, parsed-torrent.ts) or
   * magnet link with only the trackers, web seeds and `x.pe` peers the policy allows. Notes on
   * the job what the refusals leave it.
   */
  async #guardedTorrentId(job: BtJob): Promise<WtParsedTorrent | Buffer | string> {
    const source = job.source as PreparedSource;
    const base = job.torrentFile ?? source.torrentId;
    const policy = this.#opts.addressPolicy;
    const named = job.meta?.announce ?? source.trackers;
    const namedSeeds = job.meta?.urlList ?? source.webSeeds;
    if (policy === undefined) return typeof base === 'string' ? base : this.#parsed(job, base, named, namedSeeds);
    const trackers = await allowedUrls(named, policy);
    const webSeeds = await allowedUrls(namedSeeds, policy);
    // Once the metadata is known the job runs from its `.torrent`, which carries no `x.pe`.
    const peers = allowedPeers(typeof base === 'string' ? source.peers : [], policy);
    for (const refused of peers.refused) job.refused.add(refused);
    const verdict = trackersRefused({
      trackers: named.length,
      allowedTrackers: trackers.length,
      webSeeds: webSeeds.length,
      peers: peers.allowed.length,
      dht: this.#opts.dht && job.meta?.private !== true,
    });
    job.notice = verdict?.notice ?? null;
    job.isolated = verdict?.isolated ?? false;
    if (typeof base === 'string') return magnetWithHints(base, trackers, webSeeds, peers.allowed);
    const info = job.meta?.v1Stream?.info;
    return this.#parsed(job, info === undefined ? withHints(base, trackers, webSeeds) : torrentWithHints(info, trackers, webSeeds), trackers, webSeeds);
  }

  /** The job's `.torrent` as WebTorrent takes it parsed (the bytes when openpan's parse has no v1 stream). */
  #parsed(job: BtJob, torrentFile: Buffer, trackers: readonly string[], webSeeds: readonly string[]): WtParsedTorrent | Buffer {
    return job.meta === null ? torrentFile : (parsedForWebTorrent(job.meta, torrentFile, trackers, webSeeds) ?? torrentFile);
  }

  /**
   * The chunk store WebTorrent creates when the metadata is known: a pooled store (pooled-store.ts)
   * over the paths of `diskLayout`. For a magnet link this is the first moment the file list exists.
   */
  #storeFor(job: BtJob): WtStoreConstructor {
    const engine = this;
    return function OpenpanStore(chunkLength: number, opts: WtStoreOptions) {
      if (job.meta === null && job.metaError === null) job.metaError = failure('ENGINE_ERROR', 'WebTorrent adopted metadata that openpan did not parse.');
      const layout = job.layout?.length === opts.files.length ? job.layout : null;
      if (layout === null && job.metaError === null) {
        job.metaError = failure('ENGINE_ERROR', `WebTorrent lists ${opts.files.length} files where openpan's parser found ${job.layout?.length}.`);
      }
      // Until #onMetadata fails such a job, its bytes go nowhere that matters.
      const files = storeFiles(opts, (i) => layout?.[i] ?? resolve(job.dir, 'pad', String(i)));
      return new PooledChunkStore(chunkLength, {
        pool: engine.#pool,
        files,
        length: opts.length,
        writable: true,
        // WebTorrent 1.9.7 puts a piece only once its hash matched, and marks it verified in the
        // callback: report it right after, when its bytes are written in every file they touch.
        onPut: (index) => {
          if (layout !== null) job.pieceWritten(index);
        },
      });
    } as unknown as WtStoreConstructor;
  }

  /**
   * A magnet job's metadata arrived from a peer (`torrentFile`: ut_metadata's `{info}`): build the
   * job's `.torrent`, parse it with openpan's parser, and give WebTorrent that parse. Null (the
   * job failed) when it is unusable.
   */
  #metaFromPeers(job: BtJob, torrentFile: Buffer): WtParsedTorrent | null {
    const source = job.source as PreparedSource;
    try {
      // ut_metadata hands over exactly `d4:info<the info dictionary>e`.
      if (!torrentFile.subarray(0, 7).equals(INFO_ONLY_PREFIX) || torrentFile[torrentFile.length - 1] !== 0x65) {
        throw new Error('WebTorrent reported metadata in an unexpected form.');
      }
      const file = torrentWithHints(torrentFile.subarray(7, -1), source.trackers, source.webSeeds);
      const meta = parseTorrent(file);
      job.metaError = this.#useMeta(job, meta, file);
    } catch (err) {
      job.metaError = failure('SOURCE_INVALID', `The metadata from peers is unusable: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (job.metaError !== null || job.meta === null || job.torrentFile === null) {
      this.#fail(job, job.metaError ?? failure('ENGINE_ERROR', 'The metadata from peers was not adopted.'));
      return null;
    }
    // As parse-torrent would see ut_metadata's bytes: no trackers, no web seeds (WebTorrent keeps the magnet's).
    const parsed = parsedForWebTorrent(job.meta, job.torrentFile, [], []);
    if (parsed === null) this.#fail(job, failure('PROTOCOL_UNSUPPORTED', 'The metadata from peers describes a BitTorrent v2 torrent; the engine speaks v1.'));
    return parsed;
  }

  #onMetadata(job: BtJob, torrent: WtTorrent): void {
    if (job.meta === null && job.metaError === null) job.metaError = failure('ENGINE_ERROR', 'WebTorrent adopted metadata that openpan did not parse.');
    if (job.metaError !== null) {
      this.#fail(job, job.metaError);
      return;
    }
    // WebTorrent has just selected every piece at priority 0: replace that with our selection.
    const pieceCount = torrent.pieces.length;
    if (pieceCount > 0) torrent.deselect(0, pieceCount - 1, false);
    for (const [from, to] of job.ranges) torrent.select(from, to, false);
    job.bitfield = torrent.bitfield ?? null;
    this.#setState(job, 'checking');
    if (!job.metadataEmitted) {
      job.metadataEmitted = true;
      job.listeners.emit('metadata', { status: job.status(), ...(job.torrentFile === null ? {} : { torrent: job.torrentFile }) });
    }
  }

  /** Existing data is verified: record how much there was, then download (or finish). */
  #onReady(job: BtJob): void {
    if (job.state !== 'checking') return;
    if (job.resumedBytes === null) job.resumedBytes = job.status().downloaded;
    job.lastProgressAt = Date.now();
    this.#setState(job, 'downloading');
    this.#checkDone(job);
  }

  #checkDone(job: BtJob): void {
    if (job.state !== 'downloading' || job.finishing || job.bitfield === null) return;
    const bitfield = job.bitfield;
    if (!rangesComplete(job.ranges, (p) => bitfield.get(p))) return;
    job.finishing = true;
    void this.#finish(job);
  }

  async #finish(job: BtJob): Promise<void> {
    await this.#leave(job);
    try {
      // The store never writes an empty file: create the selected ones.
      for (const f of job.meta?.files ?? []) {
        if (f.size !== 0 || !job.selected.has(f.engineIndex)) continue;
        const path = (job.layout as string[])[f.engineIndex];
        await mkdir(dirname(path), { recursive: true });
        await (await openRetrying(path, 'a')).close();
      }
    } catch (err) {
      if (job.state === 'downloading') this.#fail(job, failureFromError(err));
      return;
    }
    if (job.state !== 'downloading') return; // paused or stopped while closing
    this.#setState(job, 'done');
    const status = job.status();
    job.listeners.emit('done', status);
    job.settle();
  }

  #fail(job: BtJob, fail: EngineFailure): void {
    if (FINAL_STATES.has(job.state)) return;
    this.#dequeue(job);
    job.error = fail;
    this.#setState(job, 'failed');
    void this.#leave(job);
    job.listeners.emit('error', fail, job.status());
    job.settle();
  }

  /** Takes the job out of WebTorrent (data kept) and gives its slot to the next in the queue. */
  #leave(job: BtJob): Promise<void> {
    job.generation++;
    const torrent = job.wt;
    job.wt = null;
    if (torrent !== null) {
      job.receivedBefore += torrent.received;
      job.uploadedBefore += torrent.uploaded;
      if (!torrent.destroyed) {
        const previous = job.closing;
        job.closing = new Promise<void>((res) => torrent.destroy({ destroyStore: false }, () => res())).then(() => previous);
      }
    }
    if (this.#active.delete(job)) {
      this.#rebalance();
      queueMicrotask(() => this.#pump());
    }
    return job.closing;
  }

  #setState(job: BtJob, state: EngineState): void {
    if (job.state === state) return;
    job.state = state;
    if (FINAL_STATES.has(state) && this.#jobs.get(job.id) === job) this.#jobs.delete(job.id);
    job.listeners.emit('state', state, job.status());
  }

  // ---- the shared client ----

  #ensureClient(): WtClient {
    if (this.#client !== null && !this.#client.destroyed) return this.#client;
    const o = this.#opts;
    const client = new WebTorrent({
      // The DHT's queries go only where the policy allows (policedDhtSocket).
      dht: o.dht && o.addressPolicy !== undefined ? { socket: policedDhtSocket(o.addressPolicy) } : o.dht,
      lsd: false,
      tracker: this.#agents === null ? {} : { proxyOpts: { httpAgent: this.#agents.http, httpsAgent: this.#agents.https } },
      webSeeds: true,
      utp: o.utp,
      maxConns: o.maxConns,
      torrentPort: o.torrentPort,
      ...(o.downloadLimit === undefined ? {} : { downloadLimit: o.downloadLimit }),
      ...(o.uploadLimit === undefined ? {} : { uploadLimit: o.uploadLimit }),
    });
    client.on('error', (err) => this.#onClientError(client, err));
    // Before any torrent is added: every outgoing peer address is judged by the policy.
    if (o.addressPolicy !== undefined) client.blocked = policyBlocklist(o.addressPolicy);
    this.#client = client;
    this.#rebalance();
    return client;
  }

  /** WebTorrent destroys the whole client on a listening or DHT socket error: fail what ran on it. */
  #onClientError(client: WtClient, err: Error | string): void {
    if (this.#client === client) this.#client = null;
    const fail = failure('ENGINE_ERROR', `The BitTorrent client failed: ${err instanceof Error ? err.message : String(err)}`);
    for (const job of [...this.#active]) this.#fail(job, fail);
    for (const seed of [...this.#seeds.values()]) void this.endSeed(seed, fail);
  }

  /** WebTorrent caps connections per torrent: share the global cap among the active jobs. */
  #rebalance(): void {
    if (this.#client === null) return;
    this.#client.maxConns = Math.max(2, Math.floor(this.#opts.maxConns / Math.max(1, this.#active.size)));
  }

  #onWire(wire: WtWire): void {
    if (!this.#opts.pex && wire.ut_pex !== undefined) {
      // 1.9.7 has no switch for PEX: forget what peers tell us, and stop its timer.
      wire.ut_pex.removeAllListeners('peer');
      wire.ut_pex.reset();
    }
    if (wire.type === 'webSeed') return;
    let total = 0;
    for (const job of this.#active) total += job.wt?.wires.length ?? 0;
    for (const seed of this.#seeds.values()) total += seed.wt?.wires.length ?? 0;
    if (total > this.#opts.maxConns) wire.destroy();
  }

  #ensureTick(): void {
    if (this.#tick !== null) return;
    this.#tick = setInterval(() => this.#onTick(), TICK_MS);
    this.#tick.unref();
  }

  /** Every second: the stall timer (NO_PEERS_TIMEOUT) and a completion check. */
  #onTick(): void {
    const now = Date.now();
    for (const job of [...this.#active]) {
      const torrent = job.wt;
      if (torrent === null || (job.state !== 'metadata' && job.state !== 'downloading')) continue;
      // A web seed is always "connected", even when it answers 404: only bytes count for it.
      const peers = torrent.wires.some((w) => w.type !== 'webSeed');
      if (job.isolated && !peers && !job.finishing) {
        // Every tracker refused and nothing else to ask: waiting for NO_PEERS_TIMEOUT would only hide why.
        this.#fail(job, failure('URL_FORBIDDEN', job.notice ?? 'The address policy refused every source of this torrent.'));
        continue;
      }
      const received = torrent.received !== job.lastReceived;
      if (peers || received) {
        job.lastProgressAt = now;
        job.reannounceDelayMs = REANNOUNCE_FIRST_MS;
        job.reannounceAt = now + REANNOUNCE_FIRST_MS;
      } else if (now >= job.reannounceAt) {
        reannounce(torrent);
        job.reannounceDelayMs = Math.min(job.reannounceDelayMs * 2, REANNOUNCE_MAX_MS);
        job.reannounceAt = now + job.reannounceDelayMs;
      }
      job.lastReceived = torrent.received;
      if (!received && job.state === 'downloading' && !job.finishing) kickIdleWires(torrent);
      if (now - job.lastProgressAt >= this.#opts.noPeersTimeoutMs) {
        const seconds = Math.round(this.#opts.noPeersTimeoutMs / 1000);
        this.#fail(job, failure('NO_PEERS_TIMEOUT', `No peer and no data for ${seconds} s.`));
        continue;
      }
      this.#checkDone(job);
    }
    if (this.#jobs.size === 0 && this.#tick !== null) {
      clearInterval(this.#tick);
      this.#tick = null;
    }
  }
}
