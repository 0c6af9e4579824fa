import type { TaskObject } from '../offline/index.js';
import type { QbtLabels } from './qbt.repo.js';

// How an offline task looks to a qBittorrent client: the fields of `torrents/info` (qBittorrent
// 4.6, Web API 2.9), its state among qBittorrent's, and its paths as the client's machine sees
// the drive (under OPENPAN_QBT_PATH_ROOT).

/** Task statuses of API.md (stored and live). */
const FAILED = -1;
const QUEUED = 0;
const PAUSED = 5;
const METADATA = 10;
const DOWNLOADING = 20;
const SAVING = 50;
const DONE = 100;

/** qBittorrent's ETA for "unknown" (100 days). */
export const ETA_UNKNOWN = 8_640_000;

/** Failures that mean the task's destination is gone, which qBittorrent calls missing files. */
const MISSING_FILES_CODES = new Set(['FILE_NOT_FOUND', 'PARENT_NOT_FOUND']);

export type QbtState =
  | 'error'
  | 'missingFiles'
  | 'pausedDL'
  | 'pausedUP'
  | 'queuedDL'
  | 'metaDL'
  | 'downloading'
  | 'stalledDL'
  | 'moving'
  | 'uploading'
  | 'stalledUP';

/** The qBittorrent state of a task. A finished task's files are in the drive: it is complete and idle (stalledUP). */
export function stateOf(task: Pick<TaskObject, 'status' | 'speed' | 'errorCode'>): QbtState {
  switch (task.status) {
    case FAILED:
      return MISSING_FILES_CODES.has(task.errorCode) ? 'missingFiles' : 'error';
    case PAUSED:
      return 'pausedDL';
    case DONE:
      return 'stalledUP';
    case QUEUED:
      return 'queuedDL';
    case METADATA:
      return 'metaDL';
    case DOWNLOADING:
      return task.speed > 0 ? 'downloading' : 'stalledDL';
    // The finished files are moving into the drive.
    case SAVING:
      return 'moving';
    default:
      return 'downloading';
  }
}

/** The client's view of drive paths: `/tv/x` under the root `/mnt/openpan` is `/mnt/openpan/tv/x`. */
export class QbtPaths {
  /** `root` without a trailing slash ("" for `/`). */
  constructor(readonly root: string) {}

  /** A drive path (`/`, `/tv`) as the client sees it. */
  toClient(drivePath: string): string {
    const inner = drivePath === '/' ? '' : drivePath;
    return `${this.root}${inner}` || '/';
  }

  /** A client's save path as a drive path: under the root it is the part below it; any other absolute path is taken as a drive path. */
  toDrive(clientPath: string): string {
    const path = clientPath.replace(/\\/g, '/').replace(/\/+$/, '');
    if (this.root !== '' && (path === this.root || path.startsWith(`${this.root}/`))) return path.slice(this.root.length) || '/';
    return path.startsWith('/') ? path || '/' : `/${path}`;
  }
}

/** A torrent of `torrents/info` and `sync/maindata` (the fields Sonarr, Radarr and common remote apps read). */
export interface QbtTorrent {
  hash: string;
  infohash_v1: string;
  infohash_v2: string;
  name: string;
  magnet_uri: string;
  size: number;
  total_size: number;
  progress: number;
  dlspeed: number;
  upspeed: number;
  priority: number;
  num_seeds: number;
  num_complete: number;
  num_leechs: number;
  num_incomplete: number;
  ratio: number;
  ratio_limit: number;
  seeding_time_limit: number;
  max_ratio: number;
  max_seeding_time: number;
  eta: number;
  state: QbtState;
  seq_dl: boolean;
  f_l_piece_prio: boolean;
  category: string;
  tags: string;
  super_seeding: boolean;
  force_start: boolean;
  save_path: string;
  download_path: string;
  content_path: string;
  added_on: number;
  completion_on: number;
  tracker: string;
  trackers_count: number;
  dl_limit: number;
  up_limit: number;
  downloaded: number;
  uploaded: number;
  downloaded_session: number;
  uploaded_session: number;
  amount_left: number;
  completed: number;
  auto_tmm: boolean;
  time_active: number;
  seeding_time: number;
  last_activity: number;
  availability: number;
  seen_complete: number;
}

/** The id a client knows a task by: its info hash, or (a URL task, which has none) its task id. */
export function hashOf(task: Pick<TaskObject, 'infoHash' | 'taskId'>): string {
  return task.infoHash !== '' ? task.infoHash : task.taskId;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * `task` as qBittorrent shows a torrent. `contentPath`: where its download is in the drive now
 * (null until it created anything there: the save path and the torrent's name then).
 */
export function torrentOf(task: TaskObject, labels: QbtLabels | undefined, paths: QbtPaths, contentPath: string | null, now = Date.now()): QbtTorrent {
  const done = task.status === DONE;
  const size = task.size;
  const completed = done ? size : Math.min(size, task.finishedSize);
  const left = Math.max(0, size - completed);
  const speed = task.status === DOWNLOADING ? task.speed : 0;
  const savePath = paths.toClient(task.savePath);
  const content = contentPath !== null ? paths.toClient(contentPath) : `${savePath.replace(/\/$/, '')}/${task.name}`;
  return {
    hash: hashOf(task),
    infohash_v1: task.infoHash,
    infohash_v2: '',
    name: task.name,
    magnet_uri: task.url.startsWith('magnet:') ? task.url : task.infoHash !== '' ? `magnet:?xt=urn:btih:${task.infoHash}` : '',
    size,
    total_size: size,
    progress: done ? 1 : size > 0 ? completed / size : 0,
    dlspeed: speed,
    upspeed: 0,
    priority: 0,
    num_seeds: task.peers,
    num_complete: task.peers,
    num_leechs: 0,
    num_incomplete: 0,
    ratio: 0,
    ratio_limit: labels?.ratio_limit ?? -2,
    seeding_time_limit: labels?.seeding_time_limit ?? -2,
    max_ratio: -1,
    max_seeding_time: -1,
    eta: done ? 0 : speed > 0 ? Math.ceil(left / speed) : ETA_UNKNOWN,
    state: stateOf(task),
    seq_dl: false,
    f_l_piece_prio: false,
    category: labels?.category ?? '',
    tags: labels?.tags ?? '',
    super_seeding: false,
    force_start: false,
    save_path: savePath,
    download_path: '',
    content_path: content,
    added_on: seconds(task.createTime),
    completion_on: done && task.finishTime > 0 ? seconds(task.finishTime) : -1,
    tracker: '',
    trackers_count: 0,
    dl_limit: -1,
    up_limit: -1,
    downloaded: completed,
    uploaded: 0,
    downloaded_session: completed,
    uploaded_session: 0,
    amount_left: left,
    completed,
    auto_tmm: false,
    time_active: seconds(Math.max(0, (done && task.finishTime > 0 ? task.finishTime : now) - task.createTime)),
    seeding_time: 0,
    last_activity: seconds(done && task.finishTime > 0 ? task.finishTime : now),
    availability: task.peers > 0 ? 1 : 0,
    seen_complete: done && task.finishTime > 0 ? seconds(task.finishTime) : 0,
  };
}
