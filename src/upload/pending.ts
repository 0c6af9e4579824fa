import { assertRoom } from '../files/space.js';
import { UNFINISHED_UPLOADS } from './space.js';

// Block bytes that wait on the server for their mkfile, per user. A block is charged its whole
// size when mkblk starts it (before a byte is read), so that a user cannot park more block data
// in `<data>/uploads` than their free space: the space is only charged for real at mkfile, and
// blocks of an upload that never finishes stay on disk until the sweep (OPENPAN_UPLOAD_EXPIRY).
//
// The ledger is in memory. After a restart it starts empty and fills again as uploads go on: the
// first bput of a block charges it anew. Blocks nobody continues are not counted until they are
// swept, which a user cannot bring about.
//
// Blocks placed in an upload's assembly file live and die with that file: mkfile moves or deletes
// it whole, and the sweep deletes it when no block of it was touched for the expiry. Blocks in a
// file of their own live by their own last write.

interface Block {
  userId: number;
  /** The upload (its assembly name), whose mkfile consumes the block. */
  upload: string;
  bytes: number;
  placed: boolean;
  touched: number;
}

export class PendingBlocks {
  private readonly blocks = new Map<string, Block>();
  private readonly totals = new Map<number, number>();
  /** Last touch of any placed block of an upload: its assembly file lives that long. */
  private readonly uploads = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** Bytes of the user's blocks waiting for mkfile. */
  of(userId: number): number {
    return this.totals.get(userId) ?? 0;
  }

  has(blockId: string): boolean {
    return this.blocks.has(blockId);
  }

  /**
   * Charges a block of `bytes` to the user, or refuses it (SPACE_EXCEEDED) when the user's
   * waiting blocks and this one would not fit in `room` (their free space). Synchronous, so
   * that concurrent mkblks cannot both pass on the same free space.
   */
  charge(userId: number, upload: string, blockId: string, bytes: number, placed: boolean, room: number): void {
    const waiting = this.of(userId) - (this.blocks.get(blockId)?.bytes ?? 0);
    assertRoom({ size: bytes, room, reserved: { bytes: waiting, by: UNFINISHED_UPLOADS } });
    this.release(blockId);
    this.blocks.set(blockId, { userId, upload, bytes, placed, touched: this.now() });
    this.totals.set(userId, waiting + bytes);
    this.touch(blockId, placed);
  }

  /** A chunk of the block arrived (bput), or the block found its place in the assembly file. */
  touch(blockId: string, placed?: boolean): void {
    const block = this.blocks.get(blockId);
    if (!block) return;
    block.touched = this.now();
    if (placed !== undefined) block.placed = placed;
    if (block.placed) this.uploads.set(block.upload, block.touched);
  }

  /** The block is gone, or no more known than before: its bytes are not counted any more. */
  release(blockId: string): void {
    const block = this.blocks.get(blockId);
    if (!block) return;
    this.blocks.delete(blockId);
    const left = this.of(block.userId) - block.bytes;
    if (left > 0) this.totals.set(block.userId, left);
    else this.totals.delete(block.userId);
  }

  /**
   * mkblk failed. A block in a file of its own was removed with it: its bytes are free again.
   * One placed in the assembly file may have left bytes there, which stay until that file goes
   * (mkfile, sweep): so does its charge.
   */
  failed(blockId: string): void {
    if (!this.blocks.get(blockId)?.placed) this.release(blockId);
  }

  /**
   * mkfile made a file of these blocks and deleted them; when it used the assembly file, that
   * file is gone too, with every block placed in it.
   */
  consumed(upload: string, blockIds: string[], assemblyGone: boolean): void {
    for (const id of blockIds) this.release(id);
    if (!assemblyGone) return;
    for (const [id, block] of this.blocks) if (block.upload === upload && block.placed) this.release(id);
    this.uploads.delete(upload);
  }

  /** Forgets the blocks the sweep deletes: untouched since `cutoff` (placed ones: their whole upload). */
  forgetUntouchedSince(cutoff: number): void {
    for (const [id, block] of this.blocks) {
      const touched = block.placed ? (this.uploads.get(block.upload) ?? block.touched) : block.touched;
      if (touched < cutoff) this.release(id);
    }
    for (const [upload, touched] of this.uploads) if (touched < cutoff) this.uploads.delete(upload);
  }
}
