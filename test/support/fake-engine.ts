// A DownloadEngine with no network: it "downloads" from an in-memory catalogue the test fills
// (a torrent's byte stream by info hash, a URL's bytes), writing real files under the job's
// directory where the real engines put them — `diskLayout` for a torrent or magnet link,
// `<dir>/download` for a URL — so the scheduler's import finds them. It verifies what is on
// disk when a job (re)starts, reports verified pieces, and emits the real engines' events in
// their order. It passes test/support/engine-conformance.ts (fake-conformance.test.ts).
//
// Speed: `manual` jobs move only when the test calls `step()`; otherwise a timer moves every
// downloading job by `bytesPerTick` (or by `downloadLimit` bytes per second), all at once when
// neither is set. Stalls: a source missing from the catalogue never sends a byte (a magnet link
// of it never gets metadata). Failures: `fail()` and `vanish()` end a live job now;
// `failNext()` makes the next jobs fail as soon as they would download; `throwOnNextStarts()`
// makes `start()` itself throw.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { diskLayout, pieceRanges, verifiedBytes } from '../../src/engines/bittorrent/layout.js';
import {
  FINAL_STATES,
  engineFailure,
  HTTP_PIECE_LENGTH,
  type DownloadEngine,
  type EngineErrorCode,
  type EngineFailure,
  type EngineFileStatus,
  type EngineHandle,
  type EngineJob,
  type EngineState,
  type EngineStatus,
} from '../../src/engines/index.js';
import { JobHandle } from '../../src/engines/job-handle.js';
import { assertDownloadable, parseMagnet, parseTorrentOnce, type TorrentMeta } from '../../src/torrent/index.js';

/** What the (imaginary) peers and servers have. Shared by every engine built over it, as a swarm outlives a process. */
export class FakeCatalogue {
  readonly torrents = new Map<string, { torrent: Buffer; stream: Buffer }>();
  readonly urls = new Map<string, Buffer>();

  /**
   * Makes a torrent downloadable: `stream` is its v1 byte stream (every file of the torrent's
   * own list in order, pad files included). Returns the info hash.
   */
  addTorrent(torrent: Buffer, stream: Buffer): string {
    const meta = parseTorrentOnce(torrent);
    if (meta.infoHash === null || stream.length !== meta.streamSize)
      throw new Error(`FakeCatalogue: the stream has ${stream.length} bytes, the torrent ${meta.streamSize}`);
    this.torrents.set(meta.infoHash, { torrent, stream });
    return meta.infoHash;
  }

  addUrl(url: string, bytes: Buffer): void {
    this.urls.set(url, bytes);
  }
}

export interface FakeEngineOptions {
  catalogue: FakeCatalogue;
  /** Jobs move only on `step()`. */
  manual?: boolean;
  /** Automatic jobs: bytes per tick (default: everything at once, or what `downloadLimit` allows). */
  bytesPerTick?: number;
  /** Bytes per second per job, as the real engines' option (conformance's slow runs). */
  downloadLimit?: number;
  /** Default 20 ms. */
  tickMs?: number;
}

/** One file of a job's byte stream, where it lies on disk. */
interface Segment {
  index: number;
  path: string;
  offset: number;
  size: number;
  /** Listed in `status().files` (not a pad file). */
  listed: boolean;
}

/** What a job downloads, once its metadata is known. */
interface Content {
  stream: Buffer | null;
  pieceLength: number;
  size: number;
  segments: Segment[];
  /** Whether `bytes` are piece `piece` of the content. */
  verify(piece: number, bytes: Buffer): boolean;
  torrent?: Buffer;
}

/** A failure with the retryability the real engines give its code (src/engines/failures.ts). */
export function fakeFailure(code: EngineErrorCode, message = `fake ${code}`): EngineFailure {
  return engineFailure(code, message);
}

function torrentContent(meta: TorrentMeta, dir: string, stream: Buffer | null, torrent: Buffer): Content {
  const paths = diskLayout(meta, dir);
  const listed = new Map(meta.files.map((f) => [f.engineIndex, f]));
  const hidden = new Map((meta.v1Stream?.hidden ?? []).map((h) => [h.engineIndex, h.size]));
  const segments: Segment[] = [];
  for (let i = 0, offset = 0; i < meta.engineFileCount; i++) {
    const size = listed.get(i)?.size ?? hidden.get(i) ?? 0;
    segments.push({ index: i, path: paths[i], offset, size, listed: listed.has(i) });
    offset += size;
  }
  const hashes = meta.v1Stream?.pieces ?? Buffer.alloc(0);
  return {
    stream,
    pieceLength: meta.pieceLength,
    size: meta.streamSize,
    segments,
    torrent,
    verify: (piece, bytes) =>
      createHash('sha1')
        .update(bytes)
        .digest()
        .equals(hashes.subarray(piece * 20, piece * 20 + 20)),
  };
}

function urlContent(dir: string, bytes: Buffer): Content {
  return {
    stream: bytes,
    pieceLength: HTTP_PIECE_LENGTH,
    size: bytes.length,
    segments: [{ index: 0, path: join(dir, 'download'), offset: 0, size: bytes.length, listed: true }],
    verify: (piece, got) => got.equals(bytes.subarray(piece * HTTP_PIECE_LENGTH, (piece + 1) * HTTP_PIECE_LENGTH)),
  };
}

/** A fake job. Its fields are the engine's business; tests read `status()` and `spec`. */
export class FakeJob extends JobHandle {
  protected readonly control: FakeEngine;
  readonly spec: EngineJob;
  state: EngineState = 'queued';
  error: EngineFailure | undefined;
  accepted = false;
  /** Info hash (torrent, magnet) or URL: the catalogue key. */
  key = '';
  meta: TorrentMeta | null = null;
  content: Content | null = null;
  selected = new Set<number>();
  /** Pieces the selection needs, in download order. */
  needed: number[] = [];
  readonly have = new Set<number>();
  resumedBytes: number | null = null;
  metadataEmitted = false;
  /** Bumped whenever the job stops transferring: late work of an older run is dropped. */
  generation = 0;
  /** Bytes paid for but not yet a whole piece. */
  credit = 0;
  received = 0;
  /** The transfer in flight (writes are serialised). */
  busy: Promise<void> = Promise.resolve();
  /** Transfers queued or running. */
  transfers = 0;
  readonly #samples: Array<{ at: number; bytes: number }> = [];

  constructor(engine: FakeEngine, spec: EngineJob) {
    super(spec);
    this.control = engine;
    this.spec = { ...spec, selectedFiles: spec.selectedFiles === undefined ? undefined : [...spec.selectedFiles] };
  }

  status(): EngineStatus {
    const files: EngineFileStatus[] = [];
    let downloaded = 0;
    let selectedSize = 0;
    const c = this.content;
    if (c !== null) {
      const has = (p: number): boolean => this.have.has(p);
      for (const s of c.segments) {
        if (!s.listed) continue;
        const first = Math.floor(s.offset / c.pieceLength);
        const last = s.size === 0 ? first - 1 : Math.floor((s.offset + s.size - 1) / c.pieceLength);
        const bytes = verifiedBytes({ offset: s.offset, size: s.size, firstPiece: first, lastPiece: last }, c.pieceLength, has);
        const selected = this.selected.has(s.index);
        files.push({
          index: s.index,
          path: s.path,
          size: s.size,
          selected,
          downloaded: bytes,
          done: s.size === 0 ? selected && this.state === 'done' : bytes === s.size,
        });
        if (selected) {
          downloaded += bytes;
          selectedSize += s.size;
        }
      }
    }
    const moving = this.state === 'downloading' && c?.stream != null;
    return {
      id: this.id,
      state: this.state,
      downloaded,
      selectedSize,
      resumedBytes: this.resumedBytes,
      speed: moving ? this.#speed() : 0,
      uploadSpeed: 0,
      peers: moving ? 1 : 0,
      received: this.received,
      uploaded: 0,
      files,
      ...(this.error === undefined ? {} : { error: this.error }),
    };
  }

  got(bytes: number): void {
    this.received += bytes;
    this.#samples.push({ at: Date.now(), bytes });
  }

  #speed(): number {
    const since = Date.now() - 1000;
    while (this.#samples.length > 0 && this.#samples[0].at < since) this.#samples.shift();
    return this.#samples.reduce((n, s) => n + s.bytes, 0);
  }

  piece(piece: number): void {
    this.reportPiece(piece);
  }
}

export class FakeEngine implements DownloadEngine {
  readonly name = 'fake';
  readonly #o: FakeEngineOptions;
  /** Live jobs by id. */
  readonly #jobs = new Map<string, FakeJob>();
  /** Every job `start` was asked for, in order (refused ones too). */
  readonly started: FakeJob[] = [];
  readonly #waiters = new Set<() => void>();
  #failNext: { failure: EngineFailure; count: number } | null = null;
  #throwNext = 0;
  /** Calls to `start()` that threw (`throwOnNextStarts`). */
  thrown = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(opts: FakeEngineOptions) {
    this.#o = opts;
  }

  start(spec: EngineJob): EngineHandle {
    if (this.#throwNext > 0) {
      this.#throwNext--;
      this.thrown++;
      throw new Error('FakeEngine: start() broke its contract, as asked');
    }
    const job = new FakeJob(this, spec);
    this.started.push(job);
    if (this.#closed) return this.#born(job, engineFailure('ENGINE_ERROR', 'The engine is closed.'));
    const bad = this.#prepare(job);
    if (bad !== null) return this.#born(job, bad);
    for (const other of this.#jobs.values()) {
      if (other.id === job.id) return this.#born(job, engineFailure('DUPLICATE_JOB', `A job with id ${job.id} is already in this engine.`));
      if (other.key === job.key) return this.#born(job, engineFailure('DUPLICATE_JOB', `${job.key} is already being downloaded by job ${other.id}.`));
    }
    job.accepted = true;
    this.#jobs.set(job.id, job);
    queueMicrotask(() => void this.#activate(job));
    this.#changed();
    return job;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#jobs.values()].map((job) => this.stopJob(job, false)));
    this.#schedule();
  }

  // ---- what tests drive ----

  /** The live job with this id, else the last one started with it. */
  job(id: string): FakeJob | undefined {
    return this.#jobs.get(id) ?? this.started.findLast((j) => j.id === id);
  }

  /** The last `start` for this id (its selection is `spec.selectedFiles`). */
  lastStart(id: string): FakeJob | undefined {
    return this.started.findLast((j) => j.id === id);
  }

  /** Resolves once `pred` holds, looked at after every change of any job. */
  until(pred: () => boolean, what = 'a condition', timeoutMs = 5000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pred()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`FakeEngine: timed out waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Resolves with the live job `id` once it is downloading. */
  async downloading(id: string, timeoutMs?: number): Promise<FakeJob> {
    await this.until(() => this.#jobs.get(id)?.state === 'downloading', `job ${id} downloading`, timeoutMs);
    return this.#jobs.get(id) as FakeJob;
  }

  /**
   * Moves the live job `id` by `bytes` (default: to the end of its selection) and resolves once
   * those pieces are written and reported, and the job is done if it has everything.
   */
  async step(id: string, bytes = Number.POSITIVE_INFINITY): Promise<EngineStatus> {
    const job = this.#jobs.get(id);
    if (job === undefined || job.state !== 'downloading') throw new Error(`FakeEngine: job ${id} is not downloading (${job?.state ?? 'no such job'})`);
    await this.#advance(job, bytes);
    return job.status();
  }

  /** Moves job `id` until `pieces` more pieces are verified. */
  stepPieces(id: string, pieces: number): Promise<EngineStatus> {
    const job = this.#jobs.get(id);
    return this.step(id, (job?.content?.pieceLength ?? 0) * pieces - (job?.credit ?? 0));
  }

  /** Fails the live job `id` now, as the engine would (state `failed`, then `error`). */
  fail(id: string, why: EngineFailure): void {
    const job = this.#jobs.get(id);
    if (job === undefined) throw new Error(`FakeEngine: no live job ${id}`);
    this.#fail(job, why);
  }

  /** Ends the live job `id` behind its owner's back: `stopped`, without an error, data kept. */
  vanish(id: string): void {
    const job = this.#jobs.get(id);
    if (job === undefined) throw new Error(`FakeEngine: no live job ${id}`);
    this.#leave(job);
    this.#setState(job, 'stopped');
    job.settle();
  }

  /** The next `count` jobs fail with `why` once they have checked their data (instead of downloading). */
  failNext(why: EngineFailure, count = 1): void {
    this.#failNext = count > 0 ? { failure: why, count } : null;
  }

  /**
   * The next `count` calls to `start()` throw — an engine bug, against the contract — so that
   * nothing drives the job until the scheduler's watchdog looks at it.
   */
  throwOnNextStarts(count = 1): void {
    this.#throwNext = count;
  }

  // ---- job control (through the handles) ----

  async pauseJob(job: FakeJob): Promise<void> {
    if (FINAL_STATES.has(job.state) || job.state === 'paused') return job.busy;
    this.#leave(job);
    this.#setState(job, 'paused');
    await job.busy;
  }

  async resumeJob(job: FakeJob): Promise<void> {
    if (job.state !== 'paused') return;
    if (this.#closed) return this.#fail(job, engineFailure('ENGINE_ERROR', 'The engine is closed.'));
    this.#setState(job, 'queued');
    queueMicrotask(() => void this.#activate(job));
  }

  async stopJob(job: FakeJob, deleteData: boolean): Promise<void> {
    if (!FINAL_STATES.has(job.state)) {
      this.#leave(job);
      this.#setState(job, 'stopped');
      job.settle();
    }
    await job.busy;
    if (deleteData && job.accepted) await rm(job.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  // ---- the jobs ----

  /** Checks the source and, when its metadata is known, the selection. */
  #prepare(job: FakeJob): EngineFailure | null {
    const source = job.spec.source;
    try {
      if (source.kind === 'url') {
        const url = new URL(source.url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') return engineFailure('PROTOCOL_UNSUPPORTED', `No ${url.protocol} URLs.`);
        if (job.spec.selectedFiles?.some((i) => i !== 0)) return engineFailure('SELECTION_INVALID', 'A URL job has one file (index 0).');
        job.key = url.href;
        return null;
      }
      if (source.kind === 'magnet') {
        const magnet = parseMagnet(source.uri);
        if (magnet.infoHash === null) return engineFailure('PROTOCOL_UNSUPPORTED', 'A v2-only magnet link.');
        job.key = magnet.infoHash;
        return null;
      }
      const meta = parseTorrentOnce(source.torrent);
      assertDownloadable(meta);
      job.key = meta.infoHash as string;
      return this.#useMeta(job, meta, source.torrent);
    } catch (err) {
      return engineFailure('SOURCE_INVALID', err instanceof Error ? err.message : String(err));
    }
  }

  #useMeta(job: FakeJob, meta: TorrentMeta, torrent: Buffer): EngineFailure | null {
    const real = new Set(meta.files.map((f) => f.engineIndex));
    const wanted = job.spec.selectedFiles ?? [...real];
    const bad = wanted.find((i) => !real.has(i));
    if (bad !== undefined) return engineFailure('SELECTION_INVALID', `The torrent has no file with engine index ${bad}.`);
    job.meta = meta;
    job.content = torrentContent(meta, job.dir, this.#o.catalogue.torrents.get(job.key)?.stream ?? null, torrent);
    job.selected = new Set(wanted);
    job.needed = pieceRanges(meta.files.filter((f) => job.selected.has(f.engineIndex))).flatMap(([from, to]) =>
      Array.from({ length: to - from + 1 }, (_, k) => from + k),
    );
    return null;
  }

  /** queued → (metadata) → checking → downloading, as a real engine takes a job up. */
  async #activate(job: FakeJob): Promise<void> {
    if (job.state !== 'queued') return;
    const generation = ++job.generation;
    const current = (): boolean => job.generation === generation && !FINAL_STATES.has(job.state);
    this.#setState(job, job.content === null ? 'metadata' : 'checking');
    try {
      await job.busy;
      await mkdir(job.dir, { recursive: true });
      if (job.content === null && !(await this.#fetchMetadata(job, current))) return;
      if (!current()) return;
      // A URL is probed, not checked: its engine goes from `metadata` straight to `downloading`.
      if (job.spec.source.kind !== 'url') this.#setState(job, 'checking');
      await this.#check(job, current);
    } catch (err) {
      if (current()) this.#fail(job, engineFailure('IO_ERROR', err instanceof Error ? err.message : String(err)));
      return;
    }
    if (!current()) return;
    if (!job.metadataEmitted) {
      job.metadataEmitted = true;
      job.listeners.emit('metadata', { status: job.status(), ...(job.content?.torrent === undefined ? {} : { torrent: job.content.torrent }) });
      if (!current()) return;
    }
    job.resumedBytes ??= job.status().downloaded;
    const broken = this.#failNext;
    if (broken !== null) {
      if (--broken.count <= 0) this.#failNext = null;
      this.#fail(job, broken.failure);
      return;
    }
    this.#setState(job, 'downloading');
    if (this.#isComplete(job)) await this.#finish(job, generation);
    else this.#schedule();
  }

  /** A magnet link's metadata or a URL's length: from the catalogue, or never (no peers, no server). */
  async #fetchMetadata(job: FakeJob, current: () => boolean): Promise<boolean> {
    const source = job.spec.source;
    if (source.kind === 'url') {
      const bytes = this.#o.catalogue.urls.get(job.key);
      if (bytes === undefined) {
        this.#fail(job, engineFailure('HTTP_404', `${job.key} answered 404.`));
        return false;
      }
      if (job.spec.maxBytes !== undefined && bytes.length > job.spec.maxBytes) {
        this.#fail(job, engineFailure('SPACE_EXCEEDED', `${job.key} is longer (${bytes.length} bytes) than the room left (${job.spec.maxBytes}).`));
        return false;
      }
      job.content = urlContent(job.dir, bytes);
      job.selected = new Set(job.spec.selectedFiles ?? [0]);
      job.needed = job.selected.has(0) ? Array.from({ length: Math.ceil(bytes.length / HTTP_PIECE_LENGTH) }, (_, p) => p) : [];
      return true;
    }
    const entry = this.#o.catalogue.torrents.get(job.key);
    if (entry === undefined) return false; // nobody has it: the job waits in `metadata`
    if (!current()) return false;
    const bad = this.#useMeta(job, parseTorrentOnce(entry.torrent), entry.torrent);
    if (bad !== null) {
      this.#fail(job, bad);
      return false;
    }
    return true;
  }

  /** Verifies every piece already on disk (a restart, a resume). */
  async #check(job: FakeJob, current: () => boolean): Promise<void> {
    const c = job.content as Content;
    const pieces = Math.ceil(c.size / c.pieceLength);
    const files = new Map<string, Buffer | null>();
    const read = async (path: string): Promise<Buffer | null> => {
      if (!files.has(path)) files.set(path, await readFile(path).catch(() => null));
      return files.get(path) as Buffer | null;
    };
    for (let p = 0; p < pieces && current(); p++) {
      if (job.have.has(p)) continue;
      const bytes = Buffer.alloc(Math.min(c.pieceLength, c.size - p * c.pieceLength));
      let whole = true;
      for (const [s, at, from, len] of this.#parts(c, p)) {
        const data = await read(s.path);
        if (data === null || data.length < from + len) {
          whole = false;
          break;
        }
        data.copy(bytes, at, from, from + len);
      }
      if (whole && c.verify(p, bytes)) job.have.add(p);
    }
  }

  /** The pieces of files piece `p` covers: [segment, offset in the piece, offset in the file, length]. */
  #parts(c: Content, p: number): Array<[Segment, number, number, number]> {
    const start = p * c.pieceLength;
    const end = Math.min(c.size, start + c.pieceLength);
    const out: Array<[Segment, number, number, number]> = [];
    for (const s of c.segments) {
      const from = Math.max(start, s.offset);
      const to = Math.min(end, s.offset + s.size);
      if (from < to) out.push([s, from - start, from - s.offset, to - from]);
    }
    return out;
  }

  #isComplete(job: FakeJob): boolean {
    return job.needed.every((p) => job.have.has(p));
  }

  /** Pays `bytes` into the job and writes every piece they complete, in order. */
  #advance(job: FakeJob, bytes: number): Promise<void> {
    const generation = job.generation;
    job.transfers++;
    const run = job.busy.then(async () => {
      const c = job.content;
      if (c === null || c.stream === null || job.generation !== generation || job.state !== 'downloading') return;
      job.credit += bytes;
      for (const p of job.needed) {
        if (job.have.has(p)) continue;
        const length = Math.min(c.pieceLength, c.size - p * c.pieceLength);
        if (job.credit < length) break;
        for (const [s, at, from, len] of this.#parts(c, p))
          await writeAt(s.path, c.stream.subarray(p * c.pieceLength + at, p * c.pieceLength + at + len), from);
        if (job.generation !== generation) return; // paused or stopped meanwhile: the piece is not verified
        job.credit -= length;
        job.got(length);
        job.have.add(p);
        job.piece(p);
      }
      if (!Number.isFinite(job.credit)) job.credit = 0;
      this.#changed();
    });
    job.busy = run.catch(() => {}).finally(() => job.transfers--);
    return run.then(
      async () => {
        if (job.generation === generation && job.state === 'downloading' && this.#isComplete(job)) await this.#finish(job, generation);
      },
      (err: unknown) => {
        if (job.generation === generation) this.#fail(job, engineFailure('IO_ERROR', err instanceof Error ? err.message : String(err)));
      },
    );
  }

  async #finish(job: FakeJob, generation: number): Promise<void> {
    // Selected empty files exist once the job is done, as with the real engines.
    for (const s of job.content?.segments ?? []) {
      if (s.size === 0 && s.listed && job.selected.has(s.index)) await writeAt(s.path, Buffer.alloc(0), 0);
    }
    if (job.generation !== generation || job.state !== 'downloading') return;
    this.#leave(job);
    this.#setState(job, 'done');
    job.listeners.emit('done', job.status());
    job.settle();
  }

  #fail(job: FakeJob, why: EngineFailure): void {
    if (FINAL_STATES.has(job.state)) return;
    job.error = why;
    this.#leave(job);
    this.#setState(job, 'failed');
    job.listeners.emit('error', why, job.status());
    job.settle();
  }

  #born(job: FakeJob, why: EngineFailure): EngineHandle {
    job.state = 'failed';
    job.error = why;
    queueMicrotask(() => {
      job.listeners.emit('error', why, job.status());
      job.settle();
    });
    return job;
  }

  /** The job stops transferring (its writes in flight are not counted). */
  #leave(job: FakeJob): void {
    job.generation++;
    job.credit = 0;
  }

  #setState(job: FakeJob, state: EngineState): void {
    if (job.state === state) return;
    job.state = state;
    if (FINAL_STATES.has(state) && this.#jobs.get(job.id) === job) this.#jobs.delete(job.id);
    job.listeners.emit('state', state, job.status());
    this.#schedule();
    this.#changed();
  }

  #changed(): void {
    for (const check of [...this.#waiters]) check();
  }

  // ---- automatic transfer ----

  #schedule(): void {
    const moving = !this.#o.manual && !this.#closed && [...this.#jobs.values()].some((j) => j.state === 'downloading');
    if (moving && this.#timer === null) {
      const tickMs = this.#o.tickMs ?? 20;
      const perTick =
        this.#o.bytesPerTick ??
        (this.#o.downloadLimit === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.round((this.#o.downloadLimit * tickMs) / 1000)));
      this.#timer = setInterval(() => {
        for (const job of this.#jobs.values()) if (job.state === 'downloading' && job.transfers === 0) void this.#advance(job, perTick);
      }, tickMs);
    } else if (!moving && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}

async function writeAt(path: string, bytes: Buffer, position: number): Promise<void> {
  let fh = await open(path, 'r+').catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    return null;
  });
  if (fh === null) {
    await mkdir(dirname(path), { recursive: true });
    fh = await open(path, 'w+');
  }
  try {
    if (bytes.length > 0) await fh.write(bytes, 0, bytes.length, position);
  } finally {
    await fh.close();
  }
}
