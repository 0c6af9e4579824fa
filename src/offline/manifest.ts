import { ETAG_BLOCK } from '../store/etag.js';
import type { TorrentMeta } from '../torrent/index.js';

// What the scheduler and the import need to know of a job's files, whatever the source: a
// torrent's parsed metadata, or the one file of a URL. A magnet link has none until its
// metadata arrives.

/** Task types of docs/spec/API.md. */
export const TYPE_TORRENT = 0;
export const TYPE_MAGNET = 10;
export const TYPE_URL = 20;
export const TYPE_ED2K = 40;

export type Manifest = Pick<TorrentMeta, 'name' | 'folder' | 'pieceLength' | 'files'>;

/** A URL job's stored description (`offline_jobs.manifest`). */
export interface UrlJobInfo {
  name: string;
  /** null while the server has not said (a chunked answer without a length). */
  size: number | null;
}

export function parseUrlJobInfo(text: string): UrlJobInfo {
  const value = JSON.parse(text) as Partial<UrlJobInfo>;
  return { name: typeof value.name === 'string' && value.name !== '' ? value.name : 'download', size: typeof value.size === 'number' ? value.size : null };
}

/**
 * The manifest of a URL job: one file, engine index 0. Its "pieces" are the 4 MiB etag blocks,
 * which the HTTP engine reports as they are written, so the file is hashed while it downloads.
 */
export function urlManifest(info: UrlJobInfo): Manifest {
  const size = info.size ?? 0;
  const pieces = Math.ceil(size / ETAG_BLOCK);
  return {
    name: info.name,
    folder: null,
    pieceLength: ETAG_BLOCK,
    files: [{ index: 0, engineIndex: 0, path: [info.name], size, offset: 0, pad: false, firstPiece: 0, lastPiece: pieces - 1 }],
  };
}
