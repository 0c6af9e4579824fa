// A row of `offline_jobs` as the offline service inserts it, for tests and benches that seed the
// table directly: one place to follow when the table gains a column.
import type { NewJob } from '../../src/offline/offline.repo.js';

/**
 * A queued BitTorrent job named by `id` (also its info hash and content key), with no torrent,
 * no files selected, nothing downloaded, working under `/nowhere/<id>`, created and updated at
 * `now`; `overrides` replaces any of these (owner, lease, live figures included).
 */
export function offlineJobRow(id: string, now: number, overrides: Partial<NewJob> = {}): NewJob {
  return {
    id,
    type: 0,
    content_key: `bt:${id}`,
    info_hash: id,
    name: id,
    torrent: null,
    phase: 'queued',
    selected: '[]',
    temp_dir: `/nowhere/${id}`,
    size: 0,
    downloaded: 0,
    attempts: 0,
    error_code: '',
    message: '',
    created_at: now,
    updated_at: now,
    finished_at: 0,
    ...overrides,
  };
}
