// The recycle bin: what was removed, where it was, when it goes for good; restore, delete
// forever, empty. Everything here still counts toward the user's space, and the page says so.
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { DIRECTORY, type BinPage } from '../api/types.js';
import { formatBytes, formatDate } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { ConfirmDialog } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';
import { Icon } from '../ui/Icon.js';

const PAGE_SIZE = 999;
type BinEntry = BinPage['list'][number];
type Confirm = { kind: 'purge'; entry: BinEntry } | { kind: 'clear' } | null;

export function Trash({ api, onSpaceChanged }: { api: Api; onSpaceChanged(): void }) {
  const { t, locale } = useI18n();
  const [bin, setBin] = useState<BinPage | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [confirm, setConfirm] = useState<Confirm>(null);

  const load = useCallback(() => api.binPage(1, PAGE_SIZE).then(setBin, (err: unknown) => setError(describeError(t, err))), [api, t]);
  useEffect(() => void load(), [load]);
  const changed = () => {
    onSpaceChanged();
    return load();
  };

  const restore = (entry: BinEntry) =>
    api.binRestore([entry.uuid]).then(
      ([file]) => {
        setNotice(t('trash.restored', { path: file?.path ?? entry.originalPath }));
        return load();
      },
      (err: unknown) => setError(describeError(t, err)),
    );

  return (
    <main id="main" class="trash">
      <h1>{t('trash.title')}</h1>
      {bin && (
        <p class="note" data-testid="trash-note">
          {t('trash.spaceNote', { size: formatBytes(bin.totalSize), days: bin.recycleDays })}
        </p>
      )}
      <div class="toolbar" role="toolbar" aria-label={t('trash.title')}>
        <button type="button" class="danger" disabled={!bin || bin.totalCount === 0} onClick={() => setConfirm({ kind: 'clear' })}>
          {t('trash.empty')}
        </button>
      </div>
      {notice && (
        <p class="muted" role="status">
          {notice}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}{' '}
          <button type="button" class="link" onClick={() => setError('')}>
            {t('common.close')}
          </button>
        </p>
      )}
      {bin && bin.totalCount === 0 && <p class="empty">{t('trash.isEmpty')}</p>}
      {bin && bin.totalCount > 0 && (
        <div class="table-wrap">
          <table class="files">
            <thead>
              <tr>
                <th scope="col">{t('drive.name')}</th>
                <th scope="col">{t('trash.originalPath')}</th>
                <th scope="col" class="size">
                  {t('drive.size')}
                </th>
                <th scope="col" class="modified">
                  {t('trash.deletedAt')}
                </th>
                <th scope="col">
                  <span class="visually-hidden">{t('drive.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {bin.list.map((entry) => (
                <tr key={entry.uuid} data-testid="bin-row">
                  <td class="name">
                    <Icon name={entry.type === DIRECTORY ? 'folder' : 'file'} /> {entry.name}
                  </td>
                  <td class="muted">{entry.originalPath}</td>
                  <td class="size">{formatBytes(entry.size)}</td>
                  <td class="modified" title={t('trash.purgedAt', { date: formatDate(entry.expiresAt, locale) })}>
                    {formatDate(entry.trashedAt, locale)}
                  </td>
                  <td class="actions">
                    <button type="button" onClick={() => void restore(entry)} aria-label={t('trash.restoreName', { name: entry.name })}>
                      {t('trash.restore')}
                    </button>{' '}
                    <button
                      type="button"
                      class="danger"
                      onClick={() => setConfirm({ kind: 'purge', entry })}
                      aria-label={t('trash.purgeName', { name: entry.name })}
                    >
                      {t('trash.purge')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {confirm && (
        <ConfirmDialog
          title={confirm.kind === 'clear' ? t('trash.empty') : t('trash.purge')}
          message={confirm.kind === 'clear' ? t('trash.confirmEmpty', { count: bin?.totalCount ?? 0 }) : t('trash.confirmPurge', { name: confirm.entry.name })}
          confirm={t('trash.purge')}
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            if (confirm.kind === 'clear') await api.binClear();
            else await api.binPurge([confirm.entry.uuid]);
            setNotice('');
            await changed();
          }}
        />
      )}
    </main>
  );
}
