// The user's tasks as the qBittorrent API names them: all of them, as torrents, by hash.
import { AppError } from '../errors.js';
import type { OfflineService, TaskObject } from '../offline/index.js';
import type { QbtRepo } from './qbt.repo.js';
import type { TorrentLink } from './torrent-link.js';
import { hashOf, type QbtPaths, type QbtTorrent, torrentOf } from './torrent-view.js';

/** Tasks read per page when the API looks at all of a user's tasks. */
export const LIST_PAGE = 500;

export interface QbtServiceDeps {
  offline: OfflineService;
  repo: QbtRepo;
  paths: QbtPaths;
  /** The user a name and password log in, or undefined. */
  authenticate: (name: string, password: string, ip: string) => Promise<number | undefined>;
  /** Fetches an http(s) torrent link: the `.torrent`, or the magnet link it redirects to. */
  fetchTorrentLink: (url: string) => Promise<TorrentLink>;
  /** Whether the BitTorrent DHT is on (Sonarr refuses magnet links without trackers when it is not). */
  dht: boolean;
}

/** Looks a user's tasks up by the hashes qBittorrent clients name them by. */
export class QbtTasks {
  constructor(readonly d: QbtServiceDeps) {}

  async allTasks(userId: number): Promise<TaskObject[]> {
    const out: TaskObject[] = [];
    for (let start = 0; ; start += LIST_PAGE) {
      const page = await this.d.offline.list(userId, { start, size: LIST_PAGE, order: -1 });
      out.push(...page.list);
      if (page.list.length < LIST_PAGE || out.length >= page.totalCount) return out;
    }
  }

  async torrents(userId: number): Promise<{ tasks: Map<string, TaskObject>; torrents: QbtTorrent[] }> {
    const [tasks, labels] = await Promise.all([this.allTasks(userId), this.d.repo.labels(userId)]);
    const byHash = new Map<string, TaskObject>();
    const torrents: QbtTorrent[] = [];
    const now = Date.now();
    for (const task of tasks) {
      byHash.set(hashOf(task), task);
      const content = await this.d.offline.contentPath(userId, task.taskId).catch(() => null);
      torrents.push(torrentOf(task, labels.get(task.taskId), this.d.paths, content?.path ?? null, now));
    }
    return { tasks: byHash, torrents };
  }

  /** The tasks `hashes` names ("all", or hashes separated by `|`); unknown hashes are skipped, as qBittorrent does. */
  async tasksOf(userId: number, hashes: string): Promise<TaskObject[]> {
    const all = await this.allTasks(userId);
    if (hashes.trim().toLowerCase() === 'all') return all;
    const wanted = new Set(
      hashes
        .split('|')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    );
    return all.filter((t) => wanted.has(hashOf(t)));
  }

  async task(userId: number, hash: string): Promise<TaskObject> {
    const wanted = hash.trim().toLowerCase();
    const found = (await this.allTasks(userId)).find((t) => hashOf(t) === wanted);
    if (found === undefined) throw new AppError('TASK_NOT_FOUND', 'Torrent hash was not found');
    return found;
  }
}
