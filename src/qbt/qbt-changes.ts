// Adding torrents (links and `.torrent` files) and removing, pausing and resuming them.
import { AppError, isAppError } from '../errors.js';
import type { QbtTasks, QbtServiceDeps } from './qbt-tasks.js';
import { type QbtLabelsPart, checkLabel, joinTags } from './qbt-labels.js';

export interface AddInput {
  /** Magnet links and http(s) links. */
  urls: string[];
  /** Bytes of `.torrent` files. */
  torrents: Buffer[];
  savepath?: string;
  category?: string;
  tags?: string[];
  /** `paused` (4.x) or `stopped` (5.x). */
  paused: boolean;
  rename?: string;
  ratioLimit?: number;
  seedingTimeLimit?: number;
}

export class QbtChanges {
  private readonly d: QbtServiceDeps;

  constructor(
    private readonly tasks: QbtTasks,
    private readonly labels: QbtLabelsPart,
  ) {
    this.d = tasks.d;
  }

  /** The drive folder a torrent added with `savepath` and `category` goes into. */
  async #destination(userId: number, savepath: string | undefined, category: string): Promise<string> {
    if (savepath !== undefined && savepath.trim() !== '') return this.d.paths.toDrive(savepath.trim());
    if (category === '') return '/';
    const own = (await this.d.repo.categories(userId)).get(category);
    return own !== undefined && own !== '' ? this.d.paths.toDrive(own) : `/${category}`;
  }

  /**
   * Starts a task for each link and `.torrent`. A torrent the user already has a task of is
   * that task (its labels are set). Returns how many were added and how many failed.
   */
  async add(userId: number, input: AddInput): Promise<{ added: number; failed: number }> {
    const category = input.category?.trim() ?? '';
    if (category !== '') {
      checkLabel(category, 'category');
      // qBittorrent creates a category a torrent is added with.
      await this.d.repo.createCategory(userId, category, '');
    }
    const tags = input.tags ?? [];
    if (tags.length > 0) await this.labels.createTags(userId, tags);
    const savePath = await this.#destination(userId, input.savepath, category);
    const sources: Array<() => Promise<{ taskHash: string }>> = [
      ...input.urls.map((url) => () => this.#parseLink(userId, url)),
      ...input.torrents.map((bytes) => () => this.d.offline.parseTorrentBytes(userId, bytes)),
    ];
    let added = 0;
    let failed = 0;
    for (const parse of sources) {
      try {
        const { taskHash } = await parse();
        const taskId = await this.#start(userId, taskHash, savePath, input.rename);
        await this.d.repo.setLabels(userId, [taskId], {
          category,
          tags: joinTags(tags),
          ...(input.ratioLimit !== undefined ? { ratio_limit: input.ratioLimit } : {}),
          ...(input.seedingTimeLimit !== undefined ? { seeding_time_limit: input.seedingTimeLimit } : {}),
        });
        if (input.paused) await this.d.offline.pause(userId, taskId);
        added++;
      } catch (err) {
        if (!isAppError(err) || err.status >= 500) throw err;
        failed++;
      }
    }
    return { added, failed };
  }

  /** A magnet link, or an http(s) link to a `.torrent` (or to a magnet link). */
  async #parseLink(userId: number, url: string): Promise<{ taskHash: string }> {
    let link = url;
    if (/^https?:/i.test(url)) {
      const fetched = await this.d.fetchTorrentLink(url);
      if ('torrent' in fetched) return this.d.offline.parseTorrentBytes(userId, fetched.torrent);
      link = fetched.magnet;
    }
    if (!link.toLowerCase().startsWith('magnet:')) throw new AppError('URL_INVALID', 'A magnet link or an http(s) link to a .torrent file.');
    const parsed = await this.d.offline.parseUrl(userId, link);
    if (Array.isArray(parsed)) throw new AppError('URL_INVALID', 'One link per line.');
    return parsed;
  }

  /** The task started from `taskHash`, or the user's task of that torrent when there is one. */
  async #start(userId: number, taskHash: string, savePath: string, rename: string | undefined): Promise<string> {
    try {
      return (await this.d.offline.start(userId, { taskHash, files: '*', savePath, name: rename?.trim() || null })).taskId;
    } catch (err) {
      const existing = isAppError(err) && err.code === 'TASK_EXISTS' ? (err.details as { taskId?: unknown } | null)?.taskId : undefined;
      if (typeof existing === 'string') return existing;
      throw err;
    }
  }

  async remove(userId: number, hashes: string, deleteFiles: boolean): Promise<void> {
    const tasks = await this.tasks.tasksOf(userId, hashes);
    if (tasks.length > 0)
      await this.d.offline.remove(
        userId,
        tasks.map((t) => t.taskId),
        deleteFiles,
      );
  }

  async pause(userId: number, hashes: string): Promise<void> {
    const tasks = (await this.tasks.tasksOf(userId, hashes)).filter((t) => t.status !== 5 && t.status !== 100 && t.status !== -1);
    if (tasks.length > 0)
      await this.d.offline.pause(
        userId,
        tasks.map((t) => t.taskId),
      );
  }

  async resume(userId: number, hashes: string): Promise<void> {
    const tasks = (await this.tasks.tasksOf(userId, hashes)).filter((t) => t.status === 5 || t.status === -1);
    if (tasks.length > 0)
      await this.d.offline.resume(
        userId,
        tasks.map((t) => t.taskId),
      );
  }
}
