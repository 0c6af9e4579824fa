// Where the user is, in the address bar: `/` and `/drive/<folder path>` for the drive,
// `/offline` for the task list. The server answers index.html for these (SPA fallback).
import { useEffect, useState } from 'preact/hooks';

export type Route = { view: 'drive'; path: string } | { view: 'offline' };

const DRIVE_PREFIX = '/drive';

export function routeFromLocation(pathname: string): Route {
  if (pathname === '/offline') return { view: 'offline' };
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
  if (route.path === '/') return '/';
  return DRIVE_PREFIX + route.path.split('/').map(encodeURIComponent).join('/');
}

const listeners = new Set<() => void>();

export function navigate(route: Route): void {
  const href = hrefFor(route);
  if (href !== location.pathname) history.pushState(null, '', href);
  for (const listener of listeners) listener();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeFromLocation(location.pathname));
  useEffect(() => {
    const update = () => setRoute(routeFromLocation(location.pathname));
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** A link that navigates in place (and still works with a middle click or "open in new tab"). */
export function onLinkClick(route: Route) {
  return (event: MouseEvent) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(route);
  };
}

export function joinPath(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

export function parentOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? '/' : path.slice(0, at);
}
