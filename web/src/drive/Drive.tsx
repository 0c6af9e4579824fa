// The drive screen: breadcrumbs, toolbar, the listing, and the dialogs its actions open.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { DIRECTORY, FILE, SEARCH_KINDS, type SearchKind, type SortOrder } from '../api/types.js';
import { useI18n } from '../i18n/i18n.js';
import { joinPath } from '../router.js';
import { ConfirmDialog, PromptDialog } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';
import { useUploads } from '../upload/uploads.js';
import { Breadcrumbs } from './Breadcrumbs.js';
import { downloadFiles, downloadZip } from './download.js';
import { ShareDialog } from '../shares/ShareDialog.js';
import { FileTable } from './FileTable.js';
import { FolderPicker } from './FolderPicker.js';
import { SearchResults } from './SearchResults.js';
import { useDirectory } from './useDirectory.js';
import { Icon } from '../ui/Icon.js';

const GRID_KEY = 'openpan.grid';

type OpenDialog = 'newFolder' | 'rename' | 'move' | 'copy' | 'delete' | 'share' | null;

export function Drive({ api, path }: { api: Api; path: string }) {
  const { t } = useI18n();
  const { enqueue, onUploaded } = useUploads();
  const [order, setOrder] = useState<SortOrder>({ field: 'name', desc: false });
  const dir = useDirectory(api, path, order);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [dialog, setDialog] = useState<OpenDialog>(null);
  const [dragging, setDragging] = useState(false);
  const [error, setError] = useState('');
  const picker = useRef<HTMLInputElement>(null);
  const dragDepth = useRef(0);
  const [typed, setTyped] = useState('');
  const [search, setSearch] = useState<{ query: string; kind: SearchKind | '' } | null>(null);

  useEffect(() => setSelected(new Set()), [path]);
  const [grid, setGrid] = useState(() => localStorage.getItem(GRID_KEY) === '1');
  const [thumbnails, setThumbnails] = useState<Record<string, string>>({});
  const hasMedia = dir.entries.some((e) => e.mime.startsWith('image/') || e.mime.startsWith('video/'));
  useEffect(() => {
    let current = true;
    setThumbnails({});
    if (hasMedia)
      api.thumbnails(path).then(
        (found) => current && setThumbnails(found),
        () => {},
      );
    return () => {
      current = false;
    };
  }, [api, path, hasMedia]);
  // Opening a folder (from a result or the breadcrumbs) ends the search.
  useEffect(() => setSearch(null), [path]);
  // Refresh when an upload lands here (the upload panel lives across folders).
  const reload = dir.reload;
  useEffect(() => onUploaded((folder) => folder === path && reload()), [onUploaded, path, reload]);

  const chosen = dir.entries.filter((e) => selected.has(e.uuid));
  const after = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        setSelected(new Set());
        dir.reload();
      },
      (err: unknown) => setError(describeError(t, err)),
    );
  const upload = (files: FileList | null | undefined) => {
    if (files && files.length > 0) enqueue(Array.from(files), path);
  };

  return (
    <main
      id="main"
      class={dragging ? 'drive dragging' : 'drive'}
      onDragEnter={(event) => {
        if (!event.dataTransfer?.types.includes('Files')) return;
        dragDepth.current++;
        setDragging(true);
      }}
      onDragOver={(event) => {
        if (event.dataTransfer?.types.includes('Files')) event.preventDefault();
      }}
      onDragLeave={() => {
        dragDepth.current = Math.max(0, dragDepth.current - 1);
        if (dragDepth.current === 0) setDragging(false);
      }}
      onDrop={(event) => {
        event.preventDefault();
        dragDepth.current = 0;
        setDragging(false);
        upload(event.dataTransfer?.files);
      }}
    >
      <Breadcrumbs path={path} />
      <div class="toolbar" role="toolbar" aria-label={t('drive.actions')}>
        <button type="button" class="primary" onClick={() => picker.current?.click()}>
          <Icon name="upload" /> {t('drive.upload')}
        </button>
        <input
          ref={picker}
          type="file"
          multiple
          class="visually-hidden"
          tabIndex={-1}
          aria-hidden="true"
          data-testid="upload-input"
          onChange={(event) => {
            upload(event.currentTarget.files);
            event.currentTarget.value = '';
          }}
        />
        <button type="button" onClick={() => setDialog('newFolder')}>
          <Icon name="plus" /> {t('drive.newFolder')}
        </button>
        <button type="button" onClick={dir.reload} aria-label={t('drive.refresh')} title={t('drive.refresh')}>
          <Icon name="refresh" />
        </button>
        <button
          type="button"
          aria-pressed={grid}
          onClick={() => {
            localStorage.setItem(GRID_KEY, grid ? '0' : '1');
            setGrid(!grid);
          }}
        >
          {t('drive.grid')}
        </button>
        <form
          class="search"
          aria-label={t('search.submit')}
          onSubmit={(event) => {
            event.preventDefault();
            const query = typed.trim();
            setSearch(query ? { query, kind: search?.kind ?? '' } : null);
          }}
        >
          <input
            type="search"
            value={typed}
            placeholder={t('search.placeholder')}
            aria-label={t('search.label')}
            onInput={(event) => setTyped(event.currentTarget.value)}
          />
          <select
            aria-label={t('search.kind')}
            value={search?.kind ?? ''}
            onChange={(event) => {
              const kind = event.currentTarget.value as SearchKind | '';
              const query = typed.trim();
              setSearch(query ? { query, kind } : null);
            }}
          >
            <option value="">{t('search.kind.all')}</option>
            {SEARCH_KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`search.kind.${k}`)}
              </option>
            ))}
          </select>
          <button type="submit">{t('search.submit')}</button>
          {search && (
            <button
              type="button"
              class="link"
              onClick={() => {
                setSearch(null);
                setTyped('');
              }}
            >
              {t('search.clear')}
            </button>
          )}
        </form>
        {chosen.length > 0 && (
          <span class="selection">
            <span class="muted" aria-live="polite">
              {t('drive.selected', { count: chosen.length })}
            </span>
            {chosen.every((e) => e.type === FILE) && (
              <button type="button" onClick={() => after(downloadFiles(api, chosen))}>
                {t('drive.download')}
              </button>
            )}
            <button type="button" onClick={() => void downloadZip(api, chosen).catch((err: unknown) => setError(describeError(t, err)))}>
              {t('drive.downloadZip')}
            </button>
            <button type="button" onClick={() => setDialog('share')}>
              <Icon name="link" /> {t('drive.share')}
            </button>
            {chosen.length === 1 && (
              <button type="button" onClick={() => setDialog('rename')}>
                {t('drive.rename')}
              </button>
            )}
            <button type="button" onClick={() => setDialog('move')}>
              {t('drive.move')}
            </button>
            <button type="button" onClick={() => setDialog('copy')}>
              {t('drive.copy')}
            </button>
            <button type="button" class="danger" onClick={() => setDialog('delete')}>
              {t('drive.delete')}
            </button>
          </span>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}{' '}
          <button type="button" class="link" onClick={() => setError('')}>
            {t('common.close')}
          </button>
        </p>
      )}
      {dir.error !== null && (
        <p class="error" role="alert">
          {describeError(t, dir.error)}
        </p>
      )}
      {search ? (
        <SearchResults api={api} query={search.query} kind={search.kind} onOpenFile={(file) => after(downloadFiles(api, [file]))} />
      ) : (
        <FileTable
          dir={dir}
          order={order}
          onSort={setOrder}
          selected={selected}
          onSelect={setSelected}
          onDeleteKey={() => setDialog('delete')}
          thumbnails={thumbnails}
          grid={grid}
        />
      )}
      {dragging && (
        <div class="drop-overlay" aria-hidden="true">
          {t('drive.dropHere')}
        </div>
      )}

      {dialog === 'newFolder' && (
        <PromptDialog
          title={t('drive.newFolder')}
          label={t('drive.folderName')}
          onClose={() => setDialog(null)}
          onSubmit={async (name) => {
            if (name.includes('/')) throw new Error(t('error.NAME_INVALID'));
            await api.createDirectory(joinPath(path, name));
            dir.reload();
          }}
        />
      )}
      {dialog === 'rename' && chosen.length === 1 && (
        <PromptDialog
          title={t('drive.rename')}
          label={t('drive.newName')}
          initial={chosen[0].name}
          onClose={() => setDialog(null)}
          onSubmit={async (name) => {
            await api.rename(chosen[0].uuid, name);
            setSelected(new Set());
            dir.reload();
          }}
        />
      )}
      {(dialog === 'move' || dialog === 'copy') && (
        <FolderPicker
          api={api}
          title={t(dialog === 'move' ? 'drive.moveTo' : 'drive.copyTo', { count: chosen.length })}
          start={path}
          onClose={() => setDialog(null)}
          onPick={async (dest) => {
            const uuids = chosen.map((e) => e.uuid);
            await (dialog === 'move' ? api.move(uuids, dest) : api.copy(uuids, dest));
            setSelected(new Set());
            dir.reload();
          }}
        />
      )}
      {dialog === 'share' && <ShareDialog api={api} entries={chosen} onClose={() => setDialog(null)} />}
      {dialog === 'delete' && (
        <ConfirmDialog
          title={t('drive.delete')}
          message={t('drive.confirmDelete', { count: chosen.length })}
          confirm={t('common.delete')}
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await api.remove(chosen.map((e) => e.uuid));
            setSelected(new Set());
            dir.reload();
          }}
        >
          <ul class="delete-list">
            {chosen.slice(0, 10).map((e) => (
              <li key={e.uuid}>
                <Icon name={e.type === DIRECTORY ? 'folder' : 'file'} /> {e.name}
              </li>
            ))}
            {chosen.length > 10 && <li>…</li>}
          </ul>
        </ConfirmDialog>
      )}
    </main>
  );
}
