import { mainData, type Fields, type MainData, type SyncSnapshot } from './maindata.js';
import type { QbtSession } from './sessions.js';
import { hashOf, type QbtPaths, type QbtState, type QbtTorrent } from './torrent-view.js';
import { QbtTasks, type QbtServiceDeps } from './qbt-tasks.js';
import { QbtLabelsPart, splitTags } from './qbt-labels.js';
import { QbtChanges, type AddInput } from './qbt-changes.js';

// The qBittorrent Web API over openpan's own offline tasks: every torrent a client sees is a
// task of the user (`/v1/offline/*` and the web UI show the same ones), every change it makes
// is a call of OfflineService. Categories, tags and share limits are this API's own labels.

/** The qBittorrent version and Web API version this API answers as (4.6's: states `pausedDL`/`pausedUP`). */
export type { QbtServiceDeps } from './qbt-tasks.js';
export { splitTags } from './qbt-labels.js';
export type { AddInput } from './qbt-changes.js';

export const QBT_VERSION = 'v4.6.7';
export const QBT_WEBAPI_VERSION = '2.9.3';

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

export class QbtService {
  readonly #tasks: QbtTasks;
  readonly #labels: QbtLabelsPart;
  readonly #changes: QbtChanges;

  constructor(private readonly d: QbtServiceDeps) {
    this.#tasks = new QbtTasks(d);
    this.#labels = new QbtLabelsPart(this.#tasks);
    this.#changes = new QbtChanges(this.#tasks, this.#labels);
  }

  get paths(): QbtPaths {
    return this.d.paths;
  }

  // ---- auth ----

  login(name: string, password: string, ip: string): Promise<number | undefined> {
    return this.d.authenticate(name, password, ip);
  }

  async info(userId: number, q: InfoQuery): Promise<QbtTorrent[]> {
    let list = (await this.#tasks.torrents(userId)).torrents;
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
    const task = await this.#tasks.task(userId, hash);
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
    const task = await this.#tasks.task(userId, hash);
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
    const task = await this.#tasks.task(userId, hash);
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
    const torrents = (await this.#tasks.torrents(userId)).torrents;
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

  // ---- categories and tags (qbt-labels.ts) ----

  categories(userId: number): Promise<Record<string, { name: string; savePath: string }>> {
    return this.#labels.categories(userId);
  }

  createCategory(userId: number, name: string, savePath: string): Promise<void> {
    return this.#labels.createCategory(userId, name, savePath);
  }

  editCategory(userId: number, name: string, savePath: string): Promise<void> {
    return this.#labels.editCategory(userId, name, savePath);
  }

  removeCategories(userId: number, names: string[]): Promise<void> {
    return this.#labels.removeCategories(userId, names);
  }

  setCategory(userId: number, hashes: string, category: string): Promise<void> {
    return this.#labels.setCategory(userId, hashes, category);
  }

  tags(userId: number): Promise<string[]> {
    return this.#labels.tags(userId);
  }

  createTags(userId: number, tags: string[]): Promise<void> {
    return this.#labels.createTags(userId, tags);
  }

  deleteTags(userId: number, tags: string[]): Promise<void> {
    return this.#labels.deleteTags(userId, tags);
  }

  /** Adds `tags` to the tasks (creating the tags that do not exist, as qBittorrent does). */
  addTags(userId: number, hashes: string, tags: string[]): Promise<void> {
    return this.#labels.addTags(userId, hashes, tags);
  }

  /** Takes `tags` off the tasks; none given: every tag. */
  removeTags(userId: number, hashes: string, tags: string[]): Promise<void> {
    return this.#labels.removeTags(userId, hashes, tags);
  }

  setShareLimits(userId: number, hashes: string, ratioLimit: number, seedingTimeLimit: number): Promise<void> {
    return this.#labels.setShareLimits(userId, hashes, ratioLimit, seedingTimeLimit);
  }

  // ---- adding and changing (qbt-changes.ts) ----

  add(userId: number, input: AddInput): Promise<{ added: number; failed: number }> {
    return this.#changes.add(userId, input);
  }

  remove(userId: number, hashes: string, deleteFiles: boolean): Promise<void> {
    return this.#changes.remove(userId, hashes, deleteFiles);
  }

  pause(userId: number, hashes: string): Promise<void> {
    return this.#changes.pause(userId, hashes);
  }

  resume(userId: number, hashes: string): Promise<void> {
    return this.#changes.resume(userId, hashes);
  }

  // ---- sync ----

  async mainData(userId: number, session: QbtSession, rid: number): Promise<MainData> {
    const { torrents } = await this.#tasks.torrents(userId);
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
