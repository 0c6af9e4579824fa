// Infinite scroll for a long list: put the returned ref on an empty element after the last
// item, and `loadMore` is called when that element comes within 400px of the viewport.
import { useEffect, useRef } from 'preact/hooks';

export function useLoadMoreOnScroll(loadMore: () => void, itemCount: number) {
  const sentinel = useRef<HTMLDivElement>(null);
  // The observer calls whatever the latest `loadMore` is, so it need not be rebuilt for it.
  const latest = useRef(loadMore);
  latest.current = loadMore;
  // Observed again when the list grows or shrinks: a new observer reports at once, so a page
  // too short to push the sentinel out of view still asks for the next one.
  useEffect(() => {
    const target = sentinel.current;
    if (!target || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver(
      (items) => {
        if (items.some((item) => item.isIntersecting)) latest.current();
      },
      { rootMargin: '400px' },
    );
    observer.observe(target);
    return () => observer.disconnect();
  }, [itemCount]);
  return sentinel;
}
