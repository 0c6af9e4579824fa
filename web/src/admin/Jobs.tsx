// The admin console's offline section: every job, its tasks, and the engines' figures.
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { AdminJobPage, EngineStatsAnswer } from '../api/types.js';
import { formatBytes, formatDate, formatRate } from '../format.js';
import { useI18n, type Translate } from '../i18n/i18n.js';
import { ConfirmDialog } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';
import { ErrorLine } from './load.js';

const JOBS_PAGE = 50;

export function Jobs({ api }: { api: Api }) {
  const { t, locale } = useI18n();
  const [unfinished, setUnfinished] = useState(true);
  const [page, setPage] = useState(1);
  const [state, setState] = useState<{ jobs: AdminJobPage; engines: EngineStatsAnswer[] } | null>(null);
  const [error, setError] = useState('');
  const [cancelling, setCancelling] = useState<{ jobId: string; name: string } | null>(null);
  const load = useCallback(async () => {
    try {
      const [jobs, engines] = await Promise.all([api.adminJobs(page, JOBS_PAGE, unfinished), api.adminEngines()]);
      setState({ jobs, engines });
      setError('');
    } catch (err) {
      setError(describeError(t, err));
    }
  }, [api, page, unfinished, t]);
  // Live figures: read again every few seconds while the section is open.
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, [load]);
  const pages = state ? Math.max(1, Math.ceil(state.jobs.totalCount / JOBS_PAGE)) : 1;
  return (
    <section aria-label={t('admin.section.offline')}>
      <h2>{t('admin.engines.title')}</h2>
      <div class="stat-cards">
        {state?.engines.map((e) => (
          <div class="stat-card" key={e.name}>
            <h3>{e.name}</h3>
            {e.jobs === undefined ? (
              <p class="muted">{t('admin.engines.noStats')}</p>
            ) : (
              <dl>
                <dt>{t('admin.engines.jobs')}</dt>
                <dd>
                  {e.activeJobs} / {e.jobs}
                </dd>
                <dt>{t('admin.engines.connections')}</dt>
                <dd>{e.connections}</dd>
                <dt>{t('admin.engines.download')}</dt>
                <dd>
                  {formatRate(e.downloadSpeed ?? 0)}
                  {e.downloadLimit ? ` (≤ ${formatRate(e.downloadLimit)})` : ''}
                </dd>
                <dt>{t('admin.engines.upload')}</dt>
                <dd>
                  {formatRate(e.uploadSpeed ?? 0)}
                  {e.uploadLimit ? ` (≤ ${formatRate(e.uploadLimit)})` : ''}
                </dd>
                {e.seeds !== undefined && e.seeds > 0 && (
                  <>
                    <dt>{t('admin.engines.seeds')}</dt>
                    <dd>{e.seeds}</dd>
                  </>
                )}
              </dl>
            )}
          </div>
        ))}
      </div>
      <h2>{t('admin.jobs.title')}</h2>
      <div class="toolbar">
        <label class="inline">
          <input
            type="checkbox"
            checked={unfinished}
            onChange={(e) => {
              setUnfinished(e.currentTarget.checked);
              setPage(1);
            }}
          />
          {t('admin.jobs.unfinishedOnly')}
        </label>
        <span class="muted">{state ? t('admin.jobs.count', { count: state.jobs.totalCount }) : ''}</span>
      </div>
      <ErrorLine error={error} />
      {state && state.jobs.list.length === 0 && <p class="empty">{t('admin.jobs.none')}</p>}
      <ul class="tasks">
        {state?.jobs.list.map((job) => {
          const progress = job.size > 0 ? Math.min(100, Math.floor((job.downloaded / job.size) * 100)) : job.phase === 'done' ? 100 : 0;
          const open = job.phase !== 'done' && job.phase !== 'failed';
          return (
            <li key={job.jobId} class={`task job phase-${job.phase}`}>
              <div class="task-head">
                <span class="task-name">{job.name}</span>
                <span class="badge">{phaseText(t, job.phase)}</span>
              </div>
              <progress max={100} value={progress} aria-label={t('admin.jobs.progress', { percent: progress })} />
              <div class="task-facts muted">
                <span>
                  {formatBytes(job.downloaded)} / {formatBytes(job.size)} ({progress}%)
                </span>
                {open && <span>{formatRate(job.speed)}</span>}
                {open && <span>{t('admin.jobs.peers', { count: job.peers })}</span>}
                {job.seeding && <span>{t('admin.jobs.seeding', { uploaded: formatBytes(job.seeding.uploaded), peers: job.seeding.peers })}</span>}
                <span>{formatDate(job.createTime, locale)}</span>
                <span class="mono">{job.infoHash || job.jobId}</span>
              </div>
              {job.errorCode && (
                <p class="error">
                  {job.errorCode}: {job.message}
                </p>
              )}
              <div class="task-facts">
                <span>{t('admin.jobs.users', { count: job.taskCount })}</span>
                {job.tasks.map((task) => (
                  <span key={task.taskId} class="job-user">
                    {task.userName} · {taskStatusText(t, task.status)} · {task.progress}%
                  </span>
                ))}
              </div>
              {open && (
                <div class="task-actions">
                  <button type="button" class="danger" onClick={() => setCancelling({ jobId: job.jobId, name: job.name })}>
                    {t('admin.jobs.cancel')}
                  </button>
                </div>
              )}
            </li>
          );
        })}
      </ul>
      {pages > 1 && (
        <div class="toolbar">
          <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            ‹
          </button>
          <span>
            {page} / {pages}
          </span>
          <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)}>
            ›
          </button>
        </div>
      )}
      {cancelling && (
        <ConfirmDialog
          title={t('admin.jobs.cancelTitle', { name: cancelling.name })}
          message={t('admin.jobs.cancelMessage')}
          confirm={t('admin.jobs.cancel')}
          onConfirm={async () => {
            await api.adminCancelJob(cancelling.jobId);
            await load();
          }}
          onClose={() => setCancelling(null)}
        />
      )}
    </section>
  );
}

const PHASES = ['queued', 'downloading', 'importing', 'paused', 'done', 'failed'] as const;

function phaseText(t: Translate, phase: string): string {
  const known = PHASES.find((p) => p === phase);
  return known ? t(`admin.phase.${known}`) : phase;
}

function taskStatusText(t: Translate, status: number): string {
  const key = `status.${status}`;
  return ['status.-1', 'status.0', 'status.5', 'status.10', 'status.20', 'status.50', 'status.100'].includes(key) ? t(key as 'status.0') : String(status);
}
