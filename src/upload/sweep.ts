import { stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { UPLOADS_DONE_DIR } from '../data-dir/layout.js';
import { errnoOf, mtimeOrNull, namesInDir, unlinkIfExists } from '../store/fs-util.js';
import { ASM_MAP_RE, ASM_RE, type Assemblies } from './assembly.js';
import { isBlockId } from './ctx.js';
import type { PendingBlocks } from './pending.js';
import type { RunningHashes } from './running-hashes.js';
import { DONE_RECORD_RE } from './upload-dir.js';

export interface SweeperDeps {
  /** The uploads directory. */
  dir: string;
  asm: Assemblies;
  hashes: RunningHashes;
  pending: PendingBlocks;
}

export interface SweeperOptions {
  /** Blocks untouched for this long are deleted. */
  blockExpiryMs: number;
  /** How often abandoned blocks are swept; 0 disables the timer. Default: a quarter of the expiry, at most hourly. */
  intervalMs?: number;
  now: () => number;
}

/** Deletes what abandoned uploads leave behind, on a timer and on demand. */
export class Sweeper {
  private readonly timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;

  constructor(
    private readonly deps: SweeperDeps,
    private readonly options: SweeperOptions,
  ) {
    const interval = options.intervalMs ?? Math.min(3600_000, Math.max(1000, Math.floor(options.blockExpiryMs / 4)));
    if (interval > 0) {
      this.timer = setInterval(() => {
        if (this.sweeping !== null) return;
        this.sweeping = this.sweep();
        this.sweeping
          .catch(() => undefined)
          .finally(() => {
            this.sweeping = null;
          });
      }, interval);
      // The sweep alone must never keep the process alive.
      this.timer.unref();
    }
  }

  /** Stops the timer and waits for a sweep in progress. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping?.catch(() => undefined);
  }

  /** Deletes block files (and finished-upload records) untouched for maxAgeMs; returns how many. */
  async sweep(maxAgeMs: number = this.options.blockExpiryMs): Promise<number> {
    const cutoff = this.options.now() - maxAgeMs;
    let removed = 0;
    this.deps.hashes.forgetUntouchedSince(cutoff);
    this.deps.pending.forgetUntouchedSince(cutoff);
    removed += await this.sweepAssemblies(cutoff);
    for (const dir of [this.deps.dir, join(this.deps.dir, UPLOADS_DONE_DIR)]) {
      for (const name of await namesInDir(dir)) {
        // Block files, and finished-upload records (a SHA-256) with their temporary files.
        if (!isBlockId(name) && !DONE_RECORD_RE.test(name)) continue;
        const path = join(dir, name);
        try {
          const s = await stat(path);
          if (!s.isFile() || s.mtimeMs >= cutoff) continue;
          await unlink(path);
          removed++;
        } catch (err) {
          if (errnoOf(err) !== 'ENOENT') throw err;
        }
      }
    }
    return removed;
  }

  /** Deletes assembly files (map first) whose data and map are both untouched since `cutoff`. */
  private async sweepAssemblies(cutoff: number): Promise<number> {
    const { asm } = this.deps;
    const names = await namesInDir(this.deps.dir);
    let removed = 0;
    for (const file of names) {
      const name = ASM_RE.test(file) ? file : ASM_MAP_RE.test(file) ? file.slice(0, -'.map'.length) : null;
      if (name === null || asm.busy(name)) continue;
      // Each assembly once, from its data file; a map alone from its own name.
      if (file !== name && names.includes(name)) continue;
      const times = [await mtimeOrNull(asm.dataPath(name)), await mtimeOrNull(asm.mapPath(name))].filter((t): t is number => t !== null);
      if (times.length === 0 || Math.max(...times) >= cutoff) continue;
      await asm.remove(name);
      removed += times.length;
    }
    return removed;
  }
}

/**
 * Deletes what a crash cut short in the uploads directory `dir`: an assembly file whose map was
 * never written or was already dropped (creation writes the data file first; mkfile drops the
 * map before it moves the data), a map without its data file, and half-written records of
 * finished uploads. Only while no server runs on `dir` (at start, under the data-directory
 * lock): then none of them can be a write in flight. Returns how many.
 */
export async function clearInterruptedUploads(dir: string): Promise<number> {
  const names = await namesInDir(dir);
  const present = new Set(names);
  let removed = 0;
  for (const file of names) {
    const orphanData = ASM_RE.test(file) && !present.has(file + '.map');
    const orphanMap = ASM_MAP_RE.test(file) && !present.has(file.slice(0, -'.map'.length));
    if (!orphanData && !orphanMap) continue;
    await unlinkIfExists(join(dir, file));
    removed++;
  }
  const doneDir = join(dir, UPLOADS_DONE_DIR);
  for (const file of await namesInDir(doneDir)) {
    if (!DONE_RECORD_RE.test(file) || !file.endsWith('.tmp')) continue;
    await unlinkIfExists(join(doneDir, file));
    removed++;
  }
  return removed;
}
