// The account's app passwords: what WebDAV clients and download managers sign in with. A new
// password is shown once, here; the list shows names and last use only.
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { AppPassword, CreatedAppPassword } from '../api/types.js';
import { formatDate } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { Dialog } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';

export function AppPasswordsDialog({ api, onClose }: { api: Api; onClose(): void }) {
  const { t, locale } = useI18n();
  const [list, setList] = useState<AppPassword[] | null>(null);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedAppPassword | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const fail = (err: unknown) => setError(describeError(t, err));
  const reload = () => api.appPasswords().then(setList, fail);
  useEffect(() => void reload(), []);

  const create = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      setCreated(await api.createAppPassword(name));
      setName('');
      await reload();
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async (id: number) => {
    setError('');
    try {
      await api.removeAppPassword(id);
      if (created?.id === id) setCreated(null);
      await reload();
    } catch (err) {
      fail(err);
    }
  };

  return (
    <Dialog title={t('appPasswords.title')} onClose={onClose}>
      <p class="muted">{t('appPasswords.intro')}</p>
      <form class="row" onSubmit={create}>
        <label>
          {t('appPasswords.name')}
          <input value={name} maxLength={100} required onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary" disabled={busy || !name.trim()}>
          {t('appPasswords.create')}
        </button>
      </form>
      {created && (
        <p class="notice" role="status">
          {t('appPasswords.created', { name: created.name })} <code class="secret">{created.password}</code>
        </p>
      )}
      {list && list.length === 0 && <p class="muted">{t('appPasswords.none')}</p>}
      {list && list.length > 0 && (
        <ul class="app-passwords">
          {list.map((p) => (
            <li key={p.id}>
              <span>{p.name}</span>
              <span class="muted">
                {p.lastUseTime === null ? t('appPasswords.neverUsed') : t('appPasswords.lastUsed', { when: formatDate(p.lastUseTime, locale) })}
              </span>
              <button type="button" onClick={() => void remove(p.id)}>
                {t('appPasswords.remove', { name: p.name })}
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="buttons">
        <button type="button" onClick={onClose}>
          {t('appPasswords.close')}
        </button>
      </div>
    </Dialog>
  );
}
