// "My shares": every link the user made, with its code, expiry, views and downloads.
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { ShareObject } from '../api/types.js';
import { formatDate } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { describeError } from '../ui/describe-error.js';

export function MyShares({ api }: { api: Api }) {
  const { t, locale } = useI18n();
  const [shares, setShares] = useState<ShareObject[] | null>(null);
  const [error, setError] = useState('');
  const load = useCallback(() => {
    api.shares(1, 500).then(
      (page) => setShares(page.list),
      (err: unknown) => setError(describeError(t, err)),
    );
  }, [api, t]);
  useEffect(load, [load]);

  return (
    <main id="main" class="shares">
      <h1>{t('shares.title')}</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {shares && shares.length === 0 && <p class="empty">{t('shares.empty')}</p>}
      {shares && shares.length > 0 && (
        <table class="files">
          <thead>
            <tr>
              <th scope="col">{t('drive.name')}</th>
              <th scope="col">{t('share.code')}</th>
              <th scope="col">{t('share.expiry')}</th>
              <th scope="col">{t('shares.views')}</th>
              <th scope="col">{t('shares.downloads')}</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {shares.map((share) => (
              <tr key={share.id} data-testid="share-row">
                <td class="name">
                  <a href={share.url} target="_blank" rel="noopener">
                    {share.title}
                  </a>
                  {share.entries === 0 && <span class="muted"> · {t('shares.gone')}</span>}
                </td>
                <td>{share.code || '—'}</td>
                <td>{share.expires ? formatDate(share.expires, locale) : t('share.never')}</td>
                <td data-testid="share-views">{share.views}</td>
                <td data-testid="share-downloads">
                  {share.downloads}
                  {share.maxDownloads > 0 ? ` / ${share.maxDownloads}` : ''}
                </td>
                <td>
                  <button
                    type="button"
                    class="danger"
                    onClick={() => api.removeShares([share.id]).then(load, (err: unknown) => setError(describeError(t, err)))}
                  >
                    {t('shares.remove')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
