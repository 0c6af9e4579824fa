import { parseTorrentOnce } from '../torrent/index.js';
import { parseUrlJobInfo, TYPE_URL, urlManifest, type Manifest } from './manifest.js';
import type { JobRow } from './offline.repo.js';

/**
 * Each job's file list (its torrent parsed once, or its URL's one file) and the size of each
 * engine file, kept while the job lives: the task page reads them for every task it shows, and a
 * torrent may have 100,000 files.
 */
export class JobManifests {
  readonly #manifests = new Map<string, Manifest>();
  /** Engine file index → size, per job. */
  readonly #sizes = new Map<string, Map<number, number>>();

  /** The job's files; null while a magnet link's metadata is unknown. */
  of(job: Pick<JobRow, 'id' | 'type' | 'torrent' | 'manifest'>): Manifest | null {
    let manifest = this.#manifests.get(job.id);
    if (manifest === undefined) {
      if (job.type === TYPE_URL) manifest = urlManifest(parseUrlJobInfo(job.manifest));
      else if (job.torrent !== null) manifest = parseTorrentOnce(Buffer.from(job.torrent));
      else return null;
      this.#manifests.set(job.id, manifest);
      this.#sizes.set(job.id, new Map(manifest.files.map((f) => [f.engineIndex, f.size])));
    }
    return manifest;
  }

  /** Engine file index → size of a job whose manifest was read, else undefined. */
  sizes(jobId: string): ReadonlyMap<number, number> | undefined {
    return this.#sizes.get(jobId);
  }

  /** The job's torrent or URL size changed: read it again next time. */
  forget(jobId: string): void {
    this.#manifests.delete(jobId);
    this.#sizes.delete(jobId);
  }
}
