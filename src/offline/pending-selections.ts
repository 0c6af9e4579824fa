import type { FilesService } from '../files/files.service.js';
import { isAppError } from '../errors.js';
import { assertRoom } from '../files/space.js';
import type { Manifest } from './manifest.js';
import { TASK_FAILED, type JobRow, type OfflineRepo, type TaskRow } from './offline.repo.js';
import { parseSelection } from './selection.js';

/**
 * Applies the selections made before a magnet link's file list was known, now that it is; a task
 * whose selection does not fit (no such file, no room in the drive) fails. The job and its tasks
 * then take the torrent's name in place of the placeholder.
 */
export async function applyPendingSelections(
  deps: { repo: OfflineRepo; files: Pick<FilesService, 'freeSpace'> },
  job: JobRow,
  meta: Manifest,
  running: TaskRow[],
): Promise<void> {
  const placeholder = job.name;
  for (const task of running) {
    if (task.pending_selection === null) continue;
    try {
      const selection = parseSelection(task.pending_selection, meta.files.length);
      const chosen = selection.map((i) => meta.files[i]);
      const size = chosen.reduce((sum, f) => sum + f.size, 0);
      assertRoom({ size, room: await deps.files.freeSpace(task.user_id), what: 'the selected files need' });
      await deps.repo.updateTask(task.id, {
        files: JSON.stringify(selection),
        engine_files: JSON.stringify(chosen.map((f) => f.engineIndex)),
        size,
        pending_selection: null,
        ...(task.name === placeholder || task.name === '' ? { name: meta.name } : {}),
      });
    } catch (err) {
      if (!isAppError(err)) throw err;
      await deps.repo.updateTask(task.id, {
        status: TASK_FAILED,
        error_code: err.code,
        message: err.message,
        pending_selection: null,
        finished_at: Date.now(),
      });
    }
  }
  if (job.name !== meta.name) await deps.repo.updateJob(job.id, { name: meta.name });
}
