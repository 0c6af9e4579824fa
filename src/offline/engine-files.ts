import type { TaskRow } from './offline.repo.js';
import { parseIndexList, SELECTION_MEMO_LIMITS, TextMemo } from './text-memo.js';

/** Tasks' engine file lists, parsed once per `engine_files` text (text-memo.ts). */
const engineFileLists = new TextMemo<number, readonly number[]>(parseIndexList, SELECTION_MEMO_LIMITS);

/** The task's engine file indices (shared: never modify the array). */
export function engineFilesOf(task: Pick<TaskRow, 'id' | 'engine_files'>): readonly number[] {
  return engineFileLists.get(task.id, task.engine_files);
}
