// "Change files" of a torrent task: every file of the torrent with the task's selection checked;
// Save sends the new selection (/v1/offline/edit). Added files download (a finished task runs
// again); files taken out stop downloading; what is already in the drive stays there.
//
// The task names only its selected files (/v1/offline/get `detail`), so the whole file list
// comes from parsing the torrent again by its info hash: /v1/offline/parseMagnet answers at once
// from the torrent the server keeps for the task's download.
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { isTorrentTask, TASK_METADATA, type ParsedFile, type TaskObject } from '../api/types.js';
import { useI18n } from '../i18n/i18n.js';
import { Dialog, DialogFooter } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';
import { TorrentFiles } from './TorrentFiles.js';

interface Loaded {
  task: TaskObject;
  /** Absent while a magnet link's file list is not known yet. */
  files?: ParsedFile[];
  /** Files of the task already in the drive. */
  saved: Set<number>;
}

export function magnetOf(infoHash: string, name: string): string {
  return `magnet:?xt=urn:btih:${infoHash}${name ? `&dn=${encodeURIComponent(name)}` : ''}`;
}

export function EditFilesDialog({ api, taskId, onSaved, onClose }: { api: Api; taskId: string; onSaved(task: TaskObject): void; onClose(): void }) {
  const { t } = useI18n();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(true);

  useEffect(() => {
    let stale = false;
    (async () => {
      const task = await api.getTask(taskId);
      if (!isTorrentTask(task)) throw new Error(t('offline.editNotTorrent'));
      const saved = new Set(task.detail.filter((d) => d.uuid !== '').map((d) => d.index));
      // A magnet task still fetching its metadata: the server knows no file list to offer yet.
      const pending = task.status === TASK_METADATA && task.files.length === 0;
      const files = pending ? undefined : (await api.parseMagnet(magnetOf(task.infoHash, task.name))).files;
      if (stale) return;
      setLoaded({ task, files, saved });
      setSelected(new Set(task.files));
    })()
      .catch((err: unknown) => !stale && setError(describeError(t, err)))
      .finally(() => !stale && setBusy(false));
    return () => {
      stale = true;
    };
  }, [api, taskId]);

  const save = async () => {
    if (selected.size === 0) return setError(t('offline.nothingSelected'));
    setError('');
    setBusy(true);
    try {
      onSaved(
        await api.editTask(
          taskId,
          [...selected].sort((a, b) => a - b),
        ),
      );
      onClose();
    } catch (err) {
      setError(describeError(t, err));
      setBusy(false);
    }
  };

  const files = loaded?.files;
  return (
    <Dialog title={t('offline.editFiles')} onClose={onClose} wide>
      <section class="offer" data-testid="edit-files">
        {loaded && <h3>{loaded.task.name || loaded.task.infoHash}</h3>}
        {!loaded && busy && (
          <p class="muted" role="status">
            {t('offline.loading')}
          </p>
        )}
        {loaded && !files && <p class="notice">{t('offline.editPending')}</p>}
        {loaded && files && (
          <>
            <p class="muted">{t('offline.editHint')}</p>
            <TorrentFiles files={files} selected={selected} onChange={setSelected} saved={loaded.saved} />
          </>
        )}
      </section>
      <DialogFooter error={error} onCancel={onClose}>
        <button type="button" class="primary" disabled={busy || !files} onClick={save}>
          {t('offline.save')}
        </button>
      </DialogFooter>
    </Dialog>
  );
}
