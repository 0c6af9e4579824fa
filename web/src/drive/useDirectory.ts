// A folder's entries, a page at a time (infinite scroll asks for the next page), in the chosen
// order. Answers to an older path or order are dropped when they arrive late.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { FileObject, SortOrder } from '../api/types.js';

export const PAGE_SIZE = 100;

export interface Directory {
  entries: FileObject[];
  totalCount: number;
  loading: boolean;
  error: unknown;
  hasMore: boolean;
  loadMore(): void;
  reload(): void;
}

export function useDirectory(api: Api, path: string, order: SortOrder, onlyDirectories = false): Directory {
  const [entries, setEntries] = useState<FileObject[]>([]);
  const [totalCount, setTotalCount] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [reloads, setReloads] = useState(0);
  const generation = useRef(0);
  const pagesLoaded = useRef(0);
  const busy = useRef(false);

  const fetchPage = useCallback(
    async (page: number, replace: boolean) => {
      const mine = generation.current;
      busy.current = true;
      setLoading(true);
      try {
        const answer = await api.page(path, page, PAGE_SIZE, order, onlyDirectories);
        if (mine !== generation.current) return;
        pagesLoaded.current = page;
        setEntries((old) => (replace ? answer.list : [...old, ...answer.list]));
        setTotalCount(answer.totalCount);
        setError(null);
      } catch (err) {
        if (mine === generation.current) setError(err);
      } finally {
        if (mine === generation.current) {
          busy.current = false;
          setLoading(false);
        }
      }
    },
    [api, path, order.field, order.desc, onlyDirectories],
  );

  useEffect(() => {
    generation.current++;
    pagesLoaded.current = 0;
    void fetchPage(1, true);
  }, [fetchPage, reloads]);

  const reload = useCallback(() => setReloads((n) => n + 1), []);
  const hasMore = entries.length < totalCount;
  return {
    entries,
    totalCount,
    loading,
    error,
    hasMore,
    loadMore() {
      if (!busy.current && hasMore) void fetchPage(pagesLoaded.current + 1, false);
    },
    reload,
  };
}
