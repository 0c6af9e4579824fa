// Where the user is, in the address bar: `/` and `/drive/<folder path>` for the drive,
// `/view/<file path>` for a file's viewer (a shareable address), `/offline` for the task list.
// Pure (unit-tested in Node); router.ts follows the address bar.

export type Route = { view: 'drive'; path: string } | { view: 'file'; path: string } | { view: 'offline' };

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
  if (under(DRIVE_PREFIX, pathname)) return { view: 'drive', path: pathAfter(DRIVE_PREFIX, pathname) };
  if (under(VIEW_PREFIX, pathname)) {
    const path = pathAfter(VIEW_PREFIX, pathname);
    return path === '/' ? { view: 'drive', path } : { view: 'file', path };
  }
  return { view: 'drive', path: '/' };
}

export function hrefFor(route: Route): string {
  if (route.view === 'offline') return '/offline';
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
