// The admin console (administrators only; the server refuses everyone else): accounts,
// settings, every offline job, storage and the 24-hour activity chart.
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { AdminJobPage, AdminUser, EngineStatsAnswer, ServerSettingsAnswer, StatsChart } from '../api/types.js';
import { formatBytes, formatDate, formatRate } from '../format.js';
import { useI18n, type Translate } from '../i18n/i18n.js';
import { ConfirmDialog, Dialog, DialogFooter, PromptDialog } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';
import { chartPaths, parseSizeInput } from './chart.js';

type Section = 'users' | 'settings' | 'offline' | 'storage';
const SECTIONS: readonly Section[] = ['users', 'settings', 'offline', 'storage'];

export function Admin({ api, me }: { api: Api; me: number }) {
  const { t } = useI18n();
  const [section, setSection] = useState<Section>('users');
  return (
    <main id="main" class="admin">
      <div class="page-head">
        <h1>{t('admin.title')}</h1>
      </div>
      <div class="toolbar" role="tablist" aria-label={t('admin.title')}>
        {SECTIONS.map((s) => (
          <button key={s} type="button" role="tab" class="chip" aria-selected={section === s} onClick={() => setSection(s)}>
            {t(`admin.section.${s}`)}
          </button>
        ))}
      </div>
      {section === 'users' && <Users api={api} me={me} />}
      {section === 'settings' && <Settings api={api} />}
      {section === 'offline' && <Jobs api={api} />}
      {section === 'storage' && <Storage api={api} />}
    </main>
  );
}

/** Loads with `load`, again on `reload()`; the error in words. */
function useLoad<T>(load: () => Promise<T>): { data: T | null; error: string; reload(): void } {
  const { t } = useI18n();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError('');
      },
      (err: unknown) => live && setError(describeError(t, err)),
    );
    return () => {
      live = false;
    };
  }, [tick]);
  return { data, error, reload: useCallback(() => setTick((n) => n + 1), []) };
}

function ErrorLine({ error }: { error: string }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

// ---- users ----

type UserAction = { kind: 'password' | 'quota' | 'offlineQuota' | 'disable' | 'demote'; user: AdminUser } | { kind: 'create' };

function Users({ api, me }: { api: Api; me: number }) {
  const { t, locale } = useI18n();
  const users = useLoad(() => api.adminUsers());
  const [action, setAction] = useState<UserAction | null>(null);
  const [error, setError] = useState('');
  const run = async (work: Promise<unknown>) => {
    setError('');
    try {
      await work;
      users.reload();
    } catch (err) {
      setError(describeError(t, err));
    }
  };
  const close = () => setAction(null);
  return (
    <section aria-label={t('admin.section.users')}>
      <div class="toolbar">
        <button type="button" class="primary" onClick={() => setAction({ kind: 'create' })}>
          {t('admin.users.create')}
        </button>
      </div>
      <ErrorLine error={users.error || error} />
      <div class="table-wrap">
        <table class="files admin-users">
          <thead>
            <tr>
              <th>{t('admin.users.name')}</th>
              <th>{t('admin.users.space')}</th>
              <th>{t('admin.users.offline')}</th>
              <th>{t('admin.users.role')}</th>
              <th>{t('admin.users.created')}</th>
              <th>{t('admin.users.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {users.data?.list.map((u) => (
              <tr key={u.identity} class={u.disabled ? 'disabled' : undefined}>
                <td class="name">
                  {u.name}
                  {u.disabled && <span class="badge">{t('admin.users.disabled')}</span>}
                </td>
                <td>
                  {formatBytes(u.spaceUsed)} / {formatBytes(u.spaceCapacity)}
                  <progress max={Math.max(1, u.spaceCapacity)} value={Math.min(u.spaceUsed, u.spaceCapacity)} aria-hidden="true" />
                </td>
                <td>{t('admin.users.offlineToday', { used: u.offlineUsed, quota: u.offlineQuota > 0 ? String(u.offlineQuota) : '∞' })}</td>
                <td>{u.isAdmin ? t('admin.users.admin') : t('admin.users.user')}</td>
                <td class="modified">{formatDate(u.createTime, locale)}</td>
                <td>
                  <div class="row-actions">
                    <button type="button" class="link" onClick={() => setAction({ kind: 'quota', user: u })}>
                      {t('admin.users.setQuota')}
                    </button>
                    <button type="button" class="link" onClick={() => setAction({ kind: 'offlineQuota', user: u })}>
                      {t('admin.users.setOfflineQuota')}
                    </button>
                    <button type="button" class="link" onClick={() => setAction({ kind: 'password', user: u })}>
                      {t('admin.users.resetPassword')}
                    </button>
                    {u.isAdmin ? (
                      <button type="button" class="link" disabled={u.identity === me} onClick={() => setAction({ kind: 'demote', user: u })}>
                        {t('admin.users.unmakeAdmin')}
                      </button>
                    ) : (
                      <button type="button" class="link" onClick={() => run(api.adminSetAdmin(u.identity, true))}>
                        {t('admin.users.makeAdmin')}
                      </button>
                    )}
                    {u.disabled ? (
                      <button type="button" class="link" onClick={() => run(api.adminSetDisabled(u.identity, false))}>
                        {t('admin.users.enable')}
                      </button>
                    ) : (
                      <button type="button" class="link danger-text" disabled={u.identity === me} onClick={() => setAction({ kind: 'disable', user: u })}>
                        {t('admin.users.disable')}
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {action?.kind === 'create' && <CreateUser api={api} onClose={close} onCreated={users.reload} />}
      {action?.kind === 'password' && (
        <PromptDialog
          title={t('admin.users.resetPasswordOf', { name: action.user.name })}
          label={t('admin.users.newPassword')}
          onSubmit={async (value) => {
            await api.adminResetPassword(action.user.identity, value);
            users.reload();
          }}
          onClose={close}
        />
      )}
      {action?.kind === 'quota' && (
        <PromptDialog
          title={t('admin.users.setQuotaOf', { name: action.user.name })}
          label={t('admin.users.quotaLabel')}
          initial={formatBytes(action.user.spaceCapacity).replace(/\.0+ /, ' ')}
          onSubmit={async (value) => {
            const bytes = parseSizeInput(value);
            if (bytes === null) throw new Error(t('admin.badSize'));
            await api.adminSetQuota(action.user.identity, { spaceCapacity: bytes });
            users.reload();
          }}
          onClose={close}
        />
      )}
      {action?.kind === 'offlineQuota' && (
        <PromptDialog
          title={t('admin.users.setOfflineQuotaOf', { name: action.user.name })}
          label={t('admin.users.offlineQuotaLabel')}
          initial={String(action.user.ownOfflineQuota)}
          onSubmit={async (value) => {
            const tasks = Number(value);
            if (!Number.isSafeInteger(tasks) || tasks < 0) throw new Error(t('admin.badNumber'));
            await api.adminSetQuota(action.user.identity, { offlineQuota: tasks });
            users.reload();
          }}
          onClose={close}
        />
      )}
      {action?.kind === 'disable' && (
        <ConfirmDialog
          title={t('admin.users.disableTitle', { name: action.user.name })}
          message={t('admin.users.disableMessage')}
          confirm={t('admin.users.disable')}
          onConfirm={async () => {
            await api.adminSetDisabled(action.user.identity, true);
            users.reload();
          }}
          onClose={close}
        />
      )}
      {action?.kind === 'demote' && (
        <ConfirmDialog
          title={t('admin.users.unmakeAdminTitle', { name: action.user.name })}
          message={t('admin.users.unmakeAdminMessage')}
          confirm={t('admin.users.unmakeAdmin')}
          onConfirm={async () => {
            await api.adminSetAdmin(action.user.identity, false);
            users.reload();
          }}
          onClose={close}
        />
      )}
    </section>
  );
}

function CreateUser({ api, onClose, onCreated }: { api: Api; onClose(): void; onCreated(): void }) {
  const { t } = useI18n();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [isAdmin, setIsAdmin] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={t('admin.users.create')} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError('');
          try {
            await api.adminCreateUser(name.trim(), password, isAdmin);
            onCreated();
            onClose();
          } catch (err) {
            setError(describeError(t, err));
            setBusy(false);
          }
        }}
      >
        <label>
          {t('auth.name')}
          <input autoFocus value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        </label>
        <label>
          {t('auth.password')}
          <input type="password" autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required minLength={6} />
        </label>
        <label class="inline">
          <input type="checkbox" checked={isAdmin} onChange={(e) => setIsAdmin(e.currentTarget.checked)} />
          {t('admin.users.asAdmin')}
        </label>
        <DialogFooter error={error} onCancel={onClose}>
          <button type="submit" class="primary" disabled={busy}>
            {t('admin.users.create')}
          </button>
        </DialogFooter>
      </form>
    </Dialog>
  );
}

// ---- settings ----

function Settings({ api }: { api: Api }) {
  const { t } = useI18n();
  const settings = useLoad(() => api.adminSettings());
  const [draft, setDraft] = useState<{ registration: ServerSettingsAnswer['registration']; quota: string } | null>(null);
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  useEffect(() => {
    if (settings.data) setDraft({ registration: settings.data.registration, quota: formatBytes(settings.data.defaultQuota).replace(/\.0+ /, ' ') });
  }, [settings.data]);
  if (!draft) return <ErrorLine error={settings.error} />;
  return (
    <section aria-label={t('admin.section.settings')}>
      <form
        class="card settings"
        onSubmit={async (event) => {
          event.preventDefault();
          setMessage('');
          setError('');
          const defaultQuota = parseSizeInput(draft.quota);
          if (defaultQuota === null) return setError(t('admin.badSize'));
          try {
            await api.adminSetSettings({ registration: draft.registration, defaultQuota });
            setMessage(t('admin.settings.saved'));
            settings.reload();
          } catch (err) {
            setError(describeError(t, err));
          }
        }}
      >
        <label class="inline">
          <input
            type="checkbox"
            checked={draft.registration === 'open'}
            onChange={(e) => setDraft({ ...draft, registration: e.currentTarget.checked ? 'open' : 'closed' })}
          />
          {t('admin.settings.registration')}
        </label>
        <label>
          {t('admin.settings.defaultQuota')}
          <input value={draft.quota} onInput={(e) => setDraft({ ...draft, quota: e.currentTarget.value })} required />
        </label>
        <p class="muted">{t('admin.settings.note')}</p>
        <ErrorLine error={error} />
        {message && (
          <p class="notice" role="status">
            {message}
          </p>
        )}
        <div class="buttons start">
          <button type="submit" class="primary">
            {t('admin.settings.save')}
          </button>
        </div>
      </form>
    </section>
  );
}

// ---- offline ----

const JOBS_PAGE = 50;

function Jobs({ api }: { api: Api }) {
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

// ---- storage ----

function Storage({ api }: { api: Api }) {
  const { t, locale } = useI18n();
  const info = useLoad(() => api.adminStorage());
  const chart = useLoad(() => api.adminChart());
  const s = info.data;
  return (
    <section aria-label={t('admin.section.storage')}>
      <ErrorLine error={info.error || chart.error} />
      {s && (
        <div class="stat-cards">
          <div class="stat-card">
            <h3>{t('admin.storage.contents')}</h3>
            <p class="figure">{s.contents.toLocaleString(locale)}</p>
            <p class="muted">{t('admin.storage.stored', { bytes: formatBytes(s.storedBytes) })}</p>
          </div>
          <div class="stat-card">
            <h3>{t('admin.storage.dedup')}</h3>
            <p class="figure">{s.dedupRatio.toFixed(2)}×</p>
            <p class="muted">
              {t('admin.storage.dedupDetail', {
                referenced: formatBytes(s.referencedBytes),
                saved: formatBytes(Math.max(0, s.referencedBytes - s.storedBytes)),
              })}
            </p>
          </div>
          <div class="stat-card">
            <h3>{t('admin.storage.disk')}</h3>
            {s.disk ? (
              <>
                <p class="figure">{formatBytes(s.disk.freeBytes)}</p>
                <p class="muted">{t('admin.storage.diskDetail', { total: formatBytes(s.disk.totalBytes) })}</p>
                <progress max={Math.max(1, s.disk.totalBytes)} value={s.disk.totalBytes - s.disk.freeBytes} aria-hidden="true" />
              </>
            ) : (
              <p class="muted">—</p>
            )}
          </div>
          <div class="stat-card">
            <h3>{t('admin.storage.collector')}</h3>
            {s.collector ? (
              <p>
                {t('admin.storage.collectorRun', {
                  when: formatDate(s.collector.finishedAt, locale),
                  count: s.collector.freed,
                  bytes: formatBytes(s.collector.freedBytes),
                })}
                {s.collector.error && <span class="error"> {s.collector.error}</span>}
              </p>
            ) : (
              <p class="muted">{t('admin.storage.notYet')}</p>
            )}
            <p class="muted">{t('admin.storage.waiting', { count: s.unreferenced, bytes: formatBytes(s.unreferencedBytes) })}</p>
            <h3>{t('admin.storage.sweep')}</h3>
            {s.sweep ? (
              <p>
                {t('admin.storage.sweepRun', { when: formatDate(s.sweep.at, locale), count: s.sweep.tempFilesRemoved })}
                {s.sweep.error && <span class="error"> {s.sweep.error}</span>}
              </p>
            ) : (
              <p class="muted">{t('admin.storage.notYet')}</p>
            )}
          </div>
        </div>
      )}
      <h2>{t('admin.chart.title')}</h2>
      {chart.data && <ActivityChart chart={chart.data} />}
    </section>
  );
}

const W = 720;
const H = 200;

function ActivityChart({ chart }: { chart: StatsChart }) {
  const { t } = useI18n();
  const now = chart.samples.length > 0 ? Math.max(Date.now(), chart.samples[chart.samples.length - 1].at) : Date.now();
  const p = chartPaths(chart.samples, { width: W, height: H, now, spanMs: 24 * 3600 * 1000, intervalMs: chart.intervalMs });
  return (
    <figure class="chart">
      <svg viewBox={`-90 -10 ${W + 130} ${H + 40}`} role="img" aria-label={t('admin.chart.title')}>
        {[0, 0.25, 0.5, 0.75, 1].map((f) => (
          <g key={f}>
            <line class="grid" x1={0} x2={W} y1={H * (1 - f)} y2={H * (1 - f)} />
            <text class="axis" x={-6} y={H * (1 - f) + 4} text-anchor="end">
              {formatRate(p.maxSpeed * f)}
            </text>
            <text class="axis" x={W + 6} y={H * (1 - f) + 4}>
              {Math.round(p.maxTasks * f)}
            </text>
          </g>
        ))}
        {[24, 18, 12, 6, 0].map((h) => (
          <text key={h} class="axis" x={W * (1 - h / 24)} y={H + 18} text-anchor="middle">
            {h === 0 ? t('admin.chart.now') : t('admin.chart.hoursAgo', { hours: h })}
          </text>
        ))}
        <path class="line series-download" d={p.download} />
        <path class="line series-upload" d={p.upload} />
        <path class="line series-tasks" d={p.tasks} />
      </svg>
      <figcaption>
        <span class="key series-download">{t('admin.chart.download')}</span>
        <span class="key series-upload">{t('admin.chart.upload')}</span>
        <span class="key series-tasks">{t('admin.chart.tasks')}</span>
        {chart.samples.length === 0 && <span class="muted">{t('admin.chart.empty')}</span>}
      </figcaption>
    </figure>
  );
}
