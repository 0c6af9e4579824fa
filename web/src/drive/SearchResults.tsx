// Search results in the drive: entries whose name contains the text, newest first, each with
// the folder it is in; folders open, files download.
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { DIRECTORY, type FileObject, type SearchKind } from '../api/types.js';
import { formatBytes, formatDate } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { hrefFor, onLinkClick } from '../router.js';
import { parentOf } from '../routes.js';
import { describeError } from '../ui/describe-error.js';
import { Icon } from '../ui/Icon.js';

const PAGE_SIZE = 100;

export function SearchResults({ api, query, kind, onOpenFile }: { api: Api; query: string; kind: SearchKind | ''; onOpenFile(file: FileObject): void }) {
  const { t, locale } = useI18n();
  const [found, setFound] = useState<FileObject[]>([]);
  const [total, setTotal] = useState<{ count: number; capped: boolean } | null>(null);
  const [page, setPage] = useState(1);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState('');

  useEffect(() => {
    let current = true;
    setLoading(true);
    setError('');
    api.search(query, kind, page, PAGE_SIZE).then(
      (r) => {
        if (!current) return;
        setFound((before) => (page === 1 ? r.list : [...before, ...r.list]));
        setTotal({ count: r.totalCount, capped: r.totalCountCapped });
        setLoading(false);
      },
      (err: unknown) => {
        if (!current) return;
        setError(describeError(t, err));
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [api, query, kind, page, t]);
  useEffect(() => setPage(1), [query, kind]);

  return (
    <section class="search-results" aria-label={t('search.results')}>
      {total && (
        <p class="muted" role="status">
          {t('search.found', { count: `${total.count}${total.capped ? '+' : ''}`, query })}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {found.length > 0 && (
        <div class="table-wrap">
          <table class="files">
            <thead>
              <tr>
                <th scope="col">{t('drive.name')}</th>
                <th scope="col">{t('search.folder')}</th>
                <th scope="col" class="size">
                  {t('drive.size')}
                </th>
                <th scope="col" class="modified">
                  {t('drive.modified')}
                </th>
              </tr>
            </thead>
            <tbody>
              {found.map((entry) => {
                const isDir = entry.type === DIRECTORY;
                const folder = parentOf(entry.path);
                return (
                  <tr key={entry.uuid} data-testid="search-row">
                    <td class="name">
                      <Icon name={isDir ? 'folder' : 'file'} />
                      {isDir ? (
                        <a href={hrefFor({ view: 'drive', path: entry.path })} onClick={onLinkClick({ view: 'drive', path: entry.path })}>
                          {entry.name}
                        </a>
                      ) : (
                        <button type="button" class="link file-name" title={t('drive.download')} onClick={() => onOpenFile(entry)}>
                          {entry.name}
                        </button>
                      )}
                    </td>
                    <td>
                      <a class="muted" href={hrefFor({ view: 'drive', path: folder })} onClick={onLinkClick({ view: 'drive', path: folder })}>
                        {folder === '/' ? t('drive.root') : folder}
                      </a>
                    </td>
                    <td class="size">{isDir ? '' : formatBytes(entry.size)}</td>
                    <td class="modified">{formatDate(entry.mtime, locale)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {loading && <p class="muted">{t('drive.loading')}</p>}
      {!loading && total && found.length < total.count && (
        <button type="button" class="load-more" onClick={() => setPage(page + 1)}>
          {t('drive.loadMore', { shown: found.length, total: total.count })}
        </button>
      )}
    </section>
  );
}
