import { resolve } from 'node:path';
import { assertDownloadable, parseTorrentOnce, type TorrentMeta } from '../../torrent/index.js';
import type { EngineFailure, SeedHandle, SeedJob } from '../engine.js';
import { engineFailure } from '../failures.js';
import type { FdPool } from '../fd-pool.js';
import { BtSeed } from './bt-seed.js';
import type { SharedClient } from './client.js';
import { failureFromError } from './failures.js';
import { diskLayout } from './layout.js';
import { parsedForWebTorrent } from './parsed-torrent.js';
import { readOnlyStore } from './seed-store.js';
import type { WtTorrent, WtWire } from './webtorrent-api.js';

/**
 * The engine's seeds: each a read-only torrent over files the caller laid out (hard links to
 * the stored blobs), verified, selecting no piece (so it never downloads), uploading what
 * verified through a chunk store that refuses writes. Seeds hold no download slot.
 */
export class BtSeeds {
  readonly #seeds = new Map<string, BtSeed>();
  readonly #pool: FdPool;
  readonly #client: SharedClient;
  readonly #onWire: (wire: WtWire) => void;

  constructor(deps: { pool: FdPool; client: SharedClient; onWire: (wire: WtWire) => void }) {
    this.#pool = deps.pool;
    this.#client = deps.client;
    this.#onWire = deps.onWire;
  }

  all(): IterableIterator<BtSeed> {
    return this.#seeds.values();
  }

  /** Seeds running now. */
  get size(): number {
    return this.#seeds.size;
  }

  /** Starts seeding `spec`; failed from birth when the engine is closed or the torrent is already in it. */
  start(spec: SeedJob, engine: { closed: boolean; downloading: (infoHash: string) => boolean }): SeedHandle {
    const end = (seed: BtSeed) => this.end(seed);
    let meta: TorrentMeta;
    try {
      meta = parseTorrentOnce(spec.torrent);
      assertDownloadable(meta);
    } catch (err) {
      return born(new BtSeed(spec.id, '', end), engineFailure('SOURCE_INVALID', err instanceof Error ? err.message : String(err)));
    }
    const seed = new BtSeed(spec.id, meta.infoHash as string, end);
    if (engine.closed) return born(seed, engineFailure('ENGINE_ERROR', 'The engine is closed.'));
    const busy = this.#seeds.has(spec.id) || [...this.#seeds.values()].some((o) => o.infoHash === seed.infoHash) || engine.downloading(seed.infoHash);
    if (busy) return born(seed, engineFailure('DUPLICATE_JOB', `Torrent ${seed.infoHash} is already in this engine.`));
    // Pad files read as zeros; every other file is read from its path, never written.
    const real = new Set(meta.files.map((f) => f.engineIndex));
    const paths = diskLayout(meta, resolve(spec.dir)).map((p, i) => (real.has(i) ? p : null));
    let torrent: WtTorrent;
    try {
      const parsed = parsedForWebTorrent(meta, spec.torrent, meta.announce, meta.urlList) ?? spec.torrent;
      torrent = this.#client.get().add(parsed, { path: resolve(spec.dir), store: readOnlyStore(this.#pool, paths) });
    } catch (err) {
      return born(seed, failureFromError(err));
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
    torrent.on('error', (err) => current() && void this.end(seed, failureFromError(err)));
    torrent.on('warning', () => {});
    torrent.on('wire', (wire) => this.#onWire(wire));
    return seed;
  }

  /** Ends a seed (stopped, or failed with `fail`): the torrent leaves WebTorrent, files untouched. */
  end(seed: BtSeed, fail?: EngineFailure): Promise<void> {
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
}

/** A seed that can never run: failed from birth, settled on the next tick. */
function born(seed: BtSeed, fail: EngineFailure): SeedHandle {
  seed.state = 'failed';
  seed.error = fail;
  queueMicrotask(() => seed.settle());
  return seed;
}
