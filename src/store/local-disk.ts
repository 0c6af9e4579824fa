import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { STORE_TEMP_DIR } from '../data-dir/layout.js';
import { AppError, fromFsError } from '../errors.js';
import { mapInParallel, forEachInParallel } from '../parallel.js';
import { EtagMismatch, type AdoptRequest, type BlobInfo, type BlobStore, type BlobWriter } from './blob-store.js';
import { EtagHasher, isEtag } from './etag.js';
import { SpoolWriter } from './spool-writer.js';
import { errnoOf, fsyncDirectory, mtimeOrNull, sweepOldFiles, unlinkIfExists } from './fs-util.js';

/** Reads go to the network in large slices: fewer syscalls and event-loop turns per GiB served. */
const READ_CHUNK = 1024 * 1024;
/** Files of an adoptFiles batch in flight at once. */
const ADOPT_PARALLEL = 16;
const SHARD_RE = /^[A-Za-z0-9_-]{2}$/;

/** Refuses anything that is not an etag before it can become part of a path. */
function checkedEtag(etag: string): string {
  if (!isEtag(etag)) throw new AppError('HASH_INVALID', 'Not a well-formed content hash.');
  return etag;
}

/**
 * The default BlobStore: one file per content at `<root>/<e[0..2]>/<e[2..4]>/<etag>`, written
 * through `<root>/tmp/` and renamed into place, so a content path only ever holds complete,
 * fsynced bytes. Temp files live under the same root so the final rename is atomic.
 */
export class LocalDiskBlobStore implements BlobStore {
  private readonly tempDir: string;
  private tempDirReady: Promise<void> | null = null;

  constructor(readonly root: string) {
    this.tempDir = join(root, STORE_TEMP_DIR);
  }

  async createWriter(): Promise<BlobWriter> {
    const path = await this.newTempPath();
    try {
      // 'wx': a fresh name we own; never follow or reuse something already there.
      const handle = await open(path, 'wx');
      return new SpoolWriter(path, handle, { sync: true, store: (temp, info) => this.moveIntoPlace(temp, info.etag) });
    } catch (err) {
      throw fromFsError(err, 'starting to store a file');
    }
  }

  async importFile(path: string): Promise<BlobInfo> {
    const hasher = new EtagHasher();
    const handle = await open(path, 'r');
    try {
      // The file may come straight from a downloader that never synced it. Flushing it to disk
      // (I/O) runs while the hash is computed (CPU) instead of after it.
      const synced = handle.sync();
      try {
        for await (const chunk of handle.createReadStream({ highWaterMark: READ_CHUNK, autoClose: false })) {
          hasher.update(chunk as Buffer);
        }
      } finally {
        await synced;
      }
    } finally {
      await handle.close();
    }
    const info: BlobInfo = { etag: hasher.digest(), size: hasher.size };
    try {
      await this.moveIntoPlace(path, info.etag);
    } catch (err) {
      if (errnoOf(err) !== 'EXDEV') throw fromFsError(err, 'storing a file');
      await this.copyIntoPlace(path, info.etag);
    }
    return info;
  }

  async adoptFile(path: string, info: BlobInfo): Promise<BlobInfo> {
    const [result] = await this.adoptFiles([{ path, info }]);
    if (result instanceof Error) throw result;
    return result;
  }

  async adoptFiles(files: readonly AdoptRequest[]): Promise<Array<BlobInfo | Error>> {
    // Directories that gained an entry are synced once for the batch, after every rename.
    const dirs = new Set<string>();
    const results = await mapInParallel(files, ADOPT_PARALLEL, (f) =>
      this.#adopt(f.path, f.info, dirs).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
    );
    try {
      await forEachInParallel([...dirs], ADOPT_PARALLEL, (dir) => fsyncDirectory(dir));
    } catch (err) {
      throw fromFsError(err, 'storing files');
    }
    return results;
  }

  async #adopt(path: string, info: BlobInfo, dirs: Set<string>): Promise<BlobInfo> {
    checkedEtag(info.etag);
    if (!Number.isSafeInteger(info.size) || info.size < 0) throw new TypeError(`size out of range: ${info.size}`);
    try {
      const handle = await open(path, 'r+');
      try {
        const { size } = await handle.stat();
        if (size !== info.size) throw new AppError('INTERNAL_ERROR', `The file to store has ${size} bytes, not ${info.size}.`);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      throw fromFsError(err, 'storing a file');
    }
    try {
      await this.moveIntoPlace(path, info.etag, dirs);
    } catch (err) {
      if (errnoOf(err) !== 'EXDEV') throw fromFsError(err, 'storing a file');
      await this.copyIntoPlace(path, info.etag);
    }
    return { etag: info.etag, size: info.size };
  }

  async exists(etag: string): Promise<boolean> {
    return (await this.size(etag)) !== null;
  }

  async size(etag: string): Promise<number | null> {
    try {
      const s = await stat(this.contentPath(etag));
      return s.isFile() ? s.size : null;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return null;
      throw err;
    }
  }

  modifiedAt(etag: string): Promise<number | null> {
    return mtimeOrNull(this.contentPath(etag));
  }

  async read(etag: string, range?: { start: number; end: number }): Promise<Readable> {
    let handle: FileHandle;
    try {
      // Open before answering: once open, a concurrent delete cannot take the bytes away.
      handle = await open(this.contentPath(etag), 'r');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw new AppError('FILE_NOT_FOUND', 'The file content is not stored on this server.');
      throw err;
    }
    try {
      if (range) {
        const { size } = await handle.stat();
        const { start, end } = range;
        if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= size) {
          throw new AppError('RANGE_NOT_SATISFIABLE', `Bytes ${start}-${end} are outside the content (${size} bytes).`);
        }
      }
      return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: READ_CHUNK });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async delete(etag: string): Promise<void> {
    await unlinkIfExists(this.contentPath(etag));
  }

  async *list(): AsyncIterable<string> {
    for (const first of await this.subdirectories(this.root)) {
      if (first === STORE_TEMP_DIR || !SHARD_RE.test(first)) continue;
      for (const second of await this.subdirectories(join(this.root, first))) {
        if (!SHARD_RE.test(second)) continue;
        const dir = join(this.root, first, second);
        const prefix = first + second;
        for (const entry of await readdirOrEmpty(dir)) {
          if (entry.isFile() && isEtag(entry.name) && entry.name.startsWith(prefix)) yield entry.name;
        }
      }
    }
  }

  sweepTemp(maxAgeMs: number): Promise<number> {
    return sweepOldFiles(this.tempDir, maxAgeMs);
  }

  localPath(etag: string): string {
    return this.contentPath(etag);
  }

  /** Where the bytes of `etag` live. Throws HASH_INVALID for anything that is not an etag. */
  contentPath(etag: string): string {
    checkedEtag(etag);
    return join(this.root, etag.slice(0, 2), etag.slice(2, 4), etag);
  }

  private async newTempPath(): Promise<string> {
    this.tempDirReady ??= mkdir(this.tempDir, { recursive: true }).then(
      () => undefined,
      (err: unknown) => {
        this.tempDirReady = null;
        throw fromFsError(err, 'creating the temporary directory');
      },
    );
    await this.tempDirReady;
    return join(this.tempDir, `${randomBytes(16).toString('hex')}.part`);
  }

  /**
   * Moves a complete, synced file to the content path of `etag`. Same etag means same bytes, so
   * when the content is already there the new copy is simply dropped — once their sizes agree.
   * When they do not, one of the two does not hash to `etag`: the stored copy is hashed, and
   * replaced when it is the one that lies; when the incoming file is, it is refused.
   *
   * The move is a hard link then an unlink: the link fails when the content is already there
   * (EEXIST) or its shard directory is not (ENOENT), so the usual case costs two calls and no
   * error, where a stat and a rename cost an ENOENT error each time (3.5× the time for 1,000
   * small files). A file system without hard links gets the stat and the rename.
   */
  private async moveIntoPlace(source: string, etag: string, syncLater?: Set<string>): Promise<void> {
    const target = this.contentPath(etag);
    const shardDir = join(this.root, etag.slice(0, 2), etag.slice(2, 4));
    let created: string | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        await link(source, target);
        await unlink(source);
        break;
      } catch (err) {
        const code = errnoOf(err);
        if (code === 'ENOENT' && attempt === 0) {
          created = await mkdir(shardDir, { recursive: true });
          continue;
        }
        if (code === 'EEXIST') {
          if (await this.#keepStored(source, target, etag)) return;
          await rename(source, target);
          break;
        }
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK' && code !== 'EXDEV') throw err;
        created ??= await mkdir(shardDir, { recursive: true });
        if ((await this.size(etag)) !== null && (await this.#keepStored(source, target, etag))) return;
        await rename(source, target);
        break;
      }
    }
    // New shard directories are entries in their parents, which must reach the disk too.
    const changed = created === undefined ? [shardDir] : [shardDir, join(this.root, etag.slice(0, 2)), this.root];
    if (syncLater !== undefined) for (const dir of changed) syncLater.add(dir);
    else for (const dir of changed) await fsyncDirectory(dir);
  }

  /**
   * The content is already stored: true (and the incoming copy dropped) when the stored copy
   * stays. Throws EtagMismatch when the incoming file is the one that lies; false when the
   * stored copy does (a damaged disk, or worse) and the incoming one must replace it.
   */
  async #keepStored(source: string, target: string, etag: string): Promise<boolean> {
    const [stored, incoming] = await Promise.all([stat(target), stat(source)]);
    if (stored.size === incoming.size) {
      await unlink(source);
      return true;
    }
    if (await this.hashesTo(target, etag)) throw new EtagMismatch(etag, incoming.size);
    return false;
  }

  /** Whether the file at `path` hashes to `etag` (read once, in order). */
  private async hashesTo(path: string, etag: string): Promise<boolean> {
    const hasher = new EtagHasher();
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hasher.update(chunk as Buffer);
    return hasher.digest() === etag;
  }

  /** importFile across filesystems: copy into our temp dir (same fs as the target), then move. */
  private async copyIntoPlace(source: string, etag: string): Promise<void> {
    const temp = await this.newTempPath();
    try {
      await copyFile(source, temp);
      const handle = await open(temp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.moveIntoPlace(temp, etag);
    } catch (err) {
      await unlinkIfExists(temp).catch(() => undefined);
      throw fromFsError(err, 'storing a file');
    }
    await unlink(source);
  }

  private async subdirectories(dir: string): Promise<string[]> {
    return (await readdirOrEmpty(dir)).filter((e) => e.isDirectory()).map((e) => e.name);
  }
}

async function readdirOrEmpty(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    // A shard directory may vanish or not exist yet: it simply holds nothing.
    if (errnoOf(err) === 'ENOENT') return [];
    throw err;
  }
}
