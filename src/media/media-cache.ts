import { mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';

// Files made from contents (HLS segments, WebVTT subtitles, thumbnails), kept under a byte
// budget: `<root>/<etag>/<what>`. One cache for every user who has a content. When a new file
// takes the total over the budget, the least recently used files go (LRU). What is in use is
// known from this process's reads; after a restart, from the files' modification times.

interface Entry {
  size: number;
  usedAt: number;
}

/** Directories below a content's where producers write before a file is complete. */
export const WORK_DIR_PREFIX = 'work-';

export class MediaCache {
  private readonly entries = new Map<string, Entry>();
  private total = 0;
  private clock = 0;

  constructor(
    readonly root: string,
    private readonly maxBytes: number,
  ) {}

  /** Reads what an earlier run left (dropping its unfinished work). */
  async open(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const found: Array<{ path: string; size: number; mtime: number }> = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name.startsWith(WORK_DIR_PREFIX)) await rm(path, { recursive: true, force: true });
          else await walk(path);
        } else if (entry.isFile()) {
          const s = await stat(path);
          found.push({ path, size: s.size, mtime: s.mtimeMs });
        }
      }
    };
    await walk(this.root);
    found.sort((a, b) => a.mtime - b.mtime);
    for (const f of found) this.remember(f.path, f.size);
    await this.evict();
  }

  dirOf(etag: string): string {
    return join(this.root, etag);
  }

  /** Whether `path` is cached; marks it used. */
  has(path: string): boolean {
    const entry = this.entries.get(path);
    if (!entry) return false;
    entry.usedAt = ++this.clock;
    return true;
  }

  get totalBytes(): number {
    return this.total;
  }

  /** Moves a finished file into the cache at `path`, then evicts what the budget no longer holds. */
  async add(finished: string, path: string): Promise<void> {
    const { size } = await stat(finished);
    await mkdir(join(path, '..'), { recursive: true });
    await rename(finished, path);
    this.remember(path, size);
    await this.evict(path);
  }

  private remember(path: string, size: number): void {
    const old = this.entries.get(path);
    if (old) this.total -= old.size;
    this.entries.set(path, { size, usedAt: ++this.clock });
    this.total += size;
  }

  /** Least recently used first, never `keep` (the file just added). */
  private async evict(keep?: string): Promise<void> {
    if (this.total <= this.maxBytes) return;
    const byAge = [...this.entries].filter(([path]) => path !== keep).sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [path, entry] of byAge) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(path);
      this.total -= entry.size;
      await unlink(path).catch(() => {});
    }
  }

  /** The cached files, relative to the root (tests and diagnostics). */
  list(): string[] {
    return [...this.entries.keys()].map((p) => relative(this.root, p));
  }
}
