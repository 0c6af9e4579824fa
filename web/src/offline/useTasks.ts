// The user's offline tasks, kept live: the newest page from /v1/offline/list, older pages as
// the list is scrolled (loadMore), then Server-Sent Events from /v1/offline/events (`task`
// carries a whole task object, `remove` a taskId). Where the stream is unavailable, the loaded
// tasks are read again every few seconds while one is still active, and the stream is tried
// again now and then.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { TASK_DONE, TASK_FAILED, type TaskObject } from '../api/types.js';

const PAGE_SIZE = 100;
const FALLBACK_POLL_MS = 3000;
const STREAM_RETRY_MS = 30_000;

export interface Tasks {
  /** The loaded tasks, newest first. */
  tasks: TaskObject[];
  /** How many tasks the user has in all, loaded or not. */
  totalCount: number;
  hasMore: boolean;
  /** Asks for the next older page (ignored while a read is under way). */
  loadMore(): void;
  /** True while the event stream is connected. */
  live: boolean;
  loading: boolean;
  upsert(task: TaskObject): void;
  /** Adds a task the page itself started, unless the event stream already brought a newer copy. */
  add(task: TaskObject): void;
  drop(taskIds: string[]): void;
}

/**
 * Always the newest `byId.size` tasks of the user (events keep it so), which lets the next
 * page be read from offset `byId.size`: tasks added or removed meanwhile shift no boundary.
 */
interface Loaded {
  byId: Map<string, TaskObject>;
  /** The server's count at the last read, followed by the events since. */
  totalCount: number;
}

export function isActive(task: TaskObject): boolean {
  return task.status !== TASK_DONE && task.status !== TASK_FAILED;
}

function byNewest(a: TaskObject, b: TaskObject): number {
  return b.createTime - a.createTime || b.taskId.localeCompare(a.taskId);
}

function olderThanAll(task: TaskObject, byId: Map<string, TaskObject>): boolean {
  for (const other of byId.values()) if (byNewest(task, other) < 0) return false;
  return true;
}

/** `loaded` with `task` in it; `replace` says whether a copy already held gives way. */
function withTask(loaded: Loaded, task: TaskObject, replace: boolean): Loaded {
  const known = loaded.byId.has(task.taskId);
  if (known && !replace) return loaded;
  // An older task's event (a resumed one, say) before its page is read: that page brings it.
  if (!known && loaded.byId.size < loaded.totalCount && olderThanAll(task, loaded.byId)) return loaded;
  return { byId: new Map(loaded.byId).set(task.taskId, task), totalCount: loaded.totalCount + (known ? 0 : 1) };
}

export function useTasks(api: Api, token: string): Tasks {
  const [loaded, setLoaded] = useState<Loaded>({ byId: new Map(), totalCount: 0 });
  const [live, setLive] = useState(false);
  const [loading, setLoading] = useState(true);
  const active = useRef(false);
  // What the last render showed, for reads started from callbacks.
  const shown = useRef(loaded);
  // A full re-read bumps the generation, so a page read that was under way is not merged in.
  const generation = useRef(0);
  const busy = useRef(false);

  /** Reads as many tasks as are shown (at least a page) from the top again, and shows those. */
  const rereadAll = useCallback(async () => {
    const mine = ++generation.current;
    busy.current = true;
    try {
      const byId = new Map<string, TaskObject>();
      let totalCount = 0;
      do {
        const answer = await api.tasks(byId.size, PAGE_SIZE);
        for (const task of answer.list) byId.set(task.taskId, task);
        totalCount = answer.totalCount;
        if (answer.list.length < PAGE_SIZE) break;
      } while (byId.size < shown.current.byId.size);
      if (mine === generation.current) setLoaded({ byId, totalCount });
    } finally {
      if (mine === generation.current) {
        busy.current = false;
        setLoading(false);
      }
    }
  }, [api]);

  const fetchMore = useCallback(() => {
    if (busy.current) return;
    const mine = generation.current;
    const before = shown.current;
    busy.current = true;
    setLoading(true);
    api
      .tasks(before.byId.size, PAGE_SIZE)
      .then((answer) => {
        if (mine !== generation.current) return;
        setLoaded((old) => {
          // Tasks that arrived meanwhile may repeat the head of this page: the held copy stays.
          const byId = new Map(old.byId);
          for (const task of answer.list) if (!byId.has(task.taskId)) byId.set(task.taskId, task);
          // The server's count plus the events that came while the read was under way (one
          // counted twice at worst: the next read corrects it; never one too few).
          return { byId, totalCount: answer.totalCount + old.totalCount - before.totalCount };
        });
      })
      .catch(() => {}) // the Load more button stays, to try again
      .finally(() => {
        if (mine === generation.current) {
          busy.current = false;
          setLoading(false);
        }
      });
  }, [api]);

  const upsert = useCallback((task: TaskObject) => setLoaded((old) => withTask(old, task, true)), []);
  const add = useCallback((task: TaskObject) => setLoaded((old) => withTask(old, task, false)), []);

  const drop = useCallback((taskIds: string[]) => {
    setLoaded((old) => {
      const byId = new Map(old.byId);
      // Only held tasks are counted off: the page's own removal is announced by the stream too.
      for (const id of taskIds) byId.delete(id);
      return { byId, totalCount: old.totalCount - (old.byId.size - byId.size) };
    });
  }, []);

  useEffect(() => {
    if (!token) return;
    let stopped = false;
    let stream: EventSource | null = null;
    let pollTimer: ReturnType<typeof setTimeout> | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;

    const poll = () => {
      pollTimer = setTimeout(async () => {
        if (stopped || stream) return;
        if (active.current) await rereadAll().catch(() => {});
        poll();
      }, FALLBACK_POLL_MS);
    };

    const connect = () => {
      if (stopped) return;
      const source = new EventSource(`/v1/offline/events?token=${encodeURIComponent(token)}`);
      stream = source;
      let opened = false;
      source.addEventListener('open', () => {
        setLive(true);
        clearTimeout(pollTimer);
        // Changes made while the stream was down never arrive as events: read the list again
        // after a reconnect (not on the first connection, which follows the initial fetch).
        if (opened) void rereadAll().catch(() => {});
        opened = true;
      });
      source.addEventListener('task', (event) => upsert(JSON.parse((event as MessageEvent<string>).data) as TaskObject));
      source.addEventListener('remove', (event) => drop([(JSON.parse((event as MessageEvent<string>).data) as { taskId: string }).taskId]));
      source.addEventListener('error', () => {
        setLive(false);
        // CONNECTING: the browser reconnects by itself. CLOSED: the server refused the stream.
        if (source.readyState !== EventSource.CLOSED) return;
        stream = null;
        poll();
        retryTimer = setTimeout(connect, STREAM_RETRY_MS);
      });
    };

    setLoading(true);
    rereadAll()
      .catch(() => {})
      .finally(connect);
    return () => {
      stopped = true;
      stream?.close();
      clearTimeout(pollTimer);
      clearTimeout(retryTimer);
    };
  }, [token, rereadAll, upsert, drop]);

  const tasks = [...loaded.byId.values()].sort(byNewest);
  shown.current = loaded;
  active.current = tasks.some(isActive);
  const hasMore = tasks.length < loaded.totalCount;
  return {
    tasks,
    totalCount: loaded.totalCount,
    hasMore,
    loadMore() {
      if (hasMore) fetchMore();
    },
    live,
    loading,
    upsert,
    add,
    drop,
  };
}
