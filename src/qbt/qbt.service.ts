import { AppError, isAppError } from '../errors.js';
import type { OfflineService, TaskObject } from '../offline/index.js';
import { mainData, type Fields, type MainData, type SyncSnapshot } from './maindata.js';
import type { QbtLabels, QbtRepo } from './qbt.repo.js';
import type { QbtSession } from './sessions.js';
import type { TorrentLink } from './torrent-link.js';
import { hashOf, type QbtPaths, type QbtState, type QbtTorrent, torrentOf } from './torrent-view.js';

// The qBittorrent Web API over openpan's own offline tasks: every torrent a client sees is a
// task of the user (`/v1/offline/*` and the web UI show the same ones), every change it makes
// is a call of OfflineService. Categories, tags and share limits are this API's own labels.

/** The qBittorrent version and Web API version this API answers as (4.6's: states `pausedDL`/`pausedUP`). */
export const QBT_VERSION = 'v4.6.7';
export const QBT_WEBAPI_VERSION = '2.9.3';

/** Tasks read per page when the API looks at all of a user's tasks. */
const LIST_PAGE = 500;

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

export interface InfoQuery {
  filter?: string;
  /** undefined: any; "": none. */
  category?: string;
  tag?: string;
  hashes?: string;
  sort?: string;
  reverse?: boolean;
  limit?: number;
  offset?: number;
}

export interface TorrentFileInfo {
  index: number;
  name: string;
  size: number;
  progress: number;
  priority: number;
  is_seed: boolean;
  piece_range: [number, number];
  availability: number;
}

const DOWNLOADING_STATES: ReadonlySet<QbtState> = new Set(['downloading', 'metaDL', 'stalledDL', 'pausedDL', 'queuedDL', 'moving']);
const SEEDING_STATES: ReadonlySet<QbtState> = new Set(['uploading', 'stalledUP']);
const COMPLETED_STATES: ReadonlySet<QbtState> = new Set(['uploading', 'stalledUP', 'pausedUP']);
const PAUSED_STATES: ReadonlySet<QbtState> = new Set(['pausedDL', 'pausedUP']);

function matchesFilter(t: QbtTorrent, filter: string): boolean {
  switch (filter) {
    case 'downloading':
      return DOWNLOADING_STATES.has(t.state);
    case 'seeding':
      return SEEDING_STATES.has(t.state);
    case 'completed':
      return COMPLETED_STATES.has(t.state);
    case 'paused':
    case 'stopped':
      return PAUSED_STATES.has(t.state);
    case 'resumed':
    case 'running':
      return !PAUSED_STATES.has(t.state);
    case 'active':
      return t.dlspeed > 0 || t.upspeed > 0;
    case 'inactive':
      return t.dlspeed === 0 && t.upspeed === 0;
    case 'stalled':
      return t.state === 'stalledDL' || t.state === 'stalledUP';
    case 'stalled_uploading':
      return t.state === 'stalledUP';
    case 'stalled_downloading':
      return t.state === 'stalledDL';
    case 'errored':
      return t.state === 'error' || t.state === 'missingFiles';
    default:
      return true;
  }
}

/** A category or tag name qBittorrent would take: no empty name, no line breaks; a tag without commas. */
function checkLabel(name: string, what: 'category' | 'tag'): string {
  const trimmed = name.trim();
  if (trimmed === '' || /[\r\n]/.test(trimmed) || (what === 'tag' && trimmed.includes(',')) || trimmed.length > 255)
    throw new AppError('BAD_REQUEST', `Invalid ${what} name "${name}".`);
  if (what === 'category' && (trimmed.startsWith('/') || trimmed.endsWith('/') || trimmed.includes('//')))
    throw new AppError('BAD_REQUEST', `Invalid category name "${name}".`);
  return trimmed;
}

/** A `tags` field: comma-separated names. */
export function splitTags(field: string | undefined): string[] {
  if (field === undefined) return [];
  return [...new Set(field.split(',').map((t) => t.trim()))].filter((t) => t !== '');
}

function joinTags(tags: Iterable<string>): string {
  return [...new Set(tags)].sort().join(', ');
}

function labelTags(labels: QbtLabels | undefined): string[] {
  return splitTags(labels?.tags);
}

export class QbtService {
  constructor(private readonly d: QbtServiceDeps) {}

  get paths(): QbtPaths {
    return this.d.paths;
  }

  // ---- auth ----

  login(name: string, password: string, ip: string): Promise<number | undefined> {
    return this.d.authenticate(name, password, ip);
  }

  // ---- reading ----

  async #allTasks(userId: number): Promise<TaskObject[]> {
    const out: TaskObject[] = [];
    for (let start = 0; ; start += LIST_PAGE) {
      const page = await this.d.offline.list(userId, { start, size: LIST_PAGE, order: -1 });
      out.push(...page.list);
      if (page.list.length < LIST_PAGE || out.length >= page.totalCount) return out;
    }
  }

  async #torrents(userId: number): Promise<{ tasks: Map<string, TaskObject>; torrents: QbtTorrent[] }> {
    const [tasks, labels] = await Promise.all([this.#allTasks(userId), this.d.repo.labels(userId)]);
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
  async #tasksOf(userId: number, hashes: string): Promise<TaskObject[]> {
    const all = await this.#allTasks(userId);
    if (hashes.trim().toLowerCase() === 'all') return all;
    const wanted = new Set(
      hashes
        .split('|')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    );
    return all.filter((t) => wanted.has(hashOf(t)));
  }

  async #task(userId: number, hash: string): Promise<TaskObject> {
    const wanted = hash.trim().toLowerCase();
    const found = (await this.#allTasks(userId)).find((t) => hashOf(t) === wanted);
    if (found === undefined) throw new AppError('TASK_NOT_FOUND', 'Torrent hash was not found');
    return found;
  }

  async info(userId: number, q: InfoQuery): Promise<QbtTorrent[]> {
    let list = (await this.#torrents(userId)).torrents;
    if (q.filter !== undefined && q.filter !== '') list = list.filter((t) => matchesFilter(t, q.filter!));
    if (q.category !== undefined) list = list.filter((t) => t.category === q.category);
    if (q.tag !== undefined) list = list.filter((t) => (q.tag === '' ? t.tags === '' : splitTags(t.tags).includes(q.tag!)));
    if (q.hashes !== undefined && q.hashes !== '') {
      const wanted = new Set(q.hashes.split('|').map((h) => h.trim().toLowerCase()));
      list = list.filter((t) => wanted.has(t.hash));
    }
    if (q.sort !== undefined && q.sort !== '') {
      const key = q.sort as keyof QbtTorrent;
      list = [...list].sort((a, b) => {
        const x = a[key];
        const y = b[key];
        return typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      });
    }
    if (q.reverse) list = [...list].reverse();
    const offset = q.offset ?? 0;
    const from = offset < 0 ? Math.max(0, list.length + offset) : offset;
    const limit = q.limit !== undefined && q.limit > 0 ? q.limit : undefined;
    return list.slice(from, limit === undefined ? undefined : from + limit);
  }

  async properties(userId: number, hash: string): Promise<Fields> {
    const task = await this.#task(userId, hash);
    const t = (await this.info(userId, { hashes: hashOf(task) }))[0];
    return {
      save_path: t.save_path,
      download_path: '',
      creation_date: t.added_on,
      piece_size: 0,
      comment: '',
      total_wasted: 0,
      total_uploaded: 0,
      total_uploaded_session: 0,
      total_downloaded: t.downloaded,
      total_downloaded_session: t.downloaded_session,
      up_limit: -1,
      dl_limit: -1,
      time_elapsed: t.time_active,
      seeding_time: 0,
      nb_connections: t.num_seeds,
      nb_connections_limit: -1,
      share_ratio: 0,
      addition_date: t.added_on,
      completion_date: t.completion_on,
      created_by: '',
      dl_speed_avg: t.time_active > 0 ? Math.floor(t.downloaded / t.time_active) : 0,
      dl_speed: t.dlspeed,
      eta: t.eta,
      last_seen: t.seen_complete,
      peers: 0,
      peers_total: 0,
      pieces_have: 0,
      pieces_num: 0,
      reannounce: 0,
      seeds: t.num_seeds,
      seeds_total: t.num_complete,
      total_size: t.size,
      up_speed_avg: 0,
      up_speed: 0,
      isPrivate: false,
      is_private: false,
      hash: t.hash,
      infohash_v1: t.infohash_v1,
      infohash_v2: '',
      name: t.name,
    };
  }

  async files(userId: number, hash: string): Promise<TorrentFileInfo[]> {
    const task = await this.#task(userId, hash);
    const detail = await this.d.offline.get(userId, task.taskId);
    const content = await this.d.offline.contentPath(userId, task.taskId);
    // qBittorrent names a multi-file torrent's files with its folder first.
    const folder = content?.isFolder ? content.path.slice(content.path.lastIndexOf('/') + 1) : null;
    return detail.detail.map((f) => ({
      index: f.index,
      name: folder === null ? f.path : `${folder}/${f.path}`,
      size: f.size,
      progress: f.size > 0 ? f.finishedSize / f.size : f.status === 100 ? 1 : 0,
      priority: 1,
      is_seed: f.status === 100,
      piece_range: [0, 0],
      availability: f.status === 100 ? 1 : task.peers > 0 ? 1 : 0,
    }));
  }

  async trackers(userId: number, hash: string): Promise<Fields[]> {
    const task = await this.#task(userId, hash);
    const pseudo = (url: string, status: number) => ({ url, status, tier: -1, num_peers: 0, num_seeds: 0, num_leeches: 0, num_downloaded: 0, msg: '' });
    const rows: Fields[] = [pseudo('** [DHT] **', this.d.dht ? 2 : 0), pseudo('** [PeX] **', 2), pseudo('** [LSD] **', 0)];
    if (task.url.startsWith('magnet:')) {
      const params = new URLSearchParams(task.url.slice(task.url.indexOf('?') + 1));
      params.getAll('tr').forEach((url, tier) => {
        rows.push({
          url,
          status: task.status === 100 ? 1 : 2,
          tier,
          num_peers: task.peers,
          num_seeds: task.peers,
          num_leeches: 0,
          num_downloaded: -1,
          msg: '',
        });
      });
    }
    return rows;
  }

  async transferInfo(userId: number): Promise<Fields> {
    const torrents = (await this.#torrents(userId)).torrents;
    return {
      dl_info_speed: torrents.reduce((s, t) => s + t.dlspeed, 0),
      dl_info_data: torrents.reduce((s, t) => s + t.downloaded_session, 0),
      up_info_speed: 0,
      up_info_data: 0,
      dl_rate_limit: 0,
      up_rate_limit: 0,
      dht_nodes: 0,
      connection_status: 'connected',
    };
  }

  preferences(): Fields {
    const savePath = `${this.d.paths.toClient('/').replace(/\/$/, '')}/`;
    return {
      locale: 'en',
      save_path: savePath,
      temp_path_enabled: false,
      temp_path: '',
      create_subfolder_enabled: true,
      torrent_content_layout: 'Original',
      start_paused_enabled: false,
      auto_tmm_enabled: false,
      dht: this.d.dht,
      pex: true,
      lsd: false,
      queueing_enabled: false,
      max_active_downloads: -1,
      max_active_torrents: -1,
      max_active_uploads: -1,
      max_ratio_enabled: false,
      max_ratio: -1,
      max_seeding_time_enabled: false,
      max_seeding_time: -1,
      max_inactive_seeding_time_enabled: false,
      max_inactive_seeding_time: -1,
      max_ratio_act: 0,
      dl_limit: 0,
      up_limit: 0,
      web_ui_address: '*',
      bypass_local_auth: false,
      bypass_auth_subnet_whitelist_enabled: false,
    };
  }

  defaultSavePath(): string {
    return this.d.paths.toClient('/');
  }

  // ---- categories and tags ----

  async categories(userId: number): Promise<Record<string, { name: string; savePath: string }>> {
    const out: Record<string, { name: string; savePath: string }> = {};
    for (const [name, savePath] of await this.d.repo.categories(userId)) out[name] = { name, savePath };
    return out;
  }

  async createCategory(userId: number, name: string, savePath: string): Promise<void> {
    const category = checkLabel(name, 'category');
    if (!(await this.d.repo.createCategory(userId, category, savePath.trim()))) throw new AppError('CATEGORY_EXISTS', `Category "${category}" exists already.`);
  }

  async editCategory(userId: number, name: string, savePath: string): Promise<void> {
    if (!(await this.d.repo.editCategory(userId, name, savePath.trim()))) throw new AppError('CATEGORY_NOT_FOUND', `Category "${name}" does not exist.`);
  }

  async removeCategories(userId: number, names: string[]): Promise<void> {
    await this.d.repo.removeCategories(userId, names.map((n) => n.trim()).filter(Boolean));
  }

  async setCategory(userId: number, hashes: string, category: string): Promise<void> {
    const name = category.trim();
    if (name !== '' && !(await this.d.repo.categories(userId)).has(name)) throw new AppError('CATEGORY_NOT_FOUND', `Category "${name}" does not exist.`);
    const tasks = await this.#tasksOf(userId, hashes);
    await this.d.repo.setLabels(
      userId,
      tasks.map((t) => t.taskId),
      { category: name },
    );
  }

  tags(userId: number): Promise<string[]> {
    return this.d.repo.tags(userId);
  }

  async createTags(userId: number, tags: string[]): Promise<void> {
    await this.d.repo.createTags(
      userId,
      tags.map((t) => checkLabel(t, 'tag')),
    );
  }

  async deleteTags(userId: number, tags: string[]): Promise<void> {
    await this.d.repo.deleteTags(userId, tags);
    const labels = await this.d.repo.labels(userId);
    for (const [taskId, l] of labels) {
      const left = labelTags(l).filter((t) => !tags.includes(t));
      if (left.length !== labelTags(l).length) await this.d.repo.setLabels(userId, [taskId], { tags: joinTags(left) });
    }
  }

  /** Adds `tags` to the tasks (creating the tags that do not exist, as qBittorrent does). */
  async addTags(userId: number, hashes: string, tags: string[]): Promise<void> {
    await this.createTags(userId, tags);
    const labels = await this.d.repo.labels(userId);
    for (const task of await this.#tasksOf(userId, hashes)) {
      await this.d.repo.setLabels(userId, [task.taskId], { tags: joinTags([...labelTags(labels.get(task.taskId)), ...tags]) });
    }
  }

  /** Takes `tags` off the tasks; none given: every tag. */
  async removeTags(userId: number, hashes: string, tags: string[]): Promise<void> {
    const labels = await this.d.repo.labels(userId);
    for (const task of await this.#tasksOf(userId, hashes)) {
      const left = tags.length === 0 ? [] : labelTags(labels.get(task.taskId)).filter((t) => !tags.includes(t));
      await this.d.repo.setLabels(userId, [task.taskId], { tags: joinTags(left) });
    }
  }

  async setShareLimits(userId: number, hashes: string, ratioLimit: number, seedingTimeLimit: number): Promise<void> {
    const tasks = await this.#tasksOf(userId, hashes);
    await this.d.repo.setLabels(
      userId,
      tasks.map((t) => t.taskId),
      { ratio_limit: ratioLimit, seeding_time_limit: seedingTimeLimit },
    );
  }

  // ---- adding and changing ----

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
    if (tags.length > 0) await this.createTags(userId, tags);
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
    const tasks = await this.#tasksOf(userId, hashes);
    if (tasks.length > 0)
      await this.d.offline.remove(
        userId,
        tasks.map((t) => t.taskId),
        deleteFiles,
      );
  }

  async pause(userId: number, hashes: string): Promise<void> {
    const tasks = (await this.#tasksOf(userId, hashes)).filter((t) => t.status !== 5 && t.status !== 100 && t.status !== -1);
    if (tasks.length > 0)
      await this.d.offline.pause(
        userId,
        tasks.map((t) => t.taskId),
      );
  }

  async resume(userId: number, hashes: string): Promise<void> {
    const tasks = (await this.#tasksOf(userId, hashes)).filter((t) => t.status === 5 || t.status === -1);
    if (tasks.length > 0)
      await this.d.offline.resume(
        userId,
        tasks.map((t) => t.taskId),
      );
  }

  // ---- sync ----

  async mainData(userId: number, session: QbtSession, rid: number): Promise<MainData> {
    const { torrents } = await this.#torrents(userId);
    const categories = await this.categories(userId);
    const transfer = await this.transferInfo(userId);
    const next: SyncSnapshot = {
      torrents: new Map(torrents.map(({ hash, ...fields }) => [hash, fields as Fields])),
      categories: new Map(Object.entries(categories)),
      tags: await this.tags(userId),
      serverState: { ...transfer, free_space_on_disk: 0, queueing: false, use_alt_speed_limits: false, refresh_interval: 1500 },
    };
    const prev = session.sync !== null && session.sync.rid === rid && rid !== 0 ? session.sync.snapshot : null;
    const nextRid = (session.sync?.rid ?? 0) + 1;
    session.sync = { rid: nextRid, snapshot: next };
    return mainData(nextRid, prev, next);
  }
}
