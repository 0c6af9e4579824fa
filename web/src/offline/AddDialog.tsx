// Adding offline downloads: a .torrent (uploaded to :torrent, then parsed) or pasted links
// (one per line, parsed together). Each offer shows its files to pick from; one destination
// folder for all of them; Start creates the tasks.
import { useMemo, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { ParseResult, TaskObject } from '../api/types.js';
import { FolderPicker } from '../drive/FolderPicker.js';
import { formatBytes } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { Dialog, DialogFooter } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';
import { uploadFile } from '../upload/uploader.js';
import { FileTree } from './FileTree.js';
import { buildTree, extensionGroups, filesArgument, selectedSize, toggleGroup, checkState } from './selection.js';

export type AddMode = 'torrent' | 'links';

interface Offer {
  parse: ParseResult;
  selected: Set<number>;
}

export function AddDialog({ api, mode, destination, onStarted, onClose }: { api: Api; mode: AddMode; destination: string; onStarted(tasks: TaskObject[]): void; onClose(): void }) {
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
    const urls = links.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
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

  const start = async () => {
    if (offers.some((o) => o.parse.files && o.selected.size === 0)) return setError(t('offline.nothingSelected'));
    setError('');
    setBusy(t('offline.start'));
    try {
      const tasks: TaskObject[] = [];
      for (const offer of offers) tasks.push(await api.startTask(offer.parse.taskHash, filesArgument(offer.parse.files, offer.selected), savePath || '/'));
      onStarted(tasks);
      onClose();
    } catch (err) {
      setError(describeError(t, err));
      setBusy('');
    }
  };

  return (
    <Dialog title={mode === 'torrent' ? t('offline.addTorrent') : t('offline.addLinks')} onClose={onClose} wide>
      {mode === 'torrent' ? (
        <label class="file-choose">
          {t('offline.chooseTorrent')}
          <input type="file" accept=".torrent,application/x-bittorrent" multiple data-testid="torrent-input" onChange={(e) => readTorrents(e.currentTarget.files)} disabled={!!busy} />
        </label>
      ) : (
        <div class="links">
          <label>
            {t('offline.linksLabel')}
            <textarea rows={4} value={links} onInput={(e) => setLinks(e.currentTarget.value)} placeholder="magnet:?xt=urn:btih:…&#10;https://example.com/file.iso" />
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
        <OfferView key={offer.parse.taskHash} offer={offer} onChange={(selected) => setOffers((all) => all.map((o, j) => (j === i ? { ...o, selected } : o)))} />
      ))}
      {offers.length > 0 && (
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
        <button type="button" class="primary" disabled={offers.length === 0 || !!busy} onClick={start}>
          {t('offline.start')}
        </button>
      </DialogFooter>
      {picking && <FolderPicker api={api} title={t('offline.destination')} start="/" onPick={(path) => setSavePath(path)} onClose={() => setPicking(false)} />}
    </Dialog>
  );
}

function OfferView({ offer, onChange }: { offer: Offer; onChange(selected: Set<number>): void }) {
  const { t } = useI18n();
  const files = offer.parse.files;
  const tree = useMemo(() => (files ? buildTree(files) : null), [files]);
  const groups = useMemo(() => (files ? extensionGroups(files) : []), [files]);
  return (
    <section class="offer" data-testid="offer">
      <h3>
        {offer.parse.name} <span class="muted">{formatBytes(offer.parse.size)}</span>
      </h3>
      {!files || !tree ? (
        <p class="notice">{t('offline.metadataPending')}</p>
      ) : (
        <>
          <div class="select-tools">
            <button type="button" onClick={() => onChange(new Set(files.map((f) => f.index)))}>
              {t('offline.all')}
            </button>
            <button type="button" onClick={() => onChange(new Set())}>
              {t('offline.none')}
            </button>
            {groups.length > 1 && (
              <span class="by-type">
                {t('offline.byType')}
                {groups.map((g) => (
                  <button key={g.ext} type="button" class="chip" aria-pressed={checkState(g.indices, offer.selected) === 'all'} onClick={() => onChange(toggleGroup(g.indices, offer.selected))}>
                    {g.ext || '—'} ({g.indices.length})
                  </button>
                ))}
              </span>
            )}
          </div>
          <FileTree root={tree} fileCount={files.length} selected={offer.selected} onChange={onChange} />
          <p class="muted" aria-live="polite">
            {t('offline.selectedSummary', { count: offer.selected.size, total: files.length, size: formatBytes(selectedSize(files, offer.selected)) })}
          </p>
        </>
      )}
    </section>
  );
}
