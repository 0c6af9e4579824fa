// Adding offline downloads: a .torrent (uploaded to :torrent, then parsed) or pasted links
// (one per line, parsed together). Each offer shows its files to pick from; one destination
// folder for all of them; Start creates the tasks.
import { useState } from 'preact/hooks';
import { ApiError, type Api } from '../api/client.js';
import type { ParseResult, TaskObject } from '../api/types.js';
import { FolderPicker } from '../drive/FolderPicker.js';
import { formatBytes } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { Dialog, DialogFooter } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';
import { uploadFile } from '../upload/uploader.js';
import { TorrentFiles } from './TorrentFiles.js';
import { filesArgument } from './selection.js';

export type AddMode = 'torrent' | 'links';

interface Offer {
  parse: ParseResult;
  selected: Set<number>;
  /** The user's task of this torrent, when starting it answered TASK_EXISTS: not started again. */
  existingTaskId?: string;
}

/** The id of the user's task of the same torrent, when a start was refused for that. */
function existingTaskOf(err: unknown): string | undefined {
  if (!(err instanceof ApiError) || err.code !== 'TASK_EXISTS') return undefined;
  const taskId = err.details?.taskId;
  return typeof taskId === 'string' && taskId !== '' ? taskId : undefined;
}

export function AddDialog({
  api,
  mode,
  destination,
  onStarted,
  onEditExisting,
  onClose,
}: {
  api: Api;
  mode: AddMode;
  destination: string;
  onStarted(tasks: TaskObject[]): void;
  /** Opens the "Change files" dialog of the user's task of a torrent offered again (this dialog closes). */
  onEditExisting(taskId: string): void;
  onClose(): void;
}) {
  const { t } = useI18n();
  const [offers, setOffers] = useState<Offer[]>([]);
  const [busy, setBusy] = useState('');
  const [error, setError] = useState('');
  const [links, setLinks] = useState('');
  const [savePath, setSavePath] = useState(destination);
  const [picking, setPicking] = useState(false);

  const addParses = (parses: ParseResult[]) =>
    setOffers((old) => [...old, ...parses.map((parse) => ({ parse, selected: new Set((parse.files ?? []).map((f) => f.index)) }))]);

  const readTorrents = async (files: FileList | null) => {
    if (!files || files.length === 0) return;
    setError('');
    try {
      for (const file of Array.from(files)) {
        setBusy(t('offline.uploadingTorrent', { name: file.name }));
        const stored = await uploadFile(api, file, ':torrent', () => {});
        addParses([await api.parseTorrent(stored.uuid)]);
      }
    } catch (err) {
      setError(describeError(t, err));
    } finally {
      setBusy('');
    }
  };

  const readLinks = async () => {
    const urls = links
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    if (urls.length === 0) return;
    setError('');
    setBusy(t('offline.reading'));
    try {
      addParses(await api.parseUrls(urls));
      setLinks('');
    } catch (err) {
      setError(describeError(t, err));
    } finally {
      setBusy('');
    }
  };

  // Each offer is started on its own: one that is started leaves the list (a second Start must not
  // start it again), one the user already has a task of stays with a note, and the others go on.
  const start = async () => {
    const todo = offers.filter((o) => o.existingTaskId === undefined);
    if (todo.some((o) => o.parse.files && o.selected.size === 0)) return setError(t('offline.nothingSelected'));
    setError('');
    setBusy(t('offline.start'));
    const started: TaskObject[] = [];
    const done = new Set<string>();
    const existing = new Map<string, string>();
    let failure = '';
    for (const offer of todo) {
      try {
        started.push(await api.startTask(offer.parse.taskHash, filesArgument(offer.parse.files, offer.selected), savePath || '/'));
        done.add(offer.parse.taskHash);
      } catch (err) {
        const taskId = existingTaskOf(err);
        if (taskId === undefined) {
          failure = describeError(t, err);
          break;
        }
        existing.set(offer.parse.taskHash, taskId);
      }
    }
    if (started.length > 0) onStarted(started);
    const left = offers
      .filter((o) => !done.has(o.parse.taskHash))
      .map((o) => (existing.has(o.parse.taskHash) ? { ...o, existingTaskId: existing.get(o.parse.taskHash) } : o));
    if (left.length === 0) return onClose();
    setOffers(left);
    setError(failure);
    setBusy('');
  };

  return (
    <Dialog title={mode === 'torrent' ? t('offline.addTorrent') : t('offline.addLinks')} onClose={onClose} wide>
      {mode === 'torrent' ? (
        <label class="file-choose">
          {t('offline.chooseTorrent')}
          <input
            type="file"
            accept=".torrent,application/x-bittorrent"
            multiple
            data-testid="torrent-input"
            onChange={(e) => readTorrents(e.currentTarget.files)}
            disabled={!!busy}
          />
        </label>
      ) : (
        <div class="links">
          <label>
            {t('offline.linksLabel')}
            <textarea
              rows={4}
              value={links}
              onInput={(e) => setLinks(e.currentTarget.value)}
              placeholder="magnet:?xt=urn:btih:…&#10;https://example.com/file.iso"
            />
          </label>
          <button type="button" onClick={readLinks} disabled={!!busy || !links.trim()}>
            {t('offline.parse')}
          </button>
        </div>
      )}
      {busy && (
        <p class="muted" role="status">
          {busy}
        </p>
      )}
      {offers.map((offer, i) => (
        <OfferView
          key={offer.parse.taskHash}
          offer={offer}
          onChange={(selected) => setOffers((all) => all.map((o, j) => (j === i ? { ...o, selected } : o)))}
          onEditExisting={(taskId) => {
            onEditExisting(taskId);
            onClose();
          }}
          onDrop={() => setOffers((all) => all.filter((_, j) => j !== i))}
        />
      ))}
      {offers.some((o) => o.existingTaskId === undefined) && (
        <div class="destination">
          <label>
            {t('offline.destination')}
            <input value={savePath} onInput={(e) => setSavePath(e.currentTarget.value)} data-testid="destination" />
          </label>
          <button type="button" onClick={() => setPicking(true)}>
            {t('offline.browse')}
          </button>
        </div>
      )}
      <DialogFooter error={error} onCancel={onClose}>
        <button type="button" class="primary" disabled={offers.every((o) => o.existingTaskId !== undefined) || !!busy} onClick={start}>
          {t('offline.start')}
        </button>
      </DialogFooter>
      {picking && <FolderPicker api={api} title={t('offline.destination')} start="/" onPick={(path) => setSavePath(path)} onClose={() => setPicking(false)} />}
    </Dialog>
  );
}

function OfferView({
  offer,
  onChange,
  onEditExisting,
  onDrop,
}: {
  offer: Offer;
  onChange(selected: Set<number>): void;
  onEditExisting(taskId: string): void;
  onDrop(): void;
}) {
  const { t } = useI18n();
  const files = offer.parse.files;
  const existing = offer.existingTaskId;
  return (
    <section class="offer" data-testid="offer">
      <h3>
        {offer.parse.name} <span class="muted">{formatBytes(offer.parse.size)}</span>
      </h3>
      {existing !== undefined ? (
        <div class="notice" role="alert" data-testid="task-exists">
          <p>{t('offline.taskExists')}</p>
          <div class="buttons start">
            <button type="button" class="primary" onClick={() => onEditExisting(existing)}>
              {t('offline.editExisting')}
            </button>
            <button type="button" onClick={onDrop}>
              {t('offline.dropOffer')}
            </button>
          </div>
        </div>
      ) : !files ? (
        <p class="notice">{t('offline.metadataPending')}</p>
      ) : (
        <TorrentFiles files={files} selected={offer.selected} onChange={onChange} />
      )}
    </section>
  );
}
