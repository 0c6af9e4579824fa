import type { FdPool } from '../fd-pool.js';
import { PooledChunkStore, storeFiles } from './pooled-store.js';
import type { WtStoreConstructor, WtStoreOptions } from './webtorrent-api.js';

// The chunk store of a seed: reads pieces from files someone else owns (hard links to the
// content store's blobs) and refuses every write, so a seed can never change stored content,
// whatever a peer sends. Files named `null` (BEP 47 pad files) read as zeros. The files are
// opened through the engine's descriptor pool (fd-pool.ts), like a download's, so a seed of a
// 100,000-file torrent holds no more descriptors than the pool allows; closing never deletes.

/** A chunk store constructor over `paths` (by WebTorrent file index; null: zeros). */
export function readOnlyStore(pool: FdPool, paths: ReadonlyArray<string | null>): WtStoreConstructor {
  return function ReadOnlyChunkStore(chunkLength: number, opts: WtStoreOptions) {
    return new PooledChunkStore(chunkLength, { pool, files: storeFiles(opts, (i) => paths[i] ?? null), length: opts.length, writable: false });
  } as unknown as WtStoreConstructor;
}
