import type { TorrentFile } from '../../torrent/index.js';
import type { EngineFileStatus } from '../engine.js';

// Every file's status of a job, kept up to date piece by piece. `status()` is called every second
// (the scheduler's poll) and with every event, and a torrent may have 100,000 files: rebuilding
// every file's status from the bitfield on each call blocked the event loop for seconds. Here a
// call compares the bitfield's bytes with those it saw last (one memcmp), and only the files of
// the pieces whose bit changed get new verified bytes and a new status entry. That covers every
// way a bit changes: pieces downloaded, the check of the data on disk when a torrent is added,
// and a new (empty) bitfield after a pause or a crash.
//
// What a call returns is never changed afterwards: a caller may keep a status across ticks. A
// change gives a new array (a copy of the last, the changed entries replaced); the entries are
// frozen, and the same array is returned for as long as nothing changes.

/** What is read of WebTorrent's bitfield (bitfield@4: `buffer` holds the bits, 8 pieces a byte). */
export interface PieceBits {
  get(piece: number): boolean;
  readonly buffer?: Uint8Array;
}

export interface FileStatusesNow {
  /** As EngineStatus.files: every file, in `files` order. Never modified after it is returned. */
  files: readonly EngineFileStatus[];
  /** Verified bytes of the selected files. */
  downloaded: number;
  /** Total size of the selected files. */
  selectedSize: number;
}

type FileSpan = Pick<TorrentFile, 'engineIndex' | 'size' | 'offset' | 'firstPiece' | 'lastPiece'>;

export class FileStatuses {
  readonly #files: readonly FileSpan[];
  readonly #pieceLength: number;
  readonly #paths: readonly string[];
  readonly #selected: ReadonlySet<number>;
  /** Verified bytes of each file, by its position in `files`. */
  readonly #bytes: Float64Array;
  /** The positions of the files a piece touches: #touching[#touchingFrom[p]] up to #touching[#touchingFrom[p + 1]]. */
  readonly #touchingFrom: Int32Array;
  readonly #touching: Int32Array;
  /** 1 for each piece counted in #bytes as verified. */
  readonly #counted: Uint8Array;
  /** The bitfield's bytes when last looked at. */
  readonly #seenBits: Uint8Array;
  /** Positions of the selected empty files: they are done once the job is, having no piece. */
  readonly #emptySelected: number[] = [];
  readonly #selectedSize: number;
  #downloaded = 0;
  #jobDone = false;
  #current: readonly EngineFileStatus[];

  /** `files` in engine index order (a torrent's, pad files excluded); `paths` by engine index. */
  constructor(files: readonly FileSpan[], pieceLength: number, pieceCount: number, paths: readonly string[], selected: ReadonlySet<number>) {
    this.#files = files;
    this.#pieceLength = pieceLength;
    this.#paths = paths;
    this.#selected = selected;
    let pieces = pieceCount;
    for (const f of files) pieces = Math.max(pieces, f.lastPiece + 1);
    [this.#touchingFrom, this.#touching] = touchingFiles(files, pieces);
    this.#bytes = new Float64Array(files.length);
    this.#counted = new Uint8Array(pieces);
    this.#seenBits = new Uint8Array(Math.ceil(pieces / 8));
    let selectedSize = 0;
    files.forEach((f, k) => {
      if (!selected.has(f.engineIndex)) return;
      selectedSize += f.size;
      if (f.size === 0) this.#emptySelected.push(k);
    });
    this.#selectedSize = selectedSize;
    this.#current = files.map((_, k) => this.#entry(k));
  }

  /** Whether these statuses describe that file list, layout and selection. */
  isFor(files: readonly FileSpan[], paths: readonly string[], selected: ReadonlySet<number>): boolean {
    return this.#files === files && this.#paths === paths && this.#selected === selected;
  }

  /** The statuses with `bits` verified (null: none) and the job done or not. */
  now(bits: PieceBits | null, jobDone: boolean): FileStatusesNow {
    const changed = new Set<number>();
    this.#catchUp(bits, changed);
    if (jobDone !== this.#jobDone) {
      this.#jobDone = jobDone;
      for (const k of this.#emptySelected) changed.add(k);
    }
    if (changed.size > 0) {
      const next = this.#current.slice();
      for (const k of changed) next[k] = this.#entry(k);
      this.#current = next;
    }
    return { files: this.#current, downloaded: this.#downloaded, selectedSize: this.#selectedSize };
  }

  /** Counts the pieces whose bit changed since the last look; adds the positions of the files they touch to `changed`. */
  #catchUp(bits: PieceBits | null, changed: Set<number>): void {
    const seen = this.#seenBits;
    const buffer = bits?.buffer;
    if (bits !== null && buffer === undefined) {
      // A bitfield without its bytes: every piece is asked.
      for (let p = 0; p < this.#counted.length; p++) this.#count(p, bits.get(p), changed);
      return;
    }
    const now = buffer ?? new Uint8Array(0);
    if (now.length === seen.length && Buffer.compare(now, seen) === 0) return;
    for (let j = 0; j < seen.length; j++) {
      const byte = j < now.length ? now[j] : 0;
      if (byte === seen[j]) continue;
      seen[j] = byte;
      const end = Math.min(8 * j + 8, this.#counted.length);
      for (let p = 8 * j; p < end; p++) this.#count(p, bits?.get(p) ?? false, changed);
    }
  }

  /** Counts piece `p` as verified or not, as `verifiedBytes` (layout.ts) would for each file it touches. */
  #count(p: number, verified: boolean, changed: Set<number>): void {
    if ((this.#counted[p] === 1) === verified) return;
    this.#counted[p] = verified ? 1 : 0;
    const sign = verified ? 1 : -1;
    const pieceStart = p * this.#pieceLength;
    const pieceEnd = pieceStart + this.#pieceLength;
    for (let t = this.#touchingFrom[p]; t < this.#touchingFrom[p + 1]; t++) {
      const k = this.#touching[t];
      const f = this.#files[k];
      const bytes = sign * (Math.min(f.offset + f.size, pieceEnd) - Math.max(f.offset, pieceStart));
      this.#bytes[k] += bytes;
      if (this.#selected.has(f.engineIndex)) this.#downloaded += bytes;
      changed.add(k);
    }
  }

  #entry(k: number): EngineFileStatus {
    const f = this.#files[k];
    const selected = this.#selected.has(f.engineIndex);
    const downloaded = this.#bytes[k];
    const done = f.size === 0 ? selected && this.#jobDone : downloaded === f.size;
    return Object.freeze({ index: f.engineIndex, path: this.#paths[f.engineIndex], size: f.size, selected, downloaded, done });
  }
}

/** For each piece, the positions of the files whose firstPiece..lastPiece holds it (the pieces `verifiedBytes` reads). */
function touchingFiles(files: readonly FileSpan[], pieces: number): [from: Int32Array, positions: Int32Array] {
  const from = new Int32Array(pieces + 1);
  for (const f of files) for (let p = f.firstPiece; p <= f.lastPiece; p++) from[p + 1]++;
  for (let p = 0; p < pieces; p++) from[p + 1] += from[p];
  const next = from.slice(0, pieces);
  const positions = new Int32Array(from[pieces]);
  files.forEach((f, k) => {
    for (let p = f.firstPiece; p <= f.lastPiece; p++) positions[next[p]++] = k;
  });
  return [from, positions];
}
