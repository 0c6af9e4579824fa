// The admin console's storage section and the 24-hour activity chart.
import type { Api } from '../api/client.js';
import type { StatsChart } from '../api/types.js';
import { formatBytes, formatDate, formatRate } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { chartPaths } from './chart.js';
import { useLoad, ErrorLine } from './load.js';

export function Storage({ api }: { api: Api }) {
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
