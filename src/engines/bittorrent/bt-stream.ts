import { type EngineState, StreamRefusal } from '../engine.js';
import type { TorrentFile, TorrentMeta } from '../../torrent/index.js';
import type { WtBitfield, WtTorrent } from './webtorrent-api.js';

// Reading a file of a job while it downloads (play while downloading). A reader asks for the
// bytes from its position on; the job then fetches the pieces from there before any other
// (a selection above the files' own, its first pieces marked critical so faster peers take
// them over), and the file's first and last pieces, where media containers keep their index
// (an MP4's `moov` is often at the end). WebTorrent 1.9.7 sets a piece's bit only once it is
// verified and written in every file it touches, so a set bit means readable bytes on disk.

/** How far ahead of the reader pieces are fetched before the rest of the job. */
const AHEAD_BYTES = 16 * 1024 * 1024;
/** Bytes at each end of the file fetched first (container headers and indexes). */
const ENDS_BYTES = 1024 * 1024;
/** Pieces counted at most for one answer: a reader reads far less at a time. */
const MAX_RUN_PIECES = 256;
/** Above the priority the job's own selection has (0). */
const STREAM_PRIORITY = 2;

/** What a job currently fetches first for its readers, in the torrent it was set on. */
export class StreamFocus {
  torrent: WtTorrent | null = null;
  from = -1;
  to = -1;
  /** Files whose ends were asked for in `torrent`. */
  readonly ends = new Set<number>();
}

/** What is read of a job (bt-job.ts) here. */
export interface StreamedJob {
  readonly meta: TorrentMeta | null;
  readonly selected: ReadonlySet<number>;
  readonly state: EngineState;
  readonly bitfield: WtBitfield | null;
  readonly wt: WtTorrent | null;
  readonly focus: StreamFocus;
}

/** The file with that engine index when the job downloads it; a refusal otherwise. */
export function streamedFile(job: StreamedJob, index: number): TorrentFile | StreamRefusal {
  const file = job.meta === null ? undefined : fileOf(job.meta, index);
  return file !== undefined && job.selected.has(index) ? file : new StreamRefusal('not-selected', `The job does not download file ${index}.`);
}

/** Verified bytes of `file` from `offset` on, or null once the pieces from there are asked for first. */
export function readableRun(job: StreamedJob, file: TorrentFile, offset: number): number | null {
  const run = verifiedRun(job, file, offset);
  if (run > 0) return run;
  focusOn(job, file, offset);
  return null;
}

/** Verified bytes of `file` from `offset` on, without a gap (bounded by MAX_RUN_PIECES). */
function verifiedRun(job: StreamedJob, file: TorrentFile, offset: number): number {
  const bitfield = job.bitfield;
  const pieceLength = (job.meta as TorrentMeta).pieceLength;
  if (bitfield === null) return 0;
  const start = file.offset + offset;
  const end = file.offset + file.size;
  let reached = start;
  for (let piece = Math.floor(start / pieceLength), n = 0; reached < end && n < MAX_RUN_PIECES && bitfield.get(piece); piece++, n++) {
    reached = Math.min(end, (piece + 1) * pieceLength);
  }
  return reached - start;
}

/** Makes the pieces from `offset` on (and the file's ends) the ones the job fetches first. */
function focusOn(job: StreamedJob, file: TorrentFile, offset: number): void {
  const torrent = job.wt;
  if (torrent === null || torrent.destroyed || job.state !== 'downloading') return;
  const pieceLength = (job.meta as TorrentMeta).pieceLength;
  const focus = job.focus;
  if (focus.torrent !== torrent) {
    focus.torrent = torrent;
    focus.from = -1;
    focus.ends.clear();
  }
  if (!focus.ends.has(file.engineIndex)) {
    focus.ends.add(file.engineIndex);
    const endsPieces = Math.max(1, Math.ceil(ENDS_BYTES / pieceLength));
    const head: [number, number] = [file.firstPiece, Math.min(file.lastPiece, file.firstPiece + endsPieces - 1)];
    const tail: [number, number] = [Math.max(file.firstPiece, file.lastPiece - endsPieces + 1), file.lastPiece];
    for (const [from, to] of [head, tail]) {
      torrent.select(from, to, STREAM_PRIORITY);
      torrent.critical(from, to);
    }
  }
  const from = Math.floor((file.offset + offset) / pieceLength);
  const to = Math.min(file.lastPiece, Math.floor((file.offset + offset + AHEAD_BYTES - 1) / pieceLength));
  if (focus.from === from && focus.to === to) return;
  if (focus.from >= 0) torrent.deselect(focus.from, focus.to, STREAM_PRIORITY);
  focus.from = from;
  focus.to = to;
  torrent.select(from, to, STREAM_PRIORITY);
  torrent.critical(from, Math.min(to, from + 1));
}

/** The file with that engine index (meta.files is in engine index order). */
function fileOf(meta: TorrentMeta, engineIndex: number): TorrentFile | undefined {
  const files = meta.files;
  let low = 0;
  let high = files.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const at = files[mid].engineIndex;
    if (at === engineIndex) return files[mid];
    if (at < engineIndex) low = mid + 1;
    else high = mid - 1;
  }
  return undefined;
}
