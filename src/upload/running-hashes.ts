import type { SubblockHasher } from './assembly.js';

/** Sub-block hash states of blocks being sent in several chunks (bput), at most this many. */
const MAX_HASH_STATES = 1024;

/**
 * Running sub-block hashes of placed blocks sent in chunks, by blockId (lost on restart: then
 * re-hashed at mkfile), so that a block's digests are ready when its last chunk arrives.
 */
export class RunningHashes {
  private readonly states = new Map<string, { hasher: SubblockHasher; touched: number }>();

  constructor(private readonly now: () => number) {}

  keep(blockId: string, hasher: SubblockHasher): void {
    this.states.delete(blockId);
    while (this.states.size >= MAX_HASH_STATES) {
      const oldest = this.states.keys().next().value as string;
      this.states.delete(oldest);
    }
    this.states.set(blockId, { hasher, touched: this.now() });
  }

  /** The running hash of a block, if it covers exactly the bytes before `offset`. */
  take(blockId: string, offset: number): SubblockHasher | null {
    const state = this.states.get(blockId);
    this.states.delete(blockId);
    return state && state.hasher.offset === offset ? state.hasher : null;
  }

  forget(blockId: string): void {
    this.states.delete(blockId);
  }

  /** Drops the hashes of blocks not continued since `cutoff` (their uploads are abandoned). */
  forgetUntouchedSince(cutoff: number): void {
    for (const [blockId, state] of this.states) if (state.touched < cutoff) this.states.delete(blockId);
  }
}
