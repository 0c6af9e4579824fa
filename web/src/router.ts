// Follows the address bar (History API); the server answers index.html for these paths.
import { useEffect, useState } from 'preact/hooks';
import { hrefFor, routeFromLocation, type Route } from './routes.js';

export { hrefFor, joinPath, parentOf, type Route } from './routes.js';

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
