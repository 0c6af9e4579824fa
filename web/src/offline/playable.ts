// Which of a task's files the play-while-downloading page offers. Pure (unit-tested in Node).
import type { TaskDetail } from '../api/types.js';
import { extensionOf, viewerKind } from '../viewer/kinds.js';

/** What Chromium, Firefox and Safari play as it is, from a growing file: no conversion needed. */
const PLAYS_AS_IT_IS = new Set(['mp4', 'm4v', 'mov', 'webm', 'mp3', 'm4a', 'aac', 'flac', 'ogg', 'oga', 'opus', 'wav']);

export interface PlayableFile {
  index: number;
  path: string;
  audio: boolean;
  /** Plays before it is in the drive. */
  live: boolean;
}

/** The task's video and audio files, in its order. Pure. */
export function playableFiles(task: Pick<TaskDetail, 'detail'>): PlayableFile[] {
  return task.detail.flatMap((file) => {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    const kind = viewerKind(name);
    if (kind !== 'video' && kind !== 'audio') return [];
    return [{ index: file.index, path: file.path, audio: kind === 'audio', live: PLAYS_AS_IT_IS.has(extensionOf(name)) }];
  });
}
