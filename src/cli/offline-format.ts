// The offline commands' small pure pieces: status words, ETA, task tables and progress lines,
// the --files selection, what kind of source an argument is, short task ids. No I/O here.
import type { ParsedFile, TaskObject } from './api-client.js';
import { UsageError } from './args.js';
import { formatDuration, formatProgress, formatRate, formatSize, formatTable } from './format.js';

/** Task status values of docs/spec/API.md, ordered: a larger value is further along. */
export const STATUS = { failed: -1, queued: 0, paused: 5, metadata: 10, downloading: 20, saving: 50, done: 100 } as const;

const WORDS = new Map<number, string>([
  [STATUS.failed, 'failed'],
  [STATUS.queued, 'queued'],
  [STATUS.paused, 'paused'],
  [STATUS.metadata, 'fetching metadata'],
  [STATUS.downloading, 'downloading'],
  [STATUS.saving, 'saving'],
  [STATUS.done, 'done'],
]);

/** `-1` → `failed`, `20` → `downloading`, ...; an unknown value is shown as `status N`. */
export function statusWord(status: number): string {
  return WORDS.get(status) ?? `status ${status}`;
}

/** Done or failed: the task will not change by itself any more. */
export function isFinal(status: number): boolean {
  return status === STATUS.done || status === STATUS.failed;
}

/** `failed (NO_PEERS_TIMEOUT)` for a failed task with a code, the status word otherwise. */
export function taskStatusText(task: Pick<TaskObject, 'status' | 'error'>): string {
  return task.status === STATUS.failed && task.error ? `failed (${task.error})` : statusWord(task.status);
}

/** Seconds left at the current speed; NaN when unknown (not downloading, or no speed yet). */
export function etaSeconds(task: Pick<TaskObject, 'status' | 'size' | 'finishedSize' | 'speed'>): number {
  if (task.status !== STATUS.downloading || !(task.speed > 0)) return Number.NaN;
  return Math.max(0, task.size - task.finishedSize) / task.speed;
}

/** `-` for a finished or failed task, `--:--` when unknown, else `m:ss` / `h:mm:ss`. */
export function formatEta(task: Pick<TaskObject, 'status' | 'size' | 'finishedSize' | 'speed'>): string {
  if (isFinal(task.status)) return '-';
  return formatDuration(etaSeconds(task));
}

/** Whole percent, `100%` only when done (the server keeps unfinished tasks at 99 at most). */
export function formatPercent(task: Pick<TaskObject, 'status' | 'progress'>): string {
  const p = task.status === STATUS.done ? 100 : Math.max(0, Math.min(100, Math.floor(task.progress || 0)));
  return `${p}%`;
}

/** The `offline ls` table: ID, STATUS, PROGRESS, SIZE, SPEED, PEERS, ETA, NAME. */
export function formatTaskTable(tasks: readonly TaskObject[]): string {
  const active = (t: TaskObject) => t.status === STATUS.downloading || t.status === STATUS.metadata;
  return formatTable(
    ['ID', 'STATUS', 'PROGRESS', 'SIZE', 'SPEED', 'PEERS', 'ETA', 'NAME'],
    tasks.map((t) => [
      t.taskId,
      taskStatusText(t),
      formatPercent(t),
      formatSize(t.size),
      active(t) && t.speed > 0 ? formatRate(t.speed) : '-',
      active(t) ? String(t.peers) : '-',
      formatEta(t),
      t.name,
    ]),
    [2, 3, 4, 5, 6],
  );
}

/**
 * One live line for a task: `name [downloading, 3 peers]  [####....]  45%  1 MiB/2 MiB  ...`
 * (`[saving, 120 of 10000 files]` and the bytes in the drive while a torrent of many files is saved),
 * at most `width` characters (formatProgress shortens the label first).
 */
export function taskProgressLine(task: TaskObject, width: number): string {
  // Saving many files takes a while of its own: the bar then shows what is in the drive.
  const saving = task.status === STATUS.saving && task.fileCount > 1;
  const state =
    task.status === STATUS.downloading
      ? `downloading, ${task.peers} peer${task.peers === 1 ? '' : 's'}`
      : saving
        ? `saving, ${task.savedFiles} of ${task.fileCount} files`
        : taskStatusText(task);
  const done = task.status === STATUS.done ? task.size : saving ? task.savedSize : task.finishedSize;
  const rate = task.status === STATUS.downloading ? task.speed : 0;
  return formatProgress({ label: `${task.name} [${state}]`, done, total: task.size, rate, width });
}

/** The file list of a parsed torrent; `selected` (indices) marks the chosen files with `*`. */
export function formatFileList(files: readonly ParsedFile[], selected?: ReadonlySet<number>): string {
  return formatTable(
    ['', 'INDEX', 'SIZE', 'CACHED', 'PATH'],
    files.map((f) => [selected === undefined || selected.has(f.index) ? '*' : '', String(f.index), formatSize(f.size), f.cached ? 'yes' : 'no', f.path]),
    [1, 2],
  );
}

/**
 * `--files`: `*` (all) or comma-separated file indices (`0,2,5`, spaces allowed) → the indices,
 * sorted and distinct; `null` for all. Indices beyond the torrent are the server's to refuse.
 */
export function parseFilesOption(raw: string | undefined): number[] | null {
  if (raw === undefined || raw.trim() === '*') return null;
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) {
    throw new UsageError(`--files takes file indices separated by commas (as "offline add" lists them), e.g. 0,2,5; got ${JSON.stringify(raw)}`);
  }
  const indices = parts.map(Number);
  if (indices.some((n) => !Number.isSafeInteger(n))) throw new UsageError(`--files: index out of range in ${JSON.stringify(raw)}`);
  return [...new Set(indices)].sort((a, b) => a - b);
}

export type SourceKind = 'magnet' | 'url' | 'file';

/**
 * What `offline add` was given: a magnet link, a URL the server fetches (http, https, and the
 * other link schemes the server decodes: thunder, ed2k, ftp), or a local `.torrent` file.
 */
export function sourceKind(arg: string): SourceKind {
  if (/^magnet:\?/i.test(arg)) return 'magnet';
  if (/^(https?|ftp|thunder|ed2k):/i.test(arg)) return 'url';
  return 'file';
}

const FULL_ID = /^[0-9a-f]{32}$/;

/**
 * Full task ids for what the user typed: a full id as is, otherwise a unique prefix (at least 4
 * characters) of one of `known`. Throws a UsageError naming the ids that do not resolve.
 */
export function resolveTaskIds(typed: readonly string[], known: readonly string[]): string[] {
  const out: string[] = [];
  const problems: string[] = [];
  for (const raw of typed) {
    const id = raw.trim().toLowerCase();
    if (FULL_ID.test(id)) {
      out.push(id);
      continue;
    }
    const matches = id.length >= 4 ? known.filter((k) => k.startsWith(id)) : [];
    if (matches.length === 1) out.push(matches[0]);
    else if (matches.length > 1) problems.push(`"${raw}" matches ${matches.length} tasks`);
    else problems.push(`no task "${raw}"`);
  }
  if (problems.length) throw new UsageError(`${problems.join('; ')} (see "openpan offline ls")`);
  return [...new Set(out)];
}

/** Whether `typed` needs the task list to resolve (some id is not a full 32-character id). */
export function needsLookup(typed: readonly string[]): boolean {
  return typed.some((t) => !FULL_ID.test(t.trim().toLowerCase()));
}

const TYPES = new Map<number, string>([
  [0, 'torrent file'],
  [10, 'magnet link'],
  [20, 'HTTP(S) URL'],
  [40, 'ed2k link'],
]);

/** Task type of docs/spec/API.md in words. */
export function typeWord(type: number): string {
  return TYPES.get(type) ?? `type ${type}`;
}
