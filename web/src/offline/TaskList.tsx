// Offline tasks with live progress, speed, peers, ETA, status and errors in plain words;
// older pages load as the end of the list scrolls into view (or with the Load more button).
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import {
  DIRECTORY,
  isTorrentTask,
  TASK_DONE,
  TASK_DOWNLOADING,
  TASK_FAILED,
  TASK_METADATA,
  TASK_PAUSED,
  TASK_QUEUED,
  TASK_SAVING,
  type TaskObject,
} from '../api/types.js';
import { etaSeconds, formatBytes, formatDuration, formatRate } from '../format.js';
import { errorText, useI18n, type Translate } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/en.js';
import { joinPath, navigate } from '../router.js';
import { ConfirmDialog } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';
import { useLoadMoreOnScroll } from '../ui/useLoadMoreOnScroll.js';
import type { Tasks } from './useTasks.js';

function statusText(t: Translate, status: number): string {
  const key = `status.${status}`;
  return key === 'status.-1' ||
    key === 'status.0' ||
    key === 'status.5' ||
    key === 'status.10' ||
    key === 'status.20' ||
    key === 'status.50' ||
    key === 'status.100'
    ? t(key as MessageKey)
    : String(status);
}

/** Multi-file torrents land in a folder named after them inside savePath: open that if it is there. */
async function openTaskFolder(api: Api, task: TaskObject): Promise<void> {
  const savePath = task.savePath || '/';
  try {
    const inner = await api.get(joinPath(savePath, task.name));
    if (inner.type === DIRECTORY) return navigate({ view: 'drive', path: inner.path });
  } catch {
    // a single file, or renamed: its destination folder will do
  }
  navigate({ view: 'drive', path: savePath });
}

export function TaskList({ api, tasks, onEditFiles, highlight = '' }: { api: Api; tasks: Tasks; onEditFiles(task: TaskObject): void; highlight?: string }) {
  const { t } = useI18n();
  const [removing, setRemoving] = useState<TaskObject | null>(null);
  const [deleteFiles, setDeleteFiles] = useState(false);
  const [error, setError] = useState('');
  const sentinel = useLoadMoreOnScroll(tasks.loadMore, tasks.tasks.length);
  const highlightShown = tasks.tasks.some((task) => task.taskId === highlight);
  useEffect(() => {
    if (highlightShown) document.getElementById(`task-${highlight}`)?.scrollIntoView({ block: 'nearest' });
  }, [highlight, highlightShown]);

  // Not while older tasks remain: the sentinel below must stay to fetch them.
  if (!tasks.loading && tasks.tasks.length === 0 && !tasks.hasMore) return <p class="empty">{t('offline.noTasks')}</p>;
  const act = (promise: Promise<unknown>) => promise.catch((err: unknown) => setError(describeError(t, err)));

  return (
    <>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {tasks.tasks.length > 0 && (
        <p class="muted" data-testid="task-count">
          {t(tasks.totalCount === 1 ? 'offline.countOne' : 'offline.count', { count: tasks.totalCount })}
        </p>
      )}
      <ul class="tasks" aria-label={t('offline.tasks')}>
        {tasks.tasks.map((task) => {
          const running = task.status === TASK_DOWNLOADING || task.status === TASK_METADATA;
          return (
            <li
              key={task.taskId}
              id={`task-${task.taskId}`}
              class={`task status${task.status}${task.taskId === highlight ? ' highlight' : ''}`}
              data-testid="task"
              data-status={task.status}
              data-progress={task.progress}
            >
              <div class="task-head">
                <span class="task-name" title={task.name || task.url}>
                  {task.name || task.url || task.infoHash}
                </span>
                <span class="badge" data-testid="task-status">
                  {statusText(t, task.status)}
                </span>
              </div>
              <progress max={100} value={task.progress} aria-label={t('offline.progress', { name: task.name })} />
              <div class="task-facts muted">
                <span data-testid="task-progress">{Math.floor(task.progress)}%</span>
                <span>
                  {formatBytes(task.finishedSize)} / {formatBytes(task.size)}
                </span>
                {running && <span>{formatRate(task.speed)}</span>}
                {running && <span>{t('offline.peers', { count: task.peers })}</span>}
                {running && task.speed > 0 && <span>{t('offline.eta', { eta: formatDuration(etaSeconds(task.size - task.finishedSize, task.speed)) })}</span>}
                {/* Saving a torrent of many files takes a while of its own: say how far it is. */}
                {task.status === TASK_SAVING && task.fileCount > 1 && (
                  <span data-testid="task-saved">
                    {t('offline.saved', { saved: task.savedFiles.toLocaleString(), total: task.fileCount.toLocaleString() })}
                  </span>
                )}
                <span>→ {task.savePath || '/'}</span>
              </div>
              {task.status === TASK_FAILED && (
                <p class="error" data-testid="task-error">
                  {errorText(t, task.error, task.message)}
                </p>
              )}
              <div class="task-actions">
                {task.status === TASK_DONE && (
                  <button type="button" class="primary" onClick={() => act(openTaskFolder(api, task))}>
                    {t('offline.open')}
                  </button>
                )}
                {task.status === TASK_DOWNLOADING && (
                  <button type="button" data-testid="task-play" onClick={() => navigate({ view: 'play', taskId: task.taskId, index: null })}>
                    {t('offline.play')}
                  </button>
                )}
                {(running || task.status === TASK_QUEUED) && (
                  <button type="button" onClick={() => act(api.pauseTasks([task.taskId]))}>
                    {t('offline.pause')}
                  </button>
                )}
                {(task.status === TASK_PAUSED || task.status === TASK_FAILED) && (
                  <button type="button" onClick={() => act(api.resumeTasks([task.taskId]))}>
                    {t('offline.resume')}
                  </button>
                )}
                {isTorrentTask(task) && (
                  <button type="button" onClick={() => onEditFiles(task)}>
                    {t('offline.editFiles')}
                  </button>
                )}
                <button
                  type="button"
                  class="danger"
                  onClick={() => {
                    setDeleteFiles(false);
                    setRemoving(task);
                  }}
                >
                  {t('offline.remove')}
                </button>
              </div>
            </li>
          );
        })}
      </ul>
      {tasks.hasMore ? (
        // Stays while the page loads, so keyboard focus on it is not lost.
        <button type="button" class="load-more" aria-disabled={tasks.loading} onClick={tasks.loadMore}>
          {tasks.loading ? t('offline.loading') : t('offline.loadMore', { shown: tasks.tasks.length, total: tasks.totalCount })}
        </button>
      ) : (
        tasks.loading && <p class="muted">{t('offline.loading')}</p>
      )}
      <div ref={sentinel} class="sentinel" />
      {removing && (
        <ConfirmDialog
          title={t('offline.remove')}
          message={t('offline.confirmRemove', { name: removing.name })}
          confirm={t('offline.remove')}
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await api.removeTasks([removing.taskId], deleteFiles);
            tasks.drop([removing.taskId]);
          }}
        >
          <label class="inline">
            <input type="checkbox" checked={deleteFiles} onChange={(e) => setDeleteFiles(e.currentTarget.checked)} /> {t('offline.deleteFiles')}
          </label>
        </ConfirmDialog>
      )}
    </>
  );
}
