// Where the user is, in the address bar: `/` and `/drive/<folder path>` for the drive,
// `/offline` for the task list, `/trash` for the recycle bin. Pure (unit-tested in Node); router.ts follows the address bar.

export type Route = { view: 'drive'; path: string } | { view: 'offline' } | { view: 'trash' };

const DRIVE_PREFIX = '/drive';

export function routeFromLocation(pathname: string): Route {
  if (pathname === '/offline') return { view: 'offline' };
  if (pathname === '/trash') return { view: 'trash' };
  if (pathname === DRIVE_PREFIX || pathname.startsWith(`${DRIVE_PREFIX}/`)) {
    const segments = pathname
      .slice(DRIVE_PREFIX.length)
      .split('/')
      .filter(Boolean)
      .map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return s;
        }
      });
    return { view: 'drive', path: `/${segments.join('/')}` };
  }
  return { view: 'drive', path: '/' };
}

export function hrefFor(route: Route): string {
  if (route.view === 'offline') return '/offline';
  if (route.view === 'trash') return '/trash';
  if (route.path === '/') return '/';
  return DRIVE_PREFIX + route.path.split('/').map(encodeURIComponent).join('/');
}

export function joinPath(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

export function parentOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? '/' : path.slice(0, at);
}
