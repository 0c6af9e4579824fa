import http from 'node:http';
import https from 'node:https';
import { mkdir, rm } from 'node:fs/promises';
import { FetchError } from '../../net/index.js';
import { ETAG_BLOCK } from '../../store/etag.js';
import { FINAL_STATES, type DownloadEngine, type EngineFailure, type EngineHandle, type EngineJob, type EngineState, type EngineStats } from '../engine.js';
import { engineFailure, failureFromFsError } from '../failures.js';
import { HTTP_DEFAULTS, type HttpEngineOptions } from './options.js';
import { Throttle } from './throttle.js';
import { runTransfer, type TransferConfig } from './transfer.js';
import { HttpJob, TICK_MS } from './http-job.js';

// The HTTP/HTTPS engine: one URL per job, downloaded as the job's single file (engine index 0)
// to `<job.dir>/download`; the scheduler names the file in the drive (from the probe's name).
//
// * Every connection goes through src/net/safe-fetch.ts: the address policy is applied to the
//   resolved addresses, to the socket's peer, and to each redirect, which the engine follows
//   itself (at most `maxRedirects`). A refusal fails the job with URL_FORBIDDEN.
// * `metadata` (probing): a `Range: bytes=0-0` GET gives the final URL, the length, range support
//   and the validators (ETag, Last-Modified).
// * With ranges and a known length the file is preallocated and fetched by `segments` parallel
//   connections; a connection that finishes takes half of the longest remaining range. Without,
//   one stream (no length: the size is what arrived).
// * Progress is saved every 250 ms in `<job.dir>/download.state.json` (ranges written and
//   fdatasynced, validators): a new engine on the same directory — after a pause, a close, a
//   crash — continues with the missing ranges if the validators still match (and sends If-Range),
//   else starts from zero.
// * One version per file: every response must carry the validators of the run's first (a strong
//   ETag, else Last-Modified; the length), whatever the origin made of If-Range; on a mismatch the
//   bytes are discarded and the run starts over (transfer.ts).
// * Pieces (`onPieceVerified`) are the 4 MiB etag blocks of the file (`ETAG_BLOCK`): the
//   scheduler must use `pieceLength = ETAG_BLOCK` and offset 0 for a URL job's etag tracker. A
//   piece is reported once all its bytes are written and the file's length is known.

export const HTTP_PIECE_LENGTH = ETAG_BLOCK;

/** Any error of a run → a failure with a stable code (retryability: failures.ts). */
function failureFrom(err: unknown): EngineFailure {
  if (err instanceof FetchError) return engineFailure(err.code, err.message);
  return failureFromFsError(err) ?? engineFailure('ENGINE_ERROR', err instanceof Error ? err.message : String(err));
}

type Prepared = { url: string } | EngineFailure;

function prepare(job: EngineJob): Prepared {
  const source = job.source;
  if (source.kind !== 'url') return engineFailure('PROTOCOL_UNSUPPORTED', `The HTTP engine does not download ${source.kind} sources.`);
  let url: URL;
  try {
    url = new URL(source.url);
  } catch {
    return engineFailure('SOURCE_INVALID', `Not a URL: ${JSON.stringify(source.url)}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return engineFailure('PROTOCOL_UNSUPPORTED', `The HTTP engine does not download ${url.protocol} URLs.`);
  if (url.username !== '' || url.password !== '') return engineFailure('SOURCE_INVALID', 'URLs with credentials are not downloaded.');
  const bad = job.selectedFiles?.find((i) => i !== 0);
  if (bad !== undefined) return engineFailure('SELECTION_INVALID', `A URL job has one file (index 0), not ${bad}.`);
  url.hash = '';
  return { url: url.href };
}

export class HttpEngine implements DownloadEngine {
  readonly name = 'http';
  readonly #config: TransferConfig;
  readonly #maxActive: number;
  readonly #downloadLimit: number | null;
  readonly #jobs = new Map<string, HttpJob>();
  readonly #queue: HttpJob[] = [];
  readonly #active = new Set<HttpJob>();
  #tick: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: HttpEngineOptions) {
    const o = { ...HTTP_DEFAULTS, ...stripUndefined(options) };
    for (const key of ['segments', 'maxActive', 'connectTimeoutMs', 'idleTimeoutMs', 'maxRedirects'] as const) {
      if (!Number.isSafeInteger(o[key]) || o[key] < 1) throw new RangeError(`HttpEngine: ${key} must be a positive integer, got ${o[key]}`);
    }
    for (const key of ['retries', 'retryDelayMs'] as const) {
      if (!Number.isSafeInteger(o[key]) || o[key] < 0) throw new RangeError(`HttpEngine: ${key} must be a non-negative integer, got ${o[key]}`);
    }
    if (options.downloadLimit !== undefined && !(options.downloadLimit > 0)) throw new RangeError('HttpEngine: downloadLimit must be positive');
    this.#maxActive = o.maxActive;
    this.#downloadLimit = options.downloadLimit ?? null;
    // Keep-alive: a segment's next range request reuses its connection (already checked by the policy).
    const agentOptions = { keepAlive: true, maxSockets: 64, scheduling: 'lifo' as const };
    this.#config = {
      policy: options.policy,
      segments: o.segments,
      connectTimeoutMs: o.connectTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      retries: o.retries,
      retryDelayMs: o.retryDelayMs,
      maxRedirects: o.maxRedirects,
      agents: { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) },
      throttle: options.downloadLimit === undefined ? null : new Throttle(options.downloadLimit),
    };
  }

  /** Totals over the live jobs. */
  stats(): EngineStats {
    const totals: EngineStats = {
      jobs: this.#jobs.size,
      activeJobs: this.#active.size,
      seeds: 0,
      connections: 0,
      downloadSpeed: 0,
      uploadSpeed: 0,
      downloadLimit: this.#downloadLimit,
      uploadLimit: null,
    };
    for (const job of this.#active) {
      const status = job.status();
      totals.connections += status.peers;
      totals.downloadSpeed += status.speed;
    }
    return totals;
  }

  start(spec: EngineJob): EngineHandle {
    const job = new HttpJob(this, spec);
    if (this.#closed) return this.#born(job, engineFailure('ENGINE_ERROR', 'The engine is closed.'));
    const prepared = prepare(spec);
    if ('code' in prepared) return this.#born(job, prepared);
    for (const other of this.#jobs.values()) {
      if (other.id === job.id) return this.#born(job, engineFailure('DUPLICATE_JOB', `A job with id ${job.id} is already in this engine.`));
      if (other.dir === job.dir) return this.#born(job, engineFailure('DUPLICATE_JOB', `Job ${other.id} already downloads into ${job.dir}.`));
    }
    job.url = prepared.url;
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
    if (this.#tick !== null) clearInterval(this.#tick);
    this.#tick = null;
    this.#config.agents.http.destroy();
    this.#config.agents.https.destroy();
  }

  // ---- job control (called by the handles) ----

  async pauseJob(job: HttpJob): Promise<void> {
    if (FINAL_STATES.has(job.state) || job.state === 'paused') return this.#settledRun(job);
    this.#dequeue(job);
    this.setState(job, 'paused');
    await this.#leave(job);
  }

  async resumeJob(job: HttpJob): Promise<void> {
    if (job.state !== 'paused') return;
    if (this.#closed) return this.#fail(job, engineFailure('ENGINE_ERROR', 'The engine is closed.'));
    this.setState(job, 'queued');
    this.#queue.push(job);
    this.#pump();
  }

  async stopJob(job: HttpJob, deleteData: boolean): Promise<void> {
    if (!FINAL_STATES.has(job.state)) {
      this.#dequeue(job);
      this.setState(job, 'stopped');
      await this.#leave(job);
      job.settle();
    }
    await this.#settledRun(job);
    // A job refused at start() never owned its directory (it may be a live twin's): leave it.
    if (deleteData && job.accepted) await rm(job.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  setState(job: HttpJob, state: EngineState): void {
    if (job.state === state) return;
    job.state = state;
    if (FINAL_STATES.has(state) && this.#jobs.get(job.id) === job) this.#jobs.delete(job.id);
    job.listeners.emit('state', state, job.status());
  }

  // ---- lifecycle ----

  #born(job: HttpJob, fail: EngineFailure): EngineHandle {
    job.state = 'failed';
    job.error = fail;
    queueMicrotask(() => {
      job.listeners.emit('error', fail, job.status());
      job.settle();
    });
    return job;
  }

  #pump(): void {
    while (!this.#closed && this.#active.size < this.#maxActive && this.#queue.length > 0) {
      const job = this.#queue.shift() as HttpJob;
      this.#activate(job);
    }
  }

  #activate(job: HttpJob): void {
    this.#active.add(job);
    this.setState(job, 'metadata');
    const abort = new AbortController();
    const done = (async () => {
      await mkdir(job.dir, { recursive: true });
      await runTransfer(job, this.#config, abort.signal);
    })();
    job.run = { abort, done: done.catch(() => {}) };
    done.then(
      () => {
        if (abort.signal.aborted) return;
        job.lengthKnown();
        this.#finish(job);
      },
      (err: unknown) => {
        if (abort.signal.aborted) return; // paused or stopped: the state is already set
        this.#fail(job, failureFrom(err));
      },
    );
  }

  #finish(job: HttpJob): void {
    if (FINAL_STATES.has(job.state) || job.state === 'paused') return;
    void this.#leave(job);
    this.setState(job, 'done');
    job.listeners.emit('done', job.status());
    job.settle();
  }

  #fail(job: HttpJob, fail: EngineFailure): void {
    if (FINAL_STATES.has(job.state)) return;
    this.#dequeue(job);
    job.error = fail;
    this.setState(job, 'failed');
    void this.#leave(job);
    job.listeners.emit('error', fail, job.status());
    job.settle();
  }

  /** Ends the job's run (connections closed, file closed, state saved) and frees its slot. */
  async #leave(job: HttpJob): Promise<void> {
    const run = job.run;
    if (run !== null) {
      run.abort.abort(new FetchError('NETWORK_ERROR', 'The job was paused or stopped.'));
      await run.done;
      if (job.run === run) job.run = null;
    }
    job.clearSpeed();
    if (this.#active.delete(job)) queueMicrotask(() => this.#pump());
  }

  async #settledRun(job: HttpJob): Promise<void> {
    await job.run?.done;
  }

  #dequeue(job: HttpJob): void {
    const i = this.#queue.indexOf(job);
    if (i !== -1) this.#queue.splice(i, 1);
  }

  #ensureTick(): void {
    if (this.#tick !== null) return;
    this.#tick = setInterval(() => {
      for (const job of this.#active) job.tick();
    }, TICK_MS);
    this.#tick.unref();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
