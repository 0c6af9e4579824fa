// Shares the selection by a link: an extraction code or none, an expiry, a download limit;
// then shows the link (and code) to pass on.
import { useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { FileObject, ShareObject } from '../api/types.js';
import { useI18n } from '../i18n/i18n.js';
import { Dialog, DialogFooter } from '../ui/Dialog.js';
import { describeError } from '../ui/describe-error.js';

const DAY = 24 * 60 * 60;
const EXPIRIES = [0, DAY, 7 * DAY, 30 * DAY] as const;

export function ShareDialog({ api, entries, onClose }: { api: Api; entries: FileObject[]; onClose(): void }) {
  const { t } = useI18n();
  const [withCode, setWithCode] = useState(true);
  const [expiresIn, setExpiresIn] = useState<number>(7 * DAY);
  const [maxDownloads, setMaxDownloads] = useState(0);
  const [share, setShare] = useState<ShareObject | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  if (share) {
    const text = share.code ? t('share.copyText', { url: share.url, code: share.code }) : share.url;
    return (
      <Dialog title={t('share.created')} onClose={onClose}>
        <label>
          {t('share.link')}
          <input readOnly value={share.url} data-testid="share-url" onFocus={(event) => event.currentTarget.select()} />
        </label>
        {share.code && (
          <p>
            {t('share.code')}: <strong data-testid="share-code">{share.code}</strong>
          </p>
        )}
        <div class="buttons">
          <button type="button" onClick={() => void navigator.clipboard?.writeText(text).catch(() => {})}>
            {t('share.copy')}
          </button>
          <button type="button" class="primary" onClick={onClose}>
            {t('common.close')}
          </button>
        </div>
      </Dialog>
    );
  }
  return (
    <Dialog title={t('share.title', { count: entries.length })} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError('');
          try {
            setShare(
              await api.createShare(
                entries.map((e) => e.uuid),
                { withCode, expiresIn, maxDownloads },
              ),
            );
          } catch (err) {
            setError(describeError(t, err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label class="inline">
          <input type="checkbox" checked={withCode} onChange={(event) => setWithCode(event.currentTarget.checked)} /> {t('share.withCode')}
        </label>
        <label>
          {t('share.expiry')}
          <select value={String(expiresIn)} onChange={(event) => setExpiresIn(Number(event.currentTarget.value))}>
            {EXPIRIES.map((seconds) => (
              <option key={seconds} value={String(seconds)}>
                {seconds === 0 ? t('share.never') : t('share.days', { count: seconds / DAY })}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('share.maxDownloads')}
          <input type="number" min={0} value={maxDownloads} onInput={(event) => setMaxDownloads(Math.max(0, Number(event.currentTarget.value) || 0))} />
        </label>
        <DialogFooter error={error} onCancel={onClose}>
          <button type="submit" class="primary" disabled={busy}>
            {t('share.create')}
          </button>
        </DialogFooter>
      </form>
    </Dialog>
  );
}
