// A share's public page, /s/<id>: no account needed. The extraction code first when it has
// one; then the shared entries, folders opened in place, files downloaded one by one or
// everything (or the open folder) as one zip; a signed-in visitor can save it to their drive.
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { DIRECTORY, type OpenedShare, type SharedEntry } from '../api/types.js';
import { saveAddress } from '../drive/download.js';
import { formatBytes, formatDate } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { describeError } from '../ui/describe-error.js';
import { Icon } from '../ui/Icon.js';
import { LanguageSwitch } from '../ui/LanguageSwitch.js';
import { ApiError } from '../api/client.js';

export function SharePage({ api, id, signedIn }: { api: Api; id: string; signedIn: boolean }) {
  const { t, locale } = useI18n();
  const [share, setShare] = useState<OpenedShare | null>(null);
  const [needsCode, setNeedsCode] = useState(false);
  const [code, setCode] = useState('');
  const [folders, setFolders] = useState<SharedEntry[]>([]);
  const [entries, setEntries] = useState<SharedEntry[]>([]);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');

  const open = (given: string) => {
    setError('');
    api.openShare(id, given).then(
      (opened) => {
        setShare(opened);
        setNeedsCode(false);
        setEntries(opened.list);
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.code === 'SHARE_CODE_REQUIRED') setNeedsCode(true);
        else setError(describeError(t, err));
      },
    );
  };
  // Opened once per share id.
  useEffect(() => open(''), [id]);

  const act = (promise: Promise<unknown>) => promise.catch((err: unknown) => setError(describeError(t, err)));
  const enter = (folder: SharedEntry | null, trail: SharedEntry[]) => {
    if (!share) return;
    setFolders(trail);
    if (folder === null) {
      setEntries(share.list);
      return;
    }
    void act(api.browseShare(id, share.access, folder.uuid, 1).then((page) => setEntries(page.list)));
  };
  const here = folders.length > 0 ? folders[folders.length - 1] : null;

  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="/">
          <img src="/favicon.svg" alt="" width={24} height={24} />
          <span>openpan</span>
        </a>
        <div class="account">
          <LanguageSwitch />
        </div>
      </header>
      <main id="main" class="share-page">
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {needsCode && (
          <form
            class="share-code"
            onSubmit={(event) => {
              event.preventDefault();
              open(code.trim());
            }}
          >
            <label>
              {t('share.enterCode')}
              {/* biome-ignore lint/a11y/noAutofocus: the code is all this page asks for until it is given */}
              <input autoFocus value={code} onInput={(event) => setCode(event.currentTarget.value)} required autoComplete="off" />
            </label>
            <button type="submit" class="primary">
              {t('share.openShare')}
            </button>
          </form>
        )}
        {share && (
          <>
            <h1>{share.title}</h1>
            <p class="muted">
              {t('share.sharedBy', { owner: share.owner, date: formatDate(share.createdAt, locale) })}
              {share.expires > 0 && ` · ${t('share.expiresOn', { date: formatDate(share.expires, locale) })}`}
            </p>
            <div class="toolbar">
              <button
                type="button"
                class="primary"
                onClick={() => act(api.shareZip(id, share.access, here ? [here.uuid] : []).then((l) => saveAddress(l.downloadAddress)))}
              >
                {here ? t('share.zipFolder') : t('share.zipAll')}
              </button>
              {signedIn ? (
                <button
                  type="button"
                  onClick={() =>
                    act(api.saveShare(id, share.access, here ? [here.uuid] : [], '/').then((names) => setNotice(t('share.saved', { names: names.join(', ') }))))
                  }
                >
                  {t('share.save')}
                </button>
              ) : (
                <a href="/">{t('share.signInToSave')}</a>
              )}
            </div>
            {notice && (
              <p class="notice" role="status">
                {notice}
              </p>
            )}
            <nav class="crumbs" aria-label={t('drive.breadcrumbs')}>
              <button type="button" class="link" onClick={() => enter(null, [])}>
                {share.title}
              </button>
              {folders.map((f, i) => (
                <span key={f.uuid}>
                  {' / '}
                  <button type="button" class="link" onClick={() => enter(f, folders.slice(0, i + 1))}>
                    {f.name}
                  </button>
                </span>
              ))}
            </nav>
            <table class="files">
              <thead>
                <tr>
                  <th scope="col">{t('drive.name')}</th>
                  <th scope="col" class="size">
                    {t('drive.size')}
                  </th>
                  <th scope="col" class="modified">
                    {t('drive.modified')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {entries.map((entry) => {
                  const isDir = entry.type === DIRECTORY;
                  return (
                    <tr key={entry.uuid} data-testid="shared-row">
                      <td class="name">
                        <Icon name={isDir ? 'folder' : 'file'} />
                        <button
                          type="button"
                          class="link file-name"
                          onClick={() =>
                            isDir
                              ? enter(entry, [...folders, entry])
                              : act(api.shareDownload(id, share.access, entry.uuid).then((l) => saveAddress(l.downloadAddress, entry.name)))
                          }
                        >
                          {entry.name}
                        </button>
                      </td>
                      <td class="size">{isDir ? '' : formatBytes(entry.size)}</td>
                      <td class="modified">{formatDate(entry.mtime, locale)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </>
        )}
      </main>
    </div>
  );
}
