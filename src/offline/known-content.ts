import { forEachInParallel } from '../parallel.js';
import type { BlobStore } from '../store/blob-store.js';
import type { OfflineRepo } from './offline.repo.js';

/** An engine file's content as the store holds it. */
export interface StoredContent {
  etag: string;
  size: number;
}

/** Store lookups in flight at once. */
const LOOKUPS_PARALLEL = 16;

/**
 * What the store already holds of a torrent (or URL): (info hash, engine file index) → etag, as
 * recorded at each import, kept only while the blob itself is still there. The parser, the
 * service and the scheduler ask it before anything is downloaded again.
 */
export class KnownContent {
  readonly #repo: Pick<OfflineRepo, 'content'>;
  readonly #store: Pick<BlobStore, 'exists'>;

  constructor(repo: Pick<OfflineRepo, 'content'>, store: Pick<BlobStore, 'exists'>) {
    this.#repo = repo;
    this.#store = store;
  }

  /** Engine file indices (of `indices`, or all) whose content the store holds, with its etag. */
  async held(infoHash: string, indices?: Iterable<number>): Promise<Map<number, StoredContent>> {
    const content = await this.#repo.content(infoHash, indices === undefined ? undefined : [...indices]);
    const out = new Map<number, StoredContent>();
    await forEachInParallel([...content], LOOKUPS_PARALLEL, async ([i, c]) => {
      if (await this.#store.exists(c.etag)) out.set(i, c);
    });
    return out;
  }

  /** The recorded content of `indices` just stored (no store lookup: they were stored a moment ago). */
  async recorded(infoHash: string, indices: readonly number[]): Promise<Map<number, StoredContent>> {
    const content = await this.#repo.content(infoHash, [...indices]);
    const out = new Map<number, StoredContent>();
    for (const i of indices) {
      const c = content.get(i);
      if (c !== undefined) out.set(i, c);
    }
    return out;
  }
}
