// The folder listing: sortable columns, checkboxes for multi-select, folders open in place,
// files open in their viewer; the last row asks for the next page when it scrolls into view.
import { DIRECTORY, type SortField, type SortOrder } from '../api/types.js';
import { formatBytes, formatDate } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { hrefFor, onLinkClick } from '../router.js';
import type { Directory } from './useDirectory.js';
import { Icon } from '../ui/Icon.js';
import { useLoadMoreOnScroll } from '../ui/useLoadMoreOnScroll.js';

interface Props {
  dir: Directory;
  order: SortOrder;
  onSort(order: SortOrder): void;
  selected: Set<string>;
  onSelect(selected: Set<string>): void;
  onDeleteKey(): void;
  /** Thumbnail addresses by file uuid. */
  thumbnails: Record<string, string>;
  /** Cards with large thumbnails rather than rows. */
  grid: boolean;
}

export function FileTable({ dir, order, onSort, selected, onSelect, onDeleteKey, thumbnails, grid }: Props) {
  const { t, locale } = useI18n();
  const sentinel = useLoadMoreOnScroll(dir.loadMore, dir.entries.length);

  const allSelected = dir.entries.length > 0 && dir.entries.every((e) => selected.has(e.uuid));
  const toggle = (uuid: string) => {
    const next = new Set(selected);
    if (next.has(uuid)) next.delete(uuid);
    else next.add(uuid);
    onSelect(next);
  };
  const header = (field: SortField, label: string, className: string) => {
    const active = order.field === field;
    return (
      <th class={className} aria-sort={active ? (order.desc ? 'descending' : 'ascending') : 'none'} scope="col">
        <button
          type="button"
          class="sort"
          aria-label={t('drive.sortBy', { field: label })}
          onClick={() => onSort({ field, desc: active ? !order.desc : false })}
        >
          {label} <span aria-hidden="true">{active ? (order.desc ? '▼' : '▲') : ''}</span>
        </button>
      </th>
    );
  };

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: Delete pressed on any focused row control bubbles here; the wrapper itself takes no focus
    <div
      class="table-wrap"
      onKeyDown={(event) => {
        if (event.key === 'Delete' && selected.size > 0 && !(event.target instanceof HTMLInputElement && event.target.type === 'text')) onDeleteKey();
      }}
    >
      <table class={grid ? 'files grid' : 'files'}>
        <thead>
          <tr>
            <th class="check" scope="col">
              <input
                type="checkbox"
                aria-label={t('drive.selectAll')}
                checked={allSelected}
                onChange={() => onSelect(allSelected ? new Set() : new Set(dir.entries.map((e) => e.uuid)))}
              />
            </th>
            {header('name', t('drive.name'), 'name')}
            {header('size', t('drive.size'), 'size')}
            {header('mtime', t('drive.modified'), 'modified')}
          </tr>
        </thead>
        <tbody>
          {dir.entries.map((entry) => {
            const isDir = entry.type === DIRECTORY;
            return (
              <tr key={entry.uuid} class={selected.has(entry.uuid) ? 'selected' : ''} data-testid="file-row">
                <td class="check">
                  <input
                    type="checkbox"
                    aria-label={t('drive.select', { name: entry.name })}
                    checked={selected.has(entry.uuid)}
                    onChange={() => toggle(entry.uuid)}
                  />
                </td>
                <td class="name">
                  {thumbnails[entry.uuid] ? (
                    <img class="thumb" src={thumbnails[entry.uuid]} alt="" loading="lazy" data-testid="thumbnail" />
                  ) : (
                    <Icon name={isDir ? 'folder' : 'file'} />
                  )}
                  {isDir ? (
                    <a href={hrefFor({ view: 'drive', path: entry.path })} onClick={onLinkClick({ view: 'drive', path: entry.path })}>
                      {entry.name}
                    </a>
                  ) : (
                    <a class="file-name" href={hrefFor({ view: 'file', path: entry.path })} onClick={onLinkClick({ view: 'file', path: entry.path })}>
                      {entry.name}
                    </a>
                  )}
                </td>
                <td class="size">{isDir ? '' : formatBytes(entry.size)}</td>
                <td class="modified">{formatDate(entry.mtime, locale)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {!dir.loading && dir.entries.length === 0 && !dir.error && <p class="empty">{t('drive.empty')}</p>}
      {dir.loading && <p class="muted">{t('drive.loading')}</p>}
      {dir.hasMore && !dir.loading && (
        <button type="button" class="load-more" onClick={dir.loadMore}>
          {t('drive.loadMore', { shown: dir.entries.length, total: dir.totalCount })}
        </button>
      )}
      <div ref={sentinel} class="sentinel" />
    </div>
  );
}
