// The scheduler's running figures of a job (job-progress.ts), kept up to date from the engine's
// changing file list: they always equal what walking every file gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineFileStatus } from '../../src/engines/index.js';
import { JobProgress } from '../../src/offline/job-progress.js';

function random(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** What the scheduler computed before job-progress.ts, on every request and every tick. */
function finishedFromScratch(
  files: readonly EngineFileStatus[],
  selected: ReadonlySet<number>,
  cached: ReadonlySet<number>,
  sizes: ReadonlyMap<number, number>,
  task: number[],
): number {
  const downloaded = new Map(files.map((f) => [f.index, f.downloaded]));
  let sum = 0;
  for (const i of task) sum += selected.has(i) ? (downloaded.get(i) ?? 0) : cached.has(i) ? (sizes.get(i) ?? 0) : 0;
  return sum;
}

test('task bytes, file bytes and "a done file not stored" equal the walk over every file, whatever changes', () => {
  for (const seed of [11, 22, 33, 44]) {
    const rand = random(seed * 104_729);
    // Engine indices with gaps (pad files), sizes, the engine's selection and what the store held.
    const indices = Array.from({ length: 60 }, (_, k) => 2 * k + rand(2));
    const sizes = new Map(indices.map((i) => [i, rand(5) === 0 ? 0 : 1 + rand(100)]));
    const selected = new Set(indices.filter(() => rand(4) !== 0));
    const cached = new Set(indices.filter((i) => !selected.has(i) && rand(2) === 0));
    const tasks = [0, 1, 2].map(() => indices.filter(() => rand(2) === 0));
    const progress = new JobProgress(selected, cached);
    const stored = new Set<number>();
    let files: readonly EngineFileStatus[] = [];
    progress.update(files);
    for (let step = 0; step < 300; step++) {
      if (step === 5) {
        // The metadata arrives: the list gets its files.
        files = indices.map((i) => ({ index: i, path: `/p/${i}`, size: sizes.get(i) ?? 0, selected: selected.has(i), downloaded: 0, done: false }));
      } else if (step > 5) {
        // As an engine does: a new array, new entries for the files that changed only.
        const next = files.slice();
        for (let n = rand(4); n > 0; n--) {
          const k = rand(next.length);
          const f = next[k];
          const downloaded = rand(6) === 0 ? 0 : Math.min(f.size, f.downloaded + rand(40));
          next[k] = { ...f, downloaded, done: downloaded === f.size && rand(8) !== 0 };
        }
        files = next;
      }
      progress.update(files);
      if (rand(5) === 0) for (const f of files) if (f.done && rand(2) === 0) stored.add(f.index);
      for (const [t, task] of tasks.entries()) {
        const selection = JSON.stringify(task);
        assert.equal(
          progress.taskBytes(t, selection, sizes, () => task),
          finishedFromScratch(files, selected, cached, sizes, task),
          `seed ${seed}, step ${step}`,
        );
      }
      for (const i of indices) assert.equal(progress.fileBytes(i), files.find((f) => f.index === i)?.downloaded);
      const unstored = files.some((f) => f.done && selected.has(f.index) && !stored.has(f.index));
      assert.equal(progress.hasDoneOutside(stored), unstored, `seed ${seed}, step ${step}`);
    }
  }
});

test('a task whose selection or the job sizes changed is counted again', () => {
  const files: EngineFileStatus[] = [0, 1, 2].map((i) => ({ index: i, path: `/p/${i}`, size: 10, selected: i !== 2, downloaded: 4, done: false }));
  const progress = new JobProgress(new Set([0, 1]), new Set([2]));
  progress.update(files);
  const sizes = new Map([
    [0, 10],
    [1, 10],
    [2, 10],
  ]);
  assert.equal(
    progress.taskBytes(7, '[0]', sizes, () => [0]),
    4,
  );
  assert.equal(
    progress.taskBytes(7, '[0,1,2]', sizes, () => [0, 1, 2]),
    18,
  );
  assert.equal(
    progress.taskBytes(7, '[0,1,2]', new Map([[2, 30]]), () => [0, 1, 2]),
    38,
  );
});
