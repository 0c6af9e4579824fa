// The admin console's server settings.
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { ServerSettingsAnswer } from '../api/types.js';
import { formatBytes } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { describeError } from '../ui/describe-error.js';
import { parseSizeInput } from './chart.js';
import { useLoad, ErrorLine } from './load.js';

export function Settings({ api }: { api: Api }) {
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
