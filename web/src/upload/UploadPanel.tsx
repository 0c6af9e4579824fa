// The list of uploads with per-file progress, rate and ETA; instant uploads say so.
import { useState } from 'preact/hooks';
import { errorText, useI18n, type Translate } from '../i18n/i18n.js';
import { etaSeconds, formatBytes, formatDuration, formatRate } from '../format.js';
import { forgetAllUploads, interruptedUploads } from './resume-store.js';
import { isFinished, useUploads, type UploadJob } from './uploads.js';

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.floor((part / whole) * 100) : 100;
}

function statusLine(job: UploadJob, t: Translate): string {
  switch (job.phase) {
    case 'waiting':
      return t('upload.waiting');
    case 'hashing':
      return t('upload.hashing', { percent: percent(job.hashedBytes, job.size) });
    case 'checking':
      return t('upload.checking');
    case 'uploading':
      return job.rate > 0
        ? t('upload.uploading', {
            percent: percent(job.sentBytes, job.size),
            rate: formatRate(job.rate),
            eta: formatDuration(etaSeconds(job.size - job.sentBytes, job.rate)),
          })
        : t('upload.uploadingNoRate', { percent: percent(job.sentBytes, job.size) });
    case 'instant':
      return t('upload.instant');
    case 'done':
      return job.resumedBlocks > 0 ? `${t('upload.done')} · ${t('upload.resumed', { blocks: job.resumedBlocks })}` : t('upload.done');
    case 'failed':
      return t('upload.failed', { message: job.error ? errorText(t, job.error.code, job.error.message) : '' });
  }
}

export function UploadPanel() {
  const { t } = useI18n();
  const { jobs, clearFinished } = useUploads();
  const [dismissed, setDismissed] = useState(false);
  // Read afresh on each render: a finished upload removes its entry (a few keys; cheap).
  const interrupted = dismissed ? [] : interruptedUploads();
  const [collapsed, setCollapsed] = useState(false);
  const pendingResume = interrupted.filter((saved) => !jobs.some((job) => job.name === saved.name && job.folder === saved.folder));
  if (jobs.length === 0 && pendingResume.length === 0) return null;
  return (
    <section class={collapsed ? 'upload-panel collapsed' : 'upload-panel'} aria-labelledby="upload-panel-title">
      <header>
        <h2 id="upload-panel-title">
          {t('upload.title')}{' '}
          <span class="muted">
            {jobs.filter(isFinished).length}/{jobs.length}
          </span>
        </h2>
        <span class="panel-buttons">
          {jobs.some(isFinished) && (
            <button type="button" class="link" onClick={clearFinished}>
              {t('upload.clearFinished')}
            </button>
          )}
          <button type="button" class="link" aria-expanded={!collapsed} onClick={() => setCollapsed(!collapsed)}>
            {collapsed ? t('upload.show') : t('upload.hide')}
          </button>
        </span>
      </header>
      {pendingResume.length > 0 && (
        <p class="notice">
          {t('upload.interrupted', { count: pendingResume.length, names: pendingResume.map((s) => `${s.name} (${s.folder})`).join(', ') })}{' '}
          <button
            type="button"
            class="link"
            onClick={() => {
              forgetAllUploads();
              setDismissed(true);
            }}
          >
            {t('upload.forget')}
          </button>
        </p>
      )}
      <ul>
        {jobs.map((job) => {
          const shown = job.phase === 'hashing' ? job.hashedBytes : job.sentBytes;
          return (
            <li key={job.id} class={`upload upload-${job.phase}`} data-testid="upload-item">
              <div class="upload-name">
                <span title={job.name}>{job.name}</span>
                <span class="muted">{formatBytes(job.size)}</span>
              </div>
              <progress max={job.size || 1} value={job.phase === 'done' || job.phase === 'instant' ? job.size || 1 : shown} aria-label={job.name} />
              <div class="upload-status" role="status">
                {statusLine(job, t)}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
