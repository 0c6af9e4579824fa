// A task's video and audio files, played while the task downloads
// (/offline/<task id>/play/<index>): the server reads the file as it arrives and has the engine
// fetch the part being watched first. Formats the browser plays as they are only; the others
// play in the drive's viewer once they are there.
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { TASK_DONE, type TaskDetail, type TaskFileAddress } from '../api/types.js';
import { formatBytes } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { hrefFor, navigate, onLinkClick } from '../router.js';
import { describeError } from '../ui/describe-error.js';
import { MediaPlayer } from '../viewer/MediaPlayer.js';
import { playableFiles } from './playable.js';

/** How often the files' progress is read again. */
const REFRESH_MS = 2000;

export function LivePlayer({ api, taskId, index }: { api: Api; taskId: string; index: number | null }) {
  const { t } = useI18n();
  const [task, setTask] = useState<TaskDetail | null>(null);
  const [address, setAddress] = useState<TaskFileAddress | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    let current = true;
    const load = () =>
      api.getTask(taskId).then(
        (answer) => current && setTask(answer),
        (err: unknown) => current && setError(describeError(t, err)),
      );
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [api, taskId, t]);

  const files = task === null ? [] : playableFiles(task);
  const chosen = files.find((f) => f.index === index) ?? files.find((f) => f.live) ?? null;

  useEffect(() => {
    let current = true;
    setAddress(null);
    if (chosen === null || !chosen.live) return;
    setError('');
    api.playTaskFile(taskId, chosen.index).then(
      (answer) => current && setAddress(answer),
      (err: unknown) => current && setError(describeError(t, err)),
    );
    return () => {
      current = false;
    };
  }, [api, taskId, chosen?.index, chosen?.live, t]);

  const detail = chosen === null ? undefined : task?.detail.find((f) => f.index === chosen.index);
  return (
    <main id="main" class="viewer live-player" data-kind={chosen?.audio ? 'audio' : 'video'}>
      <div class="viewer-bar">
        <a class="back" href={hrefFor({ view: 'offline' })} onClick={onLinkClick({ view: 'offline' })}>
          ← {t('live.back')}
        </a>
        <h1 class="viewer-title" title={chosen?.path ?? task?.name}>
          {chosen === null ? task?.name : chosen.path.slice(chosen.path.lastIndexOf('/') + 1)}
        </h1>
        {detail && (
          <span class="muted" data-testid="live-progress">
            {detail.status === TASK_DONE ? t('live.inDrive') : t('live.progress', { percent: Math.floor(detail.progress), size: formatBytes(detail.size) })}
          </span>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {task !== null && files.length === 0 && <p class="no-preview">{t('live.noMedia')}</p>}
      {chosen !== null && !chosen.live && <p class="no-preview">{t('live.afterDownload')}</p>}
      {address !== null && chosen !== null && (
        <>
          <MediaPlayer
            fileUuid={`task:${taskId}:${chosen.index}`}
            audio={chosen.audio}
            source={{ url: address.address, hls: false, duration: Number.NaN, subtitles: [] }}
          />
          {!address.inDrive && <p class="muted media-note">{t('live.note')}</p>}
        </>
      )}
      {files.length > 1 && (
        <ul class="live-files" aria-label={t('live.files')}>
          {files.map((f) => (
            <li key={f.index}>
              <button
                type="button"
                aria-current={f.index === chosen?.index ? 'true' : undefined}
                onClick={() => navigate({ view: 'play', taskId, index: f.index })}
              >
                {f.path}
              </button>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
