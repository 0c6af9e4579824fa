// Choose a destination folder by browsing (move, copy, offline download destination).
import { useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { useI18n } from '../i18n/i18n.js';
import { joinPath, parentOf } from '../router.js';
import { Dialog, DialogFooter } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';
import { useDirectory } from './useDirectory.js';
import { Icon } from '../ui/Icon.js';

const BY_NAME = { field: 'name', desc: false } as const;

export function FolderPicker({
  api,
  title,
  start,
  onPick,
  onClose,
}: {
  api: Api;
  title: string;
  start: string;
  onPick(path: string): Promise<void> | void;
  onClose(): void;
}) {
  const { t } = useI18n();
  const [path, setPath] = useState(start);
  const [error, setError] = useState('');
  const dir = useDirectory(api, path, BY_NAME, true);
  return (
    <Dialog title={title} onClose={onClose}>
      <p class="picker-path">{t('picker.current', { path })}</p>
      <ul class="picker-list">
        {path !== '/' && (
          <li>
            <button type="button" class="link" onClick={() => setPath(parentOf(path))}>
              <Icon name="up" /> {t('picker.up')}
            </button>
          </li>
        )}
        {dir.entries.map((entry) => (
          <li key={entry.uuid}>
            <button type="button" class="link" onClick={() => setPath(joinPath(path, entry.name))}>
              <Icon name="folder" /> {entry.name}
            </button>
          </li>
        ))}
        {dir.hasMore && (
          <li>
            <button type="button" class="link" onClick={dir.loadMore}>
              {t('drive.loadMore', { shown: dir.entries.length, total: dir.totalCount })}
            </button>
          </li>
        )}
        {!dir.loading && dir.entries.length === 0 && <li class="muted">{t('picker.noFolders')}</li>}
      </ul>
      <DialogFooter error={error} onCancel={onClose}>
        <button
          type="button"
          class="primary"
          onClick={async () => {
            try {
              await onPick(path);
              onClose();
            } catch (err) {
              setError(describeError(t, err));
            }
          }}
        >
          {t('picker.choose')}
        </button>
      </DialogFooter>
    </Dialog>
  );
}
