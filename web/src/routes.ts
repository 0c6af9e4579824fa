// Where the user is, in the address bar: `/` and `/drive/<folder path>` for the drive,
// `/offline` for the task list, `/offline/<task id>/play/<index>` to play a task's file while it downloads, `/admin` for the admin console, `/shares` and `/s/<id>` for share
// links, `/trash` for the recycle bin, `/view/<file path>` for a file's viewer (a shareable address). Pure (unit-tested in Node);
// router.ts follows the address bar.

export type Route =
  | { view: 'drive'; path: string }
  | { view: 'file'; path: string }
  | { view: 'offline' }
  | { view: 'play'; taskId: string; index: number | null }
  | { view: 'admin' }
  | { view: 'shares' }
  | { view: 'share'; id: string }
  | { view: 'trash' };

const DRIVE_PREFIX = '/drive';
const VIEW_PREFIX = '/view';

function pathAfter(prefix: string, pathname: string): string {
  const segments = pathname
    .slice(prefix.length)
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return `/${segments.join('/')}`;
}

function under(prefix: string, pathname: string): boolean {
  return pathname === prefix || pathname.startsWith(`${prefix}/`);
}

export function routeFromLocation(pathname: string): Route {
  if (pathname === '/offline') return { view: 'offline' };
  // A task's files played while it downloads: /offline/<task id>/play[/<file index>].
  const play = /^\/offline\/([0-9a-f]{32})\/play(?:\/(\d{1,9}))?\/?$/.exec(pathname);
  if (play) return { view: 'play', taskId: play[1], index: play[2] === undefined ? null : Number(play[2]) };
  if (pathname === '/trash') return { view: 'trash' };
  if (pathname === '/admin') return { view: 'admin' };
  if (pathname === '/shares') return { view: 'shares' };
  // A share's public page: /s/<id>, opened without an account.
  const share = /^\/s\/([A-Za-z0-9]+)\/?$/.exec(pathname);
  if (share) return { view: 'share', id: share[1] };
  if (under(DRIVE_PREFIX, pathname)) return { view: 'drive', path: pathAfter(DRIVE_PREFIX, pathname) };
  if (under(VIEW_PREFIX, pathname)) {
    const path = pathAfter(VIEW_PREFIX, pathname);
    return path === '/' ? { view: 'drive', path } : { view: 'file', path };
  }
  return { view: 'drive', path: '/' };
}

export function hrefFor(route: Route): string {
  if (route.view === 'offline') return '/offline';
  if (route.view === 'play') return `/offline/${route.taskId}/play${route.index === null ? '' : `/${route.index}`}`;
  if (route.view === 'trash') return '/trash';
  if (route.view === 'admin') return '/admin';
  if (route.view === 'shares') return '/shares';
  if (route.view === 'share') return `/s/${route.id}`;
  const encoded = route.path.split('/').map(encodeURIComponent).join('/');
  if (route.view === 'file') return VIEW_PREFIX + encoded;
  if (route.path === '/') return '/';
  return DRIVE_PREFIX + encoded;
}

export function joinPath(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

export function parentOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? '/' : path.slice(0, at);
}
