// The user's offline tasks, kept live: one /v1/offline/page fetch, then Server-Sent Events
// from /v1/offline/events (`task` carries a whole task object, `remove` a taskId). Where the
// stream is unavailable, the list is refreshed every few seconds while a task is still active,
// and the stream is tried again now and then.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import { TASK_DONE, TASK_FAILED, type TaskObject } from '../api/types.js';

const PAGE_SIZE = 100;
const FALLBACK_POLL_MS = 3000;
const STREAM_RETRY_MS = 30_000;

export interface Tasks {
  tasks: TaskObject[];
  /** True while the event stream is connected. */
  live: boolean;
  loading: boolean;
  upsert(task: TaskObject): void;
  /** Adds a task the page itself started, unless the event stream already brought a newer copy. */
  add(task: TaskObject): void;
  drop(taskIds: string[]): void;
}

export function isActive(task: TaskObject): boolean {
  return task.status !== TASK_DONE && task.status !== TASK_FAILED;
}

function byNewest(a: TaskObject, b: TaskObject): number {
  return b.createTime - a.createTime || b.taskId.localeCompare(a.taskId);
}

export function useTasks(api: Api, token: string): Tasks {
  const [byId, setById] = useState<Map<string, TaskObject>>(new Map());
  const [live, setLive] = useState(false);
  const [loading, setLoading] = useState(true);
  const active = useRef(false);

  const replaceAll = useCallback(async () => {
    const page = await api.tasks(1, PAGE_SIZE);
    setById(new Map(page.list.map((task) => [task.taskId, task])));
  }, [api]);

  const upsert = useCallback((task: TaskObject) => {
    setById((old) => new Map(old).set(task.taskId, task));
  }, []);

  const add = useCallback((task: TaskObject) => {
    setById((old) => (old.has(task.taskId) ? old : new Map(old).set(task.taskId, task)));
  }, []);

  const drop = useCallback((taskIds: string[]) => {
    setById((old) => {
      const next = new Map(old);
      for (const id of taskIds) next.delete(id);
      return next;
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
        if (active.current) await replaceAll().catch(() => {});
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
        if (opened) void replaceAll().catch(() => {});
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
    replaceAll()
      .catch(() => {})
      .finally(() => {
        setLoading(false);
        connect();
      });
    return () => {
      stopped = true;
      stream?.close();
      clearTimeout(pollTimer);
      clearTimeout(retryTimer);
    };
  }, [token, replaceAll, upsert, drop]);

  const tasks = [...byId.values()].sort(byNewest);
  active.current = tasks.some(isActive);
  return { tasks, live, loading, upsert, add, drop };
}
