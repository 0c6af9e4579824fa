// The signed-in shell (header, navigation, the current screen, the upload panel) or sign-in.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AppPasswordsDialog } from './account/AppPasswordsDialog.js';
import { Admin } from './admin/Admin.js';
import { Api } from './api/client.js';
import { loadToken, saveToken } from './api/session.js';
import type { UserInfo } from './api/types.js';
import { SignIn } from './auth/SignIn.js';
import { Drive } from './drive/Drive.js';
import { formatBytes } from './format.js';
import { useI18n } from './i18n/i18n.js';
import { Offline } from './offline/Offline.js';
import { isActive, useTasks } from './offline/useTasks.js';
import { hrefFor, onLinkClick, useRoute } from './router.js';
import { Trash } from './trash/Trash.js';
import { LanguageSwitch } from './ui/LanguageSwitch.js';
import { UploadPanel } from './upload/UploadPanel.js';
import { UploadsProvider, useUploads } from './upload/uploads.js';
import { MyShares } from './shares/MyShares.js';
import { SharePage } from './shares/SharePage.js';
import { Viewer } from './viewer/Viewer.js';
import { LivePlayer } from './offline/LivePlayer.js';

export function App() {
  const [token, setToken] = useState(loadToken);
  const tokenRef = useRef(token);
  tokenRef.current = token;
  const api = useMemo(
    () =>
      new Api({
        token: () => tokenRef.current,
        expired: () => {
          saveToken('');
          setToken('');
        },
      }),
    [],
  );
  const signIn = (next: string) => {
    saveToken(next);
    setToken(next);
  };
  // A share's page opens without an account.
  const shared = /^\/s\/([A-Za-z0-9]+)\/?$/.exec(location.pathname);
  if (shared) return <SharePage api={api} id={shared[1]} signedIn={token !== ''} />;
  if (!token) return <SignIn api={api} onSignedIn={signIn} />;
  return (
    <UploadsProvider api={api}>
      <Shell
        api={api}
        token={token}
        onSignOut={() => {
          void api.logout().catch(() => {});
          saveToken('');
          setToken('');
        }}
      />
    </UploadsProvider>
  );
}

function Shell({ api, token, onSignOut }: { api: Api; token: string; onSignOut(): void }) {
  const { t } = useI18n();
  const route = useRoute();
  const tasks = useTasks(api, token);
  const [user, setUser] = useState<UserInfo | null>(null);
  const [lastFolder, setLastFolder] = useState('/');
  const [appPasswordsOpen, setAppPasswordsOpen] = useState(false);
  useEffect(() => {
    if (route.view === 'drive') setLastFolder(route.path);
  }, [route]);
  const { onUploaded } = useUploads();
  const refreshUser = useCallback(() => void api.userInfo().then(setUser, () => {}), [api]);
  // Space used changes with every upload and every move between screens.
  useEffect(() => {
    refreshUser();
    return onUploaded(refreshUser);
  }, [refreshUser, route, onUploaded]);
  const running = tasks.tasks.filter(isActive).length;

  return (
    <div class="shell">
      <a class="skip" href="#main">
        {t('app.skipToContent')}
      </a>
      <header class="top">
        <a class="brand" href="/" onClick={onLinkClick({ view: 'drive', path: '/' })}>
          <img src="/favicon.svg" alt="" width={24} height={24} />
          <span>openpan</span>
        </a>
        <nav class="tabs">
          <a href="/" aria-current={route.view !== 'offline' ? 'page' : undefined} onClick={onLinkClick({ view: 'drive', path: lastFolder })}>
            {t('app.drive')}
          </a>
          <a
            href={hrefFor({ view: 'offline' })}
            aria-current={route.view === 'offline' || route.view === 'play' ? 'page' : undefined}
            onClick={onLinkClick({ view: 'offline' })}
          >
            {t('app.offline')}
            {running > 0 && <span class="count">{running}</span>}
          </a>
          {user?.isAdmin && (
            <a href={hrefFor({ view: 'admin' })} aria-current={route.view === 'admin' ? 'page' : undefined} onClick={onLinkClick({ view: 'admin' })}>
              {t('app.admin')}
            </a>
          )}
          <a href={hrefFor({ view: 'shares' })} aria-current={route.view === 'shares' ? 'page' : undefined} onClick={onLinkClick({ view: 'shares' })}>
            {t('shares.title')}
          </a>
          <a href={hrefFor({ view: 'trash' })} aria-current={route.view === 'trash' ? 'page' : undefined} onClick={onLinkClick({ view: 'trash' })}>
            {t('app.trash')}
          </a>
        </nav>
        <div class="account">
          {user && (
            <span class="space muted" title={user.name}>
              {user.name} · {t('app.space', { used: formatBytes(user.spaceUsed), total: formatBytes(user.spaceCapacity) })}
            </span>
          )}
          <LanguageSwitch />
          <button type="button" onClick={() => setAppPasswordsOpen(true)}>
            {t('app.appPasswords')}
          </button>
          <button type="button" onClick={onSignOut}>
            {t('app.signOut')}
          </button>
        </div>
      </header>
      {route.view === 'drive' ? (
        <Drive api={api} path={route.path} />
      ) : route.view === 'file' ? (
        <Viewer api={api} path={route.path} />
      ) : route.view === 'play' ? (
        <LivePlayer api={api} taskId={route.taskId} index={route.index} />
      ) : route.view === 'admin' ? (
        user?.isAdmin ? (
          <Admin api={api} me={user.identity} />
        ) : null
      ) : route.view === 'shares' ? (
        <MyShares api={api} />
      ) : route.view === 'trash' ? (
        <Trash api={api} onSpaceChanged={refreshUser} />
      ) : (
        <Offline api={api} tasks={tasks} lastFolder={lastFolder} />
      )}
      <UploadPanel />
      {appPasswordsOpen && <AppPasswordsDialog api={api} onClose={() => setAppPasswordsOpen(false)} />}
    </div>
  );
}
